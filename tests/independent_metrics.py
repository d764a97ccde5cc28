"""An independent recomputation of the weekly metrics from the raw tables, in plain Python.

A second reading of contract.md and notes/decisions.md, written without looking at the dbt
models: the raw tables are read with `select * from raw_...` only, the git ancestry is walked in
Python and the weekly figures are grouped with pandas. `tests/integration/
test_metrics_independent.py` compares the result with the dbt mart `metrics_weekly`.

Failure causes recomputed here: incidents from `github_issues` sources (named cause commit: full
sha or unique prefix ≥ 7; else the time window), reverts (revert PRs: sha in the body or commit
messages, else the `Revert "<title>"` title; direct commits naming the reverted sha) and
rollbacks. Incident sources of other types and the `request_errors` signal are not recomputed:
`recompute` refuses a config that uses them.
"""

from __future__ import annotations

import itertools
import json
import re
import tomllib
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

_JSON_COLUMNS = ("parents", "pull_request_numbers", "labels")
_HEX_TOKEN = re.compile(r"\b[0-9a-fA-F]{7,40}\b")
_REVERTS_COMMIT = re.compile(r"This reverts commit ([0-9a-fA-F]{7,40})\b")
_HEROKU_DEPLOY = re.compile(r"^Deploy ([0-9a-fA-F]{7,40})\b")
_REVERT_TITLE = re.compile(r'^Revert "(.*)"$', re.DOTALL)
_SIGNAL_CAUSE = {"incidents": "incident", "reverts": "revert", "rollbacks": "rollback"}


@dataclass(frozen=True)
class Service:
    name: str
    team: str
    repository: str
    branch: str | None
    deployment_source: str
    environment: str
    workflow: str | None
    heroku_app: str | None


@dataclass
class Deployment:
    deployment_id: str
    service: str
    native_id: int
    sha: str | None
    deployed_at: datetime
    position: int | None = None  # on the service branch's mainline; None: ships nothing
    change_ids: list[str] = field(default_factory=list)
    causes: set[str] = field(default_factory=set)
    is_rollback: bool = False


@dataclass
class Change:
    change_id: str
    first_commit_at: datetime | None
    deployment: Deployment | None = None

    @property
    def lead_time_seconds(self) -> float | None:
        if self.deployment is None or self.first_commit_at is None:
            return None
        seconds = (self.deployment.deployed_at - self.first_commit_at).total_seconds()
        return seconds if seconds >= 0 else None


@dataclass
class ServiceHistory:
    """One service: its deployments in order and every change on its branch."""

    service: Service
    deployments: list[Deployment]
    changes: dict[str, Change]
    change_of_commit: dict[str, str]  # mainline commit or merged PR's own commit → change id
    commits: set[str]  # every known commit sha of the repository (for prefixes)


@dataclass
class Recomputation:
    histories: dict[str, ServiceHistory]
    weekly: pd.DataFrame  # one row per (service, week_start) with deployments > 0
    incident_links: Counter[str]  # cause_commit | time_window | none → incidents

    def deployments(self) -> list[Deployment]:
        return [d for h in self.histories.values() for d in h.deployments]


# --- raw rows ---------------------------------------------------------------------------------
def _value(column: str, value: Any) -> Any:
    if isinstance(value, pd.Timestamp):
        return None if pd.isna(value) else value.tz_convert(UTC).to_pydatetime()
    if value is None or (isinstance(value, float) and pd.isna(value)) or value is pd.NaT:
        return None
    if column in _JSON_COLUMNS and isinstance(value, str):
        return json.loads(value)
    return value


def read_raw(con: duckdb.DuckDBPyConnection, table: str) -> list[dict[str, Any]]:
    frame = con.execute(f"select * from {table}").df()
    return [{k: _value(k, v) for k, v in row.items()} for row in frame.to_dict("records")]


def _same(a: str | None, b: str | None) -> bool:
    return (a or "").lower() == (b or "").lower()


def _monday(at: datetime) -> date:
    day = at.astimezone(UTC).date()
    return day - timedelta(days=day.weekday())


# --- config -----------------------------------------------------------------------------------
def read_config(path: Path) -> dict[str, Any]:
    with path.open("rb") as fh:
        return tomllib.load(fh)


def services_of(config: dict[str, Any]) -> list[Service]:
    return [
        Service(
            name=s["name"], team=s["team"], repository=s["repository"], branch=s.get("branch"),
            deployment_source=s["deployment_source"],
            environment=s.get("environment") or "production", workflow=s.get("workflow"),
            heroku_app=s.get("heroku_app"),
        )
        for s in config.get("services", [])
    ]


# --- deployments ------------------------------------------------------------------------------
def _environment_matches(wanted: str, environment: str | None) -> bool:
    if wanted.startswith("re:"):
        return environment is not None and re.search(wanted[3:], environment) is not None
    return environment == wanted


def deployments_of(service: Service, branch: str, raw: dict[str, list[dict[str, Any]]]
                   ) -> list[Deployment]:
    repo, source = service.repository, service.deployment_source
    found: list[tuple[int, str | None, datetime]] = []  # (native id, sha, deployed_at)
    if source == "github_deployments":
        success: dict[int, datetime] = {}
        for s in raw["raw_github_deployment_statuses"]:
            if _same(s["repository"], repo) and (s["state"] or "").lower() == "success":
                at = s["created_at"]
                success[s["deployment_id"]] = min(at, success.get(s["deployment_id"], at))
        found = [(d["deployment_id"], d["sha"], success[d["deployment_id"]])
                 for d in raw["raw_github_deployments"]
                 if _same(d["repository"], repo) and d["deployment_id"] in success
                 and _environment_matches(service.environment, d["environment"])]
    elif source == "workflow_runs":
        found = [(r["run_id"], r["head_sha"], r["updated_at"])
                 for r in raw["raw_github_workflow_runs"]
                 if _same(r["repository"], repo) and r["head_branch"] == branch
                 and (r["conclusion"] or "").lower() == "success"
                 and service.workflow in ((r["workflow_path"] or "").rsplit("/", 1)[-1],
                                          r["name"])]
    elif source == "releases":
        found = [(r["release_id"], r["target_sha"], r["published_at"])
                 for r in raw["raw_github_releases"]
                 if _same(r["repository"], repo) and not r["is_draft"]
                 and not r["is_prerelease"] and r["published_at"] is not None]
    elif source == "merged_pull_requests":
        found = [(p["number"], p["merge_commit_sha"], p["merged_at"])
                 for p in raw["raw_github_pull_requests"]
                 if _same(p["repository"], repo) and p["merged_at"] is not None
                 and p["base_ref"] == branch]
    elif source == "heroku_releases":
        # the slug's commit, else the (often short) sha of a `Deploy <sha>` description; a
        # release naming no commit (config vars, add-ons) deploys no code: not a deployment
        for r in raw["raw_heroku_releases"]:
            named = _HEROKU_DEPLOY.match(r["description"] or "")
            sha = r["commit_sha"] or (named.group(1) if named else None)
            if (r["app"] == service.heroku_app and sha
                    and (r["status"] or "").lower() == "succeeded"):
                found.append((r["version"], sha.lower(), r["created_at"]))
    else:
        raise ValueError(f"unknown deployment source {source!r}")
    found.sort(key=lambda f: (f[2], f[0]))
    return [Deployment(f"{service.name}/{source}/{native}", service.name, native, sha, at)
            for native, sha, at in found]


# --- git --------------------------------------------------------------------------------------
def mainline(commits: list[dict[str, Any]]) -> list[str]:
    """The first-parent chain (oldest first) from the branch head: the newest branch commit
    that is no other branch commit's parent."""
    by_sha = {c["sha"]: c for c in commits}
    parents = {p for c in commits for p in c["parents"] or []}
    heads = [c for c in commits if c["sha"] not in parents]
    if not heads:
        return []
    head = max(heads, key=lambda c: (c["committed_at"], c["authored_at"], c["sha"]))
    chain, sha = [], head["sha"]
    seen: set[str] = set()
    while sha in by_sha and sha not in seen:
        seen.add(sha)
        chain.append(sha)
        first = by_sha[sha]["parents"] or []
        sha = first[0] if first else ""
    return chain[::-1]


def _resolve(token: str | None, shas: set[str] | list[str]) -> str | None:
    """A full sha, or the one commit a prefix of ≥ 7 hex characters names."""
    if not token or len(token) < 7:
        return None
    token = token.lower()
    if token in shas:
        return token
    matches = {s for s in shas if s.startswith(token)}
    return matches.pop() if len(matches) == 1 else None


# --- one service ------------------------------------------------------------------------------
def history_of(service: Service, raw: dict[str, list[dict[str, Any]]]) -> ServiceHistory:
    repo = service.repository
    default = next((r["default_branch"] for r in raw["raw_github_repositories"]
                    if _same(r["repository"], repo)), None)
    branch = service.branch or default or "main"
    repo_commits = [c for c in raw["raw_github_commits"] if _same(c["repository"], repo)]
    line = mainline([c for c in repo_commits if c["branch"] == branch])
    position = {sha: i for i, sha in enumerate(line)}
    commit_by_sha = {c["sha"]: c for c in repo_commits}

    pulls = [p for p in raw["raw_github_pull_requests"] if _same(p["repository"], repo)]
    merged = {p["number"]: p for p in pulls if p["merged_at"] is not None}
    into_branch = {n: p for n, p in merged.items() if p["base_ref"] == branch}
    own: dict[int, list[dict[str, Any]]] = defaultdict(list)
    for c in raw["raw_github_pull_request_commits"]:
        if _same(c["repository"], repo):
            own[c["pull_request_number"]].append(c)
    merged_own = {c["sha"] for n in merged for c in own[n]}

    def copy_key(c: dict[str, Any]) -> tuple[Any, ...]:
        """A rebased copy keeps the author, the authored time and the message."""
        return (c["authored_at"], c["message"], c["author_login"] or "")

    copies = {n: {copy_key(c) for c in own[n]} for n in merged}
    merged_copies = set().union(*copies.values()) if copies else set()
    # a merged PR's merge (or squash) commit is the PR's, whether or not GitHub's association
    # was extracted (REST histories carry none)
    merge_shas = {p["merge_commit_sha"] for p in into_branch.values() if p["merge_commit_sha"]}

    changes: dict[str, Change] = {}
    change_of_commit: dict[str, str] = {}
    first_position: dict[str, int] = {}  # change id → the mainline position that ships it
    for number, pr in sorted(into_branch.items()):
        change_id = f"{service.name}/pr/{number}"
        authored = [c["authored_at"] for c in own[number] if c["authored_at"] is not None]
        changes[change_id] = Change(change_id, min(authored, default=None))
        on_line = [position[sha] for sha in line
                   if number in (commit_by_sha[sha]["pull_request_numbers"] or [])
                   or copy_key(commit_by_sha[sha]) in copies[number]]
        if pr["merge_commit_sha"] in position:
            on_line.append(position[pr["merge_commit_sha"]])
        if on_line:
            first_position[change_id] = min(on_line)
        for sha in [line[i] for i in on_line] + [c["sha"] for c in own[number]]:
            change_of_commit.setdefault(sha, change_id)
    for sha in line:
        numbers = commit_by_sha[sha]["pull_request_numbers"] or []
        if (any(n in merged for n in numbers) or sha in merged_own or sha in merge_shas
                or copy_key(commit_by_sha[sha]) in merged_copies):
            continue
        change_id = f"{service.name}/commit/{sha}"
        changes[change_id] = Change(change_id, commit_by_sha[sha]["authored_at"])
        first_position[change_id] = position[sha]
        change_of_commit[sha] = change_id

    known = set(commit_by_sha) | {c["sha"] for cs in own.values() for c in cs}
    deployments = deployments_of(service, branch, raw)
    shipped_by: dict[int, Deployment] = {}
    reached = -1
    for d in deployments:
        full = _resolve(d.sha, known)  # Heroku's `Deploy <sha8>` names a prefix
        d.position = position.get(full) if full else None
        if d.position is not None and d.position > reached:
            for i in range(reached + 1, d.position + 1):
                shipped_by[i] = d
            reached = d.position
    for change_id, pos in sorted(first_position.items(), key=lambda kv: kv[1]):
        shipping = shipped_by.get(pos)
        if shipping is not None:
            changes[change_id].deployment = shipping
            shipping.change_ids.append(change_id)
    return ServiceHistory(service, deployments, changes, change_of_commit, known)


# --- failures ---------------------------------------------------------------------------------
def mark_rollbacks(history: ServiceHistory) -> None:
    deps = history.deployments
    for previous, current in itertools.pairwise(deps):
        if (previous.position is not None and current.position is not None
                and current.position < previous.position):
            current.is_rollback = True
            previous.causes.add("rollback")


def _reverted_change(history: ServiceHistory, texts: list[str]) -> str | None:
    """The change a `This reverts commit <sha>` in `texts` names, if any."""
    for text in texts:
        for token in _REVERTS_COMMIT.findall(text):
            sha = _resolve(token, history.commits)
            if sha is not None and sha in history.change_of_commit:
                return history.change_of_commit[sha]
    return None


def mark_reverts(history: ServiceHistory, raw: dict[str, list[dict[str, Any]]]) -> None:
    """Revert PRs merged into the branch (sha named in body or commit messages, else the
    `Revert "<title>"` title) and direct commits whose message names the reverted sha."""
    repo, name = history.service.repository, history.service.name
    pulls = [p for p in raw["raw_github_pull_requests"]
             if _same(p["repository"], repo) and p["merged_at"] is not None]
    messages: dict[int, list[str]] = defaultdict(list)
    for c in raw["raw_github_pull_request_commits"]:
        if _same(c["repository"], repo):
            messages[c["pull_request_number"]].append(c["message"] or "")
    reverts: list[tuple[str, datetime]] = []  # (reverted change, when the revert landed)
    for revert in pulls:
        if f"{name}/pr/{revert['number']}" not in history.changes:  # another branch
            continue
        target = _reverted_change(history, [revert["body"] or "", *messages[revert["number"]]])
        title = _REVERT_TITLE.match(revert["title"] or "")
        if target is None and title is not None:
            same = [p for p in pulls if p["title"] == title.group(1)
                    and p["merged_at"] < revert["merged_at"]
                    and f"{name}/pr/{p['number']}" in history.changes]
            if same:
                latest = max(same, key=lambda p: (p["merged_at"], p["number"]))
                target = f"{name}/pr/{latest['number']}"
        if target is not None:
            reverts.append((target, revert["merged_at"]))
    for c in raw["raw_github_commits"]:
        if _same(c["repository"], repo) and f"{name}/commit/{c['sha']}" in history.changes:
            target = _reverted_change(history, [c["message"] or ""])
            if target is not None:  # a direct commit lands when it is committed
                reverts.append((target, c["committed_at"]))
    for target, landed_at in reverts:
        shipped = history.changes[target].deployment
        if shipped is not None and landed_at > shipped.deployed_at:
            shipped.causes.add("revert")


def incidents_of(config: dict[str, Any], services: list[Service],
                 raw: dict[str, list[dict[str, Any]]]) -> list[dict[str, Any]]:
    names = {s.name for s in services}
    seen: dict[str, dict[str, Any]] = {}
    for source in config.get("incident_sources", []):
        if source["type"] != "github_issues":
            raise ValueError(f"incident source {source['type']!r} is not recomputed here")
        label = source.get("label", "incident")
        for issue in raw["raw_github_issues"]:
            labels = issue["labels"] or []
            if not _same(issue["repository"], source["repository"]) or label not in labels:
                continue
            named = [lb.removeprefix("service:") for lb in labels if lb.startswith("service:")]
            service = next((n for n in named if n in names), source.get("service"))
            incident_id = f"github_issues/{issue['repository']}#{issue['number']}"
            seen.setdefault(incident_id, {"service": service, "body": issue["body"] or "",
                                          "started_at": issue["created_at"]})
    return list(seen.values())


def mark_incidents(histories: dict[str, ServiceHistory], incidents: list[dict[str, Any]],
                   window: timedelta) -> Counter[str]:
    """Mark each incident's cause deployment; how many incidents linked by which method."""
    links: Counter[str] = Counter()
    for incident in incidents:
        history = histories.get(incident["service"])
        if history is None:
            links["none"] += 1
            continue
        cause: Deployment | None = None
        for token in _HEX_TOKEN.findall(incident["body"]):
            sha = _resolve(token, history.commits)
            change_id = history.change_of_commit.get(sha) if sha else None
            if change_id is not None and history.changes[change_id].deployment is not None:
                cause = history.changes[change_id].deployment
                break
        method = "cause_commit"
        if cause is None:
            method = "time_window"
            started = incident["started_at"]
            before = [d for d in history.deployments if d.deployed_at < started]
            if before and started - before[-1].deployed_at <= window:
                cause = before[-1]
        if cause is not None:
            cause.causes.add("incident")
        links[method if cause is not None else "none"] += 1
    return links


# --- the whole recomputation ------------------------------------------------------------------
RAW_TABLES = ("raw_github_repositories", "raw_github_commits", "raw_github_pull_requests",
              "raw_github_pull_request_commits", "raw_github_deployments",
              "raw_github_deployment_statuses", "raw_github_workflow_runs",
              "raw_github_releases", "raw_github_issues", "raw_heroku_releases")


def recompute(config_path: Path, warehouse_path: Path) -> Recomputation:
    config = read_config(config_path)
    metrics = config.get("metrics", {})
    signals = metrics.get("failure_signals", ["incidents", "reverts", "rollbacks"])
    if any(s not in _SIGNAL_CAUSE for s in signals):
        raise ValueError(f"failure signals {signals} are not all recomputed here")
    window = timedelta(days=metrics.get("attribution_window_days", 7))
    services = services_of(config)
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        raw = {t: read_raw(con, t) for t in RAW_TABLES}
    finally:
        con.close()
    histories = {s.name: history_of(s, raw) for s in services}
    for h in histories.values():
        mark_rollbacks(h)
        mark_reverts(h, raw)
    links = mark_incidents(histories, incidents_of(config, services, raw), window)
    counted = {_SIGNAL_CAUSE[s] for s in signals}
    rows = []
    for h in histories.values():
        for d in h.deployments:
            leads = [h.changes[c].lead_time_seconds for c in d.change_ids]
            rows.append({"team": h.service.team, "service": h.service.name,
                         "week_start": _monday(d.deployed_at), "deployment_id": d.deployment_id,
                         "changes": len(d.change_ids),
                         "failed": bool(d.causes & counted),
                         "lead_times": [x for x in leads if x is not None]})
    return Recomputation(histories, weekly_metrics(pd.DataFrame(rows)), links)


def weekly_metrics(per_deployment: pd.DataFrame) -> pd.DataFrame:
    grouped = per_deployment.groupby(["team", "service", "week_start"], sort=True)
    weekly = grouped.agg(deployments=("deployment_id", "count"), changes=("changes", "sum"),
                         failed_deployments=("failed", "sum"),
                         lead_times=("lead_times", lambda s: [x for xs in s for x in xs]))
    weekly["median_lead_time_seconds"] = [
        float(pd.Series(xs, dtype="float64").median()) if xs else None
        for xs in weekly["lead_times"]
    ]
    weekly["change_failure_rate"] = weekly["failed_deployments"] / weekly["deployments"]
    return weekly.drop(columns="lead_times").reset_index()
