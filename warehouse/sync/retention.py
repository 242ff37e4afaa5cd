"""Retention: with PG_RETENTION_DAYS=N, after a successful sync, drop PostgreSQL chat of
the local days older than N days — only the days whose lake partition is verified to hold
the same rows: the same row count per channel, and every PostgreSQL id present in the
partition. A day that fails the check is kept (and logged with both counts).

Dropped days become *archived* in the lake's state (``archived_days``), written before the
PostgreSQL delete commits: from then on the lake is the only copy of those days, and the
sync merges late rows into them instead of rewriting them from PostgreSQL. The delete runs
with ``warehouse.retention = 'on'`` so the tombstone trigger does not mark the days as
touched, and in one REPEATABLE READ transaction: a row inserted meanwhile is not deleted."""
from __future__ import annotations

import logging
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2.extensions

from core import db, settings
from warehouse.lake import health
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.sync import lock
from warehouse.sync.export import SyncReport, day_bounds

log = logging.getLogger(__name__)

_OLD_COUNTS = (
    "SELECT (c.chat_time AT TIME ZONE %(tz)s)::date, ch.channel_id, count(*)"
    " FROM stream_chat c JOIN stream_channel ch ON ch.id = c.channel_fk"
    " WHERE c.chat_time < %(before)s"
    " AND NOT EXISTS (SELECT 1 FROM opt_out_user o WHERE o.user_id = c.user_id)"
    " GROUP BY 1, 2")
_DAY_IDS = (
    "SELECT c.id FROM stream_chat c WHERE c.chat_time >= %(start)s AND c.chat_time < %(end)s"
    " AND NOT EXISTS (SELECT 1 FROM opt_out_user o WHERE o.user_id = c.user_id)")
_DELETE_DAY = "DELETE FROM stream_chat WHERE chat_time >= %(start)s AND chat_time < %(end)s"


@dataclass
class RetentionReport:
    cutoff: date                                           # days before this one were candidates
    dropped: dict[date, int] = field(default_factory=dict)  # day -> PostgreSQL rows deleted
    kept: dict[date, str] = field(default_factory=dict)     # day -> why it was kept
    seconds: float = 0.0


def retention_days() -> int | None:
    """PG_RETENTION_DAYS as a positive int, or None when unset."""
    if not settings.get("PG_RETENTION_DAYS"):
        return None
    days = settings.get_int("PG_RETENTION_DAYS")
    if days < 1:
        raise SystemExit(f"setting PG_RETENTION_DAYS={days} must be at least 1 (or unset to keep forever)")
    return days


def after_sync(conn: psycopg2.extensions.connection, root: str,
               report: SyncReport | None = None) -> RetentionReport | None:
    """Apply PG_RETENTION_DAYS (if set) after a successful, non-dry-run sync."""
    days = retention_days()
    if days is None or (report is not None and report.dry_run):
        return None
    return apply(conn, root, days)


def _lake_check(lake: Lake, day: date, pg_counts: Counter, pg_ids: list[int], archived: bool) -> str | None:
    """None when the lake's partition holds the day's PostgreSQL rows, else why not. Every
    page of it must read (health.deep_problem): the lake is to become the day's only copy."""
    damaged = health.deep_problem(lake, lake.part_path(CHAT, day))
    if damaged:
        return f"the lake's partition cannot be read whole ({damaged})"
    part = lake.read(CHAT, day, columns=["id", "channel_id"])
    lake_counts = Counter(part.column("channel_id").to_pylist())
    missing = set(pg_ids) - set(part.column("id").to_pylist())
    if missing:
        return f"{len(missing)} of {len(pg_ids)} PostgreSQL rows are not in the lake (lake has {part.num_rows})"
    if not archived and lake_counts != pg_counts:
        return (f"row counts differ: lake {part.num_rows}, PostgreSQL {sum(pg_counts.values())}"
                f" (per channel: lake {dict(lake_counts)}, PostgreSQL {dict(pg_counts)})")
    return None


def apply(conn: psycopg2.extensions.connection, root: str, keep_days: int, tz: str | None = None,
          today: date | None = None) -> RetentionReport:
    """Drop PostgreSQL chat of verified days before ``today - keep_days`` (days in `tz`).
    Raises LockHeld (a RuntimeError; the command exits 75) while a sync or forget-user holds the lock."""
    tz = tz or settings.get("DISPLAY_TZ") or "Asia/Seoul"
    t0 = time.monotonic()
    today = today or datetime.now(ZoneInfo(tz)).date()
    report = RetentionReport(cutoff=today - timedelta(days=keep_days))
    lake = Lake(root)
    with db.transaction(conn, psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ):
        with conn.cursor() as cur:
            lock.require(cur, "a warehouse sync of this database is running; retention waits for the next run")
            cur.execute("SET LOCAL warehouse.retention = 'on'")
            cur.execute(_OLD_COUNTS, {"tz": tz, "before": day_bounds(report.cutoff, tz)[0]})
            per_day: dict[date, Counter] = {}
            for day, channel_id, n in cur.fetchall():
                per_day.setdefault(day, Counter())[channel_id] = n
            state = lake.state()
            for day in sorted(per_day):
                start, end = day_bounds(day, tz)
                cur.execute(_DAY_IDS, {"start": start, "end": end})
                ids = [r[0] for r in cur.fetchall()]
                why = _lake_check(lake, day, per_day[day], ids, day in state.archived_days)
                if why:
                    report.kept[day] = why
                    log.warning("retention: kept day=%s in PostgreSQL: %s", day, why)
                    continue
                cur.execute(_DELETE_DAY, {"start": start, "end": end})
                report.dropped[day] = cur.rowcount
            if report.dropped:
                # before the commit: once PostgreSQL forgets a day, the lake must know it is the only copy
                lake.write_state(state.archive(report.dropped))
        conn.commit()
    report.seconds = time.monotonic() - t0
    for day, n in report.dropped.items():
        log.info("retention: dropped day=%s rows=%d from PostgreSQL (the lake holds them)", day, n)
    log.info("retention (%d days, before %s): dropped %d day(s), %d rows; kept %d day(s) whose lake"
             " partition differs, in %.2fs", keep_days, report.cutoff, len(report.dropped),
             sum(report.dropped.values()), len(report.kept), report.seconds)
    return report
