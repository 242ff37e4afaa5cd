"""Categories (issue 20 §5): time streamed, messages, chatters, viewers and donations per
category (CHZZK's liveCategoryValue: a game's name, "talk", …), per channel or across
channels, from the live-status timeline the collector records (``live_session_poll``, read
as warehouse.read.queries.viewers reads it).

For the broadcasts that started in [start, end] (broadcast_list()'s):

- ``hours``: the polled time of the category — each timeline row stands for the time until
  the next one, at most GAP_SECONDS, never past the close (a category change writes a row at
  once, so a broadcast's time splits exactly at its changes); gaps count for no category;
  ``share``: the category's part of the group's polled time;
- a chat line belongs to the category of its broadcast's last timeline row at or before
  it — before the first row, to the first row's; a broadcast without a timeline, to
  live_session's latest category; without either, to none (category null);
  ``messages``, ``chatters`` (distinct, as everywhere), ``donations`` and ``amount`` count
  those lines;
- ``avg_viewers`` (time-weighted over the polled time with a count), ``peak_viewers`` and
  ``hours_watched`` as in viewers.py; ``broadcasts``: how many broadcasts had the category.

SQL texts are static, values bound.
"""
from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from warehouse.read.queries.broadcast import broadcast_list
from warehouse.read.queries.money import counted_donation
from warehouse.read.queries.params import filter_params
from warehouse.read.queries.viewers import GAP_SECONDS, poll_rows, session_spans
from warehouse.read.warehouse import Warehouse

_COLUMNS = {"category": pl.Utf8, "broadcasts": pl.Int64, "hours": pl.Float64, "share": pl.Float64,
            "messages": pl.Int64, "chatters": pl.Int64, "donations": pl.Int64, "amount": pl.Int64,
            "avg_viewers": pl.Float64, "peak_viewers": pl.Int64, "hours_watched": pl.Float64}
_BEFORE_ALL = -(2**62)  # a timeline row "before every line": the first row's category


def categories(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
               end: date | None = None, per_channel: bool = False,
               gap_seconds: float = GAP_SECONDS) -> pl.DataFrame:
    """Per category (per channel and category when `per_channel`): [(channel_id,
    channel_name,) category, broadcasts, hours, share, messages, chatters, donations, amount,
    avg_viewers, peak_viewers, hours_watched] (see the module docstring), most hours first.

    >>> categories(wh, ["a1b2..."], date(2026, 9, 1), date(2026, 9, 30), per_channel=True)
    """
    keys = ["channel_id", "category"] if per_channel else ["category"]
    listed = broadcast_list(wh, channels, start, end).select("channel_id", "channel_name", "broadcast", "started",
                                                             "ended")
    schema = ({"channel_id": pl.Utf8, "channel_name": pl.Utf8} if per_channel else {}) | _COLUMNS
    if listed.is_empty():
        return pl.DataFrame(schema=schema)
    ids = listed["broadcast"].unique().to_list()
    polls = poll_rows(wh, ids, gap_seconds).join(listed.select("broadcast", "channel_id"), on="broadcast")
    timeline = _timeline(polls, session_spans(wh, ids))
    lines = _line_counts(wh, listed, channels, start, timeline, per_channel)
    seen = pl.col("viewers").is_not_null()
    timed = polls.group_by(keys).agg(
        (pl.col("held_seconds").sum() / 3600).alias("hours"),
        (pl.col("viewers") * pl.col("held_seconds")).filter(seen).sum().alias("viewer_seconds"),
        pl.col("held_seconds").filter(seen).sum().alias("viewed_seconds"),
        pl.col("viewers").max().alias("peak_viewers"))
    attributed = pl.concat([timeline.join(listed.select("broadcast", "channel_id"), on="broadcast")
                            .select("channel_id", "broadcast", "category"),
                            lines["pairs"]]).unique()
    counts = attributed.group_by(keys).agg(pl.col("broadcast").n_unique().cast(pl.Int64).alias("broadcasts"))
    out = (counts.join(timed, on=keys, how="left", nulls_equal=True)
           .join(lines["figures"], on=keys, how="left", nulls_equal=True)
           .with_columns(pl.col("hours", "viewer_seconds").fill_null(0.0),
                         pl.col("messages", "chatters", "donations", "amount").fill_null(0)))
    total = pl.col("hours").sum().over("channel_id") if per_channel else pl.col("hours").sum()
    out = out.with_columns(
        pl.when(total > 0).then(pl.col("hours") / total).otherwise(0.0).alias("share"),
        pl.when(pl.col("viewed_seconds") > 0).then(pl.col("viewer_seconds") / pl.col("viewed_seconds"))
        .alias("avg_viewers"),
        (pl.col("viewer_seconds") / 3600).alias("hours_watched"))
    if per_channel:
        names = listed.group_by("channel_id").agg(pl.col("channel_name").drop_nulls().first())
        out = out.join(names, on="channel_id", how="left")
    order = (["channel_id"] if per_channel else []) + ["hours", "messages", "category"]
    desc = ([False] if per_channel else []) + [True, True, False]
    return out.select(list(schema)).cast(schema).sort(order, descending=desc, nulls_last=True)


def _timeline(polls: pl.DataFrame, spans: pl.DataFrame) -> pl.DataFrame:
    """[broadcast, t_us, category]: each poll's category from its time on, the first poll's
    also before it; live_session's category for a broadcast without polls (pure)."""
    rows = polls.select("broadcast", pl.col("time").dt.epoch("us").alias("t_us"), "category")
    firsts = rows.group_by("broadcast").agg(pl.col("category").sort_by("t_us").first()) \
        .with_columns(pl.lit(_BEFORE_ALL, pl.Int64).alias("t_us"))
    rest = spans.filter(~pl.col("broadcast").is_in(rows["broadcast"].unique().implode())) \
        .select("broadcast", pl.lit(_BEFORE_ALL, pl.Int64).alias("t_us"), "category")
    return pl.concat([rows, firsts.select(rows.columns), rest]).cast(
        {"broadcast": pl.Utf8, "t_us": pl.Int64, "category": pl.Utf8})


def _runs(timeline: pl.DataFrame) -> pl.DataFrame:
    """The timeline as runs of one category: [broadcast, t0, t1 (the next run's t0, or past
    every line), category] — a line's category is its run's, so the lines join a few runs per
    broadcast instead of every poll (pure)."""
    ordered = timeline.sort("broadcast", "t_us")
    starts = ordered.filter(
        (pl.col("category").ne_missing(pl.col("category").shift(1)))
        | (pl.col("broadcast") != pl.col("broadcast").shift(1)).fill_null(True))
    return starts.select("broadcast", pl.col("t_us").alias("t0"),
                         pl.col("t_us").shift(-1).over("broadcast").fill_null(2**62).alias("t1"), "category")


def _line_counts(wh: Warehouse, listed: pl.DataFrame, channels: list[str] | None, start: date | None,
                 timeline: pl.DataFrame, per_channel: bool) -> dict[str, pl.DataFrame]:
    """The broadcasts' lines by category: "figures" [(channel_id,) category, messages,
    chatters, donations, amount] and "pairs" [channel_id, broadcast, category] seen."""
    d0, _, all_ch, chs = filter_params(channels, start, None)
    last = listed["ended"].max()
    d1 = (last.date() if last is not None else d0) + timedelta(days=1)
    counted = counted_donation(wh)
    group = "channel_id, category" if per_channel else "category"
    runs = _runs(timeline)
    pairs = wh.sql("""
        WITH t AS (SELECT unnest(?::VARCHAR[]) AS broadcast, unnest(?::BIGINT[]) AS t0, unnest(?::BIGINT[]) AS t1,
                          unnest(?::VARCHAR[]) AS category),
        f AS (SELECT channel_id, chat_channel_id AS broadcast, epoch_us(chat_time) AS t_us, user_id,
                     (""" + counted + """) AS counted, pay_amount
              FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE list_contains(?::VARCHAR[], chat_channel_id)),
        a AS (SELECT f.*, t.category FROM f LEFT JOIN t
              ON f.broadcast = t.broadcast AND f.t_us >= t.t0 AND f.t_us < t.t1)
        SELECT """ + group + """, count(*) AS messages,
               count(DISTINCT user_id) FILTER (WHERE is_chatter(user_id)) AS chatters,
               count(*) FILTER (WHERE counted) AS donations,
               coalesce(sum(pay_amount) FILTER (WHERE counted), 0)::BIGINT AS amount,
               list(DISTINCT broadcast) AS broadcast_ids
        FROM a GROUP BY ALL""",  # noqa: S608 - constant fragments
                   [runs["broadcast"].to_list(), runs["t0"].to_list(), runs["t1"].to_list(),
                    runs["category"].to_list(), d0, d1, all_ch, chs, listed["broadcast"].unique().to_list()])
    keys = group.split(", ")
    figures = pairs.select(*keys, *(pl.col(c).cast(pl.Int64) for c in ("messages", "chatters", "donations", "amount")))
    seen = pairs.select("category", pl.col("broadcast_ids").alias("broadcast")).explode("broadcast") \
        .join(listed.select("broadcast", "channel_id"), on="broadcast")
    return {"figures": figures, "pairs": seen.select("channel_id", "broadcast", "category")}
