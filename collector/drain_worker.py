"""The drain in a process of its own (``collector run --drain-process``; issue 17): the
collector's process keeps receiving and spooling, and a child process parses the spooled
frames and stores them (``collector.wire.records_of`` then ``collector.sink.store``), so
the two are not serialised by one interpreter's GIL.

The spool stays the hand-off and nothing else changes about what is kept: the parent reads
a batch of spool lines (frames as received, records; undecoded bytes) from its sealed
segments, sends it to the child, and counts it stored only when the child answers that its transaction
committed; a segment is deleted only after all its entries were stored that way
(``collector.spool.Spool.drain``). When the child fails (its store raised, it died, the
pipe broke) the parent's flush fails as a failed store does: the entries stay in the spool
for the next flush, which starts a new child if needed; a batch the child committed before
dying is stored again and the sink's dedupe keys absorb it.

The child ignores SIGINT/SIGTERM (the parent stops it after the final flush) and ends when
its pipe closes (the parent died), so it never outlives the collector."""
from __future__ import annotations

import logging
import multiprocessing
import signal
import time
from collections import Counter

log = logging.getLogger(__name__)

JOIN_SECONDS = 10.0


class DrainProcessError(RuntimeError):
    """The drain process could not store a batch (its error, or that it ended)."""


def _records(lines: list[bytes]) -> list[dict]:
    """The records of spool lines (collector.spool_lines: decoded here, not in the parent,
    which reads them from its segments and sends them as bytes: ~0.3 instead of ~5 µs a line
    of its CPU for decoding and pickling frames); a line that does not decode is skipped
    with a warning, as ``spool_lines.read_segment`` skips it."""
    from collector.spool_lines import decode
    from collector.wire import Frame, records_of
    out: list[dict] = []
    for line in lines:
        try:
            entry = decode(line)
        except ValueError as exc:
            log.warning("spool line skipped (%s)", " ".join(str(exc).split())[:200])
            continue
        if entry.__class__ is Frame:
            out.extend(records_of(entry))
        else:
            out.append(entry)
    return out


def _serve(pipe, url: str) -> None:
    """The child: batches of spool entries in, (report, per-channel counts, parse and store
    CPU seconds, records) or an error out, until the pipe closes or says None."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    import psycopg2

    from collector import sink
    from core import db
    from core.cli import setup_logging
    setup_logging()
    conn = None
    while True:
        try:
            entries = pipe.recv()
        except (EOFError, OSError):
            break
        if entries is None:
            break
        t0 = time.thread_time()
        records = _records(entries)
        t1 = time.thread_time()
        try:
            if conn is None or conn.closed:
                conn = db.connect(url)
            report = sink.store(conn, records)
        except Exception as exc:  # noqa: BLE001 - told to the parent, whose flush fails and keeps the spool
            if isinstance(exc, (psycopg2.OperationalError, psycopg2.InterfaceError)) and conn is not None:
                conn.close()
                conn = None
            pipe.send(("error", " ".join(f"{type(exc).__name__}: {exc}".split())))
            continue
        counts = Counter(r.get("channel_id") or "" for r in records)
        pipe.send(("ok", report, dict(counts), t1 - t0, time.thread_time() - t1, len(records)))
    if conn is not None:
        conn.close()


class DrainProcess:
    """The parent's side: ``store(entries)`` sends a batch to the child (started when first
    needed, and again after it ended) and returns what it stored."""

    def __init__(self, url: str):
        self.url = url
        self._proc = None
        self._pipe = None

    def _start(self) -> None:
        ctx = multiprocessing.get_context("spawn")  # not fork: the collector runs hundreds of threads
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=_serve, args=(child, self.url), name="collector-drain", daemon=True)
        proc.start()
        child.close()
        self._proc, self._pipe = proc, parent
        log.info("drain process %d started", proc.pid)

    def store(self, entries: list) -> tuple:
        """(sink.StoreReport, {channel_id: records}, parse CPU s, store CPU s, records) of the
        batch, once the child's transaction committed; raises DrainProcessError otherwise."""
        if self._proc is None or not self._proc.is_alive():
            if self._proc is not None:  # died between batches: nothing of it was in flight
                log.warning("drain process %d ended (exit code %s) between batches; starting another",
                            self._proc.pid, self._proc.exitcode)
            self._stop()
            self._start()
        try:
            self._pipe.send(entries)
            reply = self._pipe.recv()
        except (EOFError, OSError) as exc:
            self._stop()
            raise DrainProcessError(f"drain process ended ({type(exc).__name__})") from None
        if reply[0] != "ok":
            raise DrainProcessError(reply[1])
        return reply[1:]

    def _stop(self) -> None:
        proc, pipe, self._proc, self._pipe = self._proc, self._pipe, None, None
        if pipe is not None:
            try:
                pipe.send(None)
            except (OSError, ValueError):
                pass
            pipe.close()
        if proc is not None:
            proc.join(JOIN_SECONDS)
            if proc.is_alive():
                proc.kill()
                proc.join()

    def close(self) -> None:
        """End the child (after its current batch)."""
        self._stop()
