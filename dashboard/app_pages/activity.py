"""채널 활동 (Channel activity): messages and unique chatters per channel over time."""
import streamlit as st

from dashboard import charts, data
from dashboard.app_pages import widgets
from dashboard.i18n import t

f = widgets.require_filters()
st.title(t("page_activity"))

every = st.radio(t("granularity"), data.EVERY, index=1, horizontal=True, key="every",
                 format_func=lambda e: t(f"every_{e}"))
df = data.activity(f.root, f.channels, f.start, f.end, every)
if df.is_empty():
    st.info(t("no_rows"))
    st.stop()

widgets.coverage_badge(f)
st.plotly_chart(charts.activity_figure(df, f.tz, every), key="activity_chart")

st.subheader(t("summary"))
widgets.table(data.activity_summary(df), widgets.stem("activity_summary", f), key="summary")

with st.expander(f"{t('granularity')}: {every} — raw buckets"):
    widgets.table(df, widgets.stem(f"activity_{every}", f), key="buckets")
