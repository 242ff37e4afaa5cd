"""Storing chat lines (issue 17): the sink beside a raw COPY of the same rows, and what
PostgreSQL holds per line.

    .venv/bin/python -m bench.store_bench [--lines 20000] [--reps 3] [--styles sim,samples] [--alternatives]
                                          [--prefill 2000000]

Realistic frames (bench/frames.py, both styles) go through the collector's own parser
(collector.protocol.parse_frame, raw payload kept) and then, in ONE run against a migrated
embedded PostgreSQL with every index: ``sink.store`` per 5,000 records (chat lines, blinds,
events), beside one ``COPY stream_chat FROM STDIN`` of the same chat rows, already in the
table's compact form, into the same emptied table. Time = median of ``--reps``; the ratio is
COPY's time over the sink's (target >= 0.6). Bytes per line = (pg_table_size +
pg_indexes_size) / lines after VACUUM ANALYZE, with the heap/TOAST/index split (target
<= 0.8 KB): compact rows with this run's dictionary, a fresh deployment's first 20,000
lines (the first 5,000 stored before any dictionary exists), and the rows as stored before
issue 17 (raw and badges jsonb). ``--alternatives`` also measures what
docs/COLLECTOR_STORAGE.md compares: staging tables, MERGE, a key pre-check, batch sizes,
text/CSV/binary COPY, the Python side, fewer and narrower indexes. ``--prefill N`` measures
the sink and the COPY again on top of N lines already stored (synthetic lines, every index
built as they arrive), CPU and WAL bytes a line beside the empty table, and the COPY without
the dedupe key's unique index (what idempotency costs at that size). The machine is shared:
compare ratios within one run.
"""
from __future__ import annotations

import argparse
import functools
import itertools
import logging
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench import store_alternatives  # noqa: E402
from bench import store_common as sc  # noqa: E402
from bench.datagen import start_server  # noqa: E402
from collector import chat_copy, raw_dictionaries, sink  # noqa: E402
from core import db  # noqa: E402

TARGET_RATIO = 0.6
TARGET_BYTES = 800


def _old_sink() -> types.ModuleType | None:
    """The sink as it was before issue 17 (commit 8ba4420), for the 'before' numbers."""
    try:
        source = subprocess.run(["git", "show", "8ba4420:collector/sink.py"], cwd=ROOT, check=True,
                                capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError):
        return None
    module = sys.modules["old_sink"] = types.ModuleType("old_sink")
    exec(compile(source, "old_sink.py", "exec"), module.__dict__)  # noqa: S102 - our own history
    return module


def _jsonb_payload(chats: list[dict], fks: dict[str, int]) -> bytes:
    """The rows as stored before issue 17: raw and badges jsonb, no frames (text COPY;
    columns as COLS with badges, raw in place of badges_z, raw_z, zdict)."""
    lines = []
    for rec in chats:
        values = [rec.get(c) for c in chat_copy._RECORD_COLUMNS] + [fks[rec["channel_id"]]]
        values += [sink.to_json(rec.get("badges")), sink.to_json(rec.get("raw"))]
        lines.append("\t".join(chat_copy._field(v) for v in values))
    return ("\n".join(lines) + "\n").encode()


def _medians(conn, reps: int, ways: dict) -> dict[str, tuple[float, float, float]]:
    """{way: median (wall s, server CPU s, collector CPU s)} of each way(), run in turn
    `reps` times, the table emptied before each."""
    runs: dict[str, list] = {name: [] for name in ways}
    for _ in range(reps):
        for name, way in ways.items():
            sc.reset(conn)
            runs[name].append(sc.cpu_of(conn, way))
    return {name: tuple(statistics.median(x[k] for x in r) for k in range(3)) for name, r in runs.items()}


def _sink(conn, recs: list[dict], binary: bool):
    def way() -> float:
        sink.COPY_BINARY = binary
        try:
            return sc.store(conn, recs)
        finally:
            sink.COPY_BINARY = True
    return way


def _style(conn, style: str, lines: int, seed: int, reps: int, old) -> dict:
    recs = sc.records(lines, seed, style)
    chats = sc.firsts(recs)
    n = len(chats)
    res: dict = {"style": style, "records": len(recs), "lines": n}
    # a fresh deployment: its first 20,000 lines, the first 5,000 before any dictionary exists
    sc.reset(conn, dictionaries=True)
    first = [r for r in recs if r["kind"] == "chat"][:sc.FIRST_LINES]
    sc.store(conn, first)
    res["first_lines"] = sc.sizes(conn)
    dictionary = raw_dictionaries.current(conn)
    conn.commit()
    # steady state: every line with the dictionary trained on this deployment's lines. The
    # peer: one COPY of the same compact rows, in text (the reference) and in binary
    fks = sc.fks(conn, chats)
    text = b"".join(chat_copy.chunks(chats, fks, dictionary))
    binary = b"".join(chat_copy.chunks(chats, fks, dictionary, binary=True))
    m = _medians(conn, reps, {"sink": _sink(conn, recs, True), "copy": lambda: sc.copy(conn, text),
                              "sink_text": _sink(conn, recs, False),
                              "copy_binary": lambda: sc.copy(conn, binary, sc.COPY_BINARY_SQL)})
    sc.reset(conn)
    sc.store(conn, recs)
    res["compact"] = sc.sizes(conn)
    for name, (wall, server, client) in m.items():
        res[name] = {"seconds": round(wall, 3), "lines_per_s": round(n / wall),
                     "server_us": round(server * 1e6 / n, 1), "collector_us": round(client * 1e6 / n, 1)}
    peer = m["copy"][0]
    res["ratio"] = round(peer / m["sink"][0], 2)
    res["ratio_text_sink"] = round(peer / m["sink_text"][0], 2)
    res["ratio_binary_peer"] = round(m["copy_binary"][0] / m["sink"][0], 2)
    # CPU: what the machine's load does not change. The sink's collector CPU and its server
    # CPU can overlap (two processes); on a saturated machine they add up: the lower bound
    cpu = {"sink_server": m["sink"][1], "sink_client": m["sink"][2], "copy_server": m["copy"][1],
           "copy_client": m["copy"][2]}
    res["cpu_ms_per_1000"] = {k: round(v * 1e6 / n, 1) for k, v in cpu.items()}
    res["ratio_cpu"] = round(cpu["copy_server"] / (cpu["sink_server"] + cpu["sink_client"]), 2)
    res["ratio_cpu_overlapped"] = round(cpu["copy_server"] / max(cpu["sink_server"], cpu["sink_client"]), 2)
    # before issue 17: the old sink, the rows as it stored them (jsonb) and the indexes as
    # they were, in the same run
    jsonb = _jsonb_payload(chats, fks)
    cols_old = sc.COLS.replace(", badges_z, raw_z, zdict", ", badges, raw")
    old_sql = sc.COPY_SQL.replace(sc.COLS, cols_old)
    sc.reset(conn)
    sc.ddl(conn, sc.BEFORE_012)
    if old is not None:
        b = _medians(conn, reps, {"sink": lambda: sc.store(conn, recs, store=old.store),
                                  "copy": lambda: sc.copy(conn, jsonb, old_sql)})
        res["before"] = {"sink_lines_per_s": round(n / b["sink"][0]), "copy_lines_per_s": round(n / b["copy"][0]),
                         "ratio": round(b["copy"][0] / b["sink"][0], 2)}
    sc.reset(conn)
    sc.copy(conn, jsonb, old_sql)
    res["jsonb"] = sc.sizes(conn)
    sc.reset(conn)
    sc.ddl(conn, sc.AFTER_012)
    return res


# N synthetic lines (80-byte raw_z, 50 chat channels, 200,000 users), inserted as one statement
PREFILL_SQL = """
    INSERT INTO stream_chat (channel_fk, chat_channel_id, user_id, nickname, message, message_type,
                             chat_time, dedupe_key, raw_z, zdict)
    SELECT %s, 'ch' || (g %% 50), md5('u' || (g %% 200000)), 'nick', 'hello there ' || g, 'chat',
           timestamptz '2026-01-01' + g * interval '5 ms', md5('prefill' || g),
           decode(md5('a' || g) || md5('b' || g) || md5('c' || g) || md5('d' || g) || md5('e' || g), 'hex'), %s
      FROM generate_series(1, %s) g"""
_TAGS = itertools.count()  # a new dedupe key suffix for each appended run
UNIQUE = "CREATE UNIQUE INDEX stream_chat_dedupe_md5 ON stream_chat ((md5(dedupe_key)::uuid))"


def _wal(conn) -> int:
    with conn, conn.cursor() as cur:
        cur.execute("SELECT pg_current_wal_insert_lsn() - '0/0'::pg_lsn")
        return int(cur.fetchone()[0])


def _appended(conn, recs: list[dict], fks: dict, dictionary, reps: int, ways: tuple[str, ...]) -> dict:
    """{way: {wall, server, collector µs a line; WAL bytes a line}}, medians of `reps`, each run
    appending the lines again under new dedupe keys (the table keeps its size to within 0.1 %)."""
    runs: dict[str, list] = {w: [] for w in ways}
    for _ in range(reps):
        for way in ways:
            tag = f"-{next(_TAGS)}"
            rs = [dict(r, dedupe_key=r["dedupe_key"] + tag) if r["kind"] == "chat" else r for r in recs]
            chats = sc.firsts(rs)
            text = b"".join(chat_copy.chunks(chats, fks, dictionary))
            w0 = _wal(conn)
            fn = functools.partial(sc.copy, conn, text) if way == "copy" else functools.partial(sc.store, conn, rs)
            wall, server, client = sc.cpu_of(conn, fn)
            runs[way].append([x * 1e6 / len(chats) for x in (wall, server, client)] + [(_wal(conn) - w0) / len(chats)])
    keys = ("wall_us", "server_us", "collector_us", "wal_bytes")
    return {w: {k: round(statistics.median(x[i] for x in r), 1) for i, k in enumerate(keys)} for w, r in runs.items()}


def _prefilled(conn, style: str, lines: int, seed: int, reps: int, prefill: int) -> dict:
    """The sink and the COPY on an empty table, then on top of `prefill` lines (CPU, WAL)."""
    recs = sc.records(lines, seed, style)
    sc.reset(conn)
    dictionary = raw_dictionaries.current(conn)
    fks = sc.fks(conn, sc.firsts(recs))
    conn.commit()
    res: dict = {"style": style, "prefill": prefill, "empty": _appended(conn, recs, fks, dictionary, reps,
                                                                        ("copy", "sink"))}
    t0 = time.perf_counter()
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute(PREFILL_SQL, (next(iter(fks.values())), dictionary.id if dictionary else None, prefill))
        cur.execute("VACUUM ANALYZE stream_chat")
        cur.execute("CHECKPOINT")
        cur.execute("SELECT pg_relation_size('stream_chat'), pg_indexes_size('stream_chat'),"
                    " pg_relation_size('stream_chat_dedupe_md5')")
        res["heap_mb"], res["indexes_mb"], res["md5_mb"] = (round(b / 2**20) for b in cur.fetchone())
    conn.autocommit = False
    res["fill_seconds"] = round(time.perf_counter() - t0)
    # the first lines after a checkpoint: each index page they touch is written whole to the WAL once
    res["after_checkpoint"] = _appended(conn, recs, fks, dictionary, 1, ("copy",))
    res["full"] = _appended(conn, recs, fks, dictionary, reps, ("copy", "sink"))
    sc.ddl(conn, ["DROP INDEX stream_chat_dedupe_md5"])
    res["full_no_unique"] = _appended(conn, recs, fks, dictionary, reps, ("copy",))
    sc.reset(conn)
    sc.ddl(conn, [UNIQUE])
    for key in ("empty", "full"):
        res[key]["ratio"] = round(res[key]["copy"]["wall_us"] / res[key]["sink"]["wall_us"], 2)
    return res


def run(lines: int = 20_000, reps: int = 3, styles: tuple[str, ...] = ("sim", "samples"), seed: int = 7,
        alternatives: bool = False, prefill: int = 0) -> dict:
    srv = start_server()
    conn = db.connect(srv.url)
    old = _old_sink()
    res: dict = {"lines": lines, "reps": reps, "batch": sc.BATCH, "styles": []}
    for style in styles:
        res["styles"].append(_style(conn, style, lines, seed, reps, old))
    if alternatives:
        res["alternatives"] = store_alternatives.measure(conn, sc.records(lines, seed, styles[0]), reps, old)
    if prefill:
        res["prefilled"] = _prefilled(conn, styles[-1], lines, seed, reps, prefill)
    ok = all(s["ratio"] >= TARGET_RATIO and s["compact"]["bytes_per_line"] <= TARGET_BYTES
             for s in res["styles"])
    res["result"] = "PASS" if ok else "FAIL"
    conn.close()
    return res


def _split(s: dict) -> str:
    idx = ", ".join(f"{k.removeprefix('stream_chat_')} {v}" for k, v in s["index"].items())
    return (f"{s['bytes_per_line']:>5} B/line = heap {s['heap']} (raw {s['raw']}, badges {s['badges']})"
            f" + TOAST {s['toast']} + indexes {s['indexes']} ({idx})")


def print_report(res: dict) -> None:
    if "skipped" in res:
        print(f"\n== store: skipped ({res['skipped']})")
        return
    print(f"\n== store: sink.store per {res['batch']:,} records beside one COPY of the same rows,"
          f" median of {res['reps']} (shared machine)")
    for s in res["styles"]:
        print(f"-- {s['style']}: {s['lines']:,} lines ({s['records']:,} records with blinds and events)")
        for name, label in (("sink", "sink.store (binary COPY)"), ("sink_text", "sink.store, text COPY"),
                            ("copy", "COPY (text, peer)"), ("copy_binary", "COPY (binary)")):
            r = s[name]
            print(f"   {label:<26} {r['lines_per_s']:>8,} lines/s  ({r['seconds']:.2f}s; CPU µs a line: server"
                  f" {r['server_us']}, collector {r['collector_us']})")
        print(f"   ratio sink/COPY     {s['ratio']:>6}   target >= {TARGET_RATIO} (wall time; the text sink in the same run:"
              f" {s['ratio_text_sink']}; against the binary COPY: {s['ratio_binary_peer']})")
        print(f"   ratio by CPU        {s['ratio_cpu']:>6}   collector + server CPU added up (no overlap);"
              f" {s['ratio_cpu_overlapped']} if they overlap fully (two free cores)")
        if "before" in s:
            b = s["before"]
            print(f"   before (old sink, jsonb rows, indexes before 012): sink {b['sink_lines_per_s']:,} lines/s, COPY"
                  f" {b['copy_lines_per_s']:,} lines/s, ratio {b['ratio']}")
        print(f"   compact rows        {_split(s['compact'])}")
        print(f"   first {sc.FIRST_LINES:,} lines    {_split(s['first_lines'])}")
        print(f"   before (jsonb rows, indexes before 012) {_split(s['jsonb'])}")
    if "alternatives" in res:
        store_alternatives.print_alternatives(res["alternatives"])
    if "prefilled" in res:
        _print_prefilled(res["prefilled"])
    print(f"   targets: ratio >= {TARGET_RATIO}, <= {TARGET_BYTES} B/line: {res['result']}")


def _print_prefilled(p: dict) -> None:
    print(f"-- {p['style']} lines appended to an empty table, then to {p['prefill']:,} lines (heap {p['heap_mb']} MB,"
          f" indexes {p['indexes_mb']} MB of which the dedupe key's {p['md5_mb']} MB; filled in {p['fill_seconds']} s)")
    for key, label in (("empty", "empty table"), ("after_checkpoint", "first run after a checkpoint"),
                       ("full", f"{p['prefill']:,} lines"),
                       ("full_no_unique", f"{p['prefill']:,} lines, no unique key")):
        for way, r in p[key].items():
            if way != "ratio":
                print(f"   {label:<28} {way:<5} wall {r['wall_us']:>6} µs a line, CPU server {r['server_us']},"
                      f" collector {r['collector_us']}; WAL {r['wal_bytes']:,} B a line")
        if "ratio" in p[key]:
            print(f"   {label:<28} ratio COPY/sink {p[key]['ratio']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=20_000, help="chat lines per style (default 20,000)")
    ap.add_argument("--reps", type=int, default=3, help="runs of each, median (default 3)")
    ap.add_argument("--styles", default="sim,samples", help="frame styles (bench/frames.py)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--alternatives", action="store_true", help="also measure the alternatives (slower)")
    ap.add_argument("--prefill", type=int, default=0, help="also measure on top of N stored lines (slow: minutes)")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print_report(run(a.lines, a.reps, tuple(a.styles.split(",")), a.seed, a.alternatives, a.prefill))
    return 0


if __name__ == "__main__":
    sys.exit(main())
