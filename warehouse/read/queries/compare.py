"""Compare (issue 20 §3): broadcasts overlaid by the minutes since their start, channels side
by side over a period, and the Overview's figures against the previous period of the same
length.

Each is made of the other questions' answers (no SQL of its own), so every part is answered
as its own question is — from the broadcast minutes, the roll-ups, the chatter days and the
money lines while they may answer, else from a scan — and agrees with the page that asks it:

- compare_broadcasts: broadcast_activity() of each broadcast (messages, chatters, donations
  and amount per window; ``offset_minutes`` from the minute of its first line) beside its
  viewer polls (viewers.poll_rows(): each count stands until the next poll, the close or
  ``gap_seconds``). A window's ``viewers`` is the time-weighted mean of the counts standing in
  it and ``viewer_coverage`` the share of the window they stand for; a window no count stands
  for has viewers null — a gap stays a gap, never interpolated.
- compare_channels: channel_summary() (lines, chatters, subscriber shares, donations),
  channel_viewers() (the broadcasts started in the period) and follower_trend() per channel;
  with every="day" one row per channel and day of the period (activity(), donations() and the
  broadcasts' viewers by the day they started), days without lines counted as 0.
- period_change: channel_summary() of the period and of the one just before it (as many
  days, ending the day before `start`), summed as the Overview sums it.
"""
from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from warehouse.read.queries.activity import activity
from warehouse.read.queries.broadcast import broadcast_activity, broadcast_list
from warehouse.read.queries.channels import date_bounds
from warehouse.read.queries.money import donations
from warehouse.read.queries.spans import broadcast_span
from warehouse.read.queries.status import channel_summary
from warehouse.read.queries.viewers import (
    GAP_SECONDS,
    broadcast_viewers,
    channel_viewers,
    follower_trend,
    poll_rows,
    summed,
)
from warehouse.read.warehouse import Warehouse

MAX_COMPARED = 4  # broadcasts compared when none are named (the newest); the page's most too
MINUTE_US = 60_000_000

_BROADCAST_COLUMNS = {"channel_id": pl.Utf8, "broadcast": pl.Utf8, "minute": None, "offset_minutes": pl.Int64,
                      "messages": pl.Int64, "chatters": pl.Int64, "donations": pl.Int64, "amount": pl.Int64,
                      "viewers": pl.Float64, "viewer_coverage": pl.Float64}
_CHANNEL_COLUMNS = {"channel_id": pl.Utf8, "channel_name": pl.Utf8, "messages": pl.Int64, "chatters": pl.Int64,
                    "message_share": pl.Float64, "chatter_share": pl.Float64, "donations": pl.Int64,
                    "donation_amount": pl.Int64, "broadcasts": pl.Int64, "broadcasts_with_viewers": pl.Int64,
                    "avg_viewers": pl.Float64, "peak_viewers": pl.Int64, "hours_watched": pl.Float64,
                    "viewer_coverage": pl.Float64, "engagement": pl.Float64, "followers": pl.Int64,
                    "follower_change": pl.Int64}
_DAY_COLUMNS = {"channel_id": pl.Utf8, "channel_name": pl.Utf8, "day": pl.Date, "messages": pl.Int64,
                "chatters": pl.Int64, "donations": pl.Int64, "donation_amount": pl.Int64, "broadcasts": pl.Int64,
                "avg_viewers": pl.Float64, "peak_viewers": pl.Int64, "hours_watched": pl.Float64}
OVERVIEW_METRICS = ("channels", "messages", "donations", "donation_amount")  # the Overview page's figures
_CHANGE_COLUMNS = {"metric": pl.Utf8, "current": pl.Int64, "previous": pl.Int64, "change": pl.Int64,
                   "change_ratio": pl.Float64, "start": pl.Date, "end": pl.Date, "previous_start": pl.Date,
                   "previous_end": pl.Date}


def compare_broadcasts(wh: Warehouse, broadcasts: list[tuple[str, str]] | None = None,
                       channels: list[str] | None = None, start: date | None = None, end: date | None = None,
                       window_minutes: int = 1, gap_seconds: float = GAP_SECONDS) -> pl.DataFrame:
    """Broadcasts overlaid by the minutes since their start: [channel_id, broadcast, minute
    (the window's start, clock-aligned as in broadcast_activity()), offset_minutes (from the
    minute of the broadcast's first line; negative for a window of viewers before it),
    messages, chatters, donations, amount (0 in a window with viewers and no line), viewers
    (time-weighted mean of the counts standing in the window; null where none stands: a gap),
    viewer_coverage (0..1: the share of the window a count stands for)], in the order the
    broadcasts are given, then by window. Windows with neither a line nor a count are absent.

    `broadcasts`: (channel_id, broadcast) pairs; a pair of a channel not in `channels` (when
    given) is left out. None: the MAX_COMPARED newest broadcasts that started in [start, end]
    of `channels` (start and end choose only those). `window_minutes` 1, 5 or 10 are answered
    from the broadcast minutes; other widths scan.

    >>> compare_broadcasts(wh, [("a1b2...", "N1x2y3"), ("a1b2...", "N4z5w6")], window_minutes=5)
    """
    width = int(window_minutes)
    if width < 1:
        raise ValueError(f"window_minutes={window_minutes!r}: use a whole number of minutes >= 1")
    if broadcasts is None:
        listed = broadcast_list(wh, channels, start, end).head(MAX_COMPARED)
        picks = list(zip(listed["channel_id"], listed["broadcast"], strict=True))
    else:
        picks = [(c, b) for c, b in dict.fromkeys(tuple(p) for p in broadcasts)
                 if channels is None or c in channels]
    if not picks:
        return pl.DataFrame(schema=_broadcast_schema(wh))
    polls = poll_rows(wh, [b for _, b in picks], gap_seconds)  # one read of the timeline for all of them
    return pl.concat([_one_broadcast(wh, c, b, width, polls.filter(pl.col("broadcast") == b)) for c, b in picks])


def _broadcast_schema(wh: Warehouse) -> dict:
    return {k: v or pl.Datetime("us", wh.tz) for k, v in _BROADCAST_COLUMNS.items()}


def _one_broadcast(wh: Warehouse, channel_id: str, broadcast: str, width: int, polls: pl.DataFrame) -> pl.DataFrame:
    schema = _broadcast_schema(wh)
    span = broadcast_span(wh, channel_id, broadcast)
    if span is None:
        return pl.DataFrame(schema=schema)
    w_us = width * MINUTE_US
    first = int(span[2].timestamp()) // 60 * MINUTE_US  # the minute of its first line, µs since 1970
    chat = broadcast_activity(wh, channel_id, broadcast, width).select(
        (pl.col("minute").dt.epoch("us") // w_us).alias("w"), "offset_minutes", "messages", "chatters", "donations",
        "amount")
    seen = window_viewers(polls, w_us)
    rows = chat.join(seen, on="w", how="full", coalesce=True).with_columns(
        pl.col("messages", "chatters", "donations", "amount").fill_null(0),
        pl.col("viewer_coverage").fill_null(0.0),
        # a window of viewers alone: its start from the first line's minute (0 for the first line's own window)
        pl.col("offset_minutes").fill_null(
            pl.when((pl.col("w") + 1) * w_us > first).then(pl.max_horizontal(pl.col("w") * w_us - first, 0))
            .otherwise(pl.col("w") * w_us - first) // MINUTE_US))
    return rows.sort("w").select(
        pl.lit(channel_id).alias("channel_id"), pl.lit(broadcast).alias("broadcast"),
        (pl.col("w") * w_us).cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(wh.tz).alias("minute"),
        *[c for c in _BROADCAST_COLUMNS if c not in ("channel_id", "broadcast", "minute")]).cast(schema)


def window_viewers(polls: pl.DataFrame, w_us: int) -> pl.DataFrame:
    """poll_rows() cut into clock-aligned windows of `w_us` µs (pure): [w (the window's
    number: its start // w_us), viewers (Σ count × seconds it stands in the window ÷ Σ those
    seconds), viewer_coverage (Σ those seconds ÷ the window's)], windows no count stands in absent."""
    held = polls.filter(pl.col("viewers").is_not_null() & (pl.col("held_seconds") > 0)).select(
        "viewers", pl.col("time").dt.epoch("us").alias("t0"),
        (pl.col("time").dt.epoch("us") + (pl.col("held_seconds") * 1e6).round().cast(pl.Int64)).alias("t1"))
    cut = held.with_columns(pl.int_ranges(pl.col("t0") // w_us, (pl.col("t1") - 1) // w_us + 1).alias("w")) \
        .explode("w").with_columns(
        (pl.min_horizontal("t1", (pl.col("w") + 1) * w_us) - pl.max_horizontal("t0", pl.col("w") * w_us))
        .alias("us"))
    return cut.group_by("w").agg(
        ((pl.col("viewers") * pl.col("us")).sum() / pl.col("us").sum()).alias("viewers"),
        (pl.col("us").sum() / w_us).alias("viewer_coverage")).with_columns(pl.col("w").cast(pl.Int64))


def compare_channels(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                     end: date | None = None, every: str | None = None,
                     gap_seconds: float = GAP_SECONDS) -> pl.DataFrame:
    """Channels side by side for [start, end], most messages first. every=None: one row per
    channel with lines in the period: [channel_id, channel_name, messages, chatters,
    message_share, chatter_share, donations, donation_amount (channel_summary()'s),
    broadcasts, broadcasts_with_viewers, avg_viewers, peak_viewers, hours_watched,
    viewer_coverage, engagement (channel_viewers()'s: the broadcasts started in the period),
    followers (the last reading in the period), follower_change (last − first reading in it)].

    every="day": one row per such channel and every day of the period (start/end None: the
    lake's first/last day): [channel_id, channel_name, day, messages, chatters, donations,
    donation_amount (0 on a day without), broadcasts (started that day), avg_viewers,
    peak_viewers, hours_watched (of those broadcasts; null without a count)].

    >>> compare_channels(wh, ["a1b2...", "c3d4..."], date(2026, 9, 1), date(2026, 9, 30), every="day")
    """
    if every not in (None, "day"):
        raise ValueError(f"every={every!r}: use None (the whole period) or 'day'")
    summary = channel_summary(wh, channels, start, end)
    if every == "day":
        return _channel_days(wh, summary, channels, start, end, gap_seconds)
    if summary.is_empty():
        return pl.DataFrame(schema=_CHANNEL_COLUMNS)
    seen = channel_viewers(wh, channels, start, end, gap_seconds=gap_seconds).drop(
        "channel_name", "messages", "chatters")
    follows = follower_trend(wh, channels, start, end).group_by("channel_id").agg(
        pl.col("followers").last(), (pl.col("followers").last() - pl.col("followers").first()).alias("follower_change"))
    return (summary.join(seen, on="channel_id", how="left").join(follows, on="channel_id", how="left")
            .with_columns(pl.col("broadcasts", "broadcasts_with_viewers").fill_null(0))
            .select(list(_CHANNEL_COLUMNS)).cast(_CHANNEL_COLUMNS))


def _channel_days(wh: Warehouse, summary: pl.DataFrame, channels: list[str] | None, start: date | None,
                  end: date | None, gap_seconds: float) -> pl.DataFrame:
    if summary.is_empty():
        return pl.DataFrame(schema=_DAY_COLUMNS)
    if start is None or end is None:
        first, last = date_bounds(wh)
        start, end = start or first, end or last
    days = pl.DataFrame({"day": pl.date_range(start, end, "1d", eager=True)}) if start <= end else \
        pl.DataFrame(schema={"day": pl.Date})
    grid = summary.select("channel_id", "channel_name").join(days, how="cross")
    lines = activity(wh, channels, start, end, every="day").select(
        "channel_id", pl.col("bucket").dt.date().alias("day"), "messages", "chatters")
    paid = donations(wh, channels, start, end, every="day").select(
        "channel_id", pl.col("bucket").dt.date().alias("day"), "donations",
        pl.col("amount").alias("donation_amount"))
    per = broadcast_viewers(wh, channels, start, end, gap_seconds)
    seen = summed(per.with_columns(pl.col("started").dt.date().alias("day")), ["channel_id", "day"]).select(
        "channel_id", "day", "broadcasts", "avg_viewers", "peak_viewers", "hours_watched")
    out = grid
    for part in (lines, paid, seen):
        out = out.join(part, on=["channel_id", "day"], how="left")
    return (out.with_columns(pl.col("messages", "chatters", "donations", "donation_amount", "broadcasts")
                             .fill_null(0))
            .join(summary.select("channel_id", pl.int_range(pl.len()).alias("rank")), on="channel_id")
            .sort("rank", "day").select(list(_DAY_COLUMNS)).cast(_DAY_COLUMNS))


def period_change(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                  end: date | None = None) -> pl.DataFrame:
    """Every figure the Overview shows for [start, end] beside the previous period of the same
    length (its days just before `start`): [metric (OVERVIEW_METRICS: channels with lines,
    messages, donations, donation_amount — channel_summary() summed over channels), current,
    previous, change (current − previous), change_ratio (change ÷ previous; null when previous
    is 0), start, end, previous_start, previous_end]. start/end None: the lake's first/last day.

    >>> period_change(wh, ["a1b2..."], date(2026, 9, 8), date(2026, 9, 14))  # against Sept 1-7
    """
    if start is None or end is None:
        first, last = date_bounds(wh)
        start, end = start or first, end or last
    if start is None or end is None:
        return pl.DataFrame(schema=_CHANGE_COLUMNS)
    length = max((end - start).days + 1, 1)
    before = (start - timedelta(days=length), start - timedelta(days=1))
    now, then = (_totals(channel_summary(wh, channels, a, b)) for a, b in ((start, end), before))
    rows = [(m, now[m], then[m], now[m] - then[m], (now[m] - then[m]) / then[m] if then[m] else None,
             start, end, *before) for m in OVERVIEW_METRICS]
    return pl.DataFrame(rows, schema=_CHANGE_COLUMNS, orient="row")


def _totals(summary: pl.DataFrame) -> dict[str, int]:
    """channel_summary() summed over its channels (chatters are not: one person in two
    channels would count twice) — what the Overview's figures are."""
    return {"channels": summary.height, "messages": int(summary["messages"].sum() or 0),
            "donations": int(summary["donations"].sum() or 0),
            "donation_amount": int(summary["donation_amount"].sum() or 0)}
