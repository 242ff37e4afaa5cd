"""Pure figure builders of the Viewers page and the Broadcasts page's viewer curve (issue 20
§1): a broadcast's concurrent viewers over time with its poll gaps left open, the channels'
weekly viewers and their follower counts per day."""
from __future__ import annotations

import altair as alt
import polars as pl

from dashboard.charts.clock import time_axis, time_tip, time_x, wall_clock
from dashboard.charts.style import channel_color, channel_pairs, empty, named, number_axis, panel
from dashboard.i18n import DEFAULT_LANG

VIEWER_COLOR = "#7b3fe4"


def curve_segments(curve: pl.DataFrame) -> pl.DataFrame:
    """viewer_curve()'s rows without the gap rows, each with ``segment``: the number of gaps
    before it, so a line drawn per segment stops at every gap instead of bridging it (pure)."""
    return (curve.with_columns(pl.col("viewers").is_null().cum_sum().cast(pl.Int64).alias("segment"))
            .filter(pl.col("viewers").is_not_null()))


def viewer_curve_figure(curve: pl.DataFrame, tz: str = "Asia/Seoul", title: str = "동시 시청자",
                        viewers: str = "시청자", lang: str = DEFAULT_LANG) -> alt.LayerChart | alt.Chart:
    """The broadcast's concurrent viewers (viewer_curve()): a line through its polls, broken at
    every gap (no poll for longer than the gap limit), with a point at every poll."""
    if curve.filter(pl.col("viewers").is_not_null()).is_empty():
        return empty(title, lang)
    axis = time_axis(tz, lang)
    drawn = wall_clock(curve_segments(curve), "time", tz).select("time", "offset_minutes", "viewers", "segment")
    base = alt.Chart(drawn).encode(
        x=time_x("time", axis), y=alt.Y("viewers:Q", title=viewers, scale=alt.Scale(zero=True), axis=number_axis(lang)),
        tooltip=[time_tip("time", axis), alt.Tooltip("offset_minutes:Q", title="+m"),
                 alt.Tooltip("viewers:Q", format=",", title=viewers)])
    return alt.layer(base.mark_line(color=VIEWER_COLOR).encode(detail="segment:N"),
                     base.mark_point(color=VIEWER_COLOR, filled=True, size=30), title=title, height=220)


def weekly_figure(weeks: pl.DataFrame, title: str, avg_title: str, watched_title: str, legend: str,
                  week_title: str, lang: str = DEFAULT_LANG) -> alt.VConcatChart | alt.Chart:
    """channel_viewers(every="week"): average viewers (top) and hours watched (bottom) per
    channel and week (a week without a viewer count is left out, not drawn as zero)."""
    shown = weeks.filter(pl.col("avg_viewers").is_not_null()) if not weeks.is_empty() else weeks
    if shown.is_empty():
        return empty(title, lang)
    drawn = named(shown).with_columns(pl.col("week").cast(pl.Datetime("us")).dt.strftime("%Y-%m-%dT00:00:00Z"))
    names = [n for _, n in channel_pairs(named(shown))]
    x = time_x("week", week_title, fmt="%Y-%m-%d")
    color = channel_color(names, legend)
    return alt.vconcat(
        panel(drawn, "avg_viewers", avg_title, x, color, legend, y_format=",.0f", points=True, lang=lang),
        panel(drawn, "hours_watched", watched_title, x, color, legend, y_format=",.0f", points=True, lang=lang),
        title=title).resolve_scale(color="shared")


def followers_figure(trend: pl.DataFrame, names: dict[str, str], title: str, followers: str, legend: str,
                     day_title: str, lang: str = DEFAULT_LANG) -> alt.Chart:
    """follower_trend(): each channel's follower count per recorded day (a point per reading;
    the line joins recorded days)."""
    if trend.is_empty():
        return empty(title, lang)
    drawn = trend.with_columns(pl.col("channel_id").replace_strict(names, default=pl.col("channel_id"))
                               .alias("channel_name"))
    drawn = drawn.with_columns(pl.col("day").cast(pl.Datetime("us")).dt.strftime("%Y-%m-%dT00:00:00Z"))
    order = sorted(set(drawn["channel_name"].to_list()))
    return panel(drawn, "followers", title, time_x("day", day_title, fmt="%m-%d"), channel_color(order, legend),
                 legend, points=True, height=300, lang=lang, scale=alt.Scale(zero=False))
