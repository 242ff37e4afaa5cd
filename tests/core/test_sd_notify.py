"""core/sd_notify against a real AF_UNIX datagram socket named by a path (the abstract
'@' form is what tests/core/test_sigterm_e2e.py gives a running collector): the datagram,
the watchdog interval systemd asks for, and the main-loop wait that feeds it only while the
command's workers are alive."""
from __future__ import annotations

import os
import socket
import threading

import pytest

from core import sd_notify

pytestmark = pytest.mark.unit


@pytest.fixture
def notify_path(tmp_path, monkeypatch):
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(str(tmp_path / "notify"))
        sock.settimeout(2)
        monkeypatch.setenv("NOTIFY_SOCKET", str(tmp_path / "notify"))
        yield sock


def test_states_arrive_as_one_datagram(notify_path, monkeypatch):
    assert sd_notify.notify("READY=1", "STATUS=collecting 2 channel(s)")
    assert notify_path.recv(4096) == b"READY=1\nSTATUS=collecting 2 channel(s)"
    monkeypatch.delenv("NOTIFY_SOCKET")
    assert not sd_notify.notify("READY=1")  # not under systemd: nothing to do


@pytest.mark.parametrize("usec, pid, seconds", [("2000000", None, 1.0), ("2000000", "self", 1.0),
                                                ("2000000", "1", None), ("0", None, None), ("x", None, None),
                                                (None, None, None)])
def test_watchdog_interval_is_half_of_what_systemd_asks(usec, pid, seconds, monkeypatch):
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", str(os.getpid()) if pid == "self" else pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert sd_notify.watchdog_seconds() == seconds


@pytest.mark.parametrize("alive", [True, False])
def test_wait_feeds_the_watchdog_only_while_alive(alive, notify_path, monkeypatch):
    monkeypatch.setenv("WATCHDOG_USEC", "100000")  # every 0.05 s
    sd_notify.wait(threading.Event(), 0.3, alive=lambda: alive)  # returns at the end of its time
    notify_path.settimeout(0.2)
    got = []
    try:
        while True:
            got.append(notify_path.recv(64))
    except TimeoutError:
        pass
    assert (len(got) >= 2 and set(got) == {b"WATCHDOG=1"}) if alive else got == []
