"""카테고리 (Categories): time streamed, messages, chatters, viewers and donations per
category or game (issue 20 §5), across the picked channels or split by channel, from the
collector's live-status timeline."""
import streamlit as st

import warehouse
from dashboard import charts, data, summaries
from dashboard.app_pages import widgets
from dashboard.i18n import current_lang, t
from warehouse.read.queries.viewers import GAP_SECONDS

f = widgets.require_filters()
lang = current_lang()
st.title(t("page_categories"))
st.caption(t("cat_help").format(gap=GAP_SECONDS))
widgets.coverage_badge(f)

per_channel = st.toggle(t("cat_per_channel"), key="cat_per_channel")
across = data.query(f, warehouse.categories)
if across.is_empty():
    st.info(t("cat_none"))
    st.stop()
if across["hours"].sum() == 0:
    st.info(t("cat_no_timeline"))
st.altair_chart(charts.hours_figure(
    across, t("cat_chart_title"), t("col_a_hours"), t("col_a_category"), t("cat_unknown"), t("col_a_messages"),
    t("col_a_avg_viewers"), lang=lang), width="stretch", key="cat_chart")
found = data.query(f, warehouse.categories, per_channel=True) if per_channel else across
widgets.table(found, widgets.stem("categories_by_channel" if per_channel else "categories", f), key="cat_table",
              column_config=summaries.headers(found.columns, t, share=st.column_config.ProgressColumn(
                  t("col_a_share"), format="percent", min_value=0, max_value=1)))
