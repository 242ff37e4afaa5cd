"""Cookies and chat access tokens never reach the logs, even at DEBUG."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from collector.sim.server import SimServer
from tests.conftest import DATA

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(90)]
ROOT = DATA.parent.parent
COOKIE_AUT, COOKIE_SES = "AUT-marker-7f3a9c", "SES-marker-51be02"


def test_cookies_and_tokens_never_logged(pg_url, tmp_path):
    sim = SimServer(channels=2, seed=5, rate=10.0, ping_seconds=2.0)
    sim.start_in_thread(port=0)
    try:
        env = {**os.environ, **sim.env(), "DATABASE_URL": pg_url, "LOG_LEVEL": "DEBUG",
               "POLL_SECONDS": "2", "FLUSH_SECONDS": "1", "PYTHONUNBUFFERED": "1",
               "CHZZK_NID_AUT": COOKIE_AUT, "CHZZK_NID_SES": COOKIE_SES}
        proc = subprocess.Popen([sys.executable, "-m", "collector", "run", "--duration", "8s"], cwd=ROOT,
                                env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            time.sleep(4)
            requests.get(sim.env()["CHZZK_API_BASE"] + "/_sim/drop", timeout=5)  # rejoin: fresh tokens
            out, err = proc.communicate(timeout=60)
        finally:
            proc.kill()
        tokens = {t for lv in sim._lives for t in lv.tokens}
    finally:
        sim.stop()
    assert proc.returncode == 0, err[-2000:]
    assert "joined chat of" in err  # the run really connected, so tokens were in play
    assert len(tokens) >= 2
    logs = out + err
    assert COOKIE_AUT not in logs and COOKIE_SES not in logs
    leaked = [t for t in tokens if t in logs]
    assert not leaked, f"{len(leaked)} access token(s) in the logs"
