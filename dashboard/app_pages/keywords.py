"""키워드 검색 (Keyword search): messages containing a word, a page at a time, and how often
it came up over time. Every search is written to the audit log first. Messages and
nicknames are untrusted: dataframes only; channel names in the chart drawn as typed (Vega-Lite draws text as text)."""
import math

import streamlit as st

import warehouse
from dashboard import charts, data, summaries
from dashboard.app_pages import widgets
from dashboard.i18n import current_lang, t

PAGE_SIZE = 100
EVERY = ("day", "hour")

f = widgets.require_filters()
st.title(t("kw_page_title"))

keyword = st.text_input(t("kw_prompt"), key="kw_query").strip()
lang = current_lang()  # for the chart, and format_func, which Streamlit may call outside this run
every = st.radio(t("kw_every"), EVERY, horizontal=True, key="kw_every",
                 format_func=lambda e: t(f"every_{e}", lang))
if not keyword:
    st.info(t("kw_hint"))
    st.stop()

widgets.audited(f, "keyword_search", keyword, f.channels)
trend = data.query(f, warehouse.keyword_trend, keyword, every=every)
total = int(trend["matches"].sum()) if not trend.is_empty() else 0
widgets.coverage_badge(f)
st.metric(t("kw_total"), f"{total:,}")
if total == 0:
    st.info(t("kw_none"))
    st.stop()

drawn = charts.busiest(trend, "matches")
st.altair_chart(charts.keyword_trend_figure(
    drawn, f.names, f.tz, title=t("kw_trend_title"), y_title=t("kw_trend_y"), lang=lang),
    width="stretch", key="kw_chart")
widgets.busiest_note(trend, drawn)
with st.expander(t("kw_trend_data")):
    widgets.table(trend, widgets.stem(f"keyword_trend_{every}", f), key="kw_trend",
                  column_config=summaries.headers(trend.columns, t))

st.subheader(t("kw_results"))
pages = max(1, math.ceil(total / PAGE_SIZE))
if st.session_state.get("_kw_page_of") != (keyword, f.channels):  # a new search: back to page 1
    st.session_state["_kw_page_of"] = (keyword, f.channels)
    st.session_state["kw_page"] = 1
st.session_state["kw_page"] = min(max(1, st.session_state.get("kw_page", 1)), pages)
page = st.number_input(t("users_page"), min_value=1, max_value=pages, step=1, key="kw_page")
offset = (int(page) - 1) * PAGE_SIZE
found = data.query(f, warehouse.keyword_search, keyword, limit=PAGE_SIZE, offset=offset)
st.caption(t("users_page_of").format(first=min(total, offset + 1), last=min(total, offset + found.height),
                                     total=total, size=PAGE_SIZE))
widgets.table(found, widgets.stem(f"keyword_p{int(page)}", f), key="kw_found",
              column_config=summaries.headers(found.columns, t))
