"""A short flood end to end: the simulator's flood mode (one channel at 3,000 lines/s beside
50 quiet ones) over loopback, a real `python -m collector run`, a real PostgreSQL that goes
away for a few seconds mid-flood (connections refused, the collector's sessions cut):
- while it is away the spool grows on disk, the collector's memory does not grow with it,
  and `collector status` shows the backlog and its age;
- once it is back the backlog drains, and in the end PostgreSQL holds exactly the lines the
  simulator sent (count and identity digest per chat channel: 0 lost, 0 duplicated) and
  the spool is empty."""
from __future__ import annotations

import argparse
import json
import time

import psycopg2
import pytest

from collector import status
from collector.sim.server import SimServer
from tests.collector_process import terminate
from tests.flood_helpers import rss_kb, start_collector, state, stored_lines, truth_check
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
FLOOD_RATE = 3000
QUIET = 50


def _db_name(url: str) -> str:
    return url.split("?", 1)[0].rsplit("/", 1)[1]


def _refuse_connections(admin, name: str, refuse: bool) -> None:
    """The database refuses new connections and its sessions are cut (an outage for this
    database alone; the test server's other databases are not touched)."""
    with admin.cursor() as cur:
        cur.execute(f'ALTER DATABASE "{name}" WITH ALLOW_CONNECTIONS {"false" if refuse else "true"}')
        if refuse:
            cur.execute("SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s "
                        "AND pid <> pg_backend_pid()", (name,))


def test_flood_through_a_database_outage_is_stored_exactly_once(pg_url, pg_server_url, tmp_path, capsys):
    sim = SimServer(channels=QUIET, rate=0.2, flood_rate=FLOOD_RATE, seed=13, ping_seconds=5)
    sim.start_in_thread(port=0)
    spool_dir = tmp_path / "spool"  # the pg_url fixture's SPOOL_DIR: `status` below reads it
    admin = psycopg2.connect(pg_server_url)
    admin.autocommit = True
    proc = start_collector(pg_url, sim, spool_dir, tmp_path / "collector.log",
                           COLLECTOR_METRICS_FILE=str(tmp_path / "collector.prom"))
    try:
        wait_for(lambda: sim.health()["floodLines"] > 0, 20, "the collector joining the flood channel")
        wait_for(lambda: (state(spool_dir, proc.pid) or {}).get("stored", 0) > FLOOD_RATE, 15, "a first store")

        _refuse_connections(admin, _db_name(pg_url), True)
        t_down = time.monotonic()
        time.sleep(2.5)  # a flush in flight when the sessions were cut ends
        before = state(spool_dir, proc.pid)
        rss_before = rss_kb(proc.pid)
        time.sleep(4)
        during = state(spool_dir, proc.pid)
        rss_during = rss_kb(proc.pid)
        grown = during["backlog_bytes"] - before["backlog_bytes"]
        assert during["backlog_records"] > before["backlog_records"] + 2 * FLOOD_RATE, (before, during)
        assert during["backlog_age_seconds"] >= 4, during
        assert during["last_error"], "the failed stores are visible"
        assert (rss_during - rss_before) * 1024 < grown / 2, \
            f"memory grew {rss_during - rss_before} kB while the spool grew {grown} bytes"
        assert status.run(argparse.Namespace(json=True, all=False)) == 1  # the database is away ...
        (shown,) = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
        assert shown["kind"] == "spool" and shown["backlog_records"] >= during["backlog_records"]  # ... the backlog shows
        assert shown["backlog_age_seconds"] >= 4
        assert "chzzk_collector_spool_backlog_records " in (tmp_path / "collector.prom").read_text()

        _refuse_connections(admin, _db_name(pg_url), False)
        outage = time.monotonic() - t_down
        time.sleep(2)  # the flood goes on after the outage
        sim.pause()
        wait_for(lambda: sim.health()["unsentBytes"] == 0, 20, "the simulator's last frames read")
        sent = sum(t["lines"] for t in sim.truth())
        wait_for(lambda: stored_lines(pg_url) >= sent, 60, "the backlog drained")
        after = wait_for(lambda: (s := state(spool_dir, proc.pid)) and s["backlog_records"] == 0 and s, 10,
                         "the state file showing an empty backlog")
        assert after["backlog_age_seconds"] is None and after["last_error"] is None
    finally:
        terminate(proc, 60)
        code = proc.returncode
        sim.stop()
        admin.close()
    log = (tmp_path / "collector.log").read_text()
    assert code == 0, log[-3000:]
    assert "flush failed" in log, "stores failed during the outage"
    check = truth_check(pg_url, sim)
    assert check["exact"] and check["lost"] == 0 and check["extra"] == 0, check
    assert check["channels"] > 1 and check["sent"] > FLOOD_RATE * outage
    assert list(spool_dir.glob("*.jsonl")) == [], "the spool should be drained"
