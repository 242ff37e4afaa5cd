"""Day partitions written by several workers at once, so that the sync uses more than one
core: PostgreSQL producing rows, ADBC decoding them, the sort and the Parquet encoding of
one day overlap with another day's.

Each worker has its own PostgreSQL connection that imports the sync's snapshot
(``pg_export_snapshot()`` / ``SET TRANSACTION SNAPSHOT``) and its own binary reader
(extract_arrow.snapshot_reader), so every worker reads exactly what the sync's REPEATABLE
READ transaction sees, and the state's high-water marks still match what was written.
Workers take the next day from a shared list (days differ in size); each partition is
still written whole to a temporary name and renamed (warehouse.lake), so a failure in one
worker leaves complete partitions only: the other workers finish the day they are writing,
take no new one, and the error is raised to the caller.

Memory: one day group per worker (extract_arrow.GROUP_ROWS rows, about 150 MB each) plus
what the Parquet writers buffer; docs/BENCHMARKS.md has the measured peak."""
from __future__ import annotations

import logging
import queue
import threading
from collections.abc import Callable, Iterator
from datetime import date

import psycopg2
import psycopg2.extensions

from warehouse.sync import extract_arrow

log = logging.getLogger(__name__)
_DONE = object()


def snapshot_connection(conn: psycopg2.extensions.connection) -> psycopg2.extensions.connection:
    """A new connection in a REPEATABLE READ, read-only transaction that sees `conn`'s
    snapshot (`conn` must be in a REPEATABLE READ transaction)."""
    with conn.cursor() as cur:
        cur.execute("SELECT pg_export_snapshot()")
        snapshot = cur.fetchone()[0]
    other = psycopg2.connect(extract_arrow.conninfo(conn), connect_timeout=10,
                             application_name="chzzk-analytics sync worker")
    try:
        other.set_session(isolation_level=psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ, readonly=True)
        with other.cursor() as cur:  # the transaction's first statement
            cur.execute("SET TRANSACTION SNAPSHOT %s", (snapshot,))
    except BaseException:
        other.close()
        raise
    return other


def run(conn: psycopg2.extensions.connection, reader: extract_arrow.SnapshotReader | None, days: list[date],
        write: Callable, writers: int) -> Iterator:
    """Yield ``write(c, r, day)`` for every day, in the order the days finish (`c` a
    connection in `conn`'s snapshot, `r` its binary reader or None). With one writer (or one
    day, or no binary `reader` for `conn`: the CSV path, which shares `conn`), the days are
    written in order on `conn` with `reader`; else `writers` threads each write days on a
    connection of their own in `conn`'s snapshot, with a reader of their own."""
    writers = min(writers, len(days))
    if writers <= 1 or reader is None:
        for day in days:
            yield write(conn, reader, day)
        return
    connections = [snapshot_connection(conn) for _ in range(writers)]  # in this thread: `conn` is not shared
    todo: queue.SimpleQueue = queue.SimpleQueue()
    for day in days:
        todo.put(day)
    done: queue.Queue = queue.Queue()
    stop = threading.Event()
    threads = [threading.Thread(target=_work, args=(c, todo, write, done, stop), name=f"wh-sync-{i}", daemon=True)
               for i, c in enumerate(connections)]
    for thread in threads:
        thread.start()
    try:
        running = len(threads)
        while running:
            item = done.get()
            if item is _DONE:
                running -= 1
            elif isinstance(item, BaseException):
                raise item
            else:
                yield item
    finally:
        stop.set()  # an error, or the caller stopped early: take no new day
        for thread in threads:
            thread.join()
        for c in connections:
            c.close()


def _work(c: psycopg2.extensions.connection, todo: queue.SimpleQueue, write: Callable, done: queue.Queue,
          stop: threading.Event) -> None:
    try:
        with extract_arrow.snapshot_reader(c) as reader:
            while not stop.is_set():
                try:
                    day = todo.get_nowait()
                except queue.Empty:
                    break
                done.put(write(c, reader, day))
    except BaseException as exc:  # raised by run() in the sync's thread
        stop.set()
        done.put(exc)
    finally:
        done.put(_DONE)
