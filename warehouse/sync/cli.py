"""`python -m warehouse sync [--day YYYY-MM-DD ...| --all] [--dry-run] [--drop-damaged]`, then
retention (PG_RETENTION_DAYS) when set. On a terminal (stderr a TTY) a progress bar shows the
partitions written of those planned, with rows; otherwise one log line per partition.

Exit status: 0 synced; 1 failed (one line on stderr says why); 3 (repair.EXIT_DAMAGED)
synced, but a damaged partition could not be rewritten from PostgreSQL: it was left as it
is, and stderr says, per partition, exactly which command repairs it; 75 (EX_TEMPFAIL) another
sync, forget-user or retention run of this database holds the lock: nothing changed, try later."""
from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from datetime import date

from tqdm import tqdm
from tqdm.contrib.logging import logging_redirect_tqdm

from core import db, settings
from warehouse.sync import metrics as sync_metrics
from warehouse.sync import repair, retention
from warehouse.sync.export import DayResult, Progress, sync
from warehouse.sync.lock import EX_TEMPFAIL, LockHeld, busy


class Bar(Progress):
    """A tqdm bar on stderr: partitions (days) written of planned, rows written so far."""

    def __init__(self) -> None:
        self.bar: tqdm | None = None
        self.rows = 0

    def planned(self, days: dict[str, list[date]]) -> None:
        self.bar = tqdm(total=sum(len(d) for d in days.values()), desc="sync", unit="day",
                        file=sys.stderr, dynamic_ncols=True)

    def written(self, result: DayResult) -> None:
        self.rows += result.rows
        self.bar.set_postfix_str(f"{result.table} {result.day} rows={self.rows:,}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        if self.bar is not None:
            self.bar.close()


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
    parser.add_argument("--drop-damaged", action="store_true",
                        help="move unreadable partitions PostgreSQL cannot rewrite (of the --day days, or all)"
                             " to <WAREHOUSE_DIR>/_damaged/ and write their days from what PostgreSQL has")
    parser.epilog = ("Without --day or --all: the days touched since the last sync (all days on the first run)."
                     " Unreadable partitions are rewritten from PostgreSQL when it still holds their day; exit"
                     f" status {repair.EXIT_DAMAGED} when one could not be (stderr says what repairs it);"
                     f" {EX_TEMPFAIL} when another sync or forget-user of this database is running (try later).")


def run(args: argparse.Namespace) -> int:
    bar = Bar() if sys.stderr.isatty() and not args.dry_run else None
    conn = sync_metrics.connected(db.connect, dry_run=args.dry_run)  # SYNC_METRICS_FILE
    try:
        root = settings.warehouse_dir()
        # other log lines (plan, summary) are printed above the bar instead of through it
        with logging_redirect_tqdm() if bar is not None else nullcontext():
            try:
                report = sync_metrics.recorded(sync, conn, root, days=args.day, all_days=args.all,
                                               dry_run=args.dry_run, progress=bar, drop_damaged=args.drop_damaged)
            finally:
                if bar is not None:
                    bar.close()
        if not args.dry_run:
            retention.after_sync(conn, root, report)
    except LockHeld as exc:  # another sync, forget-user or retention: nothing changed, try later
        return busy("warehouse sync", exc)
    finally:
        conn.close()
    if report.damaged:  # each one's ERROR line (warehouse.repair) says what repairs it
        print(f"warehouse sync: {len(report.damaged)} damaged partition(s) left as they are: "
              + ", ".join(u.damage.partition for u in report.damaged), file=sys.stderr)
        return repair.EXIT_DAMAGED
    return 0
