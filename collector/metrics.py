"""What a running collector reports about itself: lines received and stored per channel, rows
stored, duplicates and dead letters, reconnects, each channel's last-message age and lag,
leases held, the spool's backlog (records, bytes, segments, age of the oldest unstored
record), store time and the CPU spent per stage. ``snapshot`` takes the numbers; ``METRICS``
declares, once, how they read in Prometheus. They go:

- to ``SPOOL_DIR/collector-<pid>.state.json`` after every flush and every METRICS_SECONDS:
  read by ``python -m collector status`` (the backlog line) and by the flood bench;
- to ``COLLECTOR_METRICS_FILE`` (when set), at the same times, in Prometheus text format, for
  node_exporter's textfile collector (or any scraper reading a file);
- over HTTP (``serve``) on COLLECTOR_METRICS_ADDRESS:COLLECTOR_METRICS_PORT (127.0.0.1:9464;
  port 0: no server): ``/metrics`` (a fresh snapshot at each scrape) and ``/healthz``
  (ready = PostgreSQL answers and the spool drains: its oldest unstored record is at most
  COLLECTOR_HEALTH_MAX_BACKLOG_SECONDS old). core/metrics_http.py: Host check, GET only.

Files are written to a temporary name and renamed, so a reader never sees half a file."""
from __future__ import annotations

import json
import logging
import os
import resource
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from collector import protocol
from core import hosts, metrics_http, settings

log = logging.getLogger(__name__)

METRICS_SECONDS = 5.0
STATE_GLOB = "collector-*.state.json"
PREFIX = "chzzk_collector_"
ALLOWED_HOSTS = "COLLECTOR_METRICS_ALLOWED_HOSTS"


class Counts:
    """Records stored per channel (the flusher adds each stored batch)."""

    def __init__(self):
        self.stored: Counter[str] = Counter()
        self.store_seconds = 0.0

    def add(self, batch: list[dict], seconds: float) -> None:
        self.stored.update(r.get("channel_id") or "" for r in batch)
        self.store_seconds += seconds

    def add_counts(self, counts: dict[str, int], seconds: float) -> None:
        """As ``add``, with the batch counted per channel already (collector.drain_worker)."""
        self.stored.update(counts)
        self.store_seconds += seconds


class Activity:
    """When each channel last handed chat over, and what: ``records``/``frames`` wrap the
    buffer's ``add``/``add_frame`` (one dict assignment a call; the chat time of the newest
    line is parsed only when a snapshot asks, from the last push kept)."""

    def __init__(self):
        self._last: dict[str, tuple[float, object]] = {}  # channel -> (time.time() on disk, records or push)
        self._newest: dict[str, tuple[object, float | None]] = {}  # channel -> (payload, its newest chat epoch)

    def records(self, add: Callable[[list[dict]], None]) -> Callable[[list[dict]], None]:
        def add_records(records: list[dict]) -> None:
            add(records)
            if records and any(r.get("kind") == "chat" for r in records):
                self._last[records[0].get("channel_id") or ""] = (time.time(), records)
        return add_records

    def frames(self, add_frame: Callable) -> Callable:
        def add_one(frame) -> None:
            add_frame(frame)
            self._last[frame.channel_id] = (time.time(), frame.data)
        return add_one

    def channels(self, now: float) -> dict[str, dict]:
        """channel -> ``last_record_age_seconds`` (since its newest chat line reached the
        spool) and ``lag_seconds`` (how far that line's chat time was behind its arrival:
        CHZZK's delay plus ours, and the clocks' difference; None when unknown)."""
        out = {}
        for channel, (at, payload) in dict(self._last).items():
            seen = self._newest.get(channel)
            if seen is None or seen[0] is not payload:
                seen = (payload, _newest_chat_epoch(payload))
                self._newest[channel] = seen
            lag = None if seen[1] is None else round(at - seen[1], 3)
            out[channel] = {"last_record_age_seconds": round(max(0.0, now - at), 3), "lag_seconds": lag}
        return out


def _newest_chat_epoch(payload) -> float | None:
    try:
        records = protocol.parse_frame(payload) if isinstance(payload, bytes | str) else payload
        times = [r["chat_time"] for r in records if r.get("kind") == "chat" and r.get("chat_time")]
        return datetime.fromisoformat(max(times)).timestamp() if times else None
    except (ValueError, TypeError, KeyError):
        return None


def snapshot(buffer, counts: Counts, clients, *, totals: dict[str, int] | None = None,
             activity: Activity | None = None, leases_held: int | None = None) -> dict:
    """The numbers of one collector process now (JSON-ready). `totals`: the flusher's rows
    stored by kind (collector.run.Flusher.totals)."""
    spool = buffer.spool
    cpu = dict(spool.cpu)
    cpu["receive"] = sum(c.stats.cpu_receive for c in clients)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    received, reconnects = Counter(), Counter()
    for c in clients:
        received[c.channel_id] += c.stats.records
        reconnects[c.channel_id] += c.stats.reconnects
    age = spool.oldest_age()
    now = time.time()
    totals = totals or {}
    return {
        "pid": os.getpid(), "at": now, "spool_dir": str(spool.directory),
        "backlog_records": spool.records, "backlog_bytes": spool.size, "backlog_segments": spool.segments,
        "backlog_age_seconds": None if age is None else round(age, 3),
        "received": buffer.added, "stored": buffer.stored,
        "received_by_channel": dict(received), "stored_by_channel": dict(counts.stored),
        "rows_stored": {"chat": totals.get("chat_inserted", 0), "blinds": totals.get("blinds", 0),
                        "events": totals.get("events", 0)},
        "duplicates": totals.get("chat_duplicates", 0), "dead_letters": totals.get("dead_letters", 0),
        "reconnects_by_channel": dict(reconnects),
        "channels": activity.channels(now) if activity is not None else {},
        "leases_held": leases_held,
        "store_seconds": round(counts.store_seconds, 3), "last_store_at": spool.last_store_at,
        "last_error": None if buffer.last_error is None else " ".join(str(buffer.last_error).split())[:300],
        "stage_cpu_seconds": {k: round(v, 3) for k, v in cpu.items()},
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3), "max_rss_bytes": usage.ru_maxrss * 1024,
    }


@dataclass(frozen=True)
class Metric:
    """One metric: `value(snap)` is a number, or with `label` a {label value: number} dict."""
    name: str
    counter: bool
    help: str
    value: Callable[[dict], object]
    label: str | None = None


def _per_channel(key: str) -> Callable[[dict], dict]:
    return lambda s: {c: v[key] for c, v in s.get("channels", {}).items() if v.get(key) is not None}


METRICS: tuple[Metric, ...] = (
    Metric("lines_received_total", True, "Chat lines (and other data records) spooled, per channel.",
           lambda s: s["received_by_channel"], "channel"),
    Metric("records_stored_total", True, "Records stored in PostgreSQL by this process, per channel.",
           lambda s: s["stored_by_channel"], "channel"),
    Metric("rows_stored_total", True, "Rows inserted into PostgreSQL by this process, per kind (chat lines "
           "new to the table, blind notices, events).", lambda s: s.get("rows_stored", {}), "kind"),
    Metric("duplicates_total", True, "Chat lines stored already (a rejoin's replay, a spool replayed after a "
           "crash), skipped.", lambda s: s.get("duplicates", 0)),
    Metric("dead_letters_total", True, "Records that could not be parsed or stored, kept in dead_letter.",
           lambda s: s.get("dead_letters", 0)),
    Metric("reconnects_total", True, "Chat sessions connected after a channel's first, per channel.",
           lambda s: s.get("reconnects_by_channel", {}), "channel"),
    Metric("channel_last_message_age_seconds", False, "Seconds since the channel's newest chat line reached "
           "the spool (channels that sent one since the process started).",
           _per_channel("last_record_age_seconds"), "channel"),
    Metric("channel_lag_seconds", False, "How far the channel's newest chat line's chat time was behind its "
           "arrival in the spool (CHZZK's delay, ours and the clocks' difference).",
           _per_channel("lag_seconds"), "channel"),
    Metric("leases_held", False, "Channels this process holds a lease on (collector/leases.py).",
           lambda s: s.get("leases_held")),
    Metric("spool_backlog_records", False, "Records in the spool not stored yet.", lambda s: s["backlog_records"]),
    Metric("spool_backlog_bytes", False, "Bytes in the spool not stored yet.", lambda s: s["backlog_bytes"]),
    Metric("spool_segments", False, "Spool segment files holding unstored records.",
           lambda s: s.get("backlog_segments")),
    Metric("spool_backlog_age_seconds", False, "Age of the oldest unstored record (0: none).",
           lambda s: s["backlog_age_seconds"] or 0),
    Metric("store_seconds_total", True, "Seconds spent in store calls.", lambda s: s["store_seconds"]),
    Metric("last_store_timestamp_seconds", False, "Unix time of the last successful store (0: none yet).",
           lambda s: s["last_store_at"] or 0),
    Metric("stage_cpu_seconds_total", True, "Thread CPU seconds per stage of the path.",
           lambda s: s["stage_cpu_seconds"], "stage"),
    Metric("cpu_seconds_total", True, "CPU seconds (user+system) of the process.", lambda s: s["cpu_seconds"]),
    Metric("max_resident_memory_bytes", False, "Peak resident memory of the process.", lambda s: s["max_rss_bytes"]),
)


def families(snap: dict):
    """``snap`` as prometheus-client metric families (``METRICS``; a value None is left out)."""
    return (metrics_http.family(PREFIX, m, m.value(snap)) for m in METRICS)


def registry(take: Callable[[], dict]):
    """A registry whose every scrape takes a fresh snapshot (``take``)."""
    return metrics_http.registry(lambda: families(take()))


def prometheus(snap: dict) -> str:
    """``snap`` in the Prometheus text exposition format (0.0.4)."""
    return metrics_http.exposition(lambda: families(snap))


def state_path(spool_dir: str | os.PathLike, pid: int | None = None) -> Path:
    return Path(spool_dir) / f"collector-{pid or os.getpid()}.state.json"


def write(snap: dict, metrics_file: str | None) -> None:
    """The state file in the spool folder and, with ``metrics_file``, the Prometheus textfile;
    a failure is logged, never raised (metrics must not stop collection)."""
    try:
        metrics_http.write_textfile(state_path(snap["spool_dir"], snap["pid"]), json.dumps(snap))
        if metrics_file:
            metrics_http.write_textfile(metrics_file, prometheus(snap))
    except OSError as exc:
        log.warning("metrics not written: %s", exc)


def remove_state(spool_dir: str | os.PathLike) -> None:
    state_path(spool_dir).unlink(missing_ok=True)


def health(snap: dict, url: str, max_backlog_seconds: float) -> metrics_http.Page:
    """/healthz: ready when PostgreSQL answers and the spool drains (its oldest unstored
    record is at most `max_backlog_seconds` old)."""
    reasons = []
    if (down := metrics_http.pg_probe(url)) is not None:
        reasons.append(down)
    age = snap["backlog_age_seconds"]
    if age is not None and age > max_backlog_seconds:
        reasons.append(f"spool not draining: its oldest unstored record is {age:.0f} s old (more than "
                       f"COLLECTOR_HEALTH_MAX_BACKLOG_SECONDS={max_backlog_seconds:g}); "
                       f"{snap['backlog_records']} records wait")
    return metrics_http.health_page(reasons, backlog_records=snap["backlog_records"], backlog_age_seconds=age,
                                    last_store_at=snap["last_store_at"], leases_held=snap.get("leases_held"))


def serve(take: Callable[[], dict], url: str) -> metrics_http.Server | None:
    """/metrics and /healthz on COLLECTOR_METRICS_ADDRESS:COLLECTOR_METRICS_PORT (port 0: not
    served, None); a port that cannot be bound or a bad COLLECTOR_METRICS_ALLOWED_HOSTS is
    logged and the collector goes on without (metrics must not stop collection)."""
    port = settings.get_int("COLLECTOR_METRICS_PORT")
    if port <= 0:
        return None
    address = settings.get("COLLECTOR_METRICS_ADDRESS") or "127.0.0.1"
    try:
        policy = hosts.policy(ALLOWED_HOSTS, settings.get(ALLOWED_HOSTS), any_address=True)
    except ValueError as exc:
        log.error("metrics and health not served: %s; collecting without them", exc)
        return None
    max_age = float(settings.get_int("COLLECTOR_HEALTH_MAX_BACKLOG_SECONDS"))
    lock = threading.Lock()  # one snapshot at a time (scrapes run in threads of their own)

    def locked() -> dict:
        with lock:
            return take()

    routes = {"/metrics": lambda: metrics_http.metrics_page(registry(locked)),
              "/healthz": lambda: health(locked(), url, max_age)}
    try:
        server = metrics_http.start(address, port, routes, policy, ALLOWED_HOSTS)
    except OSError as exc:
        log.warning("metrics and health not served on %s:%d (COLLECTOR_METRICS_ADDRESS/PORT): %s; collecting "
                    "without them", address, port, exc)
        return None
    shown = f"[{address}]" if ":" in address else address  # an IPv6 literal
    log.info("metrics on http://%s:%d/metrics, health on /healthz", shown, server.port)
    return server


def read_states(spool_dir: str | os.PathLike) -> list[dict]:
    """The state files of collectors still running on this host (others are stale)."""
    states = []
    for path in sorted(Path(spool_dir).glob(STATE_GLOB)):
        try:
            snap = json.loads(path.read_text(encoding="utf-8"))
            os.kill(int(snap["pid"]), 0)
        except (OSError, ValueError, KeyError, TypeError):
            continue  # unreadable, or its process is gone (ProcessLookupError is an OSError)
        states.append(snap)
    return states
