"""Pure figure builders of the Channel page: a polars DataFrame in, a plotly Figure out.
Titles and axis labels are arguments (Korean by default; pages pass t(...))."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.charts import _empty, local_time
from dashboard.i18n import DEFAULT_LANG

WEEKDAYS_KO = ("월", "화", "수", "목", "금", "토", "일")


def heatmap_grid(df: pl.DataFrame, metric: str = "messages") -> list[list[int]]:
    """7 × 24 counts (rows Monday..Sunday, columns hour 0..23; 0 for absent cells) of one
    channel's heatmap() result."""
    grid = [[0] * 24 for _ in range(7)]
    for weekday, hour, value in df.select("weekday", "hour", metric).iter_rows():
        grid[weekday][hour] = int(value)
    return grid


def heatmap_figure(df: pl.DataFrame, metric: str = "messages", title: str = "요일 × 시간",
                   weekdays: tuple[str, ...] = WEEKDAYS_KO, hour_label: str = "시",
                   lang: str = DEFAULT_LANG) -> go.Figure:
    """Hour × weekday heatmap of one channel's heatmap() result (`metric`: messages or
    chatters), weekday rows from Monday at the top."""
    if df.is_empty():
        return _empty(title, lang)
    fig = go.Figure(go.Heatmap(z=heatmap_grid(df, metric), x=list(range(24)), y=list(weekdays),
                               colorscale="Greens", hovertemplate="%{y} %{x}:00 · %{z:,}<extra></extra>"))
    fig.update_yaxes(autorange="reversed")
    fig.update_xaxes(dtick=1, title_text=hour_label)
    fig.update_layout(title=title, height=360)
    return fig


def new_vs_returning_figure(df: pl.DataFrame, tz: str = "Asia/Seoul", title: str = "신규 vs 재방문",
                            new: str = "신규", returning: str = "재방문", y_label: str = "참여자",
                            lang: str = DEFAULT_LANG) -> go.Figure:
    """Stacked bars of one channel's new_vs_returning() result per bucket."""
    if df.is_empty():
        return _empty(title, lang)
    df = local_time(df, "bucket", tz).sort("bucket")
    fig = go.Figure()
    fig.add_trace(go.Bar(x=df["bucket"].to_list(), y=df["returning_chatters"].to_list(), name=returning,
                         marker_color="#1f77b4"))
    fig.add_trace(go.Bar(x=df["bucket"].to_list(), y=df["new_chatters"].to_list(), name=new,
                         marker_color="#00c73c"))
    fig.update_layout(title=title, barmode="stack", height=360, yaxis_title=y_label)
    return fig
