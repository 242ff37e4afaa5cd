"""Pure chart builders of the search pages (no Streamlit, no I/O)."""
from __future__ import annotations

import altair as alt
import polars as pl

from dashboard.charts.clock import time_axis, time_tip, time_x, wall_clock
from dashboard.charts.style import channel_color, empty, number_axis
from dashboard.i18n import DEFAULT_LANG, t


def keyword_trend_figure(df: pl.DataFrame, names: dict[str, str], tz: str = "Asia/Seoul",
                         title: str = "키워드 추이", y_title: str = "일치 메시지 수",
                         lang: str = DEFAULT_LANG) -> alt.Chart:
    """Matching lines per bucket, one line per channel.

    `df`: warehouse.keyword_trend() output (channel_id, bucket, matches, share);
    `names`: channel_id → display name (untrusted: drawn as typed)."""
    if df.is_empty():
        return empty(title, lang)
    df = wall_clock(df, "bucket", tz).sort("channel_id", "bucket")
    order = sorted(set(df["channel_id"].to_list()), key=lambda c: (names.get(c, c), c))
    data = df.select("channel_id", pl.col("channel_id").replace_strict(
        names, default=pl.col("channel_id"), return_dtype=pl.Utf8).alias("channel_name"), "bucket", "matches", "share")
    legend, axis = t("chart_channel", lang), time_axis(tz, lang)
    points = df.group_by("channel_id").len()["len"].max() < 60
    return (alt.Chart(data, title=title, height=420).mark_line(point=points)
            .encode(x=time_x("bucket", axis), y=alt.Y("matches:Q", title=y_title, scale=alt.Scale(zero=True), axis=number_axis(lang)),
                    color=channel_color([names.get(c, c) for c in order], legend), detail="channel_id:N",
                    tooltip=[alt.Tooltip("channel_name:N", title=legend), time_tip("bucket", axis),
                             alt.Tooltip("matches:Q", format=",", title=y_title),
                             alt.Tooltip("share:Q", format=".1%", title="%")]))
