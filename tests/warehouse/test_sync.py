"""The sync against a real PostgreSQL: day boundaries in Asia/Seoul, idempotent reruns,
incremental days, blinds, a crash between write and rename, and the CLI."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg2.extras
import pyarrow.parquet as pq
import pytest

from tests.metrics_helpers import samples, value
from tests.pghistory import (
    AT_MIDNIGHT,
    BEFORE_MIDNIGHT,
    CHANNELS,
    D1,
    D2,
    D3,
    KST,
    channels,
    history,
    insert,
    lake_counts,
    part,
    pg_counts,
)
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT, CHAT_SCHEMA
from warehouse.sync import extract
from warehouse.sync.export import day_bounds, sync
from warehouse.sync.lock import LOCK_ID

ROOT = Path(__file__).resolve().parents[2]


def test_day_bounds_are_local_days():
    assert day_bounds(D2, "Asia/Seoul") == (datetime(2026, 9, 1, 15, tzinfo=UTC), datetime(2026, 9, 2, 15, tzinfo=UTC))
    assert day_bounds(D2, "UTC") == (datetime(2026, 9, 2, tzinfo=UTC), datetime(2026, 9, 3, tzinfo=UTC))


@pytest.mark.unit
def test_to_batch_builds_typed_columns():
    row = tuple(1 if f.type == "int64" else None for f in CHAT_SCHEMA)
    batch = extract.to_batch([row, row], CHAT_SCHEMA)
    assert batch.num_rows == 2 and batch.schema == CHAT_SCHEMA
    assert extract.to_batch([], CHAT_SCHEMA).num_rows == 0


@pytest.mark.integration
def test_round_trip_counts_days_in_seoul_and_layout(pg, tmp_path):
    insert(pg, history())
    report = sync(pg, str(tmp_path))
    assert [d.day for d in report.days] == [D1, D2, D3]
    assert lake_counts(tmp_path) == pg_counts(pg)
    assert report.rows == sum(pg_counts(pg).values())

    d1 = pq.read_table(part(tmp_path, D1))
    d2 = pq.read_table(part(tmp_path, D2))
    assert "자정 직전" in d1.column("message").to_pylist()
    assert "자정" in d2.column("message").to_pylist() and "자정" not in d1.column("message").to_pylist()
    # the file carries exactly the contract's columns (no `day`), zstd, sorted
    assert d1.schema.names == CHAT_SCHEMA.names and "day" not in d1.schema.names
    assert d1.schema.field("chat_time").type == CHAT_SCHEMA.field("chat_time").type
    meta = pq.ParquetFile(part(tmp_path, D1)).metadata.row_group(0)
    columns = {meta.column(i).path_in_schema: meta.column(i) for i in range(meta.num_columns)}
    assert {c.compression for c in columns.values()} == {"ZSTD"}
    # unique columns carry no dictionary (lake.NO_DICTIONARY), repeating ones do
    assert not {"RLE_DICTIONARY", "PLAIN_DICTIONARY"} & set(columns["raw"].encodings + columns["id"].encodings)
    assert "RLE_DICTIONARY" in columns["user_id"].encodings and "RLE_DICTIONARY" in columns["channel_id"].encodings
    # raw carries no min/max (lake.NO_STATISTICS: its kilobyte values bloated every footer); the keys do
    assert not columns["raw"].is_stats_set and columns["channel_id"].statistics.has_min_max
    keys = list(zip(d1.column("channel_id").to_pylist(), d1.column("chat_time").to_pylist(),
                    d1.column("id").to_pylist(), strict=True))
    assert keys == sorted(keys)
    assert set(d1.column("channel_name").to_pylist()) == {"침착맨", "풍월량"}
    assert json.loads(d1.column("badges")[0].as_py()) == [{"badge": "x"}]
    assert json.loads(d1.column("raw")[0].as_py())["msg"]

    state = json.loads((tmp_path / "_sync" / "state.json").read_text())
    assert state["days"] == {d.isoformat(): n for d, n in pg_counts(pg).items()}
    channels = pq.read_table(tmp_path / "channels" / "part-0.parquet").to_pylist()
    assert {c["channel_id"]: c["channel_name"] for c in channels} == CHANNELS


@pytest.mark.integration
def test_rerun_gives_the_same_rows(pg, tmp_path):
    insert(pg, history())
    sync(pg, str(tmp_path))
    before = {d: pq.read_table(part(tmp_path, d)) for d in (D1, D2, D3)}
    report = sync(pg, str(tmp_path), all_days=True)
    assert [d.day for d in report.days] == [D1, D2, D3]
    for d in (D1, D2, D3):
        assert pq.read_table(part(tmp_path, d)).equals(before[d])


@pytest.mark.integration
def test_late_row_rewrites_only_its_day(pg, tmp_path):
    insert(pg, history())
    sync(pg, str(tmp_path))
    mtimes = {d: part(tmp_path, d).stat().st_mtime_ns for d in (D1, D2, D3)}
    assert sync(pg, str(tmp_path)).days == []  # nothing new: nothing rewritten

    insert(pg, [{"chat_time": datetime(2026, 9, 1, 12, 0, tzinfo=KST), "user_id": "late"}], old=False)
    report = sync(pg, str(tmp_path))
    assert [d.day for d in report.days] == [D1]
    assert part(tmp_path, D1).stat().st_mtime_ns != mtimes[D1]
    assert part(tmp_path, D2).stat().st_mtime_ns == mtimes[D2]
    assert part(tmp_path, D3).stat().st_mtime_ns == mtimes[D3]
    assert lake_counts(tmp_path) == pg_counts(pg)


@pytest.mark.integration
def test_blind_shows_after_next_sync(pg, tmp_path):
    insert(pg, history())
    sync(pg, str(tmp_path))
    with pg.cursor() as cur:
        cur.execute("UPDATE stream_chat SET message_status = 'BLIND', blind_type = 'BLIND', blinded_at = now()"
                    " WHERE message = %s RETURNING id", ("메시지 2-3",))
        (blinded_id,) = cur.fetchone()
    pg.commit()
    report = sync(pg, str(tmp_path))
    assert [d.day for d in report.days] == [D3]
    rows = {r["id"]: r for r in pq.read_table(part(tmp_path, D3)).to_pylist()}
    assert rows[blinded_id]["message_status"] == "BLIND"
    assert rows[blinded_id]["blinded_at"] is not None


@pytest.mark.integration
def test_crash_between_write_and_rename_keeps_previous_partition(pg, tmp_path, monkeypatch):
    insert(pg, history())
    sync(pg, str(tmp_path))
    before = pq.read_table(part(tmp_path, D2))
    state_before = (tmp_path / "_sync" / "state.json").read_text()
    insert(pg, [{"chat_time": datetime(2026, 9, 2, 13, 0, tzinfo=KST), "user_id": "new"}], old=False)

    def crash(self, tmp, final):
        raise OSError("simulated crash before rename")

    monkeypatch.setattr(Lake, "_replace", crash)
    with pytest.raises(OSError, match="simulated crash"):
        sync(pg, str(tmp_path))
    monkeypatch.undo()
    leftovers = list(part(tmp_path, D2).parent.glob(".part-0.parquet.tmp-*"))
    assert leftovers, "the crashed run leaves its temporary file, like a killed process would"
    assert pq.read_table(part(tmp_path, D2)).equals(before)
    assert (tmp_path / "_sync" / "state.json").read_text() == state_before
    assert lake_counts(tmp_path)[D2] == before.num_rows  # readers ignore the temporary file

    report = sync(pg, str(tmp_path))
    assert [d.day for d in report.days] == [D2]
    assert not list(part(tmp_path, D2).parent.glob(".part-0.parquet.tmp-*"))
    assert lake_counts(tmp_path) == pg_counts(pg)


@pytest.mark.integration
def test_day_option_and_empty_day_removes_partition(pg, tmp_path):
    insert(pg, history())
    report = sync(pg, str(tmp_path), days=[D2])
    assert [d.day for d in report.days] == [D2]
    assert Lake(str(tmp_path)).days(CHAT) == [D2]
    # explicit days leave the cursor alone: the next default run still exports the rest
    assert [d.day for d in sync(pg, str(tmp_path)).days] == [D1, D2, D3]
    with pg.cursor() as cur:
        cur.execute("DELETE FROM stream_chat WHERE (chat_time AT TIME ZONE 'Asia/Seoul')::date = %s", (D2,))
    pg.commit()
    sync(pg, str(tmp_path), days=[D2])
    assert Lake(str(tmp_path)).days(CHAT) == [D1, D3]


@pytest.mark.integration
def test_cli_sync_all(pg_url, pg, tmp_path):
    insert(pg, history())
    prom = tmp_path / "sync.prom"  # SYNC_METRICS_FILE: rewritten at the end of every sync, success or failure
    env = {**os.environ, "DATABASE_URL": pg_url, "WAREHOUSE_DIR": str(tmp_path / "lake"), "LOG_LEVEL": "INFO",
           "SYNC_METRICS_FILE": str(prom)}
    t0 = time.time()
    proc = subprocess.run([sys.executable, "-m", "warehouse", "sync", "--all"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "synced 3 day(s)" in proc.stderr
    assert lake_counts(tmp_path / "lake") == pg_counts(pg)
    bad = subprocess.run([sys.executable, "-m", "warehouse", "sync", "--day", "2026-13-01"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "is not a day" in bad.stderr

    ok = samples(prom.read_text())  # prometheus-client's own parser
    last_success = value(ok, "chzzk_sync_last_success_timestamp_seconds")
    assert t0 <= last_success <= time.time() and value(ok, "chzzk_sync_last_run_success") == 1
    assert (value(ok, "chzzk_sync_runs_total", result="success"), value(ok, "chzzk_sync_runs_total",
                                                                         result="failure")) == (1, 0)
    assert value(ok, "chzzk_sync_table_rows", table="chat") == sum(pg_counts(pg).values())
    assert value(ok, "chzzk_sync_table_partitions", table="chat") == 3
    assert value(ok, "chzzk_sync_table_bytes", table="chat") == sum(
        f.stat().st_size for f in (tmp_path / "lake" / "chat").rglob("*.parquet"))
    assert value(ok, "chzzk_sync_table_seconds", table="chat") > 0
    assert value(ok, "chzzk_sync_table_rows", table="channels") == len(CHANNELS)
    assert value(ok, "chzzk_sync_table_bytes", table="channels") == sum(  # a small table: one file
        f.stat().st_size for f in (tmp_path / "lake" / "channels").rglob("*.parquet")) > 0
    assert value(ok, "chzzk_sync_last_run_duration_seconds") > 0
    assert not any(p.name.endswith(".tmp") for p in tmp_path.iterdir()), "the textfile is written atomically"

    down = subprocess.run([sys.executable, "-m", "warehouse", "sync"], cwd=ROOT, capture_output=True, text=True,
                          env={**env, "DATABASE_URL": "postgresql://postgres@127.0.0.1:1/x"}, timeout=60)
    assert down.returncode == 1, down.stderr
    failed = samples(prom.read_text())
    assert (value(failed, "chzzk_sync_runs_total", result="success"), value(failed, "chzzk_sync_runs_total",
                                                                             result="failure")) == (1, 1)
    assert value(failed, "chzzk_sync_last_run_success") == 0
    assert value(failed, "chzzk_sync_last_failure_timestamp_seconds") >= last_success
    assert value(failed, "chzzk_sync_last_success_timestamp_seconds") == last_success, "a failure keeps it"
    assert value(failed, "chzzk_sync_table_rows", table="chat") == value(ok, "chzzk_sync_table_rows", table="chat")


@pytest.mark.unit
def test_schedule_runs_at_the_configured_hour(monkeypatch):
    from warehouse.sync import schedule

    monkeypatch.setenv("SYNC_HOUR", "5")
    monkeypatch.setenv("SYNC_MINUTE", "30")
    job = schedule.build_scheduler().get_job(schedule.JOB_ID)
    fields = {f.name: str(f) for f in job.trigger.fields}
    assert (fields["hour"], fields["minute"]) == ("5", "30")
    assert str(job.trigger.timezone) == "Asia/Seoul"
    assert job.max_instances == 1 and job.coalesce is True


@pytest.mark.integration
def test_a_scheduled_sync_records_its_metrics(pg_url, pg, tmp_path, monkeypatch):
    from warehouse.sync import schedule

    prom = tmp_path / "sync.prom"
    monkeypatch.setenv("SYNC_METRICS_FILE", str(prom))
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("DATABASE_URL", pg_url)
    insert(pg, history())
    schedule.sync_job()
    ok = samples(prom.read_text())
    assert value(ok, "chzzk_sync_runs_total", result="success") == 1
    assert value(ok, "chzzk_sync_table_rows", table="chat") == sum(pg_counts(pg).values())
    holder = psycopg2.connect(pg_url)  # another sync holds the lock: counted as locked, not as a failure
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        schedule.sync_job()
    finally:
        holder.close()
    busy = samples(prom.read_text())
    assert [value(busy, "chzzk_sync_runs_total", result=r) for r in ("success", "failure", "locked")] == [1, 0, 1]
    assert value(busy, "chzzk_sync_last_run_success") == 1
    monkeypatch.setenv("DATABASE_URL", "postgresql://postgres@127.0.0.1:1/x")
    schedule.sync_job()  # logged; the scheduler waits for the next night
    failed = samples(prom.read_text())
    assert value(failed, "chzzk_sync_runs_total", result="failure") == 1
    assert value(failed, "chzzk_sync_last_run_success") == 0


def _tree(root) -> dict[str, int]:
    return {str(p.relative_to(root)): p.stat().st_mtime_ns for p in Path(root).rglob("*") if p.is_file()}


@pytest.mark.integration
def test_deleted_rows_rewrite_their_day(pg, tmp_path):
    insert(pg, history())
    sync(pg, str(tmp_path))
    with pg.cursor() as cur:
        cur.execute("DELETE FROM stream_chat WHERE message = %s", ("메시지 1-4",))
        cur.execute("SELECT count(*) FROM stream_chat_tombstone")
        assert cur.fetchone()[0] == 1
    pg.commit()
    report = sync(pg, str(tmp_path))
    assert [d.day for d in report.days] == [D2]
    assert "메시지 1-4" not in pq.read_table(part(tmp_path, D2)).column("message").to_pylist()
    assert lake_counts(tmp_path) == pg_counts(pg)


@pytest.mark.integration
def test_edit_without_blinded_at_is_found_by_updated_at(pg, tmp_path):
    insert(pg, history())
    sync(pg, str(tmp_path))
    with pg.cursor() as cur:
        cur.execute("UPDATE stream_chat SET message_status = 'HIDDEN' WHERE message = %s", ("메시지 0-2",))
    pg.commit()
    report = sync(pg, str(tmp_path))
    assert [d.day for d in report.days] == [D1]
    rows = pq.read_table(part(tmp_path, D1)).to_pylist()
    assert [r["message_status"] for r in rows if r["message"] == "메시지 0-2"] == ["HIDDEN"]


@pytest.mark.integration
def test_dry_run_lists_days_and_writes_nothing(pg, tmp_path, caplog):
    insert(pg, history())
    caplog.set_level("INFO", logger="warehouse.sync.export")
    report = sync(pg, str(tmp_path), dry_run=True)
    assert report.planned["chat"] == [D1, D2, D3] and report.parts == []
    assert not tmp_path.exists() or _tree(tmp_path) == {}
    assert "would sync chat: 3 day(s) to write: 2026-09-01, 2026-09-02, 2026-09-03" in caplog.text

    sync(pg, str(tmp_path))
    insert(pg, [{"chat_time": datetime(2026, 9, 3, 12, 0, tzinfo=KST), "user_id": "late"}], old=False)
    before = _tree(tmp_path)
    assert sync(pg, str(tmp_path), dry_run=True).planned["chat"] == [D3]
    assert _tree(tmp_path) == before, "a dry run touches no file, not even state.json"
    assert [d.day for d in sync(pg, str(tmp_path)).days] == [D3], "and the real run still has the work"


@pytest.mark.integration
def test_cli_dry_run(pg_url, pg, tmp_path):
    insert(pg, history())
    env = {**os.environ, "DATABASE_URL": pg_url, "WAREHOUSE_DIR": str(tmp_path / "lake"), "LOG_LEVEL": "INFO"}
    proc = subprocess.run([sys.executable, "-m", "warehouse", "sync", "--dry-run"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "would sync chat: 3 day(s)" in proc.stderr and "nothing written" in proc.stderr
    assert not (tmp_path / "lake").exists()


@pytest.mark.integration
def test_events_and_small_tables_are_exported(pg, tmp_path):
    insert(pg, history())
    fks = channels(pg)
    with pg.cursor() as cur:
        cur.execute("INSERT INTO events (channel_fk, cmd, event_type, event_time, received_at, body, dedupe_key)"
                    " VALUES (%s, 93006, 'DONATION_MISSION', %s, %s, %s, 'e1'),"
                    "        (%s, 94010, 'NOTICE', NULL, %s, %s, 'e2')",
                    (fks["a" * 32], AT_MIDNIGHT, AT_MIDNIGHT + timedelta(seconds=1), json.dumps({"t": "미션"}),
                     fks["b" * 32], BEFORE_MIDNIGHT, json.dumps({"n": 1})))
        has_sessions = extract.exists(pg, "live_session")
        if has_sessions:
            cur.execute("INSERT INTO live_session (channel_fk, chat_channel_id, live_title) VALUES (%s, 'cc', '방송')",
                        (fks["a" * 32],))
    pg.commit()
    report = sync(pg, str(tmp_path))
    events = [d for d in report.parts if d.table == "events"]
    assert {(d.day, d.rows) for d in events} == {(D2, 1), (D1, 1)}  # event_time, else received_at
    e = pq.read_table(tmp_path / "events" / f"day={D2.isoformat()}" / "part-0.parquet").to_pylist()
    assert e[0]["channel_id"] == "a" * 32 and json.loads(e[0]["body"]) == {"t": "미션"}
    assert sync(pg, str(tmp_path)).parts == [], "events are incremental too"
    if has_sessions:
        sessions = pq.read_table(tmp_path / "live_session" / "part-0.parquet").to_pylist()
        assert [(s["live_title"], s["channel_id"]) for s in sessions] == [("방송", "a" * 32)]
        assert report.tables["live_session"] == 1 and "capture_interval" in report.tables


@pytest.mark.integration
def test_a_table_missing_in_postgres_is_skipped(pg, tmp_path, caplog):
    insert(pg, history()[:3])
    with pg.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS capture_interval CASCADE")
    pg.commit()
    caplog.set_level("INFO", logger="warehouse.sync.export")
    report = sync(pg, str(tmp_path))
    assert "capture_interval" in report.skipped and "capture_interval" not in report.tables
    assert "table capture_interval does not exist in PostgreSQL: skipped" in caplog.text
    assert not (tmp_path / "capture_interval").exists()


@pytest.mark.integration
def test_lock_keeps_two_syncs_apart(pg_url, pg, tmp_path, caplog):
    from warehouse.sync import schedule
    from warehouse.sync.lock import LOCK_ID

    insert(pg, history()[:3])
    other = psycopg2.connect(pg_url)
    try:
        with other.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))  # a sync running elsewhere
        with pytest.raises(RuntimeError, match="another warehouse sync"):
            sync(pg, str(tmp_path))
        assert not (tmp_path / "_sync").exists()
        # the scheduled job logs it and carries on; the next night retries the same days
        os.environ["WAREHOUSE_DIR"] = str(tmp_path)
        try:
            caplog.set_level("ERROR", logger="warehouse.sync.schedule")
            schedule.sync_job()
        finally:
            del os.environ["WAREHOUSE_DIR"]
        assert "scheduled warehouse sync failed" in caplog.text
        assert sync(pg, str(tmp_path), dry_run=True).planned["chat"], "a dry run needs no lock"
    finally:
        other.close()
    # the other backend releases its lock when it has exited, a moment after close()
    deadline = time.monotonic() + 10
    while True:
        with pg.cursor() as cur:
            cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND objid = %s", (LOCK_ID,))
            held = cur.fetchone()[0]
        pg.rollback()
        if not held or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert [d.day for d in sync(pg, str(tmp_path)).days] == [D1, D2]


@pytest.mark.unit
def test_readme_cron_line_runs_the_sync():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert "0 4 * * * cd /srv/chzzk && .venv/bin/python -m warehouse sync" in readme
    assert "CRON_TZ=Asia/Seoul" in readme
