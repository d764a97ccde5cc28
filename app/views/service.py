"""Service: deployments timeline (failed ones by cause), lead-time breakdown, slowest changes."""

from __future__ import annotations

import streamlit as st

from app import charts, data, fmt, ui
from app.filters import services_of


def render() -> None:
    current = ui.filters()
    options = data.filter_options()
    services = services_of(options, current.team)
    if not services:
        st.info("No services are configured in this scope.")
        return
    service = current.service or services[0]
    team = str(options.services.set_index("service").at[service, "team"])
    st.title(f"Service: {service}")
    # one caption either way: elements keep their places when a service is picked
    ui.window_caption(current.window, f"Service {service} (team {team}" + (
        ")" if current.service else "; no service chosen in the sidebar: the first one)"))
    ui.tiles(data.window_metrics(current.window, "service", team=team, service=service),
             current.dora_year, team=team, service=service)

    st.subheader("Deployments")
    timeline = data.deployment_timeline(current.window, team, service)
    if timeline.empty:
        st.info("No deployments in this date range.")
    else:
        st.altair_chart(charts.deployment_timeline(timeline), width="stretch")

    st.subheader("Lead-time breakdown")
    stages = data.lead_time_breakdown(current.window, team, service)
    if stages.empty:
        st.info("No reviewed pull requests deployed in this date range.")
    else:
        st.altair_chart(charts.lead_time_breakdown(stages), width="stretch")
        st.caption("Mean hours per stage over the pull requests with all four stages, so a bar "
                   "adds up to their mean lead time (the tiles show medians).")

    st.subheader("Slowest changes")
    slowest = data.slowest_changes(current.window, team, service)
    shown = slowest.assign(
        lead_time=slowest["lead_time_seconds"].map(fmt.duration),
        coding=slowest["coding_seconds"].map(fmt.duration),
        pickup=slowest["pickup_seconds"].map(fmt.duration),
        review=slowest["review_seconds"].map(fmt.duration),
        deploy=slowest["deploy_seconds"].map(fmt.duration),
    )
    with st.container(key="slowest_changes"):
        st.dataframe(
            shown[["url", "title", "author", "deployed_at", "lead_time", "coding", "pickup",
                   "review", "deploy", "lead_time_seconds"]],
            hide_index=True,
            column_config={
                "url": st.column_config.LinkColumn("Change", display_text=r".*/(?:pull|commit)/"
                                                                          r"(\w{1,12}).*"),
                "deployed_at": st.column_config.DatetimeColumn("Deployed (UTC)"),
                "lead_time_seconds": st.column_config.NumberColumn("Lead time (s)"),
            })


ui.require(numbers=True)
ui.guarded(render)
