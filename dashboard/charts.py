"""Pure chart builders: a polars DataFrame from the warehouse query functions in, an Altair
(Vega-Lite) chart out. No Streamlit, no I/O, so they are usable from notebooks and unit tests.

Times are drawn as wall-clock time in the display timezone: Vega-Lite would show datetimes in
the browser's zone, so the builders pass them as wall-clock text marked UTC (wall_clock()) and
read them on UTC scales and time units (time_x(), time_tip()).

Untrusted text (channel names, nicknames, titles) goes into the charts as typed: Vega draws
text as text, and Streamlit's Vega tooltips escape it (vega-tooltip's default sanitize).
Importing this module installs dashboard.safe_display, so a notebook displaying these charts
embeds their specs script-safe (Altair's default HTML renderer does not).

Texts: a title the page passes comes from the page's labels; the words a builder owns (axes,
legend titles, tier names, the empty-chart note) are labels too (dashboard/labels/charts.py),
looked up in the builder's `lang` ("ko" by default, pages pass the session's)."""
from __future__ import annotations

from datetime import datetime

import altair as alt
import polars as pl

from dashboard import safe_display  # noqa: F401 - installs the text-safe renderers on import
from dashboard.i18n import DEFAULT_LANG, t

TIER_ORDER = ("none", "tier 1", "tier 2")
_TIER_KEYS = {"none": "chart_tier_none", "tier 1": "chart_tier_1", "tier 2": "chart_tier_2"}
TIER_COLORS = {"none": "#9e9e9e", "tier 1": "#00c73c", "tier 2": "#7b3fe4"}


def local_time(df: pl.DataFrame, column: str, tz: str) -> pl.DataFrame:
    """`column` as naive wall-clock time in `tz` (unchanged if it is naive already)."""
    if df.is_empty() or column not in df.columns:
        return df
    dtype = df.schema[column]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return df.with_columns(pl.col(column).dt.convert_time_zone(tz).dt.replace_time_zone(None))
    return df


_STEP = {"minute": "1m", "hour": "1h", "day": "1d"}


def fill_gaps(df: pl.DataFrame, every: str) -> pl.DataFrame:
    """Add the buckets without messages (the warehouse leaves them out) as zeros, between each
    channel's first and last bucket, so a line drops to 0 instead of bridging a quiet spell."""
    if df.is_empty() or every not in _STEP:
        return df
    filled = df.sort("channel_id", "bucket").upsample(time_column="bucket", every=_STEP[every],
                                                      group_by="channel_id")
    counts = [c for c in ("messages", "chatters") if c in df.columns]
    return filled.with_columns(
        pl.col("channel_name").forward_fill().over("channel_id"),
        *(pl.col(c).fill_null(0) for c in counts),
    )


def plain(text: object) -> str:
    """Untrusted text (channel names, nicknames, messages) for a Plotly figure written out
    without a renderer (fig.write_html): Plotly renders a subset of HTML (<b>, <br>, <a href>)
    in trace names, axis categories and hover text, so the markup characters are turned into
    entities and show as typed. A figure displayed in a notebook gets the same from
    safe_display's renderer: do not apply both. Vega-Lite charts take text as it is."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            if text is not None else "")


def wall_clock(df: pl.DataFrame, column: str, tz: str) -> pl.DataFrame:
    """`column` as wall-clock time in `tz`, written as ISO text marked UTC
    ("2026-09-02T00:00:00Z"). Vega-Lite shows datetimes in the browser's zone; read on the
    UTC scales and time units of time_x() and time_tip(), this text shows the `tz` wall
    clock whatever the browser's zone."""
    if df.is_empty() or column not in df.columns:
        return df
    if df.schema[column] == pl.Date:  # a calendar day: its midnight
        df = df.with_columns(pl.col(column).cast(pl.Datetime("us")))
    return local_time(df, column, tz).with_columns(pl.col(column).dt.strftime("%Y-%m-%dT%H:%M:%SZ"))


# Tick labels in digits, whatever the language: a day at midnight ("09-02"), a time of day
# otherwise ("14:30"). Vega's default labels are English words ("Sep 02", "Wed 02", "PM").
NUMERIC_TIME_LABELS = ("utchours(datum.value) == 0 && utcminutes(datum.value) == 0"
                       " ? utcFormat(datum.value, '%m-%d') : utcFormat(datum.value, '%H:%M')")


def time_x(column: str, title: str, fmt: str | None = None, tick: str | None = None) -> alt.X:
    """An x encoding of a wall_clock() column: a UTC scale, so no browser zone shifts it.
    `fmt`: the tick label format (numeric directives only; default NUMERIC_TIME_LABELS);
    `tick`: one tick per "day" or "month" at most."""
    axis = alt.Axis(labelOverlap=True, **({"format": fmt} if fmt else {"labelExpr": NUMERIC_TIME_LABELS}),
                    **({"tickCount": {"interval": tick, "step": 1}} if tick else {}))
    return alt.X(f"{column}:T", title=title, scale=alt.Scale(type="utc"), axis=axis)


def time_tip(column: str, title: str = "") -> alt.Tooltip:
    """A tooltip of a wall_clock() column, formatted in UTC (= the wall clock it holds)."""
    return alt.Tooltip(f"{column}:T", title=title or column, timeUnit="utcyearmonthdatehoursminutes",
                       format="%Y-%m-%d %H:%M")


def mark_time(chart: alt.VConcatChart | alt.Chart, when: datetime, tz: str,
              color: str = "#ff7f0e") -> alt.VConcatChart | alt.LayerChart:
    """`chart` (a time chart of this module) with a dotted vertical line at `when` (a
    tz-aware datetime) on each panel."""
    at = local_time(pl.DataFrame({"at": [when]}), "at", tz)["at"][0].strftime("%Y-%m-%dT%H:%M:%SZ")
    rule = alt.Chart(alt.Data(values=[{"at": at}])).mark_rule(strokeDash=[4, 4], color=color).encode(
        x=alt.X("at:T", scale=alt.Scale(type="utc"), axis=None))  # the panel's axis labels it
    if isinstance(chart, alt.VConcatChart):
        return alt.vconcat(*(alt.layer(panel, rule) for panel in chart.vconcat),
                           title=chart.title).resolve_scale(color="shared")
    return alt.layer(chart, rule)


def tier_labels(lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Display names of the tiers warehouse.tier_split() reports, in `lang`."""
    return {tier: t(key, lang) for tier, key in _TIER_KEYS.items()}


def time_axis(tz: str, lang: str = DEFAULT_LANG, word: str = "chart_time") -> str:
    """An axis title saying the times are wall-clock time in `tz`: "시간 (Asia/Seoul)"."""
    return f"{t(word, lang)} ({tz})"


def _empty(title: str, lang: str = DEFAULT_LANG) -> alt.Chart:
    """A chart with only its title and the "no data" note."""
    return (alt.Chart(alt.Data(values=[{"note": t("chart_no_data", lang)}]), title=title, height=300)
            .mark_text(size=16, color="#888").encode(text="note:N"))


def _channels(df: pl.DataFrame) -> list[tuple[str, str]]:
    """(channel_id, channel_name) pairs in a stable order (by name, then id)."""
    pairs = df.select("channel_id", "channel_name").unique().sort("channel_name", "channel_id")
    return [(cid, name or cid) for cid, name in pairs.iter_rows()]


def channel_color(names: list[str], title: str) -> alt.Color:
    """One palette color per channel name, in the order given (the legend's order)."""
    return alt.Color("channel_name:N", title=title, sort=names,
                     scale=alt.Scale(domain=names, range=[_color(i) for i in range(len(names))]))


def _named(df: pl.DataFrame) -> pl.DataFrame:
    """`df` with channel_name filled in by the id where the name is unknown."""
    return df.with_columns(pl.coalesce("channel_name", "channel_id").alias("channel_name"))


def _panel(data: pl.DataFrame, value: str, title: str, x: alt.X, color: alt.Color, legend: str,
           y_format: str = ",", tips: list | None = None, points: bool = False, height: int = 240,
           **y) -> alt.Chart:
    """One panel of a two-panel time chart: a line per channel of `value`."""
    return (alt.Chart(data, title=alt.TitleParams(title, fontSize=13), height=height)
            .mark_line(point=points)
            .encode(x=x, y=alt.Y(f"{value}:Q", title=None, axis=alt.Axis(format=y_format), **y), color=color,
                    detail="channel_id:N",
                    tooltip=[alt.Tooltip("channel_name:N", title=legend), *(tips or []),
                             alt.Tooltip(f"{value}:Q", format=y_format, title=title)]))


def activity_figure(df: pl.DataFrame, tz: str = "Asia/Seoul", every: str | None = None,
                    lang: str = DEFAULT_LANG) -> alt.VConcatChart | alt.Chart:
    """Messages (top) and unique chatters (bottom) per bucket, one line per channel.

    `df`: warehouse.activity() output (channel_id, channel_name, bucket, messages, chatters);
    with `every` ("minute", "hour", "day") quiet buckets are drawn as zeros."""
    title = t("chart_activity", lang)
    if df.is_empty():
        return _empty(title, lang)
    df = local_time(df, "bucket", tz)
    df = wall_clock(_named(fill_gaps(df, every) if every else df).sort("channel_id", "bucket"), "bucket", tz)
    data = df.select("channel_id", "channel_name", "bucket", "messages", "chatters")
    legend = t("chart_channel", lang)
    color = channel_color([name for _, name in _channels(df)], legend)
    tip = time_tip("bucket", time_axis(tz, lang))
    points = df.group_by("channel_id").len()["len"].max() < 40
    top = _panel(data, "messages", t("chart_messages", lang), time_x("bucket", ""), color, legend, tips=[tip],
                 points=points)
    bottom = _panel(data, "chatters", t("chart_chatters", lang), time_x("bucket", time_axis(tz, lang)), color,
                    legend, tips=[tip], points=points)
    return alt.vconcat(top, bottom, title=title).resolve_scale(x="shared")


def subscriber_share_figure(df: pl.DataFrame, tz: str = "Asia/Seoul",
                            lang: str = DEFAULT_LANG) -> alt.VConcatChart | alt.Chart:
    """Subscriber share of messages (top) and of chatters (bottom) over time, per channel.

    `df`: warehouse.subscriber_ratio() output (bucket, message_share, chatter_share in 0..1)."""
    title = t("chart_sub_share", lang)
    if df.is_empty():
        return _empty(title, lang)
    df = wall_clock(_named(df).sort("channel_id", "bucket"), "bucket", tz)
    data = df.select("channel_id", "channel_name", "bucket", "message_share", "chatter_share")
    legend = t("chart_channel", lang)
    color = channel_color([name for _, name in _channels(df)], legend)
    tip = time_tip("bucket", time_axis(tz, lang, "chart_date"))
    share = {"y_format": ".0%", "scale": alt.Scale(zero=True), "tips": [tip], "points": True, "height": 220}
    top = _panel(data, "message_share", t("chart_sub_share_messages", lang),
                 time_x("bucket", "", "%m-%d", "day"), color, legend, **share)
    bottom = _panel(data, "chatter_share", t("chart_sub_share_chatters", lang),
                    time_x("bucket", time_axis(tz, lang, "chart_date"), "%m-%d", "day"), color, legend, **share)
    return alt.vconcat(top, bottom, title=title).resolve_scale(x="shared")


def tier_split_figure(df: pl.DataFrame, lang: str = DEFAULT_LANG) -> alt.Chart:
    """Chatters per subscription tier, grouped bars per channel.

    `df`: warehouse.tier_split() output (channel_id, channel_name, tier, chatters, messages)."""
    title = t("chart_tier_split", lang)
    if df.is_empty():
        return _empty(title, lang)
    tier_names = tier_labels(lang)
    names = [name for _, name in _channels(df)]
    tiers = [tier for tier in TIER_ORDER if tier in set(df["tier"].to_list())]
    tiers += sorted(set(df["tier"].to_list()) - set(tiers))
    shown = [tier_names.get(tier, tier) for tier in tiers]
    data = _named(df).with_columns(
        pl.col("tier").replace_strict(tier_names, default=pl.col("tier"), return_dtype=pl.Utf8).alias("tier_name"),
    ).select("channel_id", "channel_name", "tier_name", "chatters")
    legend = t("chart_tier", lang)
    return (alt.Chart(data, title=title, height=420).mark_bar()
            .encode(x=alt.X("channel_name:N", title=None, sort=names, axis=alt.Axis(labelAngle=0)),
                    xOffset=alt.XOffset("tier_name:N", sort=shown),
                    y=alt.Y("chatters:Q", title=t("chart_tier_chatters", lang)),
                    color=alt.Color("tier_name:N", title=legend, sort=shown, scale=alt.Scale(
                        domain=shown, range=[TIER_COLORS.get(tier, _color(i + 3)) for i, tier in enumerate(tiers)])),
                    tooltip=[alt.Tooltip("channel_name:N", title=t("chart_channel", lang)),
                             alt.Tooltip("tier_name:N", title=legend),
                             alt.Tooltip("chatters:Q", format=",", title=t("chart_tier_chatters", lang))]))


_PALETTE = ("#00c73c", "#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b",
            "#9e9e9e", "#17becf", "#e377c2", "#bcbd22")


def _color(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]
