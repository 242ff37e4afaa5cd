"""Broadcast and capture bookkeeping in PostgreSQL (tables of migration 003): live_session,
live_session_poll, channel_unavailable, capture_interval and stream_channel.live_state.

Chat clients and pollers call ``SessionStore`` methods from their own threads; each call
only puts an operation on a queue, so a slow or absent database never blocks collection.
One writer thread applies the queued operations in order, in small transactions, and
keeps retrying (with backoff) while the database is down. Every operation is written so
that a retry is harmless (client-made keys, ``ON CONFLICT``, conditional updates).

``close_dead_intervals`` (called at start and periodically) closes intervals left open by
a process that died: its pid is gone (same host) or its heartbeat is older than
STALE_SECONDS; the interval ends at its last known time (latest heartbeat or chat line).
"""
from __future__ import annotations

import logging
import os
import queue
import secrets
import socket
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime

import psycopg2

from collector.answers import LiveStatus
from core import db

log = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 15.0    # open intervals get last_seen_at this often
STALE_SECONDS = 90.0        # an open interval without a heartbeat for this long is dead
RETRY_FIRST, RETRY_MAX = 0.5, 10.0
BATCH_MAX = 500             # operations taken from the queue at once
# capture intervals that our client closed itself, reading the frames in flight until the
# server's close frame: every line aired until disconnected_at (less CLOCK_MARGIN seconds for
# the server's clock and the delivery) was read, and stored by that process's final flush
GRACEFUL_REASONS = ("stopped", "lease given up", "lease lost", "channel removed", "broadcast closed")
CLOCK_MARGIN = 2.0

Op = Callable[[object], None]  # fn(cursor)


def owner_id() -> str:
    """hostname:pid:random, the same shape as the lease owner (migration 004)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(4)}"


def utcnow() -> datetime:
    return datetime.now(UTC)


def _channel_fk(cur, channel_id: str) -> int:
    cur.execute("INSERT INTO stream_channel (channel_id) VALUES (%s) ON CONFLICT (channel_id) DO NOTHING",
                (channel_id,))
    cur.execute("SELECT id FROM stream_channel WHERE channel_id = %s", (channel_id,))
    return cur.fetchone()[0]


# ------------------------------------------------------------------ operations (cursor -> None)
def op_open_session(channel_id: str, st: LiveStatus, at: datetime) -> Op:
    """The broadcast ``st.chat_channel_id`` is live: insert it (once), close the channel's
    other open sessions ('new chat channel'), mark the channel live."""
    def run(cur):
        fk = _channel_fk(cur, channel_id)
        cur.execute("""
            INSERT INTO live_session (channel_fk, chat_channel_id, opened_at, live_title, category_type,
                                      live_category, live_category_value, adult, open_date)
            VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)
            ON CONFLICT (channel_fk, chat_channel_id) DO UPDATE SET closed_at = NULL, close_reason = NULL
             WHERE live_session.closed_at IS NOT NULL""",  # the same broadcast seen OPEN again
                    (fk, st.chat_channel_id, at, st.live_title, st.category_type, st.live_category,
                     st.live_category_value, st.adult, st.open_date))
        cur.execute("""UPDATE live_session SET closed_at = %s, close_reason = 'new chat channel'
                        WHERE channel_fk = %s AND closed_at IS NULL AND chat_channel_id <> %s""",
                    (at, fk, st.chat_channel_id))
        _set_state(cur, fk, "live", None, at)
    return run


def op_close_sessions(channel_id: str, reason: str, at: datetime, state: str = "offline",
                      state_reason: str | None = None) -> Op:
    """Close every open session of the channel (closed_at, close_reason) and set its state."""
    def run(cur):
        fk = _channel_fk(cur, channel_id)
        cur.execute("""UPDATE live_session SET closed_at = greatest(%s, opened_at), close_reason = %s
                        WHERE channel_fk = %s AND closed_at IS NULL""", (at, reason, fk))
        _set_state(cur, fk, state, state_reason, at)
    return run


def _set_state(cur, fk: int, state: str, reason: str | None, at: datetime) -> None:
    cur.execute("""UPDATE stream_channel SET live_state = %s, live_state_reason = %s, live_state_at = %s
                    WHERE id = %s AND (live_state IS DISTINCT FROM %s OR live_state_reason IS DISTINCT FROM %s)""",
                (state, reason, at, fk, state, reason))
    if state != "unavailable":
        cur.execute("UPDATE channel_unavailable SET cleared_at = %s WHERE channel_fk = %s AND cleared_at IS NULL",
                    (at, fk))


def op_poll(channel_id: str, st: LiveStatus, at: datetime) -> Op:
    """One timeline row for the channel's session ``st.chat_channel_id``."""
    def run(cur):
        fk = _channel_fk(cur, channel_id)
        cur.execute("""INSERT INTO live_session_poll (session_fk, polled_at, status, live_title,
                                                      live_category_value, concurrent_user_count)
                       SELECT id, %s, %s, %s, %s, %s FROM live_session
                        WHERE channel_fk = %s AND chat_channel_id = %s""",
                    (at, st.status, st.live_title, st.live_category_value, st.concurrent_user_count,
                     fk, st.chat_channel_id))
        cur.execute("""UPDATE live_session SET live_title = coalesce(%s, live_title),
                              live_category_value = coalesce(%s, live_category_value),
                              category_type = coalesce(%s, category_type),
                              live_category = coalesce(%s, live_category)
                        WHERE channel_fk = %s AND chat_channel_id = %s""",
                    (st.live_title, st.live_category_value, st.category_type, st.live_category,
                     fk, st.chat_channel_id))
    return run


def op_unavailable(channel_id: str, st: LiveStatus, at: datetime) -> Op:
    """Live without a chat channel: start (or extend) the episode with this reason."""
    def run(cur):
        fk = _channel_fk(cur, channel_id)
        cur.execute("""UPDATE live_session SET closed_at = greatest(%s, opened_at), close_reason = 'unavailable'
                        WHERE channel_fk = %s AND closed_at IS NULL""", (at, fk))
        cur.execute("""UPDATE channel_unavailable SET cleared_at = %s
                        WHERE channel_fk = %s AND cleared_at IS NULL AND reason <> %s""", (at, fk, st.reason))
        cur.execute("""UPDATE channel_unavailable SET last_seen_at = %s, live_title = coalesce(%s, live_title)
                        WHERE channel_fk = %s AND cleared_at IS NULL""", (at, st.live_title, fk))
        if cur.rowcount == 0:
            cur.execute("""INSERT INTO channel_unavailable (channel_fk, reason, live_title, first_seen_at, last_seen_at)
                           VALUES (%s, %s, %s, %s, %s)""", (fk, st.reason, st.live_title, at, at))
        _set_state(cur, fk, "unavailable", st.reason, at)
    return run


def op_capture_open(key: str, channel_id: str, chat_channel_id: str, at: datetime, owner: str,
                    server: int | None) -> Op:
    def run(cur):
        fk = _channel_fk(cur, channel_id)
        cur.execute("""
            INSERT INTO capture_interval (key, channel_fk, session_fk, chat_channel_id, connected_at,
                                          owner, server, last_seen_at)
            VALUES (%s, %s, (SELECT id FROM live_session WHERE channel_fk = %s AND chat_channel_id = %s),
                    %s, %s, %s, %s, %s)
            ON CONFLICT (key) DO NOTHING""", (key, fk, fk, chat_channel_id, chat_channel_id, at, owner,
                                              server, at))
    return run


def op_capture_close(key: str, reason: str, at: datetime) -> Op:
    def run(cur):
        cur.execute("""UPDATE capture_interval SET disconnected_at = greatest(%s, connected_at), reason = %s,
                              last_seen_at = %s
                        WHERE key = %s AND disconnected_at IS NULL""", (at, reason, at, key))
    return run


def op_capture_gap(key: str, channel_id: str, chat_channel_id: str, gap_from: str | None, gap_to: str,
                   at: datetime) -> Op:
    """Record a restart gap found by the join of capture interval ``key`` (collector.gaps).
    Without ``gap_from`` (the first join of this process) only when an earlier capture
    interval of the chat channel exists (otherwise it is the broadcast's first join, and
    the minutes before it count as not captured in broadcast_coverage, not as a gap) and
    none that we closed ourselves (GRACEFUL_REASONS: every line aired until then was read)
    ended CLOCK_MARGIN or more after the replay's oldest line: that one overlaps the replay."""
    def run(cur):
        fk = _channel_fk(cur, channel_id)
        cur.execute("""
            INSERT INTO capture_gap (key, channel_fk, chat_channel_id, gap_from, gap_to, found_at, next_attempt_at)
            SELECT %(key)s, %(fk)s, %(cid)s, %(from)s, %(to)s, %(at)s, %(at)s
             WHERE %(from)s::timestamptz IS NOT NULL
                OR EXISTS (SELECT 1 FROM capture_interval p
                            WHERE p.channel_fk = %(fk)s AND p.chat_channel_id = %(cid)s AND p.key <> %(key)s
                              AND p.connected_at <= %(at)s)
               AND NOT EXISTS (SELECT 1 FROM capture_interval p
                                WHERE p.channel_fk = %(fk)s AND p.chat_channel_id = %(cid)s AND p.key <> %(key)s
                                  AND p.reason = ANY(%(graceful)s) AND p.connected_at <= %(to)s
                                  AND p.disconnected_at >= %(to)s::timestamptz + make_interval(secs => %(margin)s))
            ON CONFLICT (key) DO NOTHING""",
                    {"key": key, "fk": fk, "cid": chat_channel_id, "from": gap_from, "to": gap_to, "at": at,
                     "graceful": list(GRACEFUL_REASONS), "margin": CLOCK_MARGIN})
        if cur.rowcount:
            log.warning("restart gap of %s (chat channel %s) %s..%s recorded: to be filled from the replay (VOD) "
                        "after the broadcast", channel_id, chat_channel_id,
                        gap_from or "the newest line stored before", gap_to)
    return run


def op_heartbeat(keys: list[str], at: datetime) -> Op:
    def run(cur):
        cur.execute("""UPDATE capture_interval SET last_seen_at = %s
                        WHERE key = ANY(%s) AND disconnected_at IS NULL""", (at, keys))
    return run


def close_dead_intervals(cur, my_owner: str, stale_seconds: float = STALE_SECONDS) -> int:
    """Close open intervals of dead processes with 'process died' at their last known time:
    a process on this host whose pid is gone, or any whose heartbeat is older than
    ``stale_seconds``. Returns how many were closed."""
    host = my_owner.split(":", 1)[0]
    cur.execute("""SELECT key, owner FROM capture_interval
                    WHERE disconnected_at IS NULL AND owner IS DISTINCT FROM %s""", (my_owner,))
    dead = []
    for key, owner in cur.fetchall():
        parts = (owner or "").split(":")
        if len(parts) == 3 and parts[0] == host and parts[1].isdigit() and not _pid_alive(int(parts[1])):
            dead.append(key)
    cur.execute("""
        UPDATE capture_interval ci
           SET reason = 'process died',
               disconnected_at = greatest(ci.connected_at, ci.last_seen_at,
                   (SELECT max(sc.chat_time) FROM stream_chat sc
                     WHERE sc.channel_fk = ci.channel_fk AND sc.chat_channel_id = ci.chat_channel_id
                       AND sc.chat_time >= ci.connected_at
                       AND sc.chat_time <= coalesce(ci.last_seen_at, ci.connected_at) + make_interval(secs => %s)))
         WHERE ci.disconnected_at IS NULL AND ci.owner IS DISTINCT FROM %s
           AND (ci.key = ANY(%s) OR coalesce(ci.last_seen_at, ci.connected_at) < now() - make_interval(secs => %s))""",
                (HEARTBEAT_SECONDS, my_owner, dead, stale_seconds))
    return cur.rowcount


def _pid_alive(pid: int) -> bool:
    if pid == os.getpid():
        return True
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


class SessionStore:
    """Queues bookkeeping operations and applies them in order on one writer thread."""

    def __init__(self, url: str, owner: str | None = None):
        self.url = url
        self.owner = owner or owner_id()
        self._queue: queue.Queue[Op | None] = queue.Queue()
        self._open: set[str] = set()          # capture keys open in this process
        self._lock = threading.Lock()
        self._conn = None
        self._closed = threading.Event()
        self.applied = 0
        self._thread = threading.Thread(target=self._writer, name="session-store", daemon=True)
        self._thread.start()

    # ---- what the collector calls (never blocks on the database)
    def put(self, op: Op) -> None:
        self._queue.put(op)

    def capture_opened(self, channel_id: str, chat_channel_id: str, server: int | None = None) -> str:
        """A socket reached CONNECTED: open a capture interval; returns its key."""
        key = secrets.token_hex(12)
        with self._lock:
            self._open.add(key)
        self.put(op_capture_open(key, channel_id, chat_channel_id, utcnow(), self.owner, server))
        return key

    def capture_closed(self, key: str, reason: str) -> None:
        with self._lock:
            self._open.discard(key)
        self.put(op_capture_close(key, reason, utcnow()))

    def capture_gap(self, key: str, channel_id: str, chat_channel_id: str, gap_from: str | None,
                    gap_to: str) -> None:
        self.put(op_capture_gap(key, channel_id, chat_channel_id, gap_from, gap_to, utcnow()))

    def heartbeat(self) -> None:
        with self._lock:
            keys = sorted(self._open)
        if keys:
            self.put(op_heartbeat(keys, utcnow()))

    def reap(self) -> None:
        """Queue ``close_dead_intervals`` (other processes' leftovers)."""
        def run(cur):
            n = close_dead_intervals(cur, self.owner)
            if n:
                log.warning("closed %d capture interval(s) left open by a dead collector ('process died')", n)
        self.put(run)

    # ---- writer
    def wait_idle(self, timeout: float = 10.0) -> bool:
        """Block until every queued operation is applied (True) or ``timeout`` passes."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self._queue.unfinished_tasks == 0:
                return True
            time.sleep(0.02)
        return False

    def close(self, timeout: float = 5.0) -> None:
        """Apply what is queued (up to ``timeout``), then end the writer."""
        if not self.wait_idle(timeout):
            log.warning("session store: %d bookkeeping operation(s) not written at stop",
                        self._queue.unfinished_tasks)
        self._closed.set()
        self._queue.put(None)
        self._thread.join(timeout)
        if self._conn is not None:
            self._conn.close()

    def _writer(self) -> None:
        delay = RETRY_FIRST
        while True:
            first = self._queue.get()
            if first is None:
                self._queue.task_done()
                return
            batch = [first]
            while len(batch) < BATCH_MAX:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is None:
                    self._queue.put(None)  # seen after this batch
                    self._queue.task_done()
                    break
                batch.append(nxt)
            pending = list(batch)
            while pending:
                try:
                    self._apply(pending)
                    delay = RETRY_FIRST
                except (psycopg2.OperationalError, psycopg2.InterfaceError) as exc:  # down, deadlock: retry
                    self._drop_conn()
                    if self._closed.is_set():
                        log.warning("session store: %d operation(s) lost at stop: %s", len(pending),
                                    " ".join(str(exc).split()))
                        break
                    log.warning("session store: database write failed (%s); retrying in %.1fs",
                                " ".join(str(exc).split())[:200], delay)
                    self._closed.wait(delay)
                    delay = min(delay * 2, RETRY_MAX)
                except Exception as exc:  # noqa: BLE001 - a bad operation must not take the others with it
                    log.error("session store: operation skipped: %s", " ".join(str(exc).split())[:300])
                    pending.pop(0)
                    self._drop_conn()
            for _ in batch:
                self._queue.task_done()

    def _apply(self, pending: list[Op]) -> None:
        """Apply and remove operations from the front of ``pending``, one transaction each
        (so that a transaction locks at most one stream_channel row: no deadlocks with the
        sink or the channel refresh, and a retry never repeats a committed operation)."""
        if self._conn is None or self._conn.closed:
            self._conn = db.connect(self.url)
        while pending:
            with self._conn, self._conn.cursor() as cur:
                pending[0](cur)
            pending.pop(0)
            self.applied += 1

    def _drop_conn(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            except psycopg2.Error:
                pass
            self._conn = None
