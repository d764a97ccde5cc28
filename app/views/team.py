"""Team: the four keys of one team, its weekly trends, and its services with their bands."""

from __future__ import annotations

import streamlit as st

from app import charts, data, ui


def render() -> None:
    current = ui.filters()
    teams = data.filter_options().teams
    if not teams:
        st.info("No services are configured.")
        return
    team = current.team or teams[0]
    st.title(f"Team: {team}")
    # one caption either way: elements keep their places when a team is picked
    ui.window_caption(current.window, f"Team {team}" + (
        "" if current.team else " (no team chosen in the sidebar: the first one)"))
    ui.tiles(data.window_metrics(current.window, "team", team=team), current.dora_year,
             team=team)

    st.subheader("Weekly trends")
    weekly = data.weekly_metrics(current.window, "team", team=team)
    if weekly.empty:
        st.info("No weeks with data in this date range.")
    else:
        left, right = st.columns(2)
        left.altair_chart(charts.deployments_per_week(weekly), width="stretch")
        right.altair_chart(charts.lead_time_trend(weekly), width="stretch")
        left.altair_chart(charts.cfr_trend(weekly), width="stretch")
        right.altair_chart(charts.restore_trend(weekly), width="stretch")

    st.subheader("Services")
    services = ui.band_table(data.window_metrics(current.window, "service", team=team),
                             current.dora_year, "service")
    ui.show_band_table(services, "service", "Service", "services_table")


ui.require(numbers=True)
ui.guarded(render)
