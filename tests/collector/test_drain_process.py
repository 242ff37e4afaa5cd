"""`collector run --drain-process` (collector/drain_worker.py): the spool is parsed and
stored by a child process. A flood over loopback into a real PostgreSQL, the child killed
(SIGKILL) mid-flood: the batch it held stays in the spool, a new child takes over, and in
the end PostgreSQL holds exactly the lines the simulator sent (0 lost, 0 duplicated) and
the spool is empty."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from collector.sim.server import SimServer
from tests.collector_process import terminate
from tests.flood_helpers import state, stored_lines, truth_check
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
ROOT = Path(__file__).resolve().parents[2]
FLOOD_RATE = 2000


def _drain_children(pid: int) -> list[int]:
    """The collector's drain processes (multiprocessing's spawned children; not its resource tracker)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
                cmd = (d / "cmdline").read_bytes()
            except (OSError, ValueError):
                continue
            if ppid == pid and b"spawn_main" in cmd:
                out.append(int(d.name))
    return out


def test_a_killed_drain_process_loses_and_duplicates_nothing(pg_url, tmp_path):
    sim = SimServer(channels=10, rate=0.2, flood_rate=FLOOD_RATE, seed=21, ping_seconds=5)
    sim.start_in_thread(port=0)
    spool_dir, log_path = tmp_path / "spool", tmp_path / "collector.log"
    env = {**os.environ, **sim.env(), "DATABASE_URL": pg_url, "SPOOL_DIR": str(spool_dir), "FLUSH_SECONDS": "1",
           "FLUSH_MAX_EVENTS": "2000", "POLL_SECONDS": "2", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "collector", "run", "--drain-process"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))
    try:
        wait_for(lambda: (state(spool_dir, proc.pid) or {}).get("stored", 0) > FLOOD_RATE, 30, "a first store")
        (child,) = wait_for(lambda: _drain_children(proc.pid), 10, "the drain process")
        os.kill(child, signal.SIGKILL)
        stored = state(spool_dir, proc.pid)["stored"]
        wait_for(lambda: (c := _drain_children(proc.pid)) and c != [child], 30, "a new drain process")
        wait_for(lambda: state(spool_dir, proc.pid)["stored"] > stored + FLOOD_RATE, 30, "stores after the kill")
        sim.pause()
        wait_for(lambda: sim.health()["unsentBytes"] == 0, 20, "the simulator's last frames read")
        sent = sum(t["lines"] for t in sim.truth())
        wait_for(lambda: stored_lines(pg_url) >= sent, 60, "the spool drained")
        wait_for(lambda: state(spool_dir, proc.pid)["backlog_records"] == 0, 10, "an empty backlog")
    finally:
        terminate(proc, 60)
        code = proc.returncode
        sim.stop()
    log = log_path.read_text()
    assert code == 0, log[-3000:]
    assert len(re.findall(r"drain process \d+ started", log)) >= 2, "a second drain process was started"
    # the kill lands in a flush (which fails: its entries stay in the spool and are stored
    # again) or between two (the next batch finds the process gone): the log says which
    assert ("flush failed" in log and "drain process ended" in log) or "between batches; starting another" in log, \
        "the parent should say how it learned the drain process was gone"
    assert _drain_children(proc.pid) == []
    check = truth_check(pg_url, sim)
    assert check["exact"] and check["lost"] == 0 and check["extra"] == 0, check
    assert list(spool_dir.glob("*.jsonl")) == [], "the spool should be drained"
