"""Several day writers at once (warehouse/sync/workers.py), against a real PostgreSQL: the
same files as one writer, every worker in the sync's snapshot (a row committed after the
sync began is in no partition and in no high-water mark), and a failing day that stops the
others after their current day, leaves only whole partitions and no state."""
from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import datetime, timedelta
from pathlib import Path

import psycopg2
import pyarrow.parquet as pq
import pytest

from tests.pghistory import D1, D2, D3, KST, history, insert, lake_counts, part, pg_counts
from warehouse.lake.layout import Lake
from warehouse.sync import workers as sync_workers
from warehouse.sync.export import Progress, sync

pytestmark = pytest.mark.integration
ROOT = Path(__file__).resolve().parents[2]
DAYS = [D1, D2, D3]


def _files(root) -> dict:
    return {d: part(root, d).read_bytes() for d in DAYS}


def test_two_writers_write_the_same_files_as_one(pg, tmp_path, monkeypatch):
    insert(pg, history())
    monkeypatch.setenv("SYNC_WRITERS", "1")
    one = sync(pg, str(tmp_path / "one"), all_days=True)
    monkeypatch.setenv("SYNC_WRITERS", "3")
    threads = []
    real = Lake.write

    def write(self, table, data, day=None, **kw):  # which threads wrote the partitions
        threads.append(threading.current_thread().name)
        return real(self, table, data, day, **kw)

    monkeypatch.setattr(Lake, "write", write)
    three = sync(pg, str(tmp_path / "three"), all_days=True)
    assert {n for n in threads if n.startswith("wh-sync-")}, "the day partitions were written by the workers"
    assert [(d.day, d.rows) for d in three.days] == [(d.day, d.rows) for d in one.days]  # the days' order
    assert _files(tmp_path / "three") == _files(tmp_path / "one")
    assert three.state.max_id == one.state.max_id and three.state.days == one.state.days


def test_workers_read_the_syncs_snapshot(pg, pg_url, tmp_path, monkeypatch):
    """A row committed while the sync runs (after its snapshot, before the workers start)
    is written by none of them; the next sync writes it."""
    insert(pg, history())
    monkeypatch.setenv("SYNC_WRITERS", "2")
    late = datetime(2026, 9, 3, 12, 0, 30, tzinfo=KST)

    class InsertWhilePlanning(Progress):
        def planned(self, days):
            other = psycopg2.connect(pg_url)
            insert(other, [{"chat_time": late, "user_id": "late"}], old=False)
            other.close()

    before = pg_counts(pg)
    report = sync(pg, str(tmp_path), progress=InsertWhilePlanning())
    assert lake_counts(tmp_path) == before, "a worker saw a row committed after the sync's snapshot"
    assert "late" not in pq.read_table(part(tmp_path, D3)).column("user_id").to_pylist()
    nxt = sync(pg, str(tmp_path))
    assert [d.day for d in nxt.days] == [D3] and nxt.state.max_id > report.state.max_id
    assert lake_counts(tmp_path) == pg_counts(pg)


def test_a_failing_day_stops_the_workers_and_keeps_the_state(pg, tmp_path, monkeypatch):
    insert(pg, history())
    sync(pg, str(tmp_path))
    state = (tmp_path / "_sync" / "state.json").read_text()
    before = {d: pq.read_table(part(tmp_path, d)) for d in DAYS}
    insert(pg, [{"chat_time": datetime(2026, 9, d.day, 13, 0, tzinfo=KST) + timedelta(seconds=d.day),
                  "user_id": "new"} for d in DAYS], old=False)  # every day touched
    monkeypatch.setenv("SYNC_WRITERS", "2")
    real = Lake.write

    def write(self, table, data, day=None, **kw):
        if day == D2:
            raise OSError("disk full (simulated) on D2")
        return real(self, table, data, day, **kw)

    monkeypatch.setattr(Lake, "write", write)
    with pytest.raises(OSError, match="disk full"):
        sync(pg, str(tmp_path))
    monkeypatch.undo()
    assert (tmp_path / "_sync" / "state.json").read_text() == state, "the cursor moved after a failed day"
    assert pq.read_table(part(tmp_path, D2)).equals(before[D2])
    for d in DAYS:  # each partition is the old one or the new one, whole
        rows = pq.read_table(part(tmp_path, d)).num_rows
        assert rows in (before[d].num_rows, before[d].num_rows + 1)
    report = sync(pg, str(tmp_path))  # the next run completes the work
    assert D2 in [d.day for d in report.days]
    assert lake_counts(tmp_path) == pg_counts(pg)


def test_snapshot_connection_sees_the_snapshot_not_later_rows(pg, pg_url):
    insert(pg, history())
    pg.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ, readonly=True)
    try:
        with pg.cursor() as cur:
            cur.execute("SELECT count(*) FROM stream_chat")
            seen = cur.fetchone()[0]
        other = psycopg2.connect(pg_url)
        insert(other, [{"chat_time": datetime(2026, 9, 1, 12, tzinfo=KST), "user_id": "later"}], old=False)
        other.close()
        worker = sync_workers.snapshot_connection(pg)
        with worker.cursor() as cur:
            cur.execute("SELECT count(*) FROM stream_chat")
            assert cur.fetchone()[0] == seen
        worker.close()
    finally:
        pg.rollback()
        pg.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_DEFAULT, readonly=False)


@pytest.mark.parametrize(("given", "pool"), [(None, "system"), ("mimalloc", "mimalloc")])
def test_a_sync_process_takes_arrows_buffers_from_malloc(given, pool):
    """A process that imports the sync before pyarrow gets Arrow's default pool from malloc,
    the pool Parquet's column encoders take their buffers from (warehouse/sync/__init__.py);
    a pool the environment names is kept."""
    env = {k: v for k, v in os.environ.items() if k != "ARROW_DEFAULT_MEMORY_POOL"}
    if given:
        env["ARROW_DEFAULT_MEMORY_POOL"] = given
    code = "import warehouse.sync.export, pyarrow; print(pyarrow.default_memory_pool().backend_name)"
    out = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == [pool]
