"""Sync benchmark: our PostgreSQL → Parquet sync beside DuckDB's postgres scanner (the peer)
and PostgreSQL's own ``COPY … TO STDOUT`` (the physical limit), same rows, one run.

The rows are the realistic history (bench.datagen, collector.sim.history) as the collector
stores them (compact: raw and badges as zstd frames with a dictionary). The peer reads the
columns it always read (our SELECT without the frames): it gets no raw and no badges — it
cannot read the frames — so its ``raw_nulls`` counts the rows whose raw it lost; the peer
on ``SELECT *`` copies the frames as bytes.

Each contender runs in its own child process; wall time is the contender's own timing of
its work (imports and interpreter start excluded for all), peak RSS comes from
``os.wait4`` (the child's ru_maxrss). Run one contender alone with
``python -m bench.sync_bench ours|copy URL OUT``.
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
    return {"rows": report.rows, "seconds": round(dt, 3), "bytes": report.bytes, "days": len(report.days)}


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
def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Run `cmd` (prints one JSON line last) and add wall time and peak RSS.

    Peak RSS comes from GNU time (its wait4 on the child). Not from our own wait4: a
    child spawned from this (big) process inherits its ru_maxrss at exec."""
    with tempfile.NamedTemporaryFile("r", suffix=".rss") as rss, tempfile.TemporaryFile("w+") as errf:
        wrapped = ([TIME, "-f", "%M", "-o", rss.name] if os.path.exists(TIME) else []) + cmd
        t0 = time.perf_counter()
        proc = subprocess.run(wrapped, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=errf, text=True)
        wall = time.perf_counter() - t0
        errf.seek(0)
        if proc.returncode != 0:
            raise RuntimeError(f"{' '.join(cmd[:4])} failed ({proc.returncode}): {errf.read().strip()[-2000:]}")
        kib = rss.read().strip().splitlines()
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    result = json.loads(lines[-1])
    result["wall_seconds"] = round(wall, 3)
    result["peak_rss_bytes"] = int(kib[-1]) * 1024 if kib and kib[-1].isdigit() else None
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


def _contenders(url: str, dsn: str, workdir: Path, peer_py: str | None, suffix: str, env: dict) -> dict:
    """COPY, ours and the peer on the rows as they are now, named with `suffix`."""
    py = sys.executable
    lake = workdir / ("lake" + suffix)
    shutil.rmtree(lake, ignore_errors=True)
    res: dict = {}
    log.info("sync bench%s: COPY (SELECT * FROM stream_chat) TO STDOUT", suffix)
    res["copy_table" + suffix] = measure([py, "-m", "bench.sync_bench", "copy", url, "SELECT * FROM stream_chat"], env)
    log.info("sync bench%s: COPY (our sync's SELECT) TO STDOUT", suffix)
    res["copy_ours_select" + suffix] = measure([py, "-m", "bench.sync_bench", "copy", url, chat_select_all()], env)
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


def run(url: str, dsn: str, workdir: Path, peer: bool = True) -> dict:
    """All contenders on the same database (rows as the collector stores them: compact);
    returns the results, the ratios and the targets (issue 18: >= 1x the peer, <= 1.5x
    COPY, peak RSS < 1.5 GiB). The lake is left at workdir/lake."""
    env = {**os.environ, "LOG_LEVEL": "WARNING", "PYTHONPATH": str(ROOT)}
    peer_py = peer_python() if peer else None
    res = _contenders(url, dsn, workdir, peer_py, "", env)
    ours = res["ours"]
    ratios = {"ours_vs_copy_table_time": round(ours["seconds"] / res["copy_table"]["seconds"], 2),
              "ours_vs_copy_ours_select_time": round(ours["seconds"] / res["copy_ours_select"]["seconds"], 2)}
    for name in ("peer_table", "peer_ours_select"):
        if name in res:
            ratios[f"ours_vs_{name}_throughput"] = round(ours["rows_per_s"] / res[name]["rows_per_s"], 2)
    targets = {
        "throughput >= peer (same SELECT)": _verdict(ratios.get("ours_vs_peer_ours_select_throughput"), ">=", 1.0),
        "throughput >= peer (SELECT *)": _verdict(ratios.get("ours_vs_peer_table_throughput"), ">=", 1.0),
        "time <= 1.5x COPY of the rows": _verdict(ratios["ours_vs_copy_table_time"], "<=", 1.5),
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


def main(argv: list[str]) -> int:
    kind, url, arg = argv
    logging.basicConfig(level=logging.WARNING)
    result = _child_ours(url, arg) if kind == "ours" else _child_copy(url, arg)
    print(json.dumps(result))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
