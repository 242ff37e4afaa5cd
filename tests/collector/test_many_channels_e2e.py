"""One collector process over 500 channels (50 live, 450 offline) against the simulator:
every channel's state and name are recorded, every live one is joined and stored exactly
once, and the process stays small (threads grow with live channels, not with channels).

The run ends (SIGTERM, the same clean stop as the end of ``--duration``) as soon as the
database shows all of that, instead of after a fixed duration; LEASE_SECONDS 12 renews the
500 leases every 4 s, so a renewal still happens while the sockets run."""
from __future__ import annotations

import dataclasses
import os
import random
import subprocess
import sys
import threading

import psycopg2
import pytest

from collector.protocol import parse_frame
from collector.sim.population import chat_channel_id, hex32, make_channels
from collector.sim.server import SimServer
from tests.collector_process import terminate
from tests.conftest import DATA
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
ROOT = DATA.parent.parent
CHANNELS, OFFLINE = 500, 450
LIVE = CHANNELS - OFFLINE
SEED = 3


def _channels() -> list:
    """The 50 live channels as ``make_channels`` makes them, then 450 offline ones with ids,
    names and chat channels of their own that borrow the people of the first four: an
    offline channel airs no chat, and ``make_channels(500)`` spends ~30 s building the
    ~800,000 viewers of 450 silent channels (collector/sim/population.py)."""
    live = make_channels(LIVE, SEED)
    rng = random.Random(f"{SEED}:offline")
    taken = {c.chat_channel_id for c in live}
    offline = [dataclasses.replace(live[i % 4], channel_id=hex32(rng), channel_name=f"{live[i % 4].channel_name} {i}",
                                   chat_channel_id=chat_channel_id(rng, taken)) for i in range(OFFLINE)]
    return live + offline


def _proc_status(pid: int) -> dict[str, int]:
    """Threads and VmRSS (kB) of a running process, from /proc."""
    out = {}
    with open(f"/proc/{pid}/status", encoding="ascii") as f:
        for line in f:
            key, _, value = line.partition(":")
            if key in ("Threads", "VmRSS"):
                out[key] = int(value.split()[0])
    return out


def _watch(pid: int, peak: dict[str, int], done: threading.Event) -> None:
    while not done.wait(0.2):
        try:
            for key, value in _proc_status(pid).items():
                peak[key] = max(peak[key], value)
        except (FileNotFoundError, ProcessLookupError):
            return


def _db_state(url: str) -> dict:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT live_state, count(*) FROM stream_channel GROUP BY 1")
            states = dict(cur.fetchall())
            cur.execute("SELECT count(*) FROM stream_channel WHERE info_refreshed_at IS NOT NULL")
            named = cur.fetchone()[0]
            cur.execute("SELECT count(DISTINCT channel_fk) FROM capture_interval")
            captured = cur.fetchone()[0]
            cur.execute("SELECT count(DISTINCT channel_fk) FROM stream_chat")
            chatting = cur.fetchone()[0]
            cur.execute("SELECT count(*) FILTER (WHERE renewed_at > acquired_at) FROM channel_lease")
            renewed = cur.fetchone()[0]
    finally:
        conn.close()
    return {"states": states, "named": named, "captured": captured, "chatting": chatting, "renewed": renewed}


def _truth_keys(path) -> list[str]:
    keys = []
    with open(path, encoding="utf-8") as f:
        for line in f:
            (rec,) = parse_frame(line)
            keys.append(rec["dedupe_key"])
    return keys


def test_one_process_collects_500_channels(pg_url, tmp_path):
    sim = SimServer(channels=_channels(), seed=SEED, rate=1.0, offline=OFFLINE, ping_seconds=10.0,
                    truth_path=str(tmp_path / "truth.jsonl"))
    sim.start_in_thread(port=0)
    env = {**os.environ, **sim.env(), "DATABASE_URL": pg_url, "POLL_SECONDS": "5", "LEASE_SECONDS": "12",
           "FLUSH_SECONDS": "1", "PYTHONUNBUFFERED": "1"}
    proc = subprocess.Popen([sys.executable, "-m", "collector", "run", "--duration", "150s"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    err: list[str] = []
    reader = threading.Thread(target=lambda: err.extend(proc.stderr), daemon=True)
    reader.start()
    peak, done = {"Threads": 0, "VmRSS": 0}, threading.Event()
    watcher = threading.Thread(target=_watch, args=(proc.pid, peak, done), daemon=True)
    watcher.start()
    want = {"states": {"live": LIVE, "offline": OFFLINE}, "named": CHANNELS, "captured": LIVE, "chatting": LIVE,
            "renewed": CHANNELS}

    def ready():
        if proc.poll() is not None:
            return {"exited": proc.returncode}
        state = _db_state(pg_url)
        return state if state == want and sim.truth_count > LIVE * 5 else None

    try:
        seen = wait_for(ready, 120, "every channel recorded, every live one stored, every lease renewed and "
                        "250+ lines sent", every=0.5)
        assert "exited" not in seen, f"the collector stopped early: {''.join(err)[-3000:]}"
        terminate(proc, 90)  # the clean stop: clients closed, final flush, leases released
    finally:
        done.set()
        proc.kill()
        sim.stop()
        reader.join(10)
        watcher.join(5)
    assert proc.returncode == 0, "".join(err)[-3000:]

    truth = _truth_keys(tmp_path / "truth.jsonl")
    got = _db_state(pg_url)
    conn = psycopg2.connect(pg_url)
    with conn.cursor() as cur:
        cur.execute("SELECT dedupe_key FROM stream_chat")
        keys = [r[0] for r in cur.fetchall()]
    conn.close()

    assert got["states"] == {"live": LIVE, "offline": OFFLINE}, got
    assert got["named"] == CHANNELS, got
    assert got["captured"] == LIVE and got["chatting"] == LIVE, got
    assert seen["renewed"] == CHANNELS  # all 500 leases renewed at least once while the sockets ran
    assert len(truth) > LIVE * 5
    assert sorted(keys) == sorted(truth), "every line sent is stored exactly once"
    # sockets only for live channels: threads stay far below one per channel
    assert 0 < peak["Threads"] < LIVE + 60, peak
    assert peak["VmRSS"] < 400 * 1024, peak
    print(f"500 channels: peak {peak['Threads']} threads, {peak['VmRSS'] // 1024} MiB RSS, "
          f"{len(keys)} lines")
