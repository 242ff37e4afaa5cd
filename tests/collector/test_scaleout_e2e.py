"""Scale-out, end to end: real `python -m collector run` processes share the simulator's
channels through PostgreSQL leases. At every moment a channel has at most one chat socket
(the simulator counts them), the lease table names one live owner per channel, a frozen
process's channels move to another within LEASE_SECONDS + a renewal period (and it lets
them go when it wakes), a killed or cleanly stopped one's at once, and every chat line the
simulator sent is stored exactly once."""
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
RATE = 5.0          # lines/s per channel: a takeover gap (a flush + a renewal + a join, ~3 s) stays
                    # well within the 50-line recent-chat replay
LEASE_SECONDS = 4   # renewed every 1.3 s
MIN_LINES = RATE * CHANNELS * 10  # what the simulator must have sent for the run to be a test
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
    logs = "".join(f"\n--- collector {p.pid}, last lines:\n" + output(p)[-4000:] for p in procs)
    raise AssertionError(f"not within {timeout:.0f}s: {what}{logs}")


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


@pytest.mark.slow  # lease expiries and takeovers waited out in real time (~21 s)
def test_processes_share_channels_and_take_over(pg_url, sim, tmp_path):
    ids = {c.channel_id for c in sim.channels}
    watch = Watch(sim)
    watch.start()
    a = start(pg_url, sim, tmp_path, "a")
    b = start(pg_url, sim, tmp_path, "b")
    c = None
    procs = [a, b]

    def owned_by(*pids) -> list[int]:
        owners = list(leases(pg_url).values())
        return [owners.count(pid) for pid in pids]

    def one_socket_each() -> bool:
        return all(n == 1 for n in sockets(sim).values())

    try:
        # 1. two processes started together over the same 4 channels: 2 + 2, one socket each
        wait_for("a 2 + 2 split, one socket per channel",
                 lambda: owned_by(a.pid, b.pid) == [2, 2] and one_socket_each(), 30, procs)
        time.sleep(2)  # collect side by side for a while
        assert owned_by(a.pid, b.pid) == [2, 2], "the split moved without any process stopping"

        # 2. a freezes (alive, no renewals): its leases expire and b takes them
        of_a = {cid for cid, pid in leases(pg_url).items() if pid == a.pid}
        a.send_signal(signal.SIGSTOP)
        frozen = time.monotonic()
        wait_for("b owns every channel after a's leases expired",
                 lambda: leases(pg_url) == dict.fromkeys(ids, b.pid), TAKEOVER + 3, [b])
        took = time.monotonic() - frozen
        # a's last renewal came up to a renewal period (LEASE_SECONDS / 3) before the freeze,
        # so its leases expire between LEASE_SECONDS - LEASE_SECONDS / 3 and LEASE_SECONDS after it
        assert LEASE_SECONDS - LEASE_SECONDS / 3 - 0.5 <= took <= TAKEOVER + 1.5, f"takeover after {took:.1f}s"
        wait_for("b joined a's channels beside the frozen a's sockets",
                 lambda: all(n == (2 if cid in of_a else 1) for cid, n in sockets(sim).items()), 10, [b])
        time.sleep(0.5)  # hold it: the watch samples every 50 ms (a thaws and closes within ~30 ms)

        # 3. a wakes up: its leases are lost, it closes those sockets; then they split again
        a.send_signal(signal.SIGCONT)
        wait_for("a let go of the channels it lost", one_socket_each, 10, procs)
        thawed = time.monotonic()
        wait_for("a 2 + 2 split again", lambda: owned_by(a.pid, b.pid) == [2, 2] and one_socket_each(), 20, procs)
        assert "lost 2 lease(s) to other processes" in output(a)

        # 4. kill -9 a: b takes its channels (same host, pid gone: at once; elsewhere: after expiry)
        a.send_signal(signal.SIGKILL)
        a.wait(10)
        killed = time.monotonic()
        wait_for("b owns every channel after the kill", lambda: leases(pg_url) == dict.fromkeys(ids, b.pid),
                 TAKEOVER + 3, [b])
        assert time.monotonic() - killed <= TAKEOVER + 1.5
        wait_for("b joined every channel", one_socket_each, 10, [b])

        # 5. a newcomer gets its share; a clean stop hands the channels over at once
        c = start(pg_url, sim, tmp_path, "c")
        procs = [b, c]
        wait_for("b and c share the channels", lambda: owned_by(b.pid, c.pid) == [2, 2] and one_socket_each(),
                 25, procs)
        b.send_signal(signal.SIGTERM)
        assert b.wait(30) == 0, output(b)[-3000:]
        stopped = time.monotonic()
        wait_for("c owns every channel", lambda: leases(pg_url) == dict.fromkeys(ids, c.pid), LEASE_SECONDS, [c])
        assert time.monotonic() - stopped < LEASE_SECONDS - 1, "released leases must not wait for the expiry"
        wait_for("c joined every channel", one_socket_each, 10, [c])
        sent = sim.truth_count  # c collects a while alone: a second of chat, and enough in all
        wait_for("the simulator sent enough", lambda: sim.truth_count > max(MIN_LINES, sent + RATE * CHANNELS),
                 30, [c])
        c.send_signal(signal.SIGTERM)
        assert c.wait(30) == 0, output(c)[-3000:]
    finally:
        watch.stop.set()
        for p in (a, b, c):
            if p is not None and p.poll() is None:
                p.kill()
                p.wait()

    # a frozen process keeps its sockets open: two per channel is expected only until it wakes
    doubles = [d for d in watch.doubles if not frozen <= d[0] <= thawed]
    assert len(doubles) < len(watch.doubles), "the watch should have seen the frozen a's sockets beside b's"
    assert {cid for d in watch.doubles for cid in d[1]} == of_a
    assert not doubles, f"a channel had two chat sockets at once: {doubles[:3]}"
    assert leases(pg_url) == {}, "a clean stop releases every lease"
    truth, keys = truth_keys(sim), stored_keys(pg_url)
    assert len(truth) > MIN_LINES, "the simulator sent too little to be a test"
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
