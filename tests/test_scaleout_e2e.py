"""Scale-out, end to end: real `python -m collector run` processes share the simulator's
channels through PostgreSQL leases. At every moment a channel has at most one chat socket
(the simulator counts them), the lease table names one live owner per channel, a killed
process's channels move to another within LEASE_SECONDS + a renewal period, a cleanly
stopped one's at once, and every chat line the simulator sent is stored exactly once."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time

import psycopg2
import pytest

from collector.protocol import parse_frame
from collector.sim.server import SimServer
from tests.conftest import DATA

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

ROOT = DATA.parent.parent
CHANNELS = 4
RATE = 2.0          # lines/s per channel: a takeover gap stays within the 50-line recent-chat replay
LEASE_SECONDS = 6   # renewed every 2 s
TAKEOVER = LEASE_SECONDS + LEASE_SECONDS / 3


@pytest.fixture
def sim(tmp_path):
    server = SimServer(channels=CHANNELS, seed=23, rate=RATE, truth_path=str(tmp_path / "truth.jsonl"),
                       ping_seconds=3.0)
    server.start_in_thread(port=0)
    yield server
    server.stop()


def start(pg_url: str, sim: SimServer, tmp_path, name: str, *args: str) -> subprocess.Popen:
    env = {**os.environ, **sim.env(), "DATABASE_URL": pg_url, "FLUSH_SECONDS": "1", "POLL_SECONDS": "2",
           "LEASE_SECONDS": str(LEASE_SECONDS), "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
           "DATA_DIR": str(tmp_path / name)}  # own spool per process
    log = open(tmp_path / f"{name}.log", "w")  # noqa: SIM115 - closed with the process
    proc = subprocess.Popen([sys.executable, "-m", "collector", "run", *args], cwd=ROOT, env=env,
                            stdout=log, stderr=subprocess.STDOUT, text=True)
    proc.log_path = tmp_path / f"{name}.log"
    return proc


def output(proc) -> str:
    return proc.log_path.read_text(encoding="utf-8", errors="replace")


def leases(pg_url) -> dict[str, int]:
    """channel -> pid of the owner of its unexpired lease."""
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT channel_id, owner FROM channel_lease WHERE expires_at > now()")
        rows = {cid: int(owner.rsplit(":", 2)[1]) for cid, owner in cur.fetchall()}
    conn.close()
    return rows


def sockets(sim: SimServer) -> dict[str, int]:
    """channel -> chat sockets joined to its broadcast right now (read from the sim's thread)."""
    return {lv.channel.channel_id: len(lv.conns) for lv in sim._lives}


class Watch(threading.Thread):
    """Samples the simulator's sockets every 50 ms; remembers any channel seen with two."""

    def __init__(self, sim):
        super().__init__(daemon=True)
        self.sim, self.doubles, self.stop = sim, [], threading.Event()

    def run(self):
        while not self.stop.wait(0.05):
            twice = {c: n for c, n in sockets(self.sim).items() if n > 1}
            if twice:
                self.doubles.append((time.monotonic(), twice))


def wait_for(what: str, cond, timeout: float, procs=()):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = cond()
        if value:
            return value
        for p in procs:
            assert p.poll() is None, f"collector {p.pid} exited {p.returncode} while waiting for {what}:\n" \
                                     + output(p)[-3000:]
        time.sleep(0.1)
    raise AssertionError(f"not within {timeout:.0f}s: {what}")


def stored_keys(pg_url) -> list[str]:
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:
        cur.execute("SELECT dedupe_key FROM stream_chat")
        keys = [r[0] for r in cur.fetchall()]
    conn.close()
    return keys


def truth_keys(sim: SimServer) -> list[str]:
    sim.stop()
    time.sleep(0.3)  # the server thread closes the truth file
    with open(sim.truth_path, encoding="utf-8") as f:
        return [parse_frame(line)[0]["dedupe_key"] for line in f if line.strip()]


def test_processes_share_channels_and_take_over_a_killed_one(pg_url, sim, tmp_path):
    ids = {c.channel_id for c in sim.channels}
    watch = Watch(sim)
    watch.start()
    a = start(pg_url, sim, tmp_path, "a")
    b = start(pg_url, sim, tmp_path, "b")
    procs = [a, b]
    try:
        # 1. two processes over the same 4 channels: 2 + 2, one socket per channel
        def split():
            owners = leases(pg_url)
            counts = [sum(1 for pid in owners.values() if pid == p.pid) for p in (a, b)]
            live = sockets(sim)
            return set(owners) == ids and counts == [2, 2] and all(live[c] == 1 for c in ids)
        wait_for("a 2 + 2 split with one socket per channel", split, 30, procs)
        time.sleep(3)  # collect side by side for a while
        assert split(), "the split moved without any process stopping"

        # 2. kill -9 one: the other takes its channels within LEASE_SECONDS + renewal
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        killed = time.monotonic()
        wait_for("b owns every channel", lambda: leases(pg_url) == dict.fromkeys(ids, b.pid),
                 TAKEOVER + 3, [b])
        took = time.monotonic() - killed
        wait_for("b joined every channel", lambda: all(n == 1 for n in sockets(sim).values()), 10, [b])
        assert took <= TAKEOVER + 1.5, f"takeover took {took:.1f}s"

        # 3. a newcomer gets its share; a clean stop hands the channels over at once
        c = start(pg_url, sim, tmp_path, "c")
        procs = [b, c]

        def shared():
            pids = list(leases(pg_url).values())
            return pids.count(b.pid) == 2 and pids.count(c.pid) == 2
        wait_for("b and c share the channels", shared, 20, procs)
        b.send_signal(signal.SIGTERM)
        assert b.wait(30) == 0, output(b)[-3000:]
        stopped = time.monotonic()
        wait_for("c owns every channel", lambda: leases(pg_url) == dict.fromkeys(ids, c.pid),
                 LEASE_SECONDS, [c])
        assert time.monotonic() - stopped < LEASE_SECONDS, "released leases must not wait for expiry"
        wait_for("c joined every channel", lambda: all(n == 1 for n in sockets(sim).values()), 10, [c])
        time.sleep(2)
        c.send_signal(signal.SIGTERM)
        assert c.wait(30) == 0, output(c)[-3000:]
    finally:
        watch.stop.set()
        for p in (a, b) + tuple(procs):
            if p.poll() is None:
                p.kill()
                p.wait()

    assert not watch.doubles, f"a channel had two chat sockets at once: {watch.doubles[:3]}"
    assert leases(pg_url) == {}, "a clean stop releases every lease"
    truth, keys = truth_keys(sim), stored_keys(pg_url)
    assert len(truth) > RATE * CHANNELS * 10, "the simulator sent too little to be a test"
    assert len(keys) == len(set(keys)), "a chat line stored twice"
    assert sorted(keys) == sorted(truth), (f"{len(set(truth) - set(keys))} sent but not stored, "
                                           f"{len(set(keys) - set(truth))} stored but never sent")


def test_every_channel_held_by_a_live_process_exits_3(pg_url, sim, tmp_path):
    ids = sorted(c.channel_id for c in sim.channels)
    with psycopg2.connect(pg_url) as conn, conn.cursor() as cur:  # another live process holds everything
        cur.execute("INSERT INTO lease_owner (owner, expires_at) VALUES ('elsewhere:1:x', now() + interval '1 hour')")
        cur.execute("""INSERT INTO channel_lease (channel_id, owner, expires_at)
                       SELECT c, 'elsewhere:1:x', now() + interval '1 hour' FROM unnest(%s::text[]) AS c""", (ids,))
    conn.close()
    proc = start(pg_url, sim, tmp_path, "late", "--duration", "3s")
    assert proc.wait(60) == 3, output(proc)[-3000:]
    last = output(proc).strip().splitlines()[-1]
    assert "no channel could be leased" in last and "4" in last, last
    assert sockets(sim) == dict.fromkeys(ids, 0)
