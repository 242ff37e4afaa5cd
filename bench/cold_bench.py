"""Cold first calls after open (issue 18: no first call over 1 s): each question asked once of
a warehouse just opened, in a fresh process (nothing cached but the OS's file pages), with
the accelerators and without them (``accelerate=False``: the scan) in the same run; the
median of `reps` processes each.

    .venv/bin/python -m bench.cold_bench --lake DIR [--reps 3]
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TARGET_SECONDS = 1.0
# what the child process asks: (name, expression of the call; `wh` the warehouse, `user` the busiest chatter)
QUESTIONS = (("new_vs_returning", "warehouse.new_vs_returning(wh)"),
             ("tier_split", "warehouse.tier_split(wh)"),
             ("user_messages", "warehouse.user_messages(wh, user, limit=100)"),
             ("search_users", "warehouse.search_users(wh, '김')"))
_CHILD = """
import json, sys, time
import warehouse
root, accelerate, user, call = sys.argv[1], sys.argv[2] == "1", sys.argv[3], sys.argv[4]
t0 = time.perf_counter()
wh = warehouse.open(root, accelerate=accelerate)
t1 = time.perf_counter()
rows = eval(call).height  # noqa: S307 - a constant of bench/cold_bench.py
print(json.dumps({"open": t1 - t0, "first": time.perf_counter() - t1, "rows": rows}))
"""


def _busiest(root: str) -> str:
    import polars as pl
    import pyarrow.parquet as pq
    users = pl.from_arrow(pq.read_table(f"{root}/users/part-0.parquet", columns=["user_id", "messages"]))
    return users.group_by("user_id").agg(pl.col("messages").sum()).sort("messages", descending=True)["user_id"][0]


def _child(root: str, accelerate: bool, user: str, call: str) -> dict:
    out = subprocess.run([sys.executable, "-c", _CHILD, root, "1" if accelerate else "0", user, call],
                         cwd=ROOT, capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(lake: str, reps: int = 3) -> dict:
    """{question: {"accelerated": s, "scan": s, "rows": n}}: median first-call seconds."""
    user = _busiest(lake)
    res = {}
    for name, call in QUESTIONS:
        times = {True: [], False: []}
        rows = None
        for _ in range(reps):
            for accelerate in (True, False):
                got = _child(lake, accelerate, user, call)
                times[accelerate].append(got["first"])
                rows = got["rows"]
        res[name] = {"accelerated": round(statistics.median(times[True]), 3),
                     "scan": round(statistics.median(times[False]), 3), "rows": rows}
    return res


def print_report(res: dict) -> None:
    print(f"{'cold first call':<20} {'accelerated':>12} {'scan':>8}  target <= {TARGET_SECONDS:g} s")
    for name, r in res.items():
        met = "met" if r["accelerated"] <= TARGET_SECONDS else "NOT MET"
        print(f"{name:<20} {r['accelerated']:>11.3f}s {r['scan']:>7.3f}s  {met}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", required=True, help="a synced lake with its accelerators (bench.realistic --out)")
    ap.add_argument("--reps", type=int, default=3, help="fresh processes per question and side (median)")
    args = ap.parse_args(argv)
    print_report(run(args.lake, args.reps))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
