"""The sync: PostgreSQL → Parquet lake, one partition per DISPLAY_TZ day, then state.

Which days, for each day-partitioned table of the registry (warehouse/lake/tables.py): the ones
given, all days (``all_days``), or by default the days touched since the last sync — days
of rows whose id is above the last max(id), or whose created_at, blinded_at or updated_at
is newer than the last sync's start minus OVERLAP (a transaction that began before the last
snapshot but committed after it is still picked up), and days of deleted rows (tombstones:
manual deletes, forget-user). First run (or a table new to the lake): all days.
Syncing explicit days does not move the high-water marks. Small tables are rewritten whole;
a table missing in PostgreSQL is skipped with a log line.
Archived days (PostgreSQL rows dropped by retention, see warehouse/sync/retention.py) are merged:
the lake's rows stay, PostgreSQL's rows of that day replace or extend them, tombstoned and
opted-out rows leave.
The whole sync reads one REPEATABLE READ snapshot, so the state's high-water marks match
exactly what was written; state.json is written last, after every partition.
Tombstones the lake has absorbed are then pruned, in a short transaction of their own: after
a sync of the touched (or all) days, never after --day or a dry run, the ones deleted before
the snapshot's start minus OVERLAP — the next sync only reads newer ones, so a tombstone
committed late is still seen. Tombstones of archived days are kept: _merge_archived reads all
of a day's, and a merge is how a deleted row leaves an archived partition: --all merges every
archived day with PostgreSQL rows or tombstones, so a deletion a sync missed goes then.
What the sync writes is told to a Progress (default: one log line per partition).
A damaged partition (warehouse/lake/health.py) never stops the other days: each run checks the
footers of every day partition, rewrites from PostgreSQL the ones whose day PostgreSQL still
holds, and leaves the others (an archived day: the lake is its only copy) with an ERROR
line saying what repairs them (``report.damaged``; warehouse/sync/repair.py); the side-table
builds leave them out. A build that fails on a partition whose footer reads sends every day
through a full read, and the damaged ones found go the same way."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2.extensions
import pyarrow as pa
import pyarrow.compute as pc

from core import db, settings
from warehouse.lake import catalog_file, health
from warehouse.lake.layout import Lake
from warehouse.lake.state import EMPTY as EMPTY_STATE
from warehouse.lake.state import VERSION as STATE_VERSION
from warehouse.lake.state import SyncState, TableMarks
from warehouse.lake.tables import CHAT, DAY_TABLES, TABLES, Table
from warehouse.sync import builds, compact, extract, lock, phases, repair
from warehouse.sync import workers as sync_workers
from warehouse.sync.compact import Dictionaries, load_dictionaries
from warehouse.sync.extract_arrow import SnapshotReader, snapshot_reader

log = logging.getLogger(__name__)
OVERLAP = timedelta(minutes=10)
SORT_KEYS = [("channel_id", "ascending"), ("chat_time", "ascending"), ("id", "ascending")]

_MARKS = ("SELECT now(), coalesce(max(id), 0), max(created_at), max(blinded_at) FROM stream_chat")
_TOMBSTONED = ("SELECT chat_id FROM stream_chat_tombstone"
               " WHERE chat_time >= %(start)s AND chat_time < %(end)s")
_OPTED_OUT = "SELECT user_id FROM opt_out_user"
_ARCHIVED_TOMBSTONED = ("SELECT DISTINCT (chat_time AT TIME ZONE %(tz)s)::date FROM stream_chat_tombstone"
                        " WHERE (chat_time AT TIME ZONE %(tz)s)::date = ANY(%(archived)s::date[])")
_PRUNE = ("DELETE FROM stream_chat_tombstone WHERE deleted_at < %(before)s"
          " AND (chat_time AT TIME ZONE %(tz)s)::date <> ALL(%(archived)s::date[])")


@dataclass
class DayResult:
    day: date
    rows: int
    bytes: int
    seconds: float
    table: str = "chat"
    read_seconds: float = 0.0    # of `seconds`, waiting for the rows: PostgreSQL, transfer, decoding, sorting
    decode_seconds: float = 0.0  # of `read_seconds`, turning compact rows' frames into text (compact.decode)

    @property
    def write_seconds(self) -> float:
        """Of `seconds`, the Parquet writing (encoding, compression, the file)."""
        return max(self.seconds - self.read_seconds, 0.0)


@dataclass
class SyncReport:
    parts: list[DayResult] = field(default_factory=list)   # every day partition written
    tables: dict[str, int] = field(default_factory=dict)   # small tables: name -> rows
    table_bytes: dict[str, int] = field(default_factory=dict)  # small tables: name -> Parquet bytes written
    planned: dict[str, list[date]] = field(default_factory=dict)  # table -> days to write
    skipped: list[str] = field(default_factory=list)       # registry tables missing in PostgreSQL
    dry_run: bool = False
    seconds: float = 0.0
    state: SyncState = EMPTY_STATE                          # what the sync wrote to state.json
    tombstones_pruned: int = 0                              # stream_chat_tombstone rows deleted
    repaired: list[health.Damage] = field(default_factory=list)  # damaged partitions rewritten from PostgreSQL
    dropped: list[tuple[health.Damage, str]] = field(default_factory=list)  # moved aside (--drop-damaged)
    damaged: list[repair.Unrepaired] = field(default_factory=list)  # damaged partitions left as they are
    # phase timing: the export (plan, day partitions, small tables: what a plain COPY or the
    # DuckDB scanner does) apart from the accelerators built after it, wall seconds each
    export_seconds: float = 0.0
    small_tables_seconds: float = 0.0
    accelerators: dict[str, float] = field(default_factory=dict)  # accelerator -> build seconds, declaration order
    builds_seconds: float = 0.0  # wall seconds of the accelerators' builds together (SYNC_WRITERS at once: they overlap)

    @property
    def days(self) -> list[DayResult]:
        """The chat partitions written."""
        return [d for d in self.parts if d.table == CHAT.name]

    @property
    def channels(self) -> int:
        return self.tables.get("channels", 0)

    @property
    def rows(self) -> int:
        return sum(d.rows for d in self.days)

    @property
    def bytes(self) -> int:
        return sum(d.bytes for d in self.parts)

    # the day partitions' phases, summed over the writer threads (SYNC_WRITERS run at once,
    # so these add up to about SYNC_WRITERS x the partitions' wall time)
    @property
    def read_seconds(self) -> float:
        return sum(d.read_seconds for d in self.parts)

    @property
    def decode_seconds(self) -> float:
        return sum(d.decode_seconds for d in self.parts)

    @property
    def write_seconds(self) -> float:
        return sum(d.write_seconds for d in self.parts)

    @property
    def accelerator_seconds(self) -> float:
        """Wall seconds the accelerators took together (less than the sum of their builds'
        own seconds when they overlap)."""
        return self.builds_seconds


class Progress:
    """What sync() tells while it writes partitions. This default logs one line per
    partition (cron, the scheduler, tests); the CLI passes a progress bar on a terminal."""

    def planned(self, days: dict[str, list[date]]) -> None:
        """Before the first write: the partitions to write (or remove), per table."""

    def written(self, result: DayResult) -> None:
        """After each partition is written (or removed: 0 rows)."""
        log.info("%s day=%s rows=%d bytes=%d %.2fs", result.table, result.day, result.rows, result.bytes,
                 result.seconds)


def day_bounds(day: date, tz: str) -> tuple[datetime, datetime]:
    """[start, end) of a local day in `tz`, as UTC datetimes (DST-safe)."""
    zone = ZoneInfo(tz)
    start = datetime(day.year, day.month, day.day, tzinfo=zone)
    nxt = day + timedelta(days=1)
    end = datetime(nxt.year, nxt.month, nxt.day, tzinfo=zone)
    return start.astimezone(UTC), end.astimezone(UTC)


def _utc(ts: datetime | None) -> datetime | None:
    return ts.astimezone(UTC) if ts else None


def _days(cur, table: Table, tz: str, state: SyncState, all_days: bool) -> list[date]:
    marks = state.marks(table.name)
    if all_days or state.sync_started_at is None or marks.max_id is None:
        cur.execute(table.days_all, {"tz": tz})
    else:
        since = state.sync_started_at - OVERLAP
        cur.execute(table.days_touched, {"tz": tz, "max_id": marks.max_id, "since": since})
    return sorted({r[0] for r in cur.fetchall()})


def plan(conn: psycopg2.extensions.connection, lake: Lake, state: SyncState, tz: str,
         days: list[date] | None, all_days: bool) -> tuple[dict[str, list[date]], dict[str, list[date]], list[str]]:
    """(days to write per day table, stale partitions to remove per table, tables missing
    in PostgreSQL). Runs in the caller's transaction."""
    todo: dict[str, list[date]] = {}
    stale: dict[str, list[date]] = {}
    missing = [t.name for t in TABLES if not extract.exists(conn, t.source)]
    archived = set(state.archived_days)
    with conn.cursor() as cur:
        for table in DAY_TABLES:
            if table.name in missing:
                continue
            todo[table.name] = sorted(set(days)) if days else _days(cur, table, tz, state, all_days)
            if all_days and table is CHAT and archived:  # archived days PostgreSQL deleted rows of
                cur.execute(_ARCHIVED_TOMBSTONED, {"tz": tz, "archived": sorted(archived)})
                todo[table.name] = sorted(set(todo[table.name]) | {r[0] for r in cur.fetchall()})
            if all_days:
                keep = set(todo[table.name]) | (archived if table is CHAT else set())
                stale[table.name] = sorted(set(lake.days(table)) - keep)
    return todo, stale, missing


def _merge_archived(conn, lake: Lake, day: date, bounds: dict, opted_out: set[str],
                    dictionaries: Dictionaries | None, reader: SnapshotReader | None) -> pa.Table:
    """An archived day: the lake's rows not in PostgreSQL any more, plus PostgreSQL's rows
    (which win for the same id), minus tombstoned and opted-out rows; sorted."""
    fresh = pa.Table.from_batches(list(extract.stream(conn, CHAT, bounds, dictionaries=dictionaries, reader=reader)),
                                  schema=CHAT.schema)
    with conn.cursor() as cur:
        cur.execute(_TOMBSTONED, bounds)
        gone = [r[0] for r in cur.fetchall()]
    old = lake.read(CHAT, day)
    drop = pc.is_in(old.column("id"), value_set=pa.array(fresh.column("id").to_pylist() + gone, pa.int64()))
    if opted_out:
        drop = pc.or_(drop, pc.fill_null(pc.is_in(old.column("user_id"), value_set=pa.array(sorted(opted_out))),
                                          False))
    kept = old.filter(pc.invert(drop)).cast(CHAT.schema)
    return pa.concat_tables([kept, fresh]).sort_by(SORT_KEYS)


def opted_out_users(conn) -> set[str]:
    """The user ids on PostgreSQL's opt-out list (in the caller's transaction)."""
    with conn.cursor() as cur:
        cur.execute(_OPTED_OUT)
        return {r[0] for r in cur.fetchall()}


def day_rows(conn, lake: Lake, table: Table, day: date, tz: str, archived: set[date],
             opted_out: set[str], dictionaries: Dictionaries | None = None,
             reader: SnapshotReader | None = None) -> pa.Table | Iterator[pa.RecordBatch]:
    """What partition `day` of `table` holds after a sync now: PostgreSQL's rows of the day
    (an archived chat day merged with the lake's, see _merge_archived), in partition order,
    compact rows' JSON as text (`dictionaries`: raw_dictionary's, None: read here), read
    through `reader` (a binary reader in `conn`'s snapshot; None: COPY as CSV).
    Also read by the live overlay (warehouse/read/live.py), so both are the same rows."""
    start, end = day_bounds(day, tz)
    bounds = {"start": start, "end": end}
    if table is CHAT and day in archived:
        return _merge_archived(conn, lake, day, bounds, opted_out, dictionaries, reader)
    return extract.stream(conn, table, bounds, dictionaries=dictionaries, reader=reader)


def _write_days(conn, reader: SnapshotReader | None, lake: Lake, table: Table, todo: list[date],
                stale: list[date], tz: str, archived: set[date], opted_out: set[str], report: SyncReport,
                progress: Progress) -> None:
    """Write the `todo` partitions and remove the `stale` ones, SYNC_WRITERS at once (each
    reading through its own binary reader when `reader`, the sync's, is one)."""
    wanted = set(todo)
    # raw_dictionary is small and its rows never change: read once, in the sync's snapshot
    dictionaries = load_dictionaries(conn) if table.compact is not None and todo else None

    def write(c, r: SnapshotReader | None, day: date) -> DayResult:  # c, r: `conn` or a worker's, in its snapshot
        t_day, decoded = time.monotonic(), compact.decode_seconds()  # decoding runs in this thread
        clock = phases.ReadClock()
        data = clock.timed(lambda: day_rows(c, lake, table, day, tz, archived, opted_out, dictionaries, r)
                           if day in wanted else [])
        rows, size = lake.write(table, data, day)
        return DayResult(day, rows, size, time.monotonic() - t_day, table.name, clock.seconds,
                         compact.decode_seconds() - decoded)

    order = {day: i for i, day in enumerate(todo + stale)}
    done = []
    for result in sync_workers.run(conn, reader, todo + stale, write, settings.get_int("SYNC_WRITERS")):
        done.append(result)
        progress.written(result)  # as each finishes; the report keeps the days' order
    report.parts.extend(sorted(done, key=lambda r: order[r.day]))


def prune_tombstones(conn: psycopg2.extensions.connection, lake: Lake, before: datetime, tz: str) -> int | None:
    """Delete the tombstones deleted before `before`, except those of the lake's archived
    days (see the module docstring), in a transaction of its own under the sync's lock.
    Returns how many, or None when another sync (or retention, forget-user) holds the lock."""
    with db.transaction(conn, psycopg2.extensions.ISOLATION_LEVEL_READ_COMMITTED), conn.cursor() as cur:
        if not lock.take(cur):
            return None
        archived = sorted(lake.state().archived_days)  # after the lock: retention writes it
        cur.execute(_PRUNE, {"before": before, "tz": tz, "archived": archived})
        pruned = cur.rowcount
        conn.commit()
        return pruned


def _prune_after_sync(conn, lake: Lake, before: datetime, tz: str, report: SyncReport) -> None:
    try:
        pruned = prune_tombstones(conn, lake, before, tz)
    except psycopg2.Error as exc:  # the lake and state.json are written: the sync itself succeeded
        log.warning("tombstones not pruned (they are kept; the next sync tries again): %s",
                    " ".join(str(exc).split()))
        return
    if pruned is None:
        log.info("tombstones not pruned: another sync holds the lock (the next sync prunes them)")
        return
    report.tombstones_pruned = pruned
    log.info("pruned %d tombstone(s) deleted before %s (archived days' kept)", pruned, _utc(before).isoformat())


def _triage(conn, lake: Lake, todo: dict[str, list[date]], stale: dict[str, list[date]], archived: set[date],
            tz: str, found: dict, drop: bool, days: list[date] | None, dry_run: bool,
            report: SyncReport) -> dict[str, list[date]]:
    """Fold the damaged partitions `found` into the plan (repair.triage): days to rewrite
    join `todo` (returned apart too), days left as they are leave `todo` and `stale`."""
    tri = repair.triage(conn, lake, found, archived, lambda d: day_bounds(d, tz), drop,
                        set(days) if days else None, dry_run)
    for table in DAY_TABLES:
        if table.name in todo:
            todo[table.name] = sorted((set(todo[table.name]) | set(tri.write.get(table.name, []))) - tri.skip(table))
            stale[table.name] = sorted(set(stale.get(table.name, [])) - tri.skip(table))
    report.repaired += tri.repaired
    report.dropped += tri.dropped
    report.damaged += tri.unrepaired
    return tri.write


def _build_side_tables(conn, lake: Lake, tz: str, archived: set[date], opted_out: set[str], drop: bool,
                       days: list[date] | None, report: SyncReport, progress: Progress) -> None:
    """The side tables follow the partitions just written (each build leaves damaged
    partitions out), SYNC_WRITERS built at once (warehouse/sync/builds.py). A build that
    fails reading the chat: every day is read whole (health.deep_problem, once per file
    version), the damaged ones found are repaired or left as the others, and the builds
    run again."""
    for attempt in (0, 1):
        t0 = time.monotonic()
        try:
            builds.build_all(lake, tz, report.accelerators, settings.get_int("SYNC_WRITERS"))
            report.builds_seconds += time.monotonic() - t0
            return
        except Exception as exc:
            report.builds_seconds += time.monotonic() - t0
            if attempt or not health.is_read_error(exc):
                raise
            known = {(u.damage.table, u.damage.day) for u in report.damaged}
            found = {t: bad for t, bad in ((t, {d: x for d, x in bad.items() if (t.name, d) not in known})
                                           for t, bad in repair.find(lake, [CHAT], deep=True).items()) if bad}
            if not found:
                raise
            log.warning("a side-table build failed reading the chat: %d damaged partition(s) found reading"
                        " every page", sum(len(d) for d in found.values()))
            write = _triage(conn, lake, {CHAT.name: []}, {}, archived, tz, found, drop, days, False, report)
            if write.get(CHAT.name):
                with snapshot_reader(conn) as reader:
                    before = len(report.parts)
                    _write_days(conn, reader, lake, CHAT, write[CHAT.name], [], tz, archived, opted_out, report,
                                progress)
                report.state = report.state.counted(CHAT.name, {r.day: r.rows for r in report.parts[before:]})


def sync(conn: psycopg2.extensions.connection, root: str, days: list[date] | None = None,
         all_days: bool = False, tz: str | None = None, dry_run: bool = False,
         progress: Progress | None = None, drop_damaged: bool = False) -> SyncReport:
    """Export the registry's tables from PostgreSQL into the lake at `root`.

    days: these days only; all_days: every day in PostgreSQL and every archived day with a
    tombstone (and partitions of days no longer there are removed, archived days excepted); neither: the days touched since the
    last sync. dry_run: plan only (``report.planned``), write nothing. progress: told of
    the plan and of each partition written (default: a log line each). Then, unless `days`
    or dry_run, the tombstones the lake has absorbed are pruned. Raises RuntimeError when
    another sync of the same database holds the lock.

    Damaged partitions (see the module docstring): ``report.repaired`` were rewritten from
    PostgreSQL, ``report.damaged`` were left as they are (each with its message);
    drop_damaged: those of `days` (or any, without `days`) are moved to ``_damaged/``
    first and their day written from what PostgreSQL has (``report.dropped``)."""
    tz = tz or settings.get("DISPLAY_TZ") or "Asia/Seoul"
    progress = progress or Progress()
    t0 = time.monotonic()
    lake = Lake(root)
    report = SyncReport(dry_run=dry_run)
    with db.transaction(conn, psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ, readonly=True):
        with conn.cursor() as cur:
            if not dry_run:
                lock.require(cur, "another warehouse sync of this database is running; try again later")
            cur.execute(_MARKS)
            started, max_id, max_created, max_blinded = cur.fetchone()
        state = lake.state()  # after the lock: retention and forget-user write it too
        todo, stale, report.skipped = plan(conn, lake, state, tz, days, all_days)
        for name in report.skipped:
            log.info("table %s does not exist in PostgreSQL: skipped", name)
        archived = set(state.archived_days)
        found = repair.find(lake, [t for t in DAY_TABLES if t.name in todo])
        _triage(conn, lake, todo, stale, archived, tz, found, drop_damaged, days, dry_run, report)
        report.planned = {name: sorted(set(todo[name]) | set(stale.get(name, []))) for name in todo}
        for name, planned in report.planned.items():
            log.info("%s %s: %d day(s) to write%s%s", "would sync" if dry_run else "sync", name, len(planned),
                     f", {len(stale.get(name, []))} stale partition(s) to remove" if stale.get(name) else "",
                     (": " + ", ".join(d.isoformat() for d in planned)) if dry_run and planned else "")
        if dry_run:
            small = [t.name for t in TABLES if not t.by_day and t.name not in report.skipped]
            log.info("would rewrite %s; nothing written (dry run)", ", ".join(small))
            repair.report(report.damaged)
            report.seconds = time.monotonic() - t0
            return report

        opted_out = opted_out_users(conn)
        after = state
        progress.planned(report.planned)
        for table in DAY_TABLES:
            if table.name in todo:
                with snapshot_reader(conn) as reader:  # binary reads in this snapshot
                    _write_days(conn, reader, lake, table, todo[table.name], stale.get(table.name, []), tz,
                                archived, opted_out, report, progress)
                with conn.cursor() as cur:
                    cur.execute(table.max_id)
                    table_max = cur.fetchone()[0]
                old = state.marks(table.name)
                after = after.with_marks(table.name, TableMarks(old.max_id if days else table_max, old.days)
                                         ).counted(table.name, {r.day: r.rows for r in report.parts
                                                                if r.table == table.name})
        t_small = time.monotonic()
        for table in TABLES:
            if table.by_day or table.name in report.skipped:
                continue
            resolved = extract.resolve(conn, table)
            report.tables[table.name], report.table_bytes[table.name] = lake.write(resolved, extract.stream(conn, resolved))
        report.small_tables_seconds = time.monotonic() - t_small

        marks = {"sync_started_at": _utc(started), "max_id": max_id,
                 "max_created_at": _utc(max_created), "max_blinded_at": _utc(max_blinded)}
        if days:  # explicit days say nothing about the others: the cursor stays put
            marks = {k: getattr(state, k) for k in marks}
        report.state = replace(after, version=STATE_VERSION, last_sync=datetime.now(UTC), timezone=tz, **marks)
        report.export_seconds = time.monotonic() - t0
        _build_side_tables(conn, lake, tz, archived, opted_out, drop_damaged, days, report, progress)
        lake.write_state(report.state)  # last: the cursor moves only after every write
    if not days:
        _prune_after_sync(conn, lake, started - OVERLAP, tz, report)
    catalog_file.refresh(lake)  # views for outside tools over the files as they are now
    report.seconds = time.monotonic() - t0
    phases.log_phases(report, settings.get_int("SYNC_WRITERS"))
    log.info("synced %d day(s): %d rows, %d bytes, %d channels in %.2fs (export %.2fs, accelerators %.2fs)%s",
             len(report.days), report.rows, report.bytes, report.channels, report.seconds,
             report.export_seconds, report.accelerator_seconds,
             f"; {len(report.repaired)} damaged partition(s) rewritten from PostgreSQL" if report.repaired else "")
    repair.report(report.damaged)
    return report
