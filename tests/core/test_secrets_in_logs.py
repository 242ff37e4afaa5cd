"""Cookies, chat access tokens and database passwords never reach the logs or the
terminal, even at DEBUG and whatever shape a malformed DATABASE_URL has."""
from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest
import requests

from collector.sim.server import SimServer
from tests.conftest import DATA

ROOT = DATA.parent.parent
COOKIE_AUT, COOKIE_SES = "AUT-marker-7f3a9c", "SES-marker-51be02"


@pytest.mark.e2e
@pytest.mark.timeout(90)
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
        tokens = set(sim.issued_tokens)
    finally:
        sim.stop()
    assert proc.returncode == 0, err[-2000:]
    assert "joined chat of" in err  # the run really connected, so tokens were in play
    assert len(tokens) >= 2
    logs = out + err
    assert COOKIE_AUT not in logs and COOKIE_SES not in logs
    leaked = [t for t in tokens if t in logs]
    assert not leaked, f"{len(leaked)} access token(s) in the logs"


PW = "Zq8-hunter2PW"  # recognisable; every case below must keep it out of stdout and stderr
PW_FORMS = (PW, PW.replace("-", "%2D"))  # as written, and percent-encoded
BAD_URLS = {
    "refused": f"postgresql://bob:{PW}@127.0.0.1:1/x",
    "bad port": f"postgresql://bob:{PW}@127.0.0.1:notaport/x",
    "port out of range": f"postgresql://bob:{PW}@127.0.0.1:99999/x",
    "bad scheme": f"mysql://bob:{PW}@127.0.0.1:1/x",
    "scheme typo": f"postgresql:/bob:{PW}@127.0.0.1:1/x",
    "bad percent-encoding": f"postgresql://bob:{PW}%zz@127.0.0.1:1/x",
    "trailing percent": f"postgresql://bob:{PW}%@127.0.0.1:1/x",
    "encoded password": "postgresql://bob:" + PW.replace("-", "%2D") + "%zz@127.0.0.1:1/x",
    "unknown host": f"postgresql://bob:{PW}@no-such-host.invalid:5432/x",
    "query password": f"postgresql://bob@127.0.0.1:1/x?password={PW}&bogus=1",
    "query password only": f"postgresql://bob@127.0.0.1:1/x?password={PW}",
    "unclosed IPv6": f"postgresql://bob:{PW}@[::1:1/x",
    "@ and / in password": f"postgresql://bob:{PW}@a/b@127.0.0.1:1/x",
    "space in password": f"postgresql://bob:{PW} x@127.0.0.1:1/x",
    "bad sslmode": f"postgresql://bob:{PW}@127.0.0.1:1/x?sslmode=bogus",
    "password alone": PW,
    "conninfo": f"host=127.0.0.1 port=1 user=bob password={PW}",
    "conninfo unknown key": f"host=127.0.0.1 password={PW} bogus=1",
    "conninfo unclosed quote": f"host=127.0.0.1 password='{PW}",
    "conninfo no equals": f"host=127.0.0.1 {PW}",
}
COMMANDS = [("warehouse", ["sync"]), ("warehouse", ["forget-user", "u1"]), ("collector", ["status"]),
            ("collector", ["channels", "list"])]


@pytest.mark.unit
@pytest.mark.parametrize("url", list(BAD_URLS.values()), ids=list(BAD_URLS))
def test_malformed_database_url_never_printed(url, monkeypatch, capsys, caplog, tmp_path):
    """Each CLI that connects, called in-process (1 subprocess per case would cost ~1 s)."""
    import importlib

    from core.cli import main

    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("LOG_LEVEL", "DEBUG")
    caplog.set_level("DEBUG")
    for prog, argv in COMMANDS:
        commands = importlib.import_module(f"{prog}.__main__").COMMANDS
        assert main(prog, "", commands, argv) == 1
        out, err = capsys.readouterr()
        assert f"{prog} {argv[0]}: error: PostgreSQL:" in err, err
        assert not [p for p in PW_FORMS if p in out + err + caplog.text], f"{prog} {argv[0]}: {err}"
        caplog.clear()
    # the dashboard's "today's data" reads PostgreSQL through the same door and shows its error
    from warehouse.lake.layout import Lake
    from warehouse.read import live

    overlay, info = live.load(Lake(str(tmp_path)))
    assert overlay is None and info["error"] and not [p for p in PW_FORMS if p in info["error"] + caplog.text]


@pytest.mark.e2e
@pytest.mark.parametrize("module,argv", [("warehouse", ["sync"]), ("collector", ["status"])])
def test_malformed_database_url_never_printed_by_the_process(module, argv):
    """The real stderr of a process at DEBUG (traceback included), percent-encoding case."""
    env = {**os.environ, "DATABASE_URL": BAD_URLS["bad percent-encoding"], "LOG_LEVEL": "DEBUG",
           "CHZZK_NID_AUT": COOKIE_AUT}
    res = subprocess.run([sys.executable, "-m", module, *argv], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 1 and "Traceback" in res.stderr  # the DEBUG traceback was printed ...
    assert PW not in res.stdout + res.stderr                   # ... without the password


@pytest.mark.unit
def test_redact_scrubs_known_secrets_and_secret_shapes(monkeypatch):
    from core.redact import redact

    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "aws-SECRET-77")
    monkeypatch.setenv("CHZZK_NID_SES", COOKIE_SES)
    monkeypatch.setenv("INGEST_API_KEY", "key-one-111, key-two-222")
    monkeypatch.setenv("DATABASE_URL", f"postgresql://bob:{PW}@db/x")
    text = (f"a {PW} b aws-SECRET-77 c {COOKIE_SES} d key-two-222 e https://u:other-pw@h/ f"
            " ?api_key=k123&x=1 g password='p w' h token: \"tok-9\" i")
    got = redact(text)
    for secret in (PW, "aws-SECRET-77", COOKIE_SES, "key-two-222", "other-pw", "k123", "p w", "tok-9"):
        assert secret not in got, got
    assert got.startswith("a *** b") and "&x=1" in got and "https://u:***@h/" in got
    assert redact("sslmode=bogus at port 5432 for user bob") == "sslmode=bogus at port 5432 for user bob"
    assert redact(f"missing = after {PW[:5]}xyz", f"postgresql://bob:{PW[:5]}xyz@h/db") == "missing = after ***"
