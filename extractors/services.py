"""The services of a run: the configured `[[services]]` plus those discovered in
`[[organizations]]`. One function decides, so `extract` and `transform` always agree.

A discovered repository becomes a service when its name passes the organisation's include and
exclude globs and it is not archived / a fork (unless allowed), and no `[[services]]` entry
already reads it (explicit entries win). Its team: the organisation's teams file (first matching
glob), else its CODEOWNERS (`extractors/github/codeowners.py`), else `default_team`, with one
warning listing the repositories that fell back. Its name is the repository's name; when that is
taken (by a configured service or an earlier discovered one: organisations in config order,
repositories by name) it is `owner/name`, which GitHub keeps unique.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from extractors import tables
from extractors.github.codeowners import team_of
from fourkeys.config import Config, OrganizationConfig, ServiceConfig
from fourkeys.teams_file import repository_matches, team_for
from fourkeys.warehouse.base import Warehouse

log = logging.getLogger(__name__)
_LISTED = 10  # repositories named in a warning; the rest are counted
_warned: set[str] = set()  # a `run` resolves twice (extract, transform): warn once


@dataclass(frozen=True)
class Discovered:
    service: ServiceConfig
    team_source: str  # "teams_file" | "codeowners" | "default_team"
    why_default: str | None = None


def selected(org: OrganizationConfig, row: dict[str, Any]) -> bool:
    """The organisation's filters, on one raw discovered repository."""
    name = row["name_with_owner"]
    if row.get("is_archived") and not org.include_archived:
        return False
    if row.get("is_fork") and not org.include_forks:
        return False
    if not any(repository_matches(p, name) for p in org.include):
        return False
    return not any(repository_matches(p, name) for p in org.exclude)


def _team(org: OrganizationConfig, row: dict[str, Any]) -> tuple[str, str, str | None]:
    name = row["name_with_owner"]
    team = team_for(org.team_rules, name)
    if team is not None:
        return team, "teams_file", None
    reasons = []
    if org.teams_file is not None:
        reasons.append(f"no glob of {org.teams_file} matches")
    if org.codeowners:
        if not row.get("codeowners_read"):
            reasons.append("CODEOWNERS not read yet (run extract)")
        elif row.get("codeowners") is None:
            reasons.append("no CODEOWNERS")
        else:
            owned = team_of(row["codeowners"], org.name)
            if owned.team is not None:
                return owned.team, "codeowners", None
            reasons.append(owned.reason)
    return org.default_team, "default_team", "; ".join(reasons) or None


def _unique_name(row: dict[str, Any], taken: set[str]) -> str:
    full = row["name_with_owner"]
    candidates = [full.split("/", 1)[1], full]
    candidates += [f"{full}-{n}" for n in range(2, len(taken) + 3)]
    return next(c for c in candidates if c not in taken)


def discover_services(config: Config, rows: Iterable[dict[str, Any]]) -> list[Discovered]:
    """Raw `raw_github_org_repositories` rows → the discovered services, deterministically."""
    by_org: dict[str, list[dict[str, Any]]] = {}
    for row in rows:
        by_org.setdefault(row["organization"], []).append(row)
    explicit = {s.repository.lower() for s in config.services}
    taken = {s.name for s in config.services}
    found: list[Discovered] = []
    for org in config.organizations:
        listed = sorted(by_org.get(org.name.lower(), []), key=lambda r: r["repository"])
        mine: list[Discovered] = []
        for row in listed:
            if not selected(org, row) or row["repository"] in explicit:
                continue
            explicit.add(row["repository"])
            team, source, why = _team(org, row)
            full = row["name_with_owner"]
            name = _unique_name(row, taken)
            if name != full.split("/", 1)[1]:
                _warn_once(f"{full}: the service name {full.split('/', 1)[1]!r} is taken; "
                           f"named it {name!r}")
            taken.add(name)
            mine.append(Discovered(org.service(full, name, team), source, why))
        _report(org, listed, mine)
        found += mine
    return found


def _report(org: OrganizationConfig, listed: list[dict[str, Any]],
            found: list[Discovered]) -> None:
    counts = {s: sum(d.team_source == s for d in found)
              for s in ("teams_file", "codeowners", "default_team")}
    log.info("organization %s: %d of %d repositories are services (teams: %d from the teams "
             "file, %d from CODEOWNERS, %d default)", org.name, len(found), len(listed),
             counts["teams_file"], counts["codeowners"], counts["default_team"])
    if listed and not found:
        _warn_once(f"organization {org.name}: none of its {len(listed)} repositories passes the "
                   "include/exclude globs and archived/fork filters; check [[organizations]]")
    fallback = [d for d in found if d.team_source == "default_team"
                and (org.teams_file is not None or org.codeowners)]
    if fallback:
        named = ", ".join(f"{d.service.repository} ({d.why_default})" for d in fallback[:_LISTED])
        more = f" and {len(fallback) - _LISTED} more" if len(fallback) > _LISTED else ""
        count = "1 repository has" if len(fallback) == 1 else f"{len(fallback)} repositories have"
        _warn_once(f"organization {org.name}: {count} no owning team and go to team "
                   f"{org.default_team!r}: {named}{more}")


def _warn_once(message: str) -> None:
    if message not in _warned:
        _warned.add(message)
        log.warning("%s", message)


def with_discovered_services(config: Config, warehouse: Warehouse) -> Config:
    """The config with the discovered services appended to `services` (as read from the
    warehouse's last discovery); the config itself when it has no [[organizations]]."""
    if not config.organizations:
        return config
    discovered = [d.service for d in
                  discover_services(config, warehouse.read_rows(tables.ORG_REPOSITORIES))]
    names = {s.name for s in config.services} | {s.name for s in discovered}
    for index, source in enumerate(config.incident_sources):
        if source.service and source.service not in names:
            _warn_once(f'incident_sources[{index}].service "{source.service}" is neither a '
                       "[[services]] name nor a discovered repository; its incidents match no "
                       "service")
    if config.requests.service and config.requests.service not in names:
        _warn_once(f'requests.service "{config.requests.service}" is neither a [[services]] '
                   "name nor a discovered repository")
    return config.model_copy(update={"services": [*config.services, *discovered]})
