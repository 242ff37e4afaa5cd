"""Benchmark data: a throwaway embedded PostgreSQL holding a realistic history
(collector.sim.history: Zipf channels and chatters, overlapping audiences, renames,
subscribers, donations, blinds, Korean text), written as the collector stores it (compact
rows: raw and badges as zstd frames with a trained dictionary) by
collector.sim.history_load. It replaced the 100 copies of 100k simulator rows the bench
used before issue 18 (12,455 chatters for 10M lines, every copy the same text).

bench/realistic.py keeps such a database and its lake in a folder for reuse."""
from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass

import psycopg2

from collector.sim.history import Shape
from collector.sim.history_load import load
from core import db

log = logging.getLogger(__name__)


@dataclass
class Server:
    """A throwaway PostgreSQL (deleted when the process exits)."""
    url: str        # postgresql:// URI (unix socket), for psycopg2 and our code
    dsn: str        # the same as a libpq key=value DSN (DuckDB's postgres scanner)
    tmpdir: str
    handle: object  # keep the pgserver handle alive


def socket_dsn(url: str) -> str:
    """The key=value DSN of the database at `url` (its unix socket, port and name)."""
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT current_setting('port'), current_setting('unix_socket_directories'),"
                        " current_database(), current_user")
            port, sockdir, name, user = cur.fetchone()
    finally:
        conn.close()
    return f"host={sockdir.split(',')[0].strip()} port={port} dbname={name} user={user}"


def start_server() -> Server:
    """Start an embedded PostgreSQL in a temporary folder, create and migrate a database."""
    pgserver = db.import_pgserver()
    tmpdir = tempfile.mkdtemp(prefix="chzzk-bench-pg-")
    srv = pgserver.get_server(tmpdir, cleanup_mode="delete")
    conn = psycopg2.connect(srv.get_uri())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE bench")
    conn.close()
    url = srv.get_uri("bench")
    db.connect(url).close()  # applies the migrations
    return Server(url, socket_dsn(url), tmpdir, srv)


def build(shape: Shape) -> tuple[Server, dict]:
    """A throwaway server holding `shape`'s history; (server, info)."""
    t0 = time.monotonic()
    srv = start_server()
    conn = db.connect(srv.url)
    try:
        info = load(conn, shape)
        with conn.cursor() as cur:
            cur.execute("SELECT min(chat_time), max(chat_time), pg_total_relation_size('stream_chat') FROM stream_chat")
            first, last, size = cur.fetchone()
    finally:
        conn.close()
    info.update(first_chat=first.isoformat(), last_chat=last.isoformat(), pg_bytes=size,
                seconds=round(time.monotonic() - t0, 1))
    log.info("data ready: %s", info)
    return srv, info
