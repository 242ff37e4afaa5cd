"""Building the user tail (warehouse/read/accelerators/user_tail.py holds its layout and
its reader): the sync and forget-user bring it up to date with ``build_user_tail``.

The chatters with lines on a changed day (before or after the change) have their newest
lines taken again from the chat (where each one's k-th newest line lies comes from the
users side table's lines per user and day, so only that day's lines are ranked); the
others keep their rows, copied from the old file a record batch at a time (memory stays
bounded whatever the file's size). The file is written to a temporary name and renamed.
USER_TAIL_LINES=0 removes it.
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
from collections.abc import Iterator
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc

from core import settings
from warehouse.lake.layout import Lake, is_uri
from warehouse.read.accelerators import side_tables, users_index
from warehouse.read.accelerators.user_tail import (
    META_KEY,
    PLAIN,
    SCHEMA,
    TMP,
    VERSION,
    WRITE_ROWS,
    ZSTD_LEVEL,
    batches,
    decode,
    encode,
    path,
    read_doc,
    remove,
    rows_in,
)

log = logging.getLogger(__name__)
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
_WRITE = ipc.IpcWriteOptions(compression=pa.Codec("zstd", ZSTD_LEVEL))


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
    # the users side table's lines per user and day place each user's cut: built here only
    # when it does not match the partitions (rebuild_all builds it just before this)
    current = side_tables.jsonable(side_tables.chat_fingerprint(lake))  # before reading
    if users_index.read_fingerprint(lake) != current:
        users_index.build_users_index(lake)
        current = side_tables.jsonable(side_tables.chat_fingerprint(lake))
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
        for batch in batches(file):
            batch.validate(full=True)
        return True
    except (OSError, ValueError, pa.ArrowException):
        log.warning("user tail %s is damaged: taken again for every chatter", file, exc_info=True)
        return False


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


def _affected(con: duckdb.DuckDBPyConnection, old: str, touched: list[date], chat: bool) -> set[str]:
    """The chatters with lines on the `touched` days, in the chat now (``src``, when
    `chat`) or in the `old` tail file; registered as the relation ``affected``."""
    days = pa.array(touched, pa.date32())
    affected: set[str] = set()
    for batch in batches(old, [0, 1]):  # user_id, day
        users = decode(batch).column(0)
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
    cols = ", ".join(("s." if f.name in ("user_id", "day", "id", "chat_time") else "") + f.name for f in PLAIN)
    out = _Out(writer)
    for batch in con.sql(_NEWEST.format(cols=cols, real=_REAL, users=users)).to_arrow_reader(side_tables.BATCH_ROWS):
        out.add(pa.RecordBatch.from_arrays(
            [c.cast(f.type) for c, f in zip(batch.columns, PLAIN, strict=True)], schema=PLAIN), False)
    out.flush()
    return out.rows


def _merge(old: str, affected: set[str], taken: str, writer: ipc.RecordBatchFileWriter) -> int:
    """Write the rows of the `old` tail file whose users are not `affected` and the rows of
    the file `taken` (lines taken again), in user order, to `writer`; return how many. Both
    files are read a record batch at a time; an old batch without affected users is
    written again as it is (still encoded: only its compression is redone)."""
    out = _Out(writer)
    kept = _Cursor(_unaffected(old, pa.array(sorted(affected), pa.string())))
    again = _Cursor((batch, True) for batch in batches(taken))
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
    whole (as read, encoded) or not (decoded)."""
    for batch in batches(file):
        if not pc.any(pc.is_in(batch.column(0).values, value_set=affected)).as_py():  # the batch's users' runs
            yield batch, True
        else:
            batch = decode(batch)
            yield batch.filter(pc.invert(pc.is_in(batch.column(0), value_set=affected))), False


class _Cursor:
    """A position in a stream of (record batch, whole) sorted by user."""

    def __init__(self, batches: Iterator[tuple[pa.RecordBatch, bool]]) -> None:
        self.batches = batches
        self.batch: pa.RecordBatch | None = None
        self._next()

    def _next(self) -> None:
        for batch, whole in self.batches:
            if batch.num_rows:
                self.batch, self.whole, self.at = batch, whole, 0
                self._users = decode(batch.select([0])).column(0)
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
    """The new file's rows as they come (PLAIN, or as the file stores them): pieces gathered
    into record batches of WRITE_ROWS rows (the last one fewer) and encoded, a whole batch
    of that size written as it is (encoded if it is not)."""

    def __init__(self, writer: ipc.RecordBatchFileWriter) -> None:
        self.writer, self.pending, self.held, self.rows = writer, [], 0, 0

    def add(self, piece: pa.RecordBatch, whole: bool) -> None:
        if not piece.num_rows:
            return
        self.rows += piece.num_rows
        if whole and not self.pending and piece.num_rows == WRITE_ROWS:
            self.writer.write_batch(encode(piece))
            return
        self.pending.append(decode(piece))
        self.held += piece.num_rows
        if self.held >= WRITE_ROWS:
            batch, at = _compact(self.pending, PLAIN), 0
            while batch.num_rows - at >= WRITE_ROWS:
                self.writer.write_batch(encode(batch.slice(at, WRITE_ROWS)))  # written: only the slice's bytes
                at += WRITE_ROWS
            rest = batch.slice(at)
            self.pending, self.held = ([rest] if rest.num_rows else []), rest.num_rows

    def flush(self) -> None:
        if self.pending:
            self.writer.write_batch(encode(_compact(self.pending, PLAIN)))
            self.pending, self.held = [], 0


def _compact(parts: list[pa.RecordBatch], schema: pa.Schema) -> pa.RecordBatch:
    """One record batch of `parts`' rows (their strings' bytes copied: only those the rows use)."""
    return pa.RecordBatch.from_arrays(
        [pa.concat_arrays([p.column(i) for p in parts]) for i in range(len(schema))], schema=schema)
