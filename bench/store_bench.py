"""Storing chat lines (issue 17): the sink beside a raw COPY of the same rows, and what
PostgreSQL holds per line.

    .venv/bin/python -m bench.store_bench [--lines 20000] [--reps 3] [--styles sim,samples] [--alternatives]

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
text/CSV/binary COPY, the Python side, fewer and narrower indexes. The machine is shared:
compare ratios within one run.
"""
from __future__ import annotations

import argparse
import io
import logging
import os
import statistics
import subprocess
import sys
import time
import types
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

from bench.datagen import start_server  # noqa: E402
from bench.frames import frame_lines  # noqa: E402
from collector import chat_copy, raw_dictionaries, sink  # noqa: E402
from collector.protocol import parse_frame  # noqa: E402
from core import db  # noqa: E402

TARGET_RATIO = 0.6
TARGET_BYTES = 800
BATCH = 5_000
FIRST_LINES = 20_000
DEFAULT_CHANNEL = "0" * 31 + "1"  # lines whose item names no channel: the one listened to
COLS = ", ".join(chat_copy.COLUMNS)
COPY_SQL = f"COPY stream_chat ({COLS}) FROM STDIN WITH (NULL 'None')"
TABLES = "stream_chat, events, dead_letter, stream_chat_tombstone"
_TICKS = os.sysconf("SC_CLK_TCK")


# the indexes as they were before migration 012, and back to 012's
BEFORE_012 = ["CREATE INDEX stream_chat_blind ON stream_chat (chat_channel_id, user_id, chat_time)",
              "ALTER TABLE stream_chat ADD CONSTRAINT stream_chat_dedupe UNIQUE (dedupe_key)",
              "DROP INDEX stream_chat_dedupe_md5"]
AFTER_012 = ["DROP INDEX IF EXISTS stream_chat_blind",
             "ALTER TABLE stream_chat DROP CONSTRAINT IF EXISTS stream_chat_dedupe",
             "CREATE UNIQUE INDEX IF NOT EXISTS stream_chat_dedupe_md5 ON stream_chat ((md5(dedupe_key)::uuid))"]


def ddl(conn, statements: list[str]) -> None:
    with conn, conn.cursor() as cur:
        for stmt in statements:
            cur.execute(stmt)


def records(lines: int, seed: int, style: str) -> list[dict]:
    """The parser's records of `lines` chat lines of realistic frames (blinds and events too;
    control records dropped), every chat line given a channel as the collector does."""
    out = []
    for frame in frame_lines(lines, seed, style):
        for rec in parse_frame(frame):
            if rec["kind"] == "control":
                continue
            if rec["kind"] in ("chat", "event") and not rec.get("channel_id"):
                rec["channel_id"] = DEFAULT_CHANNEL
            out.append(rec)
    return out


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


def _reset(conn, dictionaries: bool = False) -> None:
    with conn, conn.cursor() as cur:
        cur.execute(f"TRUNCATE {TABLES}" + (", raw_dictionary" if dictionaries else ""))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CHECKPOINT")
    conn.autocommit = False
    if dictionaries:
        raw_dictionaries.forget(conn)


def _store(conn, recs: list[dict], batch: int = BATCH, store=None) -> float:
    store = store or sink.store
    t0 = time.perf_counter()
    for i in range(0, len(recs), batch):
        store(conn, recs[i:i + batch], log_level=logging.DEBUG)
    return time.perf_counter() - t0


def _copy(conn, data: bytes, sql: str = COPY_SQL) -> float:
    t0 = time.perf_counter()
    with conn, conn.cursor() as cur:
        cur.copy_expert(sql, io.BytesIO(data))
    return time.perf_counter() - t0


def _sizes(conn) -> dict:
    """Bytes per stored line: heap, TOAST, each index, total (after VACUUM ANALYZE)."""
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("VACUUM ANALYZE stream_chat")
        cur.execute("""SELECT count(*), pg_relation_size('stream_chat'),
                              coalesce(pg_total_relation_size(nullif(c.reltoastrelid, 0)), 0),
                              pg_table_size('stream_chat'), pg_indexes_size('stream_chat')
                         FROM stream_chat, pg_class c WHERE c.oid = 'stream_chat'::regclass
                        GROUP BY c.reltoastrelid""")
        lines, heap, toast, table, indexes = cur.fetchone() or (0, 0, 0, 0, 0)
        cur.execute("""SELECT indexrelid::regclass::text, pg_relation_size(indexrelid) FROM pg_index
                        WHERE indrelid = 'stream_chat'::regclass ORDER BY 2 DESC""")
        each = cur.fetchall()
        cur.execute("SELECT avg(octet_length(raw_z)), avg(coalesce(octet_length(badges_z), 0)),"
                    " avg(pg_column_size(raw)), avg(coalesce(pg_column_size(badges), 0)) FROM stream_chat")
        raw_z, badges_z, raw_j, badges_j = cur.fetchone()
    conn.autocommit = False
    per = max(lines, 1)
    return {"lines": lines, "bytes_per_line": round((table + indexes) / per), "heap": round(heap / per),
            "toast": round(toast / per), "indexes": round(indexes / per),
            "index": {name: round(size / per) for name, size in each},
            "raw": round(float(raw_z or raw_j or 0)), "badges": round(float(badges_z or badges_j or 0))}


def _firsts(recs: list[dict]) -> list[dict]:
    return sink._first_copies([r for r in recs if r["kind"] == "chat"])


def _fks(conn, chats: list[dict]) -> dict[str, int]:
    with conn:
        return sink._channel_ids(conn, {r["channel_id"] for r in chats})


def _jsonb_payload(chats: list[dict], fks: dict[str, int]) -> bytes:
    """The rows as stored before issue 17: raw and badges jsonb, no frames (text COPY;
    columns as COLS with badges, raw in place of badges_z, raw_z, zdict)."""
    lines = []
    for rec in chats:
        values = [rec.get(c) for c in chat_copy._RECORD_COLUMNS] + [fks[rec["channel_id"]]]
        values += [sink.to_json(rec.get("badges")), sink.to_json(rec.get("raw"))]
        lines.append("\t".join(chat_copy._field(v) for v in values))
    return ("\n".join(lines) + "\n").encode()


def _backend_cpu(conn) -> float:
    """CPU seconds the connection's server process has used (Linux /proc; the embedded
    server runs on this machine)."""
    fields = Path(f"/proc/{conn.get_backend_pid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / _TICKS


def _cpu_of(conn, fn) -> tuple[float, float, float]:
    """(wall seconds, server CPU seconds, collector CPU seconds) of fn()."""
    server, client = _backend_cpu(conn), time.process_time()
    wall = fn()
    return wall, _backend_cpu(conn) - server, time.process_time() - client


def _median_pair(conn, reps: int, ours, peer, cpu: dict | None = None) -> tuple[float, float]:
    """Median seconds of ours() and peer(), alternating, the table emptied before each.
    `cpu` gets the medians of their server and collector CPU seconds."""
    a, b = [], []
    for _ in range(reps):
        _reset(conn)
        a.append(_cpu_of(conn, ours))
        _reset(conn)
        b.append(_cpu_of(conn, peer))
    if cpu is not None:
        cpu.update(sink_server=statistics.median(x[1] for x in a), sink_client=statistics.median(x[2] for x in a),
                   copy_server=statistics.median(x[1] for x in b), copy_client=statistics.median(x[2] for x in b))
    return statistics.median(x[0] for x in a), statistics.median(x[0] for x in b)


def _style(conn, style: str, lines: int, seed: int, reps: int, old) -> dict:
    recs = records(lines, seed, style)
    chats = _firsts(recs)
    n = len(chats)
    res: dict = {"style": style, "records": len(recs), "lines": n}
    # a fresh deployment: its first 20,000 lines, the first 5,000 before any dictionary exists
    _reset(conn, dictionaries=True)
    first = [r for r in recs if r["kind"] == "chat"][:FIRST_LINES]
    _store(conn, first)
    res["first_lines"] = _sizes(conn)
    dictionary = raw_dictionaries.current(conn)
    conn.commit()
    # steady state: every line with the dictionary trained on this deployment's lines
    fks = _fks(conn, chats)
    compact = b"".join(chat_copy.chunks(chats, fks, dictionary))
    cpu: dict = {}
    ours, peer = _median_pair(conn, reps, lambda: _store(conn, recs), lambda: _copy(conn, compact), cpu)
    _reset(conn)
    _store(conn, recs)
    res["compact"] = _sizes(conn)
    res["sink"] = {"seconds": round(ours, 3), "lines_per_s": round(n / ours)}
    res["copy"] = {"seconds": round(peer, 3), "lines_per_s": round(n / peer)}
    res["ratio"] = round(peer / ours, 2)
    # CPU: what the machine's load does not change. The sink's collector CPU and its server
    # CPU can overlap (two processes); on a saturated machine they add up: the lower bound
    res["cpu_ms_per_1000"] = {k: round(v * 1e6 / n, 1) for k, v in cpu.items()}
    res["ratio_cpu"] = round(cpu["copy_server"] / (cpu["sink_server"] + cpu["sink_client"]), 2)
    res["ratio_cpu_overlapped"] = round(cpu["copy_server"] / max(cpu["sink_server"], cpu["sink_client"]), 2)
    # before issue 17: the old sink, the rows as it stored them (jsonb) and the indexes as
    # they were, in the same run
    jsonb = _jsonb_payload(chats, fks)
    cols_old = COLS.replace(", badges_z, raw_z, zdict", ", badges, raw")
    _reset(conn)
    ddl(conn, BEFORE_012)
    if old is not None:
        before, before_copy = _median_pair(conn, reps, lambda: _store(conn, recs, store=old.store),
                                           lambda: _copy(conn, jsonb, COPY_SQL.replace(COLS, cols_old)))
        res["before"] = {"sink_lines_per_s": round(n / before), "copy_lines_per_s": round(n / before_copy),
                         "ratio": round(before_copy / before, 2)}
    _reset(conn)
    _copy(conn, jsonb, COPY_SQL.replace(COLS, cols_old))
    res["jsonb"] = _sizes(conn)
    _reset(conn)
    ddl(conn, AFTER_012)
    return res


def run(lines: int = 20_000, reps: int = 3, styles: tuple[str, ...] = ("sim", "samples"), seed: int = 7,
        alternatives: bool = False) -> dict:
    srv = start_server()
    conn = db.connect(srv.url)
    old = _old_sink()
    res: dict = {"lines": lines, "reps": reps, "batch": BATCH, "styles": []}
    for style in styles:
        res["styles"].append(_style(conn, style, lines, seed, reps, old))
    if alternatives:
        from bench.store_alternatives import measure

        res["alternatives"] = measure(conn, records(lines, seed, styles[0]), reps, old)
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
        c = s["cpu_ms_per_1000"]
        print(f"   sink.store      {s['sink']['lines_per_s']:>8,} lines/s  ({s['sink']['seconds']:.2f}s; CPU ms per"
              f" 1,000 lines: collector {c['sink_client']}, server {c['sink_server']})")
        print(f"   COPY (compact)  {s['copy']['lines_per_s']:>8,} lines/s  ({s['copy']['seconds']:.2f}s; server CPU"
              f" {c['copy_server']} ms per 1,000 lines)")
        print(f"   ratio sink/COPY {s['ratio']:>8}   target >= {TARGET_RATIO} (wall time)")
        print(f"   ratio by CPU    {s['ratio_cpu']:>8}   collector + server CPU added up (no overlap);"
              f" {s['ratio_cpu_overlapped']} if they overlap fully (two free cores)")
        if "before" in s:
            b = s["before"]
            print(f"   before (old sink, jsonb rows, indexes before 012): sink {b['sink_lines_per_s']:,} lines/s, COPY"
                  f" {b['copy_lines_per_s']:,} lines/s, ratio {b['ratio']}")
        print(f"   compact rows        {_split(s['compact'])}")
        print(f"   first {FIRST_LINES:,} lines    {_split(s['first_lines'])}")
        print(f"   before (jsonb rows, indexes before 012) {_split(s['jsonb'])}")
    if "alternatives" in res:
        from bench.store_alternatives import print_alternatives

        print_alternatives(res["alternatives"])
    print(f"   targets: ratio >= {TARGET_RATIO}, <= {TARGET_BYTES} B/line: {res['result']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=20_000, help="chat lines per style (default 20,000)")
    ap.add_argument("--reps", type=int, default=3, help="runs of each, median (default 3)")
    ap.add_argument("--styles", default="sim,samples", help="frame styles (bench/frames.py)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--alternatives", action="store_true", help="also measure the alternatives (slower)")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    print_report(run(a.lines, a.reps, tuple(a.styles.split(",")), a.seed, a.alternatives))
    return 0


if __name__ == "__main__":
    sys.exit(main())
