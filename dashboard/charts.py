"""Pure chart builders: a polars DataFrame from the warehouse query functions in, a plotly
Figure out. No Streamlit, no I/O, so they are usable from notebooks and unit tests.

Times are drawn as wall-clock time in the display timezone (plotly.js has no notion of
timezones, so tz-aware values are converted and then made naive on purpose).

Texts: a title the page passes comes from the page's labels; the words a builder owns (axes,
legend titles, tier names, the empty-chart note) are labels too (dashboard/labels/charts.py),
looked up in the builder's `lang` ("ko" by default, pages pass the session's)."""
from __future__ import annotations

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

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
    """Untrusted text (channel names, nicknames, messages) for plotly trace names, axis
    categories and hover text: plotly renders a subset of HTML (<b>, <br>, <a href>) there,
    so the markup characters are turned into entities and show as typed."""
    return (str(text).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            if text is not None else "")


def tier_labels(lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Display names of the tiers warehouse.tier_split() reports, in `lang`."""
    return {tier: t(key, lang) for tier, key in _TIER_KEYS.items()}


def time_axis(tz: str, lang: str = DEFAULT_LANG, word: str = "chart_time") -> str:
    """An axis title saying the times are wall-clock time in `tz`: "시간 (Asia/Seoul)"."""
    return f"{t(word, lang)} ({tz})"


def _empty(title: str, lang: str = DEFAULT_LANG) -> go.Figure:
    fig = go.Figure()
    fig.update_layout(title=title, xaxis_visible=False, yaxis_visible=False, height=300)
    fig.add_annotation(text=t("chart_no_data", lang), showarrow=False, font_size=16,
                       x=0.5, y=0.5, xref="paper", yref="paper")
    return fig


def _channels(df: pl.DataFrame) -> list[tuple[str, str]]:
    """(channel_id, channel_name) pairs in a stable order (by name, then id)."""
    pairs = df.select("channel_id", "channel_name").unique().sort("channel_name", "channel_id")
    return [(cid, plain(name or cid)) for cid, name in pairs.iter_rows()]


def activity_figure(df: pl.DataFrame, tz: str = "Asia/Seoul", every: str | None = None,
                    lang: str = DEFAULT_LANG) -> go.Figure:
    """Messages (top) and unique chatters (bottom) per bucket, one line per channel.

    `df`: warehouse.activity() output (channel_id, channel_name, bucket, messages, chatters);
    with `every` ("minute", "hour", "day") quiet buckets are drawn as zeros."""
    title = t("chart_activity", lang)
    if df.is_empty():
        return _empty(title, lang)
    df = local_time(df, "bucket", tz)
    df = (fill_gaps(df, every) if every else df).sort("bucket")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=(t("chart_messages", lang), t("chart_chatters", lang)))
    for i, (cid, name) in enumerate(_channels(df)):
        part = df.filter(pl.col("channel_id") == cid)
        color = _color(i)
        for row, col in ((1, "messages"), (2, "chatters")):
            fig.add_trace(go.Scatter(
                x=part["bucket"].to_list(), y=part[col].to_list(), name=name, legendgroup=cid,
                showlegend=row == 1, mode="lines+markers" if part.height < 40 else "lines",
                line={"color": color}, hovertemplate="%{x}<br>%{y:,}<extra>%{fullData.name}</extra>",
            ), row=row, col=1)
    fig.update_layout(title=title, height=560, hovermode="x unified",
                      legend_title_text=t("chart_channel", lang))
    fig.update_xaxes(title_text=time_axis(tz, lang), row=2, col=1)
    return fig


def subscriber_share_figure(df: pl.DataFrame, tz: str = "Asia/Seoul", lang: str = DEFAULT_LANG) -> go.Figure:
    """Subscriber share of messages (top) and of chatters (bottom) over time, per channel.

    `df`: warehouse.subscriber_ratio() output (bucket, message_share, chatter_share in 0..1)."""
    title = t("chart_sub_share", lang)
    if df.is_empty():
        return _empty(title, lang)
    df = local_time(df, "bucket", tz).sort("bucket")
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.08,
                        subplot_titles=(t("chart_sub_share_messages", lang),
                                        t("chart_sub_share_chatters", lang)))
    for i, (cid, name) in enumerate(_channels(df)):
        part = df.filter(pl.col("channel_id") == cid)
        for row, col in ((1, "message_share"), (2, "chatter_share")):
            fig.add_trace(go.Scatter(
                x=part["bucket"].to_list(), y=part[col].to_list(), name=name, legendgroup=cid,
                showlegend=row == 1, mode="lines+markers", line={"color": _color(i)},
                hovertemplate="%{x}<br>%{y:.1%}<extra>%{fullData.name}</extra>",
            ), row=row, col=1)
    fig.update_yaxes(tickformat=".0%", rangemode="tozero")
    fig.update_xaxes(dtick=86_400_000, tickformat="%m-%d")  # daily buckets: one tick a day
    fig.update_layout(title=title, height=520, legend_title_text=t("chart_channel", lang))
    fig.update_xaxes(title_text=time_axis(tz, lang, "chart_date"), row=2, col=1)
    return fig


def tier_split_figure(df: pl.DataFrame, lang: str = DEFAULT_LANG) -> go.Figure:
    """Chatters per subscription tier, grouped bars per channel.

    `df`: warehouse.tier_split() output (channel_id, channel_name, tier, chatters, messages)."""
    title = t("chart_tier_split", lang)
    if df.is_empty():
        return _empty(title, lang)
    fig = go.Figure()
    tier_names = tier_labels(lang)
    names = [name for _, name in _channels(df)]
    tiers = [tier for tier in TIER_ORDER if tier in set(df["tier"].to_list())]
    tiers += sorted(set(df["tier"].to_list()) - set(tiers))
    for i, tier in enumerate(tiers):
        part = df.filter(pl.col("tier") == tier)
        by_name = {plain(n or c): v for c, n, v in part.select("channel_id", "channel_name", "chatters").iter_rows()}
        fig.add_trace(go.Bar(x=names, y=[by_name.get(n, 0) for n in names],
                             name=tier_names.get(tier, plain(tier)),
                             marker_color=TIER_COLORS.get(tier, _color(i + 3))))
    fig.update_layout(title=title, barmode="group", height=420, yaxis_title=t("chart_tier_chatters", lang),
                      legend_title_text=t("chart_tier", lang))
    return fig


_PALETTE = ("#00c73c", "#1f77b4", "#ff7f0e", "#d62728", "#9467bd", "#8c564b",
            "#9e9e9e", "#17becf", "#e377c2", "#bcbd22")


def _color(i: int) -> str:
    return _PALETTE[i % len(_PALETTE)]
