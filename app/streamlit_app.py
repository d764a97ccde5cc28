"""fourkeys dashboards: the frame around every page (navigation, shared filters, empty states).

Run it with `fourkeys dashboard --config fourkeys.toml` (or `streamlit run app/streamlit_app.py`
with FOURKEYS_PUBLISHED set to the published marts file). The pages live in `views/` rather than
`pages/`: a `pages/` folder beside the entrypoint makes Streamlit treat the app as a legacy
multipage app until `st.navigation` has run once, so a shared deep link opened on a fresh server
(or any AppTest rerun) would run the page without this frame.
"""

from __future__ import annotations

import sys
from pathlib import Path

import streamlit as st

if __package__ in (None, ""):  # `streamlit run app/streamlit_app.py` without the project installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from app import data, filters, ui

st.set_page_config(page_title="fourkeys", page_icon=":material/speed:", layout="wide")

PAGES = [
    st.Page("views/organisation.py", title="Organisation", icon=":material/apartment:",
            default=True),  # served at /
    st.Page("views/team.py", title="Team", icon=":material/groups:", url_path="team"),
    st.Page("views/service.py", title="Service", icon=":material/dns:", url_path="service"),
    st.Page("views/drill_down.py", title="Drill-down", icon=":material/table_rows:",
            url_path="drill-down"),
    st.Page("views/data_health.py", title="Data health", icon=":material/monitor_heart:",
            url_path="data-health"),
]

page = st.navigation(PAGES)
state = data.warehouse_state()
st.session_state[ui.STATE_KEY] = state
if state.kind in ("empty", "single", "ready"):
    try:
        st.session_state[ui.FILTERS_KEY] = filters.sidebar(data.filter_options())
    except data.DataUnavailable as exc:  # replaced by a broken file between two queries
        kind = "unreachable" if isinstance(exc, data.SourceUnavailable) else "unreadable"
        state = data.WarehouseState(kind, state.path, str(exc))
        st.session_state[ui.STATE_KEY] = state
if page.url_path != "drill-down" and "rows" in st.query_params:
    del st.query_params["rows"]  # the drill-down page's own parameter
st.sidebar.caption(f"Published marts: `{state.path or 'not configured'}`")
page.run()
