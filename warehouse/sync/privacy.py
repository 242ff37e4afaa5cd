"""`python -m warehouse forget-user USER_ID [--nickname NAME] [--reason TEXT]`: forget a
user everywhere: their own rows, and their id and nicknames in everybody else's.

1. The user joins the opt-out list (``opt_out_user``): the sink drops their new lines and its
   INSERT skips their id, and the sync never exports them. That list is the one place their
   id stays: it is how their new lines are refused. Every store transaction holds the list
   IN SHARE MODE (collector/forgotten.py), so this INSERT waits for the stores under way and
   later stores wait for this commit: no line of theirs is stored after forget-user returns.
   Its first statement after the advisory lock, so it waits holding nothing a store needs.
2. Their nicknames: those of their own lines (PostgreSQL and the lake), any given with
   ``--nickname``, and any found next to their id in a row being scrubbed (a gift line, a
   profile inside a system line: core/scrub.py ``Forgetting``); a pass that learns
   one is followed by another.
3. PostgreSQL: their ``stream_chat`` rows are deleted (the tombstone trigger records ids and
   times, nothing else), and the ``events`` that name their id at any depth of the body.
   Then every text and JSON column of every other table (found in information_schema, so a
   table added later is covered) is scrubbed of their id and nicknames: a value that is
   them becomes NULL, a mention inside text or JSON is replaced (core/scrub.py). Compact
   chat rows (raw and badges as zstd frames, tables.Compact) are read back to be searched
   and scrubbed as text, and the scrubbed text is written back compressed with the
   dictionary the row names (which stays).
4. The lake: the same over every Parquet file (warehouse/sync/forget_lake.py), archived days
   included; state.json's day counts follow; the side tables are rebuilt.

All of it under the sync's advisory lock, in one PostgreSQL transaction that commits after
the lake is rewritten. Running it again finds nothing and reports zeros (idempotent).
Exit status 75 (EX_TEMPFAIL) when a sync holds that lock: nothing changed, try again later."""
from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import psycopg2.extensions
from psycopg2 import sql

from core import db, raw_codec, settings
from core.scrub import REDACTED, Forgetting, Target, names_id, scrub_row
from warehouse.lake import catalog_file
from warehouse.lake.layout import Lake
from warehouse.lake.tables import TABLES, Compact
from warehouse.read import accelerators
from warehouse.sync import compact, forget_lake, lock
from warehouse.sync.lock import EX_TEMPFAIL, LockHeld, busy

log = logging.getLogger(__name__)
TEXT_TYPES = ("text", "character varying", "character", "json", "jsonb")
KEEP_TABLES = frozenset({"opt_out_user"})  # the list of the forgotten holds their ids by design
MAX_PASSES = 3  # a pass that learns a nickname is followed by another (rows read before it may name it)
SCAN_ROWS = 20_000  # compact rows fetched at a time while searching their frames
COMPACT = {t.source: t.compact for t in TABLES if t.compact is not None}  # PostgreSQL table -> its frames


@dataclass
class ForgetReport:
    user_id: str
    newly_opted_out: bool = False
    nicknames: int = 0
    pg_chat_rows: int = 0
    pg_events: int = 0
    pg_rows_scrubbed: int = 0
    partitions_rewritten: int = 0
    lake_rows_removed: int = 0
    lake_rows_scrubbed: int = 0
    unchecked: list[str] = field(default_factory=list)  # damaged files under _damaged/
    seconds: float = 0.0


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool


def text_columns(cur) -> dict[str, list[Column]]:
    """Every text and JSON column of every base table of the schema (but KEEP_TABLES)."""
    cur.execute("SELECT c.table_name, c.column_name, c.data_type, c.is_nullable = 'YES'"
                " FROM information_schema.columns c JOIN information_schema.tables t"
                " ON t.table_schema = c.table_schema AND t.table_name = c.table_name"
                " WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE'"
                " AND c.data_type = ANY(%s) ORDER BY c.table_name, c.ordinal_position", (list(TEXT_TYPES),))
    out: dict[str, list[Column]] = {}
    for table, name, typ, nullable in cur.fetchall():
        if table not in KEEP_TABLES:
            out.setdefault(table, []).append(Column(name, typ, nullable))
    return out


def _rows_with(cur, table: str, cols: list[Column], terms: list[str], spec: Compact | None = None,
               ids: list[int] = (), dictionaries: compact.Dictionaries | None = None,
               ) -> Iterator[tuple[str, dict[str, str | None], dict]]:
    """(ctid, {column: value as text}, {frame or dictionary column: value}) of the rows where
    any of `cols` holds any of `terms`, or (a table with compact columns, `spec`) whose id is
    in `ids`, locked until the transaction ends (so their ctid stays theirs). A compact row's
    text columns hold its frames' text (None when a frame does not read back)."""
    hay = sql.SQL(" || chr(1) || ").join(sql.SQL("coalesce(t.{}::text, '')").format(sql.Identifier(c.name))
                                         for c in cols)
    extra = [f.name for f in spec.fields] if spec is not None else []
    cond = sql.SQL(" OR ").join([sql.SQL("strpos(h.hay, %s) > 0") for _ in terms]
                                + ([sql.SQL("t.id = ANY(%s)")] if spec is not None else []))
    query = sql.SQL("SELECT t.ctid::text, {cols} FROM {table} t CROSS JOIN LATERAL (SELECT {hay} AS hay) h"
                    " WHERE {cond} FOR UPDATE OF t").format(
        cols=sql.SQL(", ").join([sql.SQL("t.{}::text").format(sql.Identifier(c.name)) for c in cols]
                                + [sql.SQL("t.{}").format(sql.Identifier(name)) for name in extra]),
        table=sql.Identifier(table), hay=hay, cond=cond)
    cur.execute(query, [*terms, list(ids)] if spec is not None else terms)
    for ctid, *values in cur.fetchall():
        row = dict(zip((c.name for c in cols), values[:len(cols)], strict=True))
        frames = dict(zip(extra, (bytes(v) if isinstance(v, memoryview) else v for v in values[len(cols):]),
                          strict=True))
        for name, frame in spec.frames if spec is not None else ():
            if frames[frame] is not None:
                row[name] = _frame_text(table, ctid, frames[frame], frames[spec.dictionary], dictionaries)
        yield ctid, row, frames


def _frame_text(table: str, key, frame: bytes, dict_id: int | None,
                dictionaries: compact.Dictionaries) -> str | None:
    try:
        return compact.text(frame, dict_id, dictionaries)
    except raw_codec.CodecError as exc:
        log.error("forget-user: %s row %s holds a compressed value that does not read back, so it cannot be"
                  " checked for the user (%s); delete the row if it may name them", table, key, exc)
        return None


def compact_candidates(conn, table: str, spec: Compact, terms: list[str],
                       dictionaries: compact.Dictionaries) -> list[int]:
    """The ids of `table`'s compact rows whose frames' text holds any of `terms`: every frame
    is read back (PostgreSQL cannot search inside them), SCAN_ROWS rows at a time."""
    frames = [frame for _, frame in spec.frames]
    found: list[int] = []
    with conn.cursor(name="forget_user_frames") as scan:
        scan.itersize = SCAN_ROWS
        scan.execute(sql.SQL("SELECT id, {dict}, {frames} FROM {table} WHERE {any}").format(
            dict=sql.Identifier(spec.dictionary), frames=sql.SQL(", ").join(map(sql.Identifier, frames)),
            table=sql.Identifier(table),
            any=sql.SQL(" OR ").join(sql.SQL("{} IS NOT NULL").format(sql.Identifier(f)) for f in frames)))
        for row_id, dict_id, *blobs in scan:
            for blob in blobs:
                if blob is None:
                    continue
                text = _frame_text(table, row_id, bytes(blob), dict_id, dictionaries)
                if text is not None and any(term in text for term in terms):
                    found.append(row_id)
                    break
    return found


def _compact_set(name: str, new: str | None, frames: dict, spec: Compact, dictionaries: compact.Dictionaries):
    """The SET of a compact row's scrubbed text column: its frame, compressed with the row's
    dictionary; compact JSON, as the sink writes it (a value that was all the user: JSON
    null, as a JSON column that may not be NULL gets: the row keeps a payload)."""
    frame = dict(spec.frames)[name]
    try:
        new = "null" if new is None else json.dumps(json.loads(new), ensure_ascii=False, separators=(",", ":"))
    except ValueError:
        pass  # not JSON before either: kept as the scrub gave it
    return (sql.SQL("{} = %s").format(sql.Identifier(frame)),
            raw_codec.compress(new, raw_codec.lookup(dictionaries, frames[spec.dictionary])))


def scrub_pg(cur, columns: dict[str, list[Column]], forgetting: Forgetting) -> int:
    """Take the target out of every row of `columns`' tables; returns the rows changed."""
    changed = 0
    for table, cols in columns.items():
        types = {c.name: c for c in cols}
        json_cols = frozenset(c.name for c in cols if c.type in ("json", "jsonb"))
        spec = COMPACT.get(table)
        terms = forgetting.target.terms()
        dictionaries = compact.load_dictionaries(cur.connection) if spec is not None else {}
        ids = compact_candidates(cur.connection, table, spec, terms, dictionaries) if spec is not None else []
        for ctid, row, frames in list(_rows_with(cur, table, cols, terms, spec, ids, dictionaries)):
            changes = scrub_row(row, forgetting.learn(row), json_cols)
            if not changes:
                continue
            sets, params = [], []
            for name, new in changes.items():
                if spec is not None and frames.get(dict(spec.frames).get(name)) is not None:
                    set_, param = _compact_set(name, new, frames, spec, dictionaries)
                    sets.append(set_)
                    params.append(param)
                    continue
                col = types[name]
                if new is None and not col.nullable:
                    new = "null" if col.name in json_cols else REDACTED
                cast = "::" + col.type if col.name in json_cols else ""  # json or jsonb: a constant
                sets.append(sql.SQL("{} = %s" + cast).format(sql.Identifier(name)))
                params.append(new)
            cur.execute(sql.SQL("UPDATE {} SET {} WHERE ctid = %s::tid").format(
                sql.Identifier(table), sql.SQL(", ").join(sets)), [*params, ctid])
            changed += cur.rowcount
    return changed


def forget_user(conn: psycopg2.extensions.connection, root: str, user_id: str,
                reason: str | None = None, nicknames: tuple[str, ...] = ()) -> ForgetReport:
    """Forget `user_id` (and `nicknames`, with those found next to the id) in PostgreSQL and
    the lake at `root`, and opt them out. Raises LockHeld while a sync holds the lock."""
    t0 = time.monotonic()
    report = ForgetReport(user_id)
    lake = Lake(root)
    conn.rollback()
    saved = conn.autocommit
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            lock.require(cur, "a warehouse sync of this database is running; try forget-user again later")
            cur.execute("INSERT INTO opt_out_user (user_id, reason) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        (user_id, reason))
            report.newly_opted_out = cur.rowcount == 1
            # their own rows go first; what they were called there is the start of the list
            cur.execute("DELETE FROM stream_chat WHERE user_id = %s RETURNING nickname", (user_id,))
            report.pg_chat_rows = cur.rowcount
            names = {n for (n,) in cur.fetchall() if n} | set(nicknames) | forget_lake.own_nicknames(lake, user_id)
            forgetting = Forgetting(Target(user_id, tuple(names)))
            cur.execute("SELECT id, body::text FROM events WHERE strpos(body::text, %s) > 0", (user_id,))
            about = [(event_id, body) for event_id, body in cur.fetchall() if names_id(body, user_id)]
            for _, body in about:
                forgetting.learn(body)
            cur.execute("DELETE FROM events WHERE id = ANY(%s)", ([event_id for event_id, _ in about],))
            report.pg_events = cur.rowcount
            columns = text_columns(cur)
            state = lake.state()
            for _ in range(MAX_PASSES):  # again only when a row named a nickname not known before
                forgetting.grew = False
                report.pg_rows_scrubbed += scrub_pg(cur, columns, forgetting)
                lake_report = forget_lake.scrub_lake(lake, forgetting)
                for table, rows in lake_report.counts.items():
                    state = state.counted(table, rows)
                report.partitions_rewritten += lake_report.rewritten
                report.lake_rows_removed += lake_report.removed
                report.lake_rows_scrubbed += lake_report.scrubbed
                if not forgetting.grew:
                    break
            report.nicknames = len(forgetting.target.nicknames)
            report.unchecked = forget_lake.quarantined(lake)
            for path in report.unchecked:
                log.warning("forget-user: %s (moved aside as damaged) cannot be checked for the user: delete it"
                            " unless a salvage of it is planned", path)
            if report.partitions_rewritten:
                accelerators.rebuild_all(lake, forgetting=True)
                catalog_file.refresh(lake)  # a table may have lost its last file
                if state.present:
                    lake.write_state(state)
        conn.commit()
    finally:
        conn.rollback()
        conn.autocommit = saved
    report.seconds = time.monotonic() - t0
    log.info("forget-user %s: %s; %d nickname(s); PostgreSQL: %d chat rows, %d events deleted, %d other rows"
             " scrubbed; lake: %d file(s) rewritten, %d row(s) removed, %d scrubbed, in %.2fs", user_id,
             "added to the opt-out list" if report.newly_opted_out else "already on the opt-out list",
             report.nicknames, report.pg_chat_rows, report.pg_events, report.pg_rows_scrubbed,
             report.partitions_rewritten, report.lake_rows_removed, report.lake_rows_scrubbed, report.seconds)
    return report


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("user_id", metavar="USER_ID", help="the user's id (userIdHash) as stored in stream_chat")
    parser.add_argument("--nickname", action="append", default=[], metavar="NAME",
                        help="a nickname of theirs to remove too (repeatable; those shown next to their id "
                             "are found without it)")
    parser.add_argument("--reason", help="kept in opt_out_user.reason (e.g. a ticket number)")
    parser.epilog = (f"Exit status: 0 forgotten (or nothing left to forget); 1 failed; {EX_TEMPFAIL} (EX_TEMPFAIL) a sync "
                     "of this database holds the lock: nothing changed, run it again later.")


def run(args: argparse.Namespace) -> int:
    if not args.user_id.strip() or args.user_id in ("anonymous", "SYSTEM_MESSAGE"):
        raise SystemExit(f"forget-user: {args.user_id!r} is not a single user's id")
    conn = db.connect()
    try:
        r = forget_user(conn, settings.warehouse_dir(), args.user_id, args.reason, tuple(args.nickname))
    except LockHeld as exc:
        return busy("warehouse forget-user", exc)
    finally:
        conn.close()
    print(f"user {r.user_id}: {'added to' if r.newly_opted_out else 'already on'} the opt-out list; "
          f"{r.nicknames} nickname(s); PostgreSQL: {r.pg_chat_rows} chat rows and {r.pg_events} events deleted, "
          f"{r.pg_rows_scrubbed} other rows scrubbed; lake: {r.partitions_rewritten} partitions rewritten, "
          f"{r.lake_rows_removed} rows removed, {r.lake_rows_scrubbed} scrubbed")
    return 0
