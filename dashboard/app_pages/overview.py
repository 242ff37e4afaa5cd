"""개요 (Overview): every channel in the filter at a glance — messages, chatters,
subscriber share, donations (each figure with its change against the previous period of
the same length), a daily trend, broadcasts and their coverage — and the
lake's last sync (with the lake's days and rows, except for streamers: those count every
channel)."""
import streamlit as st

import warehouse
from dashboard import accounts, collector_health, data, formats, summaries
from dashboard.app_pages import widgets
from dashboard.charts import compare as compare_charts
from dashboard.i18n import t

f = widgets.require_filters()
st.title(t("page_overview"))

status = data.query(f, warehouse.sync_status, scoped=False)
rows = status["tables"].get("chat", 0)
when = formats.local_time(status["last_sync"], f.tz, "%Y-%m-%d %H:%M") if status["last_sync"] is not None else None
if not accounts.sees_lake_wide(f.account):  # a streamer: no figures of other channels' rows and days
    st.caption(t("overview_last_sync_when").format(when=when) if when else t("overview_never_synced_only"))
elif when:
    st.caption(t("overview_last_sync").format(when=when, days=status["days"], rows=rows))
else:
    st.caption(t("overview_never_synced").format(days=status["days"], rows=rows))

collector_health.show(f)  # down or lagging, with the last-seen time (dashboard/collector_health.py)

summary = data.query(f, warehouse.channel_summary)
if summary.is_empty():
    st.info(t("no_rows"))
    st.stop()

widgets.coverage_badge(f)
total = summaries.totals(summary)
change = data.query(f, warehouse.period_change)  # each figure against the as long period before
delta = compare_charts.deltas(change)
before = change.row(0, named=True)
since = t("overview_delta_help").format(start=before["previous_start"], end=before["previous_end"])
cols = st.columns(4)
for col, (metric, label) in zip(cols, (("channels", "overview_channels_n"), ("messages", "overview_messages"),
                                       ("donations", "overview_donations"), ("donation_amount", "overview_amount")),
                                strict=True):
    col.metric(t(label), f"{total[metric]:,}", delta=delta[metric], help=since)

st.subheader(t("overview_channels"))
trend = summaries.daily_trend(data.query(f, warehouse.activity, every="day"), f.start, f.end)
coverage = summaries.coverage_by_channel(data.query(f, warehouse.coverage))
table = summaries.overview_table(summary, trend, coverage, f.names)
widgets.table(table, widgets.stem("overview", f), key="overview", column_config={
    "channel_name": st.column_config.TextColumn(t("overview_col_channel")),
    "messages": st.column_config.NumberColumn(t("overview_col_messages"), format="localized"),
    "chatters": st.column_config.NumberColumn(t("overview_col_chatters"), format="localized"),
    "chatter_share": st.column_config.NumberColumn(t("overview_col_sub_chatters"), format="percent"),
    "message_share": st.column_config.NumberColumn(t("overview_col_sub_messages"), format="percent"),
    "donations": st.column_config.NumberColumn(t("overview_col_donations"), format="localized"),
    "donation_amount": st.column_config.NumberColumn(t("overview_col_amount"), format="localized"),
    "trend": st.column_config.LineChartColumn(t("overview_col_trend"), y_min=0),
    "broadcasts": st.column_config.NumberColumn(t("overview_col_broadcasts")),
    "coverage": st.column_config.ProgressColumn(t("overview_col_coverage"), format="percent", min_value=0,
                                                max_value=1, help=t("overview_help_coverage")),
    "channel_id": st.column_config.TextColumn(t("col_a_channel_id")),
})
