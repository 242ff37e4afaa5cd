"""Which `Host` the dashboard answers (against DNS rebinding; the rule: core/hosts.py), and
the ASGI middleware that `python -m dashboard serve` puts in front of Streamlit.

The allow-list (docs/DASHBOARD_ACCESS.md):
- always: loopback — ``localhost``, 127.0.0.0/8, ``::1``;
- with accounts (the dashboard then listens on DASHBOARD_ADDRESS, 0.0.0.0 by default):
  also any IP address literal (a rebinding page needs a name; an address cannot be
  re-pointed) and this machine's host name and FQDN;
- plus the names in DASHBOARD_ALLOWED_HOSTS (comma-separated; ``*`` turns the check off).
A name a reverse proxy passes through (``Host: dash.example.org``) must be listed. Ports
are not compared. Other hosts get 421 and a line in the server's log.

A hand-started ``streamlit run`` has no middleware; there login.gate applies the same
allow-list to the `Host` of the page's websocket (st.context.headers), so the app draws
nothing for a foreign one. The middleware also refuses Streamlit's ``/_stcore/metrics``
(it answers anyone, and says how many sessions and how much cache the server holds).
"""
from __future__ import annotations

import functools
import logging
import socket
from collections.abc import Iterable

from core import hosts as core_hosts
from core.hosts import HostPolicy

log = logging.getLogger(__name__)

METRICS_PATH = "/_stcore/metrics"
REFUSED_HOST = "421 Misdirected Request: this dashboard does not answer to that host name.\n"
REFUSED_METRICS = "403 Forbidden: metrics are not served.\n"


@functools.cache
def machine_names() -> tuple[str, ...]:
    """This machine's host name and FQDN (looked up once: getfqdn may ask DNS)."""
    return (socket.gethostname(), socket.getfqdn())


def policy(has_accounts: bool, configured: str | None, own_names: Iterable[str] | None = None) -> HostPolicy:
    """The allow-list for a dashboard with or without accounts and DASHBOARD_ALLOWED_HOSTS
    `configured` (ValueError naming a bad entry); `own_names` (default: machine_names())
    are allowed when accounts exist."""
    own = (own_names if own_names is not None else machine_names()) if has_accounts else ()
    return core_hosts.policy("DASHBOARD_ALLOWED_HOSTS", configured, any_address=has_accounts, own_names=own)


class HostGuard:
    """ASGI middleware: refuse requests and websocket handshakes whose `Host` the policy
    does not allow (421; a websocket is closed before it is accepted, which uvicorn sends
    as 403), and Streamlit's metrics route (403)."""

    def __init__(self, app, policy: HostPolicy):
        self.app = app
        self.policy = policy
        self._logged: set[str] = set()

    async def __call__(self, scope, receive, send):
        if scope["type"] not in ("http", "websocket"):
            return await self.app(scope, receive, send)
        host = next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == b"host"), None)
        if not self.policy.allows(host):
            self._log_once(host, scope)
            return await _refuse(scope, send, 421, REFUSED_HOST)
        path = "/" + "/".join(p for p in scope.get("path", "").split("/") if p)  # //x/ is /x
        if path.endswith(METRICS_PATH):  # under any server.baseUrlPath
            return await _refuse(scope, send, 403, REFUSED_METRICS)
        return await self.app(scope, receive, send)

    def _log_once(self, host: str | None, scope) -> None:
        key = (host or "")[:100]
        if key in self._logged or len(self._logged) > 1000:
            return
        self._logged.add(key)
        client = (scope.get("client") or ("?",))[0]
        log.warning("refused a request for Host %r from %s (DNS rebinding protection); if that is this "
                    "dashboard's name, add it to DASHBOARD_ALLOWED_HOSTS", key, client)


async def _refuse(scope, send, status: int, text: str) -> None:
    if scope["type"] == "websocket":
        await send({"type": "websocket.close", "code": 1008})
        return
    body = text.encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"text/plain; charset=utf-8"),
                            (b"content-length", str(len(body)).encode()),
                            (b"x-content-type-options", b"nosniff")]})
    await send({"type": "http.response.body", "body": body})
