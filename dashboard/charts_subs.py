"""Pure shaping and figure builders for the Subscribers page: who subscribes by tier and by
tenure over time, and month-over-month gain and loss. Frames in, frames or Altair charts
out; titles are arguments (Korean by default), untrusted names are drawn as typed."""
from __future__ import annotations

from datetime import date, timedelta

import altair as alt
import polars as pl

from dashboard.charts import TIER_COLORS, _color, _empty, tier_labels, time_tip, time_x, wall_clock
from dashboard.charts_money import bucket_text
from dashboard.i18n import DEFAULT_LANG
from warehouse.read.queries.audience import TENURE_BUCKETS

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
        return _empty(title, lang)
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
                            axis=alt.Axis(format=".0%")),
                    color=alt.Color("group:N", title=group_title or None, sort=shown, scale=alt.Scale(
                        domain=shown, range=[(colors or {}).get(g, _color(i)) for i, g in enumerate(groups)])),
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
        return _empty(title, lang)
    df = wall_clock(change, "month", tz).sort("month")
    x = time_x("month", "", "%Y-%m", "month")
    month = time_tip("month", " ")
    top = (alt.Chart(df.select("month", "subscribers"), height=200).mark_line(point=True, color="#00c73c")
           .encode(x=x, y=alt.Y("subscribers:Q", title=labels[0]),
                   tooltip=[month, alt.Tooltip("subscribers:Q", format=",", title=labels[0])]))
    moves = pl.concat([df.select("month", pl.lit(labels[1]).alias("kind"), pl.col("gained").alias("count"),
                                 pl.col("gained").alias("value")),
                       df.select("month", pl.lit(labels[2]).alias("kind"), pl.col("lost").alias("count"),
                                 (-pl.col("lost")).alias("value"))])
    bottom = (alt.Chart(moves, height=200).mark_bar()
              .encode(x=x, y=alt.Y("value:Q", title=None),
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
