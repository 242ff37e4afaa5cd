"""Bookkeeping of migration 003 on a real PostgreSQL: sessions and their timeline through
the SessionStore queue, the broadcast_coverage view's arithmetic, intervals of a dead
process closed with 'process died', and `collector status` (table and JSON rows)."""
from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
from datetime import UTC, datetime, timedelta

import pytest

from collector import sessions, status
from collector.answers import LiveStatus

pytestmark = pytest.mark.integration

A, B, C = (f"{i:x}" * 32 for i in (10, 11, 12))
T0 = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def live(cid: str | None, status_: str = "OPEN", title: str = "t", viewers: int = 100, reason=None,
         open_date=None) -> LiveStatus:
    return LiveStatus(status=status_, chat_channel_id=cid, reason=reason, live_title=title,
                      concurrent_user_count=viewers, category_type="GAME", live_category="x",
                      live_category_value="X", open_date=open_date, close_date=None, adult=reason == "adult")


def apply(pg, *ops) -> None:
    with pg, pg.cursor() as cur:
        for op in ops:
            op(cur)


def rows(pg, sql, params=()):
    with pg.cursor() as cur:
        cur.execute(sql, params)
        out = cur.fetchall()
    pg.commit()
    return out


def test_coverage_view_counts_overlaps_once_and_missed_start(pg):
    m = timedelta(minutes=1)
    apply(pg,
          sessions.op_open_session(A, live("cidA1", open_date=T0 - 2 * m), T0),
          sessions.op_capture_open("k1", A, "cidA1", T0, "h:1:x", 3),
          sessions.op_capture_close("k1", "socket closed", T0 + 4 * m),
          sessions.op_capture_open("k2", A, "cidA1", T0 + 3 * m, "h:2:y", 4),  # another process, overlapping
          sessions.op_capture_close("k2", "stopped", T0 + 6 * m),
          sessions.op_close_sessions(A, "broadcast closed", T0 + 8 * m),
          sessions.op_open_session(B, live("cidB1"), T0),
          sessions.op_close_sessions(B, "broadcast closed", T0 + 5 * m))
    got = rows(pg, """SELECT c.channel_id, v.minutes::float, v.captured_minutes::float, v.coverage::float
                        FROM broadcast_coverage v JOIN stream_channel c ON c.id = v.channel_fk ORDER BY 1""")
    assert got == [(A, 10.0, 6.0, 0.6), (B, 5.0, 0.0, 0.0)]
    assert rows(pg, "SELECT session_fk IS NOT NULL, reason FROM capture_interval ORDER BY key") == [
        (True, "socket closed"), (True, "stopped")]


def test_session_store_writes_lifecycle_in_order(pg_url, pg):
    store = sessions.SessionStore(pg_url)
    try:
        store.put(sessions.op_open_session(A, live("c1", title="first"), T0))
        store.put(sessions.op_poll(A, live("c1", title="first", viewers=10), T0))
        store.put(sessions.op_poll(A, live("c1", title="renamed", viewers=20), T0 + timedelta(seconds=30)))
        key = store.capture_opened(A, "c1", 5)
        store.capture_closed(key, "ping timeout")
        store.put(sessions.op_open_session(A, live("c2"), T0 + timedelta(minutes=1)))  # a new broadcast
        store.put(sessions.op_unavailable(B, live(None, reason="adult"), T0))
        store.put(sessions.op_unavailable(B, live(None, reason="adult"), T0 + timedelta(minutes=5)))
        store.put(sessions.op_close_sessions(C, "broadcast closed", T0))
        assert store.wait_idle(10)
    finally:
        store.close()
    assert rows(pg, """SELECT chat_channel_id, closed_at IS NOT NULL, close_reason, live_title
                         FROM live_session ORDER BY id""") == [("c1", True, "new chat channel", "renamed"),
                                                               ("c2", False, None, "t")]
    assert rows(pg, "SELECT live_title, concurrent_user_count FROM live_session_poll ORDER BY polled_at") == [
        ("first", 10), ("renamed", 20)]
    assert rows(pg, "SELECT reason, server, disconnected_at >= connected_at FROM capture_interval") == [
        ("ping timeout", 5, True)]
    assert rows(pg, "SELECT reason, last_seen_at - first_seen_at, cleared_at FROM channel_unavailable") == [
        ("adult", timedelta(minutes=5), None)]
    states = dict(rows(pg, "SELECT channel_id, live_state || coalesce(':' || live_state_reason, '') "
                           "FROM stream_channel"))
    assert states == {A: "live", B: "unavailable:adult", C: "offline"}


def test_intervals_of_a_dead_process_are_closed_at_their_last_known_time(pg):
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                          text=True, check=True)
    host = socket.gethostname()
    now = datetime.now(UTC)
    apply(pg,
          sessions.op_open_session(A, live("c1"), now - timedelta(minutes=10)),
          sessions.op_capture_open("dead", A, "c1", now - timedelta(minutes=10), f"{host}:{dead.stdout.strip()}:ab", 1),
          sessions.op_heartbeat(["dead"], now - timedelta(minutes=9)),
          sessions.op_capture_open("stale", B, "c9", now - timedelta(minutes=10), "elsewhere:1:cd", 1),
          sessions.op_capture_open("alive", C, "c8", now - timedelta(seconds=10), "elsewhere:2:ef", 1))
    with pg, pg.cursor() as cur:  # a chat line after the last heartbeat moves the end forward
        cur.execute("""INSERT INTO stream_chat (channel_fk, chat_channel_id, message_type, chat_time, raw, dedupe_key)
                       SELECT id, 'c1', 'chat', %s, '{}', 'd1' FROM stream_channel WHERE channel_id = %s""",
                    (now - timedelta(minutes=9) + timedelta(seconds=5), A))
        assert sessions.close_dead_intervals(cur, "me:1:zz") == 2
    got = dict((k, (r, d)) for k, r, d in rows(pg, "SELECT key, reason, disconnected_at FROM capture_interval"))
    assert got["dead"] == ("process died", now - timedelta(minutes=9) + timedelta(seconds=5))
    assert got["stale"] == ("process died", now - timedelta(minutes=10))
    assert got["alive"] == (None, None)


def test_status_rows_table_and_json(pg_url, pg, capsys):
    now = datetime.now(UTC)
    apply(pg,
          sessions.op_open_session(A, live("c1"), now - timedelta(minutes=10)),
          sessions.op_capture_open("k1", A, "c1", now - timedelta(minutes=10), "h:1:x", 1),
          sessions.op_capture_close("k1", "socket closed", now - timedelta(minutes=6)),
          sessions.op_capture_open("k2", A, "c1", now - timedelta(minutes=5), "h:1:x", 2),
          sessions.op_unavailable(B, live(None, reason="abroad:ABROAD"), now),
          sessions.op_close_sessions(C, "broadcast closed", now))
    with pg, pg.cursor() as cur:
        cur.execute("""INSERT INTO stream_chat (channel_fk, chat_channel_id, message_type, chat_time, raw, dedupe_key)
                       SELECT id, 'c1', 'chat', %s, '{}', 'd1' FROM stream_channel WHERE channel_id = %s""",
                    (now - timedelta(seconds=42), A))
        cur.execute("UPDATE stream_channel SET enabled = false WHERE channel_id = %s", (C,))
        # a running collector (this process) holds their leases: their states are current
        cur.execute("""INSERT INTO channel_lease (channel_id, owner, expires_at)
                       SELECT c, %s, now() + interval '10 minutes' FROM unnest(%s::text[]) AS c""",
                    (f"{socket.gethostname()}:{os.getpid()}:x", [A, B]))
    got = {r["channel_id"]: r for r in status.collect(pg, include_disabled=True, now=now)}
    a = got[A]
    assert (a["state"], a["chat_channel_id"], a["open_sockets"], a["lag_seconds"]) == ("live", "c1", 1, 42.0)
    assert a["reconnects_today"] in (0, 1)  # 1 unless local midnight fell in the last 10 minutes
    assert a["coverage"] == pytest.approx(0.9, abs=0.01)  # 10 minutes, 1 missed
    assert got[B]["state"] == "unavailable:abroad:ABROAD" and got[B]["coverage"] is None
    assert got[C]["state"] == "disabled"
    assert {r["channel_id"] for r in status.collect(pg)} == {A, B}

    parser = argparse.ArgumentParser()
    status.configure(parser)
    assert status.run(parser.parse_args([])) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:3] == ["CHANNEL", "NAME", "STATE"]
    line = next(x for x in out if x.startswith(A))
    assert "live" in line and "c1" in line and "42s" in line and "90.0%" in line
    assert status.run(parser.parse_args(["--json", "--all"])) == 0
    *rows, state, spool = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert {r["channel_id"] for r in rows} == {A, B, C} and {r["kind"] for r in rows} == {"channel"}
    assert state["kind"] == "health" and state["state"] in ("never", "down")  # no collector runs here
    assert spool["kind"] == "spool" and spool["backlog_records"] == 0  # tests/collector/test_status_backlog.py
