"""Seeded generator of realistic organisations in the scenario format (scenario-format.md).

`generate(OrgSpec(...))` returns the scenario as a JSON-ready dict plus the services it holds;
`generate_to_file` streams the same bytes repository by repository for big organisations, and
`GeneratedOrg.config_toml` writes the matching fourkeys.toml. The same spec always gives the
same bytes: every random draw comes from `random.Random` seeded by (seed, repository).

    python -m fakes.generator --repos 50 --prs 20000 --months 6 --seed 7 --out DIR
"""

from __future__ import annotations

import argparse
import json
import logging
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

from fakes.gen_common import (
    SERVICE_SUFFIXES,
    SERVICE_WORDS,
    TEAM_NAMES,
    WEEK,
    WorkClock,
    digest,
    epoch,
    iso,
    make_members,
    months_before,
)
from fakes.gen_config import config_toml
from fakes.gen_repo import RepoSim, ServiceCtx
from fourkeys.config import DEPLOYMENT_SOURCES

log = logging.getLogger(__name__)

# (tempo, chance a working day deploys, weight): elite, high, medium and low performers
_PROFILES = ((0.5, 0.9, 3), (1.0, 0.65, 4), (2.0, 0.3, 2), (3.5, 0.1, 1))
_OFFSETS = (-8, -5, 0, 0, 1, 1, 2, 5)
_DUMPS = json.JSONEncoder(separators=(",", ":")).encode


@dataclass
class OrgSpec:
    org: str = "acme"
    teams: int = 4
    services_per_team: int = 3  # each service = one repository here (monorepos come later)
    months: int = 6
    prs_per_service_per_week: float = 8.0
    seed: int = 7
    now: datetime = datetime(2026, 3, 1, tzinfo=UTC)
    # the mix of deployment sources, assigned to services in turn
    deployment_sources: tuple[str, ...] = DEPLOYMENT_SOURCES
    incident_rate: float = 0.06  # P(a production deployment causes an incident)
    revert_rate: float = 0.02  # P(a merged PR is reverted by a later PR)
    hotfix_rate: float = 0.04  # P(a production deployment is followed by a hotfix PR)
    rollback_rate: float = 0.02  # P(a production deployment is rolled back)
    direct_commit_rate: float = 0.05  # commits pushed to main without a PR, per PR
    merge_strategies: dict[str, float] = field(
        default_factory=lambda: {"squash": 0.6, "merge": 0.25, "rebase": 0.15}
    )
    total_services: int | None = None  # cap on services (the last team gets fewer)
    pagerduty_services: int = 2  # services whose incidents also page through PagerDuty


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    team: str
    repository: str
    deployment_source: str
    branch: str = "main"
    environment: str | None = None  # github_deployments
    workflow: str | None = None  # workflow_runs
    heroku_app: str | None = None  # heroku_releases
    pagerduty_service_id: str | None = None


@dataclass
class GeneratedOrg:
    scenario: dict[str, Any]
    services: list[ServiceSpec]
    spec: OrgSpec | None = None

    def write(
        self,
        directory: Path,
        *,
        github_api_url: str = "http://127.0.0.1:8765",
        heroku_api_url: str = "http://127.0.0.1:8765/heroku",
        warehouse_path: str | None = None,
        pagerduty_api_url: str | None = None,
    ) -> tuple[Path, Path]:
        """Write scenario.json and a fourkeys.toml that points at a local fake API."""
        directory = Path(directory)
        directory.mkdir(parents=True, exist_ok=True)
        scenario_path = directory / "scenario.json"
        scenario_path.write_text(_DUMPS(self.scenario) + "\n", encoding="utf-8")
        config_path = directory / "fourkeys.toml"
        config_path.write_text(
            self.config_toml(
                github_api_url=github_api_url,
                heroku_api_url=heroku_api_url,
                warehouse_path=warehouse_path or str(directory / "fourkeys.duckdb"),
                pagerduty_api_url=pagerduty_api_url,
            ),
            encoding="utf-8",
        )
        return scenario_path, config_path

    def config_toml(
        self,
        *,
        github_api_url: str,
        heroku_api_url: str,
        warehouse_path: str,
        token_env: str = "GITHUB_TOKEN",
        heroku_token_env: str = "HEROKU_API_KEY",
        pagerduty_api_url: str | None = None,
        pagerduty_token_env: str = "PAGERDUTY_TOKEN",
    ) -> str:
        return config_toml(
            self.services,
            github_api_url=github_api_url,
            heroku_api_url=heroku_api_url,
            warehouse_path=warehouse_path,
            token_env=token_env,
            heroku_token_env=heroku_token_env,
            pagerduty_api_url=pagerduty_api_url,
            pagerduty_token_env=pagerduty_token_env,
        )


# --- planning ---------------------------------------------------------------------------------
@dataclass
class _Plan:
    services: list[ServiceSpec]
    contexts: list[ServiceCtx]


def plan(spec: OrgSpec) -> _Plan:
    """Teams, members and services: cheap, done before any repository is simulated."""
    if not spec.deployment_sources:
        raise ValueError("deployment_sources must name at least one source")
    rng = random.Random(f"{spec.seed}:{spec.org}:org")
    now = epoch(spec.now)
    start = epoch(months_before(spec.now, spec.months))
    total = spec.teams * spec.services_per_team
    if spec.total_services is not None:
        total = min(total, spec.total_services)
    team_words = list(TEAM_NAMES)
    rng.shuffle(team_words)
    words = [f"{w}-{s}" for w in SERVICE_WORDS for s in SERVICE_SUFFIXES]
    rng.shuffle(words)
    used_logins: set[str] = set()
    services: list[ServiceSpec] = []
    contexts: list[ServiceCtx] = []
    for t in range(spec.teams):
        if len(services) >= total:
            break
        base = team_words[t % len(team_words)]
        team = base if t < len(team_words) else f"{base}-{t // len(team_words) + 1}"
        members = make_members(rng, rng.randint(3, 8), used_logins, spec.org)
        tempo, day_p, _ = rng.choices(_PROFILES, [p[2] for p in _PROFILES])[0]
        offset = rng.choice(_OFFSETS)
        for _ in range(spec.services_per_team):
            k = len(services)
            if k >= total:
                break
            word = words[k % len(words)]
            name = word if k < len(words) else f"{word}-{k // len(words) + 1}"
            source = spec.deployment_sources[k % len(spec.deployment_sources)]
            pd_id = None
            if k < spec.pagerduty_services:
                pd_id = "P" + digest(spec.seed, "pd-service", name)[:6].upper()
            service = ServiceSpec(
                name=name,
                team=team,
                repository=f"{spec.org}/{name}",
                deployment_source=source,
                environment="production" if source == "github_deployments" else None,
                workflow="deploy.yml" if source == "workflow_runs" else None,
                heroku_app=f"{name}-prod" if source == "heroku_releases" else None,
                pagerduty_service_id=pd_id,
            )
            services.append(service)
            # each service has its own clock rng so repositories never share random state
            service_clock = WorkClock(offset, random.Random(f"{spec.seed}:{name}:clock"))
            contexts.append(
                ServiceCtx(
                    spec=spec,
                    service=service,
                    index=k,
                    members=members,
                    clock=service_clock,
                    tempo=tempo * rng.uniform(0.8, 1.25),
                    deploy_day_p=day_p,
                    activity=rng.uniform(0.5, 1.5),
                    start=start,
                    now=now,
                )
            )
    return _Plan(services, contexts)


# --- generation -------------------------------------------------------------------------------
@dataclass
class _Tail:
    heroku_apps: list[dict[str, Any]] = field(default_factory=list)
    pages: list[tuple[int, str, dict[str, Any]]] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, sim: RepoSim, repo: dict[str, Any]) -> None:
        if sim.source.heroku_app is not None:
            self.heroku_apps.append(sim.source.heroku_app)
        service_id = sim.ctx.service.pagerduty_service_id or ""
        self.pages.extend((t, service_id, page) for t, page in sim.failures.pd)
        for key in (
            "commits",
            "pull_requests",
            "deployments",
            "workflow_runs",
            "releases",
            "issues",
        ):
            self.counts[key] = self.counts.get(key, 0) + len(repo[key])
        self.counts["repositories"] = self.counts.get("repositories", 0) + 1

    def pagerduty(self, spec: OrgSpec, services: list[ServiceSpec]) -> dict[str, Any]:
        incidents = []
        for n, (_, _, page) in enumerate(sorted(self.pages, key=lambda p: (p[0], p[1])), 1):
            incident_id = "Q" + digest(spec.seed, "pd-incident", n)[:13].upper()
            incidents.append({"id": incident_id, "incident_number": n, **page})
        pd_services = [
            {"id": s.pagerduty_service_id, "name": s.name}
            for s in services
            if s.pagerduty_service_id
        ]
        return {"services": pd_services, "incidents": incidents}


def _repositories(planned: _Plan, tail: _Tail) -> Iterator[dict[str, Any]]:
    for ctx in planned.contexts:
        sim = RepoSim(ctx)
        repo = sim.run()
        tail.add(sim, repo)
        yield repo


def generate(spec: OrgSpec) -> GeneratedOrg:
    planned = plan(spec)
    tail = _Tail()
    repositories = list(_repositories(planned, tail))
    scenario = {
        "format": 1,
        "now": iso(epoch(spec.now)),
        "repositories": repositories,
        "heroku_apps": tail.heroku_apps,
        "pagerduty": tail.pagerduty(spec, planned.services),
    }
    return GeneratedOrg(scenario=scenario, services=planned.services, spec=spec)


def generate_to_file(spec: OrgSpec, path: Path) -> Path:
    """Write the scenario of `spec` to `path` one repository at a time (same bytes as
    `generate(spec).write`), so memory holds one repository, not the organisation."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    planned = plan(spec)
    tail = _Tail()
    with path.open("w", encoding="utf-8") as fh:
        _stream(fh, spec, planned, tail)
    log.info("wrote %s: %s", path, ", ".join(f"{v} {k}" for k, v in tail.counts.items()))
    return path


def _stream(fh: IO[str], spec: OrgSpec, planned: _Plan, tail: _Tail) -> None:
    fh.write('{"format":1,"now":' + _DUMPS(iso(epoch(spec.now))) + ',"repositories":[')
    for i, repo in enumerate(_repositories(planned, tail)):
        if i:
            fh.write(",")
        fh.write(_DUMPS(repo))
    fh.write('],"heroku_apps":' + _DUMPS(tail.heroku_apps))
    fh.write(',"pagerduty":' + _DUMPS(tail.pagerduty(spec, planned.services)) + "}\n")


# --- command line -----------------------------------------------------------------------------
def spec_for(repos: int, prs: int | None, months: int, seed: int) -> OrgSpec:
    """An OrgSpec sized from target totals: `repos` services (3 a team), about `prs` PRs."""
    base = OrgSpec(months=months, seed=seed)
    per_team = base.services_per_team
    weeks = (epoch(base.now) - epoch(months_before(base.now, months))) / WEEK
    rate = base.prs_per_service_per_week if prs is None else prs / (repos * weeks)
    return OrgSpec(
        teams=math.ceil(repos / per_team),
        services_per_team=per_team,
        months=months,
        prs_per_service_per_week=rate,
        seed=seed,
        total_services=repos,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m fakes.generator", description=__doc__)
    parser.add_argument("--repos", type=int, default=12, help="services (one repository each)")
    parser.add_argument("--prs", type=int, default=None, help="about this many PRs in all")
    parser.add_argument("--months", type=int, default=6)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--out", type=Path, required=True, help="directory for the two files")
    parser.add_argument("--github-api-url", default="http://127.0.0.1:8765")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    spec = spec_for(args.repos, args.prs, args.months, args.seed)
    started = time.perf_counter()
    scenario_path = generate_to_file(spec, args.out / "scenario.json")
    config_path = args.out / "fourkeys.toml"
    config_path.write_text(
        config_toml(
            plan(spec).services,
            github_api_url=args.github_api_url,
            heroku_api_url=args.github_api_url.rstrip("/") + "/heroku",
            warehouse_path=str(args.out / "fourkeys.duckdb"),
        ),
        encoding="utf-8",
    )
    log.info("%s and %s in %.1f s", scenario_path, config_path, time.perf_counter() - started)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
