"""Pure figure builder of the Broadcasts page: one broadcast's chat per window with its
viewer count and its title and category changes on one time axis."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from dashboard.charts import _empty, local_time, plain, time_axis
from dashboard.i18n import DEFAULT_LANG


def timeline_figure(activity: pl.DataFrame, timeline: pl.DataFrame, tz: str = "Asia/Seoul",
                    title: str = "방송 타임라인", messages: str = "메시지", viewers: str = "시청자",
                    title_change: str = "제목 변경", category_change: str = "카테고리 변경",
                    lang: str = DEFAULT_LANG) -> go.Figure:
    """Messages per window (bars; broadcast_activity()) with the viewer count of the polls
    (line, right axis) and a dotted line at every title or category change, whose hover
    text is the new title / category (untrusted text, escaped). `timeline`:
    broadcast_timeline()."""
    if activity.is_empty():
        return _empty(title, lang)
    activity = local_time(activity, "minute", tz)
    timeline = local_time(timeline, "time", tz)
    fig = make_subplots(specs=[[{"secondary_y": True}]])
    fig.add_trace(go.Bar(x=activity["minute"].to_list(), y=activity["messages"].to_list(), name=messages,
                         marker_color="#00c73c", customdata=activity["offset_minutes"].to_list(),
                         hovertemplate="%{x} (+%{customdata}m)<br>%{y:,}<extra></extra>"),
                  secondary_y=False)
    polls = timeline.filter(pl.col("viewers").is_not_null()) if not timeline.is_empty() else timeline
    if not polls.is_empty():
        fig.add_trace(go.Scatter(x=polls["time"].to_list(), y=polls["viewers"].to_list(), name=viewers,
                                 mode="lines+markers", line={"color": "#7b3fe4"}), secondary_y=True)
    if not timeline.is_empty():
        marks = timeline.filter(pl.col("title_changed") | pl.col("category_changed"))
        for row in marks.iter_rows(named=True):
            text = " / ".join(
                f"{label}: {plain(row[col])}" for flag, label, col in (
                    ("title_changed", title_change, "live_title"),
                    ("category_changed", category_change, "live_category_value")) if row[flag])
            fig.add_vline(x=row["time"], line_dash="dot", line_color="#ff7f0e")
            fig.add_trace(go.Scatter(x=[row["time"]], y=[0], mode="markers", showlegend=False,
                                     marker={"symbol": "triangle-up", "size": 12, "color": "#ff7f0e"},
                                     hovertext=[text], hoverinfo="text", name=""))
    fig.update_layout(title=title, height=420, bargap=0.05, legend_orientation="h")
    fig.update_yaxes(title_text=messages, secondary_y=False, rangemode="tozero")
    fig.update_yaxes(title_text=viewers, secondary_y=True, rangemode="tozero")
    fig.update_xaxes(title_text=time_axis(tz, lang))
    return fig
