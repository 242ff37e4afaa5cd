"""구독자 (Subscribers): subscriber share of messages and chatters, and the tier split."""
import streamlit as st

from dashboard import charts, data
from dashboard.app_pages import widgets
from dashboard.i18n import t

f = widgets.require_filters()
st.title(t("page_subscribers"))

ratio = data.subscriber_ratio(f.root, f.channels, f.start, f.end)
if ratio.is_empty():
    st.info(t("no_rows"))
    st.stop()

st.subheader(t("share_over_time"))
st.plotly_chart(charts.subscriber_share_figure(ratio, f.tz), key="share_chart")
widgets.table(ratio, widgets.stem("subscriber_ratio", f), key="ratio")

st.subheader(t("tier_split"))
tiers = data.tier_split(f.root, f.channels, f.start, f.end)
st.plotly_chart(charts.tier_split_figure(tiers), key="tier_chart")
widgets.table(tiers, widgets.stem("tier_split", f), key="tiers")
