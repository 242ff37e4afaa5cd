"""A producer in a background thread, a bounded number of items ahead of its consumer, so
PostgreSQL (and the decoding) keep going while the caller converts and writes. Used by the
cursor path (warehouse/sync/extract.py) and the binary reader (warehouse/sync/extract_arrow.py)."""
from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Iterator

_DONE = object()  # end of stream marker


def put_until_stopped(out: queue.Queue, item, stop: threading.Event) -> bool:
    """Put `item` on the bounded queue `out`, waiting for room until `stop` is set (a
    consumer that went away); False when it was not put."""
    while not stop.is_set():
        try:
            out.put(item, timeout=0.1)
            return True
        except queue.Full:
            continue
    return False


def produced(produce: Callable[[Callable[[object], bool], threading.Event], None], prefetch: int,
             name: str) -> Iterator:
    """The items `produce(put, stop)` puts, as it puts them: it runs in a thread of its own
    (started at the first item asked for) and may be at most `prefetch` items ahead. `put`
    returns False once the consumer went away (`stop` is then set): the producer returns.
    An exception in the producer is raised here. Closing the iterator sets `stop` and joins
    the thread."""
    out: queue.Queue = queue.Queue(maxsize=max(1, prefetch))
    stop = threading.Event()

    def run() -> None:
        def put(item) -> bool:
            return put_until_stopped(out, item, stop)

        try:
            produce(put, stop)
            put(_DONE)
        except BaseException as exc:  # handed to the consumer, raised there
            put(exc)

    worker = threading.Thread(target=run, name=name, daemon=True)
    worker.start()
    try:
        while (item := out.get()) is not _DONE:
            if isinstance(item, BaseException):
                raise item
            yield item
    finally:
        stop.set()
        worker.join()
