"""A synthetic published file at dashboard scale, for bench/dashboard.py.

The schema is copied from a real one: a tiny generated organisation is served by the fake API
and run through `fourkeys run` (extract → dbt → publish), and every table of the synthetic file
is created `as select * from <that file>.<table> limit 0` before rows are inserted by name, so
column names and types are those of `fourkeys run` by construction.

The facts (fct_deployments, fct_changes, fct_incidents) and dim_services are synthesised with
DuckDB SQL from a seeded per-service plan (40 teams, 400 services, 2 years, four performer
profiles as in fakes.generator); every draw is a hash of (seed, row key, purpose), so the same
spec gives the same rows. The aggregates (dim_teams, metrics_daily, metrics_weekly,
dora_summary) are built from those facts by the project's own dbt models (`dbt seed` + `dbt run
--select`), so they are consistent with the facts exactly as a real build is. `_runs`,
`_watermarks` and `_raw_tables` are plausible bookkeeping of 60 daily runs.
"""

from __future__ import annotations

import json
import logging
import os
import random
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

ROOT = Path(__file__).resolve().parents[1]
log = logging.getLogger("bench.dashboard")

DUMMY_TOKEN = "bench-dummy-token-the-fake-accepts-any"
DUMMY_HEROKU = "heroku-bench-dummy-0123456789abcdef"
SOURCES = ("github_deployments", "workflow_runs", "releases", "merged_pull_requests",
           "heroku_releases")
# profile: (weight, deployments per working day, changes per deployment, CFR, tempo): tempo
# scales the lead-time parts (elite teams code, review and ship faster)
PROFILES: dict[str, tuple[int, float, float, float, float]] = {
    "elite": (3, 2.2, 5.0, 0.04, 0.5),
    "high": (4, 0.6, 9.0, 0.09, 1.0),
    "medium": (2, 0.18, 15.0, 0.16, 2.0),
    "low": (1, 0.05, 24.0, 0.28, 3.5),
}
TITLES = ("Fix flaky retry in {w} client", "Add pagination to {w} endpoint",
          "Bump dependency versions", "Refactor {w} handler", "Rename queue consumer",
          "Speed up {w} query", "Add metrics for {w}", "Fix timezone bug in {w} report",
          "Remove dead code", "Hotfix: {w} returning 500s", "Update {w} schema",
          "WIP", "Log request ids", "Tune connection pool")
AUTHORS = ("alice", "bo-chen", "carmen", "dmitri", "elif", "farid", "grace", "hiro", "ines",
           "jonas", "kemal", "lea", "mateo", "noor-larsen", "olu", "priya", "quinn", "rafael",
           "sofia", "tomas", "uma", "viktor", "wen", "yara")


@dataclass(frozen=True)
class DashboardSpec:
    teams: int = 40
    services: int = 400
    days: int = 730
    deployments: int = 130_000  # targets: the plan scales every service's rate to reach them
    changes: int = 1_200_000
    seed: int = 7
    as_of: date = date(2026, 11, 30)  # dora_summary's window end (exclusive); data ends before

    def key(self) -> str:
        fields = asdict(self) | {"as_of": self.as_of.isoformat()}
        return "-".join(f"{v}" for v in fields.values())


@dataclass(frozen=True)
class PlannedService:
    service: str
    team: str
    source: str
    profile: str
    first_day: int  # days after the start when the service began deploying
    n_deploy: int
    mean_changes: float
    cfr: float
    tempo: float


def _names(rng: random.Random, spec: DashboardSpec) -> tuple[list[str], list[str]]:
    from fakes.gen_common import SERVICE_SUFFIXES, SERVICE_WORDS, TEAM_NAMES

    flavours = ("", "-core", "-edge", "-labs", "-infra")
    teams = [f"{TEAM_NAMES[i % len(TEAM_NAMES)]}{flavours[i // len(TEAM_NAMES) % 5]}"
             for i in range(spec.teams)]
    services: list[str] = []
    seen: set[str] = set()
    while len(services) < spec.services:
        name = f"{rng.choice(SERVICE_WORDS)}-{rng.choice(SERVICE_SUFFIXES)}"
        if name in seen:
            name = f"{name}-{len(services)}"
        seen.add(name)
        services.append(name)
    return teams, services


def plan_services(spec: DashboardSpec) -> list[PlannedService]:
    """Who deploys how often: profiles weighted as in fakes.generator, rates scaled to the
    spec's deployment and change totals."""
    rng = random.Random(spec.seed)
    teams, names = _names(rng, spec)
    profiles = [p for p, (w, *_rest) in PROFILES.items() for _ in range(w)]
    rows: list[dict[str, Any]] = []
    for i, name in enumerate(names):
        profile = rng.choice(profiles)
        _, rate, changes, cfr, tempo = PROFILES[profile]
        # most services deploy for the whole period; some start later (a new service)
        first_day = 0 if rng.random() < 0.75 else rng.randrange(0, spec.days - 60)
        working_days = (spec.days - first_day) * 5 / 7
        rows.append({"service": name, "team": teams[i] if i < len(teams) else rng.choice(teams),
                     "source": SOURCES[i % len(SOURCES)], "profile": profile,
                     "first_day": first_day,
                     "weight": rate * working_days * rng.lognormvariate(0, 0.4),
                     "mean_changes": changes * rng.lognormvariate(0, 0.25),
                     "cfr": min(0.6, cfr * rng.lognormvariate(0, 0.35)), "tempo": tempo})
    total = sum(r["weight"] for r in rows)
    for r in rows:
        r["n_deploy"] = max(3, round(spec.deployments * r["weight"] / total))
    # expected changes per deployment is ~mean (see the change_count draw); scale to the target
    expected = sum(r["n_deploy"] * r["mean_changes"] for r in rows)
    scale = spec.changes / 0.985 / expected  # ~1.5% of deployments ship nothing
    return [PlannedService(service=r["service"], team=r["team"], source=r["source"],
                           profile=r["profile"], first_day=r["first_day"],
                           n_deploy=r["n_deploy"], mean_changes=r["mean_changes"] * scale,
                           cfr=r["cfr"], tempo=r["tempo"]) for r in rows]


# --- the reference file: a real `fourkeys run` on a tiny organisation ------------------------


def build_reference(directory: Path, as_of: date) -> Path:
    """A published file built by the real pipeline: its schema is the one we copy."""
    from fakes.generator import OrgSpec, generate
    from fakes.scenario import load_scenario
    from fakes.server import create_app, serve_in_thread
    from fourkeys.publish import published_path

    directory.mkdir(parents=True, exist_ok=True)
    now = datetime(as_of.year, as_of.month, as_of.day, tzinfo=UTC)
    org = generate(OrgSpec(teams=1, services_per_team=len(SOURCES), months=1, seed=3, now=now))
    with serve_in_thread(create_app(load_scenario(org.scenario))) as server:
        config = directory / "fourkeys.toml"
        config.write_text(org.config_toml(
            github_api_url=server.base_url, heroku_api_url=f"{server.base_url}/heroku",
            warehouse_path=str(directory / "fourkeys.duckdb")), encoding="utf-8")
        env = {**os.environ, "GITHUB_TOKEN": DUMMY_TOKEN, "HEROKU_API_KEY": DUMMY_HEROKU,
               "DO_NOT_TRACK": "1"}
        done = subprocess.run([sys.executable, "-m", "fourkeys.cli", "run", "--config",
                               str(config)], env=env, cwd=str(ROOT), capture_output=True,
                              text=True, check=False)
    if done.returncode != 0:
        raise SystemExit(f"reference `fourkeys run` failed:\n{done.stderr[-3000:]}")
    return published_path(directory / "fourkeys.duckdb")


# --- the facts ------------------------------------------------------------------------------

_MACROS = """
create or replace macro rnd(k, purpose) as
    ((hash(k || '|' || purpose || '|' || getvariable('seed')) % 4294967291) + 0.5)
    / 4294967291.0;
create or replace macro lognormal(k, purpose, median_seconds, sigma) as
    median_seconds * exp(sigma * sqrt(-2 * ln(rnd(k, purpose || 'a')))
                         * cos(2 * pi() * rnd(k, purpose || 'b')));
"""

_DEPLOYMENTS = """
create or replace temp table dep_draws as
with expanded as (
    select svc.*, unnest(range(svc.n_deploy)) as n from svc
),
keyed as (
    select *, service || '#' || n as k from expanded
),
placed as (
    select *,
        -- activity grows over the period: u' = 0.6 u + 0.4 sqrt(u)
        getvariable('start') + cast(first_day + floor(
            (0.6 * rnd(k, 'day') + 0.4 * sqrt(rnd(k, 'day')))
            * (getvariable('days') - first_day)) as integer) as raw_day
    from keyed
),
weekdays as (
    select *,
        case
            -- most weekend draws move to a working day of the week before
            when dayofweek(raw_day) = 6 and rnd(k, 'we') < 0.9
                then raw_day - 1 - cast(floor(rnd(k, 'wd') * 5) as integer)
            when dayofweek(raw_day) = 0 and rnd(k, 'we') < 0.9
                then raw_day - 2 - cast(floor(rnd(k, 'wd') * 5) as integer)
            else raw_day
        end as day
    from placed
)
select
    service, team, source, profile, tempo, cfr, mean_changes, k,
    cast(least(day, getvariable('last_day')) as timestamp)
        + to_seconds(cast(7 * 3600 + rnd(k, 'time') * 11 * 3600 as bigint)) as deployed_at
from weekdays;

create or replace temp table dep as
with ordered as (
    select *,
        row_number() over (partition by service order by deployed_at, k) as seq,
        lag(deployed_at) over (partition by service order by deployed_at, k) as previous_at
    from dep_draws
),
flagged as (
    select *,
        rnd(k, 'rollback') < 0.01 as is_rollback,
        rnd(k, 'offbranch') < 0.005 as is_off_branch,
        rnd(k, 'fail') < cfr as failed,
        rnd(k, 'cause') as cause_draw
    from ordered
)
select
    service || '/' || source || '/' || case source
        when 'github_deployments' then 10000000 + seq
        when 'workflow_runs' then 20000000 + seq
        when 'releases' then 30000000 + seq
        when 'merged_pull_requests' then seq
        else seq + 1 end as deployment_id,
    service, team, 'acme/' || service as repository,
    case when source = 'github_deployments' then 'production' end as environment,
    source,
    substr(sha256(service || '/deploy/' || k), 1, 40) as commit_sha,
    deployed_at, previous_at, tempo, mean_changes, k,
    case when is_rollback or is_off_branch then 0
         else cast(least(200, 1 + floor(-ln(rnd(k, 'changes')) * (mean_changes - 1) + 0.5))
                   as bigint) end as change_count,
    failed or is_rollback as is_failure,
    case
        when not (failed or is_rollback) then []::varchar[]
        when is_rollback then ['rollback']
        when cause_draw < 0.55 then ['incident']
        when cause_draw < 0.65 then ['incident', 'revert']
        when cause_draw < 0.92 then ['revert']
        else ['request_errors']
    end as failure_causes,
    is_rollback or rnd(k, 'remediation') < cfr * 0.7 as is_remediation,
    is_rollback,
    not is_off_branch as is_on_branch
from flagged;
"""

_INCIDENTS = """
create or replace temp table inc as
with caused as (
    select deployment_id as cause_deployment_id, service, team, tempo, deployed_at, k
    from dep where list_contains(failure_causes, 'incident')
),
stray as (  -- incidents no deployment is blamed for
    select null as cause_deployment_id, service, team, tempo,
        cast(getvariable('start') + cast(rnd(k, 'stray_day') * getvariable('days')
             as integer) as timestamp) + to_seconds(cast(rnd(k, 'stray_t') * 86400 as bigint))
            as deployed_at, k || '/stray' as k
    from dep where rnd(k, 'stray') < 0.012
),
both_kinds as (
    select * from caused union all select * from stray
),
timed as (
    select *,
        deployed_at + to_seconds(cast(300 + rnd(k, 'start') * 3 * 3600 as bigint))
            as started_at,
        cast(lognormal(k, 'restore', 5400 * tempo, 1.3) as bigint) as restore_draw,
        rnd(k, 'source') < 0.3 as is_pagerduty,
        row_number() over (order by deployed_at, k) as number
    from both_kinds
),
settled as (
    select *,
        started_at > cast(getvariable('last_day') as timestamp) - interval 2 day
            and rnd(k, 'open') < 0.3 as is_open
    from timed
)
select
    case when is_pagerduty then 'pagerduty' else 'github_issues' end as source,
    case when is_pagerduty then 'P' || upper(substr(md5(k), 1, 7))
         else repository_of(service) || '#' || (100000 + number) end as external_id,
    service, team,
    case when is_pagerduty then 'p' || (1 + cast(rnd(k, 'sev') * 3 as integer))
         else 'sev' || (1 + cast(rnd(k, 'sev') * 3 as integer)) end as severity,
    service || ' ' || ['returning errors after deploy', 'queue backlog growing',
                       'latency above SLO', 'failing health checks'][
        1 + cast(rnd(k, 'title') * 4 as integer)] as title,
    started_at,
    case when is_pagerduty then started_at + interval 2 minute end as detected_at,
    case when is_pagerduty and not is_open then started_at + to_seconds(restore_draw)
         end as mitigated_at,
    case when is_open then null
         when is_pagerduty then started_at + to_seconds(restore_draw) + interval 1 hour
         else started_at + to_seconds(restore_draw) end as resolved_at,
    case when not is_open then restore_draw end as restore_seconds,
    cause_deployment_id,
    case when cause_deployment_id is null then null
         when rnd(k, 'link') < 0.5 then 'cause_commit'
         when rnd(k, 'link') < 0.7 then 'deployment_id'
         else 'time_window' end as link_method,
    k
from settled;
"""

_CHANGES = """
create or replace temp table chg as
with expanded as (
    select deployment_id, service, team, repository, deployed_at, tempo,
        least(date_diff('second', coalesce(previous_at, deployed_at - interval 2 day),
                        deployed_at), 30 * 86400) as gap_seconds,
        unnest(range(change_count)) as j
    from dep where change_count > 0
),
drawn as (
    select *, deployment_id || '#' || j as k from expanded
),
parts as (
    select *,
        rnd(k, 'direct') < 0.12 as is_direct,
        rnd(k, 'unreviewed') < 0.15 as is_unreviewed,
        cast(60 + rnd(k, 'deploy') * gap_seconds as bigint) as deploy_s,
        cast(lognormal(k, 'review', 7200 * tempo, 1.2) as bigint) as review_s,
        cast(lognormal(k, 'pickup', 10800 * tempo, 1.3) as bigint) as pickup_s,
        cast(lognormal(k, 'coding', 14400 * tempo, 1.2) as bigint) as coding_s
    from drawn
),
undeployed as (  -- merged, waiting for the next deployment (~2% of the changes)
    select null as deployment_id, service, team, 'acme/' || service as repository,
        null::timestamp as deployed_at, tempo, 0 as gap_seconds, 0 as j,
        k || '/undeployed' as k, false as is_direct, rnd(k, 'unreviewed') < 0.15
            as is_unreviewed,
        cast(rnd(k, 'wait') * 10 * 86400 as bigint) as deploy_s,
        cast(lognormal(k, 'review', 7200 * tempo, 1.2) as bigint) as review_s,
        cast(lognormal(k, 'pickup', 10800 * tempo, 1.3) as bigint) as pickup_s,
        cast(lognormal(k, 'coding', 14400 * tempo, 1.2) as bigint) as coding_s
    from dep where rnd(k, 'undeployed') < 0.02 * mean_changes
),
all_parts as (
    select * from parts union all by name select * from undeployed
),
timed as (
    select *,
        coalesce(deployed_at, cast(getvariable('last_day') as timestamp) + interval 18 hour)
            - to_seconds(deploy_s) as merged_at
    from all_parts
),
shaped as (
    select *,
        case when not is_direct and not is_unreviewed then merged_at - to_seconds(review_s)
             end as first_review_at,
        case when is_direct then null
             when is_unreviewed then merged_at - to_seconds(review_s)
             else merged_at - to_seconds(review_s + pickup_s) end as opened_at
    from timed
),
started as (
    select *,
        case when is_direct then merged_at - to_seconds(coding_s)
             else opened_at - to_seconds(coding_s) end as first_commit_at
    from shaped
),
numbered as (
    select *,
        case when not is_direct then row_number() over (
            partition by service, is_direct order by merged_at, k) end as number
    from started
)
select
    case when is_direct then service || '/commit/' || substr(sha256(k), 1, 40)
         else service || '/pr/' || number end as change_id,
    service, team, repository,
    case when is_direct then 'commit' else 'pull_request' end as change_type,
    number as pull_request_number,
    substr(sha256(k), 1, 40) as commit_sha,
    case when rnd(k, 'bot') < 0.05 then 'dependabot'
         else getvariable('authors')[1 + cast(rnd(k, 'author') * len(getvariable('authors'))
                                              as integer)] end as author,
    replace(getvariable('titles')[1 + cast(rnd(k, 'title') * len(getvariable('titles'))
                                           as integer)], '{w}', split_part(service, '-', 1))
        as title,
    first_commit_at, opened_at, first_review_at,
    case when not is_direct then merged_at end as merged_at,
    deployed_at, deployment_id,
    date_diff('second', first_commit_at, deployed_at) as lead_time_seconds,
    case when not is_direct then date_diff('second', first_commit_at, opened_at)
         end as coding_seconds,
    date_diff('second', opened_at, first_review_at) as pickup_seconds,
    case when first_review_at is not null then date_diff('second', first_review_at, merged_at)
         end as review_seconds,
    case when not is_direct then date_diff('second', merged_at, deployed_at)
         end as deploy_seconds
from numbered;
"""

_FACTS = """
insert into main_marts.fct_incidents by name
select source || '/' || external_id as incident_id, source, external_id, service, team,
    severity, title,
    case when source = 'github_issues'
         then 'https://github.com/' || replace(external_id, '#', '/issues/')
         else 'https://acme.pagerduty.com/incidents/' || external_id end as url,
    started_at, detected_at, mitigated_at, resolved_at, restore_seconds,
    cause_deployment_id, link_method
from inc;

insert into main_marts.fct_deployments by name
with incident_recovery as (
    select cause_deployment_id, min(coalesce(mitigated_at, resolved_at)) as restored_at
    from inc where cause_deployment_id is not null group by cause_deployment_id
),
recovered as (
    select dep.*,
        case when not is_failure then null
             when list_contains(failure_causes, 'incident') then incident_recovery.restored_at
             when deployed_at > cast(getvariable('last_day') as timestamp)
                  and rnd(k, 'unrecovered') < 0.5 then null
             else deployed_at + to_seconds(cast(lognormal(k, 'recover', 3600 * tempo, 1.1)
                                               as bigint)) end as recovered_at
    from dep
    left join incident_recovery on incident_recovery.cause_deployment_id = dep.deployment_id
)
select deployment_id, service, team, repository, environment, source, commit_sha, deployed_at,
    change_count, is_failure, failure_causes, is_remediation, is_rollback, is_on_branch,
    recovered_at,
    case when recovered_at >= deployed_at then date_diff('second', deployed_at, recovered_at)
         end as recovery_seconds
from recovered;

insert into main_marts.fct_changes by name select * from chg;

insert into main_marts.dim_services by name
with activity as (
    select service, count(*) as deployment_count, min(deployed_at) as first_deployed_at,
        max(deployed_at) as last_deployed_at
    from main_marts.fct_deployments group by service
)
select svc.service, svc.team, 'acme/' || svc.service as repository, 'main' as branch,
    svc.source as deployment_source,
    case when svc.source = 'github_deployments' then 'production' end as environment,
    case when svc.source = 'workflow_runs' then 'deploy.yml' end as workflow,
    case when svc.source = 'heroku_releases' then svc.service || '-prod' end as heroku_app,
    coalesce(activity.deployment_count, 0) as deployment_count,
    activity.first_deployed_at, activity.last_deployed_at
from svc left join activity on activity.service = svc.service;
"""


def synthesise_facts(con: duckdb.DuckDBPyConnection, spec: DashboardSpec,
                     services: list[PlannedService]) -> None:
    start = spec.as_of - timedelta(days=spec.days)
    con.execute("set variable seed = ?", [str(spec.seed)])
    con.execute("set variable start = ?", [start])
    con.execute("set variable days = ?", [spec.days])
    con.execute("set variable last_day = ?", [spec.as_of - timedelta(days=1)])
    con.execute("set variable authors = ?", [list(AUTHORS)])
    con.execute("set variable titles = ?", [list(TITLES)])
    con.execute(_MACROS)
    con.execute("create or replace macro repository_of(s) as 'acme/' || s")
    con.execute("create or replace temp table svc (service varchar, team varchar, "
                "source varchar, profile varchar, first_day integer, n_deploy integer, "
                "mean_changes double, cfr double, tempo double)")
    con.executemany("insert into svc values (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    [[s.service, s.team, s.source, s.profile, s.first_day, s.n_deploy,
                      s.mean_changes, s.cfr, s.tempo] for s in services])
    for label, sql in (("deployments", _DEPLOYMENTS), ("incidents", _INCIDENTS),
                       ("changes", _CHANGES), ("marts", _FACTS)):
        started = time.perf_counter()
        con.execute(sql)
        log.info("synthesised %s in %.1fs", label, time.perf_counter() - started)


# --- bookkeeping: _runs, _watermarks, _raw_tables --------------------------------------------

_RUNS = """
insert into published.main._runs by name
with days as (
    select cast(getvariable('as_of') as date) - cast(n as integer) as day, n
    from range(60) as t(n)
),
extracts as (
    select md5('extract' || day) as run_id, 'extract' as command,
        cast(day as timestamptz) + interval 5 hour as started_at,
        cast(day as timestamptz) + interval 5 hour + to_seconds(40 + n % 7 * 9) as ended_at,
        'success' as status, cast(9000 + n * 37 % 4000 as bigint) as rows_loaded,
        cast(420 + n % 5 * 11 as bigint) as requests,
        cast(1600 + n % 9 * 20 as bigint) as graphql_points,
        json_object('raw_github_pull_requests', 1800 + n % 11 * 40,
                    'raw_github_commits', 3600 + n % 13 * 70) as counts,
        null as message, day, n
    from days
),
transforms as (
    select md5('transform' || day), 'transform', ended_at + interval 5 second,
        ended_at + interval 5 second + to_seconds(70 + n % 5 * 6),
        case when n = 17 then 'failed' else 'success' end, 0, 0, 0,
        json_object('models', 43, 'tests', 156, 'failures', (n = 17)::int,
                    'full_refresh', false, 'config_fingerprint', '5ca1ab1e0ddba11'),
        case when n = 17 then 'test not_null_columns_fct_changes: 1 failing row' end, day, n
    from extracts
)
select * exclude (day, n) from extracts union all select * exclude (day, n) from transforms;
"""

_WATERMARKS = """
insert into published.main._watermarks by name
with last_run as (
    select max(ended_at) as at from published.main._runs where command = 'extract'
),
activity as (
    select service, max(deployed_at) as last_deployed_at
    from main_marts.fct_deployments group by service
),
streams as (
    select 'github' as source, 'acme/' || s.service as partition, stream,
        case when stream in ('commits', 'pull_requests')
             then strftime(activity.last_deployed_at, '%Y-%m-%dT%H:%M:%SZ') end as value
    from main_marts.dim_services as s
    left join activity on activity.service = s.service
    cross join unnest(['commits', 'pull_requests', 'releases', 'tags', 'issues']) as t(stream)
    union all
    select 'github', 'acme/' || service,
        case deployment_source when 'github_deployments' then 'deployments'
             else 'workflow_runs:' || workflow end, null
    from main_marts.dim_services where deployment_source in ('github_deployments',
                                                             'workflow_runs')
    union all
    select 'heroku', heroku_app, 'releases', null
    from main_marts.dim_services where heroku_app is not null
)
select source, partition, stream, value, null as etag, last_run.at as updated_at
from streams cross join last_run;
"""


def write_bookkeeping(con: duckdb.DuckDBPyConnection, as_of: date) -> None:
    con.execute("set variable as_of = ?", [as_of])
    con.execute(_RUNS)
    con.execute(_WATERMARKS)
    counts: dict[str, int] = dict(con.execute("""
        select 'prs', count(*) filter (where change_type = 'pull_request') from
            main_marts.fct_changes
        union all select 'changes', count(*) from main_marts.fct_changes
        union all select 'deployments', count(*) from main_marts.fct_deployments
        union all select 'services', count(*) from main_marts.dim_services
        union all select 'incidents', count(*) from main_marts.fct_incidents
    """).fetchall())
    tables = [r[0] for r in con.execute(
        "select table_name from reference.main._raw_tables order by 1").fetchall()]
    # plausible raw row counts: commits ~2.3 per change, reviews ~1.3 per PR, ...
    per: dict[str, float] = {
        "raw_github_commits": counts["changes"] * 2.3,
        "raw_github_pull_requests": counts["prs"],
        "raw_github_pull_request_commits": counts["prs"] * 2.6,
        "raw_github_pull_request_reviews": counts["prs"] * 1.3,
        "raw_github_pull_request_comments": counts["prs"] * 0.7,
        "raw_github_repositories": counts["services"],
        "raw_github_issues": counts["incidents"] * 1.4,
        "raw_github_deployments": counts["deployments"] * 0.2,
        "raw_github_deployment_statuses": counts["deployments"] * 0.8,
        "raw_github_workflow_runs": counts["deployments"] * 0.5,
        "raw_github_releases": counts["deployments"] * 0.2,
        "raw_github_tags": counts["deployments"] * 0.25,
        "raw_heroku_releases": counts["deployments"] * 0.2,
    }
    con.executemany(
        "insert into published.main._raw_tables by name select ? as table_name, "
        "? as row_count, (select max(ended_at) from published.main._runs "
        "where command = 'extract') as last_extracted_at",
        [[name, round(per.get(name, float(counts["services"])))] for name in tables])


# --- the aggregates, by the project's dbt models ----------------------------------------------

AGGREGATES = ("dim_teams", "metrics_daily", "metrics_weekly", "dora_summary")


def build_aggregates(warehouse: Path, as_of: date) -> None:
    from fourkeys.transform import PROJECT_DIR, run_dbt

    work = warehouse.parent / "dbt"
    common = ["--project-dir", str(PROJECT_DIR), "--profiles-dir", str(PROJECT_DIR),
              "--target", "duckdb", "--vars",
              json.dumps({"as_of": as_of.isoformat(), "dora_year": 2024}),
              "--target-path", str(work / "target"), "--log-path", str(work / "logs")]
    for command, select in (("seed", ["dora_bands"]), ("run", list(AGGREGATES))):
        started = time.perf_counter()
        result = run_dbt([command, *common, "--select", *select], warehouse)
        if not result.success:
            raise SystemExit(f"dbt {command} failed; see {work / 'logs' / 'dbt.log'}")
        log.info("dbt %s %s in %.1fs", command, " ".join(select), time.perf_counter() - started)


def synthesise(target: Path, spec: DashboardSpec, work: Path) -> dict[str, Any]:
    """Write the synthetic published file to `target` (atomically) and return its counts."""
    from fourkeys.publish import MARTS

    started = time.perf_counter()
    reference = work / "reference" / "fourkeys.published.duckdb"
    if not reference.is_file():
        log.info("building the reference published file with `fourkeys run` (tiny org)")
        reference = build_reference(reference.parent, spec.as_of)
    build = work / "build"
    build.mkdir(parents=True, exist_ok=True)
    warehouse = build / "fourkeys.duckdb"  # dbt's catalog is named after the file
    warehouse.unlink(missing_ok=True)
    services = plan_services(spec)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"attach '{reference}' as reference (read_only)")
        con.execute("create schema main_marts")
        for name in ("fct_deployments", "fct_changes", "fct_incidents", "dim_services"):
            con.execute(f"create table main_marts.{name} as "
                        f"select * from reference.main.{name} limit 0")
        synthesise_facts(con, spec, services)
    finally:
        con.close()
    build_aggregates(warehouse, spec.as_of)
    temporary = target.with_name(f".{target.name}.tmp")
    temporary.unlink(missing_ok=True)
    con = duckdb.connect(str(warehouse))
    try:
        con.execute(f"attach '{reference}' as reference (read_only)")
        con.execute(f"attach '{temporary}' as published")
        names = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_catalog = "
            "'reference' order by 1").fetchall()]
        for name in names:
            con.execute(f"create table published.main.{name} as "
                        f"select * from reference.main.{name} limit 0")
            if name in MARTS:
                con.execute(f"insert into published.main.{name} by name "
                            f"select * from main_marts.{name}")
        write_bookkeeping(con, spec.as_of)
        counts = {name: int(scalar(con, f"select count(*) from published.main.{name}"))
                  for name in names}
        check_consistency(con)
        con.execute("detach published")
    finally:
        con.close()
    os.replace(temporary, target)
    log.info("synthetic published file %s in %.1fs", target, time.perf_counter() - started)
    return {"counts": counts, "seconds": time.perf_counter() - started,
            "profiles": {p: sum(1 for s in services if s.profile == p) for p in PROFILES}}


def check_consistency(con: duckdb.DuckDBPyConnection) -> None:
    """The aggregates add up to the facts; every change a deployment shipped is counted."""
    checks = {
        "weekly deployments = fct_deployments": """
            select (select sum(deployments) from published.main.metrics_weekly
                    where grain = 'organisation')
                 = (select count(*) from published.main.fct_deployments)""",
        "daily changes = deployed fct_changes": """
            select (select sum(changes) from published.main.metrics_daily
                    where grain = 'organisation')
                 = (select count(deployed_at) from published.main.fct_changes)""",
        "change_count = changes per deployment": """
            select (select sum(change_count) from published.main.fct_deployments)
                 = (select count(deployment_id) from published.main.fct_changes)""",
        "unique change ids": """
            select count(distinct change_id) = count(*) from published.main.fct_changes""",
        "unique deployment ids": """
            select count(distinct deployment_id) = count(*)
            from published.main.fct_deployments""",
        "lead time parts add up": """
            select count(*) = 0 from published.main.fct_changes
            where change_type = 'pull_request' and deployed_at is not null
              and coding_seconds + coalesce(pickup_seconds + review_seconds,
                  date_diff('second', opened_at, merged_at)) + deploy_seconds
                  <> lead_time_seconds""",
    }
    failed = [name for name, sql in checks.items() if not scalar(con, sql)]
    if failed:
        raise SystemExit("synthetic marts inconsistent: " + "; ".join(failed))


def scalar(con: duckdb.DuckDBPyConnection, sql: str) -> Any:
    row = con.execute(sql).fetchone()
    return row[0] if row else None
