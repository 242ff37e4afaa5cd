"""What one cut-off line costs `python -m collector parse`: the command on N realistic
frame lines (the simulator's chat, one frame per line) beside the same lines after one
line cut off in the middle, in ONE run. Target: the cut-off input takes at most 1.5 times
the clean one (one dead letter more, nothing else; before issue 16 it held every later
line back and re-decoded a growing document: 81x at 10,000 lines).

    .venv/bin/python -m bench.parse_bench [--lines 10000] [--reps 3]

Time = wall time of the command as a user runs it (`python -m collector parse FILE`,
stdout to /dev/null, interpreter start included in both), median of `--reps` runs.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from collector.sim.generator import ChatStream, make_channels  # noqa: E402

TARGET_RATIO = 1.5


def frame_lines(n: int, seed: int = 7) -> list[bytes]:
    """`n` frames of the simulator's chat (one item each, as CHZZK sends them at low rates)."""
    stream = ChatStream(make_channels(1, seed)[0], seed)
    items = stream.next_items(1_790_000_000_000, n, spread_ms=n * 500)
    return [json.dumps({"svcid": "game", "ver": "1", "cmd": 93101 if item["msgTypeCode"] == 1 else 93102,
                        "bdy": [item], "tid": None, "cid": stream.cid},
                       ensure_ascii=False, separators=(",", ":")).encode() + b"\n" for item in items]


def _time_parse(path: Path, reps: int) -> tuple[float, int]:
    """Median wall seconds of `python -m collector parse path`, and its output lines."""
    env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    times, lines = [], 0
    for _ in range(reps):
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "collector", "parse", str(path)], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - t0)
        lines = proc.stdout.count(b"\n")
    return statistics.median(times), lines


def run(lines: int = 10_000, reps: int = 3) -> dict:
    frames = frame_lines(lines)
    with tempfile.TemporaryDirectory(prefix="chzzk-parse-bench-") as tmp:
        clean, cut = Path(tmp, "clean.jsonl"), Path(tmp, "cut.jsonl")
        clean.write_bytes(b"".join(frames))
        cut.write_bytes(frames[0][: len(frames[0]) // 2] + b"\n" + b"".join(frames))
        clean_s, clean_out = _time_parse(clean, reps)
        cut_s, cut_out = _time_parse(cut, reps)
    ratio = cut_s / clean_s
    return {"lines": lines, "reps": reps, "bytes": sum(map(len, frames)),
            "clean": {"seconds": round(clean_s, 3), "records": clean_out},
            "cut_off": {"seconds": round(cut_s, 3), "records": cut_out},
            "ratio": round(ratio, 2), "limit": f"<= {TARGET_RATIO}",
            "result": "PASS" if ratio <= TARGET_RATIO and cut_out == clean_out + 1 else "FAIL"}


def print_report(res: dict) -> None:
    if "skipped" in res:
        print(f"\n== parse: skipped ({res['skipped']})")
        return
    print(f"\n== `collector parse` on {res['lines']:,} frame lines ({res['bytes'] / 2**20:.1f} MiB),"
          f" median of {res['reps']}")
    print(f"   clean            {res['clean']['seconds']:>8.2f}s  {res['clean']['records']:,} records")
    print(f"   one line cut off {res['cut_off']['seconds']:>8.2f}s  {res['cut_off']['records']:,} records")
    print(f"   target cut-off / clean time      {res['ratio']:>8}  {res['limit']:<8} {res['result']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=10_000, help="frame lines (default 10,000)")
    ap.add_argument("--reps", type=int, default=3, help="runs of each input, median (default 3)")
    a = ap.parse_args(argv)
    print_report(run(a.lines, a.reps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
