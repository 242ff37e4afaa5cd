"""Viewers beside chat (issue 20 §1): concurrent viewers per broadcast, per channel and per
week, the viewer curve of one broadcast, and the channels' daily follower counts.

Viewers come from the lake's ``live_session_poll`` (the collector's timeline of each
broadcast: a row on every title/category change and at least every TIMELINE_SECONDS = 300 s
while it polls, with ``concurrent_user_count``) joined to ``live_session`` (one row per
broadcast: its span). A poll row stands for the time until the next row, at most
``gap_seconds`` (GAP_SECONDS: the collector's 300 s plus two 30 s polls of slack) and never
past the broadcast's close: longer silences are gaps — counted as not polled, never
interpolated. Hence, per broadcast:

- ``polled_minutes``: the time its viewer counts stand for; ``viewer_coverage``: that share
  of the broadcast (live_session's openDate or first poll → close; while live, → the last
  poll's end), so every figure says how much of the broadcast it rests on;
- ``avg_viewers`` = Σ viewers × held seconds ÷ Σ held seconds (time-weighted); ``peak_viewers``
  the largest count polled; ``hours_watched`` = Σ viewers × held seconds ÷ 3600;
- ``engagement`` = chatters ÷ avg_viewers; ``messages_per_100_viewers`` = 100 × messages ÷
  avg_viewers (messages and chatters are broadcast_list()'s: every line of the broadcast).

A channel (or a channel's week) sums its broadcasts: avg_viewers = Σ viewer-seconds ÷ Σ polled
seconds, engagement = Σ chatters ÷ Σ avg_viewers and messages per 100 viewers = 100 × Σ
messages ÷ Σ avg_viewers over the broadcasts with viewers, viewer_coverage = Σ polled ÷ Σ
broadcast minutes. Follower counts come from ``channel_follower_day`` (the collector's one
row per channel and day, migration 014). SQL texts are static, values bound.
"""
from __future__ import annotations

from datetime import date

import polars as pl

from warehouse.read.queries.broadcast import broadcast_list
from warehouse.read.queries.params import FIRST_DAY, LAST_DAY
from warehouse.read.queries.session_tables import table_file
from warehouse.read.queries.spans import broadcast_span
from warehouse.read.queries.time import session_rows
from warehouse.read.warehouse import Warehouse

GAP_SECONDS = 360  # collector.lifecycle.TIMELINE_SECONDS (300) + 2 polls (POLL_SECONDS 30) of slack

_POLL_COLUMNS = {"broadcast": pl.Utf8, "time": pl.Datetime("us", "UTC"), "viewers": pl.Int64,
                 "category": pl.Utf8, "held_seconds": pl.Float64, "next_time": pl.Datetime("us", "UTC")}
_SPAN_COLUMNS = {"broadcast": pl.Utf8, "session_start": pl.Datetime("us", "UTC"),
                 "session_end": pl.Datetime("us", "UTC"), "category": pl.Utf8}
_VIEWER_COLUMNS = {"viewer_minutes": pl.Float64, "polled_minutes": pl.Float64, "viewer_coverage": pl.Float64,
                   "polls": pl.Int64, "avg_viewers": pl.Float64, "peak_viewers": pl.Int64,
                   "hours_watched": pl.Float64, "engagement": pl.Float64, "messages_per_100_viewers": pl.Float64}
_GROUP_COLUMNS = ("broadcasts", "broadcasts_with_viewers", "messages", "chatters", "viewer_minutes",
                  "polled_minutes", "viewer_coverage", "avg_viewers", "peak_viewers", "hours_watched",
                  "engagement", "messages_per_100_viewers")


def check_gap(gap_seconds: float) -> float:
    if not gap_seconds or gap_seconds <= 0:
        raise ValueError(f"gap_seconds={gap_seconds!r}: use a number of seconds > 0")
    return float(gap_seconds)


def session_spans(wh: Warehouse, broadcasts: list[str]) -> pl.DataFrame:
    """live_session's span of each broadcast: [broadcast, session_start (openDate or first
    poll, whichever is earlier), session_end (closed_at; null while live), category (the
    latest known)]. Empty without the table."""
    ls = table_file(wh, "live_session", ("chat_channel_id", "opened_at", "closed_at", "open_date",
                                          "live_category_value")) if session_rows(wh, "live_session") else None
    if not ls or not broadcasts:
        return pl.DataFrame(schema=_SPAN_COLUMNS)
    return wh.sql("""
        SELECT chat_channel_id AS broadcast,
               min(least(coalesce(open_date, opened_at), opened_at)) AS session_start,
               CASE WHEN count(*) = count(closed_at) THEN max(closed_at) END AS session_end,
               arg_max(live_category_value, opened_at) AS category
        FROM read_parquet(?) WHERE list_contains(?::VARCHAR[], chat_channel_id)
        GROUP BY chat_channel_id""", [ls, broadcasts]).with_columns(
        pl.col("session_start", "session_end").dt.convert_time_zone("UTC")).cast(_SPAN_COLUMNS)


def poll_rows(wh: Warehouse, broadcasts: list[str], gap_seconds: float = GAP_SECONDS) -> pl.DataFrame:
    """The timeline rows of the broadcasts with how long each stands for: [broadcast, time,
    viewers, category, held_seconds (until the next row, the close or `gap_seconds`, whichever
    comes first), next_time (the next row's time; null for the last)], in broadcast and time
    order. Empty without live_session_poll."""
    gap = check_gap(gap_seconds)
    files = session_rows(wh, "live_session_poll") and session_rows(wh, "live_session")
    ls = table_file(wh, "live_session", ("id", "chat_channel_id", "closed_at")) if files else None
    lp = table_file(wh, "live_session_poll", ("session_fk", "polled_at", "live_category_value",
                                               "concurrent_user_count")) if ls else None
    if not lp or not broadcasts:
        return pl.DataFrame(schema=_POLL_COLUMNS)
    out = wh.sql("""
        WITH s AS (SELECT id, chat_channel_id AS broadcast, closed_at FROM read_parquet(?)
                   WHERE list_contains(?::VARCHAR[], chat_channel_id)),
        p AS (SELECT s.broadcast, p.polled_at AS time, p.concurrent_user_count::BIGINT AS viewers,
                     p.live_category_value AS category, s.closed_at,
                     lead(p.polled_at) OVER (PARTITION BY s.broadcast ORDER BY p.polled_at) AS next_time
              FROM read_parquet(?) p JOIN s ON s.id = p.session_fk)
        SELECT broadcast, time, viewers, category,
               greatest(0, least(coalesce(epoch_us(next_time), 9e18), coalesce(epoch_us(closed_at), 9e18),
                                 epoch_us(time) + ? * 1e6) - epoch_us(time)) / 1e6 AS held_seconds,
               next_time
        FROM p ORDER BY broadcast, time""", [ls, broadcasts, lp, gap])
    return out.with_columns(pl.col("time", "next_time").dt.convert_time_zone("UTC")).cast(_POLL_COLUMNS)


def broadcast_viewers(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                      end: date | None = None, gap_seconds: float = GAP_SECONDS) -> pl.DataFrame:
    """broadcast_list() with each broadcast's viewers: its columns, then viewer_minutes (the
    broadcast's length by live_session), polled_minutes, viewer_coverage (0..1), polls,
    avg_viewers, peak_viewers, hours_watched, engagement, messages_per_100_viewers (see the
    module docstring; null where the broadcast has no viewer count).

    >>> broadcast_viewers(wh, ["a1b2..."], date(2026, 9, 1), date(2026, 9, 30))
    """
    listed = broadcast_list(wh, channels, start, end)
    return _with_viewers(wh, listed, gap_seconds)


def _with_viewers(wh: Warehouse, listed: pl.DataFrame, gap_seconds: float) -> pl.DataFrame:
    ids = listed["broadcast"].unique().to_list()
    per = _per_broadcast(wh, ids, gap_seconds)
    out = listed.join(per, on="broadcast", how="left").with_columns(
        pl.col("polled_minutes", "viewer_coverage", "hours_watched").fill_null(0.0),
        pl.col("polls").fill_null(0))
    return out.with_columns(
        (pl.col("chatters") / pl.col("avg_viewers")).alias("engagement"),
        (100 * pl.col("messages") / pl.col("avg_viewers")).alias("messages_per_100_viewers"),
    ).select(*listed.columns, *_VIEWER_COLUMNS).cast(_VIEWER_COLUMNS)


_PER_BROADCAST = """
    WITH s AS (SELECT id, chat_channel_id AS broadcast, least(coalesce(open_date, opened_at), opened_at) AS s0,
                      closed_at FROM read_parquet(?) WHERE list_contains(?::VARCHAR[], chat_channel_id)),
    p AS (SELECT s.broadcast, p.concurrent_user_count::BIGINT AS v, epoch_us(p.polled_at) AS t,
                 greatest(0, least(coalesce(epoch_us(lead(p.polled_at) OVER (PARTITION BY s.broadcast
                                                                             ORDER BY p.polled_at)), 9e18),
                                   coalesce(epoch_us(s.closed_at), 9e18), epoch_us(p.polled_at) + ? * 1e6)
                                   - epoch_us(p.polled_at)) / 1e6 AS held
          FROM read_parquet(?) p JOIN s ON s.id = p.session_fk),
    a AS (SELECT broadcast, sum(v * held) FILTER (WHERE v IS NOT NULL) AS viewer_seconds,
                 sum(held) FILTER (WHERE v IS NOT NULL) AS polled_seconds, count(v) AS polls, max(v) AS peak_viewers,
                 max(t + held * 1e6) AS polled_end
          FROM p GROUP BY broadcast),
    b AS (SELECT broadcast, min(epoch_us(s0)) AS s0,
                 CASE WHEN count(*) = count(closed_at) THEN max(epoch_us(closed_at)) END AS s1
          FROM s GROUP BY broadcast)
    SELECT a.broadcast, greatest((coalesce(b.s1, a.polled_end) - b.s0) / 6e7, 0) AS viewer_minutes,
           a.polled_seconds, a.polls, a.peak_viewers, a.viewer_seconds
    FROM a JOIN b USING (broadcast) WHERE a.polls > 0"""


def _per_broadcast(wh: Warehouse, broadcasts: list[str], gap_seconds: float) -> pl.DataFrame:
    """Viewer figures per broadcast (one query over live_session and live_session_poll): the
    rows of poll_rows() and the spans of session_spans() summed as the module docstring says."""
    gap = check_gap(gap_seconds)
    files = session_rows(wh, "live_session_poll") and session_rows(wh, "live_session")
    ls = table_file(wh, "live_session", ("id", "chat_channel_id", "opened_at", "closed_at", "open_date")) \
        if files else None
    lp = table_file(wh, "live_session_poll", ("session_fk", "polled_at", "concurrent_user_count")) if ls else None
    if not lp or not broadcasts:
        return pl.DataFrame(schema={"broadcast": pl.Utf8, **{c: _VIEWER_COLUMNS[c] for c in (
            "viewer_minutes", "polled_minutes", "viewer_coverage", "polls", "avg_viewers", "peak_viewers",
            "hours_watched")}})
    per = wh.sql(_PER_BROADCAST, [ls, broadcasts, gap, lp])
    return per.select(
        "broadcast", "viewer_minutes", (pl.col("polled_seconds") / 60).alias("polled_minutes"),
        pl.when(pl.col("viewer_minutes") > 0)
        .then(pl.min_horizontal(pl.col("polled_seconds") / 60 / pl.col("viewer_minutes"), 1.0))
        .alias("viewer_coverage"),
        "polls", pl.when(pl.col("polled_seconds") > 0)
        .then(pl.col("viewer_seconds") / pl.col("polled_seconds")).alias("avg_viewers"),
        "peak_viewers", (pl.col("viewer_seconds") / 3600).alias("hours_watched"))


def channel_viewers(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                    end: date | None = None, every: str | None = None,
                    gap_seconds: float = GAP_SECONDS) -> pl.DataFrame:
    """Each channel's broadcasts that started in [start, end] summed: [channel_id,
    channel_name, (week: the Monday of the broadcasts' start week in the warehouse's zone,
    when every="week"), broadcasts, broadcasts_with_viewers, messages, chatters (summed over
    broadcasts), viewer_minutes, polled_minutes, viewer_coverage, avg_viewers, peak_viewers,
    hours_watched, engagement, messages_per_100_viewers] (the module docstring defines them).

    >>> channel_viewers(wh, ["a1b2..."], every="week")
    """
    if every not in (None, "week"):
        raise ValueError(f"every={every!r}: use None (the whole period) or 'week'")
    per = broadcast_viewers(wh, channels, start, end, gap_seconds)
    keys = ["channel_id"]
    if every == "week":
        per = per.with_columns(pl.col("started").dt.truncate("1w").dt.date().alias("week"))
        keys.append("week")
    return summed(per, keys)


def summed(per: pl.DataFrame, keys: list[str]) -> pl.DataFrame:
    """broadcast_viewers() rows summed by `keys` (pure; see the module docstring)."""
    seen = pl.col("avg_viewers").is_not_null()
    viewer_seconds = (pl.col("avg_viewers") * pl.col("polled_minutes") * 60).fill_null(0.0)
    out = per.group_by(keys).agg(
        pl.col("channel_name").drop_nulls().last(), pl.len().cast(pl.Int64).alias("broadcasts"),
        seen.sum().cast(pl.Int64).alias("broadcasts_with_viewers"),
        pl.col("messages").sum(), pl.col("chatters").sum(), pl.col("viewer_minutes").fill_null(0.0).sum(),
        pl.col("polled_minutes").sum(), viewer_seconds.sum().alias("viewer_seconds"),
        pl.col("peak_viewers").max(), pl.col("hours_watched").sum(),
        pl.col("avg_viewers").filter(seen).sum().alias("avg_sum"),
        pl.col("chatters").filter(seen).sum().alias("seen_chatters"),
        pl.col("messages").filter(seen).sum().alias("seen_messages"))
    has = pl.col("avg_sum") > 0
    return out.with_columns(
        pl.when(pl.col("viewer_minutes") > 0)
        .then(pl.min_horizontal(pl.col("polled_minutes") / pl.col("viewer_minutes"), 1.0)).otherwise(0.0)
        .alias("viewer_coverage"),
        pl.when(pl.col("polled_minutes") > 0).then(pl.col("viewer_seconds") / 60 / pl.col("polled_minutes"))
        .alias("avg_viewers"),
        pl.when(has).then(pl.col("seen_chatters") / pl.col("avg_sum")).alias("engagement"),
        pl.when(has).then(100 * pl.col("seen_messages") / pl.col("avg_sum")).alias("messages_per_100_viewers"),
    ).select(*keys, "channel_name", *_GROUP_COLUMNS).sort(keys)


def viewer_curve(wh: Warehouse, channel_id: str, broadcast: str, gap_seconds: float = GAP_SECONDS) -> pl.DataFrame:
    """The broadcast's concurrent viewers over time: [time, offset_minutes (from its first
    line's minute, as broadcast_activity()'s), viewers] — one row per poll, plus a row with
    viewers null where a poll's count stops standing (a gap: more than `gap_seconds` to the
    next row, or the broadcast's end), so a chart breaks the line there instead of drawing
    across the gap.

    >>> viewer_curve(wh, "a1b2...", "N1x2y3")
    """
    empty = pl.DataFrame(schema={"time": pl.Datetime("us", wh.tz), "offset_minutes": pl.Int64,
                                 "viewers": pl.Int64})
    span = broadcast_span(wh, channel_id, broadcast)
    held = poll_rows(wh, [broadcast], gap_seconds).filter(pl.col("viewers").is_not_null())
    if span is None or held.is_empty():
        return empty
    stop = pl.col("time") + pl.duration(microseconds=(pl.col("held_seconds") * 1e6).cast(pl.Int64))
    # a gap starts where a row's count stops before the next row comes (and after the last)
    gaps = held.filter(pl.col("next_time").is_null() | (stop < pl.col("next_time"))).select(
        stop.alias("time"), pl.lit(None, pl.Int64).alias("viewers"))
    first_minute = span[2].replace(second=0, microsecond=0)
    rows = pl.concat([held.select("time", "viewers"), gaps]).with_columns(
        pl.col("time").dt.convert_time_zone(wh.tz))
    return rows.with_columns(
        ((pl.col("time") - pl.lit(first_minute)).dt.total_seconds() // 60).cast(pl.Int64).alias("offset_minutes"),
    ).select("time", "offset_minutes", "viewers").sort("time", pl.col("viewers").is_null()).cast(empty.schema)


def follower_trend(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                   end: date | None = None) -> pl.DataFrame:
    """Each channel's follower count per day, as the collector recorded it (its last reading
    of the day, channel_follower_day): [channel_id, day, followers, change (from the channel's
    previous recorded day in the result; null for its first)]. Days without a reading are
    absent (not interpolated). Empty without the table.

    >>> follower_trend(wh, ["a1b2..."], date(2026, 9, 1), date(2026, 9, 30))
    """
    schema = {"channel_id": pl.Utf8, "day": pl.Date, "followers": pl.Int64, "change": pl.Int64}
    path = table_file(wh, "channel_follower_day", ("channel_id", "day", "follower_count")) \
        if session_rows(wh, "channel_follower_day") else None
    if not path:
        return pl.DataFrame(schema=schema)
    out = wh.sql("""SELECT channel_id, day, follower_count::BIGINT AS followers FROM read_parquet(?)
                    WHERE (? OR list_contains(?::VARCHAR[], channel_id)) AND day BETWEEN ? AND ?
                      AND follower_count IS NOT NULL
                    ORDER BY channel_id, day""",
                 [path, channels is None, list(channels or []), start or FIRST_DAY, end or LAST_DAY])
    return out.with_columns((pl.col("followers") - pl.col("followers").shift(1).over("channel_id"))
                            .alias("change")).cast(schema)
