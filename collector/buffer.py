"""The buffer between the chat clients (producers) and the flush job (consumer), backed by
the local spool (collector.spool): ``add`` appends to a file on disk before it returns, a
flush stores what the spool holds and only then deletes it. A failed store leaves the
records on disk for the next flush, or for the next start of the collector.

Backpressure: nothing waits in memory. When PostgreSQL is slower than the sockets (a flood
above what ``store`` does, or PostgreSQL down), the spool grows on disk and a flush keeps
draining, sealed segment after sealed segment, for as long as FLUSH_MAX_EVENTS or more
records are waiting (``flush`` loops), so the backlog drains as fast as ``store`` allows once
PostgreSQL catches up; memory holds one STORE_BATCH at a time."""
from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable

from collector.spool import Spool
from collector.wire import Frame, records_of
from core import settings

log = logging.getLogger(__name__)


def _one_line(error: BaseException | None) -> str:
    return " ".join(str(error).split()) if error is not None else "unknown error"  # psycopg2 spans lines


class Buffer:
    """Records waiting to be stored, on disk in ``spool_dir`` (default: SPOOL_DIR).
    ``on_full`` is called (outside the lock, from the producer's thread) when an ``add``
    brings the records not yet stored to ``max_events`` or more; ``full`` is an Event set
    at the same moment and cleared by the next successful flush (so a database outage
    does not turn every ``add`` into a flush attempt)."""

    def __init__(self, max_events: int, on_full: Callable[[], None] | None = None,
                 spool_dir: str | os.PathLike | None = None):
        self.max_events = max_events
        self.on_full = on_full
        self.full = threading.Event()
        self.spool = Spool(spool_dir if spool_dir is not None else settings.spool_dir())
        self._lock = threading.Lock()
        self._flush_lock = threading.Lock()
        self.added = 0  # records ever added (for the summary)
        self.stored = 0  # records ever stored by this process
        self.last_error: BaseException | None = None  # of the last failed store

    def open(self) -> int:
        """Open the spool; returns the records left by a stopped collector, which the
        next flush stores before anything collected since."""
        return self.spool.open()

    def add(self, records: Iterable[dict]) -> None:
        """Append records to the spool; when this returns they count as received."""
        records = list(records)
        if not records:
            return
        self.spool.append(records)
        with self._lock:
            self.added += len(records)
            crossed = not self.full.is_set() and self.spool.records >= self.max_events
            if crossed:
                self.full.set()
        if crossed and self.on_full is not None:
            self.on_full()

    def add_frame(self, frame: Frame) -> None:
        """Append a received chat push to the spool as it is (``collector.wire``); when this
        returns its lines count as received."""
        self.spool.append_frame(frame)
        with self._lock:  # full first: spool.records sums over every segment (a flood's backlog: tens of them)
            self.added += frame.items
            crossed = not self.full.is_set() and self.spool.records >= self.max_events
            if crossed:
                self.full.set()
        if crossed and self.on_full is not None:
            self.on_full()

    def flush(self, store: Callable[[list[dict]], object], ready: Callable[[], object] | None = None,
              expand: Callable[[Frame], list[dict]] | None = records_of) -> object | None:
        """Store what the spool holds (see ``Spool.drain``); one log line with rows,
        duration and spool size. Returns what the last ``store`` call returned, or None
        when nothing was stored or a store failed (the error is logged and kept in
        ``last_error``; the records stay in the spool). ``ready`` (e.g. open the database
        connection) is called first: when it raises, nothing is read or parsed, so a
        database outage costs a flush no CPU however big the backlog. ``expand``: see
        ``Spool.drain`` (None: ``store`` gets the spool's entries, frames unparsed)."""
        with self._flush_lock:
            last = None
            while True:
                t0 = time.monotonic()
                try:
                    if ready is not None:
                        ready()
                    stored, result = self.spool.drain(store, expand=expand)
                except Exception as exc:  # database down, connection lost, ...: the spool keeps them
                    self.last_error = exc
                    log.warning("flush failed after %.3fs (%s); %d records stay in the spool (%s, %d segments) "
                                "for the next flush", time.monotonic() - t0, _one_line(exc), self.spool.records,
                                _size(self.spool.size), self.spool.segments)
                    return None
                self.last_error = None
                self.stored += stored
                last = result if stored else last
                left = self.spool.records
                log.info("flush: %d records stored in %.3fs; spool: %d records (%s) in %d segments",
                         stored, time.monotonic() - t0, left, _size(self.spool.size), self.spool.segments)
                if left < self.max_events or not stored:
                    break  # else more arrived meanwhile: drain again (a flood, or a backlog draining)
            if left < self.max_events:
                self.full.clear()
            return last

    def close(self) -> None:
        """fsync and release the spool; unstored records stay on disk for the next start."""
        self.spool.close()

    def __len__(self) -> int:
        """Records not stored yet (all of them on disk)."""
        return self.spool.records


def _size(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


def flush(buffer: Buffer, store: Callable[[list[dict]], object],
          ready: Callable[[], object] | None = None) -> object | None:
    """``buffer.flush(store, ready)`` (kept for callers of the in-memory buffer's API)."""
    return buffer.flush(store, ready)
