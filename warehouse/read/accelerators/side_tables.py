"""Side tables: small summaries of the chat partitions that answer some questions from one
file instead of every day of chat — the Parquet accelerators declared in
warehouse/read/accelerators/__init__.py (users_index.py, rollups.py, broadcast_spans.py,
chatter_days.py). This module holds what they share (the user tail too, for its
freshness): the fingerprint that says whether a side table still describes the
partitions, the freshness caches a reader keeps, and the incremental build.

A side table is one Parquet file, ``<root>/<name>/part-0.parquet``. Its key-value metadata
(under the table's key) records ``{"version", "timezone", "parts"}``: ``parts`` is the
fingerprint of every chat partition it was built from — per day the file's size and mtime
(and inode, for a local lake), taken *before* the partitions are read. A reader uses the
table only while the chat partitions have exactly that fingerprint; any partition
rewritten, added or removed since (a sync, forget-user, retention, a hand edit) makes it
stale, and the reader scans the chat instead. A build aggregates again only the days
whose fingerprint changed (every day when the version or the zone changed), keeps the
other days' rows (read from the old file by DuckDB as it merges: memory stays bounded
however big the table), and writes through ``Lake.write`` (temporary name, then rename): a
reader sees the old table or the new one, never half of one.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from warehouse.lake import health
from warehouse.lake.layout import Lake, is_uri
from warehouse.lake.tables import CHAT, Table

log = logging.getLogger(__name__)
MEMORY_LIMIT = "256MB"  # DuckDB working memory for a build (it spills beyond): 0.63 GiB peak RSS at 10M rows, not 1.1
# changed days are aggregated in chunks of at most this many bytes of chat files: DuckDB's
# aggregate of a whole 100M-row lake ran out of MEMORY_LIMIT (its sort spills; it did not)
CHUNK_BYTES = 512 * 1024 * 1024
BATCH_ROWS = 131_072
# a reader's full freshness check (the fingerprint of every partition: 0.5 ms at 175 days)
# is repeated at most this often while nothing it watches changed (FreshnessCache.fresh)
RECHECK_SECONDS = 1.0
_DAY_SCHEMA = pa.schema([("day", pa.date32())])

Fingerprint = dict[str, list]  # day (ISO) -> [size, mtime_ns, inode or None]


@dataclass(frozen=True)
class SideTable:
    """One side table. ``aggregate``: SQL over the relation ``src`` (changed days' chat
    rows with the hive ``day`` column) whose every group lies within one day, giving
    ``schema``'s columns in order; ``order``: the file's sort order (an ORDER BY list of
    its columns, a constant of the spec)."""
    name: str
    schema: pa.Schema
    meta_key: bytes
    version: int
    aggregate: str
    order: str
    chunk_bytes: int | None = None  # None: CHUNK_BYTES
    # the rows as written: None, the merged rows; or a constant query of the spec over them
    # (``{rows}``), for columns computed over the whole table (the chatter days' numbers)
    written: str | None = None
    encodings: tuple[tuple[str, str], ...] = ()  # (column, Parquet encoding) written without a dictionary

    @property
    def table(self) -> Table:
        return Table(self.name, self.schema, None, by_day=False)

    @property
    def merge(self) -> str:
        """SQL of the new file: the rows of ``old_table`` whose day is in the bound list
        and every row of ``agg``, in the file's order."""
        rows = "SELECT * FROM old_table WHERE list_contains(?::DATE[], day) UNION ALL SELECT * FROM agg"
        if self.written is not None:
            rows = "SELECT * FROM (" + self.written.replace("{rows}", rows) + ")"  # noqa: S608 - the spec's constant
        return rows + " ORDER BY " + self.order  # noqa: S608 - the spec's own column names, never a value


def path(spec: SideTable, lake: Lake) -> str:
    """Where the side table lives in this lake."""
    return lake.part_path(spec.table)


def chat_fingerprint(lake: Lake) -> Fingerprint:
    """The identity of every chat partition file now: {day: [size, mtime_ns, inode]}.
    An atomic rewrite (new file renamed over the old) changes the inode locally and the
    mtime everywhere."""
    return {day.isoformat(): list(key) for day, (_, key) in health.day_files(lake, CHAT).items()}


def read_doc(spec: SideTable, lake: Lake) -> dict | None:
    """The table's build record {"version", "timezone", "parts"}; None when there is no
    table (or one of another version, or an unreadable one)."""
    file = path(spec, lake)
    try:
        if health.file_key(lake, file) is None:
            return None
        with lake.fs.open_input_file(file) as f:
            meta = pq.read_metadata(f).metadata or {}
        doc = json.loads(meta[spec.meta_key].decode("utf-8"))
    except (OSError, KeyError, ValueError, pa.ArrowInvalid):
        log.warning("%s side table %s unreadable: ignored", spec.name, file, exc_info=True)
        return None
    return doc if doc.get("version") == spec.version and isinstance(doc.get("parts"), dict) else None


def is_fresh(spec: SideTable, lake: Lake | str) -> bool:
    """True when `lake` has the side table `spec` and it matches the chat partitions."""
    return FreshnessCache(spec).fresh(lake if isinstance(lake, Lake) else Lake(str(lake)))


class FreshnessCache:
    """Remembers a side table's build record while its file is unchanged, so a reader's
    freshness check costs one listing of the chat folder and one stat — or, given a
    `hint`, nothing more than the stat while the hint is unchanged and the last full check
    is under RECHECK_SECONDS old."""

    def __init__(self, spec: SideTable) -> None:
        self.spec = spec
        self.key: tuple | None = None  # (size, mtime_ns, inode) of the file last read
        self.doc: dict | None = None
        self._checked: tuple | None = None  # (file key, hint, monotonic time, answer) of the last full check

    def fresh(self, lake: Lake, hint: tuple | None = None) -> bool:
        """True when the table exists and matches the chat partitions as they are now.
        `hint`: what the caller sees change whenever a partition is written (the chat
        folder's mtime, which Lake.write touches, and state.json's), taken now; while it
        and the table file are as at the last full check, and that check is recent, its
        answer stands (a partition changed by hand is seen within RECHECK_SECONDS). None
        (a remote lake): every check is a full one."""
        key = health.file_key(lake, self.path(lake))
        if key is None:
            return False
        now = time.monotonic()
        last = self._checked
        if hint is not None and last is not None and last[:2] == (key, hint) and now - last[2] < RECHECK_SECONDS:
            return last[3]
        if key != self.key:
            self.key, self.doc = key, self.read_doc(lake)
        answer = self.doc is not None and self.doc["parts"] == jsonable(chat_fingerprint(lake))
        self._checked = (key, hint, now, answer)
        return answer

    def path(self, lake: Lake) -> str:
        """The table's file (a table kept in another format overrides this and read_doc)."""
        return path(self.spec, lake)

    def read_doc(self, lake: Lake) -> dict | None:
        """The file's build record, None when it has none of this version."""
        return read_doc(self.spec, lake)


class Loaded:
    """A reader's in-memory copy of a side table (an Arrow table of ``spec.schema``): read
    again when its file changes, given only while the table matches the chat partitions.
    A file whose rows cannot be read as the table (damaged, or written by something else)
    is reported once and not tried again until it is rewritten; the caller scans instead."""

    def __init__(self, spec: SideTable) -> None:
        self.fresh = FreshnessCache(spec)
        self.key: tuple | None = None  # the file `table` was read from
        self.table: pa.Table | None = None
        self._bad: tuple | None = None

    def get(self, lake: Lake, hint: tuple | None = None) -> pa.Table | None:
        """The table, or None when it is stale, missing or unreadable. `hint`: see
        FreshnessCache.fresh."""
        if not self.fresh.fresh(lake, hint):
            return None
        key = self.fresh.key
        if key == self.key:
            return self.table
        if key == self._bad:
            return None
        spec = self.fresh.spec
        try:
            with lake.fs.open_input_file(path(spec, lake)) as f:
                table = pq.read_table(f).cast(spec.schema)
        except (OSError, ValueError, KeyError, pa.ArrowException):
            log.warning("%s side table %s unreadable: the chat is scanned instead", spec.name.replace("_", " "),
                        path(spec, lake), exc_info=True)
            self._bad = key
            return None
        self.key, self.table = key, table
        return table


def jsonable(fp: Fingerprint) -> Fingerprint:
    """The fingerprint as a file records it (JSON: tuples become lists), for comparing with one."""
    return json.loads(json.dumps(fp))


def chat_source(con: duckdb.DuckDBPyConnection, lake: Lake, days: list[str]) -> None:
    """Register the chat partitions of `days` as the relation ``src`` (with `day`). A damaged
    partition (warehouse/lake/health.py: its footer, or damage found before) is left out, as the
    readers' chat view leaves it out: the table then describes it as a day without rows
    until it is rewritten (which changes its fingerprint, so that day is aggregated again)."""
    paths = [lake.part_path(CHAT, date.fromisoformat(d)) for d in days]
    damaged = [p for p in paths if health.unreadable(lake, p)]
    if damaged:
        log.warning("%d damaged chat partition(s) left out of the side tables: %s", len(damaged),
                    ", ".join(health.relative(lake, p) for p in damaged))
        paths = [p for p in paths if p not in damaged]
    if not paths:
        con.register("src_none", CHAT.schema.empty_table().append_column("day", pa.array([], pa.date32())))
        con.execute("CREATE OR REPLACE VIEW src AS SELECT * FROM src_none")
        return
    if not is_uri(lake.root):
        con.read_parquet(paths, hive_partitioning=True, union_by_name=True).create_view("src")
        return
    dataset = pads.dataset(paths, filesystem=lake.fs, format="parquet",
                           partitioning=pads.partitioning(_DAY_SCHEMA, flavor="hive"),
                           partition_base_dir=lake.table_dir(CHAT))
    con.register("src", dataset)


def connect(spill: str, tz: str = "UTC") -> duckdb.DuckDBPyConnection:
    """A DuckDB connection for a build: session zone `tz` (it places hours and days), and
    bounded memory whatever the lake's size — beyond MEMORY_LIMIT it spills aggregates and
    sorts to the folder `spill` (the caller's own mkdtemp), and results stream to the
    writer; no progress bar (logs instead)."""
    con = duckdb.connect(":memory:")
    # SET takes no bound parameters: the zone is quoted, the limit a constant, the folder quoted
    con.execute("SET TimeZone = '" + tz.replace("'", "''") + "'")
    con.execute("SET memory_limit = '" + MEMORY_LIMIT + "'")
    con.execute("SET enable_progress_bar = false")
    con.execute("SET temp_directory = '" + spill.replace("'", "''") + "'")
    return con


def file_source(con: duckdb.DuckDBPyConnection, lake: Lake, file: str, name: str) -> None:
    """Register one Parquet file of the lake as the relation `name`."""
    if not is_uri(lake.root):
        con.read_parquet(file).create_view(name)
    else:
        con.register(name, pads.dataset(file, filesystem=lake.fs, format="parquet"))


def chunks(days: list[str], parts: Fingerprint, cap: int | None = None) -> list[list[str]]:
    """`days` in consecutive runs whose chat files hold at most `cap` (None: CHUNK_BYTES)
    bytes together (a day bigger than that alone). Pure."""
    cap = CHUNK_BYTES if cap is None else cap
    out: list[list[str]] = []
    held = 0
    for day in days:
        size = parts[day][0] or 0
        if out and held + size <= cap:
            out[-1].append(day)
            held += size
        else:
            out.append([day])
            held = size
    return out


def build(spec: SideTable, root: str | Lake, full: bool = False, tz: str = "UTC") -> int:
    """Bring the side table `spec` up to date with the chat partitions; return its row
    count. Only days whose partition changed since the last build are aggregated again
    (``full``, or a build for another zone ``tz``: every day); nothing is written when no
    partition changed. ``tz`` is the DuckDB session zone of the aggregate (it places
    hours and days). An old table whose rows cannot be read (warehouse/lake/health.py) is
    built again from every day."""
    lake = root if isinstance(root, Lake) else Lake(str(root))
    try:
        return _build(spec, lake, full, tz)
    except Exception as exc:
        if full or not health.is_read_error(exc):
            raise
        damaged = health.deep_problem(lake, path(spec, lake))
        if not damaged:  # the old table reads: what failed was a chat partition (the caller's to find)
            raise
        log.warning("%s side table is damaged (%s): built again from every day", spec.name, damaged)
        return _build(spec, lake, True, tz)


def _build(spec: SideTable, lake: Lake, full: bool, tz: str) -> int:
    t0 = time.monotonic()
    current = jsonable(chat_fingerprint(lake))  # before reading: a later rewrite shows as stale
    doc = None if full else read_doc(spec, lake)
    old = doc["parts"] if doc is not None and doc.get("timezone", "UTC") == tz else None
    if old is not None and old == current:
        with lake.fs.open_input_file(path(spec, lake)) as f:
            rows = pq.read_metadata(f).num_rows
        log.info("%s side table up to date: %d rows, %d days (%.2fs)", spec.name, rows, len(current),
                 time.monotonic() - t0)
        return rows
    changed = sorted(d for d in current if old is None or old.get(d) != current[d])
    meta = {spec.meta_key: json.dumps({"version": spec.version, "timezone": tz, "parts": current},
                                      sort_keys=True).encode("utf-8")}
    table = Table(spec.name, spec.schema.with_metadata(meta), None, by_day=False)
    spill = tempfile.mkdtemp(prefix=f"chzzk-{spec.name}-")
    con = connect(spill, tz)
    try:
        if old is not None:  # read by DuckDB as it merges: a big table is never held whole in memory
            file_source(con, lake, path(spec, lake), "old_table")
        else:
            con.register("old_table", spec.schema.empty_table())
        parts = []
        for i, days in enumerate(chunks(changed, current, spec.chunk_bytes)):
            chat_source(con, lake, days)
            parts.append(os.path.join(spill, f"aggregate-{i:05d}.parquet"))
            con.sql(spec.aggregate).write_parquet(parts[-1])
        if parts:
            con.read_parquet(parts).create_view("agg")
        else:
            con.register("agg", spec.schema.empty_table())
        # days still there and unchanged keep their rows; removed or changed days leave
        keep = [date.fromisoformat(d) for d in current if d not in changed]
        result = con.sql(spec.merge, params=[keep]).to_arrow_reader(BATCH_ROWS)
        rows, size = lake.write(table, result, encodings=dict(spec.encodings))
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    log.info("%s side table: %d rows, %d bytes, %d of %d day(s) aggregated%s in %.2fs", spec.name, rows,
             size, len(changed), len(current), " (full)" if old is None else "", time.monotonic() - t0)
    return rows
