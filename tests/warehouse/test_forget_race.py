"""Issue 16 part 3: no line of a forgotten user is stored after forget-user returns, whatever
a process has cached and however a store and forget-user interleave. The sink takes
``opt_out_user`` IN SHARE MODE as its transaction's first statement and reads the list
there; forget-user's INSERT into the list waits for stores in flight, and later stores wait
for its commit."""
from __future__ import annotations

import dataclasses
import os
import subprocess
import sys
import threading

import psycopg2
import pytest

from collector import forgotten, sink
from collector.sim.population import make_channels
from collector.sim.server import SimServer
from tests.conftest import DATA
from tests.privacy_scan import pg_user_rows
from tests.waiting import wait_for
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.sync.export import sync
from warehouse.sync.privacy import forget_user

ROOT = DATA.parent.parent
RATE = 30.0  # lines/s on the channel; its heaviest viewer (weight 2/3) says about 20 of them






def _lake_rows(root: str, user_id: str) -> int:
    lake = Lake(root)
    return sum(lake.read(CHAT, day, columns=["user_id"]).column("user_id").to_pylist().count(user_id)
               for day in lake.days(CHAT))


def _waiting_on_lock(conn, pid: int) -> bool:
    with conn.cursor() as cur:
        cur.execute("SELECT wait_event_type = 'Lock' FROM pg_stat_activity WHERE pid = %s", (pid,))
        row = cur.fetchone()
    conn.rollback()
    return bool(row and row[0])


CHAT_BASE = {"kind": "chat", "channel_id": "b" * 32, "chat_channel_id": "cc", "message_type": "chat",
             "msg_type_code": 1, "raw": {}, "nickname": "닉", "message": "hi",
             "chat_time": "2026-09-02T03:00:00.000Z"}


@pytest.mark.integration
def test_a_store_in_flight_when_forget_user_starts_is_deleted_by_it(pg_url, pg, tmp_path):
    """Deterministic: the store is held inside its transaction (its INSERT waits on a row
    another connection has not committed) while forget-user runs; then it commits."""
    forgotten._opt_out_cache.clear()
    sink.store(pg, [{**CHAT_BASE, "user_id": "warm", "dedupe_key": "w0"}])  # the channel row, the cached list
    blocker, storer, forgetter = (psycopg2.connect(pg_url) for _ in range(3))
    try:
        with blocker.cursor() as cur:  # an uncommitted row with the key the store will insert
            cur.execute("INSERT INTO stream_chat (channel_fk, message_type, chat_time, raw, dedupe_key, user_id)"
                        " SELECT id, 'chat', now(), '{}', 'k1', 'other' FROM stream_channel LIMIT 1")
        done: dict[str, object] = {}

        def run(name, fn):
            try:
                done[name] = fn()
            except BaseException as exc:  # noqa: BLE001 - reported by the assertion below
                done[name] = exc

        store = threading.Thread(target=run, args=("store", lambda: sink.store(
            storer, [{**CHAT_BASE, "user_id": "victim", "dedupe_key": "k1"},
                     {**CHAT_BASE, "user_id": "victim", "dedupe_key": "k2"}])))
        store.start()
        wait_for(lambda: _waiting_on_lock(pg, storer.get_backend_pid()), 10, "the store to wait inside its transaction", every=0.05)
        forget = threading.Thread(target=run, args=("forget", lambda: forget_user(forgetter, str(tmp_path),
                                                                                  "victim")))
        forget.start()
        wait_for(lambda: "forget" in done or _waiting_on_lock(pg, forgetter.get_backend_pid()), 10,
                 "forget-user to return or to wait for the store", every=0.05)
        blocker.rollback()  # the store goes on and commits
        store.join(10)
        forget.join(10)
        assert not isinstance(done.get("store"), BaseException), done.get("store")
        assert not isinstance(done.get("forget"), BaseException), done.get("forget")
        assert pg_user_rows(pg, "victim") == 0
        assert sink.store(pg, [{**CHAT_BASE, "user_id": "victim", "dedupe_key": "k3"}]).chat_inserted == 0
        assert pg_user_rows(pg, "victim") == 0
    finally:
        for conn in (blocker, storer, forgetter):
            conn.close()


@pytest.fixture
def talker_sim(tmp_path):
    """One channel whose heaviest viewer says about 20 lines a second (two viewers, 2:1)."""
    channel = make_channels(1, 41)[0]
    channel = dataclasses.replace(channel, viewers=channel.viewers[:2], cum_weights=[1.0, 1.5])
    server = SimServer(channels=[channel], seed=41, rate=RATE, ping_seconds=3.0)
    server.start_in_thread(port=0)
    yield server
    server.stop()


@pytest.mark.e2e
@pytest.mark.timeout(60)
def test_forget_user_while_a_collector_stores_their_lines(pg_url, pg, talker_sim, tmp_path):
    victim = talker_sim.channels[0].viewers[0].user_id
    lake = str(tmp_path / "lake")
    env = {**os.environ, **talker_sim.env(), "DATABASE_URL": pg_url, "SPOOL_DIR": str(tmp_path / "spool"),
           "FLUSH_SECONDS": "1", "FLUSH_MAX_EVENTS": "100000", "POLL_SECONDS": "2", "LOG_LEVEL": "INFO"}
    log_path = tmp_path / "collector.log"
    with open(log_path, "w", encoding="utf-8") as log:
        proc = subprocess.Popen([sys.executable, "-m", "collector", "run"], cwd=ROOT, env=env,
                                stdout=log, stderr=log)
    try:
        wait_for(lambda: pg_user_rows(pg, victim) >= 20, 20, "the victim's lines to be stored", every=0.05)
        sync(pg, lake)
        assert _lake_rows(lake, victim) >= 20
        report = forget_user(pg, lake, victim)  # returns while the collector goes on receiving their lines
        assert report.pg_chat_rows >= 20 and report.lake_rows_removed >= 20
        with pg.cursor() as cur:
            cur.execute("SELECT max(id) FROM stream_chat")
            last_before = cur.fetchone()[0]
        pg.rollback()

        def others_after() -> int:
            with pg.cursor() as cur:
                cur.execute("SELECT count(*) FROM stream_chat WHERE id > %s", (last_before,))
                n = cur.fetchone()[0]
            pg.rollback()
            return n

        # two flushes' worth of other people's lines (a third of the rate) arrive after it
        wait_for(lambda: others_after() >= 20, 15, "other users' lines after forget-user", every=0.05)
        sync(pg, lake)
        assert pg_user_rows(pg, victim) == 0
        assert _lake_rows(lake, victim) == 0
        assert others_after() >= 20
        assert "chat line(s) of opted-out users" in log_path.read_text(encoding="utf-8")  # they kept talking
    finally:
        proc.terminate()
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
