"""The chatter days: per channel, day and chatter, their lines and highest subscription
tier, so tier_split (each chatter once, at the highest tier of the period) and
new_vs_returning (each chatter's first day in the channel) count a channel's period from a
few thousand rows held in memory instead of every line of it.

Layout (part of the lake contract, see warehouse/lake/layout.py)::

    <root>/chatter_days/part-0.parquet
        One row per (channel_id, day, user_id) of the chat lines of real chatters (user_id
        not NULL, ``anonymous`` or ``SYSTEM_MESSAGE``): messages (lines) and tier (the
        highest subscription tier on them; a month > 0 without a tier counts as 1, none as
        0). Sorted by channel_id, day, user_id; zstd.

The channel's name (the name on the period's last line) comes from the roll-ups' day rows
(warehouse/read/accelerators/rollups.py), so the reader needs them fresh too.
new_vs_returning takes each chatter's first day in the channel from the same rows, for
buckets of days, weeks and months of the zone the partitions are cut in. Declared in
warehouse/read/accelerators/__init__.py (CHATTER_DAYS): it answers only while the chat
partitions are exactly those it was built from (warehouse/read/accelerators/side_tables.py)
and only for the lake's own lines (no type filter, no live rows); otherwise both functions
scan the chat. The sync and forget-user rebuild it.

A reader (``Reader``) holds the channels it was asked about, each read once from the files
(their row groups found by their channel statistics) and kept while the files are unchanged;
the least recently asked channels are let go beyond CACHE_ROWS rows held.
"""
from __future__ import annotations

import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from warehouse.lake.layout import Lake
from warehouse.read.accelerators import side_tables

log = logging.getLogger(__name__)
CACHE_ROWS = 4_000_000  # rows a reader holds (20 bytes each) before it lets channels go
# A line's subscription tier, as tier_split counts it: its tier, 1 for a month > 0 without
# one, 0 for none (a constant SQL fragment, shared with warehouse/read/queries/activity.py)
LINE_TIER = """CASE WHEN coalesce(subscription_tier, 0) > 0 THEN subscription_tier
                        WHEN coalesce(subscription_month, 0) > 0 THEN 1 ELSE 0 END"""
CHATTER_SCHEMA = pa.schema([
    ("channel_id", pa.string()),
    ("day", pa.date32()),
    ("user_id", pa.string()),
    ("messages", pa.int64()),
    ("tier", pa.int32()),
])
CHATTER = side_tables.SideTable(
    "chatter_days", CHATTER_SCHEMA, b"chzzk.chatter_days", 2,  # 1 (f8d69a7) had a channel_name column
    aggregate="""
        SELECT channel_id, day, user_id, count(*)::BIGINT AS messages, max(""" + LINE_TIER + """)::INTEGER AS tier
        FROM src WHERE user_id IS NOT NULL AND user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')
        GROUP BY channel_id, day, user_id""",  # noqa: S608 - constant fragments
    order="channel_id, day, user_id")
CHATTER_DAYS = CHATTER.table
_READ = pa.schema([CHATTER_SCHEMA.field(n) for n in ("channel_id", "day", "user_id", "messages", "tier")])
# what is read of the roll-ups' day rows: the channel's name on each day
_NAMES = pa.schema([("channel_id", pa.string()), ("day", pa.date32()), ("channel_name", pa.string())])
_EPOCH = date(1970, 1, 1)
_NVR = {"channel_id": pl.String, "bucket": pl.Date, "new_chatters": pl.Int64, "returning_chatters": pl.Int64}
_OUT = {"channel_id": pl.String, "channel_name": pl.String, "tier": pl.String, "chatters": pl.Int64,
        "messages": pl.Int64}


@dataclass
class _Channel:
    """One channel's rows, sorted by day: day (days since 1970), chatter (a number per
    user id, this channel's own), tier, messages; and each day's channel name (the
    name on its last line)."""
    day: np.ndarray
    chatter: np.ndarray
    tier: np.ndarray
    messages: np.ndarray
    names: list[str | None]  # per distinct day, in order
    name_days: np.ndarray
    first: np.ndarray  # per chatter number: their first day in the channel


def build(lake: Lake, tz: str | None = None, full: bool = False) -> int:
    """Bring the chatter days up to date with the chat partitions (partition days: no zone
    of their own, `tz` is not used); return their row count."""
    return side_tables.build(CHATTER, lake, full)


class Reader:
    """A warehouse's in-memory copy of the chatter days of the channels asked about;
    `names`: the roll-ups' spec, whose day rows give the channels' names."""

    def __init__(self, names: side_tables.SideTable) -> None:
        self.fresh = side_tables.FreshnessCache(CHATTER)
        self.names_fresh = side_tables.FreshnessCache(names)
        self._key: tuple | None = None  # the files the held channels were read from
        self._held: OrderedDict[str, _Channel] = OrderedDict()
        self._rows = 0
        self._all: list[str] | None = None  # every channel in the lake, once asked
        self._bad: tuple | None = None

    def usable(self, lake: Lake, hint: tuple | None = None) -> bool:
        """True when the chatter days and the roll-ups describe the chat partitions as they
        are now and were not found unreadable. `hint`: see side_tables.FreshnessCache.fresh."""
        if not (self.fresh.fresh(lake, hint) and self.names_fresh.fresh(lake, hint)):
            return False
        key = (self.fresh.key, self.names_fresh.key)
        if key != self._key:
            self._held.clear()
            self._rows, self._all, self._key = 0, None, key
        return key != self._bad

    def split(self, lake: Lake, channels: list[str] | None, start: date | None,
              end: date | None) -> pl.DataFrame | None:
        """tier_split's answer; None when a file cannot be read (reported once)."""
        held = self._held_channels(lake, channels)
        if held is None:
            return None
        lo, hi = _days(start, end)
        rows: list[tuple] = []
        for ch, c in held:
            rows.extend(_split(ch, c, lo, hi))
        return pl.DataFrame(rows, schema=_OUT, orient="row")

    def new_vs_returning(self, lake: Lake, channels: list[str] | None, start: date | None,
                         end: date | None, every: str, tz: str) -> pl.DataFrame | None:
        """new_vs_returning's answer for `every` in day, week or month of the partitions'
        zone `tz`; None when a file cannot be read (reported once) or a bucket's local
        midnight does not exist once in `tz` (the caller scans)."""
        held = self._held_channels(lake, channels)
        if held is None:
            return None
        lo, hi = _days(start, end)
        parts = [(ch, _new_vs_returning(c, lo, hi, every)) for ch, c in held]
        out = pl.DataFrame({
            "channel_id": np.repeat(np.array([ch for ch, _ in parts], dtype=object), [len(p[0]) for _, p in parts]),
            **{name: np.concatenate([p[i] for _, p in parts]) if parts else np.array([], np.int64)
               for i, name in enumerate(("bucket", "new_chatters", "returning_chatters"))},
        }, schema={**_NVR, "bucket": pl.Int32})
        out = out.with_columns(pl.col("bucket").cast(pl.Date))
        try:
            bucket = out["bucket"].cast(pl.Datetime("us")).dt.replace_time_zone(tz)
        except pl.exceptions.ComputeError:  # a midnight skipped or repeated by a clock change
            return None
        return out.with_columns(bucket)

    def _held_channels(self, lake: Lake, channels: list[str] | None) -> list[tuple[str, _Channel]] | None:
        """The channels asked about (all: None), those not held read now; None when a file
        cannot be read (reported once)."""
        try:
            known = self._channels(lake)
            chosen = known if channels is None else sorted(set(channels).intersection(known))
            missing = [ch for ch in chosen if ch not in self._held]
            read = self._read(lake, missing, every=len(missing) == len(known)) if missing else {}
        except (OSError, ValueError, KeyError, pa.ArrowException):
            log.warning("chatter days side table %s or roll-ups %s unreadable: the chat is scanned instead",
                        side_tables.path(CHATTER, lake), self.names_fresh.path(lake), exc_info=True)
            self._bad = self._key
            return None
        out = [(ch, read[ch] if ch in read else self._held[ch]) for ch in chosen]  # before any is let go
        for ch, c in out:
            self._hold(ch, c)
        return out

    def _channels(self, lake: Lake) -> list[str]:
        """Every channel with lines in the lake, sorted: the roll-ups' (tens of thousands of
        rows, not the chatter days' millions; a channel without chatters has no rows)."""
        if self._all is None:
            with lake.fs.open_input_file(self.names_fresh.path(lake)) as f:
                ids = pq.read_table(f, columns=["channel_id"]).column(0)
            self._all = sorted(v for v in pc.unique(ids).to_pylist() if v is not None)
        return self._all

    def _read(self, lake: Lake, channels: list[str], every: bool) -> dict[str, _Channel]:
        """The rows of `channels` (`every`: all the lake's), one read of each file for all of
        them: both are sorted by channel, so the row groups' statistics leave out the
        others (one read per channel cost 30 ms each: 9 s for a 300-channel lake)."""
        only = [] if every else [("channel_id", "in", channels)]
        # the ids as read from the file's dictionaries: a number per id without hashing the strings again
        with lake.fs.open_input_file(side_tables.path(CHATTER, lake)) as f:
            table = pq.read_table(f, columns=_READ.names, filters=only or None,
                                  read_dictionary=["channel_id", "user_id"]).unify_dictionaries().combine_chunks()
        with lake.fs.open_input_file(self.names_fresh.path(lake)) as f:
            names = pq.read_table(f, columns=_NAMES.names, filters=[("grain", "=", "day"), *only],
                                  read_dictionary=["channel_id"]).unify_dictionaries().combine_chunks()
        rows, named = _by_channel(table), _by_channel(names)
        day, messages, tier = (_numpy(table, c, _READ.field(c).type) for c in ("day", "messages", "tier"))
        users = _codes(table.column("user_id"))
        name_days = _numpy(names, "day", pa.date32())
        name_list = names.column("channel_name").cast(pa.string()).to_pylist()
        out = {}
        for ch in channels:
            a, b = rows.get(ch, (0, 0))
            na, nb = named.get(ch, (0, 0))
            out[ch] = _load(day[a:b], users[a:b], tier[a:b], messages[a:b], name_days[na:nb], name_list[na:nb])
        return out

    def _hold(self, ch: str, c: _Channel) -> None:
        """Keep channel `ch`'s rows as the most recently asked; the least recently asked
        channels are let go while more than CACHE_ROWS rows are held."""
        if ch in self._held:
            self._held.move_to_end(ch)
            return
        self._held[ch] = c
        self._rows += len(c.day)
        while self._rows > CACHE_ROWS and len(self._held) > 1:
            _, old = self._held.popitem(last=False)
            self._rows -= len(old.day)


def _by_channel(table: pa.Table) -> dict[str, tuple[int, int]]:
    """{channel_id: (first row, end row)} of a table sorted by channel. Pure."""
    if not table.num_rows:
        return {}
    encoded = _encoded(table.column("channel_id"))
    codes = encoded.indices.to_numpy(zero_copy_only=False)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1])
    ends = np.append(starts[1:], len(codes))
    ids = encoded.dictionary.take(pa.array(codes[starts])).to_pylist()
    return dict(zip(ids, zip(starts.tolist(), ends.tolist(), strict=True), strict=True))


def _encoded(column: pa.ChunkedArray) -> pa.DictionaryArray:
    """The column as one dictionary array (its dictionary one for every chunk). Pure."""
    col = column.combine_chunks()
    return col if pa.types.is_dictionary(col.type) else col.dictionary_encode()


def _codes(column: pa.ChunkedArray) -> np.ndarray:
    """A number per distinct value of the column, per row. Pure."""
    return _encoded(column).indices.to_numpy(zero_copy_only=False)


def _numpy(table: pa.Table, column: str, type_: pa.DataType) -> np.ndarray:
    """A column of type `type_` (an ArrowInvalid when it is not one) as numpy, dates as days
    since 1970. Pure."""
    col = table.column(column).combine_chunks().cast(type_)
    if pa.types.is_date32(col.type):
        col = col.view(pa.int32())
    return col.to_numpy(zero_copy_only=False)


def _load(day: np.ndarray, users: np.ndarray, tier: np.ndarray, messages: np.ndarray, name_days: np.ndarray,
          names: list[str | None]) -> _Channel:
    """A channel's chatter days (sorted by day, as in the file; `users`: a number per user
    id) and its roll-ups' day names, numbered per chatter. Pure."""
    order = np.argsort(name_days, kind="stable")
    _, chatter = np.unique(users, return_inverse=True)
    chatter = chatter.astype(np.int32)
    first = np.full(int(chatter.max(initial=-1)) + 1, np.iinfo(np.int32).max, np.int32)
    np.minimum.at(first, chatter, day)
    return _Channel(day, chatter, tier, messages, [names[i] for i in order.tolist()], name_days[order], first)


def _days(start: date | None, end: date | None) -> tuple[int, int]:
    """[start, end] as days since 1970, open ends far out. Pure."""
    return (-(1 << 30) if start is None else (start - _EPOCH).days,
            1 << 30 if end is None else (end - _EPOCH).days)


def _trunc(days: np.ndarray, every: str) -> np.ndarray:
    """Days since 1970 truncated to the start of their day, week (Monday) or month. Pure."""
    if every == "week":
        return days - (days + 3) % 7  # 1970-01-01 was a Thursday
    if every == "month":
        return days.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int32)
    return days


def _new_vs_returning(c: _Channel, lo: int, hi: int, every: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bucket (days since 1970), new chatters, returning chatters) of days lo..hi, by
    bucket. Pure."""
    a, b = np.searchsorted(c.day, lo, "left"), np.searchsorted(c.day, hi, "right")
    if a >= b:
        return np.array([], np.int32), np.array([], np.int64), np.array([], np.int64)
    bucket, who = _trunc(c.day[a:b], every), c.chatter[a:b]
    if every != "day":  # a chatter has a row per day: once a week or month
        low, width = int(bucket[0]), int(who.max()) + 1  # bucket is sorted: the rows are
        pairs = np.unique((bucket.astype(np.int64) - low) * width + who)  # by bucket, then chatter
        bucket, who = (pairs // width + low).astype(np.int32), pairs % width
    new = (_trunc(c.first[who], every) == bucket).astype(np.int64)
    starts = np.concatenate([[0], np.flatnonzero(np.diff(bucket)) + 1])  # bucket is sorted
    fresh, total = np.add.reduceat(new, starts), np.diff(np.append(starts, len(bucket)))
    return bucket[starts].astype(np.int32), fresh, (total - fresh).astype(np.int64)


def _split(ch: str, c: _Channel, lo: int, hi: int) -> list[tuple]:
    """[(channel_id, channel_name, tier label, chatters, messages)] of days lo..hi (days
    since 1970), tiers ascending. Pure."""
    a, b = np.searchsorted(c.day, lo, "left"), np.searchsorted(c.day, hi, "right")
    if a >= b:
        return []
    users, inv = np.unique(c.chatter[a:b], return_inverse=True)
    best = np.zeros(len(users), np.int32)
    np.maximum.at(best, inv, c.tier[a:b])
    sent = np.zeros(len(users), np.int64)
    np.add.at(sent, inv, c.messages[a:b])
    tiers, tinv = np.unique(best, return_inverse=True)
    chatters = np.bincount(tinv, minlength=len(tiers))
    messages = np.zeros(len(tiers), np.int64)
    np.add.at(messages, tinv, sent)
    # the name on the period's last line (arg_max skips NULL names): the last named day's
    d0, d1 = np.searchsorted(c.name_days, lo, "left"), np.searchsorted(c.name_days, hi, "right")
    name = next((n for n in reversed(c.names[d0:d1]) if n is not None), None)
    return [(ch, name, "none" if t == 0 else f"tier {t}", int(n), int(m))
            for t, n, m in zip(tiers.tolist(), chatters.tolist(), messages.tolist(), strict=True)]
