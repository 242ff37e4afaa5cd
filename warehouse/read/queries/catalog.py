"""What the lake holds: its tables (the sync's registry plus the accelerators'), their
partitions, schemas, a preview of their rows, and the last sync's state — for the
dashboard's Data page and for anyone checking a lake by hand.

Everything here reads Parquet footers and listings through pyarrow.fs (local or s3://),
not the data itself, except ``table_preview``, which reads at most ``limit`` rows. Table
names are checked against the registry before they become paths, so a name from a URL
never reaches the filesystem. The one SQL text is static, with bound values.

>>> lake_tables(wh)
>>> table_preview(wh, "chat", ["a1b2..."], date(2026, 9, 1), date(2026, 9, 1))
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from core import settings
from warehouse.lake import health
from warehouse.lake.layout import PART, Lake
from warehouse.lake.tables import CHAT, TABLES, Table
from warehouse.read import accelerators
from warehouse.read.warehouse import Warehouse

log = logging.getLogger(__name__)
# the sync's tables, then the accelerators stored as Parquet tables (the registry's order)
CATALOG: tuple[Table, ...] = (*TABLES, *(a.table for a in accelerators.ACCELERATORS if a.parquet))
# lake_state's freshness flag of each accelerator is "<name>_fresh", but for these names
_FRESH_KEYS = {"users": "users_index_fresh"}
PREVIEW_LIMIT = 100
MAX_PREVIEW_LIMIT = 10_000
# How a preview of each table is narrowed to the filter's days when it is not partitioned
# by day: the timestamp column whose local day counts (tables not listed: no day filter).
# the columns that tell a row's channel, in the order _channel_filter tries them
_CHANNEL_COLUMNS = ("channel_id", "chat_channel_id", "session_fk")
TIME_COLUMN = {"live_session": "opened_at", "capture_interval": "connected_at",
               "live_session_poll": "polled_at"}

# rows a filtered preview decodes at a time (a file's rows stream in; a 60k-line day's raw
# column alone is ~58 MB decoded, so a whole row group is never materialized)
_BATCH_ROWS = 4096
# previews kept (_head_kept) and the schemas of file lists (_unified), by the files' versions
_PREVIEWS: OrderedDict[tuple, pl.DataFrame] = OrderedDict()
# the _PREVIEWS key of each question asked of the same file versions (a few hundred kept)
_ASKED: OrderedDict[tuple, tuple] = OrderedDict()
ASKED_KEPT = 256
_HELD = [0]
_SCHEMAS: dict[tuple, pa.Schema] = {}
_LOCK = threading.Lock()
_BROADCASTS_OF = """SELECT DISTINCT chat_channel_id FROM chat
                    WHERE list_contains(?::VARCHAR[], channel_id) AND chat_channel_id IS NOT NULL"""


def tables(lake: Lake) -> list[Table]:
    """The lake's tables: the registry's, the users side table, then any other table folder
    found at the root (``<name>/part-0.parquet`` or ``<name>/day=…/``; a side table another
    component writes shows up without a change here). Folders starting with ``_`` or ``.``
    (``_sync``) are not tables."""
    known = list(CATALOG)
    names = {t.name for t in known}
    found = lake.fs.get_file_info(pafs.FileSelector(lake.base, allow_not_found=True))
    for info in sorted(found, key=lambda i: i.base_name):
        name = info.base_name
        if info.type != pafs.FileType.Directory or name in names or name.startswith(("_", ".")):
            continue
        inside = lake.fs.get_file_info(pafs.FileSelector(info.path, allow_not_found=True))
        if any(i.type == pafs.FileType.File and i.base_name == PART for i in inside):
            known.append(Table(name, None, None, by_day=False))
        elif any(i.type == pafs.FileType.Directory and i.base_name.startswith("day=") for i in inside):
            known.append(Table(name, None, None, by_day=True))
    return known


def table_names(lake: Lake | None = None) -> list[str]:
    """The names of the lake's tables (without a lake: the declared ones), in order."""
    return [t.name for t in (tables(lake) if lake is not None else CATALOG)]


def _table(lake: Lake, name: str) -> Table:
    """The table called `name`; a name that is not one of the lake's tables (a path, a
    typo) is refused before it becomes a path. A declared table is one without a look at
    the lake's folders."""
    for table in CATALOG:
        if table.name == name:
            return table
    known = tables(lake)
    for table in known:
        if table.name == name:
            return table
    raise ValueError(f"table {name!r} is not one of the lake's tables: use one of "
                     f"{', '.join(t.name for t in known)}")


def _files(lake: Lake, table: Table, start: date | None = None, end: date | None = None
           ) -> list[tuple[date | None, str, tuple]]:
    """(day or None, path, file key: (bytes, mtime, inode)) of every readable Parquet file
    of `table` (of a day table, the days in [start, end] only: no other file is looked at),
    days in order (a damaged file is left out, as the views leave it out:
    Warehouse.damaged names it). Day folders are health.day_files' listing."""
    if table.by_day:
        found = [(day, path, key) for day, (path, key)
                 in health.day_files(lake, table, start or date.min, end or date.max).items()]
    else:
        path = lake.part_path(table)
        key = health.file_key(lake, path)
        found = [(None, path, key)] if key is not None else []
    return [f for f in found if not (health.footer_problem(lake, f[1], f[2]) or health.known_problem(f[1], f[2]))]


def lake_tables(wh: Warehouse) -> pl.DataFrame:
    """One row per table the lake can hold (the sync's registry, the users side table,
    then any other table folder at the root; see ``tables``): [table, by_day (partitioned
    by day), present (has at least one file), partitions (files), first_day, last_day
    (null for single-file tables), rows, bytes (size on disk), columns (of the newest
    file)]. Rows and columns come from the Parquet
    footers; nothing else is read.

    >>> lake_tables(wh).filter(pl.col("present"))
    """
    t0 = time.monotonic()
    lake = Lake(wh.root)
    out = []
    for table in tables(lake):
        files = _files(lake, table)
        metas = [health.footer(lake, path) for _, path, _ in files]
        days = [d for d, _, _ in files if d is not None]
        out.append({
            "table": table.name, "by_day": table.by_day, "present": bool(files),
            "partitions": len(files), "first_day": min(days) if days else None,
            "last_day": max(days) if days else None,
            "rows": sum(m.num_rows for m in metas), "bytes": sum(key[0] for _, _, key in files),
            "columns": metas[-1].num_columns if metas else 0,
        })
    log.info("lake_tables: %d tables, %d files in %.3fs", len(out), sum(r["partitions"] for r in out),
             time.monotonic() - t0)
    return pl.DataFrame(out, schema={
        "table": pl.Utf8, "by_day": pl.Boolean, "present": pl.Boolean, "partitions": pl.Int64,
        "first_day": pl.Date, "last_day": pl.Date, "rows": pl.Int64, "bytes": pl.Int64, "columns": pl.Int64})


def table_partitions(wh: Warehouse, table: str) -> pl.DataFrame:
    """The files of one table: [day (null for a single-file table), rows, bytes,
    state_rows (the row count the last sync recorded for that day in _sync/state.json;
    null when it recorded none)], days in order. A day whose rows differ from state_rows
    was rewritten by something other than the sync, or the state is older than the file.

    >>> table_partitions(wh, "chat").filter(pl.col("rows") != pl.col("state_rows"))
    """
    lake = Lake(wh.root)
    spec = _table(lake, table)
    recorded = lake.state(strict=False).day_counts(spec.name)
    rows = [{"day": day, "rows": health.footer(lake, path, key).num_rows, "bytes": key[0],
             "state_rows": recorded.get(day) if day else None}
            for day, path, key in _files(lake, spec)]
    return pl.DataFrame(rows, schema={"day": pl.Date, "rows": pl.Int64, "bytes": pl.Int64,
                                      "state_rows": pl.Int64})


def _schema(lake: Lake, spec: Table, files: list) -> pa.Schema | None:
    if files:
        return health.footer(lake, files[-1][1]).schema.to_arrow_schema()
    return spec.schema


def table_schema(wh: Warehouse, table: str) -> pl.DataFrame:
    """The columns of one table: [column, type (Arrow's name for it), nullable, in_registry
    (declared in warehouse/lake/tables.py; null for tables whose columns are PostgreSQL's, as
    live_session), partition (true only for ``day``: the folder name, not a stored
    column)]. Read from the newest file; without files, the registry's declaration.

    >>> table_schema(wh, "chat")
    """
    lake = Lake(wh.root)
    spec = _table(lake, table)
    schema = _schema(lake, spec, _files(lake, spec))
    declared = set(spec.schema.names) if spec.schema is not None else None
    rows = [{"column": f.name, "type": str(f.type), "nullable": f.nullable,
             "in_registry": (f.name in declared) if declared is not None else None, "partition": False}
            for f in (schema or [])]
    if spec.by_day:
        rows.append({"column": "day", "type": "date32[day]", "nullable": False,
                     "in_registry": True if declared is not None else None, "partition": True})
    return pl.DataFrame(rows, schema={"column": pl.Utf8, "type": pl.Utf8, "nullable": pl.Boolean,
                                      "in_registry": pl.Boolean, "partition": pl.Boolean})


def table_preview(wh: Warehouse, table: str, channels: list[str] | None = None,
                  start: date | None = None, end: date | None = None,
                  limit: int = PREVIEW_LIMIT) -> pl.DataFrame:
    """The first `limit` rows (in the lake's own order: by day, then as the file is
    sorted) of one table, narrowed to `channels` and the days [start, end] as far as the
    table allows. Days: day tables by partition, a ``day`` column by its value, and the
    tables of TIME_COLUMN (live_session, capture_interval, live_session_poll) by the local
    day of their start. Channels: by channel_id; else by chat_channel_id (the broadcasts
    the channels have in the chat); else by session_fk (the channels' live_session rows).
    A table with no way to tell its channel gives no rows when `channels` is given.
    Times come back in DISPLAY_TZ, text exactly as stored. limit: 1..10000.

    >>> table_preview(wh, "events", ["a1b2..."], date(2026, 9, 1), date(2026, 9, 7))
    """
    lake = wh.lake
    spec = _table(lake, table)
    if not 1 <= int(limit) <= MAX_PREVIEW_LIMIT:
        raise ValueError(f"limit={limit!r}: use 1..{MAX_PREVIEW_LIMIT}")
    t0 = time.monotonic()
    files = _files(lake, spec, start, end)
    # the same question of the same file versions: its answer as given (no filter rebuilt)
    asked = (tuple((path, key) for _, path, key in files), spec.name,
             None if channels is None else tuple(channels), start, end, int(limit), wh.tz)
    with _LOCK:
        kept = _PREVIEWS.get(_ASKED.get(asked))  # None once _PREVIEWS let it go
        if kept is not None:
            _ASKED.move_to_end(asked)
            _PREVIEWS.move_to_end(_ASKED[asked])
    if kept is not None:
        log.debug("table_preview %s: %d rows kept", spec.name, kept.height)
        return kept.clone()
    schema = _unified(lake, files) if files else None
    if schema is None:
        return _frame((spec.schema or pa.schema([])).empty_table(), wh.tz)
    cond = _day_filter(spec, schema, start, end, wh.tz) if not spec.by_day else None
    by_channel = None
    if channels is not None:
        by_channel = _channel_filter(wh, lake, schema, list(channels))
        if by_channel is None:
            return _frame(schema.empty_table(), wh.tz)
        cond = by_channel[0] if cond is None else cond & by_channel[0]
    probe = None
    if by_channel is not None:
        by_channel, values = by_channel
        probe = (next(c for c in _CHANNEL_COLUMNS if c in schema.names), by_channel, values)
    try:
        rows, read, key = _head_kept(lake, files, schema, cond, int(limit), probe, wh.tz)
    except (OSError, pa.ArrowException) as exc:  # a file whose footer reads but whose pages do not
        if not health.locate(lake, exc, [path for _, path, _ in files]):
            raise health.LakeReadError(f"reading {spec.name} failed: {health.one_line(lake, exc)}") from exc
        return table_preview(wh, table, channels, start, end, limit)  # without it (remembered damaged)
    if read:
        log.info("table_preview %s: %d rows from %d file(s) in %.3fs", spec.name, rows.height, len(files),
                 time.monotonic() - t0)
    if by_channel is None or probe[0] == "channel_id":  # else the channels' rows depend on other tables
        with _LOCK:
            _ASKED[asked] = key
            while len(_ASKED) > ASKED_KEPT:
                _ASKED.popitem(last=False)
    return rows.clone()


def _head_kept(lake: Lake, files: list, schema: pa.Schema, cond, limit: int, probe,
               tz: str) -> tuple[pl.DataFrame, bool, tuple]:
    """(_head's rows as the preview's frame, whether they were read now, their key), kept per version
    of the files (and per question) while TABLE_PREVIEW_MB allow: the Data page asks the same preview again on
    every visit, and a preview of a small channel decodes a whole row group of every
    column (its raw JSON alone ~16 MB) for its 100 rows. A file a sync rewrote has a new
    version: its rows are read afresh."""
    versions = tuple((path, key) for _, path, key in files)
    key = (versions, str(cond), limit, tz,  # the schema is the files' (_unified)
           None if probe is None else (probe[0], str(probe[1]), tuple(map(str, probe[2] or ()))))
    with _LOCK:
        rows = _PREVIEWS.get(key)
        if rows is not None:
            _PREVIEWS.move_to_end(key)
            return rows, False, key
    rows = _frame(_head(lake, files, schema, cond, limit, probe), tz)
    with _LOCK:
        if key not in _PREVIEWS:
            _PREVIEWS[key] = rows
            _HELD[0] += rows.estimated_size()
        most = settings.get_int("TABLE_PREVIEW_MB") << 20
        while _HELD[0] > most and len(_PREVIEWS) > 1:
            _HELD[0] -= _PREVIEWS.popitem(last=False)[1].estimated_size()
    return rows, True, key


def _head(lake: Lake, files: list, schema: pa.Schema, cond, limit: int, probe) -> pa.Table:
    """The first `limit` rows of the files (day, path, size), in order, that pass `cond`, as
    `schema` (plus ``day`` for a day table's files): their rows stream in and the reading
    stops when the preview is full. `probe`: (column, filter, values) of the channel
    condition — a row group whose statistics of that column hold none of the `values`
    (None: not known) is skipped unread, one none of whose rows pass after reading that
    column alone, and one is read no further than its last row that passes (a channel's
    rows are together in a file sorted by channel). Footers come from health.footer's memory."""
    parts, held = [], 0
    for day, path, key in files:
        with lake.fs.open_input_file(path) as f:
            pf = pq.ParquetFile(f, metadata=health.footer(lake, path, key))
            probing = probe is not None and probe[0] in pf.schema_arrow.names
            holding = None  # the row groups whose statistics may hold one of the values (None: any)
            if probing and probe[2] is not None:
                holding = set(health.groups_holding(health.ranges(lake, path, key, probe[0]),
                                                    sorted({v for v in probe[2] if v is not None})))
            for group in range(pf.metadata.num_row_groups):
                last = pf.metadata.row_group(group).num_rows - 1  # the last row that may pass
                if probing:
                    if holding is not None and group not in holding:
                        continue
                    column = pf.read_row_group(group, columns=[probe[0]])
                    ones = pa.repeat(pa.scalar(1, pa.int64()), column.num_rows)
                    hits = column.append_column("_row", pc.cumulative_sum(ones)).filter(probe[1]).column("_row")
                    if not len(hits):
                        continue
                    last = hits[-1].as_py() - 1  # _row counts from 1
                size = _BATCH_ROWS if cond is not None else max(1, min(limit - held, _BATCH_ROWS))
                seen = 0
                for batch in pf.iter_batches(batch_size=size, row_groups=[group], use_threads=False):
                    if seen > last:
                        break  # no row further on passes the channel condition
                    seen += batch.num_rows
                    rows = _conform(batch, schema, day)
                    if cond is not None:
                        rows = rows.filter(cond)
                    if rows.num_rows:
                        parts.append(rows.slice(0, limit - held))
                        held += parts[-1].num_rows
                    if held >= limit:
                        return pa.concat_tables(parts)
    empty = _conform(schema.empty_table(), schema, files[0][0] if files else None)
    return pa.concat_tables(parts) if parts else empty


def _conform(batch: pa.RecordBatch | pa.Table, schema: pa.Schema, day: date | None) -> pa.Table:
    """`batch` with `schema`'s columns in its order (a column the file lacks read as null,
    others cast, as a dataset with that schema reads them), then ``day`` for a day file."""
    columns = [batch.column(f.name).cast(f.type) if f.name in batch.schema.names
               else pa.nulls(batch.num_rows, f.type) for f in schema]
    fields = list(schema)
    if day is not None:
        columns.append(pa.array([day] * batch.num_rows, pa.date32()))
        fields.append(pa.field("day", pa.date32()))
    return pa.Table.from_arrays(columns, schema=pa.schema(fields))


def _unified(lake: Lake, files: list) -> pa.Schema:
    """One schema over the files (a column added later reads as null in older files),
    made once per version of the files."""
    versions = tuple((path, key) for _, path, key in files)
    got = _SCHEMAS.get(versions)
    if got is None:
        schemas = [health.footer(lake, path, key).schema.to_arrow_schema().remove_metadata()
                   for _, path, key in files]
        got = pa.unify_schemas(schemas[::-1])  # newest first: its column order wins
        if len(_SCHEMAS) >= 256:
            _SCHEMAS.clear()
        _SCHEMAS[versions] = got
    return got


def _day_start(day: date, tz: str) -> datetime:
    """The first instant of a local day in `tz`, in UTC (as warehouse.sync.day_bounds)."""
    return datetime(day.year, day.month, day.day, tzinfo=ZoneInfo(tz)).astimezone(UTC)


def _day_filter(spec: Table, schema: pa.Schema, start: date | None, end: date | None, tz: str):
    if start is None and end is None:
        return None
    if "day" in schema.names and pa.types.is_date(schema.field("day").type):
        cond = pads.field("day") >= start if start else None
        if end:
            cond = (pads.field("day") <= end) if cond is None else cond & (pads.field("day") <= end)
        return cond
    column = TIME_COLUMN.get(spec.name)
    if column not in schema.names or not pa.types.is_timestamp(schema.field(column).type):
        return None
    unit = schema.field(column).type
    cond = None
    if start:
        cond = pads.field(column) >= pa.scalar(_day_start(start, tz), unit)
    if end:
        upto = pads.field(column) < pa.scalar(_day_start(end + timedelta(days=1), tz), unit)
        cond = upto if cond is None else cond & upto
    return cond


def _channel_filter(wh: Warehouse, lake: Lake, schema: pa.Schema, channels: list[str], hops: int = 1):
    """(a filter keeping the rows of `channels`, the values it keeps), or None when the
    table cannot tell: by channel_id; else by chat_channel_id (the channels' broadcasts in
    the chat); else by session_fk (the live_session rows of the channels, found the same
    way)."""
    if "channel_id" in schema.names:
        return pads.field("channel_id").isin(pa.array(channels, pa.string())), list(channels)
    if "chat_channel_id" in schema.names:
        ids = wh.sql(_BROADCASTS_OF, [channels])["chat_channel_id"].to_list()
        return pads.field("chat_channel_id").isin(pa.array(ids, pa.string())), ids
    sessions = _table(lake, "live_session")
    files = _files(lake, sessions)
    if "session_fk" in schema.names and hops > 0 and files:
        session_schema = _unified(lake, files)
        own = _channel_filter(wh, lake, session_schema, channels, hops - 1)
        if own is None or "id" not in session_schema.names:
            return None
        ids = pads.dataset([p for _, p, _ in files], schema=session_schema, filesystem=lake.fs,
                           format="parquet").to_table(columns=["id"], filter=own[0]).column("id")
        return pads.field("session_fk").isin(ids), ids.to_pylist()
    return None


def _frame(table: pa.Table, tz: str) -> pl.DataFrame:
    df = pl.from_arrow(table) if table.num_columns else pl.DataFrame()
    zoned = [pl.col(n).dt.convert_time_zone(tz) for n, t in df.schema.items()
             if isinstance(t, pl.Datetime) and t.time_zone is not None]
    return df.with_columns(zoned) if zoned else df


def _iso(value) -> str | None:
    return value.isoformat() if value is not None else None


def lake_state(wh: Warehouse) -> dict:
    """The last sync's state (_sync/state.json) in a few plain fields: present (a sync has
    run), last_sync and sync_started_at (ISO UTC), timezone, version, max_id (chat's
    high-water mark), days (chat days the state counts), rows (their rows), first_day,
    last_day, archived_days (days whose PostgreSQL rows retention dropped: the lake is
    their only copy), tables ({name: {max_id, days, rows}} of the other day tables),
    one ``<name>_fresh`` per accelerator of the registry (warehouse/read/accelerators:
    users_index_fresh for the users side table, rollups_fresh, broadcast_spans_fresh,
    chatter_days_fresh, user_tail_fresh; true when it matches the chat partitions) and raw
    (the whole file, for anything else).

    >>> lake_state(wh)["last_sync"]
    """
    lake = Lake(wh.root)
    state = lake.state(strict=False)
    days = state.days
    return {
        "present": state.present, "last_sync": _iso(state.last_sync),
        "sync_started_at": _iso(state.sync_started_at), "timezone": state.timezone,
        "version": state.version, "max_id": state.max_id, "days": len(days),
        "rows": sum(days.values()), "first_day": _iso(min(days)) if days else None,
        "last_day": _iso(max(days)) if days else None,
        "archived_days": sorted(d.isoformat() for d in state.archived_days),
        "tables": {name: {"max_id": t.max_id, "days": len(t.days), "rows": sum(t.days.values())}
                   for name, t in sorted(state.tables.items()) if name != CHAT.name},
        **{_FRESH_KEYS.get(name, f"{name}_fresh"): ok for name, ok in accelerators.fresh(lake).items()},
        "raw": state.to_dict(),
    }
