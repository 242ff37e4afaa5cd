"""PostgreSQL → Arrow: stream a table's SELECT through a server-side cursor in batches of
tuples, turned column-wise into Arrow record batches (memory bounded by one batch); and
`resolve`, which gives a registry entry without a fixed schema its columns from the
PostgreSQL catalog (or None when the table does not exist in this database)."""
from __future__ import annotations

import dataclasses
import itertools
from collections.abc import Iterator

import psycopg2.extensions
import pyarrow as pa
from psycopg2 import sql

from warehouse.tables import UTC_US, Table

BATCH_ROWS = 20_000
# PostgreSQL type (information_schema udt_name) → Arrow type and the select expression
# template ({} = the quoted column). Anything else is exported as text.
_US = "(extract(epoch from {}) * 1000000)::bigint"
PG_TYPES: dict[str, tuple[pa.DataType, str]] = {
    "int8": (pa.int64(), "{}"), "int4": (pa.int32(), "{}"), "int2": (pa.int16(), "{}"),
    "float8": (pa.float64(), "{}"), "float4": (pa.float32(), "{}"),
    "numeric": (pa.float64(), "{}::float8"), "bool": (pa.bool_(), "{}"),
    "timestamptz": (UTC_US, _US), "timestamp": (pa.timestamp("us"), _US),
    "date": (pa.date32(), "{}"),
}
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
        cur.execute(table.select, params)  # None: no %-interpolation at all
        while rows := cur.fetchmany(batch_rows):
            yield to_batch(rows, table.schema)


def exists(conn: psycopg2.extensions.connection, source: str) -> bool:
    """Whether the table `source` exists in the connection's search path."""
    with conn.cursor() as cur:
        cur.execute("SELECT to_regclass(%s) IS NOT NULL", (source,))
        return cur.fetchone()[0]


def resolve(conn: psycopg2.extensions.connection, table: Table) -> Table | None:
    """`table` ready to extract: as declared when it has a schema, else with a schema and a
    SELECT built from the catalog (every column, in table order, sorted by the first
    column; a ``channel_fk`` column brings the channel's 32-hex ``channel_id`` along). None when its source table does not exist here."""
    if not exists(conn, table.source):
        return None
    if table.schema is not None:
        return table
    with conn.cursor() as cur:
        cur.execute("""SELECT column_name, udt_name FROM information_schema.columns
                       WHERE table_name = %s AND table_schema = ANY(current_schemas(false))
                       ORDER BY ordinal_position""", (table.source,))
        columns = cur.fetchall()
    fields, exprs = [], []
    for name, udt in columns:
        arrow_type, template = PG_TYPES.get(udt, (pa.string(), "{}::text"))
        fields.append(pa.field(name, arrow_type))
        exprs.append(sql.SQL(template).format(sql.Identifier(name)))
    if "channel_fk" in (name for name, _ in columns):  # readers know channels by channel_id
        fields.append(pa.field("channel_id", pa.string()))
        exprs.append(sql.SQL("(SELECT ch.channel_id FROM stream_channel ch WHERE ch.id = t.channel_fk)"))
    select = sql.SQL("SELECT {} FROM {} t ORDER BY 1").format(
        sql.SQL(", ").join(exprs), sql.Identifier(table.source)).as_string(conn)
    return dataclasses.replace(table, schema=pa.schema(fields), select=select)
