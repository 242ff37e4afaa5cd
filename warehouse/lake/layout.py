"""The Parquet lake: layout, the atomic partition writer, and the sync state file.

Lake layout (the contract with every reader — dashboard, notebooks, DuckDB/Trino/Spark
elsewhere)::

    <root>/chat/day=YYYY-MM-DD/part-0.parquet
        One partition per day in DISPLAY_TZ (default Asia/Seoul): the stream_chat rows whose
        chat_time falls on that local day, joined with stream_channel for channel_id (the
        streamer's 32-hex id) and channel_name. Sorted by channel_id, chat_time, id; zstd;
        row groups of ROW_GROUP_ROWS rows (16,384; 131,072 in files written before issue
        18), so a reader's min/max pruning on channel_id skips the other channels' groups.
        Columns: id, channel_id, channel_name, chat_channel_id, user_id, nickname, message,
        message_type, msg_type_code, message_status, chat_time, created_at,
        subscription_month, subscription_tier, os_type, user_role, pay_amount, pay_type,
        donation_type, donation_id, is_anonymous, gift_receiver_id, gift_receiver_nickname,
        gift_tier, color_code, badges (JSON text), member_count, blind_type, blinded_at,
        raw (JSON text), dedupe_key, mission_id, donation_status, gift_id, gift_quantity
        (absent from partitions written before migration 010: read as null).
        Timestamps are timestamp[us, tz=UTC]. The `day`
        column is NOT stored in the file: hive partitioning supplies it from the folder.
    <root>/events/day=YYYY-MM-DD/part-0.parquet
        The events table (93006 events, notices) by the local day of
        coalesce(event_time, received_at): id, channel_id, chat_channel_id, cmd,
        event_type, event_time, received_at, body (JSON text), dedupe_key. Sorted by
        channel_id, time, id; zstd.
    <root>/channels/part-0.parquet
        stream_channel: channel_id, channel_name, follower_count, channel_image_url,
        enabled, created_at, updated_at.
    <root>/live_session/part-0.parquet, <root>/capture_interval/part-0.parquet,
    <root>/live_session_poll/part-0.parquet
        Broadcasts and capture coverage, rewritten whole on every sync, with the columns
        the PostgreSQL tables have (timestamps as timestamp[us, tz=UTC], JSON as text);
        absent while those tables do not exist in PostgreSQL.
    <root>/users/part-0.parquet, <root>/rollups/part-0.parquet,
    <root>/broadcast_spans/part-0.parquet, <root>/chatter_days/part-0.parquet,
    <root>/money_lines/part-0.parquet, <root>/broadcast_minutes/part-0.parquet
        The accelerators (warehouse/read/accelerators/__init__.py lists them, each in its
        own module there): side tables rebuilt from the chat partitions by every sync and
        forget-user, read only while they match them (side_tables.py has the freshness
        rule) — the users side table, the activity roll-ups per channel, hour and day,
        each broadcast's first and last line per day, each chatter's lines per channel,
        day and broadcast, every money line, each broadcast's windows and totals.
    <root>/user_tail/part-0.arrow
        Each chatter's newest USER_TAIL_LINES lines, sorted by user then newest first, as
        an Arrow IPC file of zstd-compressed 8,192-row batches (the repeated strings run-end
        encoded) mapped into memory by readers; kept by the same rule
        (warehouse/read/accelerators/user_tail.py). Local lakes only.
    <root>/_damaged/<table>/day=YYYY-MM-DD/part-0.parquet.<UTC time>
        Unreadable partitions that ``python -m warehouse sync --drop-damaged`` moved aside
        (Lake.quarantine) before writing their day from what PostgreSQL holds: kept for
        a salvage attempt, read by nothing (a folder starting with ``_`` is no table).
    <root>/_sync/state.json
        Written last by each successful sync: last_sync (ISO UTC), high-water marks
        (sync_started_at, max_id, max_created_at, max_blinded_at; per day table under
        ``tables``), per-day chat row counts (``days``), and ``archived_days``: days whose
        PostgreSQL rows the retention job dropped after verifying the lake holds them
        (the lake is the only copy of those days; the sync merges late rows into them).
        Typed as warehouse/lake/state.py's SyncState (Lake.state parses it once;
        Lake.write_state is its one writer: the sync, retention and forget-user).

Chat rows of users on the opt-out list (``opt_out_user``) are never exported, and
``python -m warehouse forget-user`` rewrites every partition that holds a forgotten user.

A partition is written to a hidden temporary file in its own folder
(``.part-0.parquet.tmp-<pid>``, which no ``*.parquet`` glob matches) and then renamed over
the old one, so a reader sees the old file or the new one, never half a file. On S3 the
rename is a copy (object writes are atomic anyway). Re-running a day rewrites the same
rows in the same order. A local lake is its owner's only: the root folder 0700 and the files
written here 0600 (WAREHOUSE_GROUP_READ=1: 0750/0640), a looser root from before set so at
the first write. ``root`` is a local path or any URI pyarrow.fs understands
(``s3://bucket/prefix``); both go through the same pyarrow.fs calls. For S3, pyarrow reads
AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_REGION itself; S3_ENDPOINT_URL points it
at an S3-compatible server (MinIO, moto, Ceph...).
"""
from __future__ import annotations

import logging
import os
from collections.abc import Iterable
from datetime import UTC, date, datetime

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from core import settings
from warehouse.lake.state import EMPTY as EMPTY_STATE
from warehouse.lake.state import STATE_PATH, StateUnreadable, SyncState
from warehouse.lake.tables import Table

log = logging.getLogger(__name__)
PART = "part-0.parquet"
TMP_PREFIX = "." + PART + ".tmp-"
DAMAGED_DIR = "_damaged"
COMPRESSION = "zstd"
# zstd level 3 (Arrow's default is 1): 6 % smaller chat files at the same write time; 6 and
# above cost 2.5-4x the write time for 6-7 % more (docs/BENCHMARKS.md, "Compression")
COMPRESSION_LEVEL = 3
# Columns whose values hardly repeat are written without a dictionary (Arrow's default
# tries one for every column, and a unique column then carries a useless dictionary page
# before falling back), and data pages are up to 16 MB instead of 1 MB, so zstd sees a
# column chunk whole: 13 % smaller chat files at the same write and query times
# (docs/BENCHMARKS.md, "Encoding").
NO_DICTIONARY = frozenset({"id", "raw", "dedupe_key", "chat_time", "created_at", "blinded_at", "body",
                           "event_time", "received_at", "first_seen", "last_seen"})
DATA_PAGE_BYTES = 16 << 20
# Columns written without min/max statistics: nothing prunes by a JSON text's range, and a
# chat row group's raw min and max (about a kilobyte each) were a third of a day file's
# footer, which every reader parses (10M realistic lines: footers 31 % smaller, files
# 0.2 % smaller, the day's write ~10 % less CPU).
NO_STATISTICS = frozenset({"raw"})
# Rows per Parquet row group: batches are gathered into groups of this size (the last one of
# a file smaller), whatever size the extraction yields them in; memory holds one group.
# 16,384 (131,072 before issue 18): a day file is sorted by channel, so a small channel's
# day lies in one or two groups and DuckDB's min/max pruning reads those only, for about
# 1 % more bytes (docs/BENCHMARKS.md, "Chat partitions for small channels"). Files written
# before keep their groups; both read alike.
ROW_GROUP_ROWS = 16_384
PAGE_INDEX = False  # Parquet page index (column and offset indexes) written beside each row group
# The Parquet writer's buffers (and the sync's sort, warehouse/sync/extract_arrow.py) come from
# the C library's malloc, which keeps freed blocks for the next row group, not from Arrow's
# default pool (mimalloc), which hands them back to the kernel: every row group then faulted
# in and zeroed fresh pages (perf, 1M-row sync: a fifth of the process's CPU in the kernel's
# page clearing; docs/BENCHMARKS.md).
WRITE_POOL = pa.system_memory_pool()


def is_uri(root: str) -> bool:
    return "://" in root and not root.startswith("file://")


def filesystem(root: str) -> tuple[pafs.FileSystem, str]:
    """(pyarrow filesystem, base path inside it) for a lake root: a local path, s3://
    (honouring S3_ENDPOINT_URL) or any other URI pyarrow.fs understands."""
    if root.startswith("s3://"):
        endpoint = settings.get("S3_ENDPOINT_URL")
        options = {"endpoint_override": endpoint} if endpoint else {}
        if endpoint and endpoint.startswith("http://"):
            options["scheme"] = "http"
        return pafs.S3FileSystem(**options), root.removeprefix("s3://").rstrip("/")
    if is_uri(root):
        fs, base = pafs.FileSystem.from_uri(root)
        return fs, base.rstrip("/")
    return pafs.LocalFileSystem(), os.path.abspath(root.removeprefix("file://")).rstrip("/")


def modes() -> tuple[int, int]:
    """(folder, file) modes of a local lake: owner only, or with WAREHOUSE_GROUP_READ=1 the
    group may read too. The root's mode is what keeps others out (a file of another module
    inside it, e.g. the user tail, has the umask's mode but cannot be reached)."""
    group = (settings.get("WAREHOUSE_GROUP_READ") or "0").strip().lower() in ("1", "true", "yes", "on")
    return (0o750, 0o640) if group else (0o700, 0o600)


class Lake:
    """A lake root opened through pyarrow.fs (local or s3://)."""

    def __init__(self, root: str | os.PathLike):
        root = str(root)
        self.fs, self.base = filesystem(root)
        self.root = root
        self._root_mode_checked = False

    def _private_root(self) -> None:
        """Before this Lake's first write: a local root exists with modes()'s folder mode; a
        root with another mode (a lake from before, 0755) is set to it, and that is logged."""
        if self._root_mode_checked or is_uri(self.root):
            return
        self._root_mode_checked = True
        want = modes()[0]
        os.makedirs(self.base, mode=want, exist_ok=True)
        had = os.stat(self.base).st_mode & 0o777
        if had != want:
            try:
                os.chmod(self.base, want)
                log.warning("lake %s: mode %04o set to %04o (WAREHOUSE_GROUP_READ=1 lets the group read it)",
                            self.base, had, want)
            except OSError as exc:
                log.warning("lake %s: mode %04o left as it is (%s)", self.base, had, exc.strerror)

    def _private_file(self, path: str) -> None:
        if not is_uri(self.root):
            os.chmod(path, modes()[1])

    # -- paths -------------------------------------------------------------------------
    def _path(self, *parts: str) -> str:
        return "/".join((self.base, *parts))

    def table_dir(self, table: Table) -> str:
        return self._path(table.name)

    def partition_dir(self, table: Table, day: date | None = None) -> str:
        if table.by_day:
            if day is None:
                raise ValueError(f"table {table.name} is partitioned by day: pass day=")
            return self._path(table.name, f"day={day.isoformat()}")
        return self._path(table.name)

    def days(self, table: Table) -> list[date]:
        """The days that have a partition file, in order."""
        info = self.fs.get_file_info(pafs.FileSelector(self._path(table.name), allow_not_found=True))
        out = []
        for entry in info:
            name = entry.base_name
            if entry.type == pafs.FileType.Directory and name.startswith("day="):
                part = self.fs.get_file_info(f"{entry.path}/{PART}")
                if part.type == pafs.FileType.File:
                    out.append(date.fromisoformat(name[4:]))
        return sorted(out)

    def part_path(self, table: Table, day: date | None = None) -> str:
        return f"{self.partition_dir(table, day)}/{PART}"

    def exists(self, table: Table, day: date | None = None) -> bool:
        return self.fs.get_file_info(self.part_path(table, day)).type == pafs.FileType.File

    def read(self, table: Table, day: date | None = None, columns: list[str] | None = None) -> pa.Table:
        """One partition's rows (an empty table of the schema when it has no file)."""
        if not self.exists(table, day):
            schema = table.schema if columns is None else pa.schema([table.schema.field(c) for c in columns])
            return schema.empty_table()
        with self.fs.open_input_file(self.part_path(table, day)) as f:
            return pq.read_table(f, columns=columns)

    def quarantine(self, table: Table, day: date | None = None) -> str:
        """Move a partition's file aside to ``_damaged/`` (see the layout); return where,
        relative to the root."""
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
        rel = self.part_path(table, day)[len(self.base) + 1:]
        target = f"{DAMAGED_DIR}/{rel}.{stamp}"
        self.fs.create_dir(self._path(target.rsplit("/", 1)[0]), recursive=True)
        self.fs.move(self.part_path(table, day), self._path(target))
        self._touch(table)
        return target

    # -- writing -----------------------------------------------------------------------
    def write(self, table: Table, data: pa.Table | Iterable[pa.RecordBatch],
              day: date | None = None, encodings: dict[str, str] | None = None) -> tuple[int, int]:
        """Replace one partition atomically with `data`; return (rows, bytes).

        `data` is a table or an iterable of record batches (streamed into the file, so
        memory stays bounded by one batch). Columns are cast to the table's schema; a
        partition that ends up with no rows is removed rather than written empty.
        `encodings`: {column: Parquet encoding} for columns written without a dictionary
        (e.g. DELTA_BINARY_PACKED for ascending numbers)."""
        encodings = encodings or {}
        folder = self.partition_dir(table, day)
        self._private_root()
        self.fs.create_dir(folder, recursive=True)
        self._remove_stale_tmp(folder)
        final = f"{folder}/{PART}"
        tmp = f"{folder}/{TMP_PREFIX}{os.getpid()}"
        batches = data.to_batches() if isinstance(data, pa.Table) else data
        rows = 0
        try:
            with self.fs.open_output_stream(tmp) as sink, \
                    pq.ParquetWriter(sink, table.schema, compression=COMPRESSION,
                                     compression_level=COMPRESSION_LEVEL, data_page_size=DATA_PAGE_BYTES,
                                     use_dictionary=[n for n in table.schema.names
                                                     if n not in NO_DICTIONARY and n not in encodings],
                                     column_encoding=encodings or None,
                                     write_statistics=[n for n in table.schema.names if n not in NO_STATISTICS],
                                     write_page_index=PAGE_INDEX, memory_pool=WRITE_POOL) as writer:
                pending: list[pa.RecordBatch] = []
                held = 0
                for batch in batches:
                    if batch.num_rows:
                        pending.append(_conform(batch, table.schema))
                        held += batch.num_rows
                        rows += batch.num_rows
                        if held >= ROW_GROUP_ROWS:
                            pending, held = _flush(writer, pending, table.schema, whole=False)
                _flush(writer, pending, table.schema, whole=True)
        except BaseException:
            close = getattr(batches, "close", None)
            if close is not None:  # a generator: stop its producer now, not at garbage collection
                close()
            self._delete_quietly(tmp)
            raise
        if rows == 0 and table.by_day:
            self._delete_quietly(tmp)
            self._delete_quietly(final)
            self._touch(table)
            return 0, 0
        size = self.fs.get_file_info(tmp).size or 0
        self._private_file(tmp)
        self._replace(tmp, final)
        self._touch(table)
        return rows, size

    def _touch(self, table: Table) -> None:
        """A day table's folder takes a new mtime when one of its partitions is replaced
        (a rename inside a day folder does not change it), so a reader watching the one
        folder sees every write (warehouse.read.warehouse.files_key). Local lakes only."""
        if table.by_day and not is_uri(self.root):
            try:
                os.utime(self.table_dir(table))
            except OSError:
                log.debug("could not touch %s", self.table_dir(table), exc_info=True)

    def _replace(self, tmp: str, final: str) -> None:
        self.fs.move(tmp, final)  # local: rename(2), an atomic replace

    def _remove_stale_tmp(self, folder: str) -> None:
        for entry in self.fs.get_file_info(pafs.FileSelector(folder, allow_not_found=True)):
            if entry.base_name.startswith(TMP_PREFIX):
                log.warning("removing %s left by an interrupted sync", entry.path)
                self._delete_quietly(entry.path)

    def _delete_quietly(self, path: str) -> None:
        try:
            if self.fs.get_file_info(path).type == pafs.FileType.File:
                self.fs.delete_file(path)
        except OSError:
            log.debug("could not delete %s", path, exc_info=True)

    # -- state -------------------------------------------------------------------------
    def state(self, strict: bool = True) -> SyncState:
        """The last sync's state (warehouse/lake/state.py), or an empty one when the lake has
        none yet. A state file that does not parse raises StateUnreadable (the sync,
        retention and forget-user must not run without the days it says are archived);
        ``strict=False`` (readers): an empty state and a warning instead."""
        path = self._path(STATE_PATH)
        if self.fs.get_file_info(path).type != pafs.FileType.File:
            return EMPTY_STATE
        with self.fs.open_input_stream(path) as f:
            raw = f.read()
        try:
            return SyncState.parse(raw)
        except StateUnreadable as exc:
            if strict:
                raise
            log.warning("%s", exc)
            return EMPTY_STATE

    def read_state(self, strict: bool = True) -> dict:
        """The state as its JSON object ({} when none): `state()` for readers that take a dict."""
        return self.state(strict).to_dict()

    def write_state(self, state: SyncState | dict) -> None:
        """Write state.json atomically (temporary file, then rename): the one writer of the
        state. A dict is read as state.json would be (StateUnreadable when it is not one)."""
        if not isinstance(state, SyncState):
            state = SyncState.from_dict(state)
        folder = self._path(STATE_PATH.rsplit("/", 1)[0])
        self._private_root()
        self.fs.create_dir(folder, recursive=True)
        tmp = self._path(STATE_PATH + f".tmp-{os.getpid()}")
        with self.fs.open_output_stream(tmp) as f:
            f.write(state.to_json())
        self._private_file(tmp)
        self._replace(tmp, self._path(STATE_PATH))


def _flush(writer: pq.ParquetWriter, pending: list[pa.RecordBatch], schema: pa.Schema,
           whole: bool) -> tuple[list[pa.RecordBatch], int]:
    """Write the full row groups held in `pending` (all of it when `whole`); return what is
    left over (fewer than ROW_GROUP_ROWS rows) and its row count."""
    if not pending:
        return [], 0
    held = pa.Table.from_batches(pending, schema=schema)
    cut = held.num_rows if whole else held.num_rows // ROW_GROUP_ROWS * ROW_GROUP_ROWS
    if cut:
        writer.write_table(held.slice(0, cut), row_group_size=ROW_GROUP_ROWS)
    rest = held.slice(cut)
    return rest.to_batches(), rest.num_rows


def _conform(batch: pa.RecordBatch, schema: pa.Schema) -> pa.RecordBatch:
    if batch.schema.equals(schema):
        return batch
    cols = []
    for field in schema:
        idx = batch.schema.get_field_index(field.name)
        if idx < 0:
            cols.append(pa.nulls(batch.num_rows, field.type))
        else:
            cols.append(batch.column(idx).cast(field.type))
    return pa.RecordBatch.from_arrays(cols, schema=schema)
