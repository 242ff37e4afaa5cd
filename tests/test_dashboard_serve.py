"""`python -m dashboard serve` for real: the address the server listens on, read from the
kernel's socket table (/proc/net/tcp), with and without accounts."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard import accounts

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parent.parent


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> set[str]:
    """The IPv4 addresses something listens on at `port` (state 0A = LISTEN)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        host, _, hex_port = local.partition(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(host)[::-1]))
    return found


def _serve(tmp_path: Path, address_setting: str | None, logs: list[str] | None = None) -> set[str]:
    port = _free_port()
    env = {**os.environ, "WAREHOUSE_DIR": str(tmp_path / "lake"), "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    env.pop("DASHBOARD_ADDRESS", None)
    if address_setting is not None:
        env["DASHBOARD_ADDRESS"] = address_setting
    log = (tmp_path / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "dashboard", "serve", "--port", str(port)], cwd=REPO,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    return _listening(port)
            except OSError:
                time.sleep(0.3)
        raise AssertionError("dashboard serve did not answer within 60 s")
    finally:
        proc.send_signal(signal.SIGTERM)  # streamlit runs in this process: it stops on SIGTERM
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()
        if logs is not None:
            logs.append((tmp_path / f"serve-{port}.log").read_text(errors="replace"))


def test_without_accounts_only_loopback_even_when_asked_for_more(tmp_path):
    logs: list[str] = []
    assert _serve(tmp_path, "0.0.0.0", logs) == {"127.0.0.1"}
    assert "DASHBOARD_ADDRESS=0.0.0.0 ignored" in logs[0]  # the request is refused out loud


def test_without_accounts_and_no_address_asked_no_warning(tmp_path):
    logs: list[str] = []
    assert _serve(tmp_path, None, logs) == {"127.0.0.1"}
    assert "ignored" not in logs[0]


def test_with_accounts_the_configured_address(tmp_path):
    accounts.save({"boss": accounts.Account("boss", "admin", password=accounts.hash_password("x" * 8, n=2**10))})
    assert _serve(tmp_path, "0.0.0.0") == {"0.0.0.0"}


def test_broken_accounts_file_stops_serve_with_what_to_fix(tmp_path):
    accounts.accounts_file().write_text('[[account]]\nname = "x"\nrole = "root"\n')
    out = subprocess.run([sys.executable, "-m", "dashboard", "serve", "--port", str(_free_port())], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "role 'root'" in out.stderr
