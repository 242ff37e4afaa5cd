"""The binary extraction path (ADBC: COPY … (FORMAT binary) decoded into Arrow in C) against
a real PostgreSQL: the same rows, values and order as the plain cursor path; it reads the
sync's snapshot and nothing committed after it; it survives a reader stopped early and a
failing SELECT; and without the driver the sync falls back to the CSV path."""
from __future__ import annotations

import dataclasses
import sys

import psycopg2
import psycopg2.extensions
import pyarrow as pa
import pytest

from tests.warehouse.test_extract import BOUNDS, T0, _cursor_path, _rows
from warehouse.lake.tables import CHAT
from warehouse.sync import export as sync
from warehouse.sync import extract, extract_arrow

pytestmark = pytest.mark.integration


def _snapshot_txn(pg) -> None:
    pg.rollback()
    pg.isolation_level = psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ
    with pg.cursor() as cur:  # the snapshot is taken here
        cur.execute("SELECT count(*) FROM stream_chat")


def _read(pg, reader) -> pa.Table:
    return pa.Table.from_batches(list(extract.stream(pg, CHAT, BOUNDS, reader=reader)), schema=CHAT.schema)


def test_binary_path_gives_exactly_the_cursor_rows(pg):
    _rows(pg, 300)
    want = _cursor_path(pg)
    _snapshot_txn(pg)
    with extract_arrow.snapshot_reader(pg) as reader:
        assert reader is not None
        got = _read(pg, reader)
    assert got.schema == CHAT.schema  # UTC timestamps, no driver metadata
    assert got.num_rows == want.num_rows == 300
    for name in CHAT.schema.names:
        assert got.column(name).to_pylist() == want.column(name).to_pylist(), name
    assert got.column("nickname").null_count == 100 and "" in got.column("message").to_pylist()


def test_binary_reader_sees_the_sync_snapshot_only(pg, pg_url):
    _rows(pg, 30)
    _snapshot_txn(pg)
    late = psycopg2.connect(pg_url)
    with late.cursor() as cur:  # committed after the snapshot: not this sync's rows
        cur.execute("INSERT INTO stream_chat (channel_fk, user_id, message, message_type, chat_time, raw, dedupe_key)"
                    " SELECT id, 'late', 'late', 'chat', %s, '{}', 'late-1' FROM stream_channel LIMIT 1", (T0,))
    late.commit()
    late.close()
    with extract_arrow.snapshot_reader(pg) as reader:
        got = _read(pg, reader)
    assert got.num_rows == 30 and "late" not in got.column("user_id").to_pylist()
    pg.rollback()  # a new snapshot sees it
    with extract_arrow.snapshot_reader(pg) as reader:
        assert _read(pg, reader).num_rows == 31


def test_reader_stopped_early_then_used_again(pg, monkeypatch):
    _rows(pg, 400)
    _snapshot_txn(pg)
    with extract_arrow.snapshot_reader(pg) as reader:
        monkeypatch.setattr(extract_arrow, "PREFETCH", 1)
        batches = extract.stream(pg, CHAT, BOUNDS, reader=reader)
        assert next(batches).num_rows > 0
        batches.close()  # the reader thread finishes its statement and stops
        assert _read(pg, reader).num_rows == 400
    with pytest.raises(Exception):  # noqa: B017 - closed after the block, whatever the driver says
        list(reader.batches(["SELECT 1 AS x"], pa.schema([("x", pa.int32())])))
    assert _read(pg, None).num_rows == 400  # no reader passed: the CSV path, nothing attached to pg


def test_a_failing_select_raises_through_the_binary_path(pg):
    _rows(pg, 10)
    broken = dataclasses.replace(CHAT, select_keys=CHAT.select_keys.replace("c.message,", "c.message::int,"))
    _snapshot_txn(pg)
    with extract_arrow.snapshot_reader(pg) as reader, pytest.raises(Exception, match="integer"):
        list(extract.stream(pg, broken, BOUNDS, reader=reader))


def test_without_the_driver_the_sync_reads_csv_and_writes_the_same_lake(pg, tmp_path, monkeypatch, caplog):
    _rows(pg, 200)
    fast = sync.sync(pg, str(tmp_path / "binary"), all_days=True)
    monkeypatch.setitem(sys.modules, "adbc_driver_postgresql.dbapi", None)  # import fails
    caplog.set_level("INFO", logger="warehouse.sync.extract_arrow")
    slow = sync.sync(pg, str(tmp_path / "csv"), all_days=True)
    assert "read through COPY (FORMAT csv)" in caplog.text
    assert fast.rows == slow.rows == 200
    import pyarrow.parquet as pq
    for day in fast.days:
        part = f"chat/day={day.day.isoformat()}/part-0.parquet"
        assert pq.read_table(tmp_path / "binary" / part).equals(pq.read_table(tmp_path / "csv" / part))


@pytest.mark.unit
@pytest.mark.parametrize("password", [None, "s3cret", "it's", "back\\slash", "sp ace=x"])
def test_conninfo_keeps_every_parameter_and_quotes_the_password(password):
    class Info:
        dsn_parameters = {"user": "postgres", "dbname": "d b", "host": "/tmp/x", "port": "5432", "options": ""}

    class Conn:
        info = Info()

    Conn.info.password = password
    parsed = psycopg2.extensions.parse_dsn(extract_arrow.conninfo(Conn()))
    want = {"user": "postgres", "dbname": "d b", "host": "/tmp/x", "port": "5432"}
    if password:
        want["password"] = password
    assert parsed == want


@pytest.mark.parametrize("cap", [1, 40, 10_000])
def test_grouped_reads_give_the_cursor_rows_in_order_whatever_the_cap(pg, monkeypatch, cap):
    """A day is read in groups of channels up to GROUP_ROWS rows (sorted here), a channel
    above it in index order; every cap gives exactly the reference rows in their order."""
    _rows(pg, 300)
    with pg.cursor() as cur:  # a third channel whose id sorts differently byte-wise and by collation
        cur.execute("INSERT INTO stream_channel (channel_id, channel_name) VALUES ('Bb', 'upper') RETURNING id")
        fk = cur.fetchone()[0]
        cur.execute("INSERT INTO stream_chat (channel_fk, user_id, message, message_type, chat_time, raw, dedupe_key)"
                    " SELECT %s, 'u' || g, 'm' || g, 'chat', %s + g * interval '1 second', '{}', 'b' || g"
                    " FROM generate_series(1, 30) g", (fk, T0))
    pg.commit()
    want = _cursor_path(pg)
    monkeypatch.setattr(extract_arrow, "GROUP_ROWS", cap)
    monkeypatch.setattr(extract_arrow, "SLICE_ROWS", 7)  # sorted rows handed on in many small batches
    _snapshot_txn(pg)
    with extract_arrow.snapshot_reader(pg) as reader:
        got = _read(pg, reader)
    assert got.num_rows == want.num_rows == 330
    assert got.equals(want)


@pytest.mark.unit
@pytest.mark.parametrize(("sizes", "cap", "want"), [
    ([], 10, []),
    ([(1, "a", 3), (2, "b", 4), (3, "c", 3)], 10, [("keys", [1, 2, 3])]),
    ([(1, "a", 6), (2, "b", 5), (3, "c", 4)], 10, [("keys", [1]), ("keys", [2, 3])]),
    ([(1, "a", 2), (2, "b", 50), (3, "c", 2)], 10, [("keys", [1]), ("ordered", [2]), ("keys", [3])]),
    ([(1, "a", 50), (2, "b", 60)], 10, [("ordered", [1]), ("ordered", [2])]),
    ([(1, "a", 10), (2, "b", 1)], 10, [("keys", [1]), ("keys", [2])]),
])
def test_plan_groups_keeps_order_and_caps_rows(sizes, cap, want):
    got = extract_arrow.plan_groups(sizes, cap)
    assert [(kind, [k for k, _, _ in group]) for kind, group in got] == want
    assert [s for _, group in got for s in group] == sizes  # every key once, in order


def test_a_refused_snapshot_import_falls_back_to_csv_with_a_warning(pg, caplog):
    """Outside a transaction the exported snapshot is gone before the reader imports it
    (as behind a transaction-pooling proxy): a warning, and the CSV path reads the rows."""
    _rows(pg, 20)
    pg.autocommit = True
    caplog.set_level("WARNING", logger="warehouse.sync.extract_arrow")
    with extract_arrow.snapshot_reader(pg) as reader:
        assert reader is None
        assert _read(pg, reader).num_rows == 20
    assert "binary reader unavailable" in caplog.text and "COPY (FORMAT csv)" in caplog.text
