"""Data health: last runs, freshness per stream, row counts, watermarks and warnings."""

from __future__ import annotations

from datetime import UTC, datetime

import pandas as pd
import streamlit as st

from app import data, fmt, ui


def _last(runs: pd.DataFrame, command: str | None = None, status: str | None = None) -> str:
    rows = runs
    if command:
        rows = rows[rows["command"] == command]
    if status:
        rows = rows[rows["status"] == status]
    if rows.empty:
        return fmt.NONE
    return f"{pd.Timestamp(rows.iloc[0]['ended_at']):%Y-%m-%d %H:%M}"


def render() -> None:
    st.title("Data health")
    health = data.health()
    identity = data.file_identity()
    runs = health.runs

    first, second, third, fourth = st.columns([3, 3, 2, 3])
    first.metric("Last successful extract (UTC)", _last(runs, "extract", "success")
                 if not runs.empty else fmt.NONE)
    second.metric("Last successful transform (UTC)", _last(runs, "transform", "success")
                  if not runs.empty else fmt.NONE)
    latest_status = runs.iloc[0]["status"] if not runs.empty else fmt.NONE
    third.metric("Latest run", str(latest_status))
    published = (datetime.fromtimestamp(identity.mtime_ns / 1e9, tz=UTC)
                 if identity else None)
    fourth.metric("Published (UTC)", f"{published:%Y-%m-%d %H:%M}" if published else fmt.NONE)
    if not runs.empty and latest_status != "success":
        st.error(f"The latest run ({runs.iloc[0]['command']}) ended `{latest_status}`: "
                 f"{runs.iloc[0]['message'] or 'see the run log'}")

    st.subheader("Warnings")
    with st.container(key="warnings"):
        if health.warnings.empty:
            st.success("No warnings: every service has deployments, no change is stuck "
                       "undeployed, and no clock skew was found.")
        for row in health.warnings.itertuples(index=False):
            amount = f" ({fmt.count(row.count)})" if row.count else ""
            st.warning(f"{row.kind}: {row.subject}{amount} — {row.detail}")

    st.subheader("Freshness per stream")
    watermarks = health.watermarks
    if not watermarks.empty:
        cursor = pd.to_datetime(watermarks["value"], errors="coerce", utc=True)
        watermarks = watermarks.assign(
            newest_record_at=cursor.dt.tz_localize(None),
            newest_record_age_days=(pd.to_datetime(watermarks["updated_at"])
                                    - cursor.dt.tz_localize(None)).dt.total_seconds() / 86400)
    with st.container(key="watermarks"):
        st.dataframe(watermarks, hide_index=True, column_config={
            "newest_record_age_days": st.column_config.NumberColumn(
                "Newest record's age at extract (days)", format="%.1f",
                help="How old the stream's newest record was when its watermark last moved: "
                     "a quiet repository, or an extract that no longer reaches it")})

    st.subheader("Row counts")
    left, right = st.columns(2)
    with left, st.container(key="raw_tables"):
        st.caption("Raw tables (extracted)")
        st.dataframe(health.raw_tables, hide_index=True)
    with right, st.container(key="mart_rows"):
        st.caption("Published marts")
        st.dataframe(health.mart_rows, hide_index=True)

    st.subheader("Runs")
    with st.container(key="runs"):
        st.dataframe(runs, hide_index=True)


ui.require(numbers=False)
ui.guarded(render)
