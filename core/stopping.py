"""SIGTERM stops a long-running command as cleanly as Ctrl-C (issue 19): what systemd, `kill`
and container runtimes send ends the command through its normal path (final flush, the
embedded PostgreSQL stopped by the last process using it), exit 0, instead of Python's
default for SIGTERM (killed at once: exit 143, no `finally`, no atexit)."""
from __future__ import annotations

import contextlib
import logging
import signal
from collections.abc import Callable, Iterator

log = logging.getLogger(__name__)
SIGNALS = (signal.SIGINT, signal.SIGTERM)


@contextlib.contextmanager
def stop_signals(on_stop: Callable[[], None] | None = None) -> Iterator[None]:
    """While inside, SIGINT and SIGTERM are logged and call `on_stop` (when given) instead of
    ending the process; the handlers before are restored on leaving. Main thread only.

    A server that installs its own handlers inside (uvicorn: `collector api`, `dashboard
    serve`) stops itself, restores these and raises the signal again when it has stopped:
    it then lands here and the command returns normally, where without this uvicorn's
    re-raised SIGTERM would kill the process before its cleanup."""
    def handler(signum, _frame) -> None:
        log.info("received %s; stopping", signal.Signals(signum).name)
        if on_stop is not None:
            on_stop()

    previous = {s: signal.signal(s, handler) for s in SIGNALS}
    try:
        yield
    finally:
        for s, old in previous.items():
            signal.signal(s, old)
