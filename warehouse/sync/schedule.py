"""`python -m warehouse schedule`: run the sync every night at SYNC_HOUR:SYNC_MINUTE in
DISPLAY_TZ with APScheduler (one run at a time; missed runs coalesce into one), then the
retention job when PG_RETENTION_DAYS is set. Across processes (a cron sync, a second
scheduler), the sync's PostgreSQL advisory lock keeps two runs from overlapping: the later
one fails at once with "another warehouse sync … is running" and changes nothing.

SIGINT and SIGTERM stop it cleanly (exit 0): a sync in progress finishes first."""
from __future__ import annotations

import argparse
import logging
import threading

from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.cron import CronTrigger

from core import db, settings
from core.stopping import stop_signals
from warehouse.sync import metrics as sync_metrics
from warehouse.sync import retention
from warehouse.sync.export import sync

log = logging.getLogger(__name__)
JOB_ID = "warehouse-sync"
MISFIRE_GRACE_SECONDS = 3600  # a run missed by less than this (machine asleep) still happens


def sync_job() -> None:
    """One scheduled sync; errors are logged, and the scheduler waits for the next night."""
    try:
        conn = sync_metrics.connected(db.connect)  # SYNC_METRICS_FILE
        try:
            root = settings.warehouse_dir()
            retention.after_sync(conn, root, sync_metrics.recorded(sync, conn, root))
        finally:
            conn.close()
    except Exception:
        log.exception("scheduled warehouse sync failed; the next run will retry the same days")


def build_scheduler() -> BackgroundScheduler:
    tz = settings.get("DISPLAY_TZ") or "Asia/Seoul"
    scheduler = BackgroundScheduler(timezone=tz)
    trigger = CronTrigger(hour=settings.get_int("SYNC_HOUR"), minute=settings.get_int("SYNC_MINUTE"),
                          timezone=tz)
    scheduler.add_job(sync_job, trigger, id=JOB_ID, max_instances=1, coalesce=True,
                      misfire_grace_time=MISFIRE_GRACE_SECONDS)
    return scheduler


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--now", action="store_true", help="also run one sync right away")


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    with stop_signals(stop.set):
        if args.now:
            sync_job()
        scheduler = build_scheduler()
        job = scheduler.get_job(JOB_ID)
        scheduler.start()
        log.info("warehouse sync scheduled: %s (%s)", job.trigger, scheduler.timezone)
        stop.wait()  # until Ctrl-C or SIGTERM
        scheduler.shutdown(wait=True)  # a sync in progress finishes first
    log.info("warehouse sync schedule stopped")
    return 0
