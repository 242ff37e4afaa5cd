"""시청자 (Viewers): concurrent viewers beside chat (issue 20 §1) — per broadcast (average and
peak viewers, hours watched, engagement, messages per 100 viewers, each with the share of the
broadcast that was polled), per channel with a weekly trend, and the channels' follower
counts per day; one tab each, only the open tab is drawn and queried (widgets.sections)."""
import streamlit as st

import warehouse
from dashboard import charts, data, summaries
from dashboard.app_pages import widgets
from dashboard.i18n import current_lang, t
from warehouse.read.queries.viewers import GAP_SECONDS

f = widgets.require_filters()
lang = current_lang()
st.title(t("page_viewers"))
st.caption(t("viewers_help").format(gap=GAP_SECONDS))


def _percent(label: str) -> st.column_config.ProgressColumn:
    return st.column_config.ProgressColumn(t(label), format="percent", min_value=0, max_value=1)


def per_broadcast() -> None:
    found = data.query(f, warehouse.broadcast_viewers)
    if found.filter(found["polls"] > 0).is_empty():
        st.info(t("viewers_none"))
    shown = found.select("channel_name", "started", "title", "category", "viewer_coverage", "avg_viewers",
                         "peak_viewers", "hours_watched", "engagement", "messages_per_100_viewers", "messages",
                         "chatters", "polled_minutes", "viewer_minutes", "polls", "channel_id", "broadcast")
    widgets.table(shown, widgets.stem("broadcast_viewers", f), key="viewers_broadcasts",
                  column_config=summaries.headers(shown.columns, t, title=t("broadcasts_title"),
                                                  category=t("broadcasts_category"),
                                                  viewer_coverage=_percent("col_a_viewer_coverage")))


def per_channel() -> None:
    total = data.query(f, warehouse.channel_viewers)
    widgets.table(total, widgets.stem("channel_viewers", f), key="viewers_channels",
                  column_config=summaries.headers(total.columns, t, viewer_coverage=_percent("col_a_viewer_coverage")))
    weeks = data.query(f, warehouse.channel_viewers, every="week")
    st.altair_chart(charts.weekly_figure(
        weeks, t("viewers_weekly_title"), t("viewers_avg_title"), t("viewers_watched_title"), t("viewers_legend"),
        t("viewers_week"), lang=lang), width="stretch", key="viewers_weekly_chart")
    widgets.table(weeks, widgets.stem("channel_viewers_weekly", f), key="viewers_weeks",
                  column_config=summaries.headers(weeks.columns, t, viewer_coverage=_percent("col_a_viewer_coverage")))


def followers() -> None:
    trend = data.query(f, warehouse.follower_trend)
    if trend.is_empty():
        st.info(t("viewers_no_followers"))
        return
    st.altair_chart(charts.followers_figure(
        trend, dict(f.names), t("viewers_followers_title"), t("viewers_followers_axis"), t("viewers_legend"),
        t("viewers_day"), lang=lang), width="stretch", key="viewers_followers_chart")
    shown = trend.rename({"change": "follower_change"})
    widgets.table(shown, widgets.stem("follower_trend", f), key="viewers_follower_table",
                  column_config=summaries.headers(shown.columns, t))


widgets.sections("viewers_section", {
    "broadcasts": (t("viewers_broadcasts"), per_broadcast), "channels": (t("viewers_channels"), per_channel),
    "followers": (t("viewers_followers"), followers)})
