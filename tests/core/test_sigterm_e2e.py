"""SIGTERM (what systemd, `kill` and container runtimes send) stops every long-running
command as cleanly as Ctrl-C (issue 19): each exits 0 after its final flush and leaves no
process behind, the embedded PostgreSQL included. The commands that use the embedded
server by default (no DATABASE_URL) run on a throwaway data folder; before each start its
handle list names a process that died without letting go (a kill -9), which must not keep
the server running. The collector also speaks systemd's notify protocol to a real datagram
socket: READY=1, WATCHDOG=1 from its main loop, STOPPING=1."""
from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

import pytest

from tests.collector_process import ROOT, leftovers, start_sim, terminate
from tests.served_process import free_port
from tests.waiting import wait_for

pytestmark = pytest.mark.e2e
STOP_SECONDS = 60


def _get(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as r:
            return r.status == 200
    except OSError:
        return False


def _log_has(path: Path, pattern: str):
    return re.search(pattern, path.read_text(errors="replace")) if path.exists() else None


class Command(NamedTuple):
    argv: list[str]  # after `python -m`; {port} is a free port
    ready: Callable  # (port, log path, sim) -> truthy once it serves
    stopped: str  # what its log says after a clean stop
    embedded_pg: bool = False  # starts the embedded PostgreSQL (no DATABASE_URL)


COMMANDS = {
    "collector run": Command(
        ["collector", "run"],
        lambda port, log, sim: _log_has(log, r"collecting [1-9]\d* channel") and sim.truth_count > 20,
        r"summary: [1-9]\d* chat rows inserted", embedded_pg=True),  # FLUSH_SECONDS=300: the final flush's rows
    "collector api": Command(
        ["collector", "api", "--port", "{port}"],
        lambda port, log, sim: _get(f"http://127.0.0.1:{port}/openapi.json"), r"ingest API stopped", embedded_pg=True),
    "dashboard serve": Command(
        ["dashboard", "serve", "--port", "{port}", "--no-warm-up"],
        lambda port, log, sim: _get(f"http://127.0.0.1:{port}/_stcore/health"), r"dashboard stopped"),
    "warehouse schedule": Command(
        ["warehouse", "schedule", "--now"],  # one sync first, on the embedded server
        lambda port, log, sim: _log_has(log, r"warehouse sync scheduled"), r"warehouse sync schedule stopped",
        embedded_pg=True),
    "simulator": Command(
        ["collector", "sim", "--port", "0"], lambda port, log, sim: _log_has(log, r"CHZZK_API_BASE="),
        r"simulator stopped"),
}


@pytest.fixture(scope="module")
def data_dir():
    """One data folder for every command (its embedded PostgreSQL is made once). Outside
    pytest's own temporary folder, as tests/conftest.py's server: run as root, the server
    runs as the package's `pgserver` user, and another pytest session resets
    /tmp/pytest-of-root to owner-only under it."""
    path = Path(tempfile.mkdtemp(prefix="sigterm"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="module")
def sim(data_dir):
    server = start_sim(data_dir, channels=2, rate=20.0)
    yield server
    server.stop()


@pytest.fixture
def notify_socket():
    """A datagram socket in the abstract namespace, as NOTIFY_SOCKET ('@name') names it."""
    name = f"chzzk-test-{os.getpid()}-{time.monotonic_ns()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.setblocking(False)
        yield "@" + name, sock


def _received(sock: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.extend(sock.recv(4096).decode().split("\n"))
        except BlockingIOError:
            return messages


def _leftovers_after(group: int, marker: str, seconds: float) -> list[str]:
    """What is still running `seconds` after the command exited (none expected: the embedded
    server is stopped with `pg_ctl -w`); killed here so that a failure leaks nothing."""
    deadline = time.monotonic() + seconds
    while (left := leftovers(group, marker)) and time.monotonic() < deadline:
        time.sleep(0.2)
    for line in left:
        with contextlib.suppress(OSError):
            os.kill(int(line.split(":")[0]), signal.SIGKILL)
    return left


def _dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.parametrize("name", list(COMMANDS))
def test_sigterm_stops_cleanly(name, data_dir, sim, notify_socket, tmp_path):
    argv, ready, stopped, embedded_pg = COMMANDS[name]
    port = free_port()
    pg = data_dir / "pg"
    if embedded_pg and (pg / "PG_VERSION").exists():  # a killed process still listed as using the server
        (pg / ".handle_pids.json").write_text(json.dumps([_dead_pid()]))
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "NOTIFY_SOCKET", "WATCHDOG_PID")}
    env.update(sim.env(), DATA_DIR=str(data_dir), WAREHOUSE_DIR=str(data_dir / "lake"),
               SPOOL_DIR=str(data_dir / "spool"), FLUSH_SECONDS="300", POLL_SECONDS="2", LOG_LEVEL="INFO",
               PYTHONUNBUFFERED="1", NOTIFY_SOCKET=notify_socket[0], WATCHDOG_USEC="400000",
               COLLECTOR_METRICS_PORT=str(free_port()))  # its /metrics server stops too
    log = tmp_path / "out.log"
    with open(log, "w", encoding="utf-8") as out:
        proc = subprocess.Popen([sys.executable, "-m", *[a.format(port=port) for a in argv]], cwd=ROOT, env=env,
                                stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        wait_for(lambda: ready(port, log, sim) or proc.poll() is not None, 120, f"{name} to serve")
        assert proc.poll() is None, log.read_text(errors="replace")[-3000:]
        if name == "collector run":
            time.sleep(0.5)  # a watchdog interval (WATCHDOG_USEC/2) past READY=1
    finally:
        terminate(proc, STOP_SECONDS)
    text = log.read_text(errors="replace")
    assert proc.returncode == 0, text[-3000:]
    assert re.search(stopped, text), text[-3000:]
    left = _leftovers_after(proc.pid, str(data_dir), 5)
    assert not left, left
    if embedded_pg:  # no process listed as using it, the dead one included: the server was stopped
        assert json.loads((pg / ".handle_pids.json").read_text() or "[]") == []
        assert (data_dir / ".pg.lock").exists()  # the start lock in the data folder, not a private /tmp
    if name == "collector run":
        states = _received(notify_socket[1])
        assert "READY=1" in states and "WATCHDOG=1" in states, states
        assert states.index("READY=1") < states.index("WATCHDOG=1") < states.index("STOPPING=1"), states
