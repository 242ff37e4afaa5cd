"""``python -m collector run``: collect the live chat of the configured channels into
PostgreSQL until SIGINT/SIGTERM or the end of ``--duration``. Composition only: chat
clients (collector.client) fill a buffer (collector.buffer) that an APScheduler job
flushes into the sink (collector.sink) every FLUSH_SECONDS, or early when FLUSH_MAX_EVENTS
are waiting. Exit 0 after a clean stop and final flush; 1 when the final flush failed
(the message says how many records were not stored); 2 when no channel is configured."""
from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import threading
import time
from datetime import UTC, datetime

import psycopg2
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler

from collector import channels as channel_set
from collector import sessions, sink
from collector.api import Api
from collector.buffer import Buffer, flush
from collector.client import CLOSE_GRACE
from collector.lifecycle import Lifecycle
from core import db, settings

log = logging.getLogger(__name__)

STOP_JOIN_SECONDS = CLOSE_GRACE + 8.0  # per client: graceful close plus a poll in flight
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_duration(text: str) -> float:
    """'30s', '55m', '2h', '1d' or plain seconds -> seconds."""
    m = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([smhd]?)\s*", text or "")
    if not m or float(m.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"invalid duration {text!r}: use e.g. 30s, 55m, 2h")
    return float(m.group(1)) * _UNITS[m.group(2) or "s"]


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channel", action="append", metavar="ID",
                        help="32-hex channel id to collect (repeatable; default: CHZZK_CHANNELS)")
    parser.add_argument("--duration", type=parse_duration, metavar="55m",
                        help="stop after this long (30s, 55m, 2h); default: run until SIGINT/SIGTERM")


class Flusher:
    """Stores the buffer through one PostgreSQL connection (reopened after a failure);
    serialised by a lock so the timer job, an early flush and the final flush never overlap."""

    def __init__(self, buffer: Buffer, url: str):
        self.buffer = buffer
        self.url = url
        self.conn = None
        self.lock = threading.Lock()
        self.totals = {"chat_inserted": 0, "chat_duplicates": 0, "blinds": 0, "events": 0, "dead_letters": 0}

    def _store(self, records: list[dict]) -> sink.StoreReport:
        if self.conn is None or self.conn.closed:
            self.conn = db.connect(self.url)
        try:
            report = sink.store(self.conn, records)
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            self.close()  # reopen next time
            raise
        for key in self.totals:
            self.totals[key] += getattr(report, key)
        return report

    def flush(self) -> None:
        with self.lock:
            flush(self.buffer, self._store)

    def close(self) -> None:
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg2.Error:
                pass
            self.conn = None


def channels_to_collect(conn, wanted: set[str]) -> set[str]:
    """Which of the wanted (enabled) channels this process collects (all of them, unless
    leases share them out between processes)."""
    return wanted


def _wanted(conn, fixed: list[str]) -> set[str]:
    """--channel ids as given, else the channel set (collector.channels)."""
    if fixed:
        with conn:
            sink.upsert_channels(conn, [{"channel_id": c} for c in fixed])
        return set(fixed)
    return channel_set.wanted(conn)


def run(args: argparse.Namespace) -> int:
    fixed = list(dict.fromkeys(args.channel or []))
    t0 = time.monotonic()
    url = db.database_url()
    api = Api()
    conn = db.connect(url)
    if not _wanted(conn, fixed):
        conn.close()
        print("collector run: no channel to collect: pass --channel ID, set CHZZK_CHANNELS or "
              "CHZZK_CHANNELS_FILE, or run `python -m collector channels add ID`", file=sys.stderr)
        return 2
    store = sessions.SessionStore(url)
    with conn, conn.cursor() as cur:
        if died := sessions.close_dead_intervals(cur, store.owner):
            log.warning("closed %d capture interval(s) of a collector that died ('process died')", died)
    conn.close()

    stop = threading.Event()
    scheduler = BackgroundScheduler(timezone="UTC")
    buffer = Buffer(settings.get_int("FLUSH_MAX_EVENTS"), spool_dir=settings.spool_dir())
    flusher = Flusher(buffer, url)
    if buffer.open():  # a stopped collector's spool: replayed before anything new
        flusher.flush()

    def early_flush() -> None:  # called from a client thread when FLUSH_MAX_EVENTS are waiting
        try:
            scheduler.add_job(flusher.flush, id="early-flush", replace_existing=True,
                              max_instances=1, coalesce=True)
        except SchedulerNotRunningError:
            pass  # stopping: the final flush takes them

    buffer.on_full = early_flush
    scheduler.add_job(flusher.flush, "interval", seconds=settings.get_int("FLUSH_SECONDS"), id="flush",
                      max_instances=1, coalesce=True)
    lifecycle = Lifecycle(api, buffer.add, store, settings.get_int("POLL_SECONDS"))

    def refresh_channel_set(first: bool = False) -> None:  # job: the set may change at run time
        c = db.connect(url)
        try:
            added, _ = lifecycle.set_channels(channels_to_collect(c, _wanted(c, fixed)))
            if added and not first:
                channel_set.refresh_info(c, api, added)
        finally:
            c.close()
        store.reap()

    def refresh_info() -> None:  # job: names and metadata from the channel endpoint
        c = db.connect(url)
        try:
            channel_set.refresh_info(c, api, sorted(lifecycle.channel_ids()))
        finally:
            c.close()

    refresh_channel_set(first=True)
    scheduler.add_job(refresh_channel_set, "interval", seconds=settings.get_int("CHANNEL_REFRESH_SECONDS"),
                      id="channel-set", max_instances=1, coalesce=True)
    scheduler.add_job(refresh_info, "interval", seconds=settings.get_int("CHANNEL_INFO_SECONDS"),
                      id="channel-info", max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(store.heartbeat, "interval", seconds=sessions.HEARTBEAT_SECONDS, id="heartbeat",
                      max_instances=1, coalesce=True)

    def on_signal(signum, _frame):
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        scheduler.start()
        lifecycle.start()
        log.info("collecting %d channel(s)%s", len(lifecycle.channel_ids()),
                 f" for {args.duration:.0f}s" if args.duration else " until SIGINT/SIGTERM")
        stop.wait(args.duration)
        for cid in lifecycle.stop(STOP_JOIN_SECONDS):  # all close at once, then wait for each
            log.warning("client of %s did not stop within %.0fs", cid, STOP_JOIN_SECONDS)
        scheduler.shutdown(wait=True)
        flusher.flush()  # the final flush
        store.close()  # capture intervals closed 'stopped'
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        flusher.close()
        buffer.close()  # what the final flush could not store stays in the spool
        api.close()

    totals = flusher.totals
    log.info("summary: %d chat rows inserted, %d duplicates, %d blinds, %d events, %d dead letters, "
             "%d records received, %d reconnects, %.1fs",
             totals["chat_inserted"], totals["chat_duplicates"], totals["blinds"], totals["events"],
             totals["dead_letters"], buffer.added, sum(c.stats.reconnects for c in lifecycle.clients()),
             time.monotonic() - t0)
    left = len(buffer)
    if left:
        reason = " ".join(str(buffer.last_error).split())  # psycopg2 messages span lines
        print(f"collector run: error: final flush failed ({reason}); {left} records were not stored yet: "
              f"they stay in the spool {buffer.spool.directory} and are replayed at the next start "
              "(nothing is lost)", file=sys.stderr)
        return 1
    return 0
