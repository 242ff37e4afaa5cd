"""`python -m warehouse sync [--day YYYY-MM-DD ...| --all] [--dry-run]`, then retention
(PG_RETENTION_DAYS) when set."""
from __future__ import annotations

import argparse
from datetime import date

from core import db, settings
from warehouse import retention
from warehouse.sync import sync


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day like 2026-09-30") from None


def configure(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--day", type=_day, action="append", metavar="YYYY-MM-DD",
                       help="rewrite this day's partition (repeatable); days are in DISPLAY_TZ")
    group.add_argument("--all", action="store_true", help="rewrite every day in PostgreSQL")
    parser.add_argument("--dry-run", action="store_true",
                        help="list the days (and tables) it would write; write nothing")
    parser.epilog = "Without --day or --all: the days touched since the last sync (all days on the first run)."


def run(args: argparse.Namespace) -> int:
    conn = db.connect()
    try:
        root = settings.warehouse_dir()
        report = sync(conn, root, days=args.day, all_days=args.all, dry_run=args.dry_run)
        if not args.dry_run:
            retention.after_sync(conn, root, report)
    finally:
        conn.close()
    return 0
