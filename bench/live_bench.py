"""What the live overlay costs (Warehouse(live=True), docs/LIVE_DATA.md), beside the same
question asked of a lake that already holds the rows, in ONE run on the same data.

    .venv/bin/python bench/live_bench.py                    # 100k rows today, 300k synced
    .venv/bin/python bench/live_bench.py --today 20000 --history 60000   # smoke check

A throwaway embedded PostgreSQL (bench.datagen.start_server) gets `--history` rows over the
three days before today (Asia/Seoul), synced into a lake; then `--today` rows of the last 50
minutes, not synced.
Timed, each `--reps` times (median): open + one list_channels with live=True (the
overlay: plan, read, compose) and with live=False on a second lake freshly synced with
today's rows too (the peer: the same answer from Parquet alone); then one warm
activity(every="minute") query on each. Prints the figures and the ratios.
"""
from __future__ import annotations

import argparse
import logging
import os
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402

import warehouse  # noqa: E402
from bench import datagen  # noqa: E402
from warehouse.sync.export import sync  # noqa: E402

KST = ZoneInfo("Asia/Seoul")  # the lake's partition zone (DISPLAY_TZ default)
# n rows from `t0` spread over `span_s` seconds, 4 channels, 5000 users, mixed types
_FILL = """
    INSERT INTO stream_chat (channel_fk, chat_channel_id, user_id, nickname, message, message_type,
                             chat_time, created_at, subscription_tier, pay_amount, raw, dedupe_key)
    SELECT ch.id, 'cid-' || ch.id, 'u' || (i %% 5000), '닉네임' || (i %% 5000), '메시지 ' || i,
           (ARRAY['chat','chat','chat','chat','donation','subscription','sticker','image'])[1 + i %% 8],
           %(t0)s::timestamptz + (i::float8 * %(span_s)s / %(n)s) * interval '1 second',
           CASE WHEN %(old)s THEN %(t0)s::timestamptz + (i::float8 * %(span_s)s / %(n)s) * interval '1 second'
                ELSE now() END,
           CASE WHEN i %% 5 = 0 THEN 1 END, CASE WHEN i %% 8 = 4 THEN 1000 END,
           '{"b": 1}'::jsonb, %(tag)s || i
    FROM generate_series(1, %(n)s) i
    JOIN stream_channel ch ON ch.channel_id = lpad(to_hex(1 + i %% 4), 32, '0')"""


def _fill(conn, n: int, t0: datetime, span_s: int, old: bool, tag: str) -> None:
    with conn.cursor() as cur:
        cur.execute("INSERT INTO stream_channel (channel_id, channel_name) SELECT lpad(to_hex(k), 32, '0'),"
                    " '채널 ' || k FROM generate_series(1, 4) k ON CONFLICT DO NOTHING")
        cur.execute(_FILL, {"n": n, "t0": t0, "span_s": span_s, "old": old, "tag": tag})
    conn.commit()


def _median(fn, reps: int) -> float:
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--today", type=int, default=100_000, help="rows collected today, not synced")
    ap.add_argument("--history", type=int, default=300_000, help="rows of the three days before, synced")
    ap.add_argument("--reps", type=int, default=5)
    args = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    srv = datagen.start_server()
    work = Path(tempfile.mkdtemp(prefix="chzzk-live-bench-"))
    os.environ["DATABASE_URL"] = srv.url
    try:
        conn = psycopg2.connect(srv.url)
        now = datetime.now(UTC)
        midnight = datetime.combine(now.astimezone(KST).date(), datetime.min.time(), KST)
        _fill(conn, args.history, midnight - timedelta(days=3), 3 * 86400 - 1, True, "h")  # before today
        synced, fresh = str(work / "synced"), str(work / "fresh")
        sync(conn, synced)
        _fill(conn, args.today, now - timedelta(minutes=50), 2400, False, "t")
        sync(conn, fresh)

        def open_query(root: str, live: bool):
            with warehouse.open(root, live=live) as wh:
                return warehouse.list_channels(wh)

        assert open_query(synced, True).equals(open_query(fresh, False)), "live answer differs from a fresh sync"
        live_open = _median(lambda: open_query(synced, True), args.reps)
        lake_open = _median(lambda: open_query(fresh, False), args.reps)
        with warehouse.open(synced, live=True) as wl, warehouse.open(fresh) as wf:
            info = wl.live_info
            live_q = _median(lambda: warehouse.activity(wl, every="minute"), args.reps)
            lake_q = _median(lambda: warehouse.activity(wf, every="minute"), args.reps)
        print(f"overlay: {len(info['days'])} day(s), {info['rows']:,} rows from PostgreSQL"
              f" (lake: {args.history:,} rows synced before)")
        print(f"open + list_channels   live {live_open:7.3f}s   lake-only {lake_open:7.3f}s"
              f"   ratio {live_open / lake_open:5.1f}x   overlay cost {live_open - lake_open:6.3f}s")
        print(f"warm activity(minute)  live {live_q:7.3f}s   lake-only {lake_q:7.3f}s"
              f"   ratio {live_q / lake_q:5.1f}x")
        conn.close()
    finally:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
