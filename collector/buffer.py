"""A thread-safe in-memory buffer of records between the chat clients (producers) and
the flush job (consumer). A failed store puts its batch back at the front, so nothing is
lost while the process lives."""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterable

log = logging.getLogger(__name__)


class Buffer:
    """Records waiting to be stored. ``on_full`` is called (outside the lock, from the
    producer's thread) when an ``add`` brings the size to ``max_events`` or more;
    ``full`` is an Event set at the same moment and cleared by ``drain``."""

    def __init__(self, max_events: int, on_full: Callable[[], None] | None = None):
        self.max_events = max_events
        self.on_full = on_full
        self.full = threading.Event()
        self._items: list[dict] = []
        self._lock = threading.Lock()
        self.added = 0  # records ever added (for the summary)
        self.last_error: BaseException | None = None  # of the last failed store

    def add(self, records: Iterable[dict]) -> None:
        records = list(records)
        if not records:
            return
        with self._lock:
            self._items.extend(records)
            self.added += len(records)
            crossed = len(self._items) >= self.max_events and not self.full.is_set()
            if crossed:
                self.full.set()
        if crossed and self.on_full is not None:
            self.on_full()

    def drain(self) -> list[dict]:
        """Take every buffered record (oldest first), leaving the buffer empty."""
        with self._lock:
            items, self._items = self._items, []
            self.full.clear()
            return items

    def requeue(self, records: list[dict], error: BaseException | None = None) -> None:
        """Put records that could not be stored back in front of newer ones."""
        if not records:
            return
        with self._lock:
            self._items[:0] = records
            self.last_error = error
        log.warning("store failed (%s): %d records kept in the buffer for the next flush",
                    " ".join(str(error).split()) if error is not None else "unknown error", len(records))

    def __len__(self) -> int:
        with self._lock:
            return len(self._items)


def flush(buffer: Buffer, store: Callable[[list[dict]], object]) -> object | None:
    """Drain the buffer and hand the batch to ``store``; on failure requeue it and return
    None (the error is logged), else return what ``store`` returned."""
    batch = buffer.drain()
    if not batch:
        return None
    try:
        result = store(batch)
    except Exception as exc:  # database down, connection lost, ...: keep the batch
        buffer.requeue(batch, exc)
        return None
    buffer.last_error = None
    return result
