"""`python -m collector run` as a user runs it, for the end-to-end tests (test_collector_e2e,
test_durability_e2e, test_flood_e2e), and the simulator they run it against: one way to
start both, the settings each test changes given as arguments; and stopping a process as
systemd does (SIGTERM), killing it when it hangs so that one hang fails one test."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from collector.sim.server import SimServer

ROOT = Path(__file__).resolve().parent.parent


def start_sim(tmp_path: Path, **options) -> SimServer:
    """The simulator over loopback (ping every 3 s, its truth file in `tmp_path`), started."""
    server = SimServer(**{"truth_path": str(tmp_path / "truth.jsonl"), "ping_seconds": 3.0, **options})
    server.start_in_thread(port=0)
    return server


def start_collector(url: str, sim: SimServer, *args: str, flush_seconds: float = 2, flush_max: int = 1000,
                    spool_dir: Path | None = None, log_path: Path | None = None, stdout_to_log: bool = True,
                    **env: str) -> subprocess.Popen:
    """The collector (``args``: `collector run`'s options) against `sim` into `url`.
    Without `log_path` its output is piped (text); with it, appended to that file (a file,
    not a pipe: nothing blocks on a full pipe), stdout too unless `stdout_to_log` is False.
    ``env``: more settings (POLL_SECONDS is 2 here)."""
    full = {**os.environ, **sim.env(), "DATABASE_URL": url, "FLUSH_SECONDS": str(flush_seconds),
            "FLUSH_MAX_EVENTS": str(flush_max), "POLL_SECONDS": "2", "LOG_LEVEL": "INFO", "PYTHONUNBUFFERED": "1",
            **({"SPOOL_DIR": str(spool_dir)} if spool_dir is not None else {}), **env}
    cmd = [sys.executable, "-m", "collector", "run", *args]
    if log_path is None:
        return subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with open(log_path, "a", encoding="utf-8") as log:
        return subprocess.Popen(cmd, cwd=ROOT, env=full, stdout=log if stdout_to_log else subprocess.DEVNULL,
                                stderr=log, text=True)


def terminate(proc: subprocess.Popen, timeout: float = 60) -> tuple[str, str]:
    """SIGTERM `proc` and wait up to `timeout` seconds for it to exit: its (stdout, stderr)
    when piped (else empty). A process still running then is killed and reaped, and the
    test fails (AssertionError with the end of its stderr), not the suite after it."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        out, err = proc.communicate()
        raise AssertionError(f"pid {proc.pid} did not exit within {timeout:.0f}s of SIGTERM; killed. "
                             f"stderr: {(err or '')[-2000:]}") from None
    return out or "", err or ""


def leftovers(group: int, marker: str) -> list[str]:
    """Processes still running from process group `group` (a command started with
    start_new_session=True, and its children) or whose command line holds `marker` (a data
    folder: an embedded PostgreSQL started by pg_ctl leaves the group). Read from /proc."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:  # exited meanwhile
            continue
        fields = stat.rsplit(")", 1)[1].split()  # after "(comm)": state, ppid, pgrp, ...
        if fields[0] != "Z" and (int(fields[2]) == group or marker in cmdline):
            found.append(f"{entry.name}: {cmdline}")
    return found
