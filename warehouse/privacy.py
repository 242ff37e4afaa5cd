"""`python -m warehouse forget-user USER_ID [--reason TEXT]`: delete a user everywhere.

1. The user joins the opt-out list (``opt_out_user``): the collector's sink drops their new
   lines before COPY (it re-reads the list every minute) and the sync never exports them.
2. PostgreSQL: their ``stream_chat`` rows are deleted (the tombstone trigger records the
   ids and times, nothing else), and ``events`` whose body names their user id.
3. The lake: every ``chat`` partition holding a row of theirs and every ``events``
   partition naming them is rewritten without those rows (temporary file, then rename),
   archived days included; state.json's day counts follow.

All of it under the sync's advisory lock, in one PostgreSQL transaction that commits after
the lake is rewritten. Running it again finds nothing and reports zeros (idempotent)."""
from __future__ import annotations

import argparse
import logging
import time
from dataclasses import dataclass

import psycopg2.extensions
import pyarrow as pa
import pyarrow.compute as pc

from core import db, settings
from warehouse import rollups, user_tail, users_index
from warehouse.lake import Lake
from warehouse.sync import LOCK_ID
from warehouse.tables import CHAT, EVENTS

log = logging.getLogger(__name__)


@dataclass
class ForgetReport:
    user_id: str
    newly_opted_out: bool = False
    pg_chat_rows: int = 0
    pg_events: int = 0
    partitions_rewritten: int = 0
    lake_rows_removed: int = 0
    seconds: float = 0.0


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def json_token(user_id: str) -> str:
    """How the user id appears inside JSON text: a quoted string."""
    return '"' + user_id.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _rows_to_drop(part: pa.Table, table, user_id: str) -> pa.ChunkedArray:
    if table is CHAT:
        return pc.fill_null(pc.equal(part.column("user_id"), user_id), False)
    return pc.fill_null(pc.match_substring(part.column("body"), json_token(user_id)), False)


def scrub_lake(lake: Lake, user_id: str, state: dict) -> tuple[int, int]:
    """Rewrite every chat/events partition holding `user_id` without those rows; update
    the chat day counts in `state`. Returns (partitions rewritten, rows removed)."""
    rewritten = removed = 0
    for table, column in ((CHAT, "user_id"), (EVENTS, "body")):
        for day in lake.days(table):
            probe = lake.read(table, day, columns=[column])
            mask = _rows_to_drop(probe, table, user_id)
            hits = pc.sum(mask).as_py() or 0
            if not hits:
                continue
            part = lake.read(table, day)
            rows, _ = lake.write(table, part.filter(pc.invert(_rows_to_drop(part, table, user_id))), day)
            rewritten += 1
            removed += hits
            log.info("forget-user: %s day=%s rewritten without %d row(s)", table.name, day, hits)
            if table is CHAT:
                days = state.setdefault("days", {})
                if rows:
                    days[day.isoformat()] = rows
                else:
                    days.pop(day.isoformat(), None)
            else:
                tstate = state.setdefault("tables", {}).setdefault(table.name, {}).setdefault("days", {})
                tstate[day.isoformat()] = rows
    if rewritten:  # nor may the side tables keep them (only changed days redone)
        users_index.build_users_index(lake)
        rollups.build_rollups(lake)
        try:
            user_tail.build_user_tail(lake)
        except Exception:
            user_tail.remove(lake)  # it holds the text of their lines: gone rather than left stale
            raise
    return rewritten, removed


def forget_user(conn: psycopg2.extensions.connection, root: str, user_id: str,
                reason: str | None = None) -> ForgetReport:
    """Delete `user_id` from PostgreSQL and the lake at `root`, and opt them out.
    Raises RuntimeError while a sync holds the lock."""
    t0 = time.monotonic()
    report = ForgetReport(user_id)
    lake = Lake(root)
    conn.rollback()
    saved = conn.autocommit
    conn.autocommit = False
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (LOCK_ID,))
            if not cur.fetchone()[0]:
                raise RuntimeError("a warehouse sync of this database is running; try forget-user again later")
            cur.execute("INSERT INTO opt_out_user (user_id, reason) VALUES (%s, %s) ON CONFLICT DO NOTHING",
                        (user_id, reason))
            report.newly_opted_out = cur.rowcount == 1
            cur.execute("DELETE FROM stream_chat WHERE user_id = %s", (user_id,))
            report.pg_chat_rows = cur.rowcount
            cur.execute("DELETE FROM events WHERE body::text LIKE %s",
                        ("%" + _like_literal(json_token(user_id)) + "%",))
            report.pg_events = cur.rowcount
            state = lake.read_state()
            report.partitions_rewritten, report.lake_rows_removed = scrub_lake(lake, user_id, state)
            if report.partitions_rewritten and state:
                lake.write_state(state)
        conn.commit()
    finally:
        conn.rollback()
        conn.autocommit = saved
    report.seconds = time.monotonic() - t0
    log.info("forget-user %s: %s; PostgreSQL: %d chat rows, %d events deleted; lake: %d partition(s)"
             " rewritten, %d row(s) removed, in %.2fs", user_id,
             "added to the opt-out list" if report.newly_opted_out else "already on the opt-out list",
             report.pg_chat_rows, report.pg_events, report.partitions_rewritten, report.lake_rows_removed,
             report.seconds)
    return report


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("user_id", metavar="USER_ID", help="the user's id (userIdHash) as stored in stream_chat")
    parser.add_argument("--reason", help="kept in opt_out_user.reason (e.g. a ticket number)")


def run(args: argparse.Namespace) -> int:
    if not args.user_id.strip() or args.user_id in ("anonymous", "SYSTEM_MESSAGE"):
        raise SystemExit(f"forget-user: {args.user_id!r} is not a single user's id")
    conn = db.connect()
    try:
        r = forget_user(conn, settings.warehouse_dir(), args.user_id, args.reason)
    finally:
        conn.close()
    print(f"user {r.user_id}: {'added to' if r.newly_opted_out else 'already on'} the opt-out list; "
          f"PostgreSQL: {r.pg_chat_rows} chat rows and {r.pg_events} events deleted; "
          f"lake: {r.partitions_rewritten} partitions rewritten, {r.lake_rows_removed} rows removed")
    return 0
