"""The shared filters in the sidebar, kept in the URL so that a link reproduces the view.

Widgets (labels and keys are stable; a browser test finds them by either):
  "Date range" key=date_range, "Team" key=team, "Service" key=service, "DORA year" key=dora_year.
URL parameters: start, end (the last day, inclusive; YYYY-MM-DD), team, service, dora_year.
The URL seeds the widgets on a session's first run; afterwards the widgets write it back on
every run (page changes clear the URL, the next run restores it).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import streamlit as st

from app import bands
from app.data import FilterOptions, Window

ALL_TEAMS = "All teams"
ALL_SERVICES = "All services"
TRAILING_DAYS = 84  # the trailing 12 weeks of dora_summary
URL_KEYS = ("start", "end", "team", "service", "dora_year")
_SEEDED = "_filters_seeded_from_url"
_LAST_RANGE = "_filters_last_complete_range"


@dataclass(frozen=True)
class Filters:
    window: Window
    team: str | None
    service: str | None
    dora_year: int
    default_window: Window

    def query_params(self) -> dict[str, str]:
        params = {"start": self.window.start.isoformat(),
                  "end": (self.window.end - timedelta(days=1)).isoformat(),
                  "dora_year": str(self.dora_year)}
        if self.team:
            params["team"] = self.team
        if self.service:
            params["service"] = self.service
        return params


def default_window(options: FilterOptions, today: date | None = None) -> Window:
    """The trailing 12 weeks ending with the latest week with data (not today: data may stop
    earlier); dora_summary's own window when it ends inside that week, so that the default
    view shows exactly the numbers of dora_summary."""
    if options.last_week_start is None:
        end = (today or date.today()) + timedelta(days=1)
        return Window(end - timedelta(days=TRAILING_DAYS), end)
    end = options.last_week_start + timedelta(days=7)
    summary = options.summary_window
    if summary and summary.days == TRAILING_DAYS and options.last_week_start < summary.end <= end:
        return summary
    return Window(end - timedelta(days=TRAILING_DAYS), end)


def default_year(options: FilterOptions) -> int:
    available = bands.years()
    if options.configured_year in available:
        return int(options.configured_year)  # type: ignore[arg-type]
    return bands.DEFAULT_YEAR if bands.DEFAULT_YEAR in available else available[-1]


def services_of(options: FilterOptions, team: str | None) -> list[str]:
    frame = options.services
    if team:
        frame = frame[frame["team"] == team]
    return sorted(frame["service"].dropna().tolist())


EARLIEST = date(2000, 1, 1)


def _latest(window: Window) -> date:
    return max(date.today(), window.end) + timedelta(days=366)


def _parse_day(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _seed_from_url(options: FilterOptions) -> None:
    """On the session's first run: URL values that make sense become the widgets' values."""
    if st.session_state.get(_SEEDED):
        return
    st.session_state[_SEEDED] = True
    url = st.query_params
    start, last = _parse_day(url.get("start")), _parse_day(url.get("end"))
    if start and last and EARLIEST <= start <= last <= _latest(default_window(options)):
        st.session_state["date_range"] = (start, last)
    team = url.get("team")
    if team in options.teams:
        st.session_state["team"] = team
    service = url.get("service")
    if service in services_of(options, team if team in options.teams else None):
        st.session_state["service"] = service
    year = url.get("dora_year", "")
    if year.isdigit() and int(year) in bands.years():
        st.session_state["dora_year"] = int(year)


def sidebar(options: FilterOptions) -> Filters:
    """Draw the filters, keep the URL in step, and return the current selection."""
    window = default_window(options)
    _seed_from_url(options)
    shown_default = (window.start, window.end - timedelta(days=1))
    st.session_state.setdefault("date_range", shown_default)
    st.session_state.setdefault("team", ALL_TEAMS)
    st.session_state.setdefault("dora_year", default_year(options))
    if st.session_state["team"] != ALL_TEAMS and st.session_state["team"] not in options.teams:
        st.session_state["team"] = ALL_TEAMS

    with st.sidebar:
        picked = st.date_input("Date range", key="date_range", min_value=EARLIEST,
                               max_value=_latest(window),
                               format="YYYY-MM-DD",
                               help="UTC days, both ends included; default: the trailing "
                                    "12 weeks of data")
        team_choice = st.selectbox("Team", [ALL_TEAMS, *options.teams], key="team")
        team = None if team_choice == ALL_TEAMS else team_choice
        services = services_of(options, team)
        if st.session_state.get("service") not in (ALL_SERVICES, *services):
            st.session_state["service"] = ALL_SERVICES
        service_choice = st.selectbox("Service", [ALL_SERVICES, *services], key="service")
        service = None if service_choice == ALL_SERVICES else service_choice
        year = st.radio("DORA year", bands.years(), key="dora_year", horizontal=True,
                        help="Which State of DevOps report's clusters the bands come from")
        if not (isinstance(picked, tuple) and len(picked) == 2):
            st.caption("Pick the last day of the range; showing the previous range meanwhile.")
        selected = _complete_range(picked, shown_default)

    filters = Filters(Window(selected[0], selected[1] + timedelta(days=1)), team, service,
                      int(year), window)
    _write_url(filters)
    return filters


def _complete_range(picked: object, fallback: tuple[date, date]) -> tuple[date, date]:
    """A range being picked has one end only: keep the last complete one meanwhile."""
    if isinstance(picked, tuple) and len(picked) == 2 and all(picked):
        first, last = sorted(picked)
        st.session_state[_LAST_RANGE] = (first, last)
        return first, last
    return st.session_state.get(_LAST_RANGE, fallback)  # type: ignore[no-any-return]


def _write_url(filters: Filters) -> None:
    wanted = filters.query_params()
    for key in URL_KEYS:
        if key in wanted:
            if st.query_params.get(key) != wanted[key]:
                st.query_params[key] = wanted[key]
        elif key in st.query_params:
            del st.query_params[key]
