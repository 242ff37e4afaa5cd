"""PostgreSQL → Arrow: stream a table's SELECT through a server-side cursor in batches of
tuples, turned column-wise into Arrow record batches (memory bounded by one batch)."""
from __future__ import annotations

import itertools
from collections.abc import Iterator

import psycopg2.extensions
import pyarrow as pa

from warehouse.tables import Table

BATCH_ROWS = 20_000
_cursor_ids = itertools.count()


def to_batch(rows: list[tuple], schema: pa.Schema) -> pa.RecordBatch:
    """Tuples in schema column order → one record batch (pure)."""
    columns = list(zip(*rows, strict=True)) if rows else [()] * len(schema)
    arrays = [pa.array(col, type=field.type) for col, field in zip(columns, schema, strict=True)]
    return pa.RecordBatch.from_arrays(arrays, schema=schema)


def stream(conn: psycopg2.extensions.connection, table: Table, params: dict | None = None,
           batch_rows: int = BATCH_ROWS) -> Iterator[pa.RecordBatch]:
    """Yield record batches of `table.select` run with `params`. Runs inside the caller's
    transaction (a server-side cursor needs one); the cursor is closed when done."""
    with conn.cursor(name=f"wh_extract_{next(_cursor_ids)}") as cur:
        cur.itersize = batch_rows
        cur.execute(table.select, params or {})
        while rows := cur.fetchmany(batch_rows):
            yield to_batch(rows, table.schema)
