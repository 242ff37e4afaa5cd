"""``python -m collector run``: collect the live chat of the configured channels into
PostgreSQL until SIGINT/SIGTERM or the end of ``--duration``. Composition only: chat
clients (collector.client) fill a buffer (collector.buffer) that an APScheduler job
flushes into the sink (collector.sink) every FLUSH_SECONDS, or early when FLUSH_MAX_EVENTS
are waiting. Every GAP_FILL_SECONDS a job fills restart gaps of ended broadcasts from their
replay (VOD) chat (collector.gaps).

Scale-out and cron (``collector.leases``): a channel is collected only under a PostgreSQL
lease, claimed at start and every LEASE_SECONDS/3 together with a re-read of the channel
set, so overlapping cron runs (``run --duration 55m`` every hour) and several processes on
several hosts share the channel list (each takes its fair share) and never collect a
channel twice at once. A lost lease stops that channel's client; a channel given up is
released once its client has closed; a clean stop releases every lease so the next process
takes them at once; a killed process's leases expire after LEASE_SECONDS (they are freed at
once when the process was on this host and its pid is gone, e.g. a restart after kill -9).

Exit codes (the last stderr line says why): 0 clean stop and final flush; 1 the final
flush failed (the records stay in the spool); 2 bad arguments or no channel configured;
3 no channel could be leased during the whole run (all held by other live collectors)."""
from __future__ import annotations

import argparse
import logging
import re
import signal
import sys
import threading
import time
from datetime import UTC, datetime, timedelta

import psycopg2
from apscheduler.schedulers import SchedulerNotRunningError
from apscheduler.schedulers.background import BackgroundScheduler

from collector import channels as channel_set
from collector import gaps, metrics, sessions, sink
from collector.api import Api
from collector.buffer import Buffer, flush
from collector.client import CLOSE_GRACE
from collector.drain_worker import DrainProcess
from collector.leases import SOON_SECONDS, Leases
from collector.lifecycle import Lifecycle
from core import db, sd_notify, settings
from core.cli import one_line

log = logging.getLogger(__name__)

STOP_JOIN_SECONDS = CLOSE_GRACE + 8.0  # per client: graceful close plus a poll in flight
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400}
EXIT_CODES = ("exit codes: 0 clean stop and final flush; 1 final flush failed (records kept in the spool); "
              "2 bad arguments or no channel configured; 3 no channel could be leased during the run "
              "(all held by other live collectors). Channels are shared between processes by PostgreSQL "
              "leases (LEASE_SECONDS, MAX_CHANNELS_PER_PROCESS).")


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
    parser.add_argument("--drain-process", action="store_true",
                        help="parse and store the spool in a child process (receiving and storing then use "
                             "two cores; the spool stays the hand-off)")
    parser.epilog = EXIT_CODES


class Flusher:
    """Stores the buffer through one PostgreSQL connection (reopened after a failure);
    serialised by a lock so the timer job, an early flush and the final flush never overlap."""

    def __init__(self, buffer: Buffer, url: str, drain_process: bool = False):
        self.buffer = buffer
        self.url = url
        self.conn = None
        self.drain = DrainProcess(url) if drain_process else None  # parse + store in a child process
        self.lock = threading.Lock()
        self.totals = {"chat_inserted": 0, "chat_duplicates": 0, "blinds": 0, "events": 0, "dead_letters": 0}
        self.counts = metrics.Counts()
        self.after_flush = None  # called after every flush (metrics)

    def _connect(self) -> None:
        if self.conn is None or self.conn.closed:
            self.conn = db.connect(self.url)

    def _store(self, records: list[dict]) -> sink.StoreReport:
        self._connect()
        t0 = time.monotonic()
        try:
            report = sink.store(self.conn, records)
        except (psycopg2.OperationalError, psycopg2.InterfaceError):
            self.close()  # reopen next time
            raise
        self.counts.add(records, time.monotonic() - t0)
        for key in self.totals:
            self.totals[key] += getattr(report, key)
        return report

    def _store_entries(self, entries: list) -> sink.StoreReport:
        """Store spool entries through the drain process (collector.drain_worker)."""
        t0 = time.monotonic()
        report, counts, parse_s, store_s, _ = self.drain.store(entries)
        self.counts.add_counts(counts, time.monotonic() - t0)
        cpu = self.buffer.spool.cpu
        cpu["parse"] += parse_s
        cpu["store"] += store_s
        for key in self.totals:
            self.totals[key] += getattr(report, key)
        return report

    def flush(self, wait: bool = True) -> None:
        """Flush (see ``Buffer.flush``: it keeps draining while a flood keeps the backlog
        up); ``wait=False`` (the timer) returns at once when a flush is running already."""
        if not self.lock.acquire(blocking=wait):
            return
        try:
            if self.drain is None:
                flush(self.buffer, self._store, ready=self._connect)
            else:
                self.buffer.flush(self._store_entries, ready=self._connect, expand=None)
        finally:
            self.lock.release()
        if self.after_flush is not None:
            self.after_flush()

    def close(self) -> None:
        if self.drain is not None:
            self.drain.close()
        if self.conn is not None:
            try:
                self.conn.close()
            except psycopg2.Error:
                pass
            self.conn = None


def channels_to_collect(conn, wanted: set[str], leases: Leases | None = None) -> set[str]:
    """Which of the wanted (enabled) channels this process collects: those it holds a lease
    on after ``leases.claim`` (its fair share; all of them without ``leases``)."""
    return wanted if leases is None else leases.claim(wanted)


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
    flusher = Flusher(buffer, url, drain_process=args.drain_process)
    if buffer.open():  # a stopped collector's spool: replayed before anything new
        flusher.flush()

    def early_flush() -> None:  # called from a client thread when FLUSH_MAX_EVENTS are waiting
        try:
            scheduler.add_job(flusher.flush, kwargs={"wait": False}, id="early-flush", replace_existing=True,
                              max_instances=1, coalesce=True)
        except SchedulerNotRunningError:
            pass  # stopping: the final flush takes them

    buffer.on_full = early_flush
    # two instances: a timer tick while a flush drains a flood returns at once instead of a
    # "maximum number of running instances" warning every FLUSH_SECONDS
    scheduler.add_job(flusher.flush, "interval", kwargs={"wait": False}, seconds=settings.get_int("FLUSH_SECONDS"),
                      id="flush", max_instances=2, coalesce=True)
    activity = metrics.Activity()  # each channel's newest chat line: its age and lag (metrics)
    lifecycle = Lifecycle(api, activity.records(buffer.add), store, settings.get_int("POLL_SECONDS"),
                          add_frame=activity.frames(buffer.add_frame))
    metrics_file = settings.get("COLLECTOR_METRICS_FILE")

    def take_metrics() -> dict:
        return metrics.snapshot(buffer, flusher.counts, lifecycle.clients(), totals=flusher.totals,
                                activity=activity, leases_held=len(leases.owned()))

    def report_metrics() -> None:  # job and after every flush: state file (status) and textfile
        metrics.write(take_metrics(), metrics_file)

    flusher.after_flush = report_metrics
    scheduler.add_job(report_metrics, "interval", seconds=metrics.METRICS_SECONDS, id="metrics",
                      max_instances=1, coalesce=True)
    leases = Leases(lambda: db.connect(url))
    metrics_server = metrics.serve(take_metrics, url)  # /metrics and /healthz (COLLECTOR_METRICS_PORT)
    wanted_count, ever_held = 0, False

    def refresh_channel_set(first: bool = False) -> None:  # job: the set may change at run time
        nonlocal wanted_count, ever_held
        c = db.connect(url)
        try:
            wanted = _wanted(c, fixed)
            held = channels_to_collect(c, wanted, leases)
        finally:
            c.close()
        wanted_count, ever_held = len(wanted), ever_held or bool(held)
        current = lifecycle.channel_ids()
        lost = current & leases.lost
        given_up = (current & wanted) - held - lost
        if lost:  # another process took them after they expired: stop at once
            lifecycle.set_channels(current - lost, reason="lease lost")
        if given_up:  # beyond our fair share: released once their clients have closed
            lifecycle.set_channels(current - lost - given_up, reason="lease given up")
        added, _ = lifecycle.set_channels(held)
        release_stopped(leases, lifecycle)
        if leases.soon and not first:  # another process gives channels up: take them without a round's wait
            scheduler.modify_job("channel-set", next_run_time=datetime.now(UTC) + timedelta(seconds=SOON_SECONDS))
        if added and not first:
            scheduler.add_job(refresh_info, args=[added], max_instances=1)  # HTTP: not in the lease job
        store.reap()

    def refresh_info(ids: list[str] | None = None) -> None:  # job: names and metadata from the channel endpoint
        c = db.connect(url)
        try:
            channel_set.refresh_info(c, api, sorted(lifecycle.channel_ids() if ids is None else ids))
        finally:
            c.close()

    refresh_channel_set(first=True)
    scheduler.add_job(refresh_channel_set, "interval",  # also renews the leases: every LEASE_SECONDS/3
                      seconds=min(settings.get_int("CHANNEL_REFRESH_SECONDS"), leases.renew_seconds),
                      id="channel-set", max_instances=1, coalesce=True)
    scheduler.add_job(refresh_info, "interval", seconds=settings.get_int("CHANNEL_INFO_SECONDS"),
                      id="channel-info", max_instances=1, coalesce=True, next_run_time=datetime.now(UTC))
    scheduler.add_job(store.heartbeat, "interval", seconds=sessions.HEARTBEAT_SECONDS, id="heartbeat",
                      max_instances=1, coalesce=True)
    gap_api = Api()  # its own HTTP session: replay paging never holds up polling
    scheduler.add_job(fill_gaps, "interval", args=[url, gap_api, stop], seconds=settings.get_int("GAP_FILL_SECONDS"),
                      id="gap-fill", max_instances=1, coalesce=True)

    def on_signal(signum, _frame):
        log.info("received %s; stopping", signal.Signals(signum).name)
        stop.set()

    previous = {s: signal.signal(s, on_signal) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        scheduler.start()
        lifecycle.start()
        log.info("collecting %d channel(s)%s", len(lifecycle.channel_ids()),
                 f" for {args.duration:.0f}s" if args.duration else " until SIGINT/SIGTERM")
        sd_notify.notify("READY=1", f"STATUS=collecting {len(lifecycle.channel_ids())} channel(s)")
        sd_notify.wait(stop, args.duration, alive=lambda: scheduler.running)  # WATCHDOG=1 (systemd)
        sd_notify.notify("STOPPING=1")
        stop.set()  # a gap fill in progress ends after its current replay page
        for cid in lifecycle.stop(STOP_JOIN_SECONDS):  # all close at once, then wait for each
            log.warning("client of %s did not stop within %.0fs", cid, STOP_JOIN_SECONDS)
        scheduler.shutdown(wait=True)
        leases.release()  # every client has closed: the next process may take them at once
        flusher.flush()  # the final flush
        store.close()  # capture intervals closed 'stopped'
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        flusher.close()
        leases.close()
        report_metrics()  # the final numbers (the textfile keeps them; the state file goes)
        if metrics_server is not None:
            metrics_server.close()
        metrics.remove_state(buffer.spool.directory)
        buffer.close()  # what the final flush could not store stays in the spool
        api.close()
        gap_api.close()

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
    if not ever_held:
        why = "database unreachable: " + " ".join(str(leases.last_error).split()) if leases.last_error else \
            "all are held by other live collectors (see the channel_lease table)"
        print(f"collector run: no channel could be leased during the run: {wanted_count} wanted, {why}",
              file=sys.stderr)
        return 3
    return 0


def fill_gaps(url: str, api: Api, stop: threading.Event) -> None:
    """Job: fill restart gaps of ended broadcasts from their replay (``collector.gaps``) on a
    connection of its own; a database that is down only postpones it."""
    try:
        conn = db.connect(url)
    except psycopg2.Error as exc:
        log.warning("gap fill postponed: %s", one_line(exc))
        return
    try:
        gaps.fill_due(conn, api, stop=stop)
    except psycopg2.Error as exc:
        log.warning("gap fill postponed: %s", one_line(exc))
    finally:
        conn.close()


def release_stopped(leases: Leases, lifecycle: Lifecycle) -> int:
    """Release the leases given up (beyond our share, or channels no longer wanted) whose
    clients have closed, waiting a little for them; the others on a later call."""
    given_up = leases.given_up
    if not given_up:
        return 0
    deadline = time.monotonic() + min(CLOSE_GRACE + 1.0, leases.renew_seconds / 2)
    running = {c.channel_id for c in lifecycle.clients()
               if c.channel_id in given_up and not c.join(max(0.0, deadline - time.monotonic()))}
    return leases.release(given_up - running) if given_up - running else 0
