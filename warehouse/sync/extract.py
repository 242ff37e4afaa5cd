"""PostgreSQL → Arrow: day tables through binary COPY decoded by ADBC (extract_arrow, when the
caller passes its binary reader) or COPY (FORMAT csv) parsed by pyarrow; small tables through server-side cursors in batches of
tuples, fetched by a background thread a bounded number of batches ahead (PostgreSQL works
while we convert and write) and turned column-wise into Arrow record batches; and
`resolve`, which gives a registry entry without a fixed schema its columns from the
PostgreSQL catalog (or None when the table does not exist in this database).

Every path reads a table's ``read_schema`` and hands on ``schema``: the compact columns
(tables.Compact) are turned into text (warehouse/sync/compact.py) before a batch leaves here."""
from __future__ import annotations

import contextlib
import dataclasses
import itertools
import os
import threading
from collections.abc import Iterator

import psycopg2.extensions
import pyarrow as pa
import pyarrow.csv as pacsv
from psycopg2 import sql

from warehouse.lake.tables import UTC_US, Table
from warehouse.sync import background, compact
from warehouse.sync.extract_arrow import SnapshotReader, day_batches
from warehouse.sync.statements import queries, statements

BATCH_ROWS = 20_000
PREFETCH = 2      # batches fetched ahead by the producer thread
PIPE_BUFFER = 1 << 20
CSV_BLOCK = 8 << 20  # pyarrow parses the COPY output in blocks of this many bytes
CSV_THREADS = True
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


def _fetch(conn: psycopg2.extensions.connection, table: Table, params: dict | None, batch_rows: int,
           put, stop: threading.Event) -> None:
    """Producer (background.produced): run the table's SELECTs through server-side cursors,
    put lists of tuples (never empty)."""
    for query, args in queries(conn, table, params):
        with conn.cursor(name=f"wh_extract_{next(_cursor_ids)}") as cur:
            cur.itersize = batch_rows
            cur.execute(query, args)  # None: no %-interpolation at all
            while rows := cur.fetchmany(batch_rows):
                if not put(rows):
                    return


def stream(conn: psycopg2.extensions.connection, table: Table, params: dict | None = None,
           batch_rows: int = BATCH_ROWS, prefetch: int = PREFETCH,
           dictionaries: compact.Dictionaries | None = None,
           reader: SnapshotReader | None = None) -> Iterator[pa.RecordBatch]:
    """Yield record batches of `table` run with `params` (rows in the table's order).

    Runs inside the caller's transaction. Day tables go through `reader`, a binary reader
    in `conn`'s snapshot (extract_arrow.snapshot_reader; the sync passes one), else through ``COPY … TO
    STDOUT (FORMAT csv)`` parsed by pyarrow (see copy_csv); the others through a server-side cursor, a
    background thread fetching up to `prefetch` batches ahead. Either way PostgreSQL
    produces the next rows while the caller converts and writes these, and memory stays
    bounded by a few batches. The caller must not use `conn` until the iterator is
    exhausted or closed (closing it stops and joins the thread).

    dictionaries: raw_dictionary's rows (compact.load_dictionaries) for a table with compact columns;
    None: read from `conn` here (the sync reads them once and passes them)."""
    if table.compact is not None and dictionaries is None:
        dictionaries = compact.load_dictionaries(conn)
    if table.by_day and params is not None:
        if reader is not None:  # binary COPY decoded in C, in the sync's snapshot
            yield from day_batches(conn, reader, table, params, dictionaries)
        else:
            yield from copy_csv(conn, table, params, dictionaries)
        return
    with contextlib.closing(background.produced(
            lambda put, stop: _fetch(conn, table, params, batch_rows, put, stop), prefetch, "wh-extract")) as items:
        for rows in items:  # closing this generator stops and joins the producer
            yield compact.decode(to_batch(rows, table.read_schema), table, dictionaries)


def _copy_out(conn, statements: list[str], sink, errors: list[BaseException]) -> None:
    """Producer: run the COPY statements into `sink` (the pipe's write end, a C-level
    buffered file: psycopg2 calls its write once per row), then close it (EOF)."""
    try:
        with conn.cursor() as cur:
            for statement in statements:
                cur.copy_expert(statement, sink, size=PIPE_BUFFER)
    except BaseException as exc:  # raised by the consumer
        errors.append(exc)
    finally:
        try:
            sink.close()
        except OSError:
            pass


def _csv_options(schema: pa.Schema) -> tuple:
    """pyarrow CSV options that read PostgreSQL's CSV exactly: NULL is an unquoted empty
    field, "" an empty string, nothing else (no 'NA', 'NULL' guessing), t/f booleans,
    timestamps as the UTC wall-clock text the SELECT produces (``AT TIME ZONE 'UTC'``,
    ISO DateStyle, which psycopg2 sets on every connection), read as naive timestamps and
    labelled UTC afterwards; bytea as its text (``\\x`` and hex digits, see _from_hex)."""
    types = {f.name: (pa.timestamp("us") if pa.types.is_timestamp(f.type) else
                      pa.string() if pa.types.is_binary(f.type) else f.type) for f in schema}
    return (pacsv.ReadOptions(column_names=schema.names, block_size=CSV_BLOCK, use_threads=CSV_THREADS),
            pacsv.ParseOptions(newlines_in_values=True),
            pacsv.ConvertOptions(column_types=types, null_values=[""], strings_can_be_null=True,
                                 quoted_strings_can_be_null=False, true_values=["t"], false_values=["f"]))


def _from_hex(column: pa.Array) -> pa.Array:
    """bytea as PostgreSQL's text output gives it (bytea_output 'hex', the default since 9.0:
    ``\\x`` then two hex digits a byte) → binary."""
    out = []
    for value in column.to_pylist():
        if value is not None and not value.startswith("\\x"):
            raise ValueError("a bytea value came in bytea_output 'escape' format: set bytea_output = 'hex' for"
                             " the sync's role (ALTER ROLE … SET bytea_output = 'hex')")
        out.append(None if value is None else bytes.fromhex(value[2:]))
    return pa.array(out, pa.binary())


def copy_csv(conn: psycopg2.extensions.connection, table: Table, params: dict,
             dictionaries: compact.Dictionaries | None = None) -> Iterator[pa.RecordBatch]:
    """Record batches of `table` with `params` through ``COPY (SELECT …) TO STDOUT (FORMAT
    csv)``: a thread runs the COPY (one per key of ``table.split``, else one) into a pipe,
    pyarrow parses the other end. No Python object per value: this is what makes the
    sync as fast as PostgreSQL can send. Parameters are bound by psycopg2 (mogrify)."""
    copies = [f"COPY ({query}) TO STDOUT (FORMAT csv)" for query in statements(conn, table, params)]
    schema = table.read_schema
    read_fd, write_fd = os.pipe()
    sink, errors = os.fdopen(write_fd, "wb", buffering=PIPE_BUFFER), []
    worker = threading.Thread(target=_copy_out, args=(conn, copies, sink, errors),
                              name="wh-copy", daemon=True)
    worker.start()
    source = os.fdopen(read_fd, "rb", buffering=PIPE_BUFFER)
    finished = False
    try:
        try:
            reader = pacsv.open_csv(source, *_csv_options(schema))
        except pa.ArrowInvalid as exc:
            if "Empty CSV" not in str(exc):
                raise
            reader = None
        for batch in reader or ():
            if batch.num_rows:
                yield compact.decode(pa.RecordBatch.from_arrays(
                    [_from_hex(col) if pa.types.is_binary(f.type) else col.cast(f.type)
                     for col, f in zip(batch.columns, schema, strict=True)], schema=schema), table, dictionaries)
        finished = True
    finally:
        if not finished:  # drain: the COPY runs to its end, so the connection stays sound
            while os.read(read_fd, PIPE_BUFFER):
                pass
        worker.join()
        source.close()
    if errors:
        raise errors[0]


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
