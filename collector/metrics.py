"""What a running collector reports about itself: lines received and stored per channel, the
spool's backlog (records, bytes, age of the oldest unstored record), store time and the
CPU spent per stage. Written after every flush and every METRICS_SECONDS:

- ``SPOOL_DIR/collector-<pid>.state.json``: read by ``python -m collector status`` (the
  backlog line) and by the flood bench;
- ``COLLECTOR_METRICS_FILE`` (when set): the same in Prometheus text format, for
  node_exporter's textfile collector (or any scraper reading a file).

Both are written to a temporary name and renamed, so a reader never sees half a file."""
from __future__ import annotations

import json
import logging
import os
import resource
import time
from collections import Counter
from pathlib import Path

log = logging.getLogger(__name__)

METRICS_SECONDS = 5.0
STATE_GLOB = "collector-*.state.json"
PREFIX = "chzzk_collector_"


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


def snapshot(buffer, counts: Counts, clients) -> dict:
    """The numbers of one collector process now (JSON-ready)."""
    spool = buffer.spool
    cpu = dict(spool.cpu)
    cpu["receive"] = sum(c.stats.cpu_receive for c in clients)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    received = Counter()
    for c in clients:
        received[c.channel_id] += c.stats.records
    age = spool.oldest_age()
    return {
        "pid": os.getpid(), "at": time.time(), "spool_dir": str(spool.directory),
        "backlog_records": spool.records, "backlog_bytes": spool.size, "backlog_segments": spool.segments,
        "backlog_age_seconds": None if age is None else round(age, 3),
        "received": buffer.added, "stored": buffer.stored,
        "received_by_channel": dict(received), "stored_by_channel": dict(counts.stored),
        "store_seconds": round(counts.store_seconds, 3), "last_store_at": spool.last_store_at,
        "last_error": None if buffer.last_error is None else " ".join(str(buffer.last_error).split())[:300],
        "stage_cpu_seconds": {k: round(v, 3) for k, v in cpu.items()},
        "cpu_seconds": round(usage.ru_utime + usage.ru_stime, 3), "max_rss_bytes": usage.ru_maxrss * 1024,
    }


def _atomic_write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with open(tmp, "w", encoding="utf-8") as f:
        f.write(text)
    os.replace(tmp, path)


def state_path(spool_dir: str | os.PathLike, pid: int | None = None) -> Path:
    return Path(spool_dir) / f"collector-{pid or os.getpid()}.state.json"


def write(snap: dict, metrics_file: str | None) -> None:
    """The state file in the spool folder and, with ``metrics_file``, the Prometheus textfile;
    a failure is logged, never raised (metrics must not stop collection)."""
    try:
        _atomic_write(state_path(snap["spool_dir"], snap["pid"]), json.dumps(snap))
        if metrics_file:
            _atomic_write(Path(metrics_file), prometheus(snap))
    except OSError as exc:
        log.warning("metrics not written: %s", exc)


def remove_state(spool_dir: str | os.PathLike) -> None:
    state_path(spool_dir).unlink(missing_ok=True)


def _label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def prometheus(snap: dict) -> str:
    """``snap`` in the Prometheus text exposition format (0.0.4)."""
    out: list[str] = []

    def metric(name: str, kind: str, help_: str, samples: list[tuple[str, object]]) -> None:
        out.append(f"# HELP {PREFIX}{name} {help_}")
        out.append(f"# TYPE {PREFIX}{name} {kind}")
        out.extend(f"{PREFIX}{name}{labels} {value}" for labels, value in samples)

    metric("lines_received_total", "counter", "Chat lines (and other data records) spooled, per channel.",
           [(f'{{channel="{_label(c)}"}}', n) for c, n in sorted(snap["received_by_channel"].items())])
    metric("records_stored_total", "counter", "Records stored in PostgreSQL by this process, per channel.",
           [(f'{{channel="{_label(c)}"}}', n) for c, n in sorted(snap["stored_by_channel"].items())])
    metric("spool_backlog_records", "gauge", "Records in the spool not stored yet.", [("", snap["backlog_records"])])
    metric("spool_backlog_bytes", "gauge", "Bytes in the spool not stored yet.", [("", snap["backlog_bytes"])])
    age = snap["backlog_age_seconds"]
    metric("spool_backlog_age_seconds", "gauge", "Age of the oldest unstored record (0: none).",
           [("", 0 if age is None else age)])
    metric("store_seconds_total", "counter", "Seconds spent in store calls.", [("", snap["store_seconds"])])
    metric("last_store_timestamp_seconds", "gauge", "Unix time of the last successful store (0: none yet).",
           [("", snap["last_store_at"] or 0)])
    metric("stage_cpu_seconds_total", "counter", "Thread CPU seconds per stage of the path.",
           [(f'{{stage="{k}"}}', v) for k, v in sorted(snap["stage_cpu_seconds"].items())])
    metric("cpu_seconds_total", "counter", "CPU seconds (user+system) of the process.", [("", snap["cpu_seconds"])])
    metric("max_resident_memory_bytes", "gauge", "Peak resident memory of the process.", [("", snap["max_rss_bytes"])])
    return "\n".join(out) + "\n"


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
