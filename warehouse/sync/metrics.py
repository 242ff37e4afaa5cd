"""The sync's metrics for a cron run: a Prometheus textfile (SYNC_METRICS_FILE; unset: none)
rewritten atomically at the end of every `python -m warehouse sync` and every scheduled sync,
success or failure, for node_exporter's textfile collector.

A success sets the last success time and the per-table figures of that sync (rows, bytes,
partitions and writer seconds of the day tables; rows of the small tables), the accelerators'
build seconds and the damaged partitions left; a failure (PostgreSQL unreachable, the lock
an error mid-sync) sets only the last failure time, and both count in
``chzzk_sync_runs_total{result}``; a sync that found the lock held by another run (exit 75,
EX_TEMPFAIL: nothing changed, try later) counts as ``result="locked"`` and changes nothing else. The file is its own memory: what a run does not change is
read back from it (prometheus-client's parser), so counters keep counting and a failure
keeps the last success's figures. A dry run writes nothing. The usual alert:
``time() - chzzk_sync_last_success_timestamp_seconds > 26 * 3600``.

Hooks (one call each, warehouse/sync/cli.py and schedule.py): ``connected(db.connect)`` in
place of ``db.connect()`` and ``recorded(sync, ...)`` in place of ``sync(...)``."""
from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

from prometheus_client.parser import text_string_to_metric_families

from core import metrics_http, settings
from warehouse.sync.lock import LockHeld

log = logging.getLogger(__name__)

PREFIX = "chzzk_sync_"
RESULTS = ("success", "failure", "locked")
T = TypeVar("T")


@dataclass(frozen=True)
class Metric:
    name: str  # without PREFIX; a counter's ends in _total
    counter: bool
    help: str
    label: str | None = None


METRICS: tuple[Metric, ...] = (
    Metric("runs_total", True, "Syncs ended, by result (success, failure; locked: another run held the lock, "
           "nothing changed).", "result"),
    Metric("last_run_timestamp_seconds", False, "Unix time the last sync ended (success or failure)."),
    Metric("last_run_success", False, "1 when the last sync succeeded, 0 when it failed."),
    Metric("last_run_duration_seconds", False, "Seconds the last sync took (success or failure)."),
    Metric("last_success_timestamp_seconds", False, "Unix time the last successful sync ended."),
    Metric("last_failure_timestamp_seconds", False, "Unix time the last failed sync ended."),
    Metric("table_rows", False, "Rows the last successful sync wrote, per table.", "table"),
    Metric("table_bytes", False, "Parquet bytes the last successful sync wrote, per table.",
           "table"),
    Metric("table_partitions", False, "Day partitions the last successful sync wrote, per table.", "table"),
    Metric("table_seconds", False, "Seconds the last successful sync spent writing a day-partitioned table's "
           "partitions (summed over the SYNC_WRITERS writers).", "table"),
    Metric("table_last_success_timestamp_seconds", False, "Unix time of the last successful sync of the "
           "table.", "table"),
    Metric("export_seconds", False, "Wall seconds of the last successful sync's export (plan, partitions, "
           "small tables)."),
    Metric("accelerator_seconds", False, "Build seconds of each accelerator in the last successful sync.",
           "accelerator"),
    Metric("damaged_partitions", False, "Damaged partitions the last successful sync left as they are "
           "(`python -m warehouse sync` exits 3; the log says what repairs each)."),
)
_BY_SAMPLE = {PREFIX + m.name: m for m in METRICS}
Values = dict[str, dict[str, float]]  # metric name -> label value ("" without a label) -> value


def read(path: str) -> Values:
    """The values in the textfile at `path` ({} when there is none or it cannot be read)."""
    values: Values = {m.name: {} for m in METRICS}
    try:
        with open(path, encoding="utf-8") as f:
            text = f.read()
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                metric = _BY_SAMPLE.get(sample.name)
                if metric is not None:
                    values[metric.name][sample.labels.get(metric.label, "") if metric.label else ""] = sample.value
    except FileNotFoundError:
        pass
    except (OSError, ValueError) as exc:
        log.warning("SYNC_METRICS_FILE %s could not be read (%s): its counters start again", path, exc)
        values = {m.name: {} for m in METRICS}
    return values


def text(values: Values) -> str:
    """`values` in the Prometheus text format (``METRICS``' order, helps and types)."""
    def value(m: Metric):
        given = values.get(m.name, {})
        return given if m.label else given.get("")
    return metrics_http.exposition(lambda: (metrics_http.family(PREFIX, m, value(m)) for m in METRICS))


def succeeded(values: Values, report, seconds: float, now: float) -> Values:
    """`values` after a successful sync (``export.SyncReport``)."""
    values = {name: dict(v) for name, v in values.items()}
    _ended(values, "success", seconds, now)
    values["last_success_timestamp_seconds"] = {"": now}
    tables = {name: {"rows": 0, "bytes": 0, "partitions": 0, "seconds": 0.0} for name in report.planned}
    for part in report.parts:
        t = tables.setdefault(part.table, {"rows": 0, "bytes": 0, "partitions": 0, "seconds": 0.0})
        t["rows"] += part.rows
        t["bytes"] += part.bytes
        t["partitions"] += 1
        t["seconds"] += part.seconds
    for name in ("rows", "bytes", "partitions", "seconds"):
        values[f"table_{name}"] = {table: round(t[name], 3) for table, t in tables.items()}
    values["table_rows"].update(report.tables)  # the small tables: one file each
    values["table_bytes"].update(report.table_bytes)
    for table in values["table_rows"]:
        values["table_last_success_timestamp_seconds"][table] = now
    values["export_seconds"] = {"": round(report.export_seconds, 3)}
    values["accelerator_seconds"] = {name: round(s, 3) for name, s in report.accelerators.items()}
    values["damaged_partitions"] = {"": len(report.damaged)}
    return values


def failed(values: Values, seconds: float, now: float) -> Values:
    """`values` after a failed sync: the last success's figures stay."""
    values = {name: dict(v) for name, v in values.items()}
    _ended(values, "failure", seconds, now)
    values["last_failure_timestamp_seconds"] = {"": now}
    return values


def locked(values: Values) -> Values:
    """`values` after a sync that found the lock held: only counted."""
    values = {name: dict(v) for name, v in values.items()}
    _count(values, "locked")
    return values


def _count(values: Values, result: str) -> None:
    runs = values.setdefault("runs_total", {})
    for key in RESULTS:
        runs.setdefault(key, 0)
    runs[result] += 1


def _ended(values: Values, result: str, seconds: float, now: float) -> None:
    _count(values, result)
    values["last_run_timestamp_seconds"] = {"": now}
    values["last_run_success"] = {"": 1 if result == "success" else 0}
    values["last_run_duration_seconds"] = {"": round(seconds, 3)}


def _write(update: Callable[[Values], Values]) -> None:
    """Read SYNC_METRICS_FILE, apply `update`, write it back atomically; never raises (the
    metrics must not fail a sync)."""
    path = settings.get("SYNC_METRICS_FILE")
    if not path:
        return
    try:
        metrics_http.write_textfile(path, text(update(read(path))))
    except OSError as exc:
        log.warning("SYNC_METRICS_FILE %s not written: %s", path, exc)


def recorded(run_sync: Callable[..., T], *args, **kwargs) -> T:
    """``run_sync(*args, **kwargs)`` (export.sync), its success or failure recorded in
    SYNC_METRICS_FILE (a dry run: not recorded); what it raises is raised."""
    if kwargs.get("dry_run"):
        return run_sync(*args, **kwargs)
    t0 = time.monotonic()
    try:
        report = run_sync(*args, **kwargs)
    except LockHeld:
        _write(locked)
        raise
    except BaseException:
        _write(lambda v: failed(v, time.monotonic() - t0, time.time()))
        raise
    _write(lambda v: succeeded(v, report, time.monotonic() - t0, time.time()))
    return report


def connected(connect: Callable[[], T], *, dry_run: bool = False) -> T:
    """``connect()`` (db.connect), a failure recorded as a failed sync (PostgreSQL unreachable
    is the commonest); what it raises is raised."""
    t0 = time.monotonic()
    try:
        return connect()
    except BaseException:
        if not dry_run:
            _write(lambda v: failed(v, time.monotonic() - t0, time.time()))
        raise
