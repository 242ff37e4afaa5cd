"""The chatter days: per channel, chatter, day and broadcast, their lines, highest
subscription tier and month, latest nickname and the hours they chatted in, so the
audience questions (tier_split, new_vs_returning, top_chatters, top_share, chatter_cohorts,
subscriber_tenure, subscriber_change, audience_overlap, heatmap's chatters, broadcast
retention and top chatters) count a channel's period from rows held in memory instead of
every line of it.

Layout (part of the lake contract, see warehouse/lake/layout.py)::

    <root>/chatter_days/part-0.parquet
        One row per (channel_id, user_id, day, broadcast) of the chat lines other than
        ``SYSTEM_MESSAGE``'s (broadcast: the lines' chat_channel_id, NULL for none):
        messages (lines); tier (the highest subscription tier on them: a month > 0
        without a tier counts as 1, none as 0); month (the highest subscription month on
        the subscriber's lines, 0 for none); nickname (the one on the latest line that has
        one); seq (0, 1, ...: the row's place among the chatter's rows of that day by the
        time of that latest named line, so the file's order is the nicknames' order); hours
        (bit h set: a line in hour h of the day, in the zone recorded as ``timezone``);
        chatter (the user's number in the file: 0, 1, ... in user id order, the same in
        every channel; delta encoded). Lines of no chatter (user_id NULL or
        ``anonymous``) are a row with user_id NULL (messages only). Sorted by channel_id, user_id (NULLs last), day, seq; zstd.
        Sorting by chatter rather than day keeps the bytes small (a chatter's id, name
        and days repeat): 52 MB with every column at 10M lines, 47 MB for the two of
        version 2.

The channel's name (the name on the period's last line) comes from the roll-ups' day rows
(warehouse/read/accelerators/rollups.py), so the reader needs them fresh too. Declared in
warehouse/read/accelerators/__init__.py (CHATTER_DAYS): it answers only while the chat
partitions are exactly those it was built from (warehouse/read/accelerators/side_tables.py)
and only for the lake's own lines (no type filter, no live rows); questions bucketed in
days, weeks, months or hours need the partitions' days to be the warehouse's (LOCAL_DAYS)
and hours its zone (SAME_ZONE). Otherwise the functions scan the chat. The sync and
forget-user rebuild it. The answers over one channel's rows are chatter_answers.py's.

A reader (``Reader``) holds the channels it was asked about, each read once from the file
(their row groups found by their channel statistics) and kept while the files are
unchanged; the least recently asked channels are let go beyond CACHE_ROWS rows held.
"""
from __future__ import annotations

import bisect
import functools
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from warehouse.lake.layout import Lake
from warehouse.read.accelerators import side_tables
from warehouse.read.accelerators.chatter_answers import Channel, Chatters, Top
from warehouse.read.accelerators.chatter_columns import Columns, chatter_runs, numpy_of

log = logging.getLogger(__name__)
CACHE_ROWS = 4_000_000  # rows a reader holds (~30 bytes each) before it lets channels go
# A line's subscription tier, as tier_split counts it: its tier, 1 for a month > 0 without
# one, 0 for none (a constant SQL fragment, shared with warehouse/read/queries/activity.py)
LINE_TIER = """CASE WHEN coalesce(subscription_tier, 0) > 0 THEN subscription_tier
                        WHEN coalesce(subscription_month, 0) > 0 THEN 1 ELSE 0 END"""
CHATTER_SCHEMA = pa.schema([
    ("channel_id", pa.string()),
    ("user_id", pa.string()),
    ("day", pa.date32()),
    ("broadcast", pa.string()),
    ("messages", pa.int64()),
    ("tier", pa.int32()),
    ("month", pa.int32()),
    ("nickname", pa.string()),
    ("seq", pa.int32()),
    ("hours", pa.uint32()),
    ("chatter", pa.int32()),
])
CHATTER = side_tables.SideTable(
    # 1 (f8d69a7) had a channel_name column; 2 was (channel_id, day, user_id, messages, tier) by day
    # 3 had no chatter column
    "chatter_days", CHATTER_SCHEMA, b"chzzk.chatter_days", 4,
    aggregate="""
        WITH g AS (
            SELECT channel_id, CASE WHEN user_id <> 'anonymous' THEN user_id END AS user_id, day,
                   chat_channel_id AS broadcast, count(*)::BIGINT AS messages,
                   max(""" + LINE_TIER + """)::INTEGER AS tier,
                   max(CASE WHEN coalesce(subscription_tier, 0) > 0 OR coalesce(subscription_month, 0) > 0
                            THEN coalesce(subscription_month, 0) ELSE 0 END)::INTEGER AS month,
                   arg_max(nickname, chat_time) AS nickname,
                   max(chat_time) FILTER (WHERE nickname IS NOT NULL) AS named,
                   bit_or(1 << hour(chat_time))::UINTEGER AS hours
            FROM src WHERE user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'
            GROUP BY ALL)
        SELECT channel_id, user_id, day, broadcast, messages,
               CASE WHEN user_id IS NOT NULL THEN tier ELSE 0 END,
               CASE WHEN user_id IS NOT NULL THEN month ELSE 0 END,
               CASE WHEN user_id IS NOT NULL THEN nickname END,
               (row_number() OVER (PARTITION BY channel_id, user_id, day
                                   ORDER BY named NULLS FIRST, broadcast NULLS FIRST) - 1)::INTEGER AS seq,
               CASE WHEN user_id IS NOT NULL THEN hours ELSE 0 END::UINTEGER,
               NULL::INTEGER AS chatter
        FROM g""",  # noqa: S608 - constant fragments
    order="channel_id, user_id NULLS LAST, day, seq",
    # the chatter's number in the whole table (0, 1, ...: user ids in order), numbered when the
    # file is written: the distinct ids numbered and joined (at 10M lines +3 s of CPU; a window over every row +8)
    written="""WITH m AS ({rows}),
        n AS (SELECT user_id, (row_number() OVER (ORDER BY user_id) - 1)::INTEGER AS number
              FROM (SELECT DISTINCT user_id FROM m WHERE user_id IS NOT NULL))
        SELECT m.* REPLACE (n.number AS chatter) FROM m LEFT JOIN n ON m.user_id = n.user_id""",
    encodings=(("chatter", "DELTA_BINARY_PACKED"),))  # a channel's numbers ascend: 9 MB -> 2 MB at 10M lines
CHATTER_DAYS = CHATTER.table
_COLUMNS = ["channel_id", "chatter", "day"]  # the others when a question needs them (Columns)
# every string column is read as the file's dictionaries: those of channel_id and broadcast
# (few values a row group) unified into one; user_id and nickname only at the rows a
# question's answer shows (Columns.values: their row groups; decoding the whole lake's
# user ids cost 0.3-0.4 s of a first question, numbering them 0.7 s)
_DICTIONARIES = ["channel_id"]
# what is read of the roll-ups' day rows: the channel's name on each day
_NAMES = pa.schema([("channel_id", pa.string()), ("day", pa.date32()), ("channel_name", pa.string())])


def build(lake: Lake, tz: str | None = None, full: bool = False) -> int:
    """Bring the chatter days up to date with the chat partitions, the hours of `tz` (None:
    the last sync's zone, else the table's own, else UTC); return their row count."""
    if tz is None:
        doc = side_tables.read_doc(CHATTER, lake)
        tz = lake.state(strict=False).timezone or (doc or {}).get("timezone") or "UTC"
    return side_tables.build(CHATTER, lake, full, tz)


class Reader:
    """A warehouse's in-memory copy of the chatter days of the channels asked about;
    `names`: the roll-ups' spec, whose day rows give the channels' names."""

    def __init__(self, names: side_tables.SideTable) -> None:
        self.fresh = side_tables.FreshnessCache(CHATTER)
        self.names_fresh = side_tables.FreshnessCache(names)
        self._key: tuple | None = None  # the files the held channels were read from
        self._held: OrderedDict[str, Channel] = OrderedDict()
        self._rows = 0
        self._names: tuple | None = None  # the roll-ups' day names (day, name, where each channel's are)
        self._bad: tuple | None = None

    def usable(self, lake: Lake, hint: tuple | None = None) -> bool:
        """True when the chatter days and the roll-ups describe the chat partitions as they
        are now and were not found unreadable. `hint`: see side_tables.FreshnessCache.fresh."""
        if not (self.fresh.fresh(lake, hint) and self.names_fresh.fresh(lake, hint)):
            return False
        key = (self.fresh.key, self.names_fresh.key)
        if key != self._key:
            self._held.clear()
            self._rows, self._names, self._key = 0, None, key
        return key != self._bad

    @property
    def timezone(self) -> str | None:
        """The zone the hours were taken in."""
        return (self.fresh.doc or {}).get("timezone")

    def channels(self, lake: Lake, channels: list[str] | None,
                 need: tuple[str, ...] = ()) -> list[tuple[str, Channel]] | None:
        """[(channel_id, its rows)] of the channels asked about (all: None) that have lines,
        sorted by id; those not held are read now, and the columns of `need` (broadcast,
        messages, tier, month, hours) the channels lack (else read when first
        asked). None when a file cannot be read (reported once): the caller scans."""
        try:
            known = self._channels(lake)
            chosen = known if channels is None else sorted(set(channels).intersection(known))
            missing = [ch for ch in chosen if ch not in self._held]
            read = self._read(lake, missing, every=len(missing) == len(known)) if missing else {}
            for ch in chosen if need else ():  # read now, where a failure is caught
                c = read[ch] if ch in read else self._held[ch]
                for name in need:
                    _ = c.source.get(name)
        except (OSError, ValueError, KeyError, pa.ArrowException):
            log.warning("chatter days side table %s or roll-ups %s unreadable: the chat is scanned instead",
                        side_tables.path(CHATTER, lake), self.names_fresh.path(lake), exc_info=True)
            self._bad = self._key
            return None
        out = [(ch, read[ch] if ch in read else self._held[ch]) for ch in chosen]  # before any is let go
        for ch, c in out:
            self._hold(ch, c)
        return out

    def each(self, lake: Lake, channels: list[str] | None,
             answer: Callable[[str, Channel], list | None], need: tuple[str, ...] = ()) -> list | None:
        """The concatenated lists `answer(channel_id, rows)` gives for each channel asked
        about (`need`: see channels()); None when a file cannot be read or an answer is None
        (the caller scans)."""
        held = self.channels(lake, channels, need)
        return None if held is None else self.answers(lake, held, answer)

    def answers(self, lake: Lake, items: list[tuple[str, Any]], answer: Callable[[str, Any], list | None]
                ) -> list | None:
        """The concatenated lists `answer(channel_id, value)` gives for each item; None when
        an answer is None or reading strings at its rows failed (reported; the caller scans)."""
        out: list = []
        try:
            for ch, value in items:
                got = answer(ch, value)
                if got is None:
                    return None
                out.extend(got)
        except (OSError, ValueError, IndexError, pa.ArrowException):  # a string read at an answer's rows
            log.warning("chatter days side table %s unreadable: the chat is scanned instead",
                        side_tables.path(CHATTER, lake), exc_info=True)
            return None
        return out

    def load_strings(self, lake: Lake, tops: list[Top]) -> bool:
        """Read at once the row groups holding the user ids and latest nicknames the top
        chatters of `tops` show (chatter_answers.named then finds them held); False when
        they cannot be read (reported; the caller scans)."""
        wanted: dict[int, tuple[Columns, list, list]] = {}
        for t in tops:
            if len(t.users):
                ids, nicks = t.wanted()
                got = wanted.setdefault(id(t.c.source), (t.c.source, [], []))
                got[1].append(ids)
                got[2].append(nicks)
        try:
            for source, ids, nicks in wanted.values():  # both columns in one read, decoded side by side
                source.load(("user_id", "nickname"), np.concatenate(ids + nicks))
        except (OSError, ValueError, IndexError, pa.ArrowException):
            log.warning("chatter days side table %s unreadable: the chat is scanned instead",
                        side_tables.path(CHATTER, lake), exc_info=True)
            return False
        return True

    def _channels(self, lake: Lake) -> list[str]:
        """Every channel with lines in the lake, sorted: the roll-ups' (a channel has day rows
        there for every day it has lines; tens of thousands of rows, read once)."""
        if self._names is None:
            names, _, _ = _row_groups(lake, self.names_fresh.path(lake), [*_NAMES.names, "grain"], ["channel_id"],
                                      None)
            names = names.unify_dictionaries().combine_chunks()
            names = names.filter(pc.equal(names.column("grain"), "day")).select(_NAMES.names)
            if not names.schema.field("day").type.equals(pa.date32()):
                raise ValueError(f"roll-ups' day column is {names.schema.field('day').type}, not date32")
            self._names = (numpy_of(names, "day"), names.column("channel_name").cast(pa.string()).to_pylist(),
                           _by_channel(names))
        return sorted(self._names[2])

    def _read(self, lake: Lake, channels: list[str], every: bool) -> dict[str, Channel]:
        """The rows of `channels` (`every`: all the lake's), one read of the file for all of
        them: it is sorted by channel, so the row groups' statistics leave out the others
        (one read per channel cost 30 ms each: 9 s for a 300-channel lake). Read now: the
        channel, chatter and day of each row, taken apart once for all the channels (each
        channel's arrays are slices: 300 channels one by one cost ~1 s); the other columns
        when a question first needs them (Columns)."""
        t0 = time.monotonic()
        file = side_tables.path(CHATTER, lake)
        read, groups, sizes = _row_groups(lake, file, _COLUMNS, _DICTIONARIES, None if every else channels)
        rows = _by_channel(read.select(["channel_id"]))
        day = numpy_of(read, "day")
        code = pc.fill_null(read.column("chatter").combine_chunks(), -1).to_numpy(zero_copy_only=False)
        new, run = chatter_runs(code, sorted(a for a, _ in rows.values()))
        first = day[new]  # each run's first day
        anonymous = np.flatnonzero(code < 0)  # few: lines of no chatter
        source = Columns(lake, file, self.fresh.key, groups, sizes)
        chatters = Chatters(code[new], np.flatnonzero(new), functools.partial(source.values, "user_id"))
        name_days, name_list, named = self._names
        out = {}
        for ch in channels:
            a, b = rows.get(ch, (0, 0))
            n = b - a - int(np.searchsorted(anonymous, b) - np.searchsorted(anonymous, a))  # chatter rows: NULLs last
            r0 = int(run[a]) if n else 0
            runs = int(run[a + n - 1]) - r0 + 1 if n else 0
            na, nb = named.get(ch, (0, 0))
            order = np.argsort(name_days[na:nb], kind="stable")
            out[ch] = Channel(
                user=(run[a:a + n] - r0).astype(np.int32), day=day[a:a + n], runs=runs,
                first=first[r0:r0 + runs], o_day=day[a + n:b], name_days=name_days[na:nb][order], source=source,
                at=a, end=b, names=[name_list[na + i] for i in order.tolist()], chatters=chatters, run0=r0)
        log.info("chatter days: %d channel(s), %d rows read in %.3fs", len(channels), read.num_rows,
                 time.monotonic() - t0)
        return out

    def _hold(self, ch: str, c: Channel) -> None:
        """Keep channel `ch`'s rows as the most recently asked; the least recently asked
        channels are let go while more than CACHE_ROWS rows are held."""
        if ch in self._held:
            self._held.move_to_end(ch)
            return
        self._held[ch] = c
        self._rows += c.rows
        while self._rows > CACHE_ROWS and len(self._held) > 1:
            _, old = self._held.popitem(last=False)
            self._rows -= old.rows


def _row_groups(lake: Lake, path: str, columns: list[str], dictionaries: list[str],
                channels: list[str] | None) -> tuple[pa.Table, list[int], list[int]]:
    """The row groups of a Parquet file sorted by channel_id that may hold `channels` (None:
    every one), a chunk each, their numbers and rows, the strings of `dictionaries` as read from the file's
    dictionaries (a number per value without hashing them again). Chosen by their channel_id statistics
    here: pyarrow's filtered read_table took 7.5 s for one channel's 1,422 rows of a 10M-line
    lake (it decoded every row group), this 0.03 s."""
    with lake.fs.open_input_file(path) as f:
        file = pq.ParquetFile(f, read_dictionary=dictionaries)
        meta, at = file.metadata, file.schema_arrow.get_field_index("channel_id")
        wanted = None if channels is None else sorted(channels)
        groups = []
        for i in range(meta.num_row_groups):
            stats = meta.row_group(i).column(at).statistics
            if wanted is None or stats is None or not stats.has_min_max:
                groups.append(i)
            elif bisect.bisect_left(wanted, stats.min) < bisect.bisect_right(wanted, stats.max):
                groups.append(i)
        table = file.read_row_groups(groups, columns=columns) if groups else file.schema_arrow.empty_table()
        sizes = [meta.row_group(i).num_rows for i in groups]
    return table.select(columns), groups, sizes


def _by_channel(table: pa.Table) -> dict[str, tuple[int, int]]:
    """{channel_id: (first row, end row)} of a table sorted by channel (a channel's rows
    together; were they not, its last run). Chunk by chunk, by each chunk's own codes: a
    row group holds a channel or a few, so no dictionary of the whole column is made
    (unifying them cost 0.19 s of CPU for the 3.3M rows of a 10M-line lake). Pure."""
    out: dict[str, tuple[int, int]] = {}
    at = 0
    for chunk in table.column("channel_id").chunks:
        m = len(chunk)
        if not m:
            continue
        chunk = chunk if pa.types.is_dictionary(chunk.type) else chunk.dictionary_encode()
        codes = pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False)
        names = chunk.dictionary.cast(pa.string()).to_pylist()
        starts = np.concatenate([[0], np.flatnonzero(np.diff(codes)) + 1]).tolist()
        for a, b in zip(starts, [*starts[1:], m], strict=True):
            code = int(codes[a])
            ch = names[code] if code >= 0 else None
            got = out.get(ch)
            out[ch] = (got[0], at + b) if got is not None and got[1] == at + a else (at + a, at + b)
        at += m
    return out
