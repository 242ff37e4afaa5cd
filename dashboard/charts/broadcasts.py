"""Pure figure builder of the Broadcasts page: one broadcast's chat per window with its
viewer count and its title and category changes on one time axis."""
from __future__ import annotations

import altair as alt
import polars as pl

from dashboard.charts.clock import time_axis, time_tip, time_x, wall_clock
from dashboard.charts.style import empty, number_axis
from dashboard.i18n import DEFAULT_LANG


def timeline_figure(activity: pl.DataFrame, timeline: pl.DataFrame, tz: str = "Asia/Seoul",
                    title: str = "방송 타임라인", messages: str = "메시지", viewers: str = "시청자",
                    title_change: str = "제목 변경", category_change: str = "카테고리 변경",
                    lang: str = DEFAULT_LANG) -> alt.LayerChart | alt.Chart:
    """Messages per window (bars; broadcast_activity()) with the viewer count of the polls
    (line, right axis) and a dotted line at every title or category change, whose tooltip
    is the new title / category (untrusted text, shown as typed). `timeline`:
    broadcast_timeline()."""
    if activity.is_empty():
        return empty(title, lang)
    axis = time_axis(tz, lang)
    bars_data = wall_clock(activity, "minute", tz).select("minute", "offset_minutes", "messages")
    layers = [alt.Chart(bars_data).mark_bar(color="#00c73c").encode(
        x=time_x("minute", axis), y=alt.Y("messages:Q", title=messages, scale=alt.Scale(zero=True), axis=number_axis(lang)),
        tooltip=[time_tip("minute", axis), alt.Tooltip("offset_minutes:Q", title="+m"),
                 alt.Tooltip("messages:Q", format=",", title=messages)])]
    timeline = wall_clock(timeline, "time", tz)
    polls = timeline.filter(pl.col("viewers").is_not_null()) if not timeline.is_empty() else timeline
    if not polls.is_empty():
        layers.append(alt.Chart(polls.select("time", "viewers")).mark_line(point=True, color="#7b3fe4").encode(
            x=time_x("time", axis),
            y=alt.Y("viewers:Q", title=viewers, scale=alt.Scale(zero=True), axis=number_axis(lang, orient="right")),
            tooltip=[time_tip("time", axis), alt.Tooltip("viewers:Q", format=",", title=viewers)]))
    marks = (timeline.filter(pl.col("title_changed") | pl.col("category_changed"))
             if not timeline.is_empty() else timeline)
    if not marks.is_empty():
        changes = marks.select("time", pl.concat_str(
            [pl.when(pl.col(flag)).then(pl.lit(f"{label}: ") + pl.col(col).fill_null(""))
             for flag, label, col in (("title_changed", title_change, "live_title"),
                                      ("category_changed", category_change, "live_category_value"))],
            separator=" / ", ignore_nulls=True).alias("change"))
        layers.append(alt.Chart(changes).mark_rule(color="#ff7f0e", strokeDash=[3, 3], strokeWidth=2).encode(
            x=time_x("time", axis), tooltip=[time_tip("time", axis), alt.Tooltip("change:N", title=title_change)]))
    return alt.layer(*layers, title=title, height=420).resolve_scale(y="independent")
