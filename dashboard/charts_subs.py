"""Pure shaping and figure builders for the Subscribers page: who subscribes by tier and by
tenure over time, and month-over-month gain and loss. Frames in, frames or plotly Figures
out; titles are arguments (Korean by default), untrusted names go through charts.plain."""
from __future__ import annotations

from datetime import date, timedelta

import plotly.graph_objects as go
import polars as pl
from plotly.subplots import make_subplots

from dashboard.charts import TIER_COLORS, _color, _empty, local_time, plain, tier_labels
from dashboard.charts_money import bucket_text
from dashboard.i18n import DEFAULT_LANG
from warehouse.queries_audience import TENURE_BUCKETS

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
                  names: dict[str, str] | None = None, lang: str = DEFAULT_LANG) -> go.Figure:
    """100 % stacked bars: each bucket's subscribers split by group (one channel's
    group_shares() rows; `names` relabels groups). Hover shows the share and head count."""
    if shares.is_empty():
        return _empty(title, lang)
    df = bucket_text(shares.sort("bucket"), "bucket", every, tz)
    fig = go.Figure()
    groups = list(dict.fromkeys(df["group"].to_list()))
    for i, group in enumerate(groups):
        part = df.filter(pl.col("group") == group)
        fig.add_trace(go.Bar(
            x=part["bucket"].to_list(), y=part["share"].to_list(), name=plain((names or {}).get(group, group)),
            customdata=part["subscribers"].to_list(), marker_color=(colors or {}).get(group, _color(i)),
            hovertemplate="%{x}<br>%{y:.1%} (%{customdata:,})<extra>%{fullData.name}</extra>"))
    fig.update_layout(title=title, barmode="stack", height=380, legend_title_text=group_title,
                      yaxis_tickformat=".0%", yaxis_range=[0, 1])
    fig.update_xaxes(title_text=f"({tz})", type="category", categoryorder="category ascending")
    return fig


def tier_names(lang: str = DEFAULT_LANG) -> dict[str, str]:
    return tier_labels(lang)


def tier_colors() -> dict[str, str]:
    return dict(TIER_COLORS)


def change_figure(change: pl.DataFrame, title: str, tz: str = "Asia/Seoul",
                  labels: tuple[str, str, str] = ("구독자", "신규", "이탈"),
                  lang: str = DEFAULT_LANG) -> go.Figure:
    """One channel's warehouse.subscriber_change() rows: subscribers seen per month (line,
    top) and gained (up) / lost (down) bars (bottom). `labels`: (subscribers, gained, lost)."""
    if change.is_empty():
        return _empty(title, lang)
    df = local_time(change, "month", tz).sort("month")
    months = df["month"].to_list()
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, vertical_spacing=0.1)
    fig.add_trace(go.Scatter(x=months, y=df["subscribers"].to_list(), name=labels[0],
                             mode="lines+markers", line={"color": "#00c73c"}), row=1, col=1)
    fig.add_trace(go.Bar(x=months, y=df["gained"].to_list(), name=labels[1], marker_color="#1f77b4"),
                  row=2, col=1)
    lost = [None if v is None else -v for v in df["lost"].to_list()]
    fig.add_trace(go.Bar(x=months, y=lost, name=labels[2], marker_color="#d62728",
                         customdata=df["lost"].to_list(),
                         hovertemplate="%{x}<br>-%{customdata:,}<extra>%{fullData.name}</extra>"),
                  row=2, col=1)
    fig.update_layout(title=title, barmode="relative", height=460)
    fig.update_xaxes(dtick="M1", tickformat="%Y-%m")
    return fig


def month_span(start: date, end: date) -> tuple[date, date]:
    """Whole calendar months around [start, end], starting a month early: month-over-month
    figures need the month before the range to compare its first month with."""
    first = start.replace(day=1)
    first = (first - timedelta(days=1)).replace(day=1)
    nxt = (end.replace(day=28) + timedelta(days=4)).replace(day=1)
    return first, nxt - timedelta(days=1)
