"""The incremental build of a side table whose rows are computed by a polars function of
the changed days' lines rather than by one SQL aggregate (the word counts: cutting lines
into tokens and counting them is ~3x cheaper in polars than in DuckDB's list lambdas).

Everything else is side_tables.py's: the fingerprint and its build record, the changed
days, the chunks of days, the old file's unchanged days merged in by DuckDB, the atomic
write. A chunk's lines are ``spec.aggregate`` (SQL over ``src``: the lines and the columns
the function needs, nothing more) given to ``rows_of`` as one frame; its rows are spilled to
a Parquet file before the merge, as side_tables' aggregates are.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from datetime import date

import polars as pl
import pyarrow.parquet as pq

from warehouse.lake import health
from warehouse.lake.layout import Lake
from warehouse.lake.tables import Table
from warehouse.read.accelerators import side_tables

log = logging.getLogger(__name__)
RowsOf = Callable[[pl.DataFrame], pl.DataFrame]


def build(spec: side_tables.SideTable, lake: Lake, rows_of: RowsOf, full: bool = False) -> int:
    """Bring the side table `spec` up to date with the chat partitions (only the days whose
    partition changed unless `full`); return its row count. `rows_of`: the table's rows
    (``spec.schema``) of a chunk of days' lines (``spec.aggregate``'s rows, read whole: a
    chunk is at most ``spec.chunk_bytes`` of chat files); every group of it lies within one
    day. Days are the partitions' (no zone). An old table that cannot be read is built again
    from every day."""
    try:
        return _build(spec, lake, rows_of, full)
    except Exception as exc:
        if full or not health.is_read_error(exc):
            raise
        damaged = health.deep_problem(lake, side_tables.path(spec, lake))
        if not damaged:  # the old table reads: what failed was a chat partition (the caller's to find)
            raise
        log.warning("%s side table is damaged (%s): built again from every day", spec.name, damaged)
        return _build(spec, lake, rows_of, True)


def _build(spec: side_tables.SideTable, lake: Lake, rows_of: RowsOf, full: bool) -> int:
    t0 = time.monotonic()
    current = side_tables.jsonable(side_tables.chat_fingerprint(lake))  # before reading: a later rewrite shows as stale
    doc = None if full else side_tables.read_doc(spec, lake)
    old = doc["parts"] if doc is not None and doc.get("timezone", "UTC") == "UTC" else None
    if old is not None and old == current:
        with lake.fs.open_input_file(side_tables.path(spec, lake)) as f:
            return pq.read_metadata(f).num_rows
    changed = sorted(d for d in current if old is None or old.get(d) != current[d])
    meta = {spec.meta_key: json.dumps({"version": spec.version, "timezone": "UTC", "parts": current},
                                      sort_keys=True).encode("utf-8")}
    table = Table(spec.name, spec.schema.with_metadata(meta), None, by_day=False)
    spill = tempfile.mkdtemp(prefix=f"chzzk-{spec.name}-")
    con = side_tables.connect(spill)
    try:
        if old is not None:  # read by DuckDB as it merges: a big table is never held whole in memory
            side_tables.file_source(con, lake, side_tables.path(spec, lake), "old_table")
        else:
            con.register("old_table", spec.schema.empty_table())
        parts = []
        for i, days in enumerate(side_tables.chunks(changed, current, spec.chunk_bytes)):
            side_tables.chat_source(con, lake, days)
            rows = rows_of(pl.from_arrow(con.sql(spec.aggregate).to_arrow_table()))
            parts.append(os.path.join(spill, f"rows-{i:05d}.parquet"))
            pq.write_table(rows.to_arrow().cast(spec.schema), parts[-1], compression="lz4")
        if parts:
            con.read_parquet(parts).create_view("agg")
        else:
            con.register("agg", spec.schema.empty_table())
        # days still there and unchanged keep their rows; removed or changed days leave
        keep = [date.fromisoformat(d) for d in current if d not in changed]
        result = con.sql(spec.merge, params=[keep]).to_arrow_reader(side_tables.BATCH_ROWS)
        n, size = lake.write(table, result, encodings=dict(spec.encodings))
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    log.info("%s side table: %d rows, %d bytes, %d of %d day(s) counted%s in %.2fs", spec.name, n, size,
             len(changed), len(current), " (full)" if old is None else "", time.monotonic() - t0)
    return n
