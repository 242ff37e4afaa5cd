"""`collector status` says when no collector renews its leases (issue 19): a state a dead
collector reported is shown `stale` with "down since" its last renewal, never `live`. Real
PostgreSQL; the leases are written by collector.leases and then expire (ttl 1 s) or belong
to a pid of this host that has ended (kill -9: stale before the expiry)."""
from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from collector import sessions, status
from collector.answers import LiveStatus
from collector.leases import Leases

pytestmark = pytest.mark.integration
A, B = "a" * 32, "b" * 32


def _live(cid: str) -> LiveStatus:
    return LiveStatus(status="OPEN", chat_channel_id=cid, reason=None, live_title="t", concurrent_user_count=1,
                      category_type="GAME", live_category="x", live_category_value="X", open_date=None,
                      close_date=None, adult=False)


def _report_live(pg, *channels: str) -> None:
    """What a collector writes while it collects: the broadcast opened, the state `live`, a
    socket open (a killed collector leaves it open until the next one starts)."""
    with pg, pg.cursor() as cur:
        for n, cid in enumerate(channels):
            sessions.op_open_session(cid, _live(f"c{n}"), datetime.now(UTC))(cur)
            sessions.op_capture_open(f"k{n}", cid, f"c{n}", datetime.now(UTC), "h:1:x", 1)(cur)


def _status(capsys, *argv: str) -> tuple[int, str]:
    parser = argparse.ArgumentParser()
    status.configure(parser)
    code = status.run(parser.parse_args(list(argv)))
    return code, capsys.readouterr().out


def test_live_while_leased_then_stale_once_the_leases_expire(pg_url, pg, capsys):
    _report_live(pg, A, B)
    lease = Leases(lambda: psycopg2.connect(pg_url), ttl_seconds=1.0, max_channels=0)
    try:
        assert lease.claim({A, B}) == {A, B}
        got = {r["channel_id"]: r for r in status.collect(pg)}
        assert [got[c]["state"] for c in (A, B)] == ["live", "live"]
        assert got[A]["collector"] == lease.owner and got[A]["collector_down_since"] is None
        code, out = _status(capsys)
        assert code == 0 and f"collectors: 1 running ({lease.owner})" in out
        assert " live " in out.splitlines()[1] and " open " in out.splitlines()[1]
        renewed = {r["channel_id"]: r["renewed_at"] for r in _leases(pg)}
        time.sleep(1.5)  # the process stops renewing (it died): its leases expire
        got = {r["channel_id"]: r for r in status.collect(pg)}
        for cid in (A, B):
            assert (got[cid]["state"], got[cid]["reported_state"], got[cid]["collector"]) == ("stale", "live", None)
            assert got[cid]["collector_down_since"] == renewed[cid]
        code, out = _status(capsys)
        assert code == 0
        line = next(x for x in out.splitlines() if x.startswith(A))
        assert " stale " in line and " live " not in line and " open " not in line  # its socket died with it
        assert f"down since {renewed[A].astimezone(UTC):%Y-%m-%d %H:%M:%S}Z" in line
        assert "collectors: none running: collector down since" in out
        code, out = _status(capsys, "--json")
        rows = [json.loads(x) for x in out.splitlines() if '"channel"' in x]
        assert {(r["state"], r["reported_state"]) for r in rows} == {("stale", "live")}
    finally:
        lease.close()


def test_a_dead_process_of_this_host_is_stale_before_its_lease_expires(pg_url, pg):
    _report_live(pg, A)
    ended = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True,
                           text=True, check=True).stdout.strip()
    dead = Leases(lambda: psycopg2.connect(pg_url), owner=f"{socket.gethostname()}:{ended}:ab", ttl_seconds=600)
    try:
        assert dead.claim({A}) == {A}  # as if that process had taken it, then been killed
    finally:
        dead.close()
    [row] = status.collect(pg)
    assert (row["state"], row["collector"]) == ("stale", None)
    with pg.cursor() as cur:
        assert status.leases.presence(cur)["running"] == []
    pg.commit()


def test_a_clean_stop_is_stale_since_its_last_socket(pg_url, pg):
    _report_live(pg, A)
    lease = Leases(lambda: psycopg2.connect(pg_url), ttl_seconds=60)
    try:
        lease.claim({A})
        with pg, pg.cursor() as cur:  # the socket closes at the stop, then every lease is released
            sessions.op_capture_open("k", A, "c0", datetime.now(UTC), lease.owner, 1)(cur)
            sessions.op_capture_close("k", "stopped", datetime.now(UTC))(cur)
        lease.release()
    finally:
        lease.close()
    [row] = status.collect(pg)
    with pg.cursor() as cur:
        cur.execute("SELECT disconnected_at FROM capture_interval WHERE key = %s", ("k",))
        (closed,) = cur.fetchone()
    pg.commit()
    assert (row["state"], row["collector_down_since"]) == ("stale", closed)
    assert status.format_collectors(status.collectors(pg)) == "collectors: none running"


def _leases(pg) -> list[dict]:
    with pg.cursor() as cur:
        cur.execute("SELECT channel_id, renewed_at FROM channel_lease")
        rows = [{"channel_id": c, "renewed_at": t} for c, t in cur.fetchall()]
    pg.commit()
    return rows


def test_health_says_ok_lagging_or_down_with_the_last_seen_time(pg_url, pg, capsys):
    """The health line (and the dashboard's Overview through dashboard/collector_health.py):
    ok while a collector holds the live channels and they are not behind; lagging when a
    live channel's newest line (here: none, so its broadcast's start) is older than the
    limit; down, with the last lease renewal, once no collector renews."""
    _report_live(pg, A, B)
    lease = Leases(lambda: psycopg2.connect(pg_url), ttl_seconds=1.0, max_channels=0)
    try:
        assert lease.claim({A, B}) == {A, B}
        rows, running = status.collect(pg), status.collectors(pg)
        now = datetime.now(UTC)
        ok = status.health(rows, running, now=now, limit=600)
        assert (ok["state"], ok["lagging"]) == ("ok", []) and ok["last_seen"] == running["last_renewal"]
        assert status.format_health(ok, now).startswith("health: ok; last lease renewal ")
        late = status.health(rows, running, now=now + timedelta(seconds=700), limit=600)
        assert late["state"] == "lagging" and {x["channel_id"] for x in late["lagging"]} == {A, B}
        assert all(x["held"] and x["seconds_behind"] > 600 for x in late["lagging"])
        assert "health: LAGGING: 2 live channel(s) with no line stored for over 10m" in status.format_health(late, now)
        code, out = _status(capsys)
        assert code == 0 and "health: ok" in out  # just reported: not behind
        time.sleep(1.5)  # the collector stops renewing
        rows, running = status.collect(pg), status.collectors(pg)
        down = status.health(rows, running)
        assert down["state"] == "down" and down["last_seen"] == running["last_renewal"] is not None
        code, out = _status(capsys)
        seen = running["last_renewal"].astimezone(UTC)
        assert f"health: DOWN: no collector running; last seen {seen:%Y-%m-%d %H:%M:%S}Z" in out
        code, out = _status(capsys, "--json")
        state = next(json.loads(x) for x in out.splitlines() if '"health"' in x)
        assert state["state"] == "down" and state["last_seen"].startswith(f"{seen:%Y-%m-%d}")
    finally:
        lease.close()


def test_health_of_a_database_no_collector_ever_used(pg):
    assert status.health(status.collect(pg), status.collectors(pg))["state"] == "never"
