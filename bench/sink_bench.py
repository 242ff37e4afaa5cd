"""The sink's cost of honouring the opt-out list: `.venv/bin/python -m bench.sink_bench
[--records 50000] [--opted-out 1000] [--reps 3]`.

The same realistic batch (the simulator's history through parse_frame) is stored into an
embedded PostgreSQL, emptied between runs, with the same opt-out list of N users (ids and
nicknames known to the sink; a few of them are senders in the batch, so their lines are
dropped and lines naming them scrubbed; --known-nicknames 0: only theirs): "before" = their own lines dropped only (the
scrub step replaced by a no-op), "after" = the sink as it is. Prints medians and the ratio."""
from __future__ import annotations

import argparse
import logging
import random
import statistics
import time
from datetime import datetime

from bench.datagen import KST, start_server
from collector import backfill, forgotten, sink
from core import db


def _batch(n: int) -> list[dict]:
    out: list[dict] = []
    for recs in backfill.records(3, 4, 7, 60.0, datetime(2026, 9, 3, tzinfo=KST)):
        out.extend(recs)
        if len(out) >= n:
            return out[:n]
    return out


def _opt_out(conn, batch: list[dict], n: int, named: int) -> None:
    rng = random.Random(3)
    senders = sorted({(r["user_id"], r["nickname"]) for r in batch if r.get("kind") == "chat" and r.get("nickname")})
    real = rng.sample(senders, 5)
    fake = [(f"{rng.getrandbits(128):032x}", "".join(chr(rng.randint(0xAC00, 0xD7A3)) for _ in range(rng.randint(2, 6)))
             if i % 3 else f"user{rng.getrandbits(24):06x}") for i in range(n - len(real))]
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO opt_out_user (user_id) SELECT unnest(%s::text[])", ([u for u, _ in real + fake],))
    forgotten._opt_out_cache.clear()
    forgotten._opt_out(conn).learn({u: {nick} for u, nick in real + fake[:named]})


def _time(conn, batch: list[dict]) -> float:
    with conn, conn.cursor() as cur:
        cur.execute("TRUNCATE stream_chat, events, dead_letter")
    t0 = time.perf_counter()
    sink.store(conn, batch, log_level=logging.DEBUG)
    return time.perf_counter() - t0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--records", type=int, default=50_000)
    ap.add_argument("--opted-out", type=int, default=1_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--known-nicknames", type=int, default=1_000,
                    help="how many of them the sink knows a nickname for (it learns them from lines it sees)")
    args = ap.parse_args()
    srv = start_server()
    conn = db.connect(srv.url)
    batch = _batch(args.records)
    _opt_out(conn, batch, args.opted_out, args.known_nicknames)
    scrub = sink.forget_opted_out
    times: dict[str, list[float]] = {"before": [], "after": []}
    _time(conn, batch)  # warm-up
    for _ in range(args.reps):
        sink.forget_opted_out = lambda conn, c, e, d, to_json: (c, e, d)
        times["before"].append(_time(conn, batch))
        sink.forget_opted_out = scrub
        times["after"].append(_time(conn, batch))
    before, after = (statistics.median(times[k]) for k in ("before", "after"))
    print(f"{len(batch)} records, {args.opted_out} opted-out users ({args.known_nicknames} nicknames known): before {before:.3f}s "
          f"({len(batch) / before:,.0f}/s), after {after:.3f}s ({len(batch) / after:,.0f}/s), ratio {after / before:.3f}")


if __name__ == "__main__":
    main()
