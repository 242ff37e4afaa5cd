"""`make bench`: time our sync, our queries and the dashboard's pages beside a peer, a
physical limit or a hello-world page, in ONE run on the same data, and report ratios.

    .venv/bin/python bench/run.py                      # 1M rows (a few minutes on 2 cores)
    .venv/bin/python bench/run.py --rows 200000 --no-dashboard --flood-seconds 0   # smoke check (< 2 min)
    .venv/bin/python bench/run.py --rows 10000000      # the size the issue's targets are for

Prints a table, writes bench/results/latest.json. Exit 0 unless something broke (a missed
target is reported as FAIL, not an error). See bench/README.md.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import shutil
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench import collector_bench, dashboard_bench, datagen, parse_bench, query_bench, sync_bench  # noqa: E402

log = logging.getLogger("bench")
DEFAULT_JSON = ROOT / "bench" / "results" / "latest.json"


def machine() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor()) if Path("/proc/cpuinfo").exists() else ""
    import duckdb
    import pyarrow
    return {"cpus": os.cpu_count(), "cpu": cpu, "python": platform.python_version(),
            "duckdb": duckdb.__version__, "pyarrow": pyarrow.__version__, "platform": platform.platform()}


def _fmt_rate(x) -> str:
    return f"{x:,.0f}" if isinstance(x, (int, float)) else "-"


def print_report(res: dict) -> None:
    d = res["data"]
    print(f"\n== data: {d['rows']:,} rows, {d['channels']} channels, {d['first_chat'][:10]}..{d['last_chat'][:10]},"
          f" PostgreSQL {d['pg_bytes'] / 2**20:,.0f} MiB (made in {d['seconds']}s)")
    print(f"   machine: {res['machine']['cpus']} cpus, load avg {res['load_before']} -> {res['load_after']}")
    s = res["sync"]
    print("\n== sync PostgreSQL -> Parquet (same rows, one run)")
    print(f"   {'contender':<20}{'rows':>12}{'seconds':>10}{'rows/s':>12}{'peak RSS MiB':>14}")
    for name, r in s["contenders"].items():
        rss = f"{r['peak_rss_bytes'] / 2**20:,.0f}" if r.get("peak_rss_bytes") else "-"
        print(f"   {name:<20}{r['rows']:>12,}{r['seconds']:>10.2f}{_fmt_rate(r['rows_per_s']):>12}{rss:>14}")
    for k, v in s["ratios"].items():
        print(f"   {k:<40}{v:>8}")
    for k, v in s["targets"].items():
        print(f"   target {k:<36}{str(v['value']):>8}  {v['limit']:<8} {v['result']}")
    for name, st in (res.get("side_tables") or {}).items():
        print(f"\n== {name} side table: full build {st['build_seconds']:.2f}s, {st['rows']:,} rows,"
              f" {st['bytes'] / 2**20:,.1f} MiB; without it, p50 / p95 ms:")
        for q_name, r in st["without"].items():
            if isinstance(r, dict) and "p50_ms" in r:
                print(f"   {q_name:<30}{_ms(r['p50_ms']):>9}{_ms(r['p95_ms']):>9}")
    q = res["queries"]
    print(f"\n== queries on a {res['lake_rows']:,}-row lake (warm, ms; targets are defined at 10M rows)")
    print(f"   {'question':<30}{'cold':>9}{'p50':>9}{'p95':>9}{'target':>8}  result")
    for name, r in q["lake"].items():
        if "error" in r:
            print(f"   {name:<30} error: {r['error'][:60]}")
            continue
        print(f"   {name:<30}{_ms(r['cold_ms']):>9}{_ms(r['p50_ms']):>9}{_ms(r['p95_ms']):>9}{r['target_ms']:>8.0f}"
              f"  {r['result']}")
    print("\n== the same questions asked of PostgreSQL (indexes: migrations + (user_id, chat_time))")
    print(f"   {'question':<30}{'lake p50':>10}{'pg p50':>10}{'speed-up':>10}  target >= 10x")
    for name, r in q["speedup"].items():
        print(f"   {name:<30}{_ms(r['lake_p50_ms']):>10}{_ms(r['pg_p50_ms']):>10}{r['speedup']:>9.1f}x  {r['result']}")
    dashboard_bench.print_report(res["dashboard"], res["lake_rows"])
    parse_bench.print_report(res["parse"])
    collector_bench.print_report(res["collector"])
    print(f"\n   total {res['seconds']}s; JSON: {res['json']}")


def _ms(value: float) -> str:
    """Milliseconds as printed: one decimal, three below 1 ms."""
    return f"{value:.1f}" if value >= 1 else f"{value:.3f}"


def side_table_step(lake: str, reps: int, path: Path, names: tuple[str, ...], build,
                    also: tuple[Path, ...] = ()) -> dict:
    """The questions `names` without a side table (its file at `path`, and the files
    `also`, moved aside: the chat scan), then a full build of it (`build()`), timed; the
    query benchmark then runs with it."""
    moved = []
    for file in (path, *also):  # the sync keeps them fresh: move them away for the "before" figures
        if file.exists():
            file.rename(file.with_name("moved-aside"))
            moved.append(file)
    try:
        before = query_bench.some(lake, names, reps)
    finally:
        for file in moved:
            file.with_name("moved-aside").rename(file)
    t0 = time.perf_counter()
    rows = build()
    seconds = time.perf_counter() - t0
    return {"build_seconds": round(seconds, 2), "rows": rows, "bytes": path.stat().st_size, "without": before}


def side_table_steps(lake: str, reps: int) -> dict:
    """side_table_step for the users side table (without the user tail either), the user
    tail (the users side table in place), the chatter days and the activity roll-ups
    (whose full build also makes the broadcast spans and the chatter days)."""
    from warehouse.lake.layout import Lake
    from warehouse.read.accelerators import rollups, side_tables, user_tail, users_index
    tail = Path(user_tail.path(Lake(lake)))
    return {
        "users": side_table_step(lake, reps, Path(users_index.index_path(Lake(lake))), query_bench.USER_QUESTIONS,
                                 lambda: users_index.build_users_index(lake, full=True), also=(tail,)),
        "user_tail": side_table_step(lake, reps, tail, ("user_messages",),
                                     lambda: user_tail.build_user_tail(lake, full=True)),
        "chatter_days": side_table_step(lake, reps, Path(side_tables.path(rollups.CHATTER, Lake(lake))),
                                        query_bench.CHATTER_QUESTIONS,
                                        lambda: side_tables.build(rollups.CHATTER, lake, full=True)),
        "rollups": side_table_step(lake, reps, Path(side_tables.path(rollups.SPEC, Lake(lake))),
                                   query_bench.ROLLUP_QUESTIONS, lambda: rollups.build_rollups(lake, full=True)),
    }


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="chat rows for the sync benchmark (default 1M)")
    ap.add_argument("--lake-rows", type=int, default=None,
                    help="grow PostgreSQL to this many rows and sync again before the query and dashboard benchmarks")
    ap.add_argument("--base-rows", type=int, default=100_000,
                    help="realistic rows made through the parser and the sink; the rest are SQL copies")
    ap.add_argument("--reps", type=int, default=20, help="warm repetitions per lake query (default 20)")
    ap.add_argument("--pg-reps", type=int, default=5, help="warm repetitions per PostgreSQL query (default 5)")
    ap.add_argument("--no-peer", action="store_true", help="skip the DuckDB postgres-scanner peer")
    ap.add_argument("--no-dashboard", action="store_true", help="skip the dashboard pages in Chromium")
    ap.add_argument("--dashboard-reps", type=int, default=3, help="warm visits per dashboard page (default 3)")
    ap.add_argument("--no-parse", action="store_true", help="skip `collector parse` on clean vs cut-off input")
    ap.add_argument("--no-collector", action="store_true",
                    help="skip the collector at peak (parser, sink beside COPY, bytes a line, the flood end to end)")
    ap.add_argument("--flood-seconds", type=float, default=600,
                    help="length of the collector's end-to-end flood (default 600, the issue's 10 minutes; 0 skips it)")
    ap.add_argument("--json", type=Path, default=DEFAULT_JSON, help=f"results file (default {DEFAULT_JSON})")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("pgserver").setLevel(logging.WARNING)
    logging.getLogger("warehouse").setLevel(logging.WARNING)
    t0 = time.monotonic()
    res: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                 "load_before": [round(x, 2) for x in os.getloadavg()], "args": vars(a) | {"json": str(a.json)}}
    res["parse"] = {"skipped": "--no-parse"} if a.no_parse else parse_bench.run()
    res["collector"] = ({"skipped": "--no-collector"} if a.no_collector
                        else collector_bench.run(flood_seconds=a.flood_seconds))
    srv, res["data"] = datagen.build(a.rows, a.base_rows)
    work = Path(tempfile.mkdtemp(prefix="chzzk-bench-"))
    try:
        res["sync"] = sync_bench.run(srv.url, srv.dsn, work, peer=not a.no_peer)
        lake = str(work / "lake")
        res["lake_rows"] = a.rows
        if a.lake_rows and a.lake_rows > a.rows:
            from core import db
            conn = db.connect(srv.url)
            try:
                datagen.grow(conn, a.lake_rows)
            finally:
                conn.close()
            res["lake_sync"] = sync_bench.measure(
                [sys.executable, "-m", "bench.sync_bench", "ours", srv.url, lake],
                {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)})
            res["lake_rows"] = res["lake_sync"]["rows"]
        res["side_tables"] = side_table_steps(lake, a.reps)
        res["queries"] = query_bench.run(lake, srv.url, reps=a.reps, pg_reps=a.pg_reps)
        res["dashboard"] = {"skipped": "--no-dashboard"}
        if not a.no_dashboard:
            try:
                res["dashboard"] = dashboard_bench.run(lake, a.dashboard_reps)
            except Exception as exc:  # the browser step must not cost the run its other figures
                log.exception("dashboard benchmark failed")
                res["dashboard"] = {"skipped": f"failed: {exc}"}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["load_after"] = [round(x, 2) for x in os.getloadavg()]
    res["seconds"] = round(time.monotonic() - t0, 1)
    res["json"] = str(a.json)
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(res, indent=1, default=str))
    print_report(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
