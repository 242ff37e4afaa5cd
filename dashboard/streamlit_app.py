"""CHZZK chat analytics dashboard: `python -m dashboard serve` (or `make dashboard`).

The entry script picks the language, asks for a login when accounts exist (else says the
app is on localhost only), renders the shared sidebar filters, then routes with
st.navigation to the pages in app_pages/ (the audit log only for those who may read it)."""
from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # `streamlit run` puts only dashboard/ on sys.path
    sys.path.insert(0, str(ROOT))

import streamlit as st  # noqa: E402

from dashboard import accounts, login  # noqa: E402
from dashboard.app_pages import widgets  # noqa: E402
from dashboard.i18n import t  # noqa: E402

PAGES = Path(__file__).resolve().parent / "app_pages"


def pages(audit_log: bool, moderation: bool = True) -> list:
    listed = [
        st.Page(PAGES / "overview.py", title=t("page_overview"), icon=":material/dashboard:", default=True),
        st.Page(PAGES / "channel.py", title=t("page_channel"), icon=":material/monitoring:"),
        st.Page(PAGES / "broadcasts.py", title=t("page_broadcasts"), icon=":material/live_tv:"),
        st.Page(PAGES / "highlights.py", title=t("hl_page_title"), icon=":material/movie:"),
        st.Page(PAGES / "viewers.py", title=t("page_viewers"), icon=":material/groups:"),
        st.Page(PAGES / "categories.py", title=t("page_categories"), icon=":material/category:"),
        st.Page(PAGES / "compare.py", title=t("page_compare"), icon=":material/compare_arrows:"),
        st.Page(PAGES / "subscribers.py", title=t("page_subscribers"), icon=":material/star:"),
        st.Page(PAGES / "audience.py", title=t("page_audience"), icon=":material/diversity_3:"),
        st.Page(PAGES / "donations.py", title=t("don_title"), icon=":material/payments:"),
        st.Page(PAGES / "users.py", title=t("page_users"), icon=":material/person_search:"),
        st.Page(PAGES / "keywords.py", title=t("kw_page_title"), icon=":material/search:"),
        st.Page(PAGES / "emotes.py", title=t("emo_page_title"), icon=":material/mood:"),
        st.Page(PAGES / "words.py", title=t("words_page_title"), icon=":material/text_fields:"),
        st.Page(PAGES / "data_tables.py", title=t("data_title"), icon=":material/database:"),
    ]
    if moderation:
        listed.append(st.Page(PAGES / "moderation.py", title=t("mod_page_title"), icon=":material/shield:"))
    if audit_log:
        listed.append(st.Page(PAGES / "audit.py", title=t("audit_page_title"), icon=":material/policy:"))
    return listed


widgets.seed_language()
st.set_page_config(page_title=t("app_title"), layout="wide")
widgets.language_switch()
account = login.gate(pages(audit_log=True))  # stops here with the login form until someone signs in
page = st.navigation(login.pages_for(account, pages(audit_log=accounts.may_read_audit(account),
                                                  moderation=accounts.may_see_moderation(account))),
                    expanded=True)  # every page listed (Streamlit folds a list past 10 behind "View more");
# a share link's viewer gets its one page (login.pages_for)
if account is None:
    st.caption(":material/lan: " + t("localhost"))
filters = widgets.sidebar_filters(account)
login.share_box(account, filters, page)  # "share this view" (signed-in accounts)
if filters is None:
    st.title(t("app_title"))
    st.info(t("empty_lake"))
else:
    page.run()
