"""CHZZK chat analytics dashboard: `streamlit run dashboard/streamlit_app.py`.

The entry script renders the shared sidebar filters, then routes with st.navigation to the
pages in app_pages/. Serve it on loopback only (`--server.address 127.0.0.1`)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only dashboard/ on sys.path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import data  # noqa: E402
from dashboard.app_pages import widgets  # noqa: E402
from dashboard.i18n import t  # noqa: E402

PAGES = Path(__file__).resolve().parent / "app_pages"

st.set_page_config(page_title=t("app_title"), layout="wide")
page = st.navigation([
    st.Page(PAGES / "activity.py", title=t("page_activity"), icon=":material/monitoring:", default=True),
    st.Page(PAGES / "subscribers.py", title=t("page_subscribers"), icon=":material/star:"),
    st.Page(PAGES / "donations.py", title=t("don_title"), icon=":material/payments:"),
    st.Page(PAGES / "users.py", title=t("page_users"), icon=":material/person_search:"),
    st.Page(PAGES / "data_tables.py", title=t("data_title"), icon=":material/database:"),
])
filters = widgets.sidebar_filters()
if filters is None:
    st.title(t("app_title"))
    st.info(t("empty_lake"))
else:
    page.run()
st.caption(t("localhost").format(tz=data.display_tz()))
