"""Organisation: the four keys and rework rate for the window, and every team with its bands."""

from __future__ import annotations

import streamlit as st

from app import data, ui


def render() -> None:
    current = ui.filters()
    st.title("Organisation")
    ui.window_caption(current.window, "Whole organisation (the team and service filters apply "
                                      "on the Team and Service pages)")
    ui.tiles(data.window_metrics(current.window, "organisation"), current.dora_year)
    st.subheader("Teams")
    teams = ui.band_table(data.window_metrics(current.window, "team"), current.dora_year, "team")
    ui.show_band_table(teams, "team", "Team", "teams_table")


ui.require(numbers=True)
ui.guarded(render)
