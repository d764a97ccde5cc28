"""Drill-down: the rows behind a number (deployments, changes, incidents) with their links."""

from __future__ import annotations

from typing import cast

import streamlit as st

from app import data, fmt, ui

KINDS = {
    "deployments": "Deployments",
    "failed": "Failed deployments",
    "remediations": "Remediation deployments",
    "changes": "Changes",
    "undeployed": "Changes never deployed",
    "incidents": "Incidents",
}
_SEEDED = "_rows_seeded_from_url"
ORDER = {
    "deployments": ["deployment_id", "commit_url", "deployed_at", "service", "team",
                    "failure_causes", "is_remediation", "is_rollback", "recovery", "recovered_at",
                    "change_count", "source", "environment", "repository"],
    "changes": ["change_id", "url", "title", "author", "service", "team", "deployed_at",
                "lead_time", "first_commit_at", "opened_at", "first_review_at", "merged_at",
                "deployment_id", "change_type"],
    "incidents": ["incident_id", "url", "title", "service", "team", "severity", "started_at",
                  "restore", "cause_deployment_id", "link_method", "source"],
}

DEPLOYMENT_COLUMNS = {
    "commit_url": st.column_config.LinkColumn("Commit", display_text=r".*/commit/(\w{7}).*"),
    "deployed_at": st.column_config.DatetimeColumn("Deployed (UTC)"),
    "recovered_at": st.column_config.DatetimeColumn("Recovered (UTC)"),
}
CHANGE_COLUMNS = {
    "url": st.column_config.LinkColumn("Change", display_text=r".*/(?:pull|commit)/(\w{1,12}).*"),
    "deployed_at": st.column_config.DatetimeColumn("Deployed (UTC)"),
}
INCIDENT_COLUMNS = {
    "url": st.column_config.LinkColumn("Incident"),
    "started_at": st.column_config.DatetimeColumn("Started (UTC)"),
}


def render() -> None:
    current = ui.filters()
    st.title("Drill-down")
    if not st.session_state.get(_SEEDED):
        st.session_state[_SEEDED] = True
        if st.query_params.get("rows") in KINDS:
            st.session_state[ui.DRILL_ROWS_KEY] = st.query_params["rows"]
    if st.session_state.get(ui.DRILL_ROWS_KEY) not in KINDS:
        st.session_state[ui.DRILL_ROWS_KEY] = "deployments"
    kind = st.radio("Rows", list(KINDS), format_func=KINDS.__getitem__,
                    key=ui.DRILL_ROWS_KEY, horizontal=True)
    st.query_params["rows"] = kind
    if current.service:
        scope = f"Service {current.service}"
    elif current.team:
        scope = f"Team {current.team}"
    else:
        scope = "Whole organisation"
    ui.window_caption(current.window, scope, trend=False)

    frame, total = data.drill_rows(cast(data.DrillKind, kind), current.window, current.team,
                                   current.service)
    st.markdown(f"**{KINDS[kind]}: {fmt.count(total)}**"
                + (f" · showing the newest {fmt.count(len(frame))}" if total > len(frame) else ""))
    if kind in ("deployments", "failed", "remediations"):
        frame = frame.assign(recovery=frame["recovery_seconds"].map(fmt.duration))
        config, order = DEPLOYMENT_COLUMNS, ORDER["deployments"]
    elif kind in ("changes", "undeployed"):
        frame = frame.assign(lead_time=frame["lead_time_seconds"].map(fmt.duration))
        config, order = CHANGE_COLUMNS, ORDER["changes"]
    else:
        frame = frame.assign(restore=frame["restore_seconds"].map(fmt.duration))
        config, order = INCIDENT_COLUMNS, ORDER["incidents"]
    with st.container(key="drill_rows"):
        st.dataframe(frame, hide_index=True, column_config=config,  # type: ignore[arg-type]
                     column_order=order)


ui.require(numbers=False)
ui.guarded(render)
