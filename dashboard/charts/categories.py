"""Pure figure builder of the Categories page (issue 20 §5): hours streamed per category."""
from __future__ import annotations

import altair as alt
import polars as pl

from dashboard.charts.style import empty, number_axis
from dashboard.i18n import DEFAULT_LANG

TOP = 15  # categories drawn; the table lists them all


def hours_figure(found: pl.DataFrame, title: str, hours: str, category: str, unknown: str, messages: str,
                 viewers: str, lang: str = DEFAULT_LANG) -> alt.Chart:
    """categories() across channels: a bar per category (the TOP with the most polled hours;
    the category without a name as `unknown`), with messages and average viewers in the
    tooltip. Category names are untrusted text, drawn as typed."""
    shown = found.filter(pl.col("hours") > 0) if not found.is_empty() else found
    if shown.is_empty():
        return empty(title, lang)
    drawn = (shown.group_by(pl.col("category").fill_null(unknown))
             .agg(pl.col("hours").sum(), pl.col("messages").sum(), pl.col("avg_viewers").max())
             .sort(["hours", "category"], descending=[True, False]).head(TOP))
    return alt.Chart(drawn, title=title, height=max(160, 28 * drawn.height)).mark_bar(color="#00c73c").encode(
        y=alt.Y("category:N", title=category, sort="-x"), x=alt.X("hours:Q", title=hours, axis=number_axis(lang)),
        tooltip=[alt.Tooltip("category:N", title=category), alt.Tooltip("hours:Q", format=",.1f", title=hours),
                 alt.Tooltip("messages:Q", format=",", title=messages),
                 alt.Tooltip("avg_viewers:Q", format=",.0f", title=viewers)])
