"""What every chart shares: the palette and one color per channel, channel names filled in,
the two-panel time chart's panel, the empty chart's note, and untrusted text made plain for
Plotly figures (Vega-Lite takes text as it is)."""
from __future__ import annotations

import altair as alt
import polars as pl

from dashboard.formats import axis_label_expr
from dashboard.i18n import DEFAULT_LANG, t

PALETTE = ("#00c73c", "#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b",
           "#9e9e9e", "#17becf", "#e377c2", "#bcbd22")


# A chart draws at most this many channels, one palette color each: with "all channels"
# picked (300 on a realistic lake) a line or bar per channel repeats every color thirty
# times and costs the browser seconds to lay out (its legend alone has a row per channel).
# The busiest are drawn; the page's table keeps every channel.
MAX_CHANNELS = len(PALETTE)


def number_axis(lang: str = DEFAULT_LANG, **kw) -> alt.Axis:
    """The axis of a count or an amount: thousands separators (8,000), in Korean 만 and 억 from
    ten thousand on (1.2만), never scientific notation (1e+4). Every quantitative axis of a
    builder is this one or percent_axis."""
    return alt.Axis(labelExpr=axis_label_expr(lang), **kw)


def percent_axis(**kw) -> alt.Axis:
    """The axis of a share of one (0.25 reads 25%)."""
    return alt.Axis(format=".0%", **kw)


def color(i: int) -> str:
    """The i-th palette color (the palette repeats past its end)."""
    return PALETTE[i % len(PALETTE)]


def channel_color(names: list[str], title: str) -> alt.Color:
    """One palette color per channel name, in the order given (the legend's order: the scale's
    domain). No `sort` list: Vega-Lite writes one into an expression, which Vega cannot parse
    when a name holds U+2028 or U+2029 (the chart is then not drawn at all)."""
    return alt.Color("channel_name:N", title=title,
                     scale=alt.Scale(domain=names, range=[color(i) for i in range(len(names))]))


def channel_pairs(df: pl.DataFrame) -> list[tuple[str, str]]:
    """(channel_id, channel_name) pairs in a stable order (by name, then id)."""
    pairs = df.select("channel_id", "channel_name").unique().sort("channel_name", "channel_id")
    return [(cid, name or cid) for cid, name in pairs.iter_rows()]


def busiest(df: pl.DataFrame, by: str, n: int | None = None) -> pl.DataFrame:
    """The rows of the `n` (default MAX_CHANNELS) channels with the most `by` (summed over
    their rows; ties by channel_id), in `df`'s order; `df` itself when it has no more."""
    n = MAX_CHANNELS if n is None else n
    if df.is_empty() or df["channel_id"].n_unique() <= n:
        return df
    top = (df.group_by("channel_id").agg(pl.col(by).sum())
           .sort([by, "channel_id"], descending=[True, False], nulls_last=True).head(n)["channel_id"])
    return df.filter(pl.col("channel_id").is_in(top.implode()))


def named(df: pl.DataFrame) -> pl.DataFrame:
    """`df` with channel_name filled in by the id where the name is unknown."""
    return df.with_columns(pl.coalesce("channel_name", "channel_id").alias("channel_name"))


def panel(data: pl.DataFrame, value: str, title: str, x: alt.X, color: alt.Color, legend: str,
           y_format: str = ",", tips: list | None = None, points: bool = False, height: int = 240,
           lang: str = DEFAULT_LANG, **y) -> alt.Chart:
    """One panel of a two-panel time chart: a line per channel of `value` (`y_format`: its
    tooltip's d3 format; a percent one makes the axis a percent_axis, else number_axis)."""
    axis = percent_axis() if "%" in y_format else number_axis(lang)
    return (alt.Chart(data, title=alt.TitleParams(title, fontSize=13), height=height)
            .mark_line(point=points)
            .encode(x=x, y=alt.Y(f"{value}:Q", title=None, axis=axis, **y), color=color,
                    detail="channel_id:N",
                    tooltip=[alt.Tooltip("channel_name:N", title=legend), *(tips or []),
                             alt.Tooltip(f"{value}:Q", format=y_format, title=title)]))


def empty(title: str, lang: str = DEFAULT_LANG) -> alt.Chart:
    """A chart with only its title and the "no data" note."""
    return (alt.Chart(alt.Data(values=[{"note": t("chart_no_data", lang)}]), title=title, height=300)
            .mark_text(size=16, color="#888").encode(text="note:N"))


def plain(text: object) -> str:
    """Untrusted text (channel names, nicknames, messages) for a Plotly figure written out
    without a renderer (fig.write_html): Plotly renders a subset of HTML (<b>, <br>, <a href>)
    in trace names, axis categories and hover text, so the markup characters are turned into
    entities and show as typed. A figure displayed in a notebook gets the same from
    safe_display's renderer: do not apply both. Vega-Lite charts take text as it is."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            if text is not None else "")
