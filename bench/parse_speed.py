"""How fast the collector parses: items/s of ``collector.protocol.parse_frame`` on one
core over realistic frames (bench/frames.py, both styles), beside the JSON decoders alone
on the same frames (the floor: ``json.loads``, ``orjson.loads``, msgspec) and the stdlib
reference path (``parse_frame_stdlib``: the parser as it was before issue 17, decoding
with ``json`` and building every item with ``collector.items.chat_record``), in ONE run.
Target (issue 17): parse_frame >= 50,000 items/s.

    .venv/bin/python -m bench.parse_speed [--lines 200000] [--reps 3]

CPU time (``time.process_time``) of a loop over the frames already in memory (no I/O),
median of ``--reps``. items = chat lines + blinds + events (what the collector stores);
control frames are parsed too but not counted. "share of the collector's per-line CPU":
parse_frame's CPU per line beside the collector's whole per-line CPU when the caller
passes it (``collector_cpu_per_1000``, CPU seconds per 1,000 lines, from the collector
benchmark), else left out.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402
import orjson  # noqa: E402

from bench.frames import frame_lines, frame_stats  # noqa: E402
from collector.protocol import parse_frame, parse_frame_stdlib  # noqa: E402

TARGET_ITEMS_PER_S = 50_000


def _cpu(fn, frames: list[bytes], reps: int) -> float:
    """Median CPU seconds of ``fn`` over every frame."""
    times = []
    for _ in range(reps):
        t0 = time.process_time()
        for frame in frames:
            fn(frame)
        times.append(time.process_time() - t0)
    return statistics.median(times)


def run(lines: int = 200_000, reps: int = 3, collector_cpu_per_1000: float | None = None) -> dict:
    out: dict = {"lines": lines, "reps": reps, "target": TARGET_ITEMS_PER_S, "styles": {}}
    decoders = {"json.loads": json.loads, "orjson.loads": orjson.loads,
                "msgspec decode": msgspec.json.Decoder().decode,
                "parse_frame_stdlib": parse_frame_stdlib, "parse_frame": parse_frame}
    for style in ("sim", "samples"):
        frames = frame_lines(lines, style=style)
        stats = frame_stats(frames)
        res = {**stats, "rows": {}}
        for name, fn in decoders.items():
            seconds = _cpu(fn, frames, reps)
            res["rows"][name] = {"cpu_s": round(seconds, 3), "items_per_s": round(stats["items"] / seconds),
                                 "cpu_s_per_1000_lines": round(seconds / stats["chat_items"] * 1000, 4)}
        parse = res["rows"]["parse_frame"]
        res["ratio_to_target"] = round(parse["items_per_s"] / TARGET_ITEMS_PER_S, 2)
        res["speedup"] = round(parse["items_per_s"] / res["rows"]["parse_frame_stdlib"]["items_per_s"], 2)
        res["result"] = "PASS" if parse["items_per_s"] >= TARGET_ITEMS_PER_S else "FAIL"
        if collector_cpu_per_1000:
            res["parse_share_of_collector_cpu"] = round(parse["cpu_s_per_1000_lines"] / collector_cpu_per_1000, 3)
        out["styles"][style] = res
    out["result"] = "PASS" if all(r["result"] == "PASS" for r in out["styles"].values()) else "FAIL"
    return out


def print_report(res: dict) -> None:
    if "skipped" in res:
        print(f"\n== parse speed: skipped ({res['skipped']})")
        return
    for style, r in res["styles"].items():
        print(f"\n== parse speed, frames style '{style}': {r['frames']:,} frames ({r['chat_frames']:,} chat frames),"
              f" {r['items']:,} items, {r['bytes'] / 2**20:.1f} MiB; one core, CPU time, median of {res['reps']}")
        for name, row in r["rows"].items():
            print(f"   {name:<28} {row['items_per_s']:>10,} items/s  {row['cpu_s']:>7.2f} s"
                  f"  {row['cpu_s_per_1000_lines']:.4f} CPU s / 1,000 lines")
        print(f"   parse_frame / stdlib path    {r['speedup']:>10}x")
        if "parse_share_of_collector_cpu" in r:
            print(f"   parse share of the collector's per-line CPU {r['parse_share_of_collector_cpu']:.0%}")
        print(f"   target parse_frame / {res['target']:,} items/s {r['ratio_to_target']:>7}  >= 1.0    {r['result']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=200_000, help="chat lines per style (default 200,000)")
    ap.add_argument("--reps", type=int, default=3, help="runs of each, median (default 3)")
    ap.add_argument("--collector-cpu-per-1000", type=float, default=None,
                    help="the collector's CPU seconds per 1,000 lines, to print parse's share of it")
    a = ap.parse_args(argv)
    print_report(run(a.lines, a.reps, a.collector_cpu_per_1000))
    return 0


if __name__ == "__main__":
    sys.exit(main())
