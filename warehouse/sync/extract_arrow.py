"""PostgreSQL → Arrow in C: the day tables read through ADBC's PostgreSQL driver, which runs
each SELECT as ``COPY (…) TO STDOUT (FORMAT binary)`` and decodes it into Arrow record
batches without a Python object per value or any text parsing (docs/BENCHMARKS.md: about
half the client CPU of the CSV path, and PostgreSQL sends binary values cheaper than text).

The reader is a second connection that imports the sync's snapshot
(``pg_export_snapshot()`` / ``SET TRANSACTION SNAPSHOT``), so what it reads is exactly what
the sync's own REPEATABLE READ transaction sees: the lake stays in step with the high-water
marks. `snapshot_reader(conn)` opens one for the length of a ``with`` block (None when it
cannot: no ADBC driver installed, a server that refuses snapshot import, a pooler in
between); the caller passes it to `extract.stream`, which reads day tables through it, and
through COPY (FORMAT csv) without one.

A background thread reads the batches a bounded number ahead, so PostgreSQL and the
decoding keep going while the caller compresses and writes."""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Callable, Iterator

import psycopg2.extensions
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.lake.layout import WRITE_POOL
from warehouse.lake.tables import Table
from warehouse.sync import background, compact
from warehouse.sync.statements import statements

log = logging.getLogger(__name__)
PREFETCH = 4       # record batches read ahead by the reader thread
GROUP_ROWS = 100_000  # rows of a day read in one statement and sorted here (memory: about 150 MB)
# sorted rows handed on per batch: a Parquet row group (layout.ROW_GROUP_ROWS, which the
# writer gathers anyway), so a batch's decoded raw text (~16 MB; 65,536 rows made ~66 MB)
# stays under malloc's largest mmap threshold (32 MB) and reuses freed memory instead of
# faulting in fresh pages for every batch
SLICE_ROWS = 16_384


def conninfo(conn: psycopg2.extensions.connection) -> str:
    """A libpq key=value connection string for the server and database `conn` is connected
    to, password included (psycopg2's ``conn.dsn`` masks it). Never logged."""
    params = dict(conn.info.dsn_parameters)
    if conn.info.password:
        params["password"] = conn.info.password
    return " ".join(f"{key}='{_quote(value)}'" for key, value in params.items() if value not in (None, ""))


def _quote(value: str) -> str:
    return str(value).replace("\\", "\\\\").replace("'", "\\'")


class SnapshotReader:
    """An ADBC connection inside a transaction that shares `conn`'s snapshot."""

    def __init__(self, conn: psycopg2.extensions.connection):
        import adbc_driver_postgresql.dbapi as adbc  # optional: the CSV path needs nothing

        with conn.cursor() as cur:
            cur.execute("SELECT pg_export_snapshot()")
            snapshot = cur.fetchone()[0]
        self._conn = adbc.connect(conninfo(conn), autocommit=True)
        try:
            self._cur = self._conn.cursor()
            self._cur.execute("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
            # the snapshot id comes from the server (hex digits and dashes), bound client-side
            with conn.cursor() as cur:
                self._cur.execute(cur.mogrify("SET TRANSACTION SNAPSHOT %s", (snapshot,)).decode())
        except BaseException:
            self._conn.close()
            raise
        self._lock = threading.Lock()  # one stream at a time on this connection

    def batches(self, statements: list[str], schema: pa.Schema,
                prefetch: int = PREFETCH) -> Iterator[pa.RecordBatch]:
        """Record batches of the SELECT `statements` (in order), conformed to `schema`
        (naive UTC timestamps labelled UTC, ADBC's field metadata dropped). Closing the
        iterator early lets the reader finish the statement it is in, so the connection
        stays usable."""
        with self._lock, contextlib.closing(background.produced(
                lambda put, stop: self._read(statements, put, stop), prefetch, "wh-adbc")) as items:
            for item in items:
                yield pa.RecordBatch.from_arrays(
                    [col if col.type == f.type else col.cast(f.type)
                     for col, f in zip(item.columns, schema, strict=True)], schema=schema)

    def _read(self, statements: list[str], put: Callable, stop: threading.Event) -> None:
        """Producer (background.produced): the statements' batches, in order."""
        for statement in statements:
            self._cur.execute(statement)
            reader = self._cur.fetch_record_batch()
            for batch in reader:  # read to the end even after a stop: the connection stays sound
                if batch.num_rows and not stop.is_set():
                    put(batch)
            if stop.is_set():
                return

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self._cur.close()
        with contextlib.suppress(Exception):
            self._conn.close()


@contextlib.contextmanager
def snapshot_reader(conn: psycopg2.extensions.connection) -> Iterator[SnapshotReader | None]:
    """An ADBC reader sharing `conn`'s snapshot for the block, to pass to extract.stream
    (None, hence the CSV path, when the driver is missing or the server refuses). `conn`
    must be in a REPEATABLE READ transaction that has not yet run a query, or has run only
    reads."""
    try:
        reader = SnapshotReader(conn)
    except ImportError:
        log.info("adbc-driver-postgresql is not installed: day tables are read through COPY (FORMAT csv)")
        reader = None
    except Exception as exc:  # noqa: BLE001 - any failure here only costs speed
        reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        if conn.info.password:  # a driver message must not carry the password to the logs
            reason = reason.replace(conn.info.password, "***")
        log.warning("binary reader unavailable (%s): day tables are read through COPY (FORMAT csv)", reason)
        reader = None
    if reader is None:
        yield None
        return
    try:
        yield reader
    finally:
        reader.close()


def plan_groups(sizes: list[tuple], cap: int) -> list[tuple[str, list[tuple]]]:
    """Split the day's keys (``(key, order value, rows)`` in output order) into reads:
    ("keys", [...]) for consecutive keys holding at most `cap` rows together (read in one
    statement and sorted here), ("ordered", [one]) for a key that alone holds more (read
    in index order, streamed, so memory stays bounded by `cap` rows whatever the day). Pure."""
    reads: list[tuple[str, list[tuple]]] = []
    group: list[tuple] = []
    held = 0
    for size in sizes:
        if size[2] > cap:
            if group:
                reads.append(("keys", group))
                group, held = [], 0
            reads.append(("ordered", [size]))
            continue
        if group and held + size[2] > cap:
            reads.append(("keys", group))
            group, held = [], 0
        group.append(size)
        held += size[2]
    if group:
        reads.append(("keys", group))
    return reads


def _sorted(batches: Iterator[pa.RecordBatch], group: list[tuple], table: Table) -> Iterator[pa.RecordBatch]:
    """The rows of `batches` (a group's statement) in the table's order, as batches of at
    most SLICE_ROWS: ``group_order``'s first column holds each row's key as text; rows go by
    the key's place in `group` (``split_sizes`` rows), then the other columns ascending; the
    ``group_fill`` columns get the group's values for the key. The rows are as read
    (``read_schema``): compact rows' frames are moved, not their (about 5x larger) text."""
    schema = table.read_schema
    data = pa.Table.from_batches(list(batches), schema=schema)
    if not data.num_rows:
        return
    # each column as one array, taken from column by column: Table.take costs about ten
    # times the sum of its columns' takes (pyarrow 26, a 76k-row day: 0.31 s vs 0.03 s)
    columns = [column.combine_chunks(memory_pool=WRITE_POOL) for column in data.columns]
    first, then = table.group_order[0], table.group_order[1:]
    place = pc.index_in(columns[schema.get_field_index(first)],
                        value_set=pa.array([str(size[0]) for size in group], pa.string()))
    values = [(size[1], *size[3:]) for size in group]  # the fill values of each key, in place order
    for i, name in enumerate(table.group_fill):
        columns[schema.get_field_index(name)] = pc.take(pa.array([v[i] for v in values], schema.field(name).type),
                                                        place, memory_pool=WRITE_POOL)
    keys = pa.table([place, *(columns[schema.get_field_index(c)] for c in then)], names=["_place", *then])
    indices = pc.sort_indices(keys, [(name, "ascending") for name in keys.column_names], memory_pool=WRITE_POOL)
    for start in range(0, len(indices), SLICE_ROWS):
        part = indices[start:start + SLICE_ROWS]
        yield pa.RecordBatch.from_arrays([pc.take(column, part, memory_pool=WRITE_POOL) for column in columns],
                                         schema=schema)


def day_batches(conn: psycopg2.extensions.connection, reader: SnapshotReader, table: Table,
                params: dict, dictionaries: compact.Dictionaries | None = None) -> Iterator[pa.RecordBatch]:
    """Record batches of a day table with `params` through `reader`, in the table's order.
    A table with ``split_sizes`` is read in groups of keys (plan_groups): each group one
    heap-order statement sorted here, a key larger than GROUP_ROWS in index order. Compact
    columns are decoded (compact.decode, with `dictionaries`) as each batch leaves, after the
    sort (a row's text depends on its own frame alone)."""
    def decoded(batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        for batch in batches:
            yield compact.decode(batch, table, dictionaries)

    def read(stmts: list[str]) -> Iterator[pa.RecordBatch]:
        return reader.batches(stmts, table.read_schema)

    if table.split_sizes is None:
        yield from decoded(read(statements(conn, table, params)))
        return
    with conn.cursor() as cur:
        cur.execute(table.split_sizes, params)
        sizes = cur.fetchall()
        reads = [(kind, group, cur.mogrify(table.select_split if kind == "ordered" else table.select_keys,
                                           {**params, "key": group[0][0], "keys": [size[0] for size in group]}).decode())
                 for kind, group in plan_groups(sizes, GROUP_ROWS)]
    for kind, group, statement in reads:
        batches = read([statement])
        yield from decoded(batches if kind == "ordered" else _sorted(batches, group, table))
