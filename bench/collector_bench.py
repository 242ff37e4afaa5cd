"""The collector at peak (issue 17), as `make bench` runs it: the parser alone
(bench/parse_speed.py), the sink beside one COPY of the same rows and the bytes a line
costs PostgreSQL (bench/store_bench.py), and one collector process end to end from the
simulator's flood, websocket → spool → PostgreSQL, against the simulator's truth
(bench/flood_bench.py). Each part measures in ONE run beside its peer or limit; this
module only runs them in turn and sums up the targets.

    .venv/bin/python -m bench.collector_bench [--parse-lines 50000] [--store-lines 50000]
                                              [--flood-seconds 600] [--flood-rate 15000]
"""
from __future__ import annotations

import argparse
import sys

from bench import flood_bench, parse_speed, store_bench

TARGET_E2E = 12_000          # lines/s, one process, end to end
TARGET_RSS_MB = 1024
TARGET_CORES_AT_5000 = 1.0


def run(parse_lines: int = 50_000, store_lines: int = 50_000, reps: int = 3, flood_seconds: float = 600,
        flood_rate: float = 15_000, quiet: int = 500, flood_at_5000_seconds: float = 60) -> dict:
    """Every part; a part that breaks is reported as skipped with its error, the rest still run."""
    res: dict = {}
    parts = {
        "flood": lambda: flood_bench.run(seconds=flood_seconds, rate=flood_rate, quiet=quiet),
        "flood_5000": lambda: flood_bench.run(seconds=flood_at_5000_seconds, rate=5_000, quiet=quiet),
        "store": lambda: store_bench.run(lines=store_lines, reps=reps),
    }
    for name, part in parts.items():
        if name.startswith("flood") and not flood_seconds:
            res[name] = {"skipped": "--flood-seconds 0"}
            continue
        try:
            res[name] = part()
        except Exception as exc:  # one part's failure must not cost the others their figures
            res[name] = {"skipped": f"failed: {type(exc).__name__}: {exc}"}
    cpu = res["flood"].get("cpu_s_per_1000") if "skipped" not in res["flood"] else None
    try:
        res["parse"] = parse_speed.run(lines=parse_lines, reps=reps, collector_cpu_per_1000=cpu)
    except Exception as exc:
        res["parse"] = {"skipped": f"failed: {type(exc).__name__}: {exc}"}
    res["targets"] = targets(res)
    return res


def _target(value, limit: str, ok: bool | None) -> dict:
    return {"value": value, "limit": limit, "result": "-" if ok is None else ("PASS" if ok else "FAIL")}


def targets(res: dict) -> dict:
    """The issue's targets, each with its measured value."""
    out: dict = {}
    p = res.get("parse", {})
    for style, r in (p.get("styles") or {}).items():
        items = r["rows"]["parse_frame"]["items_per_s"]
        out[f"parse items/s ({style})"] = _target(items, ">= 50,000", items >= parse_speed.TARGET_ITEMS_PER_S)
    for s in res.get("store", {}).get("styles", []):
        out[f"store / COPY ({s['style']})"] = _target(s["ratio"], f">= {store_bench.TARGET_RATIO}",
                                                      s["ratio"] >= store_bench.TARGET_RATIO)
        b = s["compact"]["bytes_per_line"]
        out[f"PostgreSQL B/line ({s['style']})"] = _target(b, f"<= {store_bench.TARGET_BYTES}",
                                                           b <= store_bench.TARGET_BYTES)
    f = res.get("flood", {})
    if "skipped" not in f:
        out["end to end lines/s, 1 process"] = _target(f["lines_per_s"], f">= {TARGET_E2E:,}",
                                                       f["lines_per_s"] >= TARGET_E2E)
        out["lost / duplicated"] = _target(f"{f['lost']} / {f['extra']}", "0 / 0",
                                           f["lost"] == 0 and f["extra"] == 0 and f["exact"])
        out["peak RSS MB"] = _target(f["peak_rss_mb"], f"< {TARGET_RSS_MB}", f["peak_rss_mb"] < TARGET_RSS_MB)
        out["spool left at the end"] = _target(f["segments_left"], "0 segments", f["segments_left"] == 0)
    f5 = res.get("flood_5000", {})
    if "skipped" not in f5:
        out["collector cores at 5,000 lines/s"] = _target(f5["cores_during_flood"], f"< {TARGET_CORES_AT_5000}",
                                                          f5["cores_during_flood"] < TARGET_CORES_AT_5000)
    return out


def print_report(res: dict) -> None:
    if "skipped" in res:
        print(f"\n== collector: skipped ({res['skipped']})")
        return
    parse_speed.print_report(res["parse"])
    store_bench.print_report(res["store"])
    flood_bench.print_report(res["flood"])
    flood_bench.print_report(res["flood_5000"])
    print("\n== collector targets (issue 17)")
    for name, t in res["targets"].items():
        print(f"   {name:<36}{str(t['value']):>12}  {t['limit']:<10} {t['result']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--parse-lines", type=int, default=50_000, help="lines per frame style for the parser")
    ap.add_argument("--store-lines", type=int, default=50_000, help="lines per frame style for the sink")
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--flood-seconds", type=float, default=600, help="flood length (default 600; 0 skips)")
    ap.add_argument("--flood-rate", type=float, default=15_000)
    ap.add_argument("--quiet", type=int, default=500, help="quiet channels beside the flood")
    a = ap.parse_args(argv)
    print_report(run(a.parse_lines, a.store_lines, a.reps, a.flood_seconds, a.flood_rate, a.quiet))
    return 0


if __name__ == "__main__":
    sys.exit(main())
