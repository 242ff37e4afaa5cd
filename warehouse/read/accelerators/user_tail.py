"""The user tail: each chatter's newest lines, sorted by user, in small compressed record
batches — so a user's last page of lines (``user_messages``) is one or two batches of one
file instead of a read of every day file holding them.

Layout (part of the lake contract, see warehouse/lake/layout.py)::

    <root>/user_tail/part-0.arrow
        An Arrow IPC file, its buffers zstd-compressed (level ZSTD_LEVEL), in record batches
        of WRITE_ROWS (8,192) rows: for every real chatter (user_id not NULL, ``anonymous`` or ``SYSTEM_MESSAGE``) their newest
        USER_TAIL_LINES lines (all of them when they have fewer), sorted by user_id, then
        chat_time and id descending. Columns: user_id, day, id, chat_time, channel_id,
        channel_name, nickname, message_type, message, message_status, pay_amount,
        subscription_tier, subscription_month (PLAIN); the string columns that repeat along
        the rows (RUNS: user_id, channel_id, channel_name, nickname, message_type,
        message_status) run-end encoded, each batch on its own (SCHEMA), the others plain
        (message as plain utf8: string_view's 16-byte views compress worse). A user's rows
        are found by bisecting the batches' user_id runs (log2(batches) small reads, nothing
        built on open). The schema's
        metadata (key ``chzzk.user_tail``) records {"version", "lines", "parts"}: the
        lines kept per chatter and the chat partitions' fingerprint it was built from.

Its size is bounded by the number of chatters times USER_TAIL_LINES, not by the history
kept. Declared in warehouse/read/accelerators/__init__.py (USER_TAIL). It answers only
while the chat partitions are exactly those it was built from (the side tables' rule, warehouse/read/accelerators/side_tables.py) and only for the lake's own lines (no type
filter, no live rows), on a local lake (an S3 lake has none: the file is read by batch
from a local memory map). Files of another VERSION (1: uncompressed string_view; 2: plain
strings at zstd level 14) read as stale and are rebuilt whole by the next sync. A user holding USER_TAIL_LINES lines in it may have older ones: a page reaching
past what the tail holds for the filters asked is read from the chat instead.

The sync and forget-user bring it up to date: warehouse/read/accelerators/user_tail_build.py.
"""
from __future__ import annotations

import bisect
import json
import logging
import os
from collections.abc import Callable, Iterator
from datetime import date

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from warehouse.lake.layout import Lake, is_uri
from warehouse.lake.tables import Table
from warehouse.read.accelerators import side_tables

log = logging.getLogger(__name__)
NAME = "user_tail"
FILE = "part-0.arrow"
META_KEY = b"chzzk.user_tail"
VERSION = 3  # 3: RUNS run-end encoded, zstd level 3 (2: plain, level 14; 1: uncompressed string_view)
WRITE_ROWS = 8_192  # rows per record batch written: a user's page decompresses one or two
# zstd level: with the repeated strings run-end encoded, level 3 is as small as plain strings
# at level 14 were (64 of the 10M lake's 829 batches: 16.0 MB vs 16.2 MB; level 14 took 9.6
# CPU-s, this 0.3) — level 14 only paid for matching the repeated strings' int32 offsets
ZSTD_LEVEL = 3
RECENT_BATCHES = 4  # decompressed batches a reader keeps (~2 MB each at 1,000 lines per chatter)
RECENT_USERS = 16  # users whose rows a reader keeps as frames (a user's pages read the same rows)
_STR = pa.string()
TMP = "." + FILE + ".tmp-"  # + pid: a write in progress, renamed over FILE when complete
# the rows, as built and as read back for pages
PLAIN = pa.schema([
    ("user_id", _STR), ("day", pa.date32()), ("id", pa.int64()), ("chat_time", pa.timestamp("us", "UTC")),
    ("channel_id", _STR), ("channel_name", _STR), ("nickname", _STR), ("message_type", _STR), ("message", _STR),
    ("message_status", _STR), ("pay_amount", pa.int32()), ("subscription_tier", pa.int32()),
    ("subscription_month", pa.int32()),
])
# run-end encoded in the file: the strings that repeat along a user's rows (a chatter writes
# in few channels under one name, mostly plain chat lines). Not the ints (day, tiers): their
# run ends take more bytes than zstd makes of them plain
RUNS = frozenset({"user_id", "channel_id", "channel_name", "nickname", "message_type", "message_status"})
_RUN_ENDS = pa.int32()
# the file's schema
SCHEMA = pa.schema([pa.field(f.name, pa.run_end_encoded(_RUN_ENDS, f.type)) if f.name in RUNS else f
                    for f in PLAIN])
# what user_messages returns, in its order
COLUMNS = ["chat_time", "channel_id", "channel_name", "nickname", "message_type", "message", "message_status",
           "pay_amount", "subscription_tier", "subscription_month"]
USER_TAIL = Table(NAME, SCHEMA, None, by_day=False)


def encode(batch: pa.RecordBatch) -> pa.RecordBatch:
    """A batch of PLAIN rows as the file stores them (SCHEMA: RUNS run-end encoded); a batch
    already stored so is returned as it is."""
    if batch.schema.equals(SCHEMA):
        return batch
    return pa.RecordBatch.from_arrays(
        [pc.run_end_encode(col, run_end_type=_RUN_ENDS) if f.name in RUNS else col
         for col, f in zip(batch.columns, batch.schema, strict=True)], schema=SCHEMA)


def decode(rows: pa.RecordBatch | pa.Table) -> pa.RecordBatch | pa.Table:
    """Rows read from the file (any of its columns) with their run-end encoded columns
    decoded (PLAIN's types)."""
    if not any(pa.types.is_run_end_encoded(f.type) for f in rows.schema):
        return rows
    fields = [pa.field(f.name, f.type.value_type) if pa.types.is_run_end_encoded(f.type) else f
              for f in rows.schema]
    columns = [pc.run_end_decode(col) if pa.types.is_run_end_encoded(f.type) else col
               for col, f in zip(rows.columns, rows.schema, strict=True)]
    if isinstance(rows, pa.Table):
        return pa.Table.from_arrays(columns, schema=pa.schema(fields))
    return pa.RecordBatch.from_arrays(columns, schema=pa.schema(fields))


def path(lake: Lake) -> str:
    """Where the user tail lives in this lake."""
    return lake.table_dir(USER_TAIL) + "/" + FILE


def read_doc(lake: Lake) -> dict | None:
    """The file's build record {"version", "lines", "parts"}; None when there is no
    file (or one of another version, or an unreadable one)."""
    file = path(lake)
    if is_uri(lake.root) or not os.path.exists(file):
        return None
    try:
        with pa.memory_map(file) as src:
            meta = ipc.open_file(src).schema.metadata or {}
        doc = json.loads(meta[META_KEY].decode("utf-8"))
    except (OSError, KeyError, ValueError, pa.ArrowInvalid):
        log.warning("user tail %s unreadable: ignored", file, exc_info=True)
        return None
    ok = doc.get("version") == VERSION and isinstance(doc.get("parts"), dict) and isinstance(doc.get("lines"), int)
    return doc if ok else None


class FreshnessCache(side_tables.FreshnessCache):
    """side_tables.FreshnessCache for the user tail (an Arrow file, not a Parquet one)."""

    def __init__(self) -> None:
        super().__init__(None)  # type: ignore[arg-type]

    def path(self, lake: Lake) -> str:
        return path(lake)

    def read_doc(self, lake: Lake) -> dict | None:
        return read_doc(lake)


class _Lasts:
    """The last user_id of each record batch, as a sequence for bisect: batch i's is read
    (only its user_id column decompressed) when bisect first asks for it, then kept."""

    def __init__(self, users: ipc.RecordBatchFileReader) -> None:
        self.users = users
        self.known: dict[int, str] = {}

    def __len__(self) -> int:
        return self.users.num_record_batches

    def __getitem__(self, i: int) -> str:
        if i not in self.known:
            self.known[i] = self.users.get_batch(i).column(0)[-1].as_py()
        return self.known[i]


class _Strings:
    """An Arrow string array as a sequence of Python strings for bisect: only the log2(n)
    values bisect asks for become Python strings (not the batch's 8,192)."""

    def __init__(self, values: pa.Array) -> None:
        self.values = values

    def __len__(self) -> int:
        return len(self.values)

    def __getitem__(self, i: int) -> str:
        return self.values[i].as_py()


def _open(file: str, fields: list[int] | None = None) -> ipc.RecordBatchFileReader:
    """A reader of the file mapped into memory (only the columns `fields`, when given); it
    keeps the map open for its batches (a file renamed over this one leaves it intact)."""
    options = ipc.IpcReadOptions(included_fields=fields) if fields else None
    return ipc.open_file(pa.memory_map(file), options=options)


# what a page needs of the file: the user, the day (the filter) and user_messages' columns
# (not ``id``: the file's order already is chat_time and id descending)
_READ = ["user_id", "day", *COLUMNS]
_READ_FIELDS = [SCHEMA.get_field_index(c) for c in _READ]
_READ_SCHEMA = pa.schema([SCHEMA.field(c) for c in _READ])
_EPOCH = date(1970, 1, 1)


class _Lines:
    """One user's rows of the tail, ready for pages: user_messages' frame of them (chat_time
    in the reader's zone), and per row its day (days since 1970) and a number for its channel."""

    def __init__(self, rows: pa.Table, tz: str) -> None:
        self.frame = _frame(rows, tz)
        self.rows = rows.num_rows
        self.day = rows.column("day").combine_chunks().view(pa.int32()).to_numpy(zero_copy_only=False)
        ids = rows.column("channel_id").to_pylist()
        self.codes = {ch: i for i, ch in enumerate(dict.fromkeys(ids))}
        self.channel = np.array([self.codes[ch] for ch in ids], dtype=np.int32)

    def where(self, channels: list[str] | None, start: date | None, end: date | None) -> np.ndarray:
        """The positions of the rows on days [start, end] of `channels` (None: all), in order."""
        keep = np.ones(self.rows, dtype=bool)
        if start is not None:
            keep &= self.day >= (start - _EPOCH).days
        if end is not None:
            keep &= self.day <= (end - _EPOCH).days
        if channels is not None:
            wanted = [self.codes[ch] for ch in set(channels) if ch in self.codes]
            keep &= np.isin(self.channel, np.array(wanted, dtype=np.int32))
        return np.flatnonzero(keep)


class Reader:
    """A warehouse's view of the user tail: the file's footer read (no pass over its rows),
    read again when the file changes. A user's rows are found by bisecting the batches'
    last user_ids, their batches decompressed (user_messages' columns only) and checked in
    full (damaged bytes show as failed decompression, views out of bounds or bad UTF-8)
    once, then kept as a frame for their pages (the last RECENT_USERS users); a damaged
    file is reported once and not used until it is rewritten."""

    def __init__(self, con=None) -> None:
        self.fresh = FreshnessCache()
        self._key: tuple | None = None
        self._file: ipc.RecordBatchFileReader | None = None
        self._lasts: _Lasts | None = None
        self._recent: dict[int, pa.RecordBatch] = {}  # the last batches decompressed, oldest first
        self._users: dict[tuple[str, str], _Lines] = {}  # (user, zone) -> their rows, oldest first
        self._lines = 0
        self._bad: tuple | None = None
        self._path = ""

    def usable(self, lake: Lake, hint: tuple | None = None) -> bool:
        """True when the user tail describes the chat partitions as they are now and could
        be read. `hint`: see side_tables.FreshnessCache.fresh."""
        if is_uri(lake.root) or not self.fresh.fresh(lake, hint):
            return False
        key = self.fresh.key
        if key == self._key:
            return True
        if key == self._bad:
            return False
        try:
            file = _open(path(lake))
            if not file.schema.remove_metadata().equals(SCHEMA):
                raise ValueError(f"unexpected schema {file.schema}")
            lasts = _Lasts(_open(path(lake), [0]))
            file = _open(path(lake), _READ_FIELDS)
        except (OSError, ValueError, pa.ArrowException):
            self._damaged(path(lake), key)
            return False
        self._key, self._file, self._lasts, self._path = key, file, lasts, path(lake)
        self._recent, self._users = {}, {}
        self._lines = int(self.fresh.doc["lines"])  # type: ignore[index]
        return True

    def _damaged(self, file: str, key: tuple | None) -> None:
        log.warning("user tail %s unreadable: user lines are read from the chat", file, exc_info=True)
        self._bad, self._key, self._users = key, None, {}

    def _rows(self, user_id: str) -> pa.Table:
        """The user's rows (the columns _READ): the batches from the first whose last user
        is not before theirs, while a batch may still begin with theirs."""
        assert self._file is not None and self._lasts is not None
        parts = []
        for i in range(bisect.bisect_left(self._lasts, user_id), self._file.num_record_batches):
            batch = self._batch(i)
            first, end = _run_of(batch.column(0), user_id)
            if end > first:
                parts.append(batch.slice(first, end - first))
            if end < batch.num_rows:
                break
        return pa.Table.from_batches(parts, _READ_SCHEMA)

    def _batch(self, i: int) -> pa.RecordBatch:
        """Record batch i decompressed; the last RECENT_BATCHES are kept (a user's next page
        reads the same ones)."""
        assert self._file is not None
        batch = self._recent.pop(i) if i in self._recent else self._file.get_batch(i)
        self._recent[i] = batch
        if len(self._recent) > RECENT_BATCHES:
            del self._recent[next(iter(self._recent))]
        return batch

    def _user(self, user_id: str, tz: str) -> _Lines:
        """The user's rows ready for pages in the zone `tz` (kept for the last RECENT_USERS)."""
        got = self._users.pop((user_id, tz), None)
        if got is None:
            mine = self._rows(user_id)
            mine.validate(full=True)
            got = _Lines(decode(mine), tz)
        self._users[(user_id, tz)] = got
        if len(self._users) > RECENT_USERS:
            del self._users[next(iter(self._users))]
        return got

    def page(self, user_id: str, channels: list[str] | None, start: date | None, end: date | None,
             limit: int, offset: int, tz: str = "UTC",
             passing: Callable[[], int | None] | None = None) -> pl.DataFrame | None:
        """The user's lines newest first, filtered, rows offset..offset+limit, in
        user_messages' columns (chat_time in the zone `tz`); None when the page may need
        lines older than the tail holds for this user, or the user's rows are damaged.
        `passing()`: how many of the user's lines pass the filters (the users side table
        knows; None when not known), asked only when the tail is full and the page reaches
        past what it holds: a full tail holding that many of them holds all."""
        try:
            mine = self._user(user_id, tz)
        except (OSError, ValueError, IndexError, pa.ArrowException):
            self._damaged(self._path, self._key)
            return None
        rows = mine.rows
        if channels is None and start is None and end is None:
            if offset + limit > rows and rows >= self._lines and (passing is None or passing() != rows):
                return None  # older lines than the tail holds are needed
            return mine.frame.slice(min(offset, rows), max(0, min(limit, rows - offset)))
        at = mine.where(channels, start, end)
        if len(at) < offset + limit and rows >= self._lines and (passing is None or passing() != len(at)):
            return None  # all this user's lines that pass are in a full tail only when it holds `passing`
        at = at[offset:offset + limit]
        if not len(at) or at[-1] - at[0] == len(at) - 1:  # a run of rows: a slice, no copy
            return mine.frame.slice(int(at[0]) if len(at) else 0, len(at))
        return mine.frame[at]


def _run_of(users: pa.Array, user_id: str) -> tuple[int, int]:
    """[first, end) rows of `user_id` in a batch's user_id column (run-end encoded and sorted:
    the user's rows are one run, found by bisecting the runs' values)."""
    start, runs = users.find_physical_offset(), users.find_physical_length()
    values, ends = users.values.slice(start, runs), users.run_ends.slice(start, runs)
    at = bisect.bisect_left(_Strings(values), user_id)
    if at == runs or values[at].as_py() != user_id:
        return 0, 0
    first = ends[at - 1].as_py() - users.offset if at else 0
    return max(first, 0), min(ends[at].as_py() - users.offset, len(users))


def _frame(rows: pa.Table, tz: str) -> pl.DataFrame:
    """user_messages' columns of tail rows, chat_time in the zone `tz` (the column's type
    only: no value is changed)."""
    table = rows.select(COLUMNS)
    return pl.from_arrow(table.cast(table.schema.set(0, pa.field("chat_time", pa.timestamp("us", tz)))))


def remove(lake: Lake) -> None:
    """Delete the lake's user tail, if it has one (USER_TAIL_LINES=0, or a forget-user whose
    rebuild failed: the file must not keep the forgotten user's lines)."""
    file = path(lake)
    if not is_uri(lake.root) and os.path.exists(file):
        os.remove(file)
        log.info("user tail %s removed", file)


def rows_in(file: str) -> int:
    """Rows of an Arrow IPC file (its record batches' lengths; only the day column is
    decompressed)."""
    return sum(batch.num_rows for batch in batches(file, [1]))


def batches(file: str, fields: list[int] | None = None) -> Iterator[pa.RecordBatch]:
    """An Arrow IPC file's record batches (only the columns `fields`, when given), read one
    at a time: not mapped, since a big file's mapped pages would count as this process's
    memory."""
    options = ipc.IpcReadOptions(included_fields=fields) if fields else None
    with pa.OSFile(file) as src:
        reader = ipc.open_file(src, options=options)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)
