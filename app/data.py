"""The only module of the app that runs SQL: the published marts, read-only, cached.

`fourkeys run` replaces the published file with `os.replace` while the dashboard runs. Every
query first looks at the file's identity (inode, mtime_ns, size): the connection and the cached
results are keyed on it, so a replaced file is re-opened on the next query and no result of the
old file is served for it. The file is ATTACHed read-only into a private in-memory DuckDB
instance rather than opened with `duckdb.connect(path)`: DuckDB reuses an open instance for the
same path, which would keep serving the old (replaced) file while anything still holds it.

On a BigQuery warehouse (FOURKEYS_BQ_PUBLISHED_* set by `fourkeys dashboard`) the file is a local
DuckDB snapshot of the published dataset, one per transform run (app/bigquery_snapshot.py); the
same identity keying picks up a new snapshot, and all the SQL below stays DuckDB SQL.

Window metrics are computed here from the fact tables for any date range, with the rules of
`dora_summary` (same samples, medians and Wilson interval); bands are assigned by `app.bands`.
Every value reaches DuckDB as a `?` parameter; SQL text is composed only from constant
fragments (column lists, the fixed table names of the health counts), never from input.
It is longer than our usual module on purpose: it is the one module that holds SQL.
"""

from __future__ import annotations

import logging
import os
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any, Literal, NamedTuple

import duckdb
import pandas as pd
import streamlit as st

from app import bigquery_snapshot

log = logging.getLogger(__name__)

ENV_PUBLISHED = "FOURKEYS_PUBLISHED"
ENV_GITHUB_WEB = "FOURKEYS_GITHUB_WEB_URL"
DEFAULT_GITHUB_WEB = "https://github.com"
WILSON_Z = 1.959964  # as the dbt macro wilson_bound
DRILL_LIMIT = 500

Grain = Literal["organisation", "team", "service"]
DrillKind = Literal["deployments", "failed", "remediations", "changes", "undeployed",
                    "incidents"]
REQUIRED_TABLES = ("dim_services", "fct_deployments", "fct_changes", "fct_incidents",
                   "metrics_weekly", "dora_summary")


class FileIdentity(NamedTuple):
    path: str
    inode: int
    mtime_ns: int
    size: int


class DataUnavailable(Exception):
    """The published file vanished or is not a fourkeys published file; the UI says what to do."""


class SourceUnavailable(DataUnavailable):
    """BigQuery could not be asked for the published marts (or they could not be copied); the
    message is one line that ends with the fix."""


@dataclass(frozen=True)
class Window:
    """[start, end) in UTC days; the UI shows end − 1 day as the inclusive last day."""

    start: date
    end: date

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    @property
    def previous(self) -> Window:
        return Window(self.start - timedelta(days=self.days), self.start)

    @property
    def blocks(self) -> int:
        """7-day blocks counted from the start (a partial last block counts) for the DF median."""
        return max(1, -(-self.days // 7))


@dataclass(frozen=True)
class WarehouseState:
    kind: Literal["unset", "missing", "unreadable", "unreachable", "empty", "single", "ready"]
    path: str | None
    detail: str = ""
    deployments: int = 0
    single: dict[str, Any] = field(default_factory=dict)


def published_path() -> Path | None:
    """FOURKEYS_PUBLISHED; on BigQuery the snapshot of the latest published run (None before the
    first publish; SourceUnavailable when BigQuery cannot be asked)."""
    if bigquery_snapshot.configured():
        try:
            return bigquery_snapshot.current_file()
        except bigquery_snapshot.SnapshotError as exc:
            raise SourceUnavailable(str(exc)) from None
    value = os.environ.get(ENV_PUBLISHED, "").strip()
    return Path(value).expanduser() if value else None


def published_label() -> str | None:
    """Where the published marts are, for the UI: the file, or the BigQuery dataset."""
    if bigquery_snapshot.configured():
        return bigquery_snapshot.label()
    value = os.environ.get(ENV_PUBLISHED, "").strip()
    return str(Path(value).expanduser()) if value else None


def github_web_url() -> str:
    return (os.environ.get(ENV_GITHUB_WEB, "").strip() or DEFAULT_GITHUB_WEB).rstrip("/")


def file_identity() -> FileIdentity | None:
    path = published_path()
    if path is None:
        return None
    try:
        stat = path.stat()
    except OSError:
        return None
    return FileIdentity(str(path.resolve()), stat.st_ino, stat.st_mtime_ns, stat.st_size)


@st.cache_resource(max_entries=2, show_spinner=False)
def _database(identity: FileIdentity) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(":memory:")
    con.execute("attach ? as published (read_only)", [identity.path])
    log.info("opened %s (inode %d)", identity.path, identity.inode)
    return con


@st.cache_data(max_entries=512, show_spinner=False)
def _cached_frame(identity: FileIdentity, sql: str, params: tuple[Any, ...]) -> pd.DataFrame:
    try:
        # one cursor per query: a DuckDB connection is not shared between threads (sessions)
        with _database(identity).cursor() as cur:
            cur.execute("use published")
            return cur.execute(sql, list(params)).df()
    except duckdb.Error as exc:
        raise DataUnavailable(
            f"{identity.path}: {str(exc).splitlines()[0]}") from None


def _frame(sql: str, params: tuple[Any, ...] = ()) -> pd.DataFrame:
    identity = file_identity()
    if identity is None:
        raise DataUnavailable(f"{published_label()}: the published marts are gone")
    return _cached_frame(identity, sql, params)


# --- state and filter options ----------------------------------------------------------------
def warehouse_state() -> WarehouseState:
    try:
        path = published_path()
    except SourceUnavailable as exc:
        return WarehouseState("unreachable", published_label(), str(exc))
    where = published_label()  # the file, or on BigQuery the dataset (not the local copy)
    if path is None:  # on BigQuery: no successful transform yet
        return WarehouseState("missing" if where else "unset", where)
    if file_identity() is None:
        return WarehouseState("missing", where)
    try:
        tables = set(_frame("select table_name from information_schema.tables "
                            "where table_catalog = 'published'")["table_name"])
        missing = [name for name in REQUIRED_TABLES if name not in tables]
        if missing:
            return WarehouseState("unreadable", where, f"missing tables: {', '.join(missing)}")
        first = _frame("select count(*) over () as deployments, deployment_id, service, team, "
                       "deployed_at from fct_deployments order by deployed_at limit 1")
    except SourceUnavailable as exc:
        return WarehouseState("unreachable", where, str(exc))
    except DataUnavailable as exc:
        return WarehouseState("unreadable", where, str(exc))
    if first.empty:
        return WarehouseState("empty", where)
    row = first.iloc[0].to_dict()
    count = int(row.pop("deployments"))
    return WarehouseState("single" if count == 1 else "ready", where, deployments=count,
                          single=row if count == 1 else {})


@dataclass(frozen=True)
class FilterOptions:
    teams: list[str]
    services: pd.DataFrame  # service, team
    first_day: date | None
    last_week_start: date | None
    summary_window: Window | None
    configured_year: int | None


def filter_options() -> FilterOptions:
    services = _frame("select service, team from dim_services order by team, service")
    bounds = _frame(
        "select (select min(cast(deployed_at as date)) from fct_deployments) as first_day, "
        "coalesce((select max(week_start) from metrics_weekly), (select cast(date_trunc("
        "'week', max(deployed_at)) as date) from fct_deployments)) as last_week_start")
    summary = _frame(
        "select min(window_start) as window_start, max(window_end) as window_end, "
        "max(dora_year) filter (where is_configured_year) as configured_year from dora_summary")
    first_day, last_week = (_as_date(bounds.at[0, c]) for c in ("first_day", "last_week_start"))
    start, end = (_as_date(summary.at[0, c]) for c in ("window_start", "window_end"))
    year = summary.at[0, "configured_year"]
    return FilterOptions(
        teams=sorted(services["team"].dropna().unique().tolist()),
        services=services,
        first_day=first_day,
        last_week_start=last_week,
        summary_window=Window(start, end) if start and end else None,
        configured_year=None if pd.isna(year) else int(year),
    )


def _as_date(value: Any) -> date | None:
    if value is None or pd.isna(value):
        return None
    return pd.Timestamp(value).date()


# --- window metrics --------------------------------------------------------------------------
_SCOPE = """
params as (
    select cast(? as date) as previous_start, cast(? as date) as start_day,
           cast(? as date) as end_day, cast(? as varchar) as grain,
           cast(? as varchar) as team_filter, cast(? as varchar) as service_filter
)"""


def _in_scope(alias: str) -> str:
    return (f"(p.team_filter is null or {alias}.team = p.team_filter) "
            f"and (p.service_filter is null or {alias}.service = p.service_filter)")


def _keys(alias: str) -> str:
    return (f"case when p.grain <> 'organisation' then {alias}.team end as team, "
            f"case when p.grain = 'service' then {alias}.service end as service")


def _period(column: str) -> str:
    return f"case when {column} >= p.start_day then 'current' else 'previous' end as period"


def _same_entity(left: str, right: str) -> str:
    return (f"{left}.period = {right}.period and {left}.team is not distinct from {right}.team "
            f"and {left}.service is not distinct from {right}.service")


_WINDOW_SQL = f"""
with {_SCOPE},
entities as (
    select distinct {_keys('s')}, w.period
    from dim_services as s
    cross join params as p
    cross join (values ('current'), ('previous')) as w(period)
    where {_in_scope('s')}
),
deployments as (
    select {_period('d.deployed_at')}, {_keys('d')},
        cast(d.deployed_at as date) as deployed_day, d.is_failure, d.is_remediation,
        case when d.deployed_at >= p.start_day then p.start_day else p.previous_start end
            as window_start
    from fct_deployments as d
    cross join params as p
    where d.deployed_at >= p.previous_start and d.deployed_at < p.end_day and {_in_scope('d')}
),
deployment_stats as (
    select period, team, service, count(*) as deployments,
        count(*) filter (where is_failure) as failed_deployments,
        count(*) filter (where is_remediation) as remediation_deployments
    from deployments
    group by all
),
block_days as (
    select period, team, service,
        cast(floor(datediff('day', window_start, deployed_day) / 7) as integer) as block,
        count(distinct deployed_day) as deploy_days
    from deployments
    group by all
),
week_stats as (
    select e.period, e.team, e.service,
        quantile_cont(coalesce(b.deploy_days, 0), 0.5) as median_deploy_days_per_week
    from entities as e
    cross join (select unnest(range(0, ?)) as block) as blocks
    left join block_days as b on {_same_entity('b', 'e')} and b.block = blocks.block
    group by all
),
changes as (
    select {_period('c.deployed_at')}, {_keys('c')}, c.lead_time_seconds
    from fct_changes as c
    cross join params as p
    where c.deployed_at >= p.previous_start and c.deployed_at < p.end_day
        and c.lead_time_seconds is not null and {_in_scope('c')}
),
change_stats as (
    select period, team, service, count(*) as lead_time_sample,
        quantile_cont(lead_time_seconds, 0.5) as median_lead_time_seconds,
        quantile_cont(lead_time_seconds, 0.9) as p90_lead_time_seconds
    from changes
    group by all
),
incidents as (
    select {_period('i.started_at')}, {_keys('i')}, i.restore_seconds
    from fct_incidents as i
    cross join params as p
    where i.started_at >= p.previous_start and i.started_at < p.end_day and {_in_scope('i')}
),
incident_stats as (
    select period, team, service, count(*) as incidents,
        count(restore_seconds) as time_to_restore_sample,
        quantile_cont(restore_seconds, 0.5) as median_restore_seconds
    from incidents
    group by all
),
final as (
    select e.period, e.team, e.service,
        coalesce(d.deployments, 0) as deployments,
        coalesce(d.deployments, 0) / ? as deployments_per_week,
        coalesce(w.median_deploy_days_per_week, 0) as median_deploy_days_per_week,
        coalesce(c.lead_time_sample, 0) as lead_time_sample,
        c.median_lead_time_seconds, c.p90_lead_time_seconds,
        coalesce(d.failed_deployments, 0) as failed_deployments,
        cast(d.failed_deployments as double) / nullif(d.deployments, 0) as change_failure_rate,
        coalesce(i.incidents, 0) as incidents,
        coalesce(i.time_to_restore_sample, 0) as time_to_restore_sample,
        i.median_restore_seconds,
        coalesce(d.remediation_deployments, 0) as remediation_deployments,
        cast(d.remediation_deployments as double) / nullif(d.deployments, 0) as rework_rate
    from entities as e
    left join deployment_stats as d on {_same_entity('d', 'e')}
    left join week_stats as w on {_same_entity('w', 'e')}
    left join change_stats as c on {_same_entity('c', 'e')}
    left join incident_stats as i on {_same_entity('i', 'e')}
)
select * from final
order by period, team nulls first, service nulls first
"""


def window_metrics(window: Window, grain: Grain = "organisation", team: str | None = None,
                   service: str | None = None) -> pd.DataFrame:
    """One row per entity of `grain` (in the team/service scope) and period ('current' for the
    window, 'previous' for the window of the same length before it), values as dora_summary."""
    params = (window.previous.start, window.start, window.end, grain, team, service,
              window.blocks, window.days / 7.0)
    frame = _frame(_WINDOW_SQL, params)
    low, high = wilson_interval(frame["failed_deployments"], frame["deployments"])
    frame["cfr_ci_low"], frame["cfr_ci_high"] = low, high
    return frame


def wilson_interval(failed: pd.Series, total: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Wilson score 95% interval, rounded to 6 decimals like the marts; NaN without a sample."""
    n = total.astype("float64").where(total > 0)
    p_hat = failed.astype("float64") / n
    z2 = WILSON_Z * WILSON_Z
    centre = p_hat + z2 / (2.0 * n)
    spread = WILSON_Z * ((p_hat * (1 - p_hat) / n + z2 / (4.0 * n * n)) ** 0.5)
    denominator = 1 + z2 / n
    return ((centre - spread) / denominator).round(6), ((centre + spread) / denominator).round(6)


def weekly_metrics(window: Window, grain: Grain, team: str | None = None,
                   service: str | None = None) -> pd.DataFrame:
    """metrics_weekly rows of one entity for the weeks that overlap the window."""
    return _frame(
        "select week_start, deployments, deploy_days, changes, median_lead_time_seconds, "
        "p90_lead_time_seconds, failed_deployments, change_failure_rate, cfr_ci_low, "
        "cfr_ci_high, incidents, median_restore_seconds, remediation_deployments, rework_rate "
        "from metrics_weekly where grain = ? and team is not distinct from ? "
        "and service is not distinct from ? and week_start > ? and week_start < ? "
        "order by week_start",
        (grain, team, service, window.start - timedelta(days=7), window.end))


# --- service detail --------------------------------------------------------------------------
def deployment_timeline(window: Window, team: str | None, service: str | None,
                        limit: int = 5000) -> pd.DataFrame:
    return _frame(
        f"with {_SCOPE} select d.deployed_at, d.service, d.deployment_id, d.change_count, "
        "d.is_failure, d.is_remediation, d.is_rollback, "
        "case when not d.is_failure then 'ok' when len(d.failure_causes) > 1 then 'several' "
        "else d.failure_causes[1] end as outcome, "
        "array_to_string(d.failure_causes, ', ') as failure_causes "
        f"from fct_deployments as d cross join params as p "
        f"where d.deployed_at >= p.start_day and d.deployed_at < p.end_day and {_in_scope('d')} "
        "order by d.deployed_at desc limit ?",
        (*_scope_params(window, team, service), limit))


def lead_time_breakdown(window: Window, team: str | None, service: str | None) -> pd.DataFrame:
    """Per week, the mean of each stage over pull requests with all four stages (so the stack
    adds up to their mean lead time); long form: week_start, stage, hours, changes."""
    return _frame(
        f"with {_SCOPE}, spans as ("
        "select cast(date_trunc('week', c.deployed_at) as date) as week_start, "
        "c.coding_seconds, c.pickup_seconds, c.review_seconds, c.deploy_seconds "
        "from fct_changes as c cross join params as p "
        "where c.deployed_at >= p.start_day and c.deployed_at < p.end_day "
        "and c.coding_seconds is not null and c.pickup_seconds is not null "
        f"and c.review_seconds is not null and c.deploy_seconds is not null "
        f"and {_in_scope('c')}), "
        "weekly as (select week_start, count(*) as changes, "
        "avg(coding_seconds) / 3600 as coding, avg(pickup_seconds) / 3600 as pickup, "
        "avg(review_seconds) / 3600 as review, avg(deploy_seconds) / 3600 as deploy "
        "from spans group by week_start) "
        "unpivot weekly on coding, pickup, review, deploy into name stage value hours "
        "order by week_start, stage",
        _scope_params(window, team, service))


def slowest_changes(window: Window, team: str | None, service: str | None,
                    limit: int = 20) -> pd.DataFrame:
    frame = _frame(
        f"with {_SCOPE} select c.change_id, c.service, c.repository, c.change_type, "
        "c.pull_request_number, c.commit_sha, c.title, c.author, c.deployed_at, "
        "c.lead_time_seconds, c.coding_seconds, c.pickup_seconds, c.review_seconds, "
        "c.deploy_seconds from fct_changes as c cross join params as p "
        "where c.deployed_at >= p.start_day and c.deployed_at < p.end_day "
        f"and c.lead_time_seconds is not null and {_in_scope('c')} "
        "order by c.lead_time_seconds desc, c.change_id limit ?",
        (*_scope_params(window, team, service), limit))
    return _with_change_links(frame)


def _scope_params(window: Window, team: str | None, service: str | None) -> tuple[Any, ...]:
    return (window.previous.start, window.start, window.end, "service", team, service)


# --- drill-down ------------------------------------------------------------------------------
_DRILL: dict[str, tuple[str, str, str]] = {
    # kind: (select list and source, extra condition, order)
    "deployments": ("d", "true", "d.deployed_at desc, d.deployment_id"),
    "failed": ("d", "d.is_failure", "d.deployed_at desc, d.deployment_id"),
    "remediations": ("d", "d.is_remediation", "d.deployed_at desc, d.deployment_id"),
    "changes": ("c", "c.deployed_at is not null", "c.deployed_at desc, c.change_id"),
    "undeployed": ("c", "c.deployed_at is null", "c.merged_at desc nulls last, c.change_id"),
    "incidents": ("i", "true", "i.started_at desc, i.incident_id"),
}
_DRILL_SOURCES = {
    "d": ("select d.deployment_id, d.deployed_at, d.team, d.service, d.repository, d.source, "
          "d.environment, d.commit_sha, d.change_count, d.is_failure, "
          "array_to_string(d.failure_causes, ', ') as failure_causes, d.is_remediation, "
          "d.is_rollback, d.recovered_at, d.recovery_seconds, count(*) over () as total_rows "
          "from fct_deployments as d cross join params as p "
          "where d.deployed_at >= p.start_day and d.deployed_at < p.end_day"),
    "c": ("select c.change_id, c.deployed_at, c.team, c.service, c.repository, c.change_type, "
          "c.pull_request_number, c.commit_sha, c.title, c.author, c.first_commit_at, "
          "c.opened_at, c.first_review_at, c.merged_at, c.deployment_id, c.lead_time_seconds, "
          "c.coding_seconds, c.pickup_seconds, c.review_seconds, c.deploy_seconds, "
          "count(*) over () as total_rows from fct_changes as c cross join params as p "
          "where ((c.deployed_at >= p.start_day and c.deployed_at < p.end_day) "
          "or (c.deployed_at is null and coalesce(c.merged_at, c.first_commit_at) < p.end_day))"),
    "i": ("select i.incident_id, i.started_at, i.team, i.service, i.source, i.severity, "
          "i.title, i.url, i.mitigated_at, i.resolved_at, i.restore_seconds, "
          "i.cause_deployment_id, i.link_method, count(*) over () as total_rows "
          "from fct_incidents as i cross join params as p "
          "where i.started_at >= p.start_day and i.started_at < p.end_day"),
}


def drill_rows(kind: DrillKind, window: Window, team: str | None, service: str | None,
               limit: int = DRILL_LIMIT) -> tuple[pd.DataFrame, int]:
    """The rows behind a number (newest first, at most `limit`) and how many there are.
    Undeployed changes are those merged (or committed) before the window's end."""
    alias, condition, order = _DRILL[kind]
    frame = _frame(
        f"with {_SCOPE} {_DRILL_SOURCES[alias]} and {condition} and {_in_scope(alias)} "
        f"order by {order} limit ?",
        (*_scope_params(window, team, service), limit))
    total = int(frame["total_rows"].iloc[0]) if not frame.empty else 0
    frame = frame.drop(columns="total_rows")
    if alias == "d":
        web = github_web_url()
        frame.insert(1, "commit_url", [
            f"{web}/{repo}/commit/{sha}" if repo and sha else None
            for repo, sha in zip(frame["repository"], frame["commit_sha"], strict=True)])
    elif alias == "c":
        frame = _with_change_links(frame)
    return frame, total


def _with_change_links(frame: pd.DataFrame) -> pd.DataFrame:
    web = github_web_url()
    links: list[str | None] = []
    for repo, number, sha in zip(frame["repository"], frame["pull_request_number"],
                                 frame["commit_sha"], strict=True):
        if repo and not pd.isna(number):
            links.append(f"{web}/{repo}/pull/{int(number)}")
        elif repo and sha:
            links.append(f"{web}/{repo}/commit/{sha}")
        else:
            links.append(None)
    frame.insert(1, "url", links)
    return frame


# --- data health -----------------------------------------------------------------------------
@dataclass(frozen=True)
class Health:
    runs: pd.DataFrame
    watermarks: pd.DataFrame
    raw_tables: pd.DataFrame
    mart_rows: pd.DataFrame
    warnings: pd.DataFrame


_UTC = "timezone('UTC', {0}) as {0}"


def health(stale_after_days: int = 14) -> Health:
    tables = set(_frame("select table_name from information_schema.tables "
                        "where table_catalog = 'published'")["table_name"])
    empty = pd.DataFrame()
    runs = _frame(
        f"select run_id, command, {_UTC.format('started_at')}, {_UTC.format('ended_at')}, "
        "status, rows_loaded, requests, message from _runs order by started_at desc limit 50"
    ) if "_runs" in tables else empty
    watermarks = _frame(
        f"select source, partition, stream, value, {_UTC.format('updated_at')} "
        "from _watermarks order by source, partition, stream") if "_watermarks" in tables else empty
    raw = _frame(f"select table_name, row_count, {_UTC.format('last_extracted_at')} "
                 "from _raw_tables order by table_name") if "_raw_tables" in tables else empty
    marts = [name for name in ("dim_teams", "dim_services", "fct_deployments", "fct_changes",
                               "fct_incidents", "metrics_daily", "metrics_weekly", "dora_summary")
             if name in tables]
    mart_rows = _frame(" union all ".join(
        # table names come from the fixed list above, never from input
        f"select '{name}' as table_name, count(*) as row_count from {name}" for name in marts))
    return Health(runs, watermarks, raw, mart_rows, _warnings(stale_after_days))


def _warnings(stale_after_days: int) -> pd.DataFrame:
    """One row per warning: kind, subject, count, detail (empty when all is well)."""
    return _frame("""
        with latest as (
            select max(deployed_at) as latest_at from fct_deployments
        ),
        silent_services as (
            select 'service with no deployments' as kind, s.service as subject,
                0 as count, 'check its deployment_source in fourkeys.toml' as detail
            from dim_services as s
            where not exists (select 1 from fct_deployments as d where d.service = s.service)
        ),
        undeployed as (
            select 'changes never deployed' as kind, c.service as subject, count(*) as count,
                'merged more than ' || cast(? as varchar) || ' days before the latest deployment'
                    as detail
            from fct_changes as c cross join latest
            where c.deployed_at is null
                and coalesce(c.merged_at, c.first_commit_at)
                    < latest.latest_at - to_days(cast(? as integer))
            group by c.service
        ),
        skewed as (
            select 'clock skew' as kind, c.service as subject, count(*) as count,
                'changes committed or merged after they were deployed, or reviewed or merged '
                    || 'before they were opened' as detail
            from fct_changes as c
            where c.first_commit_at > c.deployed_at or c.merged_at > c.deployed_at
                or c.first_review_at < c.opened_at or c.merged_at < c.opened_at
            group by c.service
        ),
        skewed_incidents as (
            select 'clock skew' as kind, i.service as subject, count(*) as count,
                'incidents restored before they started' as detail
            from fct_incidents as i
            where coalesce(i.mitigated_at, i.resolved_at)
                < coalesce(i.started_at, i.detected_at)
            group by i.service
        )
        select * from silent_services
        union all select * from undeployed
        union all select * from skewed
        union all select * from skewed_incidents
        order by kind, subject
    """, (stale_after_days, stale_after_days))
