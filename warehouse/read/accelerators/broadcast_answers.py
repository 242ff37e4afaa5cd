"""The broadcast questions answered from the broadcast minutes held in memory
(warehouse/read/accelerators/broadcast_minutes.py: Reader): each function gives exactly the
frame its question's scan gives (warehouse/read/queries/time.py, broadcast.py) — columns,
types, order, time zone — or None when the minutes cannot answer it (the caller scans)."""
from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl

from warehouse.read.accelerators.broadcast_minutes import GRAINS, Reader, days_since_epoch

MINUTE_US = 60_000_000
SURGE_WINDOWS = 5  # warehouse.read.queries.time.SURGE_WINDOWS
_FAR = 1 << 62  # µs: before or after any day
_NONE = np.array([], np.int64)
_PEAK_COLUMNS = ("b", "day", "window", "messages")
_EMPTY = {n: _NONE for n in ("b", "day", "window", "messages", "chatters", "donations", "amount")}
_COVERAGE = ("channel_id", "broadcast", "started", "ended", "minutes", "captured_minutes", "coverage", "source")
_LISTED = ("channel_id", "channel_name", "broadcast", "started", "ended", "title", "category", "messages", "chatters",
           "donations", "amount", "minutes", "captured_minutes", "coverage", "source")


def peaks(r: Reader, channels: list[str] | None, days: tuple[date, date, date], by: str, width: int, limit: int,
          tz: str) -> pl.DataFrame | None:
    """peaks()'s answer: windows of `width` minutes summed from the minutes of partition
    days [days[0], days[2]], those starting on a day in [days[1], days[2]] of `tz` ranked
    per channel. None when the minutes cannot be read."""
    return _peaks(r, r.chosen(channels), days, by, width, limit, tz)


def broadcast_peaks(r: Reader, channel_id: str, broadcast: str, by: str, width: int, limit: int,
                    tz: str) -> pl.DataFrame | None:
    """broadcast_peaks()'s answer: peaks() of the broadcast's days, its own windows only
    (the channel's other broadcasts do not change their order); None when the lake has no
    such broadcast (the scan's empty answer) or the minutes cannot be read."""
    b = r.number.get((channel_id, broadcast))
    if b is None:
        return None
    first, last = r.totals["day"][b], r.totals["last_day"][b]
    d0_ext = first - timedelta(days=1) if first > date(1, 1, 1) else first
    got = _peaks(r, [(b, b + 1)], (d0_ext, first, last), by, width, 1_000_000, tz)
    return None if got is None else got.head(int(limit))


def _peaks(r: Reader, ranges: list[tuple[int, int]], days: tuple[date, date, date], by: str, width: int,
           limit: int, tz: str) -> pl.DataFrame | None:
    parts = [r.windows(1, lo, hi, _PEAK_COLUMNS) for lo, hi in ranges if hi > lo]
    if any(p is None for p in parts):
        return None
    g = parts[0] if len(parts) == 1 else {n: np.concatenate([p[n] for p in parts] or [_NONE])
                                          for n in _PEAK_COLUMNS}
    day = g["day"]
    at = (day >= days_since_epoch(days[0])) & (day <= days_since_epoch(days[2]))
    b, w, m = (g[n] if at.all() else g[n][at] for n in ("b", "window", "messages"))
    w = w // width
    if len(b):  # windows: runs of one broadcast and window (rows are sorted by b, minute)
        starts = np.flatnonzero(np.concatenate([[True], (np.diff(b) != 0) | (np.diff(w) != 0)]))
        m, b, w = np.add.reduceat(m, starts), b[starts], w[starts]
    # the surge baseline: the messages of the 5 windows before, in the same broadcast (a
    # RANGE frame), from every window read (the day before the period's too)
    key = (b << 32) | w
    cum = np.concatenate([[0], np.cumsum(m)])
    width_us = width * MINUTE_US
    lo, hi = _day_bounds(days[1], days[2], tz)
    start_us = w * width_us
    at = np.flatnonzero((start_us >= lo) & (start_us < hi))

    def surge_of(at: np.ndarray) -> np.ndarray:
        prev = cum[at] - cum[np.searchsorted(key, key[at] - SURGE_WINDOWS, "left")]
        with np.errstate(invalid="ignore"):
            return np.where(w[at] - r.started_us[b[at]] // width_us >= SURGE_WINDOWS,
                            m[at].astype(np.float64) / np.maximum(prev.astype(np.float64) / SURGE_WINDOWS, 1.0),
                            np.nan)
    if by == "surge":
        metric = surge_of(at)
        at, metric = at[~np.isnan(metric)], metric[~np.isnan(metric)]
    else:
        metric = m[at]
    at = at[_top(r.channel_of[b[at]], metric, limit)]
    surge = surge_of(at)
    b, w, m, codes = b[at], w[at], m[at], r.channel_of[b[at]]
    order = np.lexsort((b, w, -m, -(m if by == "volume" else surge), codes))
    rank = np.arange(len(order)) - np.searchsorted(codes[order], codes[order], "left")
    order = order[rank < limit]
    bb, start_us = b[order], w[order] * width_us
    offset = np.maximum(0, _trunc_div(start_us - r.started_us[bb] // MINUTE_US * MINUTE_US, MINUTE_US))
    return pl.DataFrame([  # from lists: a Series from an object array is ~10x slower for a few rows
        pl.Series("channel_id", r.channel_ids[bb].tolist(), dtype=pl.String),
        pl.Series("broadcast", r.broadcasts[bb].tolist(), dtype=pl.String),
        pl.Series("minute", start_us.tolist(), dtype=pl.Int64).cast(pl.Datetime("us", tz)),
        pl.Series("messages", m[order].tolist(), dtype=pl.Int64),
        pl.Series("surge_ratio", surge[order], dtype=pl.Float64, nan_to_null=True),
        pl.Series("offset_from_start", offset.tolist(), dtype=pl.Int64),
    ])


def _top(codes: np.ndarray, metric: np.ndarray, limit: int) -> np.ndarray:
    """Which of the windows (`codes`: their channels, in order) may rank within the first
    `limit` of their channel by `metric` (ties at the limit kept): a mask. Pure."""
    keep = np.zeros(len(codes), bool)
    if limit <= 0 or not len(codes):
        return keep
    edges = [0, *(np.flatnonzero(np.diff(codes)) + 1).tolist(), len(codes)]
    for s, e in zip(edges[:-1], edges[1:], strict=True):
        if e - s <= limit:
            keep[s:e] = True
        else:
            part = metric[s:e]
            keep[s:e] = part >= np.partition(part, e - s - limit)[e - s - limit]
    return keep


def activity(r: Reader, channel_id: str, broadcast: str, width: int, tz: str) -> pl.DataFrame | None:
    """broadcast_activity()'s answer for a stored grain; None for another width (distinct
    chatters do not add up), when a window is cut in two by a partition's midnight or the
    minutes cannot be read."""
    if width not in GRAINS:
        return None
    b = r.number.get((channel_id, broadcast))
    g = r.windows(width, *r.channel_range(b)) if b is not None else _EMPTY
    if g is None:
        return None
    at = slice(*np.searchsorted(g["b"], [b, b + 1])) if b is not None else slice(0, 0)
    w = g["window"][at].astype(np.int64)
    if len(w) and (np.diff(w) == 0).any():
        return None
    start_us = w * width * MINUTE_US
    first = r.started_us[b] // MINUTE_US * MINUTE_US if b is not None else 0
    return pl.DataFrame({
        "minute": pl.Series(start_us, dtype=pl.Int64).cast(pl.Datetime("us", tz)),
        "offset_minutes": pl.Series(np.maximum(0, _trunc_div(start_us - first, MINUTE_US)), dtype=pl.Int64),
        **{name: pl.Series(g[name][at], dtype=pl.Int64) for name in ("messages", "chatters", "donations", "amount")},
    })


def coverage(r: Reader, channels: list[str] | None, start: date, end: date, tz: str) -> pl.DataFrame:
    """coverage()'s answer when no broadcast has capture intervals (every source "chat"):
    the broadcasts of `channels` whose first line is on a day in [start, end] of `tz`."""
    return _started(r, channels, start, end, tz, 0)


def listed(r: Reader, channels: list[str] | None, start: date, end: date, tz: str) -> pl.DataFrame:
    """broadcast_list()'s rows, not sorted yet, without titles or categories (null): coverage()'s
    rows with each broadcast's figures over all its lines."""
    return _started(r, channels, start, end, tz, 1)


def _started(r: Reader, channels: list[str] | None, start: date, end: date, tz: str, which: int) -> pl.DataFrame:
    """The rows of the zoned frame `which` (0: coverage's, 1: the list's) of the broadcasts
    of `channels` whose first line is on a day in [start, end]."""
    frames, started = _zoned(r, tz)
    frame = frames[which]
    lo, hi = _day_bounds(start, end, tz)
    if channels is None:
        return frame.filter(pl.Series((started >= lo) & (started < hi)))
    parts = []
    for a, z in r.chosen(channels):  # a channel's rows are sorted by started
        i, j = np.searchsorted(started[a:z], [lo, hi], "left")
        parts.append(frame.slice(a + int(i), max(0, int(j - i))))
    return parts[0] if len(parts) == 1 else pl.concat(parts) if parts else frame.clear()


def _zoned(r: Reader, tz: str) -> tuple[tuple[pl.DataFrame, pl.DataFrame], np.ndarray]:
    """Every broadcast's coverage row and its list row in zone `tz`, both sorted by
    channel_id, started, broadcast (each channel's rows where its b range is), and the
    started times (µs): made once per zone and file."""
    if tz not in r.zoned:
        t = r.totals
        first = t["started"].dt.epoch("us").to_numpy() // MINUTE_US
        last = t["ended"].dt.epoch("us").to_numpy() // MINUTE_US
        minutes = (last - first + 1).astype(np.float64)
        captured = t["captured"].to_numpy().astype(np.float64)
        frame = t.with_columns(
            pl.col("started").dt.convert_time_zone(tz), pl.col("ended").dt.convert_time_zone(tz),
            minutes=pl.Series(minutes, dtype=pl.Float64), captured_minutes=pl.Series(captured, dtype=pl.Float64),
            coverage=pl.Series(captured / minutes, dtype=pl.Float64), source=pl.lit("chat", pl.String),
            title=pl.lit(None, pl.String), category=pl.lit(None, pl.String),
        ).sort("channel_id", "started", "broadcast")
        r.zoned[tz] = ((frame.select(_COVERAGE), frame.select(_LISTED)), frame["started"].dt.epoch("us").to_numpy())
    return r.zoned[tz]


def _day_bounds(start: date, end: date, tz: str) -> tuple[int, int]:
    """[first instant of `start`, first instant of the day after `end`) of zone `tz`, µs
    since 1970 (local days follow each other in time: a time's local day is in [start, end]
    exactly when it lies there)."""
    zone = ZoneInfo(tz)

    def midnight(day: date) -> int:
        return int(datetime.combine(day, time(), tzinfo=zone).timestamp()) * 1_000_000
    lo = -_FAR if start <= date(1, 1, 2) else midnight(start)
    hi = _FAR if end >= date(9999, 12, 30) else midnight(end + timedelta(days=1))
    return lo, hi


def _trunc_div(a: np.ndarray, b: int) -> np.ndarray:
    """a // b rounded toward zero, as DuckDB's integer division. Pure."""
    return np.sign(a) * (np.abs(a) // b)
