"""systemd's readiness and watchdog protocol (sd_notify(3)) without a dependency: one
datagram to the AF_UNIX socket named by $NOTIFY_SOCKET ('@' at the start: Linux's abstract
namespace). Without $NOTIFY_SOCKET (not under systemd, or not Type=notify) every call does
nothing, so commands call it unconditionally."""
from __future__ import annotations

import logging
import os
import socket
import threading
import time

log = logging.getLogger(__name__)


def notify(*states: str) -> bool:
    """Send 'READY=1', 'WATCHDOG=1', 'STOPPING=1', 'STATUS=…' (one datagram, newline-joined).
    True when sent; False without $NOTIFY_SOCKET or when the send failed (logged at DEBUG:
    a service manager that went away must not stop the command)."""
    address = os.environ.get("NOTIFY_SOCKET")
    if not address or not states:
        return False
    if address[0] == "@":  # abstract namespace: a leading NUL byte instead of '@'
        address = "\0" + address[1:]
    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC) as sock:
            sock.connect(address)
            sock.sendall("\n".join(states).encode("utf-8"))
        return True
    except OSError as exc:
        log.debug("sd_notify to %s failed: %s", address, exc)
        return False


def watchdog_seconds() -> float | None:
    """How often to send WATCHDOG=1: half of $WATCHDOG_USEC (systemd sets it from WatchdogSec=),
    as sd_watchdog_enabled(3) advises; None when no watchdog is asked for this process
    ($WATCHDOG_PID names another one, or the value is missing or not a positive number)."""
    pid = os.environ.get("WATCHDOG_PID")
    if pid and pid.strip() != str(os.getpid()):
        return None
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec / 2e6 if usec > 0 else None


def wait(stop: threading.Event, seconds: float | None = None, alive=lambda: True) -> None:
    """A command's main loop: return once `stop` is set or `seconds` (None: no limit) have
    passed, sending WATCHDOG=1 every `watchdog_seconds()` meanwhile while `alive()` holds (a
    dead worker stops the pings, so systemd restarts the service after WatchdogSec)."""
    every = watchdog_seconds()
    deadline = None if seconds is None else time.monotonic() + seconds
    while True:
        left = None if deadline is None else deadline - time.monotonic()
        if left is not None and left <= 0:
            return
        step = every if left is None else left if every is None else min(every, left)
        if stop.wait(step):
            return
        if every is not None and alive():
            notify("WATCHDOG=1")
