"""The collector's drain alone (issue 17): realistic frames spooled as the chat clients
spool them, then drained as a flush drains them (``Spool.drain``: read, parse, then
``sink.store`` per 5,000 records into an embedded PostgreSQL with every index), the
collector's CPU per line measured — beside another checkout of the collector in the same
run, to compare code, not machines.

    .venv/bin/python -m bench.drain_bench [--lines 50000] [--reps 3] [--against DIR]

``--against DIR``: a checkout to compare with (e.g. ``git archive <commit> | tar -x -C DIR``);
each rep runs both, one after the other, in fresh processes against the same server (the
table emptied before each). Reported: medians of the process's CPU µs per stored line (the
spool read, parse, store stages from the spool's own split) and the server's CPU µs per
line; ratio = ours / theirs (< 1: ours costs less). The machine is shared: only the
ratios within one run compare.
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
# a worker for another checkout imports that checkout's collector (this file runs from ours)
if os.environ.get("DRAIN_BENCH_ROOT"):
    sys.path.insert(0, os.environ["DRAIN_BENCH_ROOT"])
elif str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

CHANNEL = "0" * 31 + "1"


def _worker(url: str, lines: int, seed: int, style: str) -> dict:
    """In a fresh process: spool the frames, empty the tables, drain; CPU per stored line."""
    import logging

    import psycopg2

    from bench.frames import frame_lines
    from collector import sink
    from collector.spool import Spool
    from collector.wire import Frame, count_items, is_chat_push
    logging.basicConfig(level=logging.WARNING)
    frames = [f for f in frame_lines(lines, seed, style) if is_chat_push(f)]
    conn = psycopg2.connect(url)
    with tempfile.TemporaryDirectory(prefix="chzzk-drain-bench-") as tmp:
        spool = Spool(tmp)
        spool.open()
        for data in frames:
            spool.append_frame(Frame(CHANNEL, "cid", data, count_items(data)))
        with conn, conn.cursor() as cur:
            cur.execute("TRUNCATE stream_chat, events, dead_letter")
            cur.execute("SELECT pg_backend_pid()")
        server0 = _backend_cpu(conn)
        spool.cpu = dict.fromkeys(spool.cpu, 0.0)
        t0, w0 = time.process_time(), time.perf_counter()
        stored, _ = spool.drain(lambda batch: sink.store(conn, batch, log_level=logging.DEBUG))
        cpu, wall = time.process_time() - t0, time.perf_counter() - w0
        server = _backend_cpu(conn) - server0
        spool.close()
    with conn.cursor() as cur:
        cur.execute("SELECT count(*) FROM stream_chat")
        rows = cur.fetchone()[0]
    conn.close()
    per = 1e6 / max(rows, 1)
    return {"rows": rows, "records": stored, "process_us": round(cpu * per, 1), "server_us": round(server * per, 1),
            "wall_us": round(wall * per, 1), **{k: round(v * per, 1) for k, v in spool.cpu.items()}}


def _backend_cpu(conn) -> float:
    ticks = os.sysconf("SC_CLK_TCK")
    fields = Path(f"/proc/{conn.get_backend_pid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / ticks


def _run_in(root: Path, url: str, lines: int, seed: int, style: str) -> dict:
    out = subprocess.run([sys.executable, str(ROOT / "bench" / "drain_bench.py"), "--worker", url, "--lines",
                          str(lines), "--seed", str(seed), "--style", style], cwd=root, check=True,
                         capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(root),
                                                              "DRAIN_BENCH_ROOT": str(root)})
    return json.loads(out.stdout.strip().splitlines()[-1])


def run(lines: int = 50_000, reps: int = 3, against: str | None = None, seed: int = 7, style: str = "sim") -> dict:
    from bench.datagen import start_server
    from bench.flood_bench import _stop_server
    srv = start_server()
    roots = {"ours": ROOT} | ({"theirs": Path(against)} if against else {})
    runs: dict[str, list[dict]] = {k: [] for k in roots}
    try:  # a first drain of other lines trains the deployment's dictionary (once, not measured)
        _run_in(ROOT, srv.url, 5_000, seed + 1, style)
        for _ in range(reps):
            for name, root in roots.items():
                runs[name].append(_run_in(root, srv.url, lines, seed, style))
    finally:
        _stop_server(srv)
    res: dict = {"lines": lines, "reps": reps, "style": style, "against": against}
    for name, r in runs.items():
        res[name] = {k: statistics.median(x[k] for x in r) for k in r[0]}
    if against:
        res["ratio"] = {k: round(res["ours"][k] / res["theirs"][k], 2) for k in ("process_us", "server_us", "parse",
                                                                               "store", "spool_read")
                        if res["theirs"].get(k)}
    return res


def print_report(res: dict) -> None:
    print(f"\n== drain: {res['lines']:,} {res['style']} lines spooled, drained (read, parse, sink.store per 5,000),"
          f" median of {res['reps']} (shared machine)")
    for name in ("ours", "theirs"):
        if name in res:
            r = res[name]
            print(f"   {name:<7} {r['rows']:>8,} rows: process {r['process_us']} µs a line (spool_read"
                  f" {r.get('spool_read')}, parse {r.get('parse')}, store {r.get('store')}); server {r['server_us']}")
    if "ratio" in res:
        print("   ours / theirs: " + ", ".join(f"{k} {v}" for k, v in res["ratio"].items()) + f"  ({res['against']})")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=50_000)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--style", default="sim", help="frame style (bench/frames.py)")
    ap.add_argument("--against", metavar="DIR", help="another checkout of the project to compare with")
    ap.add_argument("--worker", metavar="URL", help=argparse.SUPPRESS)
    a = ap.parse_args(argv)
    if a.worker:
        print(json.dumps(_worker(a.worker, a.lines, a.seed, a.style)))
        return 0
    print_report(run(a.lines, a.reps, a.against, a.seed, a.style))
    return 0


if __name__ == "__main__":
    sys.exit(main())
