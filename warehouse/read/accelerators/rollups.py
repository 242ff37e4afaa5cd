"""The activity roll-ups: per channel, per hour and per day of the chat partitions, the
counts ``activity`` and ``subscriber_ratio`` return, so an hourly or daily question over
any range reads a few thousand rows held in memory instead of every day of chat. Their day
rows also name the channels for the chatter days (warehouse/read/accelerators/chatter_days.py).

Layout (part of the lake contract, see warehouse/lake/layout.py)::

    <root>/rollups/part-0.parquet
        One row per (channel_id, day, grain, bucket): grain ``hour`` (bucket: the hour's
        start) or ``day`` (bucket: the day's start), hours and days of the zone the
        partitions are cut in (recorded as ``timezone`` in the file's metadata). Columns:
        channel_id, channel_name (the name on the bucket's last line), day, grain, bucket
        (timestamp[us, tz=UTC]), messages, chatters, subscriber_messages,
        subscriber_chatters, first_time and last_time (the bucket's first and last line) —
        counted as warehouse.read.queries counts them (``SYSTEM_MESSAGE``
        lines left out; chatters are distinct user ids other than ``anonymous``; a
        subscriber's line carries a tier or a month > 0). Sorted by channel_id, grain,
        bucket; zstd.

Declared in warehouse/read/accelerators/__init__.py (ROLLUPS). Freshness follows
warehouse/read/accelerators/side_tables.py: the roll-ups answer only while the chat
partitions are exactly those they were built from, for a warehouse in their zone, and
without a message-type filter; the live overlay's days are scanned and the other days come
from the roll-ups. The sync and forget-user rebuild the days they rewrote.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from datetime import date

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.lake.layout import Lake
from warehouse.lake.tables import UTC_US
from warehouse.read.accelerators import side_tables

log = logging.getLogger(__name__)
_EPOCH = date(1970, 1, 1)
GRAINS = ("hour", "day")
SCHEMA = pa.schema([
    ("channel_id", pa.string()),
    ("channel_name", pa.string()),
    ("day", pa.date32()),
    ("grain", pa.string()),
    ("bucket", UTC_US),
    ("messages", pa.int64()),
    ("chatters", pa.int64()),
    ("subscriber_messages", pa.int64()),
    ("subscriber_chatters", pa.int64()),
    ("first_time", UTC_US),
    ("last_time", UTC_US),
])
SPEC = side_tables.SideTable(
    "rollups", SCHEMA, b"chzzk.rollups", 2,  # 1 had no first_time / last_time
    # The build's session zone is the partitions' zone: hours and days are local. Lines
    # are first counted per user and hour, so the distinct counts are plain counts (1.6x
    # faster than count(DISTINCT) over GROUPING SETS at 10M rows).
    aggregate="""
        WITH u AS (
            SELECT channel_id, day, date_trunc('hour', chat_time) AS hour, user_id,
                   arg_max(channel_name, chat_time) AS channel_name, min(chat_time) AS first_time,
                   max(chat_time) AS last_time, count(*) AS n,
                   count(*) FILTER (WHERE coalesce(subscription_tier, 0) > 0
                                       OR coalesce(subscription_month, 0) > 0) AS sub_n,
                   user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE') AS chatter
            FROM src WHERE user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'
            GROUP BY channel_id, day, hour, user_id),
        d AS (
            SELECT channel_id, day, user_id, arg_max(channel_name, last_time) AS channel_name,
                   min(first_time) AS first_time, max(last_time) AS last_time, sum(n) AS n, sum(sub_n) AS sub_n, any_value(chatter) AS chatter
            FROM u GROUP BY channel_id, day, user_id)
        SELECT channel_id, arg_max(channel_name, last_time) AS channel_name, day, 'hour' AS grain,
               hour AS bucket, sum(n)::BIGINT AS messages, count(*) FILTER (WHERE chatter)::BIGINT AS chatters,
               sum(sub_n)::BIGINT AS subscriber_messages,
               count(*) FILTER (WHERE chatter AND sub_n > 0)::BIGINT AS subscriber_chatters,
               min(first_time) AS first_time, max(last_time) AS last_time
        FROM u GROUP BY channel_id, day, hour
        UNION ALL
        SELECT channel_id, arg_max(channel_name, last_time), day, 'day', day::TIMESTAMPTZ, sum(n)::BIGINT,
               count(*) FILTER (WHERE chatter)::BIGINT, sum(sub_n)::BIGINT,
               count(*) FILTER (WHERE chatter AND sub_n > 0)::BIGINT, min(first_time), max(last_time)
        FROM d GROUP BY channel_id, day""",
    order="channel_id, grain, bucket",
    # per-user groups of many days outgrow the build's memory limit and spill (7 s, not
    # 1.8 s, for 10M rows in one go): ~10 days of a 10M-row lake at a time
    chunk_bytes=64 * 1024 * 1024)
ROLLUPS = SPEC.table
# what activity / subscriber_ratio return, in order
COLUMNS = {
    "activity": ("channel_id", "channel_name", "bucket", "messages", "chatters", "messages_per_chatter"),
    "subscriber_ratio": ("channel_id", "channel_name", "bucket", "messages", "subscriber_messages",
                         "message_share", "chatters", "subscriber_chatters", "chatter_share"),
}


def build_rollups(root: str | Lake, tz: str | None = None, full: bool = False) -> int | None:
    """Bring ``<root>/rollups/part-0.parquet`` up to date with the chat partitions, their
    hours and days taken in `tz` (None: the zone of the last sync, else the roll-ups'
    own; neither known: nothing is built, None back). Returns its row count."""
    lake = root if isinstance(root, Lake) else Lake(str(root))
    if tz is None:
        doc = side_tables.read_doc(SPEC, lake)
        tz = lake.state().timezone or (doc or {}).get("timezone")
    if not tz:
        log.info("rollups not built: the lake's zone is not known yet (no sync recorded it)")
        return None
    return side_tables.build(SPEC, lake, full, tz)


def is_fresh(lake: Lake | str) -> bool:
    """True when `lake` has roll-ups that match its chat partitions (in whatever zone)."""
    return side_tables.is_fresh(SPEC, lake)


class Reader:
    """A warehouse's in-memory copy of the roll-ups, read again when the file changes:
    per grain a frame sorted by channel and bucket, and where each channel's rows are."""

    def __init__(self, con=None) -> None:
        self.loaded = side_tables.Loaded(SPEC)
        self.fresh = self.loaded.fresh
        self._key: tuple | None = None  # the file the grains were made from
        self._grains: dict[str, tuple[pl.DataFrame, dict[str, tuple[int, int]]]] = {}
        self._day_numbers: dict[str, np.ndarray] = {}
        self._cells: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None  # the hour rows' (day, cell, messages)

    def usable(self, lake: Lake, hint: tuple | None = None) -> bool:
        """True when the roll-ups describe the partitions as they are now and could be
        read; their frames are then up to date (in the zone they were built in, the
        ``timezone`` of ``fresh.doc``). `hint`: see side_tables.FreshnessCache.fresh."""
        table = self.loaded.get(lake, hint)
        if table is None:
            return False
        if self._key != self.loaded.key:
            self._index(table, self.fresh.doc.get("timezone") or "UTC")
        return True

    def _index(self, table: pa.Table, tz: str) -> None:
        t0 = time.monotonic()
        for name, num, den in _SHARES:
            table = table.append_column(name, _share(table.column(num), table.column(den)))
        frame = pl.from_arrow(table).with_columns(pl.col(c).dt.convert_time_zone(tz)
                                                   for c in ("bucket", "first_time", "last_time"))
        grains = {}
        for grain in GRAINS:
            part = frame.filter(pl.col("grain") == grain).drop("grain")  # sorted: channel, bucket
            spans = part.group_by("channel_id", maintain_order=True).agg(pl.len())
            index, at = {}, 0
            for ch, n in spans.iter_rows():
                index[ch] = (at, n)
                at += n
            grains[grain] = (part, index)
        hours = grains["hour"][0]
        # each hour row's day (days since 1970), heatmap cell (weekday * 24 + hour, local) and lines
        us = hours["bucket"].dt.replace_time_zone(None).dt.epoch("us").to_numpy()
        local_day = us // 86_400_000_000
        self._cells = (hours["day"].cast(pl.Int32).to_numpy(),
                       (((local_day + 3) % 7) * 24 + (us // 3_600_000_000) % 24).astype(np.int64),  # 1970-01-01: Thu
                       hours["messages"].to_numpy())
        days = grains["day"][0]
        # the day rows as numpy (days since 1970, counts, first/last line in µs UTC) for totals()
        self._days = (days["day"].cast(pl.Int32).to_numpy(), days["messages"].to_numpy(),
                      days["subscriber_messages"].to_numpy(),
                      *(days[c].dt.epoch("us").to_numpy() for c in ("first_time", "last_time")),
                      days["channel_name"].to_list())
        self._grains, self._key, self._day_numbers = grains, self.loaded.key, {}
        log.info("rollups loaded: %d rows in %.3fs", frame.height, time.monotonic() - t0)

    def select(self, name: str, grain: str, channels: list[str] | None, start: date | None,
               end: date | None, skip: set[date]) -> pl.DataFrame:
        """`name`'s answer (activity or subscriber_ratio) for the roll-ups' days, the days
        in `skip` left out; sorted by channel_id, bucket."""
        frame, _ = self._grains[grain]
        if grain not in self._day_numbers:  # each row's day as days since 1970 (numpy: no polars plan a channel)
            self._day_numbers[grain] = frame["day"].cast(pl.Int32).to_numpy()
        parts = [frame.slice(a, b - a) for _, a, b in self._slices(grain, self._day_numbers[grain], channels,
                                                                   start, end)]
        out = (parts[0] if len(parts) == 1 else pl.concat(parts)) if parts else frame.clear()
        if skip:
            out = out.filter(~pl.col("day").is_in(sorted(skip)))
        return out[list(COLUMNS[name])]


    def _slices(self, grain: str, day: np.ndarray, channels: list[str] | None, start: date | None,
                end: date | None) -> Iterator[tuple[str, int, int]]:
        """(channel_id, a, b) of the channels with `grain` rows on days in [start, end],
        sorted by id: rows a..b-1 of the grain (`day`: its rows' days since 1970)."""
        _, index = self._grains[grain]
        lo, hi = ((-(1 << 30) if start is None else (start - _EPOCH).days),
                  (1 << 30) if end is None else (end - _EPOCH).days)
        for ch in sorted(index) if channels is None else sorted(set(channels) & index.keys()):
            at, n = index[ch]
            a = at + int(np.searchsorted(day[at:at + n], lo, "left"))
            b = at + int(np.searchsorted(day[at:at + n], hi, "right"))
            if a < b:
                yield ch, a, b

    def totals(self, channels: list[str] | None, start: date | None,
               end: date | None) -> list[tuple[str, str | None, int, int, int, int]]:
        """Per channel with lines on days in [start, end], sorted by channel_id: (channel_id,
        channel_name on the period's last line, messages, subscriber_messages, first and
        last line in µs since 1970 UTC) from the day rows — channel_summary's line counts."""
        day, msgs, subs, first, last, names = self._days
        return [(ch, names[b - 1], int(msgs[a:b].sum()), int(subs[a:b].sum()), int(first[a:b].min()),
                 int(last[a:b].max())) for ch, a, b in self._slices("day", day, channels, start, end)]

    def hour_cells(self, channels: list[str] | None, start: date | None,
                   end: date | None) -> list[tuple[str, np.ndarray]]:
        """[(channel_id, lines per weekday x hour cell: 168 counts, weekday * 24 + hour, in
        the roll-ups' zone)] of the channels with lines in [start, end], sorted by id."""
        day, cell, messages = self._cells
        return [(ch, np.bincount(cell[a:b], weights=messages[a:b], minlength=168).astype(np.int64))
                for ch, a, b in self._slices("hour", day, channels, start, end)]


# the ratios the answers carry: (column, numerator, denominator)
_SHARES = (("messages_per_chatter", "messages", "chatters"), ("message_share", "subscriber_messages", "messages"),
           ("chatter_share", "subscriber_chatters", "chatters"))


def _share(num: pa.ChunkedArray, den: pa.ChunkedArray) -> pa.ChunkedArray:
    """num / den as doubles, null where den is 0 (SQL's x / nullif(y, 0)). Computed once
    per load with Arrow's element-wise division: polars divides some filtered frames by
    a reciprocal (20 / 7 gave 2.8571428571428568, DuckDB 2.857142857142857)."""
    return pc.if_else(pc.not_equal(den, 0), pc.divide(pc.cast(num, pa.float64()), pc.cast(den, pa.float64())),
                      pa.scalar(None, pa.float64()))
