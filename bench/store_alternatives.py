"""The alternatives docs/COLLECTOR_STORAGE.md compares, measured on the same rows as
bench/store_bench.py (``--alternatives``): ways to store a batch idempotently, batch sizes,
COPY formats, the Python side, and fewer or narrower indexes. Each way runs per 5,000
records in its own transaction after the opt-out lock, as the sink does; time = median of
the reps, the table emptied before each; ratio = one COPY of the same rows / the way."""
from __future__ import annotations

import io
import statistics
import time

import psycopg2.errors

from bench import store_common as sb
from collector import chat_copy, forgotten, raw_dictionaries, sink

INSERT = ("INSERT INTO stream_chat ({cols}) SELECT {cols} FROM {stage} s WHERE NOT EXISTS "
          "(SELECT 1 FROM opt_out_user o WHERE o.user_id = s.user_id) ORDER BY chat_time "
          "ON CONFLICT ((md5(dedupe_key)::uuid)) DO NOTHING")


def _payload(lines: list[dict], fks, dictionary) -> chat_copy.Stream:
    return chat_copy.Stream(chat_copy.chunks(lines, fks, dictionary))


def _ways(fks, dictionary) -> dict:
    cols = sb.COLS
    made: set = set()

    def copy_into(cur, table, lines):
        cur.copy_expert(f"COPY {table} ({cols}) FROM STDIN WITH (NULL 'None')", _payload(lines, fks, dictionary))

    def temp_per_transaction(cur, lines):
        cur.execute(f"CREATE TEMP TABLE st ON COMMIT DROP AS SELECT {cols} FROM stream_chat WITH NO DATA")  # noqa: S608 - constant names
        copy_into(cur, "st", lines)
        cur.execute(INSERT.format(cols=cols, stage="st"))

    def temp_session(cur, lines):
        if "ts" not in made:
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS ts ON COMMIT DELETE ROWS AS"  # noqa: S608 - constant names
                        f" SELECT {cols} FROM stream_chat WITH NO DATA")
            made.add("ts")
        copy_into(cur, "ts", lines)
        cur.execute(INSERT.format(cols=cols, stage="ts"))

    def unlogged(cur, lines):
        if "ul" not in made:
            cur.execute(f"CREATE UNLOGGED TABLE IF NOT EXISTS chat_stage_ul AS SELECT {cols} FROM stream_chat"  # noqa: S608
                        " WITH NO DATA")
            made.add("ul")
        cur.execute("TRUNCATE chat_stage_ul")
        copy_into(cur, "chat_stage_ul", lines)
        cur.execute(INSERT.format(cols=cols, stage="chat_stage_ul"))

    def merge(cur, lines):
        temp_session_copy(cur, lines)
        values = ", ".join("s." + c for c in chat_copy.COLUMNS)
        cur.execute(f"MERGE INTO stream_chat c USING (SELECT * FROM ts s WHERE NOT EXISTS (SELECT 1 FROM"  # noqa: S608
                    f" opt_out_user o WHERE o.user_id = s.user_id)) s ON md5(c.dedupe_key)::uuid = md5(s.dedupe_key)::uuid"
                    f" WHEN NOT MATCHED THEN INSERT ({cols}) VALUES ({values})")

    def temp_session_copy(cur, lines):
        if "ts" not in made:
            cur.execute(f"CREATE TEMP TABLE IF NOT EXISTS ts ON COMMIT DELETE ROWS AS"  # noqa: S608 - constant names
                        f" SELECT {cols} FROM stream_chat WITH NO DATA")
            made.add("ts")
        copy_into(cur, "ts", lines)

    def key_precheck(cur, lines):
        cur.execute("SELECT c.dedupe_key FROM unnest(%s::text[]) AS k JOIN stream_chat c"
                    " ON md5(c.dedupe_key)::uuid = md5(k)::uuid AND c.dedupe_key = k", ([r["dedupe_key"] for r in lines],))
        stored = {k for (k,) in cur.fetchall()}
        copy_into(cur, "stream_chat", [r for r in lines if r["dedupe_key"] not in stored])

    def optimistic(cur, lines):  # the sink's way
        cur.execute("SAVEPOINT c")
        try:
            copy_into(cur, "stream_chat", lines)
            cur.execute("RELEASE SAVEPOINT c")
        except psycopg2.errors.UniqueViolation:
            cur.execute("ROLLBACK TO SAVEPOINT c")
            temp_per_transaction(cur, lines)

    return {"COPY into a temp table made per transaction + INSERT … ON CONFLICT": temp_per_transaction,
            "COPY into a session temp table (ON COMMIT DELETE ROWS) + INSERT … ON CONFLICT": temp_session,
            "COPY into an UNLOGGED staging table + INSERT … ON CONFLICT": unlogged,
            "COPY into a session temp table + MERGE … WHEN NOT MATCHED": merge,
            "SELECT the batch's keys, COPY the rest into the table": key_precheck,
            "COPY into the table in a savepoint, staging + ON CONFLICT if a key is taken (the sink)": optimistic}


def _run_way(conn, way, lines: list[dict], batch: int = sb.BATCH) -> float:
    t0 = time.perf_counter()
    for i in range(0, len(lines), batch):
        with conn, conn.cursor() as cur:
            cur.execute(forgotten.LOCK_LIST)
            cur.execute("SELECT user_id FROM opt_out_user")
            way(cur, lines[i:i + batch])
    return time.perf_counter() - t0


def _timed(conn, reps: int, fn) -> float:
    out = []
    for _ in range(reps):
        sb.reset(conn)
        out.append(fn())
    return statistics.median(out)


def _python_side(lines: list[dict], fks, dictionary, old) -> dict:
    """Collector CPU per 1,000 lines to build the COPY payload of 5,000-line batches."""
    def per_1000(fn) -> float:
        best = 9e9
        for _ in range(3):
            t0 = time.process_time()
            for i in range(0, len(lines), sb.BATCH):
                fn(lines[i:i + sb.BATCH])
            best = min(best, time.process_time() - t0)
        return round(best * 1e6 / len(lines), 1)

    out = {"compact rows, text COPY (chat_copy: msgspec, zstd, % formatting, chunk checks)":
           per_1000(lambda part: b"".join(chat_copy.chunks(part, fks, dictionary))),
           "compact rows, binary COPY (chat_binary: msgspec, zstd, column-wise packing; the sink's)":
           per_1000(lambda part: b"".join(chat_copy.chunks(part, fks, dictionary, binary=True)))}
    if old is not None:
        out["before: jsonb CSV (json.dumps + clean_json + clean_text per field)"] = per_1000(
            lambda part: old.chat_csv(part, fks).getvalue())
    return out


def _formats(conn, reps: int, lines: list[dict], fks, dictionary) -> dict:
    """Server side of COPY FROM in text, CSV and binary (payloads PostgreSQL wrote itself)."""
    sb.reset(conn)
    sb.copy(conn, b"".join(chat_copy.chunks(lines, fks, dictionary)))
    payloads = {}
    with conn, conn.cursor() as cur:
        for fmt in ("text", "csv", "binary"):
            buf = io.BytesIO()
            cur.copy_expert(f"COPY stream_chat ({sb.COLS}) TO STDOUT WITH (FORMAT {fmt})", buf)
            payloads[fmt] = buf.getvalue()
    return {f"COPY FROM ({fmt}, {len(data) / len(lines):,.0f} B/line)": round(len(lines) / _timed(
        conn, reps, lambda d=data, f=fmt: sb.copy(conn, d, f"COPY stream_chat ({sb.COLS}) FROM STDIN WITH (FORMAT {f})")))
            for fmt, data in payloads.items()}


_BEFORE_012 = sb.BEFORE_012
_INDEXES = {
    "as before migration 012 (stream_chat_blind, dedupe_key text unique)": _BEFORE_012,
    "without stream_chat_blind, dedupe_key text unique": _BEFORE_012[1:],
    "migration 012 (no stream_chat_blind, unique md5(dedupe_key)::uuid)": [],
}


def _indexes(conn, reps: int, lines: list[dict], recs: list[dict], fks, dictionary) -> dict:
    """COPY speed and bytes per line with the indexes as they were and as migration 012
    makes them (undone after: back to 012's)."""
    data = b"".join(chat_copy.chunks(lines, fks, dictionary))
    out = {}
    for name, ddl in _INDEXES.items():
        sb.ddl(conn, ddl)
        copy_s = _timed(conn, reps, lambda: sb.copy(conn, data))
        sink_s = None if ddl else _timed(conn, reps, lambda: sb.store(conn, recs))
        sizes = sb.sizes(conn)
        out[name] = {"copy_lines_per_s": round(len(lines) / copy_s),
                     "sink_lines_per_s": round(len(lines) / sink_s) if sink_s else None,
                     "bytes_per_line": sizes["bytes_per_line"], "indexes": sizes["indexes"],
                     "index": sizes["index"]}
        sb.reset(conn)
        sb.ddl(conn, sb.AFTER_012)
    return out


def measure(conn, recs: list[dict], reps: int, old) -> dict:
    lines = sb.firsts(recs)
    fks = sb.fks(conn, lines)
    dictionary = raw_dictionaries.current(conn)
    conn.commit()
    data = b"".join(chat_copy.chunks(lines, fks, dictionary))
    peer = _timed(conn, reps, lambda: sb.copy(conn, data))
    res: dict = {"lines": len(lines), "copy_lines_per_s": round(len(lines) / peer), "ways": {}, "batches": {}}
    for name, way in _ways(fks, dictionary).items():
        s = _timed(conn, reps, lambda w=way: _run_way(conn, w, lines))
        res["ways"][name] = {"lines_per_s": round(len(lines) / s), "ratio": round(peer / s, 2)}
    for batch in (1_000, 5_000, 20_000):
        s = _timed(conn, reps, lambda b=batch: sb.store(conn, recs, batch=b))
        res["batches"][batch] = {"lines_per_s": round(len(lines) / s), "ratio": round(peer / s, 2)}
    res["python_us_per_line"] = _python_side(lines, fks, dictionary, old)
    res["formats_lines_per_s"] = _formats(conn, reps, lines, fks, dictionary)
    res["indexes"] = _indexes(conn, reps, lines, recs, fks, dictionary)
    sink._channel_cache.clear()
    return res


def print_alternatives(res: dict) -> None:
    print(f"-- alternatives ({res['lines']:,} lines of the first style; one COPY: {res['copy_lines_per_s']:,} lines/s)")
    for name, r in res["ways"].items():
        print(f"   {r['lines_per_s']:>8,} lines/s  ratio {r['ratio']:<5} {name}")
    for batch, r in res["batches"].items():
        print(f"   {r['lines_per_s']:>8,} lines/s  ratio {r['ratio']:<5} sink.store per {batch:,} records")
    for name, us in res["python_us_per_line"].items():
        print(f"   {us:>8} µs collector CPU a line to build the payload: {name}")
    for name, n in res["formats_lines_per_s"].items():
        print(f"   {n:>8,} lines/s  {name}")
    for name, r in res["indexes"].items():
        sink_s = f"sink {r['sink_lines_per_s']:,} lines/s, " if r["sink_lines_per_s"] else ""
        idx = ", ".join(f"{k.removeprefix('stream_chat_')} {v}" for k, v in r["index"].items() if v > 3)
        print(f"   COPY {r['copy_lines_per_s']:>7,} lines/s, {sink_s}{r['bytes_per_line']} B/line, indexes"
              f" {r['indexes']} B ({idx}): {name}")
