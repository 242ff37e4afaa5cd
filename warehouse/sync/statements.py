"""The SELECTs that make up a table's rows (warehouse/lake/tables.py declares them): one per
key of the table's ``split`` when it declares one (each an index range that needs no sort),
else its ``select`` alone. Shared by every extraction path: the cursor and COPY (CSV) paths
(warehouse/sync/extract.py) and the binary reader (warehouse/sync/extract_arrow.py)."""
from __future__ import annotations

from collections.abc import Iterator

import psycopg2.extensions

from warehouse.lake.tables import Table


def queries(conn: psycopg2.extensions.connection, table: Table,
            params: dict | None) -> Iterator[tuple[str, dict | None]]:
    """(SELECT, its parameters) of `table` with `params`, in output order (runs the split's
    key query in the caller's transaction)."""
    if table.split is None or params is None:
        yield table.select, params
        return
    with conn.cursor() as cur:
        cur.execute(table.split)
        keys = [r[0] for r in cur.fetchall()]
    for key in keys:
        yield table.select_split, {**params, "key": key}


def statements(conn: psycopg2.extensions.connection, table: Table, params: dict) -> list[str]:
    """The SELECTs of `table` with `params` (see queries), parameters bound by psycopg2
    (mogrify), for the paths that need plain statements (COPY, ADBC)."""
    with conn.cursor() as cur:
        return [cur.mogrify(query, args).decode() for query, args in queries(conn, table, params)]
