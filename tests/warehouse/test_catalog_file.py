"""The lake's catalog for outside tools (warehouse/lake/catalog_file.py): lake.duckdb opened
by plain DuckDB from another folder answers the dashboard's questions as the analyst API
does on a lake whose days have different columns; lake.sql reads a moved copy from its own
folder; the file is replaced atomically, a failure never fails the sync, a real sync writes
it, an S3 lake gets lake.sql with s3:// URLs, and the DuckDB command line opens it too."""
from __future__ import annotations

import json
import logging
import os
import shutil
import subprocess
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pytest

import warehouse
from tests.engine_answers import api_answers, engine_answers
from tests.lakefixture import build_fixture_lake
from tests.lakefixture_drift import MIGRATION_010, build_drift_lake
from tests.pghistory import KST, channels, history, insert
from tests.s3lake import s3_lake, s3_server  # noqa: F401 - fixtures
from warehouse.lake import catalog_file
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT, EVENTS

CATALOG, SCRIPT = catalog_file.CATALOG_FILE, catalog_file.SCRIPT_FILE


@pytest.fixture(scope="module")
def drift(tmp_path_factory):
    """(root, the analyst API's answers) of a drift lake with its catalog written."""
    root = tmp_path_factory.mktemp("drift") / "lake"
    build_drift_lake(root)
    catalog_file.write(Lake(str(root)))
    return root, api_answers(str(root))


def _answers(con) -> dict[str, list[tuple]]:
    return engine_answers(lambda sql: con.execute(sql).fetchall())


@pytest.mark.unit
def test_lake_duckdb_opened_from_another_folder_answers_as_the_api(drift, tmp_path, monkeypatch):
    root, api = drift
    monkeypatch.chdir(tmp_path)  # not the lake's folder: the file's paths are absolute
    con = duckdb.connect(str(root / CATALOG), read_only=True)
    try:
        assert _answers(con) == api
        columns = dict(con.execute("SELECT column_name, column_type FROM (DESCRIBE chat)").fetchall())
        assert columns["day"] == "DATE" and set(MIGRATION_010) <= set(columns)  # union_by_name over the days
        assert con.execute("SELECT count(*) FROM chat WHERE day = DATE '2026-09-01' AND donation_status IS NOT NULL"
                       ).fetchone() == (0,)  # the day written before migration 010: NULL
        assert {name for (name,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()
                } == {"chat", "events", "channels"}
        assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)  # no file yet: empty, typed
        assert con.execute("SELECT column_type FROM (DESCRIBE events) WHERE column_name = 'event_time'"
                       ).fetchone() == ("TIMESTAMP WITH TIME ZONE",)
    finally:
        con.close()
    assert sum(m for _, _, m, _ in api["activity"]) > 300 and len(api["donations"]) == 3


@pytest.mark.unit
def test_lake_sql_reads_a_moved_lake_from_its_folder_and_the_duckdb_file_is_rewritten(drift, tmp_path,
                                                                                       monkeypatch):
    """The decision on paths: lake.sql's are relative (a moved or copied lake read from its
    folder), lake.duckdb's absolute (opened from anywhere; rewritten by the next sync or
    `python -m warehouse.lake.catalog_file ROOT` after a move)."""
    root, api = drift
    moved = tmp_path / "elsewhere" / "lake"
    shutil.copytree(root, moved)
    staged = tmp_path / "gone"
    root.rename(staged)  # the lake is no longer where lake.duckdb says
    try:
        monkeypatch.chdir(moved)
        con = duckdb.connect()
        con.execute((moved / SCRIPT).read_text())
        assert _answers(con) == api
        con.close()
        stale = duckdb.connect(str(moved / CATALOG), read_only=True)
        with pytest.raises(duckdb.IOException, match="No files found"):
            stale.execute("SELECT count(*) FROM chat").fetchall()
        stale.close()
        assert catalog_file.main([str(moved)]) == 0
        monkeypatch.chdir(tmp_path)
        con = duckdb.connect(str(moved / CATALOG), read_only=True)
        assert _answers(con) == api
        con.close()
    finally:
        staged.rename(root)


@pytest.mark.unit
def test_the_catalog_is_replaced_atomically_under_an_open_reader(tmp_path):
    root = tmp_path / "lake"
    facts = build_fixture_lake(root)
    lake = Lake(str(root))
    first = catalog_file.write(lake)
    assert first.views == ("chat", "events", "channels") and first.empty == ("events",)
    assert first.left_out == ("live_session", "capture_interval", "live_session_poll", "channel_follower_day")
    reader = duckdb.connect(str(root / CATALOG), read_only=True)  # DBeaver, say, holds it open
    assert reader.execute("SELECT count(*) FROM chat").fetchone() == (len(facts["rows"]),)
    lake.write(EVENTS, _event(), facts["days"][0])  # the table's first file
    second = catalog_file.write(lake)
    assert second.empty == ()
    assert reader.execute("SELECT count(*) FROM events").fetchone() == (0,)  # the old catalog, whole
    reader.close()
    fresh = duckdb.connect(str(root / CATALOG), read_only=True)
    assert fresh.execute("SELECT count(*), min(day) FROM events").fetchone() == (1, facts["days"][0])
    fresh.close()
    assert sorted(p.name for p in root.iterdir() if p.is_file()) == [CATALOG, SCRIPT]  # no temporary left
    assert os.stat(root / CATALOG).st_mode & 0o777 == 0o600
    before = os.stat(root / CATALOG)
    lake.write(CHAT, lake.read(CHAT, facts["days"][1]), facts["days"][1])  # a day rewritten: same views
    assert catalog_file.write(lake).files == ()  # nothing to write: the files are left as they are
    assert os.stat(root / CATALOG).st_ino == before.st_ino
    (root / CATALOG).unlink()
    assert catalog_file.write(lake).files == (CATALOG, SCRIPT)


_WHEN = datetime(2026, 9, 1, 3, tzinfo=UTC)
_DAY = date(2026, 9, 1)


def _event() -> pa.Table:
    return pa.table({"id": [1], "channel_id": ["c"], "chat_channel_id": [None], "cmd": [93006],
                     "event_type": ["notice"], "event_time": [_WHEN], "received_at": [_WHEN], "body": ["{}"],
                     "dedupe_key": ["e1"]}, schema=EVENTS.schema)


def _one_chat_row() -> pa.Table:
    row = {f.name: None for f in CHAT.schema} | {"id": 1, "channel_id": "c", "user_id": "u", "chat_time": _WHEN}
    return pa.Table.from_pylist([row], schema=CHAT.schema)


@pytest.mark.unit
def test_a_catalog_that_cannot_be_written_is_a_warning_not_a_failure(tmp_path, caplog):
    root = tmp_path / "lake"
    build_fixture_lake(root)
    (root / CATALOG).mkdir()  # a folder where the file goes: the rename fails
    with caplog.at_level(logging.WARNING, logger="warehouse.lake.catalog_file"):
        assert catalog_file.refresh(Lake(str(root))) is None
    assert "lake catalog not written" in caplog.text and "the next sync writes it again" in caplog.text
    assert not [p for p in root.iterdir() if p.name.startswith(".")]  # its temporary file removed
    (root / CATALOG).rmdir()
    (root / f".{CATALOG}.tmp-99999").write_bytes(b"half")  # a killed run's
    (root / f".{CATALOG}.tmp-99999.wal").write_bytes(b"half")
    assert catalog_file.refresh(Lake(str(root))) is not None
    assert sorted(p.name for p in root.iterdir() if p.is_file()) == [CATALOG, SCRIPT]


@pytest.mark.unit
def test_catalog_command_refuses_a_missing_lake(tmp_path, capsys):
    assert catalog_file.main([str(tmp_path / "nowhere")]) == 2
    assert "no lake at" in capsys.readouterr().err
    assert not (tmp_path / "nowhere").exists()
    assert catalog_file.main([]) == 2


@pytest.mark.integration
def test_a_sync_writes_the_catalog_and_a_dry_run_does_not(pg, tmp_path, monkeypatch):
    from warehouse.sync.export import sync

    insert(pg, history())
    root = tmp_path / "lake"
    sync(pg, str(root), dry_run=True)
    assert not (root / CATALOG).exists()
    sync(pg, str(root))
    monkeypatch.chdir(tmp_path)
    con = duckdb.connect(str(root / CATALOG), read_only=True)
    wh = warehouse.open(str(root))
    try:
        assert con.execute("SELECT count(*) FROM chat WHERE user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'").fetchone()[0] \
            == warehouse.activity(wh, every="day")["messages"].sum() > 0
        names = {n for (n,) in con.execute("SELECT view_name FROM duckdb_views() WHERE NOT internal").fetchall()}
        assert {"chat", "channels", "live_session", "capture_interval"} <= names
    finally:
        con.close()
        wh.close()


@pytest.mark.integration
def test_forget_user_rewrites_the_catalog_when_a_table_loses_its_last_file(pg, tmp_path):
    """The lake's only event names the user: forget-user removes its day file, and the
    view of events becomes an empty one (a view over no file would fail to open)."""
    from warehouse.sync.export import sync
    from warehouse.sync.privacy import forget_user

    insert(pg, history())
    when = datetime(2026, 9, 2, 10, tzinfo=KST)
    with pg.cursor() as cur:
        cur.execute("INSERT INTO events (channel_fk, cmd, event_type, event_time, received_at, body, dedupe_key)"
                    " VALUES (%s, 93006, 'DONATION', %s, %s, %s, 'ev-gone')",
                    (channels(pg)["a" * 32], when, when, json.dumps({"userIdHash": "gone-user"})))
    pg.commit()
    root = tmp_path / "lake"
    sync(pg, str(root))
    con = duckdb.connect(str(root / CATALOG), read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchone() == (1,)
    con.close()
    forget_user(pg, str(root), "gone-user")
    assert not Lake(str(root)).days(EVENTS)
    con = duckdb.connect(str(root / CATALOG), read_only=True)
    assert con.execute("SELECT count(*) FROM events").fetchone() == (0,)
    assert con.execute("SELECT count(*) FROM chat").fetchone()[0] > 0
    con.close()


@pytest.mark.integration
def test_an_s3_lake_gets_lake_sql_with_its_urls(s3_lake):  # noqa: F811 - fixture
    root = s3_lake[0]
    lake = Lake(root)
    lake.write(CHAT, _one_chat_row(), _DAY)
    report = catalog_file.write(lake)
    assert report.files == (SCRIPT,)
    assert catalog_file.write(lake).files == ()
    with lake.fs.open_input_stream(f"{lake.base}/{SCRIPT}") as f:
        text = f.read().decode()
    assert f"read_parquet('{root}/chat/day=*/*.parquet'" in text and "CREATE SECRET" in text
    assert lake.fs.get_file_info(f"{lake.base}/{CATALOG}").type == pafs.FileType.NotFound


@pytest.mark.unit
def test_the_duckdb_command_line_opens_the_catalog(drift, tmp_path):
    cli = shutil.which("duckdb")
    if cli is None:
        pytest.skip("the duckdb command line is not installed (the Python module's answers are checked above)")
    root, api = drift
    out = subprocess.run([cli, "-readonly", "-csv", "-noheader", str(root / CATALOG), "-c",
                          "SELECT count(*) FROM chat WHERE user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'"],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60, check=True)
    assert int(out.stdout.strip()) == sum(m for _, _, m, _ in api["activity"])
