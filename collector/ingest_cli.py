"""``python -m collector api [--host 127.0.0.1] [--port 8000]``: serve the ingest API
(collector/ingest_api.py) with uvicorn. Without any key (``python -m collector api-keys``
or INGEST_API_KEY) it only listens on a loopback address; secrets are never logged."""
from __future__ import annotations

import argparse
import ipaddress
import logging
import threading

import uvicorn

from collector import api_keys, ingest_guard
from collector.ingest_api import create_app
from core import db, settings
from core.stopping import stop_signals

log = logging.getLogger(__name__)

DEFAULT_PORT = 8000  # the desktop viewer's default server address is http://localhost:8000


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (127.0.0.0/8, ::1); a name other than
    localhost counts as reachable from elsewhere."""
    if host.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"port (default {DEFAULT_PORT})")


def run(args: argparse.Namespace) -> int:
    stop = threading.Event()
    with stop_signals(stop.set):  # SIGTERM as Ctrl-C, from the start: exit 0 and the embedded PostgreSQL stopped
        app = build_app(args)
        if not stop.is_set():  # uvicorn stops itself on a signal and raises it again: handled here
            uvicorn.run(app, host=args.host, port=args.port, log_config=None, server_header=False)
    log.info("ingest API stopped")
    return 0


def build_app(args: argparse.Namespace):
    """The ingest API's ASGI app, after the checks that refuse to serve (keys file, host
    policy, a key to listen beyond loopback) and a first connection to PostgreSQL."""
    legacy = [k for k in (settings.get("INGEST_API_KEY") or "").split(",") if k.strip()]
    path = api_keys.keys_file()
    try:
        named = api_keys.load(path)
        ingest_guard.host_policy(settings.get("INGEST_ALLOWED_HOSTS"))
    except ValueError as exc:  # KeysError too
        raise SystemExit(f"collector api: {exc}") from None
    if not (named or legacy) and not is_loopback(args.host):
        raise SystemExit(f"collector api: refusing to listen on {args.host} without INGEST_API_KEY or a key "
                         "(add one with `python -m collector api-keys add`, or listen on 127.0.0.1)")
    url = db.database_url()
    db.connect(url).close()  # fail now on a wrong DATABASE_URL; later outages answer 503
    app = create_app(url, legacy, keys_file=path)
    if legacy:
        log.warning("INGEST_API_KEY holds %d unscoped key(s): each reads and writes every channel; give each "
                    "viewer its own key (`python -m collector api-keys add NAME --channels ID --write`) and "
                    "unset INGEST_API_KEY", len(legacy))
    n = len(named) + len(legacy)
    log.info("ingest API on http://%s:%d (OpenAPI page /docs); %s", args.host, args.port,
             f"{n} API key(s) accepted ({len(named)} from {path})" if n else "no API key asked (loopback only)")
    return app
