"""Our DORA numbers next to four peers' definitions, on one generated organisation.

    .venv/bin/python bench/compare_definitions.py     # seed 7: 2 teams x 3 services, 3 months
    .venv/bin/python bench/compare_definitions.py --seed 11 --workdir /tmp/cmp  # keeps files

It generates one organisation (`fakes.generator`), serves it with the fake API, runs
`fourkeys extract` and `fourkeys transform --as-of <the scenario's now>`, then, over the
trailing 12 weeks (`dora_summary`'s window), puts our numbers (read from the marts) next to
each peer's rule applied to the same raw tables, as `dbt_project/docs/metrics.md` section 2
describes them:

- Google fourkeys: a deployment's changes are the commits of the one push whose head is the
  deployed sha; lead time per (deployment, commit) pair from the commit's timestamp (we take
  the authored date; squash and merge commits are authored at the merge), whole
  minutes, pairs <= 0 dropped, interpolated median; a deployment fails only when an incident
  names, as its root cause, the full sha of a commit in that push; restore from the earlier of
  the incident and its root-cause deployment to the close, median.
- DevLake: PR cycle time = first commit authored -> opened + opened -> merged + merged ->
  deployment (each span rounded up to minutes, a negative span dropped), the deployment being
  the first whose commit diff to the previous successful deployment holds the merge sha (a
  service's first deployment has no previous one and matches nothing); lower median (largest
  value with percent rank <= 0.5); an incident attaches to the team's (DevLake project's) last
  deployment before it, however long before; MTTR created -> resolved; 2023 recovery from the
  deployment to the incident's resolution; all lower medians.
- Middleware: per PR merged in the window, first commit (earliest committer date) -> open +
  first review + rework + approval -> merge + merge -> deploy (0 for PR-merge deployments), a
  missing part counting 0; mean; an incident attaches to the service's deployment before it,
  with no limit; mean created -> resolved.
- GitLab: lead time merge -> deployment (clamped at 0), median; CFR = incidents /
  deployments, no linking; deployment frequency a mean per day; median time incidents were open.

Prints one table (metric x definition, organisation) with a "why" line per row, the three
largest per-service differences, and the first deployments' history; progress and consistency
checks go to stderr. Deterministic for a seed; about 25 s.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import os
import re
import shutil
import statistics
import sys
import tempfile
import time
from bisect import bisect_right
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # run as a script: make the project importable without install
    sys.path.insert(0, str(ROOT))

log = logging.getLogger("bench.compare_definitions")

WINDOW_DAYS = 84  # dora_summary's trailing window: 12 weeks ending (exclusive) at as_of
HOUR = 3600.0
DAY = 86400.0
TOKEN_ENV = "FOURKEYS_COMPARE_GITHUB_TOKEN"  # dummy tokens only: the fake accepts any
HEROKU_TOKEN_ENV = "FOURKEYS_COMPARE_HEROKU_API_KEY"
DUMMY_TOKEN = "compare-definitions-dummy-token"
FULL_SHA = re.compile(r"\b[0-9a-f]{40}\b")

DEFS = ("ours", "fourkeys", "devlake", "middleware", "gitlab")
HEADS = {"ours": "ours", "fourkeys": "G.fourkeys", "devlake": "DevLake",
         "middleware": "Middleware", "gitlab": "GitLab"}
PEER_NAMES = {"fourkeys": "Google fourkeys", "devlake": "DevLake", "middleware": "Middleware",
              "gitlab": "GitLab"}

Row = dict[str, float | None]  # metric -> one definition's value
Scope = dict[str, dict[str, float | None]]  # metric -> definition -> value


# --- the organisation -------------------------------------------------------------------


def build_warehouse(args: argparse.Namespace, workdir: Path) -> tuple[Path, Any]:
    """Generate, serve, extract and transform; returns (warehouse path, GeneratedOrg)."""
    from fakes.generator import OrgSpec, generate
    from fakes.scenario import load_scenario
    from fakes.server import create_app, serve_in_thread
    from fourkeys.cli import main as fourkeys_main

    os.environ["DO_NOT_TRACK"] = "1"
    os.environ[TOKEN_ENV] = DUMMY_TOKEN
    os.environ[HEROKU_TOKEN_ENV] = DUMMY_TOKEN
    spec = OrgSpec(teams=args.teams, services_per_team=args.services_per_team,
                   months=args.months, seed=args.seed)
    warehouse = workdir / "fourkeys.duckdb"
    config = workdir / "fourkeys.toml"
    if warehouse.exists():  # never extract on top of (or delete) someone's warehouse
        raise SystemExit(f"{warehouse} exists: give an empty --workdir")
    started = time.perf_counter()
    org = generate(spec)
    with serve_in_thread(create_app(load_scenario(org.scenario), rate_limit=10**9)) as server:
        config.write_text(org.config_toml(
            github_api_url=server.base_url, heroku_api_url=f"{server.base_url}/heroku",
            warehouse_path=str(warehouse), token_env=TOKEN_ENV,
            heroku_token_env=HEROKU_TOKEN_ENV), encoding="utf-8")
        code = fourkeys_main(["extract", "--config", str(config)])
        if code != 0:
            raise SystemExit(f"fourkeys extract exited {code}")
    as_of = str(org.scenario["now"])[:10]
    code = fourkeys_main(["transform", "--config", str(config), "--as-of", as_of])
    if code != 0:
        raise SystemExit(f"fourkeys transform exited {code}")
    log.info("organisation built, extracted and transformed in %.1f s",
             time.perf_counter() - started)
    return warehouse, org


# --- what we read back --------------------------------------------------------------------


@dataclass
class Deployment:
    id: str
    service: str
    team: str
    sha: str
    t: float
    is_failure: bool
    causes: list[str]
    recovery: float | None


@dataclass
class Pull:
    repo: str
    number: int
    created: float
    merged: float
    merge_sha: str
    # (sha, authored, committed), oldest authored first
    commits: list[tuple[str, float, float]] = field(default_factory=list)
    reviews: list[tuple[float, str]] = field(default_factory=list)  # submitted, state


@dataclass
class Incident:
    key: str  # repository#number
    service: str
    team: str
    created: float
    closed: float | None
    body: str


@dataclass
class Repo:
    """One repository's commit graph, as extracted (every commit reachable from the branch)."""

    parents: dict[str, list[str]] = field(default_factory=dict)
    authored: dict[str, float] = field(default_factory=dict)
    committed: dict[str, float] = field(default_factory=dict)
    prs: dict[str, tuple[int, ...]] = field(default_factory=dict)
    mainline: list[str] = field(default_factory=list)  # first-parent chain, oldest first
    _reach: dict[str, frozenset[str]] = field(default_factory=dict)
    _pushes: dict[str, list[str]] | None = None

    def finish(self) -> None:
        children = {p for ps in self.parents.values() for p in ps}
        tips = sorted(s for s in self.parents if s not in children)
        if len(tips) != 1:
            log.warning("repository has %d tips; using the latest committed", len(tips))
        sha: str | None = max(tips, key=lambda s: (self.committed[s], s)) if tips else None
        chain: list[str] = []
        while sha is not None:
            chain.append(sha)
            ps = self.parents.get(sha) or []
            sha = ps[0] if ps and ps[0] in self.parents else None
        self.mainline = chain[::-1]

    def reach(self, sha: str) -> frozenset[str]:
        """Every commit reachable from sha (itself included)."""
        if sha not in self._reach:
            seen: set[str] = set()
            stack = [sha] if sha in self.parents else []
            while stack:
                s = stack.pop()
                if s in seen:
                    continue
                seen.add(s)
                stack.extend(p for p in self.parents.get(s, ()) if p in self.parents)
            self._reach[sha] = frozenset(seen)
        return self._reach[sha]

    def pushes(self) -> dict[str, list[str]]:
        """head sha -> commits of the push that made it the branch head: a direct commit, a
        squash commit, a merge commit with its branch's commits, or a rebased PR's commits
        (consecutive mainline commits of one PR with one committer date)."""
        if self._pushes is not None:
            return self._pushes
        groups: list[list[str]] = []
        previous: tuple[tuple[int, ...], float] | None = None
        for sha in self.mainline:
            key = (self.prs.get(sha, ()), self.committed[sha])
            if groups and key[0] and key == previous:
                groups[-1].append(sha)
            else:
                groups.append([sha])
            previous = key
        seen: set[str] = set()
        out: dict[str, list[str]] = {}
        for group in groups:
            new: list[str] = []
            stack = [group[-1]]
            while stack:
                s = stack.pop()
                if s in seen or s not in self.parents:
                    continue
                seen.add(s)
                new.append(s)
                stack.extend(self.parents[s])
            out[group[-1]] = new
        self._pushes = out
        return out


@dataclass
class Data:
    window: tuple[float, float]
    services: dict[str, tuple[str, str, str]]  # service -> (team, repository, source)
    deployments: list[Deployment]
    changes: list[dict[str, Any]]  # fct_changes rows (times as epoch seconds)
    incidents: list[Incident]
    mart_incidents: list[dict[str, Any]]
    pulls: dict[tuple[str, int], Pull]
    repos: dict[str, Repo]
    summary: dict[str | None, dict[str, Any]]  # service (None: organisation) -> dora_summary row


def _epoch(column: str) -> str:
    return f"epoch_ms({column}) / 1000.0"


def load(warehouse: Path, org: Any) -> Data:
    import duckdb

    services = {s.name: (s.team, s.repository, s.deployment_source) for s in org.services}
    service_of_repo = {s.repository: s.name for s in org.services}
    con = duckdb.connect(str(warehouse))  # the transform's process may hold it open

    def rows(sql: str) -> list[dict[str, Any]]:
        cur = con.execute(sql)
        names = [d[0] for d in cur.description]
        return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

    summary: dict[str | None, dict[str, Any]] = {}
    for r in rows("select * from main.dora_summary where dora_year = 2024 "
                  "and grain in ('organisation', 'service')"):
        summary[r["service"] if r["grain"] == "service" else None] = r
    org_row = summary[None]
    start = datetime.combine(org_row["window_start"], datetime.min.time(), UTC).timestamp()
    end = datetime.combine(org_row["window_end"], datetime.min.time(), UTC).timestamp()

    deployments = [
        Deployment(r["deployment_id"], r["service"], r["team"], r["commit_sha"], r["t"],
                   bool(r["is_failure"]), list(r["failure_causes"] or []), r["recovery_seconds"])
        for r in rows(f"select deployment_id, service, team, commit_sha, {_epoch('deployed_at')} t,"
                      " is_failure, failure_causes, recovery_seconds from main.fct_deployments"
                      " order by deployed_at, deployment_id")
    ]
    changes = rows(
        f"select change_id, service, change_type, pull_request_number, commit_sha, deployment_id,"
        f" {_epoch('first_commit_at')} first_commit_at, {_epoch('merged_at')} merged_at,"
        f" {_epoch('deployed_at')} deployed_at, lead_time_seconds, repository"
        " from main.fct_changes")
    mart_incidents = rows(
        f"select incident_id, external_id, service, {_epoch('started_at')} started_at,"
        " restore_seconds, cause_deployment_id, link_method from main.fct_incidents")

    repos: dict[str, Repo] = defaultdict(Repo)
    for r in rows(f"select repository, sha, parents, pull_request_numbers,"
                  f" {_epoch('authored_at')} a, {_epoch('committed_at')} c"
                  " from main.raw_github_commits"):
        repo = repos[r["repository"]]
        repo.parents[r["sha"]] = json.loads(r["parents"] or "[]")
        repo.authored[r["sha"]] = r["a"]
        repo.committed[r["sha"]] = r["c"]
        repo.prs[r["sha"]] = tuple(json.loads(r["pull_request_numbers"] or "[]"))
    for repo in repos.values():
        repo.finish()

    pulls: dict[tuple[str, int], Pull] = {}
    for r in rows(f"select repository, number, {_epoch('created_at')} created,"
                  f" {_epoch('merged_at')} merged, merge_commit_sha"
                  " from main.raw_github_pull_requests"
                  " where merged_at is not null"):
        pulls[(r["repository"], r["number"])] = Pull(r["repository"], r["number"], r["created"],
                                                     r["merged"], r["merge_commit_sha"])
    for r in rows(f"select repository, pull_request_number n, sha, {_epoch('authored_at')} a,"
                  f" {_epoch('committed_at')} c from main.raw_github_pull_request_commits"):
        if (pull := pulls.get((r["repository"], r["n"]))) is not None:
            pull.commits.append((r["sha"], r["a"], r["c"]))
    for r in rows(f"select repository, pull_request_number n, {_epoch('submitted_at')} t, state"
                  " from main.raw_github_pull_request_reviews where submitted_at is not null"):
        if (pull := pulls.get((r["repository"], r["n"]))) is not None:
            pull.reviews.append((r["t"], r["state"]))
    for pull in pulls.values():
        pull.commits.sort(key=lambda c: (c[1], c[0]))
        pull.reviews.sort()

    incidents: list[Incident] = []
    for r in rows(f"select repository, number, labels, body, {_epoch('created_at')} created,"
                  f" {_epoch('closed_at')} closed from main.raw_github_issues"):
        labels = [str(x).lower() for x in json.loads(r["labels"] or "[]")]
        service = service_of_repo.get(r["repository"])
        if "incident" in labels and service is not None:
            incidents.append(Incident(f"{r['repository']}#{r['number']}", service,
                                      services[service][0], r["created"], r["closed"],
                                      r["body"] or ""))
    incidents.sort(key=lambda i: (i.created, i.key))
    con.close()
    return Data((start, end), services, deployments, changes, incidents, mart_incidents, pulls,
                dict(repos), summary)


# --- statistics ---------------------------------------------------------------------------


def median(xs: Iterable[float]) -> float | None:
    values = list(xs)
    return statistics.median(values) if values else None  # interpolated: percentile_cont(0.5)


def lower_median(xs: Iterable[float]) -> float | None:
    """DevLake's dashboards: the largest value whose percent rank is <= 0.5."""
    values = sorted(xs)
    if not values:
        return None
    return values[(len(values) - 1) // 2]


def mean(xs: Iterable[float]) -> float | None:
    values = list(xs)
    return statistics.fmean(values) if values else None


def ratio(k: int, n: int) -> float | None:
    return k / n if n else None


def hours(x: float | None) -> float | None:
    return None if x is None else x / HOUR


def ceil_minutes(seconds: float) -> int | None:
    minutes = math.ceil(seconds / 60)
    return None if minutes < 0 else minutes


# --- the five definitions -----------------------------------------------------------------


class Compare:
    def __init__(self, data: Data) -> None:
        self.d = data
        self.start, self.end = data.window
        self.scopes: list[str | None] = [None, *sorted(data.services)]
        self.by_service: dict[str, list[Deployment]] = defaultdict(list)
        for dep in data.deployments:
            self.by_service[dep.service].append(dep)
        self.notes: dict[Any, Any] = {}
        self.first_containing = self._first_containing()

    def inside(self, t: float | None) -> bool:
        return t is not None and self.start <= t < self.end

    def in_scope(self, service: str, scope: str | None) -> bool:
        return scope is None or service == scope

    def deps(self, scope: str | None) -> list[Deployment]:
        return [d for d in self.d.deployments if self.in_scope(d.service, scope)
                and self.inside(d.t)]

    def repo_of(self, service: str) -> Repo:
        return self.d.repos[self.d.services[service][1]]

    def pulls_of(self, service: str) -> list[Pull]:
        repository = self.d.services[service][1]
        return [p for p in self.d.pulls.values() if p.repo == repository]

    def _first_containing(self) -> dict[tuple[str, int], Deployment]:
        """PR -> the first deployment of its service whose sha reaches the PR's merge sha
        (Middleware's merge-to-deploy broker, GitLab's deployment merge requests)."""
        out: dict[tuple[str, int], Deployment] = {}
        for service, deps in self.by_service.items():
            repo = self.repo_of(service)
            waiting = {(p.repo, p.number): p for p in self.pulls_of(service)}
            for dep in deps:
                reach = repo.reach(dep.sha)
                for key, pull in list(waiting.items()):
                    if pull.merge_sha in reach:
                        out[key] = dep
                        del waiting[key]
        return out

    # ours: the marts -------------------------------------------------------------------
    def ours(self, scope: str | None) -> Row:
        row = self.d.summary.get(scope) or {}
        deps = self.deps(scope)
        recovery = [d.recovery for d in deps if d.is_failure and d.recovery is not None]
        out: Row = {
            "deployments": row.get("deployments"),
            "df": row.get("deployments_per_week"),
            "lt": hours(row.get("median_lead_time_seconds")),
            "lt_n": row.get("lead_time_sample"),
            "failed": row.get("failed_deployments"),
            "cfr": row.get("change_failure_rate"),
            "restore": hours(row.get("median_restore_seconds")),
            "recovery": hours(median(float(x) for x in recovery)),
        }
        self.notes[("split", scope)] = (
            sum("incident" in d.causes for d in deps),
            sum(d.is_failure and "incident" not in d.causes for d in deps))
        return out

    # Google fourkeys ---------------------------------------------------------------------
    def fourkeys(self, scope: str | None) -> Row:
        deps: list[tuple[Deployment, list[str]]] = []  # every deployment with a matching push
        for dep in self.d.deployments:
            if not self.in_scope(dep.service, scope):
                continue
            commits = self.repo_of(dep.service).pushes().get(dep.sha)
            if commits is not None:  # no push event with this head: not in their deployments
                deps.append((dep, commits))
        window = [(dep, commits) for dep, commits in deps if self.inside(dep.t)]
        pairs: list[float] = []
        for dep, commits in window:
            authored = self.repo_of(dep.service).authored
            for sha in commits:
                minutes = math.floor((dep.t - authored[sha]) / 60)
                if minutes > 0:  # "ignore automated pushes"
                    pairs.append(minutes)
        failed: set[str] = set()
        starts: list[tuple[float, float | None]] = []
        for inc in self.d.incidents:
            if not self.in_scope(inc.service, scope):
                continue
            causes = set(FULL_SHA.findall(inc.body.lower()))
            caused = [dep for dep, commits in deps if causes & set(commits)]
            failed.update(dep.id for dep in caused if self.inside(dep.t))
            starts.append((min([inc.created, *(dep.t for dep in caused)]), inc.closed))
        restore = [c - s for s, c in starts if self.inside(s) and c is not None]
        lt_minutes = median(pairs)
        if scope is None:
            self.notes["full_sha"] = sum(bool(FULL_SHA.search(i.body.lower()))
                                         for i in self.d.incidents)
        return {
            "deployments": len(window),
            "df": len(window) / (WINDOW_DAYS / 7),
            "lt": None if lt_minutes is None else lt_minutes / 60,
            "lt_n": len(pairs),
            "failed": len(failed),
            "cfr": ratio(len(failed), len(window)),
            "restore": hours(median(restore)),
            "recovery": None,
        }

    # Apache DevLake ----------------------------------------------------------------------
    def devlake_matches(self) -> dict[tuple[str, int], Deployment]:
        """PR -> first deployment (by time) whose diff to the previous successful deployment
        of the service holds the PR's merge sha; a first deployment has no diff."""
        out: dict[tuple[str, int], Deployment] = {}
        for service, deps in self.by_service.items():
            repo = self.repo_of(service)
            by_sha = {p.merge_sha: (p.repo, p.number) for p in self.pulls_of(service)}
            for prev, dep in itertools.pairwise(deps):
                for sha in repo.reach(dep.sha) - repo.reach(prev.sha):
                    key = by_sha.get(sha)
                    if key is not None and key not in out:
                        out[key] = dep
        return out

    def devlake_links(self) -> dict[str, Deployment]:
        """incident -> the last deployment of its team (the DevLake project) at or before it."""
        by_team: dict[str, list[Deployment]] = defaultdict(list)
        for dep in self.d.deployments:
            by_team[dep.team].append(dep)
        out: dict[str, Deployment] = {}
        for inc in self.d.incidents:
            deps = by_team.get(inc.team, [])
            i = bisect_right([d.t for d in deps], inc.created)
            if i:
                out[inc.key] = deps[i - 1]
        return out

    def devlake(self, scope: str | None) -> Row:
        if "devlake" not in self.notes:
            self.notes["devlake"] = (self.devlake_matches(), self.devlake_links())
        matches, links = self.notes["devlake"]
        cycle: list[float] = []
        for key, dep in matches.items():
            pull = self.d.pulls[key]
            if not self.in_scope(dep.service, scope) or not self.inside(dep.t):
                continue
            spans = [ceil_minutes(pull.merged - pull.created), ceil_minutes(dep.t - pull.merged)]
            if pull.commits:
                spans.append(ceil_minutes(pull.created - pull.commits[0][1]))
            cycle.append(sum(s for s in spans if s is not None))
        deps = self.deps(scope)
        failed = {links[i.key].id for i in self.d.incidents if i.key in links}
        n_failed = sum(d.id in failed for d in deps)
        self.notes[("cross", scope)] = sum(
            links[i.key].service != i.service for i in self.d.incidents
            if i.key in links and self.in_scope(i.service, scope))
        mttr = [math.floor((i.closed - i.created) / 60) for i in self.d.incidents
                if self.in_scope(i.service, scope) and self.inside(i.created)
                and i.closed is not None]
        fdrt = [math.floor((i.closed - links[i.key].t) / 60) for i in self.d.incidents
                if i.key in links and self.in_scope(links[i.key].service, scope)
                and i.closed is not None and self.inside(i.closed)
                and self.inside(links[i.key].t)]
        lm = lower_median(cycle)
        mttr_m, fdrt_m = lower_median(mttr), lower_median(fdrt)
        return {
            "deployments": len(deps),
            "df": len(deps) / (WINDOW_DAYS / 7),
            "lt": None if lm is None else lm / 60,
            "lt_n": len(cycle),
            "failed": n_failed,
            "cfr": ratio(n_failed, len(deps)),
            "restore": None if mttr_m is None else mttr_m / 60,
            "recovery": None if fdrt_m is None else fdrt_m / 60,
        }

    # Middleware --------------------------------------------------------------------------
    def middleware_lead(self, pull: Pull, deploy: float | None) -> float:
        first_commit_to_open = 0.0
        if pull.commits:
            first_commit_to_open = max(0.0, pull.created - min(c[2] for c in pull.commits))
        first_response = rework = merge_time = 0.0
        if pull.reviews:
            first_at, first_state = pull.reviews[0]
            first_response = first_at - pull.created
            approvals = [t for t, state in pull.reviews if state == "APPROVED"]
            if approvals:
                rework = 0.0 if first_state == "APPROVED" else approvals[0] - first_at
                merge_time = max(0.0, pull.merged - approvals[0])
        mtd = 0.0 if deploy is None else deploy - pull.merged
        return first_commit_to_open + first_response + rework + merge_time + mtd

    def middleware(self, scope: str | None) -> Row:
        leads: list[float] = []
        alt: list[float] = []
        for service, (_, _, source) in self.d.services.items():
            if not self.in_scope(service, scope):
                continue
            for pull in self.pulls_of(service):
                if not self.inside(pull.merged):
                    continue
                dep = self.first_containing.get((pull.repo, pull.number))
                if source == "merged_pull_requests":
                    leads.append(self.middleware_lead(pull, None))
                elif dep is not None:
                    leads.append(self.middleware_lead(pull, dep.t))
                else:
                    continue
                if scope is None:  # the same PRs with authored dates, for the docs
                    authored = Pull(pull.repo, pull.number, pull.created, pull.merged,
                                    pull.merge_sha, [(x, a, a) for x, a, _ in pull.commits],
                                    pull.reviews)
                    alt.append(self.middleware_lead(authored, None if dep is None or source
                                                    == "merged_pull_requests" else dep.t))
        failed: set[str] = set()
        for inc in self.d.incidents:
            deps = self.by_service.get(inc.service, [])
            i = bisect_right([d.t for d in deps], inc.created)
            if i:
                failed.add(deps[i - 1].id)
        deps = self.deps(scope)
        n_failed = sum(d.id in failed for d in deps)
        restore = [i.closed - i.created for i in self.d.incidents
                   if self.in_scope(i.service, scope) and self.inside(i.created)
                   and i.closed is not None]
        if scope is None:
            log.info("Middleware lead time: mean %.1f h (with authored dates %.1f h), "
                     "median %.1f h; restore mean %.1f h, median %.1f h", hours(mean(leads)) or 0,
                     hours(mean(alt)) or 0, hours(median(leads)) or 0, hours(mean(restore)) or 0,
                     hours(median(restore)) or 0)
            self.notes["mw"] = (hours(mean(alt)), hours(median(leads)))
        return {
            "deployments": len(deps),
            "df": len(deps) / (WINDOW_DAYS / 7),
            "lt": hours(mean(leads)),
            "lt_n": len(leads),
            "failed": n_failed,
            "cfr": ratio(n_failed, len(deps)),
            "restore": hours(mean(restore)),
            "recovery": None,
        }

    # GitLab ------------------------------------------------------------------------------
    def gitlab(self, scope: str | None) -> Row:
        deps = self.deps(scope)
        leads = [max(0.0, dep.t - self.d.pulls[key].merged)
                 for key, dep in self.first_containing.items()
                 if self.in_scope(dep.service, scope) and self.inside(dep.t)]
        incidents = [i for i in self.d.incidents
                     if self.in_scope(i.service, scope) and self.inside(i.created)]
        open_times = [i.closed - i.created for i in self.d.incidents
                      if self.in_scope(i.service, scope) and i.closed is not None
                      and self.inside(i.closed)]
        if scope is None:
            self.notes["deployments"] = len(deps)
            self.notes["gitlab_per_day"] = len(deps) / WINDOW_DAYS
            self.notes["gitlab_incidents"] = len(incidents)
        return {
            "deployments": len(deps),
            "df": len(deps) / WINDOW_DAYS * 7,  # a mean per day, shown per week
            "lt": hours(median(leads)),
            "lt_n": len(leads),
            "failed": None,  # incidents are not linked to deployments
            "cfr": ratio(len(incidents), len(deps)),
            "restore": hours(median(open_times)),
            "recovery": None,
        }

    def all(self) -> dict[str | None, Scope]:
        out: dict[str | None, Scope] = {}
        for scope in self.scopes:
            per_def = {name: getattr(self, name)(scope) for name in DEFS}
            out[scope] = {m: {name: per_def[name][m] for name in DEFS} for m in METRICS}
        return out

    # diagnostics (stderr) and cross-checks of the marts -------------------------------------
    def check_marts(self) -> list[str]:
        """Independent recomputations that must agree with the marts; returns the problems."""
        problems: list[str] = []
        d = self.d
        row = d.summary[None]
        window_deps = self.deps(None)
        if row["deployments"] != len(window_deps):
            problems.append(f"dora_summary deployments {row['deployments']} but "
                            f"{len(window_deps)} fct_deployments rows in the window")
        failed = sum(dep.is_failure for dep in window_deps)
        if row["failed_deployments"] != failed:
            problems.append(f"dora_summary failed_deployments {row['failed_deployments']} but "
                            f"{failed} failed fct_deployments rows in the window")
        leads = [c["lead_time_seconds"] for c in d.changes
                 if self.inside(c["deployed_at"]) and c["lead_time_seconds"] is not None]
        m = median(float(x) for x in leads)
        if m is None or abs(m - float(row["median_lead_time_seconds"] or 0)) > 1:
            problems.append(f"dora_summary median lead time {row['median_lead_time_seconds']} "
                            f"but fct_changes in the window give {m}")
        bad_start = bad_lead = bad_dep = negative = 0
        for c in d.changes:
            if c["deployed_at"] is not None and c["first_commit_at"] is not None:
                lead = c["deployed_at"] - c["first_commit_at"]
                if c["lead_time_seconds"] is None or abs(lead - c["lead_time_seconds"]) > 1:
                    bad_lead += 1
                negative += lead < 0
            if c["change_type"] != "pull_request":
                continue
            pull = d.pulls.get((c["repository"], c["pull_request_number"]))
            if pull is None or not pull.commits:
                continue
            first = min(a for _, a, _ in pull.commits)
            if c["first_commit_at"] is None or abs(first - c["first_commit_at"]) > 1:
                bad_start += 1
            dep = self.first_containing.get((pull.repo, pull.number))
            if dep is not None and c["deployment_id"] is not None and dep.id != c["deployment_id"]:
                bad_dep += 1
        if bad_start:
            problems.append(f"{bad_start} PR changes whose first_commit_at is not the earliest "
                            "authored date of the PR's commits")
        if bad_lead:
            problems.append(f"{bad_lead} changes whose lead_time_seconds != deployed_at - "
                            "first_commit_at")
        if negative:
            problems.append(f"{negative} changes with a negative lead time")
        if bad_dep:
            problems.append(f"{bad_dep} PR changes whose deployment is not the first deployment "
                            "whose sha reaches the PR's merge commit")
        deployments = {dep.id: dep for dep in d.deployments}
        for inc in d.mart_incidents:
            dep = deployments.get(inc["cause_deployment_id"] or "")
            if inc["link_method"] == "time_window" and dep is not None:
                gap = inc["started_at"] - dep.t
                if not 0 <= gap <= 7 * DAY:
                    problems.append(f"{inc['incident_id']} time_window link {gap / DAY:.1f} d "
                                    "after its deployment")
        return problems

    def diagnostics(self) -> None:
        """Breakdowns the docs quote; logged, not printed."""
        d = self.d
        strategy: dict[tuple[str, int], str] = {}
        for service in d.services:
            repo = self.repo_of(service)
            for pull in self.pulls_of(service):
                sha = pull.merge_sha
                if len(repo.parents.get(sha, ())) > 1:
                    strategy[(pull.repo, pull.number)] = "merge"
                elif repo.authored.get(sha, 0.0) < repo.committed.get(sha, 0.0) - 1:  # kept dates
                    strategy[(pull.repo, pull.number)] = "rebase"
                else:
                    strategy[(pull.repo, pull.number)] = "squash"
        pushed: set[str] = set()  # commits of the pushes that Google fourkeys sees deployed
        for dep in self.deps(None):
            pushed.update(self.repo_of(dep.service).pushes().get(dep.sha, ()))
        ours: dict[str, list[float]] = defaultdict(list)
        trunk: dict[str, list[float]] = defaultdict(list)
        seen: dict[str, int] = defaultdict(int)
        for c in d.changes:
            key = (c["repository"], c["pull_request_number"])
            if c["change_type"] == "pull_request" and self.inside(c["deployed_at"]) \
                    and c["lead_time_seconds"] is not None and key in strategy:
                name, sha = strategy[key], d.pulls[key].merge_sha
                ours[name].append(c["lead_time_seconds"] / HOUR)
                authored = d.repos[c["repository"]].authored.get(sha)
                if authored is not None:
                    trunk[name].append((c["deployed_at"] - authored) / HOUR)
                seen[name] += sha in pushed
        for name, values in sorted(ours.items()):
            log.info("%s-merged PRs shipped in the window: %d; median lead time ours %.1f h, "
                     "from the trunk commit's authored date %.1f h; %d in a deployed push",
                     name, len(values), median(values) or 0, median(trunk[name]) or 0,
                     seen[name])
        starts: dict[str, list[float]] = defaultdict(list)  # the same PRs, three starts
        for c in d.changes:
            shipped = d.pulls.get((c["repository"], c["pull_request_number"]))
            if shipped is not None and c["lead_time_seconds"] is not None \
                    and self.inside(c["deployed_at"]):
                starts["first commit"].append(c["lead_time_seconds"] / HOUR)
                starts["PR opened"].append((c["deployed_at"] - shipped.created) / HOUR)
                starts["merge"].append(max(0.0, c["deployed_at"] - shipped.merged) / HOUR)
        for name, values in starts.items():
            p90 = statistics.quantiles(values, n=10, method="inclusive")[-1]
            log.info("PRs shipped in the window, from %s: n %d, median %.1f h, p90 %.1f h",
                     name, len(values), median(values) or 0, p90)
        first_ids = {deps[0].id for deps in self.by_service.values() if deps}
        firsts = [c for c in d.changes if c["deployment_id"] in first_ids]
        leads = [c["lead_time_seconds"] / DAY for c in firsts if c["lead_time_seconds"]]
        self.notes["first"] = (len(firsts), median(leads), max(leads, default=0.0),
                               min((dep.t for dep in d.deployments if dep.id in first_ids),
                                   default=0.0),
                               max((dep.t for dep in d.deployments if dep.id in first_ids),
                                   default=0.0))
        all_leads = [c["lead_time_seconds"] for c in d.changes if c["lead_time_seconds"]]
        kept = [c["lead_time_seconds"] for c in d.changes if c["lead_time_seconds"]
                and c["deployment_id"] not in first_ids]
        self.notes["first_effect"] = (hours(median(all_leads)), hours(median(kept)),
                                      hours(mean(all_leads)), hours(mean(kept)))
        lt = [c["lead_time_seconds"] / HOUR for c in d.changes
              if self.inside(c["deployed_at"]) and c["lead_time_seconds"] is not None]
        if lt:
            q = statistics.quantiles(lt, n=10, method="inclusive")
            log.info("ours, lead time in the window: n %d, median %.1f h, mean %.1f h, p90 %.1f h",
                     len(lt), median(lt) or 0, mean(lt) or 0, q[-1])
        per_dep: dict[str, int] = defaultdict(int)
        for inc in d.mart_incidents:
            if inc["cause_deployment_id"]:
                per_dep[inc["cause_deployment_id"]] += 1
        self.notes["multi_incident_deployments"] = sum(n > 1 for n in per_dep.values())
        links: dict[str, int] = defaultdict(int)
        for inc in d.mart_incidents:
            links[inc["link_method"] or "none"] += 1
        log.info("ours, incident links: %s; deployments with > 1 incident: %d",
                 dict(sorted(links.items())), self.notes["multi_incident_deployments"])
        _, links_dl = self.notes.get("devlake", (None, self.devlake_links()))
        ours_link = {i["external_id"]: i["cause_deployment_id"] for i in d.mart_incidents}
        moved = sum(links_dl[k].id != ours_link.get(k) for k in links_dl)
        cross = sum(links_dl[i.key].service != i.service for i in d.incidents if i.key in links_dl)
        log.info("DevLake links differing from ours: %d (to another service's deployment: %d)",
                 moved, cross)


# --- the report ---------------------------------------------------------------------------

METRICS: dict[str, tuple[str, Callable[[float], str]]] = {
    "df": ("deployments per week", lambda v: f"{v:.2f}"),
    "lt": ("lead time h (median; MW mean)", lambda v: f"{v:.1f}"),
    "lt_n": ("lead-time sample", lambda v: f"{v:.0f}"),
    "failed": ("failed deployments", lambda v: f"{v:.0f}"),
    "cfr": ("change failure rate", lambda v: f"{100 * v:.1f}%"),
    "restore": ("time to restore h (median; MW mean)", lambda v: f"{v:.1f}"),
    "recovery": ("failed-deployment recovery h", lambda v: f"{v:.1f}"),
}
EPS = {"df": 0.1, "lt": 1.0, "cfr": 0.02, "restore": 0.5, "recovery": 0.5}  # for log ratios


def why_lines(c: Compare, org: Scope) -> dict[str, str]:
    n = c.notes
    by_incident, other = n[("split", None)]
    mw_median = n["mw"][1]
    return {
        "df": f"the same {n['deployments']} raw deployments / 12 weeks for all; GitLab shows "
              f"{n['gitlab_per_day']:.2f} per day",
        "lt": f"fourkeys: squash/merge commits start at merge; GitLab: merge -> deploy; MW: mean, "
              f"committer dates (median {mw_median or 0:.1f} h)",
        "lt_n": "changes / (deployment, commit) pairs of deployed pushes / PRs with a diff match / "
                "PRs merged / MRs",
        "failed": f"ours: {by_incident} by incident + {other} by revert or rollback alone; peers: "
                  f"incidents only ({n['full_sha']} name a full sha)",
        "cfr": f"GitLab: {n['gitlab_incidents']} incidents / deployments, unlinked; DevLake: "
               f"{n[('cross', None)]} incidents linked to another service",
        "restore": "same issues; MW mean; DevLake lower median; fourkeys from root-cause deploy",
        "recovery": "ours ends at a remediation deployment or the restore; DevLake at resolution",
    }


def explain(c: Compare, scope: str, metric: str, peer: str, value: float | None) -> str:
    """One line on why `peer` differs from ours for one service."""
    source = c.d.services[scope][2]
    if metric == "lt":
        if peer == "gitlab":
            if source == "merged_pull_requests":
                return "deployment = the merge, so merge -> deploy is 0"
            return "starts at the merge: coding, pickup and review are left out"
        if peer == "fourkeys":
            return (f"{source}: only the commits of each deployed push count; squash and merge "
                    "commits are timed from the merge")
        if peer == "middleware":
            return "a mean, PRs merged in the window, first commit by committer date"
        return "PRs only, lower median"
    if metric == "cfr":
        by_incident, other = c.notes[("split", scope)]
        parts = [f"ours: {by_incident} by incident, {other} by revert or rollback alone"]
        if peer == "devlake" and c.notes[("cross", scope)]:
            parts.append(f"{c.notes[('cross', scope)]} of its incidents go to another service's "
                         "deployment")
        elif peer == "fourkeys":
            parts.append("no incident names a full sha of a deployed push" if not value else
                         "only incidents naming a full sha of a deployed push")
        elif peer == "gitlab":
            parts.append("incidents / deployments, no revert or rollback signal")
        else:
            parts.append(f"{PEER_NAMES[peer]} counts incidents only")
        return "; ".join(parts)
    if metric == "restore":
        return {"middleware": "mean vs median on a handful of incidents",
                "devlake": "lower median on a handful of incidents",
                "fourkeys": "starts at the root-cause deployment",
                "gitlab": "incidents closed in the window"}[peer]
    if metric == "recovery":
        return "ours ends at the first remediation deployment; DevLake at the incident's resolution"
    return "deployments counted differently"


def fmt(metric: str, value: float | None) -> str:
    return "-" if value is None else METRICS[metric][1](value)


def largest_differences(results: dict[str | None, Scope], k: int = 3) -> list[tuple[Any, ...]]:
    found: list[tuple[float, str, str, str, float, float]] = []
    for scope, metrics in results.items():
        if scope is None:
            continue
        for metric, eps in EPS.items():
            ours = metrics[metric]["ours"]
            for peer in PEER_NAMES:
                theirs = metrics[metric][peer]
                if ours is None or theirs is None:
                    continue
                score = abs(math.log((theirs + eps) / (ours + eps)))
                found.append((score, scope, metric, peer, ours, theirs))
    found.sort(key=lambda f: (-round(f[0], 9), f[1], f[2], f[3]))
    return found[:k]


def render(c: Compare, results: dict[str | None, Scope], spec: str) -> str:
    org = results[None]
    why = why_lines(c, org)
    label_w = max(len(label) for label, _ in METRICS.values())
    col_w = 11
    start = datetime.fromtimestamp(c.start, UTC).date()
    end = datetime.fromtimestamp(c.end, UTC).date()
    lines = [f"{spec}; window {start} .. {end} (12 weeks, end exclusive); organisation",
             "",
             "metric".ljust(label_w) + "".join(HEADS[name].rjust(col_w) for name in DEFS)]
    lines.append("-" * len(lines[-1]))
    for metric, (label, _) in METRICS.items():
        lines.append(label.ljust(label_w)
                     + "".join(fmt(metric, org[metric][name]).rjust(col_w) for name in DEFS))
        lines.append(f"  why: {why[metric]}")
    lines += ["", "Largest per-service differences from ours (|log ratio|):"]
    for i, (_, scope, metric, peer, ours, theirs) in enumerate(largest_differences(results), 1):
        label = METRICS[metric][0].split(" (")[0]
        lines.append(f"{i}. {scope}, {label}: ours {fmt(metric, ours)}, {PEER_NAMES[peer]} "
                     f"{fmt(metric, theirs)}")
        lines.append(f"  why: {explain(c, scope, metric, peer, theirs)}")
    n, med, top, t0, t1 = c.notes["first"]
    all_med, kept_med, all_mean, kept_mean = c.notes["first_effect"]
    day0 = datetime.fromtimestamp(t0, UTC).date()
    day1 = datetime.fromtimestamp(t1, UTC).date()
    where = ("before" if t1 < c.start else "inside" if t0 >= c.start else "partly inside")
    lines += ["", f"First deployments ({day0} .. {day1}, {where} the window): {n} changes, lead "
              f"time median {med or 0:.1f} d, max {top:.0f} d.",
              f"  All history, ours: median {all_med or 0:.1f} h, mean {all_mean or 0:.1f} h; "
              f"without them (as DevLake drops them): {kept_med or 0:.1f} h, "
              f"{kept_mean or 0:.1f} h."]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--teams", type=int, default=2)
    parser.add_argument("--services-per-team", type=int, default=3)
    parser.add_argument("--months", type=int, default=3)
    parser.add_argument("--workdir", type=Path, default=None,
                        help="keep the config and warehouse here (default: a temporary "
                             "directory, removed at the end)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    started = time.perf_counter()
    temporary = args.workdir is None
    workdir = Path(tempfile.mkdtemp(prefix="fourkeys-compare-")) if temporary else args.workdir
    workdir.mkdir(parents=True, exist_ok=True)
    try:
        warehouse, org = build_warehouse(args, workdir)
        data = load(warehouse, org)
    finally:
        if temporary:
            shutil.rmtree(workdir, ignore_errors=True)
    compare = Compare(data)
    for problem in compare.check_marts():
        log.warning("mart check: %s", problem)
    results = compare.all()
    compare.diagnostics()
    teams = len({s.team for s in org.services})
    spec = (f"seed {args.seed}: {len(org.services)} services, {teams} teams, "
            f"{args.months} months to {str(org.scenario['now'])[:10]}")
    print(render(compare, results, spec))
    log.info("done in %.1f s", time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
