"""The users side table: a small, user-sorted summary of the chat partitions that makes
user lookups (``search_users``, ``user_messages``) read one small file instead of every
day of chat.

Layout (part of the lake contract, see warehouse/lake.py)::

    <root>/users/part-0.parquet
        One row per (user_id, channel_id, channel_name, day, nickname) of the chat lines of
        real chatters (user_id not NULL, ``anonymous`` or ``SYSTEM_MESSAGE``), with
        messages (lines), first_seen and last_seen (min/max chat_time). Sorted by user_id,
        channel_id, day, nickname; zstd. ``nickname`` is NULL for lines without one.

Freshness rule: the file's Parquet key-value metadata (key ``chzzk.users_index``) records
the fingerprint of every chat partition it was built from — per day the file's size and
mtime (and inode, for a local lake), taken *before* the partitions are read. A reader uses
the index only while the chat partitions have exactly that fingerprint; any partition
rewritten, added or removed since (a sync, forget-user, retention, a hand edit) makes it
stale and the reader falls back to scanning the chat. ``build_users_index`` brings it up
to date incrementally: only the days whose fingerprint changed are aggregated again. The
sync calls it after writing its partitions, so after every sync the index is fresh.

The file is written through ``Lake.write`` (temporary name, then rename), so a reader sees
the old index or the new one, never half of one.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from warehouse.lake import PART, Lake, is_uri
from warehouse.tables import CHAT, UTC_US, Table

log = logging.getLogger(__name__)
NAME = "users"
META_KEY = b"chzzk.users_index"
VERSION = 1
MEMORY_LIMIT = "256MB"  # DuckDB working memory for a build (it spills beyond): 0.63 GiB peak RSS at 10M rows, not 1.1
# changed days are aggregated in chunks of at most this many bytes of chat files: DuckDB's
# aggregate of a whole 100M-row lake ran out of MEMORY_LIMIT (its sort spills; it did not)
CHUNK_BYTES = 512 * 1024 * 1024
BATCH_ROWS = 131_072
USERS_SCHEMA = pa.schema([
    ("user_id", pa.string()),
    ("channel_id", pa.string()),
    ("channel_name", pa.string()),
    ("day", pa.date32()),
    ("nickname", pa.string()),
    ("messages", pa.int64()),
    ("first_seen", UTC_US),
    ("last_seen", UTC_US),
])
USERS = Table(NAME, USERS_SCHEMA, None, by_day=False)
_DAY_SCHEMA = pa.schema([("day", pa.date32())])

# One chunk of the changed days' chat rows (a relation named src, with the hive `day`
# column) aggregated; every group holds one day, so chunks of days aggregate apart.
_AGGREGATE = """
    SELECT user_id, channel_id, channel_name, day, nickname, count(*)::BIGINT AS messages,
           min(chat_time) AS first_seen, max(chat_time) AS last_seen
    FROM src
    WHERE user_id IS NOT NULL AND user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')
    GROUP BY user_id, channel_id, channel_name, day, nickname"""
# The old index's unchanged days plus the changed days' aggregates (relation agg), in the
# index's order.
_MERGE = """
    SELECT * FROM old_index WHERE list_contains(?::DATE[], day)
    UNION ALL
    SELECT * FROM agg
    ORDER BY user_id, channel_id, day, nickname NULLS FIRST, channel_name NULLS FIRST"""

Fingerprint = dict[str, list]  # day (ISO) -> [size, mtime_ns, inode or None]


def index_path(lake: Lake) -> str:
    """Where the side table lives in this lake."""
    return lake.part_path(USERS)


def chat_fingerprint(lake: Lake) -> Fingerprint:
    """The identity of every chat partition file now: {day: [size, mtime_ns, inode]}.
    An atomic rewrite (new file renamed over the old) changes the inode locally and the
    mtime everywhere."""
    out: Fingerprint = {}
    folder = lake.table_dir(CHAT)
    if not is_uri(lake.root):
        try:
            entries = list(os.scandir(folder))
        except FileNotFoundError:
            return out
        for entry in entries:
            if not (entry.is_dir() and entry.name.startswith("day=")):
                continue
            try:
                st = os.stat(os.path.join(entry.path, PART))
            except FileNotFoundError:
                continue
            out[entry.name[4:]] = [st.st_size, st.st_mtime_ns, st.st_ino]
        return dict(sorted(out.items()))
    for info in lake.fs.get_file_info(pafs.FileSelector(folder, recursive=True, allow_not_found=True)):
        parent = info.path.rsplit("/", 2)
        if info.type == pafs.FileType.File and info.base_name == PART and parent[-2].startswith("day="):
            out[parent[-2][4:]] = [info.size, info.mtime_ns, None]
    return dict(sorted(out.items()))


def _file_key(lake: Lake, path: str) -> tuple | None:
    """(size, mtime_ns, inode) of a file, None when it does not exist."""
    if not is_uri(lake.root):
        try:
            st = os.stat(path)
        except FileNotFoundError:
            return None
        return st.st_size, st.st_mtime_ns, st.st_ino
    info = lake.fs.get_file_info(path)
    return (info.size, info.mtime_ns, None) if info.type == pafs.FileType.File else None


def read_fingerprint(lake: Lake) -> Fingerprint | None:
    """The chat fingerprint the index was built from; None when there is no index (or one
    of another version, or an unreadable one)."""
    path = index_path(lake)
    try:
        if _file_key(lake, path) is None:
            return None
        with lake.fs.open_input_file(path) as f:
            meta = pq.read_metadata(f).metadata or {}
        doc = json.loads(meta[META_KEY].decode("utf-8"))
    except (OSError, KeyError, ValueError, pa.ArrowInvalid):
        log.warning("users index %s unreadable: ignored", path, exc_info=True)
        return None
    return doc.get("parts") if doc.get("version") == VERSION else None


class FreshnessCache:
    """Remembers the fingerprint stored in the index file while the file is unchanged, so
    a reader's freshness check costs one listing of the chat folder and one stat."""

    def __init__(self) -> None:
        self.key: tuple | None = None  # (size, mtime_ns, inode) of the index file last read
        self._parts: Fingerprint | None = None

    def fresh(self, lake: Lake) -> bool:
        """True when the index exists and matches the chat partitions as they are now."""
        key = _file_key(lake, index_path(lake))
        if key is None:
            return False
        if key != self.key:
            self.key, self._parts = key, read_fingerprint(lake)
        return self._parts is not None and self._parts == _jsonable(chat_fingerprint(lake))


def is_fresh(lake: Lake | str) -> bool:
    """True when `lake` has a users index that matches its chat partitions."""
    lake = lake if isinstance(lake, Lake) else Lake(str(lake))
    return FreshnessCache().fresh(lake)


def _jsonable(fp: Fingerprint) -> Fingerprint:
    return json.loads(json.dumps(fp))


def _chat_source(con: duckdb.DuckDBPyConnection, lake: Lake, days: list[str]) -> None:
    """Register the chat partitions of `days` as the relation ``src`` (with `day`)."""
    paths = [lake.part_path(CHAT, date.fromisoformat(d)) for d in days]
    if not is_uri(lake.root):
        con.read_parquet(paths, hive_partitioning=True, union_by_name=True).create_view("src")
        return
    dataset = pads.dataset(paths, filesystem=lake.fs, format="parquet",
                           partitioning=pads.partitioning(_DAY_SCHEMA, flavor="hive"),
                           partition_base_dir=lake.table_dir(CHAT))
    con.register("src", dataset)


def _chunks(days: list[str], parts: Fingerprint) -> list[list[str]]:
    """`days` in consecutive runs whose chat files hold at most CHUNK_BYTES together (a day
    bigger than that alone). Pure."""
    out: list[list[str]] = []
    held = 0
    for day in days:
        size = parts[day][0] or 0
        if out and held + size <= CHUNK_BYTES:
            out[-1].append(day)
            held += size
        else:
            out.append([day])
            held = size
    return out


def build_users_index(root: str | Lake, full: bool = False) -> int:
    """Bring ``<root>/users/part-0.parquet`` up to date with the chat partitions; return
    its row count. Only days whose partition changed since the last build are aggregated
    again (``full``: every day); nothing is written when no partition changed."""
    t0 = time.monotonic()
    lake = root if isinstance(root, Lake) else Lake(str(root))
    current = _jsonable(chat_fingerprint(lake))  # before reading: a later rewrite shows as stale
    old = None if full else read_fingerprint(lake)
    if old is not None and old == current:
        with lake.fs.open_input_file(index_path(lake)) as f:
            rows = pq.read_metadata(f).num_rows
        log.info("users index up to date: %d rows, %d days (%.2fs)", rows, len(current), time.monotonic() - t0)
        return rows
    changed = sorted(d for d in current if old is None or old.get(d) != current[d])
    meta = {META_KEY: json.dumps({"version": VERSION, "parts": current}, sort_keys=True).encode("utf-8")}
    table = Table(NAME, USERS_SCHEMA.with_metadata(meta), None, by_day=False)
    spill = tempfile.mkdtemp(prefix="chzzk-users-index-")
    con = duckdb.connect(":memory:")
    try:
        con.execute("SET TimeZone = 'UTC'")
        # bounded memory whatever the lake's size: DuckDB spills the aggregate and the sort
        # to `spill` beyond MEMORY_LIMIT, and the result streams into the writer
        con.execute("SET memory_limit = '" + MEMORY_LIMIT + "'")  # a constant, not a value
        con.execute("SET enable_progress_bar = false")  # logs, not a bar on stdout
        # SET takes no bound parameters; the folder is our own mkdtemp, quoted
        con.execute("SET temp_directory = '" + spill.replace("'", "''") + "'")
        kept = USERS_SCHEMA.empty_table()
        if old is not None:
            with lake.fs.open_input_file(index_path(lake)) as f:
                kept = pq.read_table(f).cast(USERS_SCHEMA)
        con.register("old_index", kept)
        chunks = []
        for i, days in enumerate(_chunks(changed, current)):
            _chat_source(con, lake, days)
            chunks.append(os.path.join(spill, f"aggregate-{i:05d}.parquet"))
            con.sql(_AGGREGATE).write_parquet(chunks[-1])
        if chunks:
            con.read_parquet(chunks).create_view("agg")
        else:
            con.register("agg", USERS_SCHEMA.empty_table())
        # days still there and unchanged keep their rows; removed or changed days leave
        keep = [date.fromisoformat(d) for d in current if d not in changed]
        result = con.sql(_MERGE, params=[keep]).to_arrow_reader(BATCH_ROWS)
        rows, size = lake.write(table, result)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    log.info("users index: %d rows, %d bytes, %d of %d day(s) aggregated%s in %.2fs", rows, size,
             len(changed), len(current), " (full)" if old is None else "", time.monotonic() - t0)
    return rows
