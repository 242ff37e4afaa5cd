"""The sync: PostgreSQL → Parquet lake, one partition per DISPLAY_TZ day, then state.

Which days: the ones given, all days (``all_days``), or by default the days touched since
the last sync — days of rows whose id is above the last max(id), or whose created_at or
blinded_at is newer than the last sync's start minus OVERLAP (a transaction that began
before the last snapshot but committed after it is still picked up). First run: all days.
Syncing explicit days does not move the high-water marks.
The whole sync reads one REPEATABLE READ snapshot, so the state's high-water marks match
exactly what was written; state.json is written last, after every partition."""
from __future__ import annotations

import logging
import time
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2.extensions

from core import settings
from warehouse import extract
from warehouse.lake import Lake
from warehouse.tables import CHANNELS, CHAT

log = logging.getLogger(__name__)
OVERLAP = timedelta(minutes=10)
LOCK_ID = 72316002  # pg advisory lock: one sync at a time per database
STATE_VERSION = 1

_DAYS_ALL = ("SELECT DISTINCT (chat_time AT TIME ZONE %(tz)s)::date FROM stream_chat ORDER BY 1")
_DAYS_TOUCHED = (
    "SELECT DISTINCT (chat_time AT TIME ZONE %(tz)s)::date FROM stream_chat"
    " WHERE id > %(max_id)s OR created_at > %(since)s OR blinded_at > %(since)s ORDER BY 1")
_MARKS = ("SELECT now(), coalesce(max(id), 0), max(created_at), max(blinded_at) FROM stream_chat")


@dataclass
class DayResult:
    day: date
    rows: int
    bytes: int
    seconds: float


@dataclass
class SyncReport:
    days: list[DayResult] = field(default_factory=list)
    channels: int = 0
    seconds: float = 0.0
    state: dict = field(default_factory=dict)

    @property
    def rows(self) -> int:
        return sum(d.rows for d in self.days)

    @property
    def bytes(self) -> int:
        return sum(d.bytes for d in self.days)


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of a local day in `tz`, as UTC datetimes (DST-safe)."""
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _iso(ts: datetime | None) -> str | None:
    return ts.astimezone(UTC).isoformat() if ts else None


def _days(cur, tz: str, state: dict, all_days: bool) -> list[date]:
    if all_days or not state.get("sync_started_at"):
        cur.execute(_DAYS_ALL, {"tz": tz})
    else:
        since = datetime.fromisoformat(state["sync_started_at"]) - OVERLAP
        cur.execute(_DAYS_TOUCHED, {"tz": tz, "max_id": state.get("max_id", 0), "since": since})
    return [r[0] for r in cur.fetchall()]


def sync(conn: psycopg2.extensions.connection, root: str, days: list[date] | None = None,
         all_days: bool = False, tz: str | None = None) -> SyncReport:
    """Export chat (per day) and channels from PostgreSQL into the lake at `root`.

    days: these days only; all_days: every day in PostgreSQL (and partitions of days no
    longer there are removed); neither: the days touched since the last sync. Raises
    RuntimeError when another sync of the same database holds the lock."""
    tz = tz or settings.get("DISPLAY_TZ") or "Asia/Seoul"
    t0 = time.monotonic()
    lake = Lake(root)
    state = lake.read_state()
    report = SyncReport()
    conn.rollback()
    saved = (conn.autocommit, conn.isolation_level, conn.readonly)
    conn.autocommit = False
    conn.isolation_level = psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ
    conn.readonly = True
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (LOCK_ID,))
            if not cur.fetchone()[0]:
                raise RuntimeError("another warehouse sync of this database is running; try again later")
            cur.execute(_MARKS)
            started, max_id, max_created, max_blinded = cur.fetchone()
            todo = sorted(set(days)) if days else _days(cur, tz, state, all_days)
        stale = sorted(set(lake.days(CHAT)) - set(todo)) if all_days else []
        log.info("sync to %s: %d day(s) to write%s", root, len(todo),
                 f", {len(stale)} stale partition(s) to remove" if stale else "")
        for day in todo + stale:
            t_day = time.monotonic()
            start, end = day_bounds(day, tz)
            batches = extract.stream(conn, CHAT, {"start": start, "end": end}) if day in todo else []
            rows, size = lake.write(CHAT, batches, day)
            result = DayResult(day, rows, size, time.monotonic() - t_day)
            report.days.append(result)
            log.info("chat day=%s rows=%d bytes=%d %.2fs", day, rows, size, result.seconds)
        report.channels, _ = lake.write(CHANNELS, extract.stream(conn, CHANNELS))
        day_rows = dict(state.get("days", {}))
        for r in report.days:
            if r.rows:
                day_rows[r.day.isoformat()] = r.rows
            else:
                day_rows.pop(r.day.isoformat(), None)
        marks = {"sync_started_at": _iso(started), "max_id": max_id,
                 "max_created_at": _iso(max_created), "max_blinded_at": _iso(max_blinded)}
        if days:  # explicit days say nothing about the others: the cursor stays put
            marks = {k: state.get(k) for k in marks}
        report.state = {
            "version": STATE_VERSION,
            "last_sync": datetime.now(UTC).isoformat(),
            **marks,
            "timezone": tz,
            "days": dict(sorted(day_rows.items())),
        }
        lake.write_state(report.state)  # last: the cursor moves only after every write
    finally:
        conn.rollback()
        conn.autocommit, conn.isolation_level, conn.readonly = saved
    report.seconds = time.monotonic() - t0
    log.info("synced %d day(s): %d rows, %d bytes, %d channels in %.2fs",
             len(report.days), report.rows, report.bytes, report.channels, report.seconds)
    return report
