"""Broadcast lifecycle and connection faults, end to end: `python -m collector run` as a real
subprocess against the simulator (in this process, over loopback) and a real PostgreSQL.

- sockets dropped every 2.5 s: every line the simulator sent is stored exactly once, and
  capture_interval has one row per connection with its reason and the gaps between them;
- a broadcast restart (new chatChannelId) is joined within POLL_SECONDS + a margin, the
  old live_session closed; adult and offline channels recorded with their state;
  `channels add/remove` picked up by the running collector; `status` shows it all;
- in this process, a Lifecycle against the simulator: a poll answered after its channel
  was removed does not join it again."""
from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest
import requests

from collector.protocol import parse_frame
from collector.sim.server import SimServer
from tests.collector_process import terminate
from tests.conftest import DATA
from tests.waiting import wait_for as wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

ROOT = DATA.parent.parent
POLL = 2
PAUSE = 1.0


def collector(pg_url: str, sim: SimServer, channels: list[str], *args: str, **env) -> subprocess.Popen:
    full = {**os.environ, **sim.env(), "DATABASE_URL": pg_url, "FLUSH_SECONDS": "1", "POLL_SECONDS": str(POLL),
            "CHANNEL_REFRESH_SECONDS": "2", "CHZZK_CHANNELS": ",".join(channels), "PYTHONUNBUFFERED": "1",
            "LOG_LEVEL": "INFO", **env}
    full.pop("CHZZK_CHANNELS_FILE", None)
    return subprocess.Popen([sys.executable, "-m", "collector", *args], cwd=ROOT, env=full,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def cli(pg_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": pg_url}
    return subprocess.run([sys.executable, "-m", "collector", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)


def query(pg, sql: str, params=()) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute(sql, params)
        rows = cur.fetchall()
    pg.commit()
    return rows


def wait_for(pg, sql: str, params=(), timeout: float = 30.0, proc: subprocess.Popen | None = None) -> list[tuple]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        rows = query(pg, sql, params)
        if rows:
            return rows
        if proc is not None and proc.poll() is not None:
            raise AssertionError("collector exited early: " + proc.stderr.read()[-3000:])
        time.sleep(0.2)
    raise AssertionError(f"timed out after {timeout}s waiting for: {sql} {params}")


INTERVALS = """SELECT ci.chat_channel_id, ci.connected_at, ci.disconnected_at, ci.reason
                 FROM capture_interval ci JOIN stream_channel c ON c.id = ci.channel_fk
                WHERE c.channel_id = %s ORDER BY ci.connected_at"""


def test_socket_drops_reconnect_dedupe_and_record_gaps(pg_url, pg, tmp_path):
    sim = SimServer(channels=2, seed=5, rate=20.0, truth_path=str(tmp_path / "truth.jsonl"), ping_seconds=3.0,
                    drop_every=2.5)
    sim.start_in_thread(port=0)
    try:
        ids = [c.channel_id for c in sim.channels]
        proc = collector(pg_url, sim, ids, "run")
        try:  # stop once each channel was dropped and rejoined, and enough was sent
            for cid in ids:
                wait_for(pg, INTERVALS.replace("ORDER BY", "AND ci.reason = 'socket closed' ORDER BY"), (cid,),
                         proc=proc)
                wait_for(pg, INTERVALS.replace("ORDER BY", "AND ci.disconnected_at IS NULL ORDER BY"), (cid,),
                         proc=proc)
            wait_until(lambda: sim.truth_count > 100, 30, "100 lines sent")
        finally:
            _, err = terminate(proc, 60)
        assert proc.returncode == 0, err[-3000:]
    finally:
        sim.stop()
    truth = [parse_frame(line)[0]["dedupe_key"] for line in open(sim.truth_path, encoding="utf-8")]
    stored = [r[0] for r in query(pg, "SELECT dedupe_key FROM stream_chat")]
    assert len(truth) > 100
    assert sorted(stored) == sorted(set(truth)) and len(set(truth)) == len(truth), "every line exactly once"

    for cid in ids:
        rows = query(pg, INTERVALS, (cid,))
        assert len(rows) >= 2, f"{cid}: drops every 2.5 s should give several connections: {rows}"
        assert all(r[2] is not None for r in rows), "every interval is closed after a clean stop"
        reasons = [r[3] for r in rows]
        assert "socket closed" in reasons[:-1], reasons
        # the last one ends 'stopped', or was dropped while the collector was backing off at the stop
        assert set(reasons) <= {"socket closed", "socket error", "stopped"}, reasons
        gaps = [(b[1] - a[2]).total_seconds() for a, b in zip(rows, rows[1:], strict=False)]
        assert all(g > 0 for g in gaps), f"the gaps between connections are visible: {gaps}"
    (cov,) = query(pg, "SELECT min(coverage), max(coverage), count(*) FROM broadcast_coverage")
    assert cov[2] == 2 and 0 < cov[0] <= cov[1] < 1, f"coverage below 100 % with gaps: {cov}"


def test_restart_offline_adult_channel_set_and_status(pg_url, pg):
    sim = SimServer(channels=4, seed=7, rate=10.0, ping_seconds=3.0, offline=1, adult=1, restart_pause=PAUSE)
    sim.start_in_thread(port=0)
    live, extra, adult, offline = (c.channel_id for c in sim.channels)
    proc = collector(pg_url, sim, [live, adult, offline], "run")
    try:
        (old_cid,) = wait_for(pg, INTERVALS.replace("ORDER BY", "AND ci.disconnected_at IS NULL ORDER BY"),
                              (live,), proc=proc)[0][:1]
        # a new broadcast: its new chat channel is joined within one poll (+ the pause, + margin)
        base = sim.env()["CHZZK_API_BASE"]
        assert requests.get(f"{base}/_sim/restart", params={"channel": live}, timeout=5).json()["content"] == {
            "closed": old_cid}
        t0 = time.time()
        rows = wait_for(pg, "SELECT ci.chat_channel_id, extract(epoch FROM ci.connected_at)::float FROM capture_interval ci "
                            "JOIN stream_channel c ON c.id = ci.channel_fk WHERE c.channel_id = %s "
                            "AND ci.chat_channel_id <> %s", (live, old_cid), proc=proc)
        assert rows[0][1] - t0 <= POLL + PAUSE + 3, f"joined {rows[0][1] - t0:.1f}s after the restart"
        sessions = wait_for(pg, """SELECT s.chat_channel_id, s.closed_at, s.close_reason FROM live_session s
                                     JOIN stream_channel c ON c.id = s.channel_fk
                                    WHERE c.channel_id = %s AND s.closed_at IS NOT NULL""", (live,), proc=proc)
        assert sessions[0][0] == old_cid and sessions[0][2] in ("broadcast closed", "new chat channel")
        assert query(pg, """SELECT count(*), count(closed_at) FROM live_session s JOIN stream_channel c
                             ON c.id = s.channel_fk WHERE c.channel_id = %s""", (live,)) == [(2, 1)]
        wait_for(pg, """SELECT 1 FROM channel_unavailable u JOIN stream_channel c ON c.id = u.channel_fk
                         WHERE c.channel_id = %s AND u.reason = 'adult'""", (adult,), proc=proc)

        # the channel set changes under the running collector
        assert cli(pg_url, "channels", "add", extra).returncode == 0
        wait_for(pg, INTERVALS, (extra,), timeout=2 + POLL + 8, proc=proc)
        assert cli(pg_url, "channels", "remove", extra).returncode == 0
        removed = wait_for(pg, INTERVALS.replace("ORDER BY", "AND ci.reason = 'channel removed' ORDER BY"),
                           (extra,), timeout=2 + 8, proc=proc)
        assert removed[0][2] is not None

        status = cli(pg_url, "status", "--json", "--all")
        assert status.returncode == 0, status.stderr
        lines = [json.loads(line) for line in status.stdout.splitlines()]
        # a line per channel, then the collectors' health and the spool's backlog
        assert [r["kind"] for r in lines if r["kind"] != "channel"] == ["health", "spool"]
        by_id = {r["channel_id"]: r for r in lines if r["kind"] == "channel"}
        assert by_id[live]["state"] == "live" and by_id[live]["chat_channel_id"] == rows[0][0]
        assert by_id[live]["lag_seconds"] is not None and 0 < by_id[live]["coverage"] <= 1
        assert by_id[adult]["state"] == "unavailable:adult"
        assert by_id[offline]["state"] == "offline"
        assert by_id[extra]["state"] == "disabled"
        table = cli(pg_url, "status").stdout
        assert live in table and "unavailable:adult" in table and extra not in table
        listing = cli(pg_url, "channels", "list").stdout
        assert extra in listing and "disabled" in listing
    finally:
        _, err = terminate(proc, 30)
        sim.stop()
    assert proc.returncode == 0, err[-3000:]
    open_left = query(pg, "SELECT count(*) FROM capture_interval WHERE disconnected_at IS NULL")
    assert open_left == [(0,)]
    assert query(pg, """SELECT reason FROM capture_interval ci JOIN stream_channel c ON c.id = ci.channel_fk
                         WHERE c.channel_id = %s ORDER BY connected_at DESC LIMIT 1""", (live,)) == [("stopped",)]


def test_a_poll_in_flight_when_its_channel_is_removed_does_not_rejoin(pg_url):
    """The race behind a double socket seen in the scale-out test: a live-status poll was
    running when set_channels removed its channel (a lease given up); its answer ("live")
    arrived after the removal and made the removed channel's client join again, a socket
    nobody would close. The poll's answer is now dropped."""
    from collector import sessions
    from collector.api import Api
    from collector.lifecycle import Lifecycle

    sim = SimServer(channels=1, seed=3, rate=5.0, ping_seconds=3.0)
    sim.start_in_thread(port=0)
    env = sim.env()
    store = sessions.SessionStore(pg_url)
    life = Lifecycle(Api(api_base=env["CHZZK_API_BASE"], comm_base=env["CHZZK_COMM_API_BASE"]),
                     add=lambda records: None, store=store, poll_seconds=3600, ws_url=env["CHZZK_CHAT_WS"])
    channel = sim.channels[0].channel_id
    try:
        life.set_channels({channel})
        ch = life._channels[channel]
        life.set_channels(set(), reason="lease given up")  # the poll below was already on its way
        life._poll(ch)  # what the pool thread runs: a real request to the simulator
        time.sleep(1.5)
        assert ch.client.following is None and ch.polls == 0
        assert [len(lv.conns) for lv in sim._lives] == [0], "the removed channel was joined again"
        life.set_channels({channel})  # added again: a new client, which joins
        again = life._channels[channel]
        life._poll(again)
        deadline = time.monotonic() + 10
        while [len(lv.conns) for lv in sim._lives] != [1] and time.monotonic() < deadline:
            time.sleep(0.1)
        assert [len(lv.conns) for lv in sim._lives] == [1] and again.client.following
    finally:  # the scheduler thread never ran (polls are called by hand): stop the clients
        for client in life.clients():
            client.stop()
            client.join(5)
        life._pool.shutdown(wait=False)
        store.close()
        sim.stop()
