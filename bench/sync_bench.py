"""Sync benchmark: our PostgreSQL → Parquet sync beside DuckDB's postgres scanner (the peer)
and PostgreSQL's own ``COPY … TO STDOUT`` (the physical limit), same rows, one run.

The rows are the realistic history (bench.datagen, collector.sim.history) as the collector
stores them (compact: raw and badges as zstd frames with a dictionary). The peer reads the
columns it always read (our SELECT without the frames): it gets no raw and no badges — it
cannot read the frames — so its ``raw_nulls`` counts the rows whose raw it lost; the peer
on ``SELECT *`` copies the frames as bytes.

Our sync is timed whole and split in its phases (warehouse/sync/phases.py): the export
(PostgreSQL → the lake's Parquet partitions and small tables: what COPY and the peer do)
and the accelerators built after it (which neither COPY nor the peer builds); the ratios are
given for both. The export's rows carry zstd frames ours turns into text and the peer
cannot: ``decode`` is that work, and ``ours_export_undecoded`` an estimate of the export
without it (export wall minus the decoding's share of the writers' time).

Each contender runs in its own child process; wall time is the contender's own timing of
its work (imports and interpreter start excluded for all), peak RSS and CPU seconds (user +
system, the child's whole life: steadier than wall time on a shared machine) come from GNU
time. Run one contender alone with ``python -m bench.sync_bench ours|copy URL OUT``.
``--baseline DIR`` also runs ours from another checkout (``ours_baseline``, same rows, right
before ours), so that a change is measured before and after in one run; ``--reps N`` runs
the whole comparison N times and keeps each contender's median run.
"""
from __future__ import annotations

import json
import logging
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

log = logging.getLogger(__name__)
ROOT = Path(__file__).resolve().parent.parent
# the peers (their scripts and virtualenv) live beside the project root, in ../shared/bench;
# CHZZK_BENCH_PEERS points elsewhere (bench/README.md)
PEER_DIR = Path(os.environ.get("CHZZK_BENCH_PEERS") or ROOT.parent / "shared" / "bench")
GIB = 1024 ** 3
TIME = "/usr/bin/time"  # GNU time, for the children's peak RSS


def chat_select_all(frames: bool = True) -> str:
    """Our sync's exact chat SELECT (join, columns, order) over every day at once; without
    `frames`, the lake's columns only (the compact rows' frames and dictionary left out)."""
    from warehouse.lake.tables import CHAT
    query = re.sub(r" WHERE c\.chat_time >= %\(start\)s AND c\.chat_time < %\(end\)s", "", CHAT.select)
    if not frames:
        query = query.replace(CHAT.compact.select("c"), "")
    # name the computed columns (DuckDB's postgres_query needs distinct names)
    query = re.sub(r"\(extract\(epoch from c\.(\w+)\) \* 1000000\)::bigint", r"\g<0> AS \1", query)
    return re.sub(r"c\.(badges|raw)::text", r"\g<0> AS \1", query)


# -- children ---------------------------------------------------------------------------
def _child_ours(url: str, out: str) -> dict:
    from core import db
    from warehouse.sync.export import sync
    conn = db.connect(url)
    t0 = time.perf_counter()
    report = sync(conn, out, all_days=True)
    dt = time.perf_counter() - t0
    conn.close()
    worker = report.read_seconds + report.write_seconds  # the partitions' writers' time, summed
    return {"rows": report.rows, "seconds": round(dt, 3), "bytes": report.bytes, "days": len(report.days),
            "phases": {"export": round(report.export_seconds, 3),
                       "read": round(report.read_seconds, 3), "decode": round(report.decode_seconds, 3),
                       "parquet": round(report.write_seconds, 3),
                       "small_tables": round(report.small_tables_seconds, 3),
                       "accelerators": {k: round(v, 3) for k, v in report.accelerators.items()},
                       "export_undecoded": round(report.export_seconds * (1 - report.decode_seconds / worker)
                                                 if worker else report.export_seconds, 3)}}


class _NullSink:
    """A file-like sink that counts and forgets (COPY's output goes nowhere)."""

    def __init__(self) -> None:
        self.bytes = 0

    def write(self, data) -> int:
        self.bytes += len(data)
        return len(data)


def _child_copy(url: str, query: str) -> dict:
    import psycopg2
    conn = psycopg2.connect(url)
    sink = _NullSink()
    t0 = time.perf_counter()
    with conn.cursor() as cur:
        cur.copy_expert(f"COPY ({query}) TO STDOUT", sink, size=1 << 20)  # query: our constants
        rows = cur.rowcount
    dt = time.perf_counter() - t0
    conn.close()
    return {"rows": rows, "seconds": round(dt, 3), "bytes": sink.bytes}


# -- parent -----------------------------------------------------------------------------
def measure(cmd: list[str], env: dict | None = None, cwd: Path = ROOT) -> dict:
    """Run `cmd` (prints one JSON line last) and add wall time, peak RSS and CPU seconds.

    Peak RSS and CPU come from GNU time (its wait4 on the child). Not from our own wait4: a
    child spawned from this (big) process inherits its ru_maxrss at exec."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss, tempfile.TemporaryFile("w+") as errf:
        wrapped = ([TIME, "-f", "%M %U %S", "-o", rss.name] if os.path.exists(TIME) else []) + cmd
        t0 = time.perf_counter()
        proc = subprocess.run(wrapped, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=errf, text=True)
        wall = time.perf_counter() - t0
        errf.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {errf.read().strip()[-2000:]}")
        kib = rss.read().strip().splitlines()
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    result = json.loads(lines[-1])
    result["wall_seconds"] = round(wall, 3)
    got = kib[-1].split() if kib else []
    result["peak_rss_bytes"] = int(got[0]) * 1024 if len(got) == 3 and got[0].isdigit() else None
    result["cpu_seconds"] = round(float(got[1]) + float(got[2]), 2) if len(got) == 3 else None
    result["rows_per_s"] = round(result["rows"] / result["seconds"]) if result["seconds"] else None
    return result


def peer_python() -> str | None:
    """The peer's interpreter (peer_env.sh makes its virtualenv once), or None."""
    script = PEER_DIR / "peer_env.sh"
    if not script.exists():
        log.warning("peer not found at %s", script)
        return None
    try:
        out = subprocess.run([str(script)], capture_output=True, text=True, timeout=900, check=True)
    except (subprocess.SubprocessError, OSError) as exc:
        log.warning("peer environment unavailable: %s", exc)
        return None
    return out.stdout.strip().splitlines()[-1]


def _contenders(url: str, dsn: str, workdir: Path, peer_py: str | None, suffix: str, env: dict,
                baseline: Path | None = None) -> dict:
    """COPY, ours (and ours from the checkout `baseline`) and the peer on the rows as they
    are now, named with `suffix`."""
    py = sys.executable
    lake = workdir / ("lake" + suffix)
    shutil.rmtree(lake, ignore_errors=True)
    res: dict = {}
    log.info("sync bench%s: COPY (SELECT * FROM stream_chat) TO STDOUT", suffix)
    res["copy_table" + suffix] = measure([py, "-m", "bench.sync_bench", "copy", url, "SELECT * FROM stream_chat"], env)
    log.info("sync bench%s: COPY (our sync's SELECT) TO STDOUT", suffix)
    res["copy_ours_select" + suffix] = measure([py, "-m", "bench.sync_bench", "copy", url, chat_select_all()], env)
    if baseline is not None:
        log.info("sync bench%s: ours from %s", suffix, baseline)
        res["ours_baseline" + suffix] = measure([py, "-m", "bench.sync_bench", "ours", url, str(lake)],
                                                {**env, "PYTHONPATH": str(baseline)}, cwd=baseline)
        shutil.rmtree(lake, ignore_errors=True)
    log.info("sync bench%s: ours (warehouse.sync.sync all_days=True)", suffix)
    res["ours" + suffix] = measure([py, "-m", "bench.sync_bench", "ours", url, str(lake)], env)
    if suffix:
        shutil.rmtree(lake, ignore_errors=True)  # the last lake (compact rows) is the one kept
    if peer_py:
        for name, query in (("peer_table", "SELECT * FROM stream_chat"),
                            ("peer_ours_select", chat_select_all(frames=False))):
            log.info("sync bench%s: %s", suffix, name)
            out = workdir / f"{name}.parquet"
            res[name + suffix] = measure([peer_py, str(PEER_DIR / "peer_duckdb_pg_to_parquet.py"), "--dsn", dsn,
                                          "--query", query, "--out", str(out)], env)
            if name == "peer_ours_select":
                res[name + suffix]["raw_nulls"] = _nulls(out, "raw")
            out.unlink(missing_ok=True)
    return res


def _nulls(path: Path, column: str) -> int | None:
    """NULLs in `column` of a Parquet file, from its footer's statistics."""
    import pyarrow.parquet as pq
    meta = pq.ParquetFile(path).metadata
    index = meta.schema.names.index(column) if column in meta.schema.names else None
    if index is None:
        return None
    stats = [meta.row_group(i).column(index).statistics for i in range(meta.num_row_groups)]
    return sum(s.null_count for s in stats) if all(s is not None and s.has_null_count for s in stats) else None


def _median_runs(runs: list[dict]) -> dict:
    """Each contender's median run (by its seconds) of several runs of _contenders."""
    out = {}
    for name in runs[0]:
        ordered = sorted((r[name] for r in runs), key=lambda r: r["seconds"])
        out[name] = {**ordered[len(ordered) // 2], "runs_seconds": [r[name]["seconds"] for r in runs]}
    return out


def run(url: str, dsn: str, workdir: Path, peer: bool = True, baseline: Path | None = None, reps: int = 1) -> dict:
    """All contenders on the same database (rows as the collector stores them: compact);
    returns the results, the ratios and the targets (issue 18: >= 1x the peer, <= 1.5x
    COPY, peak RSS < 1.5 GiB). The lake is left at workdir/lake. `baseline`: also ours from
    that checkout (ratios ``ours_baseline_*``); `reps`: runs, each contender's median kept."""
    env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    peer_py = peer_python() if peer else None
    res = _median_runs([_contenders(url, dsn, workdir, peer_py, "", env, baseline) for _ in range(max(reps, 1))])
    ours = res["ours"]
    # ours: the whole sync; ours_export: without the accelerators (like for like with COPY and
    # the peer); ours_export_undecoded: also without turning the frames into text (estimate)
    mine = {"ours": ours["seconds"], "ours_export": ours["phases"]["export"],
            "ours_export_undecoded": ours["phases"]["export_undecoded"]}
    if "ours_baseline" in res:
        mine |= {"ours_baseline": res["ours_baseline"]["seconds"],
                 "ours_baseline_export": res["ours_baseline"]["phases"]["export"]}
    ratios = {}
    for who, seconds in mine.items():
        for copy in ("copy_table", "copy_ours_select"):
            ratios[f"{who}_vs_{copy}_time"] = round(seconds / res[copy]["seconds"], 2)
        for name in ("peer_table", "peer_ours_select"):
            if name in res:  # rows a second, ours over the peer's
                ratios[f"{who}_vs_{name}_throughput"] = round(ours["rows"] / seconds / res[name]["rows_per_s"], 2)
    targets = {
        "throughput >= peer (same SELECT)": _verdict(ratios.get("ours_vs_peer_ours_select_throughput"), ">=", 1.0),
        "throughput >= peer (SELECT *)": _verdict(ratios.get("ours_vs_peer_table_throughput"), ">=", 1.0),
        "time <= 1.5x COPY of the rows": _verdict(ratios["ours_vs_copy_table_time"], "<=", 1.5),
        "export throughput >= peer (same SELECT)": _verdict(
            ratios.get("ours_export_vs_peer_ours_select_throughput"), ">=", 1.0),
        "export throughput >= peer (SELECT *)": _verdict(ratios.get("ours_export_vs_peer_table_throughput"),
                                                         ">=", 1.0),
        "export time <= 1.5x COPY of the rows": _verdict(ratios["ours_export_vs_copy_table_time"], "<=", 1.5),
        "peak RSS < 1.5 GiB": _verdict(ours["peak_rss_bytes"] and ours["peak_rss_bytes"] / GIB, "<", 1.5),
    }
    return {"contenders": res, "ratios": ratios, "targets": targets,
            "peer_queries": {"peer_table": "SELECT * FROM stream_chat",
                             "peer_ours_select": "our sync's chat SELECT, all days, same join, lake columns, ORDER BY"
                                                 " (without the compact rows' frames, which it cannot read)"}}


def _verdict(value, op: str, limit: float) -> dict:
    if value is None:
        return {"value": None, "limit": f"{op} {limit}", "result": "SKIPPED"}
    ok = {">=": value >= limit, "<=": value <= limit, "<": value < limit}[op]
    return {"value": round(value, 3), "limit": f"{op} {limit}", "result": "PASS" if ok else "FAIL"}


def print_report(res: dict) -> None:
    """The contenders, our sync's phases (seconds and shares) and the ratios."""
    print("\n== sync PostgreSQL -> Parquet (same rows, one run)")
    print(f"   {'contender':<20}{'rows':>12}{'seconds':>10}{'CPU s':>8}{'peak RSS MiB':>14}")
    for name, r in res["contenders"].items():
        rss = f"{r['peak_rss_bytes'] / 2**20:,.0f}" if r.get("peak_rss_bytes") else "-"
        cpu = f"{r['cpu_seconds']:.1f}" if r.get("cpu_seconds") is not None else "-"
        print(f"   {name:<20}{r['rows']:>12,}{r['seconds']:>10.2f}{cpu:>8}{rss:>14}")
    for who in ("ours_baseline", "ours"):
        if who not in res["contenders"]:
            continue
        ph = res["contenders"][who]["phases"]
        total = res["contenders"][who]["seconds"]
        print(f"   {who}, by phase (wall; of {total:.2f}s):")
        print(f"     {'export (partitions + small tables)':<40}{ph['export']:>8.2f}s {ph['export'] / total:>6.1%}")
        for name, seconds in ph["accelerators"].items():
            print(f"     {'accelerator ' + name:<40}{seconds:>8.2f}s {seconds / total:>6.1%}")
    ph = res["contenders"]["ours"]["phases"]
    worker = ph["read"] + ph["parquet"]
    if worker:
        print("   the partitions' writers (seconds summed over the writer threads):")
        for name in ("read", "decode", "parquet"):
            label = {"read": "read (PostgreSQL, transfer, decode, sort)", "decode": "  of which decoding frames",
                     "parquet": "Parquet writing"}[name]
            print(f"     {label:<40}{ph[name]:>8.2f}s {ph[name] / worker:>6.1%}")
    for k, v in res["ratios"].items():
        print(f"   {k:<48}{v:>8}")
    for name, v in res["targets"].items():
        print(f"   target {name:<42}{v['value']!s:>8} {v['limit']:<8} {v['result']}")


def main(argv: list[str]) -> int:
    """``ours|copy URL OUT`` (one contender, a child) or ``URL DSN WORKDIR [--no-peer]
    [--baseline DIR] [--reps N]`` (all)."""
    logging.basicConfig(level=logging.WARNING)
    if argv and argv[0] in ("ours", "copy"):
        kind, url, arg = argv
        result = _child_ours(url, arg) if kind == "ours" else _child_copy(url, arg)
        print(json.dumps(result))
        return 0
    url, dsn, workdir = argv[:3]
    logging.getLogger().setLevel(logging.INFO)
    baseline = Path(argv[argv.index("--baseline") + 1]).resolve() if "--baseline" in argv else None
    reps = int(argv[argv.index("--reps") + 1]) if "--reps" in argv else 1
    res = run(url, dsn, Path(workdir), peer="--no-peer" not in argv, baseline=baseline, reps=reps)
    print_report(res)
    print(json.dumps(res))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
