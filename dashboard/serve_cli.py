"""`python -m dashboard serve [--port P]`: dashboard/streamlit_app.py served by Streamlit in
this process, after a warm-up. With no accounts configured it binds 127.0.0.1 whatever
DASHBOARD_ADDRESS says (there is no login then); with accounts, DASHBOARD_ADDRESS
(default 0.0.0.0).

It serves the app as an ``st.App`` (Streamlit's ASGI app, the documented way to add
middleware) with dashboard.hosts.HostGuard in front: requests and websockets for a `Host`
outside the allow-list get 421 (DNS rebinding), and ``/_stcore/metrics`` is refused. Behind
it dashboard.web_auth.AuthEndpoints signs visitors in and out with an HttpOnly cookie
(``/_dash/sign-in``, ``/_dash/sign-out``) and sends signed-out page visits to the first.
A page's exception shows no traceback or message to visitors (``client.showErrorDetails``
from DASHBOARD_ERROR_DETAILS, default ``none``; the log has the traceback).

The warm-up runs before the server listens: it imports what the pages import (polars,
DuckDB, pyarrow, Altair and the dashboard's modules, about a second), opens the lake's
views and reads the channel list and date range the sidebar shows, so the first visitor
after a restart does not wait for these. It then asks the default page's (the Overview's)
questions once with the answers discarded (data.load_accelerators): the accelerators they
read are loaded, and the first visit still runs its queries, on them. After it the
warm-up's objects are frozen out of
the garbage collector's sight (gc.freeze), and Streamlit watches no source files: both
cost CPU on every page visit, not once."""
from __future__ import annotations

import argparse
import gc
import importlib
import logging
import os
import sys
import threading
import time
from pathlib import Path

from core import settings
from core.stopping import stop_signals
from dashboard import accounts, hosts, sessions, web_auth

log = logging.getLogger(__name__)
APP = Path(__file__).resolve().parent / "streamlit_app.py"
LOOPBACK = "127.0.0.1"
# what the app's pages import, slowest first (dashboard/app_pages/*.py)
WARM_MODULES = ("altair", "polars", "duckdb", "pyarrow", "pyarrow.parquet", "warehouse.api", "dashboard.data",
                "dashboard.charts", "dashboard.summaries", "dashboard.login", "dashboard.urlpick",
                "dashboard.app_pages.widgets")
QUIET = ("caching.cache_data_api", "scriptrunner_utils.script_run_context")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--port", type=int, default=8501, help="port to listen on (default 8501)")
    parser.add_argument("--no-warm-up", action="store_true",
                        help="start listening at once (the first visit then imports and opens the lake)")


def bind_address(has_accounts: bool, configured: str | None) -> str:
    """Where to listen: loopback without accounts; else the configured address (0.0.0.0)."""
    if not has_accounts:
        return LOOPBACK
    return configured or "0.0.0.0"


ERROR_DETAILS = ("none", "type", "stacktrace", "full")  # client.showErrorDetails values


def streamlit_config(address: str, port: int, error_details: str | None = "none") -> dict:
    """The Streamlit options the app is served with (as `streamlit run` flags would set them).
    `error_details` (DASHBOARD_ERROR_DETAILS): what a page's exception shows visitors."""
    details = (error_details or "none").strip().lower()
    if details not in ERROR_DETAILS:
        raise SystemExit(f"DASHBOARD_ERROR_DETAILS={error_details!r}: use one of {', '.join(ERROR_DETAILS)} "
                         "(none outside development: a traceback shows paths and source lines)")
    # no file watcher: a served dashboard does not reload on source edits, and Streamlit's
    # watcher re-walks every imported module's path after each script run and polls them
    # (measured: ~0.3 s of the server's CPU a page visit, 3-5x the rest of a warm visit)
    return {"server.headless": True, "server.address": address, "server.port": port,
            "server.fileWatcherType": "none", "server.runOnSave": False,
            "browser.gatherUsageStats": False, "client.showErrorDetails": details}


def warm_up() -> float:
    """Import the pages' modules, open the lake and read its catalog (its channels and
    days, which every page's sidebar shows): dashboard.data keeps both in
    st.cache_resource, where the app's sessions then find them. Seconds taken. Anything
    that fails here is logged and left to the pages, which show it to the visitor."""
    started = time.monotonic()
    import streamlit  # noqa: F401  (its loggers are set up on import)
    # Streamlit's caches used before its runtime exists say so: expected here
    quiet = [logging.getLogger("streamlit.runtime." + name) for name in QUIET]
    levels = [q.level for q in quiet]
    for q in quiet:
        q.setLevel(logging.ERROR)
    try:
        for name in WARM_MODULES:
            importlib.import_module(name)
        from dashboard import data
        root = data.root()
        data.channels(root)  # opens the lake (the shared Warehouse) and reads its catalog
        data.bounds(root)
        data.load_accelerators(root)  # the Overview's questions once, answers discarded
    except Exception as exc:  # the server must start anyway; the page says what is wrong
        log.warning("warm-up stopped (the first visit will do it): %s", exc)
    finally:
        for q, level in zip(quiet, levels, strict=True):
            q.setLevel(level)
    return time.monotonic() - started


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    with stop_signals(stop.set):  # SIGTERM as Ctrl-C from the start (warm-up included): exit 0, not 143
        app, config = prepare(args)
        if not stop.is_set():  # uvicorn's run loop stops on a signal and raises it again: handled here
            app.run(config=config)
    log.info("dashboard stopped")
    return 0


def prepare(args: argparse.Namespace):
    """(the st.App to serve, its Streamlit config), after the warm-up."""
    found = accounts.load()  # a broken file stops here, with what to fix
    configured = settings.get("DASHBOARD_ADDRESS")
    address = bind_address(bool(found), configured)
    # warn only when someone asked for that address (the setting's default is not a request)
    if not found and os.environ.get("DASHBOARD_ADDRESS") and configured != LOOPBACK:
        log.warning("DASHBOARD_ADDRESS=%s ignored: no accounts in %s, so the dashboard has no login "
                    "and is served on %s only (add one: python -m dashboard accounts add)",
                    configured, accounts.accounts_file(), LOOPBACK)
    config = streamlit_config(address, args.port, settings.get("DASHBOARD_ERROR_DETAILS"))
    try:
        guard = hosts.policy(bool(found), settings.get("DASHBOARD_ALLOWED_HOSTS"))
    except ValueError as exc:
        raise SystemExit(str(exc)) from None
    if not args.no_warm_up:
        log.info("warmed up in %.2fs (modules imported, lake opened, its channels read)", warm_up())
        # what the warm-up made (~290k objects: the modules' classes, functions, schemas) lives
        # as long as the server: out of the garbage collector's sight, Streamlit's full
        # collection after every script run (runner.postScriptGC) costs ~0 s instead of ~0.14 s
        gc.freeze()
    log.info("serving the dashboard on http://%s:%d (%d account(s)); Host allowed: %s", address, args.port,
             len(found), describe(guard))
    import streamlit as st
    from starlette.middleware import Middleware
    sessions.session_seconds()  # a bad DASHBOARD_SESSION_HOURS stops the start, not a sign-in
    if found:
        sessions.secret_key()  # made now, not by two first sign-ins at once
    web_auth.ACTIVE = True  # the app reads the sign-in from the middleware's cookie
    app = st.App(str(APP), middleware=[Middleware(hosts.HostGuard, policy=guard),  # the Host first
                                       Middleware(web_auth.AuthEndpoints)])
    sys.argv = [str(APP)]  # the script Streamlit anchors its config and secrets on, as `streamlit run` does
    return app, config


def describe(guard: hosts.HostPolicy) -> str:
    """The allow-list in words, for the start-up log line."""
    if guard.any_host:
        return "any (DASHBOARD_ALLOWED_HOSTS=*)"
    parts = ["loopback"] + (["IP addresses"] if guard.any_address else []) + sorted(guard.names)
    return ", ".join(parts)
