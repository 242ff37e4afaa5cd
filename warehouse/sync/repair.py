"""Damaged partitions at sync time (warehouse/lake/health.py says what "damaged" means): which
ones the sync rewrites from PostgreSQL, which it moves aside (``--drop-damaged``), and, for
the others, the message that says exactly what repairs them. Used by warehouse/sync/export.py.

A damaged day partition is rewritten from PostgreSQL when PostgreSQL still holds its day:
the day is not archived (retention, warehouse/sync/retention.py, drops a day's PostgreSQL rows
only after verifying the lake holds them, and marks it archived; the lake is then its only
copy) and PostgreSQL has rows of it. Otherwise rewriting it would lose rows, so it is left
as it is — readers leave it out, the other days sync — and the sync ends with EXIT_DAMAGED
and this module's message: restore the file from a backup and sync the day again, or give
its lake rows up with ``--drop-damaged`` (the file is moved to ``_damaged/``, Lake.quarantine,
and the day written from what PostgreSQL has of it, if anything)."""
from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime

from warehouse.lake import health
from warehouse.lake.health import Damage
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT, Table

log = logging.getLogger(__name__)
EXIT_DAMAGED = 3  # `python -m warehouse sync`: synced, but a damaged partition could not be repaired
# Does PostgreSQL hold rows of the day? (bound values only; the tables' own time columns)
_HOLDS = {
    "chat": "SELECT EXISTS (SELECT 1 FROM stream_chat WHERE chat_time >= %(start)s AND chat_time < %(end)s)",
    "events": ("SELECT EXISTS (SELECT 1 FROM events WHERE coalesce(event_time, received_at) >= %(start)s"
               " AND coalesce(event_time, received_at) < %(end)s)"),
}


@dataclass(frozen=True)
class Unrepaired:
    """A damaged partition the sync left as it is, and why PostgreSQL cannot rewrite it."""
    damage: Damage
    why: str

    @property
    def message(self) -> str:
        """What failed and exactly which commands repair it (one line)."""
        d = self.damage
        day = d.day.isoformat() if d.day else ""
        return (f"{d.partition} is unreadable ({d.reason}) and {self.why}: it was left as it is and the other"
                f" days were synced. Restore {d.file} under WAREHOUSE_DIR from a backup of the lake, then run"
                f" `python -m warehouse sync --day {day}`; or give up its lake rows with"
                f" `python -m warehouse sync --day {day} --drop-damaged` (moves the file to _damaged/ and"
                f" writes the day from what PostgreSQL has of it)")


@dataclass
class Triage:
    """What to do about the damaged partitions found: days to write (rewritten from
    PostgreSQL, or after a move aside), and the ones left as they are."""
    write: dict[str, list[date]] = field(default_factory=dict)  # table -> days
    repaired: list[Damage] = field(default_factory=list)       # rewritten from PostgreSQL
    dropped: list[tuple[Damage, str]] = field(default_factory=list)  # moved aside: (damage, where)
    unrepaired: list[Unrepaired] = field(default_factory=list)

    def skip(self, table: Table) -> set[date]:
        """The days of `table` the sync must not touch (its lake file cannot be merged)."""
        return {u.damage.day for u in self.unrepaired if u.damage.table == table.name}


def triage(conn, lake: Lake, found: dict[Table, dict[date, Damage]], archived: set[date],
           bounds: Callable[[date], tuple[datetime, datetime]], drop: bool = False,
           scope: set[date] | None = None, dry_run: bool = False) -> Triage:
    """Decide for each damaged day partition in `found`: rewrite it from PostgreSQL when
    PostgreSQL holds its day; else, with `drop` and the day in `scope` (None: any), move
    the file aside (not on a dry run) and write the day from PostgreSQL's rows; else leave
    it. Logs each decision. Runs in the caller's transaction."""
    out = Triage()
    for table, days in found.items():
        for day, damage in sorted(days.items()):
            why = _why_not(conn, table, day, archived, bounds)
            if why is None:
                log.warning("%s is unreadable (%s): rewriting it from PostgreSQL", damage.partition, damage.reason)
                out.write.setdefault(table.name, []).append(day)
                out.repaired.append(damage)
            elif drop and (scope is None or day in scope):
                where = "(dry run: not moved)" if dry_run else lake.quarantine(table, day)
                log.warning("%s is unreadable (%s) and %s: moved to %s (--drop-damaged); the day is written"
                            " from what PostgreSQL has", damage.partition, damage.reason, why, where)
                out.write.setdefault(table.name, []).append(day)
                out.dropped.append((damage, where))
            else:
                out.unrepaired.append(Unrepaired(damage, why))
    return out


def _why_not(conn, table: Table, day: date, archived: set[date],
             bounds: Callable[[date], tuple[datetime, datetime]]) -> str | None:
    """None when PostgreSQL holds the whole day, else why not."""
    if table is CHAT and day in archived:
        return "PostgreSQL no longer holds that day (retention dropped it after the lake verified it)"
    start, end = bounds(day)
    with conn.cursor() as cur:
        cur.execute(_HOLDS[table.name], {"start": start, "end": end})
        if not cur.fetchone()[0]:
            return "PostgreSQL has no rows of that day"
    return None


def find(lake: Lake, tables: list[Table], deep: bool = False) -> dict[Table, dict[date, Damage]]:
    """The damaged day partitions of `tables` now (footers; ``deep``: every page)."""
    found = {}
    for table in tables:
        _, bad = health.check_days(lake, table, deep=deep)
        if bad:
            found[table] = bad
    return found


def report(unrepaired: list[Unrepaired]) -> None:
    """Log each partition left damaged, with what repairs it (an ERROR line each)."""
    for u in unrepaired:
        log.error("%s", u.message)
