"""The fast extraction path (COPY … (FORMAT csv) parsed by pyarrow, fetched by a thread)
against a real PostgreSQL: it must give exactly what the plain cursor path gives — NULL vs
empty string, text that looks like NULL/NA/numbers, quotes, commas, newlines, Hangul,
booleans, timestamps, a table mixing jsonb rows with compact rows (raw and badges as zstd
frames, with and without a dictionary) — and leave the connection sound when the reader
stops early or the SELECT fails."""
from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta

import psycopg2
import pyarrow as pa
import pyarrow.parquet  # noqa: F401  (pa.parquet)
import pytest

from tests.compact_rows import cursor_rows, json_columns, make_compact
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.sync import extract

T0 = datetime(2026, 3, 1, 3, 0, tzinfo=UTC)
BOUNDS = {"start": T0 - timedelta(hours=1), "end": T0 + timedelta(days=1)}
NASTY = ["", "NULL", "NA", "null", "N/A", "nan", "1e5", "  spaced  ", 'quote " inside', "a,b", "line\nbreak",
         "cr\r\nlf", "\\N", "침착맨 ㅋㅋㅋ", "\"\"", "t", "f", "\t tab"]


def _rows(pg, n: int) -> None:
    """`n` rows over two channels; every third compact with the test dictionary, every
    ninth from the second compact without one (a mixed table, as after issue 17)."""
    with pg.cursor() as cur:
        cur.execute("INSERT INTO stream_channel (channel_id, channel_name) VALUES (%s, %s), (%s, %s) RETURNING id",
                    ("c" * 32, "채널,\"c\"", "d" * 32, None))
        fks = [r[0] for r in cur.fetchall()]
        for i in range(n):
            text = NASTY[i % len(NASTY)]
            cur.execute(
                "INSERT INTO stream_chat (channel_fk, user_id, nickname, message, message_type, msg_type_code,"
                " chat_time, subscription_month, is_anonymous, badges, raw, dedupe_key, blinded_at)"
                " VALUES (%s, %s, %s, %s, 'chat', %s, %s, %s, %s, %s, %s, %s, %s)",
                (fks[i % 2], None if i % 5 == 0 else f"u{i % 7}", text if i % 3 else None, text,
                 None if i % 4 == 0 else i, T0 + timedelta(seconds=i // 3), None if i % 2 else i,
                 None if i % 3 == 0 else bool(i % 2), json.dumps([{"t": text}], ensure_ascii=False),
                 json.dumps({"m": text}, ensure_ascii=False), f"k{i}",
                 T0 + timedelta(microseconds=7 * i) if i % 6 == 0 else None))
        cur.execute("SELECT id FROM stream_chat ORDER BY id")
        ids = [r[0] for r in cur.fetchall()]
    pg.commit()
    make_compact(pg, ids[::3])
    make_compact(pg, ids[1::9], dictionary=None)


def _cursor_path(pg) -> pa.Table:
    """The reference: the same SELECT through a plain cursor (frames read back by raw_codec)."""
    return cursor_rows(pg, CHAT, BOUNDS)


def _usable(pg) -> None:
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM stream_chat")
        assert cur.fetchone()[0] > 0


@pytest.mark.integration
def test_copy_csv_gives_exactly_the_cursor_rows(pg, monkeypatch):
    _rows(pg, 300)
    monkeypatch.setattr(extract, "CSV_BLOCK", 4096)  # many blocks: rows straddle block edges
    got = pa.Table.from_batches(list(extract.stream(pg, CHAT, BOUNDS)), schema=CHAT.schema)
    want = _cursor_path(pg)
    assert got.num_rows == want.num_rows == 300
    for name in CHAT.schema.names:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name
    messages = got.column("message").to_pylist()
    assert "" in messages and "NULL" in messages and "line\nbreak" in messages and None not in messages
    assert got.column("nickname").null_count == 100  # NULL stays NULL, "" stays ""
    stored = json_columns(pg)
    assert sum(r["compact"] for r in stored.values()) == 100 + 34  # both kinds in the day
    for row_id, raw, badges in zip(*(got.column(c).to_pylist() for c in ("id", "raw", "badges")), strict=True):
        assert (json.loads(raw), json.loads(badges)) == (stored[row_id]["raw"], stored[row_id]["badges"]), row_id


@pytest.mark.integration
def test_split_by_channel_gives_the_same_rows_in_the_same_order(pg):
    _rows(pg, 120)
    split = dataclasses.replace(CHAT, split="SELECT id FROM stream_channel ORDER BY channel_id",
                                select_split=CHAT.select.replace(
                                    " WHERE c.chat_time", " WHERE c.channel_fk = %(key)s AND c.chat_time").replace(
                                    "ORDER BY ch.channel_id, ", "ORDER BY "))
    got = pa.Table.from_batches(list(extract.stream(pg, split, BOUNDS)), schema=CHAT.schema)
    assert got.equals(_cursor_path(pg))


@pytest.mark.integration
def test_reader_stopping_early_leaves_the_connection_usable(pg, monkeypatch):
    _rows(pg, 400)
    monkeypatch.setattr(extract, "CSV_BLOCK", 4096)
    monkeypatch.setattr(extract, "PIPE_BUFFER", 4096)
    batches = extract.stream(pg, CHAT, BOUNDS)
    first = next(batches)
    assert 0 < first.num_rows < 400
    batches.close()  # stops mid-COPY: the rest is drained, the thread joined
    _usable(pg)


@pytest.mark.integration
def test_writer_failure_mid_day_keeps_the_partition_and_the_connection(pg, tmp_path, monkeypatch):
    _rows(pg, 400)
    monkeypatch.setattr(extract, "CSV_BLOCK", 4096)
    lake = Lake(str(tmp_path))
    day = T0.date()

    def failing():
        for i, batch in enumerate(extract.stream(pg, CHAT, BOUNDS)):
            if i == 1:
                raise RuntimeError("disk full")
            yield batch

    with pytest.raises(RuntimeError, match="disk full"):
        lake.write(CHAT, failing(), day)
    assert not lake.exists(CHAT, day)
    _usable(pg)


@pytest.mark.integration
def test_a_failing_select_raises_and_writes_nothing(pg, tmp_path):
    _rows(pg, 10)
    broken = dataclasses.replace(CHAT, split=None, select=CHAT.select.replace("c.message,", "c.message::int,"))
    with pytest.raises(psycopg2.Error):
        Lake(str(tmp_path)).write(broken, extract.stream(pg, broken, BOUNDS), T0.date())
    assert not Lake(str(tmp_path)).exists(CHAT, T0.date())
    pg.rollback()
    _usable(pg)


@pytest.mark.integration
def test_timestamps_are_exact_microseconds_whatever_the_session_time_zone(pg):
    _rows(pg, 60)
    with pg.cursor() as cur:
        cur.execute("SET TIME ZONE 'America/St_Johns'")  # a half-hour offset, DST
        cur.execute("SELECT id, (extract(epoch from chat_time) * 1000000)::bigint,"
                    " (extract(epoch from created_at) * 1000000)::bigint,"
                    " (extract(epoch from blinded_at) * 1000000)::bigint FROM stream_chat ORDER BY id")
        want = {r[0]: r[1:] for r in cur.fetchall()}
    got = pa.Table.from_batches(list(extract.stream(pg, CHAT, BOUNDS)), schema=CHAT.schema)
    ints = {name: got.column(name).cast(pa.int64()).to_pylist() for name in ("chat_time", "created_at", "blinded_at")}
    have = {i: (ints["chat_time"][n], ints["created_at"][n], ints["blinded_at"][n])
            for n, i in enumerate(got.column("id").to_pylist())}
    assert have == want
    assert any(v[2] is not None and v[2] % 1_000_000 for v in want.values())  # sub-second values covered
    pg.rollback()


@pytest.mark.unit
def test_lake_gathers_batches_into_bounded_row_groups(tmp_path, monkeypatch):
    from warehouse.lake import layout as lake_module
    from warehouse.lake.tables import Table
    monkeypatch.setattr(lake_module, "ROW_GROUP_ROWS", 1000)
    schema = pa.schema([("a", pa.int64())])
    table = Table("t", schema, None, by_day=False)
    batches = (pa.record_batch([pa.array(range(i * 700, (i + 1) * 700))], schema=schema) for i in range(10))
    lake = Lake(str(tmp_path))
    assert lake.write(table, batches)[0] == 7000
    meta = pa.parquet.ParquetFile(lake.part_path(table)).metadata
    assert [meta.row_group(i).num_rows for i in range(meta.num_row_groups)] == [1000] * 7
    assert lake.read(table).column("a").to_pylist() == list(range(7000))


@pytest.mark.unit
def test_the_lake_and_the_sync_import_no_circle_and_keep_no_reader_registry():
    """warehouse/lake and warehouse/sync modules import each other without a loop (the
    extraction paths share warehouse/sync/statements.py and background.py), and the binary
    reader is passed to extract.stream, not looked up in a module-level table."""
    import ast
    from pathlib import Path

    root = Path(__file__).resolve().parents[2]
    files = sorted((root / "warehouse" / "lake").glob("*.py")) + sorted((root / "warehouse" / "sync").glob("*.py"))
    names = {".".join(f.relative_to(root).with_suffix("").parts): f for f in files}
    graph: dict[str, set[str]] = {}
    for name, path in names.items():
        tree = ast.parse(path.read_text())
        found = set()
        for node in tree.body:  # module level only: an import inside a function is not a cycle at import
            if isinstance(node, ast.ImportFrom) and node.module:
                found |= {m for m in (node.module, *(f"{node.module}.{a.name}" for a in node.names)) if m in names}
            elif isinstance(node, ast.Import):
                found |= {a.name for a in node.names if a.name in names}
        graph[name] = found - {name}
    state: dict[str, int] = {}

    def cycle(node: str, path: list[str]) -> list[str] | None:
        state[node] = 1
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                return [*path, node, nxt]
            if nxt not in state and (found := cycle(nxt, [*path, node])):
                return found
        state[node] = 2
        return None

    assert [c for n in sorted(graph) if n not in state and (c := cycle(n, []))] == []
    assert "warehouse.sync.extract_arrow" in graph["warehouse.sync.extract"]
    assert "warehouse.sync.extract" not in graph["warehouse.sync.extract_arrow"]
    from warehouse.sync import extract_arrow
    assert not hasattr(extract_arrow, "reader_for") and not hasattr(extract_arrow, "_READERS")
