"""Organisations at benchmark scale, sized by totals: repositories, PRs, commits, deployments.

    python -m fakes.scale --out DIR                 # 1,000 repos / 200,000 PRs / 1M commits /
                                                    #   40,000 deployments, seed 7
    python -m fakes.scale --out DIR --quick         # 1/20 of that

`generate_at_scale(repos=..., prs=..., commits=..., deployments=..., seed=...)` returns a
`ScaleOrg` (the scenario dict, its services and a fourkeys.toml writer, as `fakes.generator`
gives). Unlike the realistic generator, which simulates a team's days and lets the totals fall
where they fall, this one is sized by the totals and hits them exactly (see `count_activity`):

- pull requests: exactly `prs`, shared by the repositories in proportion to a seeded activity
  weight; about 5% close unmerged and those whose merge would fall after `now` stay open;
- commits: exactly `commits` (initial history, PR branches, squash/merge/rebase merges, direct
  pushes; the branch length is solved for, direct pushes take up the remainder);
- deployments: exactly `deployments` successful production deployments, whatever the source
  (a mix of GitHub deployments, deploy workflow runs, releases, Heroku releases and, in a few
  repositories, merged pull requests), each shipping `main`'s head at its moment; failed
  attempts, staging deployments and incidents (GitHub issues naming the deployed sha) ride along.

`advance(org, fraction=0.01)` moves `now` on by that fraction of the generated span and appends
that fraction of new PRs, commits and deployments after the old `now`, so an incremental refresh
can be measured; it changes no existing fact except a branch head and Heroku's `current` flag.
"""

from __future__ import annotations

import argparse
import itertools
import json
import logging
import math
import random
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from fakes.gen_common import (
    DAY,
    HOUR,
    SERVICE_SUFFIXES,
    SERVICE_WORDS,
    TEAM_NAMES,
    Member,
    WorkClock,
    epoch,
    make_members,
    months_before,
)
from fakes.generator import GeneratedOrg, ServiceSpec
from fakes.scale_repo import RepoBuilder, branch_mean
from fakes.scale_sources import DEPLOY_WORKFLOW, Window, iso, parse_ts

log = logging.getLogger(__name__)

SOURCE_MIX = (
    ("github_deployments", 0.35),
    ("workflow_runs", 0.25),
    ("releases", 0.2),
    ("heroku_releases", 0.15),
    ("merged_pull_requests", 0.05),
)
# (tempo, weight): elite, high, medium and low performers, as in fakes.generator
_TEMPOS = ((0.5, 3), (1.0, 4), (2.0, 2), (3.5, 1))
_OFFSETS = (-8, -5, 0, 0, 1, 1, 2, 5)
_DUMPS = json.JSONEncoder(separators=(",", ":")).encode
FIRST_ID = 1_000_001  # ids run org-wide from here; GraphQL's `databaseId` is a 32-bit Int


@dataclass(frozen=True)
class ScaleSpec:
    repos: int = 1000
    prs: int = 200_000
    commits: int = 1_000_000
    deployments: int = 40_000
    months: int = 6
    seed: int = 7
    org: str = "acme"
    now: datetime = datetime(2026, 3, 1, tzinfo=UTC)
    services_per_team: int = 8
    sources: tuple[tuple[str, float], ...] = SOURCE_MIX
    direct_share: float = 0.05  # direct pushes to main per PR, aimed at
    revert_rate: float = 0.015  # share of PRs that revert a recent merge
    incident_rate: float = 0.05  # P(a production deployment opens an incident issue)

    def scaled(self, factor: float) -> ScaleSpec:
        """The same organisation shape with every total multiplied by `factor`."""
        return replace(self, repos=max(1, round(self.repos * factor)),
                       prs=round(self.prs * factor), commits=round(self.commits * factor),
                       deployments=round(self.deployments * factor))


@dataclass
class Team:
    name: str
    members: list[Member]
    tempo: float
    utc_offset: int


@dataclass
class ScaleOrg(GeneratedOrg):
    scale: ScaleSpec = field(default_factory=ScaleSpec)
    start: int = 0  # the generated window is [start, now)
    teams: dict[str, Team] = field(default_factory=dict)

    def write(self, directory: Path, *, github_api_url: str = "http://127.0.0.1:8765",
              heroku_api_url: str = "http://127.0.0.1:8765/heroku",
              warehouse_path: str | None = None,
              pagerduty_api_url: str | None = None) -> tuple[Path, Path]:
        """scenario.json (streamed one repository at a time) and fourkeys.toml."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        scenario_path = write_scenario(self.scenario, directory / "scenario.json")
        config_path = directory / "fourkeys.toml"
        config_path.write_text(self.config_toml(
            github_api_url=github_api_url, heroku_api_url=heroku_api_url,
            warehouse_path=warehouse_path or str(directory / "fourkeys.duckdb"),
            pagerduty_api_url=pagerduty_api_url), encoding="utf-8")
        return scenario_path, config_path


def allocate(total: int, weights: list[float]) -> list[int]:
    """`total` split in proportion to `weights`, in whole numbers that add up exactly
    (largest remainder)."""
    whole = sum(weights)
    if total <= 0 or whole <= 0:
        return [0] * len(weights)
    shares = [total * w / whole for w in weights]
    out = [math.floor(s) for s in shares]
    by_remainder = sorted(range(len(weights)), key=lambda i: (out[i] - shares[i], i))
    for i in by_remainder[: total - sum(out)]:
        out[i] += 1
    return out


def _plan_org(spec: ScaleSpec) -> tuple[list[ServiceSpec], dict[str, Team], list[float]]:
    """Teams, services (one repository each) with their deployment source, activity weights."""
    rng = random.Random(f"{spec.seed}:{spec.org}:scale")
    n_teams = math.ceil(spec.repos / spec.services_per_team)
    words = list(TEAM_NAMES)
    rng.shuffle(words)
    used: set[str] = set()
    teams: list[Team] = []
    for t in range(n_teams):
        base = words[t % len(words)]
        name = base if t < len(words) else f"{base}-{t // len(words) + 1}"
        tempo = rng.choices([p[0] for p in _TEMPOS], [p[1] for p in _TEMPOS])[0]
        teams.append(Team(name, make_members(rng, rng.randint(4, 9), used, spec.org),
                          tempo * rng.uniform(0.8, 1.25), rng.choice(_OFFSETS)))
    counts = allocate(spec.repos, [w for _, w in spec.sources])
    sources = [s for (s, _), n in zip(spec.sources, counts, strict=True) for _ in range(n)]
    rng.shuffle(sources)
    names = [f"{w}-{s}" for w in SERVICE_WORDS for s in SERVICE_SUFFIXES]
    rng.shuffle(names)
    services = []
    for k, source in enumerate(sources):
        word = names[k % len(names)]
        name = word if k < len(names) else f"{word}-{k // len(names) + 1}"
        services.append(ServiceSpec(
            name=name, team=teams[k // spec.services_per_team].name,
            repository=f"{spec.org}/{name}", deployment_source=source,
            environment="production" if source == "github_deployments" else None,
            workflow="deploy.yml" if source == "workflow_runs" else None,
            heroku_app=f"{name}-prod" if source == "heroku_releases" else None,
        ))
    weights = [rng.lognormvariate(0.0, 0.5) for _ in services]
    return services, {t.name: t for t in teams}, weights


def _builder(repo: dict[str, Any], service: ServiceSpec, team: Team, spec: ScaleSpec,
             scope: str, ids: Iterator[int], heroku: dict[str, Any] | None) -> RepoBuilder:
    rng = random.Random(scope)
    return RepoBuilder(repo, service, members=team.members, tempo=team.tempo,
                       clock=WorkClock(team.utc_offset, rng), rng=rng, scope=scope,
                       ids=ids, heroku_app=heroku, incident_rate=spec.incident_rate)


def generate_at_scale(spec: ScaleSpec | None = None, /, **totals: Any) -> ScaleOrg:
    """An organisation of exactly the asked totals; `generate_at_scale(repos=50, prs=10_000)`
    or `generate_at_scale(ScaleSpec(...))`."""
    spec = replace(spec or ScaleSpec(), **totals)
    started = time.perf_counter()
    now, start = epoch(spec.now), epoch(months_before(spec.now, spec.months))
    window = Window(start, now)
    services, teams, weights = _plan_org(spec)
    prs = allocate(spec.prs, weights)
    commits = allocate(spec.commits, weights)
    repositories: list[dict[str, Any]] = []
    heroku_apps: list[dict[str, Any]] = []
    built = []
    ids = itertools.count(FIRST_ID)  # drawn only while building, one repository after another
    for k, service in enumerate(services):
        heroku = {"name": service.heroku_app, "releases": []} if service.heroku_app else None
        if heroku is not None:
            heroku_apps.append(heroku)
        scope = f"{spec.seed}:{service.repository}"
        repo: dict[str, Any] = {
            "full_name": service.repository, "default_branch": "main", "created_at": "",
            "branches": {}, "commits": [], "pull_requests": [], "releases": [],
            "deployments": [], "workflow_runs": [], "issues": [],
        }
        b = _builder(repo, service, teams[service.team], spec, scope, ids, heroku)
        created = start - b.rng.randint(30, 400) * DAY
        repo["created_at"] = iso(created)
        initial = b.initial_history(created, start)
        mean = branch_mean(commits[k], prs[k], initial, spec.direct_share)
        plans = b.plan_pulls(prs[k], window, mean, spec.revert_rate)
        built.append((b, plans, commits[k] - initial))
        repositories.append(repo)
    # merged pull requests are the deployments of their services; the rest share what is left
    merged = sum(sum(1 for p in plans if p.merged is not None) for b, plans, _ in built
                 if b.service.deployment_source == "merged_pull_requests")
    timed = [s.deployment_source != "merged_pull_requests" for s in services]
    deploys = allocate(max(spec.deployments - merged, 0),
                       [w if t else 0.0 for w, t in zip(weights, timed, strict=True)])
    short = 0
    for (b, plans, budget), n_deploys in zip(built, deploys, strict=True):
        direct = budget - b.planned_commits(plans)
        if direct < 0:
            short += b.trim(plans, -direct)
            direct = 0
        b.build(plans, window, direct=direct, deployments=n_deploys)
    if short:
        log.warning("%d commits over the asked total: every PR is down to one commit", short)
    scenario = {"format": 1, "now": iso(now), "repositories": repositories,
                "heroku_apps": heroku_apps, "pagerduty": {"services": [], "incidents": []}}
    log.info("generated %d repositories in %.1f s", len(repositories),
             time.perf_counter() - started)
    return ScaleOrg(scenario=scenario, services=services, scale=spec, start=start, teams=teams)


# --- counting -------------------------------------------------------------------------------


def production_deployments(repo: dict[str, Any], source: str,
                           heroku: dict[str, Any] | None) -> int:
    """Successful production deployments of a repository as its service's source records
    them (what fct_deployments will count)."""
    if source == "github_deployments":
        return sum(1 for d in repo["deployments"] if d["environment"] == "production"
                   and d["statuses"] and d["statuses"][-1]["state"] == "success")
    if source == "workflow_runs":
        return sum(1 for r in repo["workflow_runs"] if r["workflow_path"] == DEPLOY_WORKFLOW
                   and r["head_branch"] == "main" and r["conclusion"] == "success")
    if source == "releases":
        return sum(1 for r in repo["releases"]
                   if not r["draft"] and not r["prerelease"] and r["published_at"])
    if source == "heroku_releases":
        return sum(1 for r in (heroku or {}).get("releases", [])
                   if r["status"] == "succeeded" and r["commit"])
    return sum(1 for p in repo["pull_requests"] if p["merged_at"])


def count_activity(org: GeneratedOrg) -> dict[str, int]:
    """The totals `generate_at_scale` is asked for, plus the records behind them."""
    scenario = org.scenario
    apps = {a["name"]: a for a in scenario.get("heroku_apps") or []}
    out: Counter[str] = Counter()
    for service, repo in zip(org.services, scenario["repositories"], strict=True):
        out["repos"] += 1
        out["prs"] += len(repo["pull_requests"])
        out["commits"] += len(repo["commits"])
        out["deployments"] += production_deployments(
            repo, service.deployment_source, apps.get(service.heroku_app or ""))
        out["merged_prs"] += sum(1 for p in repo["pull_requests"] if p["merged_at"])
        out["reviews"] += sum(len(p["reviews"]) for p in repo["pull_requests"])
        out["comments"] += sum(len(p["comments"]) for p in repo["pull_requests"])
        out["github_deployment_records"] += len(repo["deployments"])
        out["workflow_runs"] += len(repo["workflow_runs"])
        out["releases"] += len(repo["releases"])
        out["issues"] += len(repo["issues"])
    out["heroku_releases"] = sum(len(a["releases"]) for a in apps.values())
    return dict(out)


# --- the increment --------------------------------------------------------------------------


def max_id(repo: dict[str, Any]) -> int:
    """The largest integer id a repository's records use (0 without any)."""
    ids = [x["id"] for key in ("deployments", "workflow_runs", "releases") for x in repo[key]]
    ids += [s["id"] for d in repo["deployments"] for s in d["statuses"]]
    ids += [x["id"] for p in repo["pull_requests"] for x in (*p["reviews"], *p["comments"])]
    return max(ids, default=0)



def advance(org: ScaleOrg, fraction: float = 0.01) -> dict[str, int]:
    """Move `now` on by `fraction` of the generated span and append `fraction` more pull
    requests, commits and deployments after the old `now` (in place); returns what was added.
    The new facts follow the same rules (branching off main's head, merges on main, deployments
    of main's head); repeated calls keep appending. PRs and deployments are exact; commits too,
    unless a repository's share of commits is below its new PRs' minimum (one branch commit
    each plus the merge): then a few more (+7 over 10,000 at the default totals)."""
    spec, scenario = org.scale, org.scenario
    old_now = parse_ts(scenario["now"])
    new_now = old_now + max(HOUR, round(fraction * (old_now - org.start)))
    window = Window(old_now + 1, new_now)
    before = count_activity(org)
    apps = {a["name"]: a for a in scenario.get("heroku_apps") or []}
    repos = scenario["repositories"]
    pairs = list(zip(org.services, repos, strict=True))
    deploy_weights = [
        0.0 if s.deployment_source == "merged_pull_requests"
        else float(production_deployments(r, s.deployment_source, apps.get(s.heroku_app or "")))
        for s, r in pairs
    ]
    prs = allocate(round(fraction * before["prs"]), [len(r["pull_requests"]) for r in repos])
    commits = allocate(round(fraction * before["commits"]), [len(r["commits"]) for r in repos])
    built = []
    ids = itertools.count(max((max_id(r) for r in repos), default=FIRST_ID - 1) + 1)
    for k, (service, repo) in enumerate(pairs):
        scope = f"{spec.seed}:{service.repository}:{iso(new_now)}"
        b = _builder(repo, service, org.teams[service.team], spec, scope, ids,
                     apps.get(service.heroku_app or ""))
        mean = branch_mean(commits[k], prs[k], 0, spec.direct_share)
        built.append((b, b.plan_pulls(prs[k], window, mean, spec.revert_rate)))
    # as in generate_at_scale: merges in merged_pull_requests services count first
    merged = sum(sum(1 for p in plans if p.merged is not None) for b, plans in built
                 if b.service.deployment_source == "merged_pull_requests")
    deploys = allocate(max(round(fraction * before["deployments"]) - merged, 0),
                       deploy_weights)
    for (b, plans), n_commits, n_deploys in zip(built, commits, deploys, strict=True):
        direct = n_commits - b.planned_commits(plans)
        if direct < 0:
            b.trim(plans, -direct)
            direct = 0
        b.build(plans, window, direct=direct, deployments=n_deploys)
    scenario["now"] = iso(new_now)
    after = count_activity(org)
    return {key: after[key] - before.get(key, 0) for key in after}


# --- files ----------------------------------------------------------------------------------


def write_scenario(scenario: dict[str, Any], path: Path) -> Path:
    """The scenario as compact JSON, one repository encoded at a time (no 500 MB string)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", encoding="utf-8") as fh:
        fh.write('{"format":1,"now":' + _DUMPS(scenario["now"]) + ',"repositories":[')
        for i, repo in enumerate(scenario["repositories"]):
            fh.write(("," if i else "") + _DUMPS(repo))
        fh.write('],"heroku_apps":' + _DUMPS(scenario["heroku_apps"]))
        fh.write(',"pagerduty":' + _DUMPS(scenario["pagerduty"]) + "}\n")
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fakes.scale", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    default = ScaleSpec()
    for name in ("repos", "prs", "commits", "deployments", "months", "seed"):
        parser.add_argument(f"--{name}", type=int, default=getattr(default, name))
    parser.add_argument("--quick", action="store_true", help="1/20 of the totals")
    parser.add_argument("--out", type=Path, required=True, help="directory for the two files")
    parser.add_argument("--github-api-url", default="http://127.0.0.1:8765")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    spec = ScaleSpec(repos=args.repos, prs=args.prs, commits=args.commits,
                     deployments=args.deployments, months=args.months, seed=args.seed)
    if args.quick:
        spec = spec.scaled(1 / 20)
    started = time.perf_counter()
    org = generate_at_scale(spec)
    generated = time.perf_counter() - started
    url = args.github_api_url.rstrip("/")
    scenario_path, config_path = org.write(args.out, github_api_url=url,
                                           heroku_api_url=f"{url}/heroku")
    counts = count_activity(org)
    log.info("%s", ", ".join(f"{k} {v:,}" for k, v in counts.items()))
    log.info("generated in %.1f s, written in %.1f s: %s (%.0f MiB) and %s", generated,
             time.perf_counter() - started - generated, scenario_path,
             scenario_path.stat().st_size / 2**20, config_path)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
