"""Pure frame and figure builders of the Audience page (issue 20 §7): the overlap matrix and
the top pairs of audience_overlap(), a channel's closest channels and their weekly trend
(audience_overlap_trend()), broadcast-to-broadcast retention (broadcast_retention()) and
the cohort triangle (chatter_cohorts())."""
from __future__ import annotations

import altair as alt
import polars as pl

from dashboard.charts.clock import BUCKET_FORMAT, time_tip, time_x, wall_clock
from dashboard.charts.style import color, empty, number_axis
from dashboard.i18n import DEFAULT_LANG

MATRIX_CHANNELS = 15  # the matrix draws the channels with the most chatters; the table lists every pair
OVERLAP_METRICS = ("jaccard", "shared")


def _name(names: dict[str, str], column: str) -> pl.Expr:
    return pl.col(column).replace_strict(names, default=pl.col(column), return_dtype=pl.String)


def top_pairs(pairs: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """audience_overlap()'s pairs with the channels' names and each side's share of its
    chatters it shares (share_of_a = shared / chatters_a), most shared first (then by
    Jaccard, then by ids)."""
    return (pairs.with_columns(_name(names, "channel_a").alias("channel_name_a"),
                               _name(names, "channel_b").alias("channel_name_b"),
                               (pl.col("shared") / pl.col("chatters_a")).alias("share_of_a"),
                               (pl.col("shared") / pl.col("chatters_b")).alias("share_of_b"))
            .sort(["shared", "jaccard", "channel_a", "channel_b"], descending=[True, True, False, False])
            .select("channel_name_a", "channel_name_b", "shared", "jaccard", "share_of_a", "share_of_b",
                    "chatters_a", "chatters_b", "channel_a", "channel_b"))


def biggest(pairs: pl.DataFrame, n: int | None = MATRIX_CHANNELS) -> list[str]:
    """The `n` (None: all) channels of the pairs with the most chatters (ties by id)."""
    sizes = pl.concat([pairs.select(pl.col("channel_a").alias("channel_id"), pl.col("chatters_a").alias("chatters")),
                       pairs.select(pl.col("channel_b").alias("channel_id"), pl.col("chatters_b").alias("chatters"))])
    ranked = sizes.unique().sort(["chatters", "channel_id"], descending=[True, False])
    return ranked["channel_id"].to_list()[:n]


def overlap_cells(pairs: pl.DataFrame, names: dict[str, str], n: int = MATRIX_CHANNELS) -> pl.DataFrame:
    """The matrix's cells: [row, column (channel names), shared, jaccard], each pair of the
    `n` biggest channels twice (both ways round), the diagonal left empty."""
    keep = biggest(pairs, n)
    within = pairs.filter(pl.col("channel_a").is_in(keep) & pl.col("channel_b").is_in(keep))
    one = within.select(_name(names, "channel_a").alias("row"), _name(names, "channel_b").alias("column"),
                        "shared", "jaccard")
    return pl.concat([one, one.select(pl.col("column").alias("row"), pl.col("row").alias("column"), "shared",
                                      "jaccard")])


def matrix_figure(pairs: pl.DataFrame, names: dict[str, str], metric: str, title: str, metric_title: str,
                  lang: str = DEFAULT_LANG) -> alt.Chart | alt.LayerChart:
    """A channel × channel heatmap of `metric` (jaccard or shared) for the channels with the
    most chatters, with the value written in each cell."""
    cells = overlap_cells(pairs, names) if not pairs.is_empty() else pairs
    if cells.is_empty():
        return empty(title, lang)
    order = [names.get(c, c) for c in biggest(pairs)]
    fmt = ".0%" if metric == "jaccard" else ","
    base = alt.Chart(cells, title=title, height=max(220, 34 * len(order))).encode(
        # names ordered by the scale's domain, not a sort list (see style.channel_color)
        x=alt.X("column:N", title=None, scale=alt.Scale(domain=order), axis=alt.Axis(labelAngle=-40, labelLimit=140)),
        y=alt.Y("row:N", title=None, scale=alt.Scale(domain=order), axis=alt.Axis(labelLimit=140)),
        tooltip=[alt.Tooltip("row:N", title=" "), alt.Tooltip("column:N", title=" "),
                 alt.Tooltip(f"{metric}:Q", format=fmt, title=metric_title)])
    rects = base.mark_rect().encode(color=alt.Color(f"{metric}:Q", title=metric_title,
                                                    scale=alt.Scale(scheme="greens"),
                                                    legend=alt.Legend(format=fmt)))
    text = base.mark_text(fontSize=11).encode(text=alt.Text(f"{metric}:Q", format=fmt))
    return alt.layer(rects, text)


def partners(pairs: pl.DataFrame, channel: str, n: int = 3) -> list[str]:
    """The channels sharing the most chatters with `channel` in audience_overlap()'s pairs
    (ties by Jaccard, then id), the first `n` (n=None: all), none with nobody shared."""
    mine = (pairs.filter((pl.col("channel_a") == channel) | (pl.col("channel_b") == channel))
            .filter(pl.col("shared") > 0)
            .with_columns(pl.when(pl.col("channel_a") == channel).then(pl.col("channel_b"))
                          .otherwise(pl.col("channel_a")).alias("other"))
            .sort(["shared", "jaccard", "other"], descending=[True, True, False]))
    return mine["other"].to_list()[:n] if n is not None else mine["other"].to_list()


def channel_trend(trend: pl.DataFrame, channel: str, names: dict[str, str]) -> pl.DataFrame:
    """audience_overlap_trend()'s rows of the pairs with `channel`, seen from it: [bucket,
    other, other_name, chatters (the channel's), other_chatters, shared, jaccard,
    share (shared / the channel's chatters)], by other then bucket."""
    mine = trend.filter((pl.col("channel_a") == channel) | (pl.col("channel_b") == channel))
    first = pl.col("channel_a") == channel
    return (mine.select(
        "bucket",
        pl.when(first).then(pl.col("channel_b")).otherwise(pl.col("channel_a")).alias("other"),
        pl.when(first).then(pl.col("chatters_a")).otherwise(pl.col("chatters_b")).alias("chatters"),
        pl.when(first).then(pl.col("chatters_b")).otherwise(pl.col("chatters_a")).alias("other_chatters"),
        "shared", "jaccard", (pl.col("shared") / pl.when(first).then(pl.col("chatters_a"))
                              .otherwise(pl.col("chatters_b"))).alias("share"))
        .with_columns(_name(names, "other").alias("other_name"))
        .sort("other", "bucket")
        .select("bucket", "other_name", "shared", "jaccard", "share", "chatters", "other_chatters", "other"))


def trend_figure(rows: pl.DataFrame, metric: str, tz: str, title: str, metric_title: str, legend: str,
                 week_title: str, lang: str = DEFAULT_LANG) -> alt.Chart:
    """channel_trend()'s rows: a line per other channel of `metric` (shared, jaccard or
    share) per bucket."""
    if rows.is_empty():
        return empty(title, lang)
    drawn = wall_clock(rows, "bucket", tz)
    order = list(dict.fromkeys(rows.sort("other")["other_name"].to_list()))
    fmt = "," if metric == "shared" else ".0%"
    return (alt.Chart(drawn, title=title, height=300).mark_line(point=True)
            .encode(x=time_x("bucket", week_title, fmt="%Y-%m-%d"),
                    y=alt.Y(f"{metric}:Q", title=metric_title, axis=alt.Axis(format=fmt)),
                    color=alt.Color("other_name:N", title=legend,  # ordered by the domain
                                    scale=alt.Scale(domain=order, range=[color(i) for i in range(len(order))])),
                    detail="other:N",
                    tooltip=[alt.Tooltip("other_name:N", title=legend), time_tip("bucket", week_title),
                             alt.Tooltip(f"{metric}:Q", format=fmt, title=metric_title)]))


def retention_figure(ret: pl.DataFrame, tz: str, title: str, chatters_title: str, retention_title: str,
                     started_title: str, lang: str = DEFAULT_LANG) -> alt.LayerChart | alt.Chart:
    """broadcast_retention() of one channel: its chatters per broadcast (bars, left axis) and
    the share of the previous broadcast's chatters who came back (line, right axis; none for
    the first broadcast), one bar per broadcast in start order."""
    if ret.is_empty():
        return empty(title, lang)
    drawn = wall_clock(ret.sort("started", "broadcast"), "started", tz).with_columns(
        pl.col("started").str.slice(0, 16).str.replace("T", " ").alias("label"))
    order = drawn["label"].to_list()
    x = alt.X("label:N", title=started_title, sort=order, axis=alt.Axis(labelAngle=-40))
    tips = [alt.Tooltip("label:N", title=started_title), alt.Tooltip("chatters:Q", format=",", title=chatters_title),
            alt.Tooltip("retention:Q", format=".1%", title=retention_title)]
    bars = alt.Chart(drawn).mark_bar(color="#9ecae1").encode(
        x=x, y=alt.Y("chatters:Q", title=chatters_title, axis=number_axis(lang)), tooltip=tips)
    line = alt.Chart(drawn.filter(pl.col("retention").is_not_null())).mark_line(point=True, color="#00a032").encode(
        x=x, y=alt.Y("retention:Q", title=retention_title, axis=alt.Axis(format=".0%"),
                     scale=alt.Scale(domain=[0, 1])), tooltip=tips)
    return alt.layer(bars, line, title=title, height=320).resolve_scale(y="independent")


def cohort_figure(cohorts: pl.DataFrame, every: str, tz: str, title: str, cohort_title: str, after_title: str,
                  retention_title: str, lang: str = DEFAULT_LANG) -> alt.LayerChart | alt.Chart:
    """chatter_cohorts() of one channel as a retention triangle: a row per cohort (the bucket
    of its members' first line, with its size), a column per buckets since, each cell the
    share of the cohort chatting then."""
    if cohorts.is_empty():
        return empty(title, lang)
    fmt = BUCKET_FORMAT[every]
    drawn = (cohorts.with_columns(pl.col("cohort").dt.convert_time_zone(tz).dt.strftime(fmt).alias("label"))
             .with_columns((pl.col("label") + " (" + pl.col("cohort_size").cast(pl.String) + ")").alias("label")))
    order = drawn.sort("cohort")["label"].unique(maintain_order=True).to_list()
    base = alt.Chart(drawn, title=title, height=max(200, 30 * len(order))).encode(
        x=alt.X("periods_after:O", title=after_title, axis=alt.Axis(labelAngle=0)),
        y=alt.Y("label:N", title=cohort_title, sort=order),
        tooltip=[alt.Tooltip("label:N", title=cohort_title), alt.Tooltip("periods_after:O", title=after_title),
                 alt.Tooltip("chatters:Q", format=","), alt.Tooltip("retention:Q", format=".1%",
                                                                      title=retention_title)])
    rects = base.mark_rect().encode(color=alt.Color("retention:Q", title=retention_title,
                                                    scale=alt.Scale(scheme="greens", domain=[0, 1]),
                                                    legend=alt.Legend(format=".0%")))
    text = base.mark_text(fontSize=11).encode(text=alt.Text("retention:Q", format=".0%"))
    return alt.layer(rects, text)
