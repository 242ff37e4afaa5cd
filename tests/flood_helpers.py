"""Helpers of the end-to-end flood tests: a real `python -m collector run` against the
simulator's flood mode, its state file, and PostgreSQL's side of the simulator's truth."""
from __future__ import annotations

import json
import subprocess
from pathlib import Path

import psycopg2

from collector.sim.flood import TRUTH_SQL, compare
from collector.sim.server import SimServer
from tests import collector_process

ROOT = Path(__file__).resolve().parent.parent


def start_collector(pg_url: str, sim: SimServer, spool_dir: Path, log_path: Path, **env: str) -> subprocess.Popen:
    """The collector as a user runs it, logging to ``log_path``, flushing every second."""
    return collector_process.start_collector(pg_url, sim, spool_dir=spool_dir, log_path=log_path, flush_seconds=1,
                                             flush_max=2000, stdout_to_log=False, **env)


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
