"""감사 로그 (Audit log): every user and keyword search, newest first; admins only (and the
local user when no accounts exist). Queries are untrusted text: dataframe only."""
import polars as pl
import streamlit as st

from dashboard import accounts, audit, summaries
from dashboard.app_pages import widgets
from dashboard.i18n import t

f = widgets.require_filters()
if not accounts.may_read_audit(f.account):  # the page is not listed for them either
    st.error(t("audit_denied"))
    st.stop()
st.title(t("audit_page_title"))
st.caption(t("audit_intro"))

records, bad = audit.read()
if bad:
    st.warning(t("audit_bad_lines").format(n=bad))
if records.is_empty():
    st.info(t("audit_empty"))
    st.stop()
kinds = st.multiselect(t("audit_kinds"), audit.KINDS, default=list(audit.KINDS), key="audit_kinds",
                       format_func=widgets.coded("kind"))
shown = records.filter(pl.col("kind").is_in(kinds)).with_columns(  # a moment, shown in the sidebar's zone
    pl.col("time").str.to_datetime(time_zone="UTC", strict=False))
st.metric(t("audit_records"), f"{shown.height:,}")
widgets.table(shown, "audit_log", key="audit", column_config=summaries.headers(shown.columns, t))
