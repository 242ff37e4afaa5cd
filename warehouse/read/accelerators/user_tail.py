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
        subscription_tier, subscription_month; the strings as plain utf8 (string_view's
        16-byte views compress worse). A user's rows are found by bisecting the batches'
        user_id columns (log2(batches) small reads, nothing built on open). The schema's
        metadata (key ``chzzk.user_tail``) records {"version", "lines", "parts"}: the
        lines kept per chatter and the chat partitions' fingerprint it was built from.

Its size is bounded by the number of chatters times USER_TAIL_LINES, not by the history
kept. Declared in warehouse/read/accelerators/__init__.py (USER_TAIL). It answers only
while the chat partitions are exactly those it was built from (the side tables' rule, warehouse/read/accelerators/side_tables.py) and only for the lake's own lines (no type
filter, no live rows), on a local lake (an S3 lake has none: the file is read by batch
from a local memory map). VERSION 1 files (uncompressed, string_view) read as stale and are
rebuilt whole by the next sync. A user holding USER_TAIL_LINES lines in it may have older ones: a page reaching
past what the tail holds for the filters asked is read from the chat instead.

The sync and forget-user bring it up to date (``build_user_tail``): the chatters with
lines on a changed day (before or after the change) have their newest lines taken again
from the chat (where each one's k-th newest line lies comes from the users side table's
lines per user and day, so only that day's lines are ranked); the others keep their rows,
copied from the old file a record batch at a time (memory stays bounded whatever the
file's size). The file is written to a temporary name and renamed. USER_TAIL_LINES=0
removes it.
"""
from __future__ import annotations

import bisect
import contextlib
import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from datetime import date

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from core import settings
from warehouse.lake.layout import Lake, is_uri
from warehouse.lake.tables import Table
from warehouse.read.accelerators import side_tables, users_index

log = logging.getLogger(__name__)
NAME = "user_tail"
FILE = "part-0.arrow"
META_KEY = b"chzzk.user_tail"
VERSION = 2  # 2: zstd-compressed 8,192-row batches of plain strings (1: uncompressed string_view)
WRITE_ROWS = 8_192  # rows per record batch written: a user's page decompresses one or two
# zstd level: 14 is where this data's size drops (2M-line lake: level 3 55.6 MB, 13 52.5 MB,
# 14 41.2 MB), at ~3x level 3's write time (docs/BENCHMARKS.md)
ZSTD_LEVEL = 14
RECENT_BATCHES = 4  # decompressed batches a reader keeps (~2 MB each at 1,000 lines per chatter)
_STR = pa.string()
TMP = "." + FILE + ".tmp-"  # + pid: a write in progress, renamed over FILE when complete
SCHEMA = pa.schema([
    ("user_id", _STR), ("day", pa.date32()), ("id", pa.int64()), ("chat_time", pa.timestamp("us", "UTC")),
    ("channel_id", _STR), ("channel_name", _STR), ("nickname", _STR), ("message_type", _STR), ("message", _STR),
    ("message_status", _STR), ("pay_amount", pa.int32()), ("subscription_tier", pa.int32()),
    ("subscription_month", pa.int32()),
])
# what user_messages returns, in its order
COLUMNS = ["chat_time", "channel_id", "channel_name", "nickname", "message_type", "message", "message_status",
           "pay_amount", "subscription_tier", "subscription_month"]
_REAL = "user_id IS NOT NULL AND user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')"
# The newest `k` lines (`k`: a validated int) of the users in ``affected`` (every user when
# the clause is left out), in two steps. The cut: from the users side table's lines per
# user and day, the day holding each user's k-th newest line — days after it are taken
# whole — and, ranking only that day's lines, that line's (chat_time, id). Users with
# fewer than k lines have no cut. Then the lines at or after the cut, in the file's order:
# no per-user state grows with k, and the chat's text is read once.
_CUT = """
    CREATE OR REPLACE TEMP TABLE cut AS
    WITH d AS (SELECT user_id, day, sum(messages) AS n FROM users_index WHERE true{users} GROUP BY ALL),
    c AS (SELECT user_id, day, n, sum(n) OVER (PARTITION BY user_id ORDER BY day DESC) AS upto FROM d),
    e AS (SELECT user_id, day, {k} - (upto - n) AS need FROM c WHERE upto >= {k} AND upto - n < {k}),
    ranked AS (SELECT s.user_id, s.chat_time, s.id, e.need,
                      row_number() OVER (PARTITION BY s.user_id ORDER BY s.chat_time DESC, s.id DESC) AS rn
               FROM src s JOIN e ON s.user_id = e.user_id AND s.day = e.day)
    SELECT user_id, chat_time AS t, id AS i FROM ranked WHERE rn = need"""
_NEWEST = """
    SELECT {cols} FROM src s LEFT JOIN cut USING (user_id)
    WHERE {real}{users} AND (cut.user_id IS NULL OR s.chat_time > cut.t OR (s.chat_time = cut.t AND s.id >= cut.i))
    ORDER BY s.user_id, s.chat_time DESC, s.id DESC"""
_TOUCHED_USERS = "SELECT DISTINCT user_id FROM src WHERE " + _REAL + " AND list_contains(?::DATE[], day)"  # noqa: S608 - constants
_AFFECTED = " AND user_id IN (SELECT user_id FROM affected)"
USER_TAIL = Table(NAME, SCHEMA, None, by_day=False)
_WRITE = ipc.IpcWriteOptions(compression=pa.Codec("zstd", ZSTD_LEVEL))


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


def _open(file: str, fields: list[int] | None = None) -> ipc.RecordBatchFileReader:
    """A reader of the file mapped into memory (only the columns `fields`, when given); it
    keeps the map open for its batches (a file renamed over this one leaves it intact)."""
    options = ipc.IpcReadOptions(included_fields=fields) if fields else None
    return ipc.open_file(pa.memory_map(file), options=options)


class Reader:
    """A warehouse's view of the user tail: the file's footer read (no pass over its rows),
    read again when the file changes. A user's rows are found by bisecting the batches'
    last user_ids, their batches decompressed and checked in full (damaged bytes show as
    failed decompression, views out of bounds or bad UTF-8) before a page of them is given;
    a damaged file is reported once and not used until it is rewritten."""

    def __init__(self, con=None) -> None:
        self.fresh = FreshnessCache()
        self._key: tuple | None = None
        self._file: ipc.RecordBatchFileReader | None = None
        self._lasts: _Lasts | None = None
        self._recent: dict[int, pa.RecordBatch] = {}  # the last batches decompressed, oldest first
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
        except (OSError, ValueError, pa.ArrowException):
            self._damaged(path(lake), key)
            return False
        self._key, self._file, self._lasts, self._path, self._recent = key, file, lasts, path(lake), {}
        self._lines = int(self.fresh.doc["lines"])  # type: ignore[index]
        return True

    def _damaged(self, file: str, key: tuple | None) -> None:
        log.warning("user tail %s unreadable: user lines are read from the chat", file, exc_info=True)
        self._bad, self._key = key, None

    def _rows(self, user_id: str) -> pa.Table:
        """The user's rows: the batches from the first whose last user is not before
        theirs, while a batch may still begin with theirs."""
        assert self._file is not None and self._lasts is not None
        batches = []
        for i in range(bisect.bisect_left(self._lasts, user_id), self._file.num_record_batches):
            batch = self._batch(i)
            if batch.num_rows:
                batches.append(batch)
                if self._lasts[i] > user_id:
                    break
        table = pa.Table.from_batches(batches, SCHEMA)
        users = table.column("user_id").to_pylist()
        first = bisect.bisect_left(users, user_id)
        return table.slice(first, bisect.bisect_right(users, user_id, first) - first)

    def _batch(self, i: int) -> pa.RecordBatch:
        """Record batch i decompressed; the last RECENT_BATCHES are kept (a user's next page
        reads the same ones)."""
        assert self._file is not None
        batch = self._recent.pop(i) if i in self._recent else self._file.get_batch(i)
        self._recent[i] = batch
        if len(self._recent) > RECENT_BATCHES:
            del self._recent[next(iter(self._recent))]
        return batch

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
            mine = self._rows(user_id)
            mine.validate(full=True)
        except (OSError, ValueError, IndexError, pa.ArrowException):
            self._damaged(self._path, self._key)
            return None
        rows = mine.num_rows
        if channels is None and start is None and end is None:
            if offset + limit > rows and rows >= self._lines and (passing is None or passing() != rows):
                return None  # older lines than the tail holds are needed
            return _frame(mine.slice(min(offset, rows), max(0, min(limit, rows - offset))), tz)
        keys = pl.from_arrow(mine.select(["day", "channel_id"]))
        keep = pl.col("day").is_between(start or date.min, end or date.max)
        if channels is not None:
            keep &= pl.col("channel_id").is_in(list(channels))
        part = mine.filter(keys.select(keep).to_series().to_arrow())  # only the page's rows become a frame
        if part.num_rows < offset + limit and rows >= self._lines and (passing is None or passing() != part.num_rows):
            return None  # all this user's lines that pass are in a full tail only when it holds `passing`
        return _frame(part.slice(min(offset, part.num_rows), limit), tz)


def _frame(rows: pa.Table, tz: str) -> pl.DataFrame:
    """user_messages' columns of tail rows, chat_time in the zone `tz` (the column's type
    only: no value is changed)."""
    table = rows.select(COLUMNS)
    return pl.from_arrow(table.cast(table.schema.set(0, pa.field("chat_time", pa.timestamp("us", tz)))))


def build_user_tail(root: str | Lake, full: bool = False, lines: int | None = None) -> int | None:
    """Bring ``<root>/user_tail/part-0.arrow`` up to date with the chat partitions; return
    its row count (None: no tail, for an S3 lake or USER_TAIL_LINES=0). Only the chatters
    with lines on a day whose partition changed are taken again from the chat (``full``,
    or another USER_TAIL_LINES: every chatter); nothing is written when no partition
    changed."""
    t0 = time.monotonic()
    lake = root if isinstance(root, Lake) else Lake(str(root))
    k = settings.get_int("USER_TAIL_LINES") if lines is None else int(lines)
    if is_uri(lake.root):
        return None
    file = path(lake)
    if k <= 0:
        remove(lake)
        return None
    users_index.build_users_index(lake)  # its lines per user and day place each user's cut
    current = json.loads(json.dumps(side_tables.chat_fingerprint(lake)))  # before reading
    if users_index.read_fingerprint(lake) != current:  # a partition changed in between: the cuts would be wrong
        log.warning("user tail not built: the chat partitions changed while the users side table was built")
        return None
    doc = None if full else read_doc(lake)
    old = doc["parts"] if doc is not None and doc["lines"] == k else None
    if old is not None and old != current and not _readable(file):  # its rows are copied: never garbage
        old = None
    if old is not None and old == current:
        log.info("user tail up to date: %d days (%.2fs)", len(current), time.monotonic() - t0)
        return rows_in(file)
    changed = sorted(d for d in current if old is None or old.get(d) != current[d])
    touched = [date.fromisoformat(d) for d in sorted(set(changed) | (set(old or {}) - set(current)))]
    schema = SCHEMA.with_metadata({META_KEY: json.dumps({"version": VERSION, "lines": k, "parts": current},
                                                        sort_keys=True).encode("utf-8")})
    spill = tempfile.mkdtemp(prefix="chzzk-user-tail-")
    con = side_tables.connect(spill)
    try:
        if current:
            side_tables.chat_source(con, lake, list(current))
            con.read_parquet(users_index.index_path(lake)).create_view("users_index")
        if old is None:  # every chatter, straight into the file
            affected = None
            with _replacing(file, schema) as writer:
                rows = _take(con, bool(current), "", k, writer)
        else:
            affected = _affected(con, file, touched, bool(current))
            taken_file = os.path.join(spill, "taken.arrow")
            with ipc.new_file(taken_file, SCHEMA) as spilled:  # uncompressed: read once, soon
                _take(con, bool(current) and bool(affected), _AFFECTED, k, spilled)
            with _replacing(file, schema) as writer:
                rows = _merge(file, affected, taken_file, writer)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    log.info("user tail: %d rows, %d bytes, %s taken again, %d of %d day(s) changed in %.2fs", rows,
             os.path.getsize(file), "every chatter" if affected is None else f"{len(affected)} chatter(s)",
             len(changed), len(current), time.monotonic() - t0)
    return rows


def build(lake: Lake, tz: str | None = None, full: bool = False) -> int | None:
    """build_user_tail as the registry calls it (no zone: `tz` is not used)."""
    return build_user_tail(lake, full)


def _readable(file: str) -> bool:
    """True when the tail file's rows read and validate in full, a batch at a time (IPC
    files carry no checksums: damaged bytes show as failed decompression, out-of-bounds
    offsets or bad UTF-8); else logged."""
    try:
        for batch in _batches(file):
            batch.validate(full=True)
        return True
    except (OSError, ValueError, pa.ArrowException):
        log.warning("user tail %s is damaged: taken again for every chatter", file, exc_info=True)
        return False


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
    return sum(batch.num_rows for batch in _batches(file, [1]))


@contextlib.contextmanager
def _replacing(file: str, schema: pa.Schema) -> Iterator[ipc.RecordBatchFileWriter]:
    """A writer of a temporary file beside `file`, renamed over it once complete (removed
    if the writing fails)."""
    folder = os.path.dirname(file)
    os.makedirs(folder, exist_ok=True)
    for name in os.listdir(folder):
        if name.startswith(TMP):
            log.warning("removing %s left by an interrupted build", os.path.join(folder, name))
            os.remove(os.path.join(folder, name))
    tmp = os.path.join(folder, f"{TMP}{os.getpid()}")
    try:
        with ipc.new_file(tmp, schema, options=_WRITE) as writer:
            yield writer
        os.replace(tmp, file)
    finally:
        if os.path.exists(tmp):
            os.remove(tmp)


def _batches(file: str, fields: list[int] | None = None) -> Iterator[pa.RecordBatch]:
    """An Arrow IPC file's record batches (only the columns `fields`, when given), read one
    at a time: not mapped, since a big file's mapped pages would count as this process's
    memory."""
    options = ipc.IpcReadOptions(included_fields=fields) if fields else None
    with pa.OSFile(file) as src:
        reader = ipc.open_file(src, options=options)
        for i in range(reader.num_record_batches):
            yield reader.get_batch(i)


def _affected(con: duckdb.DuckDBPyConnection, old: str, touched: list[date], chat: bool) -> set[str]:
    """The chatters with lines on the `touched` days, in the chat now (``src``, when
    `chat`) or in the `old` tail file; registered as the relation ``affected``."""
    days = pa.array(touched, pa.date32())
    affected: set[str] = set()
    for batch in _batches(old, [0, 1]):  # user_id, day
        users = batch.column(0).cast(pa.string())
        affected.update(users.filter(pc.is_in(batch.column(1), value_set=days)).unique().to_pylist())
    if chat:
        affected.update(u for (u,) in con.execute(_TOUCHED_USERS, [touched]).fetchall())
    con.register("affected", pa.table({"user_id": pa.array(sorted(affected), pa.string())}))
    return affected


def _take(con: duckdb.DuckDBPyConnection, any_rows: bool, users: str, k: int,
          writer: ipc.RecordBatchFileWriter) -> int:
    """Write the newest `k` lines of the chatters `users` selects (see _CUT) to `writer`,
    in the file's order; return how many."""
    if not any_rows:
        return 0
    con.execute(_CUT.format(users=users, k=int(k)))
    cols = ", ".join(("s." if f.name in ("user_id", "day", "id", "chat_time") else "") + f.name for f in SCHEMA)
    out = _Out(writer)
    for batch in con.sql(_NEWEST.format(cols=cols, real=_REAL, users=users)).to_arrow_reader(side_tables.BATCH_ROWS):
        out.add(pa.RecordBatch.from_arrays(
            [c.cast(f.type) for c, f in zip(batch.columns, SCHEMA, strict=True)], schema=SCHEMA), False)
    out.flush()
    return out.rows


def _merge(old: str, affected: set[str], taken: str, writer: ipc.RecordBatchFileWriter) -> int:
    """Write the rows of the `old` tail file whose users are not `affected` and the rows of
    the file `taken` (lines taken again), in user order, to `writer`; return how many. Both
    files are read a record batch at a time; an old batch without affected users is
    written again as it is."""
    out = _Out(writer)
    kept = _Cursor(_unaffected(old, pa.array(sorted(affected), pa.string())))
    again = _Cursor((batch, True) for batch in _batches(taken))
    while kept.batch is not None and again.batch is not None:  # their users differ: no tie
        if kept.head() < again.head():
            out.add(*kept.take_below(again.head()))
        else:
            out.add(*again.take_below(kept.head()))
    for cursor in (kept, again):
        while cursor.batch is not None:
            out.add(*cursor.take_below(None))
    out.flush()
    return out.rows


def _unaffected(file: str, affected: pa.Array) -> Iterator[tuple[pa.RecordBatch, bool]]:
    """The file's batches without the `affected` users' rows, each with whether it is
    whole (as read)."""
    for batch in _batches(file):
        drop = pc.is_in(batch.column(0), value_set=affected)
        if not pc.any(drop).as_py():
            yield batch, True
        else:
            yield batch.filter(pc.invert(drop)), False


class _Cursor:
    """A position in a stream of (record batch, whole) sorted by user."""

    def __init__(self, batches: Iterator[tuple[pa.RecordBatch, bool]]) -> None:
        self._batches = batches
        self.batch: pa.RecordBatch | None = None
        self._next()

    def _next(self) -> None:
        for batch, whole in self._batches:
            if batch.num_rows:
                self.batch, self.whole, self.at = batch, whole, 0
                self._users = batch.column(0).cast(pa.string())
                self._last = self._users[-1].as_py()
                self._sorted: list[str] | None = None  # as Python strings, once a bound falls inside
                return
        self.batch = None

    def head(self) -> str:
        return self._users[self.at].as_py()

    def take_below(self, bound: str | None) -> tuple[pa.RecordBatch, bool]:
        """The rows from here whose user sorts before `bound` (None: the rest of this
        batch), and whether they are a whole batch; moves past them."""
        assert self.batch is not None
        rows = self.batch.num_rows
        if bound is None or self._last < bound:
            end = rows
        else:
            if self._sorted is None:
                self._sorted = self._users.to_pylist()
            end = bisect.bisect_left(self._sorted, bound, self.at)
        piece = self.batch.slice(self.at, end - self.at)
        whole = self.whole and self.at == 0 and end == rows
        self.at = end
        if self.at == rows:
            self._next()
        return piece, whole


class _Out:
    """The new file's rows as they come: pieces gathered into record batches of WRITE_ROWS
    rows (the last one fewer), a whole batch of that size written as it is."""

    def __init__(self, writer: ipc.RecordBatchFileWriter) -> None:
        self.writer, self.pending, self.held, self.rows = writer, [], 0, 0

    def add(self, piece: pa.RecordBatch, whole: bool) -> None:
        if not piece.num_rows:
            return
        self.rows += piece.num_rows
        if whole and not self.pending and piece.num_rows == WRITE_ROWS:
            self.writer.write_batch(piece)
            return
        self.pending.append(piece)
        self.held += piece.num_rows
        if self.held >= WRITE_ROWS:
            batch, at = _compact(self.pending, SCHEMA), 0
            while batch.num_rows - at >= WRITE_ROWS:
                self.writer.write_batch(batch.slice(at, WRITE_ROWS))  # written: only the slice's bytes
                at += WRITE_ROWS
            rest = batch.slice(at)
            self.pending, self.held = ([rest] if rest.num_rows else []), rest.num_rows

    def flush(self) -> None:
        if self.pending:
            self.writer.write_batch(_compact(self.pending, SCHEMA))
            self.pending, self.held = [], 0


def _compact(parts: list[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    """One record batch of `parts`' rows (their strings' bytes copied: only those the rows use)."""
    return pa.RecordBatch.from_arrays(
        [pa.concat_arrays([p.column(i) for p in parts]) for i in range(len(schema))], schema=schema)
