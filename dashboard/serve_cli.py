"""`python -m dashboard serve [--port P]`: run `streamlit run dashboard/streamlit_app.py`.
With no accounts configured it binds 127.0.0.1 whatever DASHBOARD_ADDRESS says (there is
no login then); with accounts, DASHBOARD_ADDRESS (default 0.0.0.0)."""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from core import settings
from dashboard import accounts

log = logging.getLogger(__name__)
APP = Path(__file__).resolve().parent / "streamlit_app.py"
LOOPBACK = "127.0.0.1"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")


def bind_address(has_accounts: bool, configured: str | None) -> str:
    """Where to listen: loopback without accounts; else the configured address (0.0.0.0)."""
    if not has_accounts:
        return LOOPBACK
    return configured or "0.0.0.0"


def command(address: str, port: int) -> list[str]:
    return [sys.executable, "-m", "streamlit", "run", str(APP), "--server.headless", "true",
            "--server.address", address, "--server.port", str(port),
            "--browser.gatherUsageStats", "false"]


def run(args: argparse.Namespace) -> int:
    found = accounts.load()  # a broken file stops here, with what to fix
    configured = settings.get("DASHBOARD_ADDRESS")
    address = bind_address(bool(found), configured)
    # warn only when someone asked for that address (the setting's default is not a request)
    if not found and os.environ.get("DASHBOARD_ADDRESS") and configured != LOOPBACK:
        log.warning("DASHBOARD_ADDRESS=%s ignored: no accounts in %s, so the dashboard has no login "
                    "and is served on %s only (add one: python -m dashboard accounts add)",
                    configured, accounts.accounts_file(), LOOPBACK)
    log.info("serving the dashboard on http://%s:%d (%d account(s))", address, args.port, len(found))
    cmd = command(address, args.port)
    logging.shutdown()  # flush: exec replaces this process with streamlit, so signals
    os.execv(cmd[0], cmd)  # (Ctrl-C, make demo's SIGTERM) reach the server itself
