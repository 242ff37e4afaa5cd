"""Pure chart builders of the search pages (no Streamlit, no I/O)."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from dashboard.charts import _color, _empty, local_time, plain, time_axis
from dashboard.i18n import DEFAULT_LANG, t


def keyword_trend_figure(df: pl.DataFrame, names: dict[str, str], tz: str = "Asia/Seoul",
                         title: str = "키워드 추이", y_title: str = "일치 메시지 수",
                         lang: str = DEFAULT_LANG) -> go.Figure:
    """Matching lines per bucket, one line per channel.

    `df`: warehouse.keyword_trend() output (channel_id, bucket, matches, share);
    `names`: channel_id → display name (untrusted: escaped for plotly)."""
    if df.is_empty():
        return _empty(title, lang)
    df = local_time(df, "bucket", tz).sort("bucket")
    fig = go.Figure()
    for i, cid in enumerate(sorted(set(df["channel_id"].to_list()), key=lambda c: (names.get(c, c), c))):
        part = df.filter(pl.col("channel_id") == cid)
        fig.add_trace(go.Scatter(
            x=part["bucket"].to_list(), y=part["matches"].to_list(), name=plain(names.get(cid, cid)),
            customdata=part["share"].to_list(), mode="lines+markers" if part.height < 60 else "lines",
            line={"color": _color(i)},
            hovertemplate="%{x}<br>%{y:,} (%{customdata:.1%})<extra>%{fullData.name}</extra>"))
    fig.update_layout(title=title, height=420, hovermode="x unified", yaxis_title=y_title,
                      legend_title_text=t("chart_channel", lang))
    fig.update_xaxes(title_text=time_axis(tz, lang))
    fig.update_yaxes(rangemode="tozero")
    return fig
