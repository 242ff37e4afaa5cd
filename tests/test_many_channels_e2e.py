"""One collector process over 500 channels (50 live, 450 offline) against the simulator:
every channel's state is recorded, every live one is joined and stored exactly once, and
the process stays small (threads grow with live channels, not with channels)."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import psycopg2
import pytest

from collector.protocol import parse_frame
from collector.sim.server import SimServer
from tests.conftest import DATA

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
ROOT = DATA.parent.parent
CHANNELS, OFFLINE = 500, 450
LIVE = CHANNELS - OFFLINE


def _proc_status(pid: int) -> dict[str, int]:
    """Threads and VmRSS (kB) of a running process, from /proc."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Threads", "VmRSS"):
                out[key] = int(value.split()[0])
    return out


def test_one_process_collects_500_channels(pg_url, tmp_path):
    sim = SimServer(channels=CHANNELS, seed=3, rate=0.5, offline=OFFLINE, ping_seconds=10.0,
                    truth_path=str(tmp_path / "truth.jsonl"))
    sim.start_in_thread(port=0)
    env = {**os.environ, **sim.env(), "DATABASE_URL": pg_url, "POLL_SECONDS": "10",
           "FLUSH_SECONDS": "2", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "collector", "run", "--duration", "45s"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    peak = {"Threads": 0, "VmRSS": 0}
    try:
        deadline = time.monotonic() + 45
        while proc.poll() is None and time.monotonic() < deadline:
            try:
                for key, value in _proc_status(proc.pid).items():
                    peak[key] = max(peak[key], value)
            except FileNotFoundError:
                break
            time.sleep(1)
        _, err = proc.communicate(timeout=90)
    finally:
        proc.kill()
        sim.stop()
    assert proc.returncode == 0, err[-3000:]

    truth = []
    with open(tmp_path / "truth.jsonl", encoding="utf-8") as f:
        for line in f:
            (rec,) = parse_frame(line)
            truth.append(rec["dedupe_key"])
    conn = psycopg2.connect(pg_url)
    with conn.cursor() as cur:
        cur.execute("SELECT live_state, count(*) FROM stream_channel GROUP BY 1")
        states = dict(cur.fetchall())
        cur.execute("SELECT count(DISTINCT channel_fk) FROM capture_interval")
        captured = cur.fetchone()[0]
        cur.execute("SELECT dedupe_key FROM stream_chat")
        keys = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT count(DISTINCT channel_fk) FROM stream_chat")
        chatting = cur.fetchone()[0]
    conn.close()

    assert states == {"live": LIVE, "offline": OFFLINE}, states
    assert captured == LIVE and chatting == LIVE
    assert len(truth) > LIVE * 5
    assert sorted(keys) == sorted(truth), "every line sent is stored exactly once"
    # sockets only for live channels: threads stay far below one per channel
    assert 0 < peak["Threads"] < LIVE + 60, peak
    assert peak["VmRSS"] < 400 * 1024, peak
    print(f"500 channels: peak {peak['Threads']} threads, {peak['VmRSS'] // 1024} MiB RSS, "
          f"{len(keys)} lines")
