"""Servers the tests start as real processes (`python -m dashboard serve`, `streamlit run`):
a free port, waiting until one answers its health route, stopping it."""
from __future__ import annotations

import signal
import socket
import subprocess
import time
import urllib.request
from pathlib import Path


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_healthy(url: str, proc: subprocess.Popen, timeout: float = 60, log_path: Path | None = None) -> None:
    """Return once `url`/_stcore/health answers 200; AssertionError (with the server's log,
    when given) if the process exits first or `timeout` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"the server exited early with code {proc.returncode}"
                                 + (": " + log_path.read_text(errors="replace") if log_path else ""))
        try:
            with urllib.request.urlopen(url + "/_stcore/health", timeout=2) as r:
                if r.status == 200:
                    return
        except OSError:
            time.sleep(0.3)
    raise AssertionError(f"the server did not answer on {url} within {timeout}s")


def stop(proc: subprocess.Popen, timeout: float = 15) -> None:
    """SIGTERM (a graceful stop, which every served command promises), then kill after
    `timeout` seconds and fail: a server that ignores SIGTERM is a defect the test reports."""
    proc.send_signal(signal.SIGTERM)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(timeout=timeout)
        raise AssertionError(f"{proc.args!r} did not stop within {timeout:g} s of SIGTERM (killed)") from None
