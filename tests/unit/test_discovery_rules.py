"""Which discovered repositories become services, named how, owned by which team
(extractors/services.py): pure functions of the config and raw discovered rows."""

from __future__ import annotations

import random
from pathlib import Path
from typing import Any

from extractors.run import plan_repositories
from extractors.services import discover_services
from fourkeys.config import Config, parse_config


def row(full_name: str, *, archived: bool = False, fork: bool = False,
        codeowners: str | None = None, read: bool = True) -> dict[str, Any]:
    return {"organization": full_name.split("/")[0].lower(), "repository": full_name.lower(),
            "name_with_owner": full_name, "is_archived": archived, "is_fork": fork,
            "codeowners_read": read, "codeowners": codeowners,
            "codeowners_path": None if codeowners is None else "CODEOWNERS"}


def config(tmp_path: Path, *orgs: dict[str, Any], services: list[dict[str, Any]] | None = None,
           teams: str | None = None) -> Config:
    if teams is not None:
        (tmp_path / "teams.toml").write_text(teams, encoding="utf-8")
    raw = {"organizations": [{"deployment_source": "github_deployments", **o} for o in orgs],
           "services": services or []}
    return parse_config(raw, tmp_path / "fourkeys.toml")


def names_and_teams(cfg: Config, rows: list[dict[str, Any]]) -> dict[str, str]:
    return {d.service.name: d.service.team for d in discover_services(cfg, rows)}


def test_archived_forks_and_globs(tmp_path: Path) -> None:
    rows = [row("acme/api"), row("acme/old", archived=True), row("acme/mirror", fork=True),
            row("acme/sandbox-1"), row("acme/svc-a"), row("globex/api")]
    strict = config(tmp_path, {"name": "acme", "exclude": ["sandbox-*"]})
    assert set(names_and_teams(strict, rows)) == {"api", "svc-a"}
    loose = config(tmp_path, {"name": "ACME", "include_archived": True, "include_forks": True,
                              "include": ["svc-*", "old", "mirror", "sandbox-*"],
                              "exclude": ["sandbox-*"]})
    assert set(names_and_teams(loose, rows)) == {"old", "mirror", "svc-a"}


def test_team_from_teams_file_then_codeowners_then_default(tmp_path: Path) -> None:
    rows = [row("acme/a", codeowners="* @acme/owners-a"), row("acme/b", codeowners="* @acme/x"),
            row("acme/c", codeowners="*.md @acme/docs"), row("acme/d", codeowners=None),
            row("acme/e", codeowners=None, read=False)]
    cfg = config(tmp_path, {"name": "acme", "teams_file": "teams.toml", "default_team": "misc"},
                 teams='"b" = "bees"\n')
    assert names_and_teams(cfg, rows) == {"a": "owners-a", "b": "bees", "c": "misc", "d": "misc",
                                          "e": "misc"}
    why = {d.service.name: d.why_default for d in discover_services(cfg, rows)}
    assert why["c"] is not None and "no rule for the whole repository" in why["c"]
    assert why["d"] is not None and "no CODEOWNERS" in why["d"]
    assert why["e"] is not None and "not read yet" in why["e"]
    no_codeowners = config(tmp_path, {"name": "acme", "codeowners": False})
    assert set(names_and_teams(no_codeowners, rows).values()) == {"unassigned"}


def test_explicit_services_win_and_names_never_clash(tmp_path: Path) -> None:
    services = [
        {"name": "api", "team": "core", "repository": "acme/gateway",
         "deployment_source": "releases"},
        {"name": "billing-svc", "team": "payments", "repository": "ACME/Billing",
         "deployment_source": "releases"},
    ]
    cfg = config(tmp_path, {"name": "acme"}, {"name": "globex"}, services=services)
    rows = [row("acme/api"), row("acme/billing"), row("acme/gateway"), row("globex/api"),
            row("globex/web"), row("acme/web")]
    found = discover_services(cfg, rows)
    assert {d.service.name: d.service.repository for d in found} == {
        "acme/api": "acme/api",        # "api" is a configured service's name
        "web": "acme/web",             # acme comes first in the config
        "globex/api": "globex/api",
        "globex/web": "globex/web",
    }
    # the same answer whatever order the warehouse returns the rows in
    shuffled = rows[:]
    random.Random(7).shuffle(shuffled)
    assert discover_services(cfg, shuffled) == found


def test_discovered_services_get_the_organisation_settings(tmp_path: Path) -> None:
    cfg = config(tmp_path, {"name": "acme", "deployment_source": "workflow_runs",
                            "workflow": "deploy.yml", "branch": "release"})
    (found,) = discover_services(cfg, [row("acme/shop")])
    service = found.service
    assert (service.name, service.repository, service.deployment_source, service.workflow,
            service.branch) == ("shop", "acme/shop", "workflow_runs", "deploy.yml", "release")
    expanded = cfg.model_copy(update={"services": [service]})
    (plan,) = plan_repositories(expanded)
    assert (plan.repository, plan.branch, plan.workflows) == ("acme/shop", "release",
                                                              ["deploy.yml"])
