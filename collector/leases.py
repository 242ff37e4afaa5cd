"""Channel leases in PostgreSQL: a channel is collected by one process at a time, so that
overlapping cron runs and several collector processes (on several hosts) share the
channel list safely.

Protocol (tables ``channel_lease`` and ``lease_owner``, migration 004):

- Every process has an owner id ``hostname:pid:random`` and a presence row in
  ``lease_owner`` (with its MAX_CHANNELS_PER_PROCESS), renewed with its leases.
- A process owns a channel while its ``channel_lease`` row names it and has not expired.
  ``claim(wanted)`` runs every ``ttl/3`` seconds, in one transaction serialised by an
  advisory lock (each channel's recent chat rate read before it): renew our leases, decide
  from the whole lease table and the rates what to take and give up (``lease_plan.plan``:
  an equal share of the load among the processes that can take our channels), take free or
  expired leases (``INSERT … ON CONFLICT … DO UPDATE … WHERE expires_at < now()``), and
  give up the others. When another process's plan (run for it on the same table) gives
  channels up, ``soon`` asks the caller to claim again in SOON_SECONDS, not a round later.
- A lease we held whose row now names another owner (it expired while we could not
  renew, and someone took it) is *lost*: the caller must stop that channel's client.
- Leases we give up (beyond our share, or channels no longer wanted) are neither renewed
  nor returned; the caller stops their clients and then calls ``release`` so the next
  process can take them at once (if it never does, they expire after ``ttl``).
- ``release()`` on a clean stop deletes all our leases and our presence row.
- A process that died on *this* host (same hostname, its pid gone) has its leases freed at
  the next claim instead of after ``ttl``, so a restart after ``kill -9`` (or the next cron
  run) collects at once. Processes sharing a hostname must share a pid namespace (the usual
  case: containers get their own hostnames); elsewhere, leases expire after ``ttl``.
- All times come from the database's clock (``now()``), never from the hosts'.
- When the database is unreachable, ``claim``/``renew`` keep the current set (nobody else
  can take our leases while the database is down) and log a warning.
"""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterable

import psycopg2
import psycopg2.extensions

from collector.lease_plan import YOUNG_ROUNDS, Plan, plan
from core import settings

log = logging.getLogger(__name__)

LOCK_KEY = 72316004  # pg_advisory_xact_lock key serialising claims (004: this migration)
SOON_SECONDS = 1.0   # the next claim when another process is about to give channels up
WEIGHT_SECONDS = 30  # a channel's weight: lines stored with a chat_time in the last 30 s, per second
WEIGHT_CAP = 30_000  # counted up to this many lines a channel (1,000 lines/s): bounds the query's cost
# One index probe per channel on stream_chat (channel_fk, chat_time, id), before the lock
WEIGHT_SQL = """SELECT sc.channel_id, (SELECT count(*) FROM (SELECT 1 FROM stream_chat c
                  WHERE c.channel_fk = sc.id AND c.chat_time > now() - make_interval(secs => %(secs)s)
                  LIMIT %(cap)s) AS recent)::float8 / %(secs)s
               FROM stream_channel sc WHERE sc.channel_id = ANY(%(ids)s)"""
_CONN_ERRORS = (psycopg2.OperationalError, psycopg2.InterfaceError)


def new_owner_id() -> str:
    """``hostname:pid:random`` — unique per process, readable in the lease table."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def dead_here(owner: str, host: str | None = None) -> bool:
    """True when ``owner`` (``hostname:pid:random``) names a process of this host that has
    ended. A reused pid reads as alive: the lease then waits for its expiry (safe side)."""
    try:
        owner_host, pid, _ = owner.rsplit(":", 2)
        pid_n = int(pid)
    except ValueError:
        return False
    if owner_host != (host or socket.gethostname()) or pid_n == os.getpid() or pid_n <= 0:
        return False
    try:
        os.kill(pid_n, 0)
    except ProcessLookupError:
        return True
    except PermissionError:
        return False
    return False


class Leases:
    """This process's leases. ``conn_factory()`` returns a new psycopg2 connection (one is
    kept and reopened after a connection failure). Thread-safe."""

    def __init__(self, conn_factory: Callable[[], psycopg2.extensions.connection], owner: str | None = None,
                 ttl_seconds: float | None = None, max_channels: int | None = None):
        self.conn_factory = conn_factory
        self.owner = owner or new_owner_id()
        self.ttl = float(ttl_seconds if ttl_seconds is not None else settings.get_int("LEASE_SECONDS"))
        if max_channels is None:
            max_channels = settings.get_int("MAX_CHANNELS_PER_PROCESS")
        self.max_channels = max_channels if max_channels and max_channels > 0 else None
        self.renew_seconds = self.ttl / 3
        self.lost: set[str] = set()       # lost at the last claim/renew
        self.given_up: set[str] = set()   # ours in the table, not renewed, waiting for release()
        self.last_error: BaseException | None = None
        self._held: set[str] = set()
        self._round = 0                           # claims done: young channels are not given up
        self._taken_round: dict[str, int] = {}    # channel -> the round we took it
        self._free_seen: set[str] = set()         # wanted and free after our last claim
        self._gave: set[str] = set()              # given up for balance, not yet seen taken
        self._pinned: set[str] = set()            # given up and nobody took them: never again
        self._passive: set[str] = set()           # held nothing while ours stayed free
        self.soon = False                         # claim again in SOON_SECONDS (see _expect)
        self._expected: frozenset[str] = frozenset()
        self._expected_since = 0.0
        self._conn = None
        self._lock = threading.Lock()

    # ------------------------------------------------------------------ public
    def owned(self) -> set[str]:
        """The channels we hold (as of the last claim/renew)."""
        return set(self._held)

    def claim(self, wanted: Iterable[str]) -> set[str]:
        """Renew ours, take free or expired leases up to our fair share of ``wanted``, give
        up the rest; return the channels we hold now. Lost leases are in ``self.lost``."""
        wanted = set(wanted)
        with self._lock:
            try:
                return self._in_tx(lambda cur: self._claim(cur, wanted))
            except _CONN_ERRORS as exc:
                return self._db_down("claim", exc)

    def renew(self) -> set[str]:
        """Renew the leases we hold; return the ones lost (taken by another process after
        they expired), which are no longer ours."""
        with self._lock:
            try:
                return self._in_tx(self._renew)
            except _CONN_ERRORS as exc:
                self._db_down("renew", exc)
                return set()

    def release(self, channel_ids: Iterable[str] | None = None) -> int:
        """Delete our leases of ``channel_ids`` (default: all ours, and our presence row),
        so another process can take them at once. Returns the number released."""
        with self._lock:
            try:
                return self._in_tx(lambda cur: self._release(cur, None if channel_ids is None else set(channel_ids)))
            except _CONN_ERRORS as exc:
                log.warning("could not release leases (%s); they expire in %.0fs", _one_line(exc), self.ttl)
                self.last_error = exc
                return 0

    def close(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg2.Error:
                pass
            self._conn = None

    # ------------------------------------------------------------------ transactions
    def _in_tx(self, work):
        if self._conn is None or self._conn.closed:
            self._conn = self.conn_factory()
        try:
            with self._conn, self._conn.cursor() as cur:
                result = work(cur)
        except _CONN_ERRORS:
            self.close()
            raise
        self.last_error = None
        return result

    def _db_down(self, what: str, exc: BaseException) -> set[str]:
        self.last_error, self.lost = exc, set()
        log.warning("lease %s failed (%s); keeping %d channel(s) until the database answers",
                    what, _one_line(exc), len(self._held))
        return set(self._held)

    def _presence(self, cur) -> None:
        cur.execute("""INSERT INTO lease_owner (owner, max_channels, expires_at)
                       VALUES (%s, %s, now() + make_interval(secs => %s))
                       ON CONFLICT (owner) DO UPDATE
                       SET max_channels = EXCLUDED.max_channels, seen_at = now(), expires_at = EXCLUDED.expires_at""",
                    (self.owner, self.max_channels, self.ttl))

    def _weights(self, cur, channels: set[str]) -> dict[str, float]:
        """channel -> lines/s stored over the last WEIGHT_SECONDS (counted up to WEIGHT_CAP)."""
        if not channels:
            return {}
        cur.execute(WEIGHT_SQL, {"ids": sorted(channels), "secs": WEIGHT_SECONDS, "cap": WEIGHT_CAP})
        return dict(cur.fetchall())

    def _claim(self, cur, wanted: set[str]) -> set[str]:
        t0 = time.monotonic()
        cur.execute("SELECT channel_id FROM channel_lease WHERE expires_at > now()")
        weights = self._weights(cur, wanted | {r[0] for r in cur.fetchall()})
        t_weights = time.monotonic() - t0
        cur.execute("SELECT pg_advisory_xact_lock(%s)", (LOCK_KEY,))
        self._free_dead_owners(cur)
        self._presence(cur)
        cur.execute("DELETE FROM lease_owner WHERE expires_at < now()")
        cur.execute("SELECT owner, max_channels FROM lease_owner WHERE expires_at > now()")
        caps = dict(cur.fetchall())
        owners = set(caps)

        cur.execute("SELECT channel_id, owner, expires_at > now() FROM channel_lease ORDER BY acquired_at, channel_id")
        rows = cur.fetchall()
        live = {cid: is_live for cid, _, is_live in rows}
        ours = [cid for cid, owner, _ in rows if owner == self.owner]
        lost = {cid for cid, owner, _ in rows if cid in self._held and owner != self.owner}
        lost |= self._held - live.keys()  # deleted under us (by hand)
        # ours to keep unless the plan gives some up: held before and still wanted (even if
        # expired while the database was away: nobody took them)
        keep = [cid for cid in ours if cid in self._held and cid in wanted][:self.max_channels]
        held_by = {cid: owner for cid, owner, is_live in rows if is_live and owner != self.owner}
        held_by.update(dict.fromkeys(keep, self.owner))
        wanted_now = wanted - self.given_up  # given up, waiting for their clients to close
        free_now = {cid for cid in wanted_now if cid not in held_by}
        orphans = self._gave & self._free_seen & free_now
        if orphans:  # given up, and nobody took them for a whole round: only we want them
            self._pinned |= orphans
            self._passive |= owners - set(held_by.values()) - {self.owner}
            self._gave -= orphans
        counts = Counter(held_by.values())
        full = {o for o, cap in caps.items() if cap and counts[o] >= cap}
        young = {cid for cid in keep if self._taken_round.get(cid, -YOUNG_ROUNDS) > self._round - YOUNG_ROUNDS}
        p = plan(self.owner, wanted_now, held_by, owners, weights, cap=self.max_channels, young=young,
                 pinned=self._pinned, free_before=self._free_seen, passive=self._passive, full=full)
        keep = [cid for cid in keep if cid not in p.give_up]
        self._expect(wanted_now, held_by, owners, weights, caps, full)

        renewed = self._renew_rows(cur, keep)
        acquired = set()
        if p.take:
            cur.execute("""INSERT INTO channel_lease (channel_id, owner, acquired_at, renewed_at, expires_at)
                           SELECT c, %s, now(), now(), now() + make_interval(secs => %s) FROM unnest(%s::text[]) AS c
                           ON CONFLICT (channel_id) DO UPDATE
                           SET owner = EXCLUDED.owner, acquired_at = now(), renewed_at = now(),
                               expires_at = EXCLUDED.expires_at
                           WHERE channel_lease.expires_at < now() OR channel_lease.owner = %s
                           RETURNING channel_id""",
                        (self.owner, self.ttl, p.take, self.owner))
            acquired = {r[0] for r in cur.fetchall()}
        lost |= set(keep) - renewed
        held = renewed | acquired
        self.given_up = (set(ours) | self.given_up) - held - lost
        self._gave = (self._gave | set(p.give_up)) - held
        self._pinned &= held | free_now
        if p.group > 1:  # taken beside others: not handed back at the next round
            self._taken_round.update(dict.fromkeys(acquired, self._round))
        self._free_seen = free_now - acquired
        self._round += 1
        self._note(held, lost, acquired, len(wanted), p, t_weights, t0)
        return set(held)

    def _expect(self, wanted, held_by, owners, weights, caps, full) -> None:
        """``self.soon``: another process's plan (as we see the table, with our channel list)
        gives up channels: claim again in SOON_SECONDS instead of a whole round, so a channel
        handed over is not left uncollected until our next round. For at most 1.5 rounds
        for the same channels (the other may keep them for reasons of its own)."""
        peers = {o for ch, o in held_by.items() if o != self.owner and ch in wanted}
        expected = frozenset(ch for o in sorted(peers) for ch in plan(
            o, wanted, held_by, owners, weights, cap=caps.get(o), full=full).give_up)
        now = time.monotonic()
        if expected != self._expected:
            self._expected, self._expected_since = expected, now
        self.soon = bool(expected) and now - self._expected_since < 1.5 * self.renew_seconds

    def _free_dead_owners(self, cur) -> None:
        cur.execute("""SELECT owner FROM lease_owner WHERE expires_at > now() AND owner <> %s
                       UNION SELECT owner FROM channel_lease WHERE expires_at > now() AND owner <> %s""",
                    (self.owner, self.owner))
        dead = [o for (o,) in cur.fetchall() if dead_here(o)]
        if not dead:
            return
        cur.execute("""UPDATE channel_lease SET expires_at = now() - interval '1 second'
                       WHERE owner = ANY(%s) AND expires_at > now()""", (dead,))
        freed = cur.rowcount
        cur.execute("DELETE FROM lease_owner WHERE owner = ANY(%s)", (dead,))
        log.warning("freed %d lease(s) of %d collector(s) of this host that died: %s", freed, len(dead),
                    ", ".join(dead))

    def _renew_rows(self, cur, channel_ids) -> set[str]:
        if not channel_ids:
            return set()
        cur.execute("""UPDATE channel_lease SET renewed_at = now(), expires_at = now() + make_interval(secs => %s)
                       WHERE owner = %s AND channel_id = ANY(%s) RETURNING channel_id""",
                    (self.ttl, self.owner, list(channel_ids)))
        return {r[0] for r in cur.fetchall()}

    def _renew(self, cur) -> set[str]:
        self._presence(cur)
        renewed = self._renew_rows(cur, sorted(self._held))
        lost = self._held - renewed
        if lost:
            log.warning("lost %d lease(s) to other processes: %s", len(lost), ", ".join(sorted(lost)))
        self.lost = lost
        self._held = renewed
        return set(lost)

    def _release(self, cur, channel_ids: set[str] | None) -> int:
        if channel_ids is None:
            cur.execute("DELETE FROM channel_lease WHERE owner = %s", (self.owner,))
            n = cur.rowcount
            cur.execute("DELETE FROM lease_owner WHERE owner = %s", (self.owner,))
            self._held, self.given_up = set(), set()
        else:
            cur.execute("DELETE FROM channel_lease WHERE owner = %s AND channel_id = ANY(%s)",
                        (self.owner, sorted(channel_ids)))
            n = cur.rowcount
            self._held -= channel_ids
            self.given_up -= channel_ids
        log.info("released %d lease(s)", n)
        return n

    def _note(self, held, lost, acquired, wanted, p: Plan, t_weights, t0) -> None:
        gave_up = self._held - held - lost
        if lost:
            log.warning("lost %d lease(s) to other processes: %s", len(lost), ", ".join(sorted(lost)))
        if acquired or gave_up:
            log.info("leases: %d held of %d wanted, load %.1f lines/s (share %.1f among %d process(es)); "
                     "+%d taken, -%d given up (%.0f ms, weights %.0f ms)", len(held), wanted, p.load, p.share,
                     p.group, len(acquired), len(gave_up), (time.monotonic() - t0) * 1000, t_weights * 1000)
        self.lost = lost
        self._held = held


def presence(cur) -> dict:
    """Who collects now, by the database's clock (read by `collector status`): ``running``,
    the owners whose presence row has not expired and whose process is not known dead on
    this host; ``last_renewal``, the newest renewal by any collector (a lease or a presence
    row), None when none is left (never ran, or every one stopped cleanly and released)."""
    cur.execute("""SELECT coalesce(array_agg(owner ORDER BY owner) FILTER (WHERE expires_at > now()), '{}'),
                          greatest(max(seen_at), (SELECT max(renewed_at) FROM channel_lease))
                     FROM lease_owner""")
    running, last = cur.fetchone()
    return {"running": [o for o in running if not dead_here(o)], "last_renewal": last}


def _one_line(exc: BaseException) -> str:
    return " ".join(str(exc).split()) or type(exc).__name__
