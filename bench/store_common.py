"""What bench/store_bench.py and bench/store_alternatives.py share: the realistic records,
the table emptied between runs, a timed sink.store and COPY, bytes per line, and the server's
CPU read from /proc. (One module both import: they imported each other before.)"""
from __future__ import annotations

import io
import logging
import os
import time
from pathlib import Path

from bench.frames import frame_lines
from collector import raw_dictionaries, sink
from collector.chat_copy import COLUMNS
from collector.protocol import parse_frame

BATCH = 5_000
FIRST_LINES = 20_000
DEFAULT_CHANNEL = "0" * 31 + "1"  # lines whose item names no channel: the one listened to
COLS = ", ".join(COLUMNS)
COPY_SQL = f"COPY stream_chat ({COLS}) FROM STDIN WITH (NULL 'None')"
COPY_BINARY_SQL = f"COPY stream_chat ({COLS}) FROM STDIN WITH (FORMAT binary)"
TABLES = "stream_chat, events, dead_letter, stream_chat_tombstone"
TICKS = os.sysconf("SC_CLK_TCK")


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


def reset(conn, dictionaries: bool = False) -> None:
    with conn, conn.cursor() as cur:
        cur.execute(f"TRUNCATE {TABLES}" + (", raw_dictionary" if dictionaries else ""))
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CHECKPOINT")
    conn.autocommit = False
    if dictionaries:
        raw_dictionaries.forget(conn)


def store(conn, recs: list[dict], batch: int = BATCH, store=None) -> float:
    store = store or sink.store
    t0 = time.perf_counter()
    for i in range(0, len(recs), batch):
        store(conn, recs[i:i + batch], log_level=logging.DEBUG)
    return time.perf_counter() - t0


def copy(conn, data: bytes, sql: str = COPY_SQL) -> float:
    t0 = time.perf_counter()
    with conn, conn.cursor() as cur:
        cur.copy_expert(sql, io.BytesIO(data))
    return time.perf_counter() - t0


def sizes(conn) -> dict:
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


def firsts(recs: list[dict]) -> list[dict]:
    return sink._first_copies([r for r in recs if r["kind"] == "chat"])


def fks(conn, chats: list[dict]) -> dict[str, int]:
    with conn:
        return sink._channel_ids(conn, {r["channel_id"] for r in chats})


def backend_cpu(conn) -> float:
    """CPU seconds the connection's server process has used (Linux /proc; the embedded
    server runs on this machine)."""
    fields = Path(f"/proc/{conn.get_backend_pid()}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICKS


def cpu_of(conn, fn) -> tuple[float, float, float]:
    """(wall seconds, server CPU seconds, collector CPU seconds) of fn()."""
    server, client = backend_cpu(conn), time.process_time()
    wall = fn()
    return wall, backend_cpu(conn) - server, time.process_time() - client
