"""Where does a person still appear? A scanner that knows no table: every base table of the
database's schema (every column, as JSON) and every file under a lake root (Parquet and
Arrow files column by column, any other file as text), JSON strings inside strings decoded
at any depth, so an id or a nickname kept as ``\\uXXXX`` escapes inside CHZZK's ``extras``
is found too; a bytea value that is a zstd frame (a compact chat row's raw_z, badges_z) is
read back with raw_dictionary's dictionaries and scanned as its text. A table or column
added later is scanned without touching this module."""
from __future__ import annotations

import json
import os
from collections.abc import Iterator

import pyarrow as pa
import pyarrow.parquet as pq
from psycopg2 import sql

from tests.compact_rows import dictionaries, frame_text


def _strings(value) -> Iterator[str]:
    """Every string in a value: keys, values, and the strings of JSON held in strings."""
    if isinstance(value, dict):
        for k, v in value.items():
            yield str(k)
            yield from _strings(v)
    elif isinstance(value, (list, tuple)):
        for v in value:
            yield from _strings(v)
    elif isinstance(value, (bytes, bytearray)):
        yield from _strings(value.decode("utf-8", "replace"))
    elif value is not None:
        text = str(value)
        yield text
        if text.lstrip()[:1] in ("{", "[", '"'):
            try:
                inner = json.loads(text)
            except ValueError:
                return
            if inner != text:
                yield from _strings(inner)


def _hits(value, needles: tuple[str, ...]) -> set[str]:
    return {n for s in _strings(value) for n in needles if n in s}


def scan_pg(conn, *needles: str) -> dict[tuple[str, str], set[str]]:
    """(table, column) -> the needles found there, over every base table of the schema."""
    found: dict[tuple[str, str], set[str]] = {}
    known = dictionaries(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT table_name FROM information_schema.tables"
                    " WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY 1")
        tables = [r[0] for r in cur.fetchall()]
        assert {"stream_chat", "events", "dead_letter", "opt_out_user"} <= set(tables)
        for table in tables:
            cur.execute(sql.SQL("SELECT to_jsonb(t) FROM {} t").format(sql.Identifier(table)))
            for (row,) in cur.fetchall():
                for column, value in row.items():
                    if isinstance(value, str) and value.startswith("\\x"):  # bytea, as to_jsonb gives it
                        value = frame_text(bytes.fromhex(value[2:]), known) or value
                    if hits := _hits(value, needles):
                        found.setdefault((table, column), set()).update(hits)
    conn.rollback()
    return found


def lake_files(root) -> list[str]:
    return sorted(os.path.join(d, f) for d, _, files in os.walk(root) for f in files)


def _read(path: str) -> pa.Table | None:
    if path.endswith(".parquet"):
        return pq.read_table(path)
    if path.endswith(".arrow"):
        with pa.memory_map(path) as source:
            return pa.ipc.open_file(source).read_all()
    return None


def scan_lake(root, *needles: str) -> dict[tuple[str, str], set[str]]:
    """(file relative to root, column or "<text>") -> the needles found there."""
    found: dict[tuple[str, str], set[str]] = {}
    for path in lake_files(root):
        rel = os.path.relpath(path, root)
        if hits := _hits(rel, needles):
            found.setdefault((rel, "<path>"), set()).update(hits)
        table = _read(path)
        if table is None:
            with open(path, "rb") as f:
                if hits := _hits(f.read(), needles):
                    found.setdefault((rel, "<text>"), set()).update(hits)
            continue
        for name in table.column_names:
            for value in table.column(name).to_pylist():
                if hits := _hits(value, needles):
                    found.setdefault((rel, name), set()).update(hits)
    return found


def pg_user_rows(conn, user_id: str) -> int:
    """How many stream_chat rows PostgreSQL holds for `user_id` (the read is rolled back)."""
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM stream_chat WHERE user_id = %s", (user_id,))
        n = cur.fetchone()[0]
    conn.rollback()
    return n
