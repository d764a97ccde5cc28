"""Page parts shared by the pages: empty states, the metric tiles, band tables (no SQL here)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import pandas as pd
import streamlit as st

from app import bands, fmt
from app.data import DataUnavailable, SourceUnavailable, WarehouseState, Window
from app.filters import ALL_SERVICES, ALL_TEAMS, Filters

STATE_KEY = "_warehouse_state"
FILTERS_KEY = "_filters"
DRILL_PAGE = "views/drill_down.py"
DRILL_ROWS_KEY = "rows"
RUN_HINT = "fourkeys run --config fourkeys.toml"


def state() -> WarehouseState:
    return st.session_state[STATE_KEY]  # type: ignore[no-any-return]


def filters() -> Filters:
    return st.session_state[FILTERS_KEY]  # type: ignore[no-any-return]


def guidance(current: WarehouseState) -> None:
    """What to do next, for every state in which the numbers cannot be shown."""
    if current.kind == "unset":
        st.warning("The dashboard does not know where the published marts are.")
        st.markdown("Start it with `fourkeys dashboard --config fourkeys.toml`, which points it "
                    "at the published file beside your warehouse, or set `FOURKEYS_PUBLISHED` "
                    "to that `*.published.duckdb` file.")
    elif current.kind == "missing":
        st.warning(f"No published marts yet at `{current.path}`.")
        st.markdown(f"Run `{RUN_HINT}` to extract, build and publish them, then reload this "
                    "page. To look around first, `fourkeys demo` builds and opens a generated "
                    "organisation.")
    elif current.kind == "unreadable":
        st.error(f"`{current.path}` is not a readable fourkeys published file "
                 f"({current.detail}).")
        st.markdown(f"Run `{RUN_HINT}` to publish the marts again.")
    elif current.kind == "unreachable":  # BigQuery: the detail ends with the fix
        st.error(f"The published marts cannot be read: {current.detail}")
    elif current.kind == "empty":
        st.info("The warehouse has no deployments yet, so there is nothing to measure.")
        st.markdown("Check each `[[services]]` entry of `fourkeys.toml` (its "
                    "`deployment_source`, and `environment`, `workflow` or `heroku_app`), then "
                    f"run `{RUN_HINT}`. The **Data health** page shows what was extracted.")
    elif current.kind == "single":
        row = current.single
        st.info(f"Only one deployment so far: {row.get('service')} at "
                f"{pd.Timestamp(row.get('deployed_at')):%Y-%m-%d %H:%M} UTC.")
        st.markdown("The four keys compare deployments over weeks. Run "
                    f"`{RUN_HINT}` again once more deployments have happened (add "
                    "`--since YYYY-MM-DD` to read further back). The deployment itself is on the "
                    "**Drill-down** page; **Data health** shows what was extracted.")


def require(*, numbers: bool) -> None:
    """Stop the page with the guidance when there is no file, or (numbers) too little data."""
    current = state()
    allowed = ("ready",) if numbers else ("ready", "single", "empty")
    if current.kind not in allowed:
        guidance(current)
        st.stop()


def guarded(render: Callable[[], None]) -> None:
    """Run a page body; a file replaced by a broken one ends in guidance, not a traceback."""
    try:
        render()
    except DataUnavailable as exc:
        st.error(f"The published marts cannot be read: {exc}")
        if not isinstance(exc, SourceUnavailable):  # BigQuery's message says its own fix
            st.markdown(f"Run `{RUN_HINT}` to publish them again, then reload.")


def window_caption(window: Window, scope: str, *, trend: bool = True) -> None:
    last = window.end - timedelta(days=1)
    previous = window.previous
    text = f"{scope} · {window.start:%Y-%m-%d} → {last:%Y-%m-%d} ({window.days} days, UTC)"
    if trend:
        text += (f" · trend vs the previous {window.days} days ({previous.start:%Y-%m-%d} → "
                 f"{previous.end - timedelta(days=1):%Y-%m-%d})")
    st.caption(text)


def split(frame: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    return frame[frame["period"] == "current"], frame[frame["period"] == "previous"]


@dataclass(frozen=True)
class Tile:
    key: str
    label: str
    value: Callable[[pd.Series], str]
    delta: Callable[[pd.Series, pd.Series], str | None]
    lower_is_better: bool
    detail: Callable[[pd.Series], str]
    drill: str
    band_metric: str | None


def _diff(column: str, sample: str = "deployments") -> Callable[[pd.Series, pd.Series], Any]:
    def diff(now: pd.Series, before: pd.Series) -> float | None:
        if not before[sample] or fmt.missing(now[column]) or fmt.missing(before[column]):
            return None
        return float(now[column]) - float(before[column])
    return diff


TILES = (
    Tile("deployment_frequency", "Deployment frequency",
         lambda r: fmt.per_week(r["deployments_per_week"]),
         lambda a, b: None if (d := _diff("deployments_per_week")(a, b)) is None
         else f"{d:+.1f} / week",
         False,
         lambda r: (f"{fmt.count(r['deployments'])} deployments · median "
                    f"{r['median_deploy_days_per_week']:g} deploy days a week"),
         "deployments", "deployment_frequency"),
    Tile("lead_time", "Lead time for changes",
         lambda r: fmt.duration(r["median_lead_time_seconds"]),
         lambda a, b: fmt.signed_duration(_diff("median_lead_time_seconds",
                                                "lead_time_sample")(a, b)),
         True,
         lambda r: (f"median of {fmt.count(r['lead_time_sample'])} changes · p90 "
                    f"{fmt.duration(r['p90_lead_time_seconds'])}"),
         "changes", "lead_time"),
    Tile("change_failure_rate", "Change failure rate",
         lambda r: fmt.percent(r["change_failure_rate"]),
         lambda a, b: fmt.points(_diff("change_failure_rate")(a, b)),
         True,
         lambda r: (f"{fmt.count(r['failed_deployments'])} of {fmt.count(r['deployments'])} "
                    f"failed · 95% interval {fmt.percent(r['cfr_ci_low'])}–"
                    f"{fmt.percent(r['cfr_ci_high'])}"),
         "failed", "change_failure_rate"),
    Tile("time_to_restore", "Time to restore",
         lambda r: fmt.duration(r["median_restore_seconds"]),
         lambda a, b: fmt.signed_duration(_diff("median_restore_seconds",
                                                "time_to_restore_sample")(a, b)),
         True,
         lambda r: (f"median of {fmt.count(r['time_to_restore_sample'])} incidents with a "
                    f"restore time ({fmt.count(r['incidents'])} started)"),
         "incidents", "time_to_restore"),
    Tile("rework_rate", "Rework rate",
         lambda r: fmt.percent(r["rework_rate"]),
         lambda a, b: fmt.points(_diff("rework_rate")(a, b)),
         True,
         lambda r: (f"{fmt.count(r['remediation_deployments'])} remediation deployments of "
                    f"{fmt.count(r['deployments'])}"),
         "remediations", None),
)


def band_text(row: pd.Series | dict[str, Any], metric: str, year: int) -> str:
    band, reason = bands.band_with_reason(year, metric, {
        k: v for k, v in dict(row).items() if not isinstance(v, str)})
    if band:
        return f"Band: {band} (DORA {year})"
    sample_column, _, _ = bands.METRICS[metric]
    if reason and reason.startswith("fewer than"):
        return bands.short_reason(metric, int(row[sample_column]))
    return f"No band: {reason}"


def open_drill(kind: str, team: str | None, service: str | None) -> None:
    """Button callback: scope the filters to the tile's entity and pick the rows to show."""
    st.session_state["team"] = team or ALL_TEAMS
    st.session_state["service"] = service or ALL_SERVICES
    st.session_state[DRILL_ROWS_KEY] = kind


def tiles(frame: pd.DataFrame, year: int, team: str | None = None,
          service: str | None = None) -> None:
    """The four keys and rework rate of one entity: value, band, trend, sample, interval, and a
    button to the rows behind each number."""
    now_rows, before_rows = split(frame)
    if now_rows.empty:
        st.info("Nothing is configured in this scope.")
        return
    now, before = now_rows.iloc[0], before_rows.iloc[0]
    for column, tile in zip(st.columns(len(TILES)), TILES, strict=True):
        with column, st.container(border=True, key=f"tile_{tile.key}"):
            st.metric(tile.label, tile.value(now), delta=tile.delta(now, before),
                      delta_color="inverse" if tile.lower_is_better else "normal")
            st.caption(band_text(now, tile.band_metric, year)
                       if tile.band_metric else "No DORA band for rework rate")
            st.caption(tile.detail(now))
            if st.button("Rows behind it", key=f"drill_{tile.key}", type="tertiary",
                         icon=":material/table_rows:", on_click=open_drill,
                         args=(tile.drill, team, service)):
                st.switch_page(DRILL_PAGE)


BAND_TABLE_COLUMNS: dict[str, Any] = {
    "deployments": st.column_config.NumberColumn("Deployments", format="%d"),
    "deployments_per_week": st.column_config.NumberColumn("Deploys / week", format="%.1f"),
    "deployment_frequency_band": "DF band",
    "lead_time_hours": st.column_config.NumberColumn("Median lead time (h)", format="%.1f"),
    "lead_time_band": "LT band",
    "change_failure_rate": st.column_config.NumberColumn("CFR", format="percent"),
    "change_failure_rate_band": "CFR band",
    "restore_hours": st.column_config.NumberColumn("Median restore (h)", format="%.1f"),
    "time_to_restore_band": "Restore band",
    "rework_rate": st.column_config.NumberColumn("Rework rate", format="percent"),
}


def band_table(frame: pd.DataFrame, year: int, key_column: str) -> pd.DataFrame:
    """Current-window rows of several entities as shown in a table: values, bands, and
    'n = 7, too few for a band' where a sample is too small."""
    current = bands.annotate(split(frame)[0], year).reset_index(drop=True)
    table = pd.DataFrame({key_column: current[key_column]})
    table["deployments"] = current["deployments"].astype("int64")
    table["deployments_per_week"] = current["deployments_per_week"]
    table["lead_time_hours"] = current["median_lead_time_seconds"] / 3600
    table["change_failure_rate"] = current["change_failure_rate"]
    table["restore_hours"] = current["median_restore_seconds"] / 3600
    table["rework_rate"] = current["rework_rate"]
    for metric in bands.METRICS:
        sample_column = bands.METRICS[metric][0]
        table[f"{metric}_band"] = [
            band if isinstance(band, str) else bands.short_reason(metric, int(sample))
            if str(reason).startswith("fewer than") else f"no band: {reason}"
            for band, reason, sample in zip(current[f"{metric}_band"],
                                            current[f"{metric}_band_reason"],
                                            current[sample_column], strict=True)]
    return table[[key_column, *BAND_TABLE_COLUMNS]]


def show_band_table(table: pd.DataFrame, key_column: str, label: str, key: str) -> None:
    with st.container(key=key):
        st.dataframe(table, hide_index=True,
                     column_config={key_column: label, **BAND_TABLE_COLUMNS})
