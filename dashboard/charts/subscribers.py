"""Subscribers: the subscriber share of chat, chatters by tier, who subscribes by tier and
by tenure over time, and month-over-month gain and loss. Frames in, frames or Altair charts
out; titles are arguments (Korean by default), untrusted names are drawn as typed."""
from __future__ import annotations

from datetime import date, timedelta

import altair as alt
import polars as pl

from dashboard.charts.clock import bucket_text, time_axis, time_tip, time_x, wall_clock
from dashboard.charts.style import (
    channel_color,
    channel_pairs,
    color,
    empty,
    named,
    number_axis,
    panel,
    percent_axis,
)
from dashboard.i18n import DEFAULT_LANG, t
from warehouse.read.queries.audience import TENURE_BUCKETS

TIER_ORDER = ("none", "tier 1", "tier 2")


_TIER_KEYS = {"none": "chart_tier_none", "tier 1": "chart_tier_1", "tier 2": "chart_tier_2"}


TIER_COLORS = {"none": "#9e9e9e", "tier 1": "#00c73c", "tier 2": "#7b3fe4"}


def tier_labels(lang: str = DEFAULT_LANG) -> dict[str, str]:
    """Display names of the tiers warehouse.tier_split() reports, in `lang`."""
    return {tier: t(key, lang) for tier, key in _TIER_KEYS.items()}


def subscriber_share_figure(df: pl.DataFrame, tz: str = "Asia/Seoul",
                            lang: str = DEFAULT_LANG) -> alt.VConcatChart | alt.Chart:
    """Subscriber share of messages (top) and of chatters (bottom) over time, per channel.

    `df`: warehouse.subscriber_ratio() output (bucket, message_share, chatter_share in 0..1)."""
    title = t("chart_sub_share", lang)
    if df.is_empty():
        return empty(title, lang)
    df = wall_clock(named(df).sort("channel_id", "bucket"), "bucket", tz)
    data = df.select("channel_id", "channel_name", "bucket", "message_share", "chatter_share")
    legend = t("chart_channel", lang)
    color = channel_color([name for _, name in channel_pairs(df)], legend)
    tip = time_tip("bucket", time_axis(tz, lang, "chart_date"))
    share = {"y_format": ".0%", "scale": alt.Scale(zero=True), "tips": [tip], "points": True, "height": 220}
    top = panel(data, "message_share", t("chart_sub_share_messages", lang),
                 time_x("bucket", "", "%m-%d", "day"), color, legend, **share)
    bottom = panel(data, "chatter_share", t("chart_sub_share_chatters", lang),
                    time_x("bucket", time_axis(tz, lang, "chart_date"), "%m-%d", "day"), color, legend, **share)
    return alt.vconcat(top, bottom, title=title).resolve_scale(x="shared")


def tier_split_figure(df: pl.DataFrame, lang: str = DEFAULT_LANG) -> alt.Chart:
    """Chatters per subscription tier, grouped bars per channel.

    `df`: warehouse.tier_split() output (channel_id, channel_name, tier, chatters, messages)."""
    title = t("chart_tier_split", lang)
    if df.is_empty():
        return empty(title, lang)
    tier_names = tier_labels(lang)
    names = [name for _, name in channel_pairs(df)]
    tiers = [tier for tier in TIER_ORDER if tier in set(df["tier"].to_list())]
    tiers += sorted(set(df["tier"].to_list()) - set(tiers))
    shown = [tier_names.get(tier, tier) for tier in tiers]
    data = named(df).with_columns(
        pl.col("tier").replace_strict(tier_names, default=pl.col("tier"), return_dtype=pl.Utf8).alias("tier_name"),
    ).select("channel_id", "channel_name", "tier_name", "chatters")
    legend = t("chart_tier", lang)
    return (alt.Chart(data, title=title, height=420).mark_bar()
            .encode(x=alt.X("channel_name:N", title=None, scale=alt.Scale(domain=names),  # not a sort list:
                            axis=alt.Axis(labelAngle=0)),  # see style.channel_color
                    xOffset=alt.XOffset("tier_name:N", sort=shown),
                    y=alt.Y("chatters:Q", title=t("chart_tier_chatters", lang), axis=number_axis(lang)),
                    color=alt.Color("tier_name:N", title=legend, sort=shown, scale=alt.Scale(
                        domain=shown, range=[TIER_COLORS.get(tier, color(i + 3)) for i, tier in enumerate(tiers)])),
                    tooltip=[alt.Tooltip("channel_name:N", title=t("chart_channel", lang)),
                             alt.Tooltip("tier_name:N", title=legend),
                             alt.Tooltip("chatters:Q", format=",", title=t("chart_tier_chatters", lang))]))


TENURE_COLORS = dict(zip(TENURE_BUCKETS, ("#c6e9c9", "#8fd694", "#4fbf5a", "#00a03c", "#00702a", "#004019"),
                         strict=True))


_SHARES_SCHEMA = {"channel_id": pl.Utf8, "bucket": pl.Datetime("us", "UTC"), "group": pl.Utf8,
                  "subscribers": pl.Int64, "share": pl.Float64}


def group_shares(tenure: pl.DataFrame, by: str) -> pl.DataFrame:
    """A warehouse.subscriber_tenure() result summed by `by` ("tier" or "tenure_bucket"):
    [channel_id, bucket, group, subscribers, share (of the channel's subscribers seen in
    that bucket, 0..1)]. Each subscriber has one tier and one tenure per bucket, so the
    sums count people, and the shares of a bucket add up to 1."""
    if by not in ("tier", "tenure_bucket"):
        raise ValueError(f"by={by!r}: use tier or tenure_bucket")
    if tenure.is_empty():
        return pl.DataFrame(schema=_SHARES_SCHEMA)
    order = list(TENURE_BUCKETS) if by == "tenure_bucket" else sorted(set(tenure["tier"].to_list()))
    rank = {g: i for i, g in enumerate(order)}
    out = (tenure.group_by("channel_id", "bucket", by)
           .agg(pl.col("subscribers").sum().cast(pl.Int64))
           .rename({by: "group"})
           .with_columns((pl.col("subscribers") / pl.col("subscribers").sum().over("channel_id", "bucket"))
                         .alias("share"),
                         pl.col("group").replace_strict(rank, default=len(rank)).alias("_rank")))
    return out.sort("channel_id", "bucket", "_rank").drop("_rank")


def shares_figure(shares: pl.DataFrame, title: str, tz: str = "Asia/Seoul",
                  colors: dict[str, str] | None = None, group_title: str = "", every: str = "day",
                  names: dict[str, str] | None = None, lang: str = DEFAULT_LANG) -> alt.Chart:
    """100 % stacked bars: each bucket's subscribers split by group (one channel's
    group_shares() rows; `names` relabels groups). The tooltip shows the share and head count."""
    if shares.is_empty():
        return empty(title, lang)
    df = bucket_text(shares.sort("bucket"), "bucket", every, tz)
    groups = list(dict.fromkeys(df["group"].to_list()))
    shown = [(names or {}).get(g, g) for g in groups]
    data = df.select("bucket", pl.col("group").replace_strict(
        names or {}, default=pl.col("group"), return_dtype=pl.Utf8).alias("group"),
        pl.col("group").replace_strict({g: i for i, g in enumerate(groups)}, return_dtype=pl.Int64).alias("order"),
        "share", "subscribers")
    return (alt.Chart(data, title=title, height=380).mark_bar()
            .encode(x=alt.X("bucket:O", title=f"({tz})", sort="ascending"),
                    y=alt.Y("share:Q", title=None, stack="zero", scale=alt.Scale(domain=[0, 1]),
                            axis=percent_axis()),
                    color=alt.Color("group:N", title=group_title or None, sort=shown, scale=alt.Scale(
                        domain=shown, range=[(colors or {}).get(g, color(i)) for i, g in enumerate(groups)])),
                    order=alt.Order("order:Q"),
                    tooltip=[alt.Tooltip("bucket:O", title=f"({tz})"), alt.Tooltip("group:N", title=group_title or " "),
                             alt.Tooltip("share:Q", format=".1%", title="%"),
                             alt.Tooltip("subscribers:Q", format=",", title="#")]))


def tier_names(lang: str = DEFAULT_LANG) -> dict[str, str]:
    return tier_labels(lang)


def tier_colors() -> dict[str, str]:
    return dict(TIER_COLORS)


def change_figure(change: pl.DataFrame, title: str, tz: str = "Asia/Seoul",
                  labels: tuple[str, str, str] = ("구독자", "신규", "이탈"),
                  lang: str = DEFAULT_LANG) -> alt.VConcatChart | alt.Chart:
    """One channel's warehouse.subscriber_change() rows: subscribers seen per month (line,
    top) and gained (up) / lost (down) bars (bottom). `labels`: (subscribers, gained, lost)."""
    if change.is_empty():
        return empty(title, lang)
    df = wall_clock(change, "month", tz).sort("month")
    x = time_x("month", "", "%Y-%m", "month")
    month = time_tip("month", " ")
    top = (alt.Chart(df.select("month", "subscribers"), height=200).mark_line(point=True, color="#00c73c")
           .encode(x=x, y=alt.Y("subscribers:Q", title=labels[0], axis=number_axis(lang)),
                   tooltip=[month, alt.Tooltip("subscribers:Q", format=",", title=labels[0])]))
    moves = pl.concat([df.select("month", pl.lit(labels[1]).alias("kind"), pl.col("gained").alias("count"),
                                 pl.col("gained").alias("value")),
                       df.select("month", pl.lit(labels[2]).alias("kind"), pl.col("lost").alias("count"),
                                 (-pl.col("lost")).alias("value"))])
    bottom = (alt.Chart(moves, height=200).mark_bar()
              .encode(x=x, y=alt.Y("value:Q", title=None, axis=number_axis(lang)),
                      color=alt.Color("kind:N", title=None, sort=list(labels[1:]),
                                      scale=alt.Scale(domain=list(labels[1:]), range=["#1f77b4", "#d62728"])),
                      tooltip=[month, alt.Tooltip("kind:N", title=" "),
                               alt.Tooltip("count:Q", format=",", title="#")]))
    return alt.vconcat(top, bottom, title=title).resolve_scale(x="shared", color="independent")


def month_span(start: date, end: date) -> tuple[date, date]:
    """Whole calendar months around [start, end], starting a month early: month-over-month
    figures need the month before the range to compare its first month with."""
    first = start.replace(day=1)
    first = (first - timedelta(days=1)).replace(day=1)
    nxt = (end.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)
