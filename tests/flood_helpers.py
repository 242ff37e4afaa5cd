"""Helpers of the end-to-end flood tests: a real `python -m collector run` against the
simulator's flood mode, its state file, and PostgreSQL's side of the simulator's truth."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import psycopg2

from collector.sim.flood import TRUTH_SQL, compare
from collector.sim.server import SimServer

ROOT = Path(__file__).resolve().parent.parent


def start_collector(pg_url: str, sim: SimServer, spool_dir: Path, log_path: Path, **env: str) -> subprocess.Popen:
    """The collector as a user runs it, logging to ``log_path``, flushing every second."""
    full = {**os.environ, **sim.env(), "DATABASE_URL": pg_url, "SPOOL_DIR": str(spool_dir), "FLUSH_SECONDS": "1",
            "FLUSH_MAX_EVENTS": "2000", "POLL_SECONDS": "2", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1", **env}
    return subprocess.Popen([sys.executable, "-m", "collector", "run"], cwd=ROOT, env=full,
                            stdout=subprocess.DEVNULL, stderr=open(log_path, "w"))


def state(spool_dir: Path, pid: int) -> dict | None:
    """The running collector's state file (collector/metrics.py), or None before the first."""
    try:
        return json.loads((spool_dir / f"collector-{pid}.state.json").read_text())
    except (FileNotFoundError, ValueError):
        return None


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def stored_lines(pg_url: str) -> int:
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM stream_chat")
        return cur.fetchone()[0]


def truth_check(pg_url: str, sim: SimServer) -> dict:
    """``collector.sim.flood.compare`` of the simulator's truth and PostgreSQL's rows."""
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute(TRUTH_SQL)
        return compare(sim.truth(), cur.fetchall())
