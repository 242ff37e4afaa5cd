"""Channel leases (collector.leases) against a real PostgreSQL: fair sharing between
owners, takeover of expired leases, renewal, lost leases, release, and concurrent claims
from threads with their own connections."""
from __future__ import annotations

import threading

import psycopg2
import pytest

from collector.leases import Leases, dead_here, new_owner_id

CHANNELS = {f"{i:032x}" for i in range(1, 5)}


def leases(pg_url, name, ttl=30, max_channels=0):
    return Leases(lambda: psycopg2.connect(pg_url), owner=f"test:{name}", ttl_seconds=ttl, max_channels=max_channels)


def table(pg) -> dict[str, str]:
    """channel -> owner of the unexpired leases."""
    with pg.cursor() as cur:
        cur.execute("SELECT channel_id, owner FROM channel_lease WHERE expires_at > now()")
        rows = dict(cur.fetchall())
    pg.commit()
    return rows


def expire(pg, owner) -> None:
    """What kill -9 leaves behind once LEASE_SECONDS have passed: the owner's rows, expired."""
    with pg.cursor() as cur:
        cur.execute("UPDATE channel_lease SET expires_at = now() - interval '1 second' WHERE owner = %s", (owner,))
        cur.execute("UPDATE lease_owner SET expires_at = now() - interval '1 second' WHERE owner = %s", (owner,))
    pg.commit()


@pytest.mark.unit
def test_owner_id_is_host_pid_random():
    import os
    host, pid, rand = new_owner_id().rsplit(":", 2)
    assert host and int(pid) == os.getpid() and len(rand) == 8
    assert new_owner_id() != new_owner_id()


@pytest.mark.integration
def test_two_owners_split_the_channels_fairly(pg_url, pg):
    a, b = leases(pg_url, "a"), leases(pg_url, "b")
    assert a.claim(CHANNELS) == CHANNELS  # alone: everything
    assert b.claim(CHANNELS) == set()     # all held by a live owner; b is now known to a
    kept = a.claim(CHANNELS)              # b holds nothing yet: one channel for it to take
    assert len(kept) == 3 and a.given_up == CHANNELS - kept
    assert table(pg) == dict.fromkeys(CHANNELS, "test:a"), "given up but not yet released: still a's"
    a.release(a.given_up)                 # after stopping those clients
    assert b.claim(CHANNELS) == CHANNELS - kept
    kept = a.claim(CHANNELS)              # b took it: it wants ours, so a gives up down to its share
    assert len(kept) == 2
    a.release(a.given_up)
    got = b.claim(CHANNELS)
    assert got == CHANNELS - kept
    assert table(pg) == {**dict.fromkeys(kept, "test:a"), **dict.fromkeys(got, "test:b")}
    for _ in range(3):                    # stable: nobody moves any more
        assert a.claim(CHANNELS) == kept and b.claim(CHANNELS) == got


def chat_lines(pg, per_channel: dict[str, int]) -> None:
    """``n`` lines stored just now for each channel: what the weights count."""
    with pg.cursor() as cur:
        for channel, n in per_channel.items():
            cur.execute("INSERT INTO stream_channel (channel_id) VALUES (%s) ON CONFLICT DO NOTHING", (channel,))
            cur.execute("""INSERT INTO stream_chat (channel_fk, message_type, chat_time, raw, dedupe_key)
                           SELECT (SELECT id FROM stream_channel WHERE channel_id = %s), 'CHAT', now(), '{}',
                                  %s || ':' || g FROM generate_series(1, %s) g""", (channel, channel, n))
    pg.commit()


@pytest.mark.integration
def test_heavy_channels_are_spread_by_their_stored_rate(pg_url, pg):
    heavy = {"f" * 31 + "1", "f" * 31 + "2"}
    quiet = {f"{i:032x}" for i in range(1, 9)}
    chat_lines(pg, dict.fromkeys(heavy, 600) | dict.fromkeys(sorted(quiet)[:2], 1))
    a, b = leases(pg_url, "a"), leases(pg_url, "b")
    a.claim(heavy | quiet), b.claim(set())
    for _ in range(4):                    # a took everything alone; b joins; rounds go by
        for x in (a, b):
            x.claim(heavy | quiet)
            x.release(x.given_up)
    assert len(a.owned() & heavy) == len(b.owned() & heavy) == 1, (a.owned(), b.owned())
    assert a.owned() | b.owned() == heavy | quiet and not a.owned() & b.owned()
    before = (a.owned(), b.owned())
    for _ in range(3):                    # and they stay where they are
        assert (a.claim(heavy | quiet), b.claim(heavy | quiet)) == before


@pytest.mark.integration
def test_different_channel_lists_are_all_collected(pg_url, pg):
    mine = {f"{i:032x}" for i in range(10, 20)}
    theirs = {f"{i:032x}" for i in range(20, 30)}
    a, b = leases(pg_url, "a"), leases(pg_url, "b")
    a.claim(set()), b.claim(set())        # both present before either takes anything
    for _ in range(2):
        a.claim(mine), b.claim(theirs)
    assert a.owned() == mine and b.owned() == theirs and not a.given_up and not b.given_up


@pytest.mark.integration
def test_owners_that_start_together_split_at_once(pg_url, pg):
    a, b = leases(pg_url, "a"), leases(pg_url, "b")
    a.claim(set()), b.claim(set())        # both present before either takes anything
    got_a, got_b = a.claim(CHANNELS), b.claim(CHANNELS)
    assert len(got_a) == len(got_b) == 2 and got_a | got_b == CHANNELS


@pytest.mark.integration
def test_expired_lease_is_taken_over_and_reported_lost(pg_url, pg):
    a, b = leases(pg_url, "a"), leases(pg_url, "b")
    assert a.claim(CHANNELS) == CHANNELS
    expire(pg, "test:a")                  # a stopped renewing (paused, partitioned, dead)
    assert b.claim(CHANNELS) == CHANNELS  # a is no longer a live owner: b takes everything
    assert table(pg) == dict.fromkeys(CHANNELS, "test:b")
    assert a.renew() == CHANNELS          # a wakes up: every lease was lost
    assert a.owned() == set() and a.lost == CHANNELS
    assert table(pg) == dict.fromkeys(CHANNELS, "test:b"), "a's renewal must not take them back"


@pytest.mark.integration
def test_claim_reports_a_lost_lease(pg_url, pg):
    a, b = leases(pg_url, "a"), leases(pg_url, "b")
    a.claim(CHANNELS)
    victim = min(CHANNELS)
    with pg.cursor() as cur:
        cur.execute("UPDATE channel_lease SET expires_at = now() - interval '1 second' WHERE channel_id = %s",
                    (victim,))
    pg.commit()
    assert b.claim(CHANNELS) == {victim}  # the only free one
    kept = a.claim(CHANNELS)
    assert a.lost == {victim} and victim not in kept
    assert len(kept) == 2, "b is live now: a's share is 2 (the third is given up)"


@pytest.mark.integration
def test_renew_extends_the_lease(pg_url, pg):
    a, b = leases(pg_url, "a", ttl=30), leases(pg_url, "b")
    a.claim(CHANNELS)
    with pg.cursor() as cur:
        cur.execute("UPDATE channel_lease SET expires_at = now() + interval '1 second'")
    pg.commit()
    assert a.renew() == set()
    with pg.cursor() as cur:
        cur.execute("SELECT min(expires_at - now()) FROM channel_lease WHERE owner = 'test:a'")
        assert cur.fetchone()[0].total_seconds() > 25
    pg.commit()
    b.claim(CHANNELS)
    assert table(pg) == dict.fromkeys(CHANNELS, "test:a")


@pytest.mark.integration
def test_an_expired_lease_of_ours_is_renewed_when_nobody_took_it(pg_url, pg):
    a = leases(pg_url, "a")
    a.claim(CHANNELS)
    expire(pg, "test:a")                  # e.g. the database was down longer than the ttl
    assert a.renew() == set() and a.owned() == CHANNELS
    assert table(pg) == dict.fromkeys(CHANNELS, "test:a")


@pytest.mark.integration
def test_release_frees_at_once(pg_url, pg):
    a, b = leases(pg_url, "a"), leases(pg_url, "b")
    a.claim(CHANNELS)
    b.claim(CHANNELS)
    assert a.release() == 4 and a.owned() == set()
    assert b.claim(CHANNELS) == CHANNELS, "a released everything and left: b takes all"
    with pg.cursor() as cur:
        cur.execute("SELECT owner FROM lease_owner")
        assert [r[0] for r in cur.fetchall()] == ["test:b"]
    pg.commit()


@pytest.mark.integration
def test_channels_no_longer_wanted_are_given_up(pg_url, pg):
    a, b = leases(pg_url, "a"), leases(pg_url, "b")
    a.claim(CHANNELS)
    gone = max(CHANNELS)
    assert a.claim(CHANNELS - {gone}) == CHANNELS - {gone}
    assert a.given_up == {gone}
    assert b.claim({gone}) == set(), "still a's until a releases it"
    a.release({gone})
    assert b.claim({gone}) == {gone}


@pytest.mark.integration
def test_max_channels_per_process(pg_url, pg):
    a, b = leases(pg_url, "a", max_channels=1), leases(pg_url, "b")
    a.claim(set()), b.claim(set())
    assert len(a.claim(CHANNELS)) == 1
    assert len(b.claim(CHANNELS)) == 3, "b takes what the limited a cannot"


@pytest.mark.integration
def test_database_down_keeps_the_current_set(pg_url, pg):
    a = leases(pg_url, "a")
    a.claim(CHANNELS)
    a.close()
    a.conn_factory = lambda: psycopg2.connect(pg_url.replace("/t_", "/missing_t_"), connect_timeout=2)
    assert a.claim(CHANNELS) == CHANNELS and a.renew() == set()
    assert a.last_error is not None
    a.conn_factory = lambda: psycopg2.connect(pg_url)
    assert a.claim(CHANNELS) == CHANNELS and a.last_error is None


@pytest.mark.integration
@pytest.mark.timeout(60)
def test_concurrent_claims_never_double_own(pg_url, pg):
    channels = {f"{i:032x}" for i in range(100, 130)}
    owners = [leases(pg_url, f"t{i}") for i in range(6)]
    start = threading.Barrier(len(owners))
    errors = []
    overlaps = []
    current: dict[str, set[str]] = {}
    guard = threading.Lock()

    def worker(lease: Leases) -> None:
        try:
            start.wait()
            for _ in range(8):
                held = lease.claim(channels)
                with guard:
                    current[lease.owner] = held
                    others = set().union(*(v for k, v in current.items() if k != lease.owner))
                    if held & others:
                        overlaps.append((lease.owner, held & others))
                lease.release(lease.given_up)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(o,)) for o in owners]
    for t in threads:
        t.start()
    for t in threads:
        t.join(50)
    assert not errors, errors
    assert not overlaps, overlaps
    for _ in range(3):  # a few more rounds (one at a time) for the last hand-overs
        for o in owners:
            o.claim(channels)
            o.release(o.given_up)
    final = [o.claim(channels) for o in owners]
    assert not any(o.given_up for o in owners), "settled: nothing more moves"
    assert sum(len(f) for f in final) == len(set().union(*final)), "a channel has two owners"
    assert set().union(*final) == channels, "a channel is left without an owner"
    assert all(len(f) <= 5 for f in final), [len(f) for f in final]  # ceil(30 / 6)
    rows = table(pg)
    for o, f in zip(owners, final, strict=True):
        assert {c for c, owner in rows.items() if owner == o.owner} == f


def ended_pid() -> int:
    import subprocess
    import sys
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.mark.unit
def test_dead_here():
    import os
    import socket
    host = socket.gethostname()
    assert dead_here(f"{host}:{ended_pid()}:ab12")
    assert not dead_here(f"{host}:{os.getpid()}:ab12"), "ourselves"
    assert not dead_here(f"{host}:{os.getppid()}:ab12"), "a live process"
    assert not dead_here(f"elsewhere-{host}:{ended_pid()}:ab12"), "another host: wait for the expiry"
    assert not dead_here("test:a") and not dead_here("h:notapid:x")


@pytest.mark.integration
def test_leases_of_a_dead_process_of_this_host_are_freed_at_once(pg_url, pg):
    import socket
    dead, remote = f"{socket.gethostname()}:{ended_pid()}:dead", f"other-host:{ended_pid()}:far"
    ids = sorted(CHANNELS)
    with pg.cursor() as cur:  # what kill -9 leaves behind, long before the expiry
        for owner, chans in ((dead, ids[:2]), (remote, ids[2:])):
            cur.execute("INSERT INTO lease_owner (owner, expires_at) VALUES (%s, now() + interval '1 hour')", (owner,))
            cur.execute("""INSERT INTO channel_lease (channel_id, owner, expires_at)
                           SELECT c, %s, now() + interval '1 hour' FROM unnest(%s::text[]) AS c""", (owner, chans))
    pg.commit()
    a = leases(pg_url, "a")
    assert a.claim(CHANNELS) == set(ids[:2]), "the dead local owner's channels at once, not the remote's"
    assert table(pg) == {**dict.fromkeys(ids[:2], "test:a"), **dict.fromkeys(ids[2:], remote)}
