"""``python -m collector backfill-sim``: days of synthetic chat history (the simulator's
generator) written into PostgreSQL through the real parse path (``parse_frame`` on
93101 frames) and the real sink, in batches. Same ``--seed`` and ``--channels`` as
``python -m collector sim`` give the same channel ids. Idempotent: a rerun inserts
nothing new (dedupe keys)."""
from __future__ import annotations

import argparse
import logging
import time
from collections.abc import Iterator
from datetime import UTC, datetime

from collector import protocol, sink
from collector.sim.generator import KST, history, make_channels
from core import db

log = logging.getLogger(__name__)

BATCH_RECORDS = 20_000     # records per sink.store call
FRAME_ITEMS = 500          # items wrapped in one synthetic 93101 frame
DEFAULT_CHANNELS = 3
DEFAULT_SEED = 1
DEFAULT_RATE = 60.0        # chat lines per minute at average activity


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--days", type=int, required=True, metavar="D", help="days of history before now")
    parser.add_argument("--channels", type=int, default=DEFAULT_CHANNELS, metavar="N",
                        help=f"number of simulated channels (default {DEFAULT_CHANNELS})")
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED, metavar="S",
                        help=f"generator seed; same as `collector sim --seed` (default {DEFAULT_SEED})")
    parser.add_argument("--rate", type=float, default=DEFAULT_RATE, metavar="R",
                        help=f"chat lines per minute at average activity (default {DEFAULT_RATE:g})")
    parser.add_argument("--end", type=datetime.fromisoformat, default=None, metavar="ISO",
                        help="end of the history window (default: today 00:00 KST, so reruns the same "
                             "day regenerate exactly the same history)")


def records(days: int, channels: int, seed: int, rate: float, end: datetime) -> Iterator[list[dict]]:
    """Parsed records of the synthetic history, one list per synthetic frame, with
    ``channel_id`` filled in (as the live client does)."""
    chans = make_channels(channels, seed)
    for channel, chat_channel_id, items in history(chans, days, end, seed, rate_per_min=rate):
        for i in range(0, len(items), FRAME_ITEMS):
            frame = {"svcid": "game", "ver": "1", "cmd": protocol.CHAT, "cid": chat_channel_id, "tid": None,
                     "bdy": items[i:i + FRAME_ITEMS]}
            recs = [r for r in protocol.parse_frame(frame) if r.get("kind") != "control"]
            for r in recs:
                if not r.get("channel_id"):
                    r["channel_id"] = channel.channel_id
                if r.get("kind") == "dead_letter":
                    r.setdefault("source", "backfill-sim")
            yield recs


def run(args: argparse.Namespace) -> int:
    if args.days < 1 or args.channels < 1:
        raise ValueError("--days and --channels must be at least 1")
    end = args.end or datetime.now(KST).replace(hour=0, minute=0, second=0, microsecond=0)
    if end.tzinfo is None:
        end = end.replace(tzinfo=UTC)
    t0 = time.monotonic()
    conn = db.connect()
    try:
        with conn:
            sink.upsert_channels(conn, [{"channel_id": c.channel_id, "channel_name": c.channel_name,
                                         "follower_count": c.follower_count}
                                        for c in make_channels(args.channels, args.seed)])
        batch: list[dict] = []
        totals = {"records": 0, "inserted": 0, "duplicates": 0, "batches": 0}

        def store() -> None:
            report = sink.store(conn, batch, log_level=logging.DEBUG)
            totals["records"] += len(batch)
            totals["inserted"] += report.chat_inserted
            totals["duplicates"] += report.chat_duplicates
            totals["batches"] += 1
            log.info("backfill batch %d: %d records, %d new rows, %d duplicates (%d records so far, %.1fs)",
                     totals["batches"], len(batch), report.chat_inserted, report.chat_duplicates,
                     totals["records"], time.monotonic() - t0)
            batch.clear()

        for recs in records(args.days, args.channels, args.seed, args.rate, end):
            batch.extend(recs)
            if len(batch) >= BATCH_RECORDS:
                store()
        if batch:
            store()
    finally:
        conn.close()
    log.info("backfill-sim done: %d days, %d channels, seed %d: %d records, %d new rows, %d duplicates in %.1fs",
             args.days, args.channels, args.seed, totals["records"], totals["inserted"], totals["duplicates"],
             time.monotonic() - t0)
    return 0
