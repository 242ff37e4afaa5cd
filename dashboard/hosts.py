"""Which `Host` the dashboard answers (against DNS rebinding), and the ASGI middleware that
`python -m dashboard serve` puts in front of Streamlit.

DNS rebinding: a web page on a name its author controls (evil.example) re-points that name
at 127.0.0.1; the victim's browser then treats the dashboard as part of that page's origin
and lets its script read every answer. The browser still sends ``Host: evil.example``, so a
server that answers only the names it is reached by cannot be read that way.

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
import ipaddress
import logging
import socket
from collections.abc import Iterable
from dataclasses import dataclass

log = logging.getLogger(__name__)

METRICS_PATH = "/_stcore/metrics"
REFUSED_HOST = "421 Misdirected Request: this dashboard does not answer to that host name.\n"
REFUSED_METRICS = "403 Forbidden: metrics are not served.\n"


def host_name(header: str | None) -> str | None:
    """The name or address in a `Host` header, lower case, without the port or the IPv6
    brackets; None when there is none or it is malformed."""
    if not header:
        return None
    value = header.strip().lower()
    if value.startswith("["):  # [v6]:port
        end = value.find("]")
        if end < 0 or (value[end + 1:] and not value[end + 1:].startswith(":")):
            return None
        return value[1:end] or None
    name, _, _port = value.partition(":") if value.count(":") == 1 else (value, "", "")
    name = name.rstrip(".")  # "localhost." is localhost
    return name or None


def _address(name: str) -> ipaddress.IPv4Address | ipaddress.IPv6Address | None:
    try:
        return ipaddress.ip_address(name.split("%", 1)[0])  # a v6 zone id is not part of it
    except ValueError:
        return None


def _is_loopback(name: str) -> bool:
    if name == "localhost":
        return True
    addr = _address(name)
    return addr is not None and addr.is_loopback


@dataclass(frozen=True)
class HostPolicy:
    """The names a dashboard answers to (see the module docstring)."""
    names: frozenset[str] = frozenset()  # exact names, lower case, besides loopback
    any_address: bool = False  # every IP address literal (accounts exist)
    any_host: bool = False  # DASHBOARD_ALLOWED_HOSTS=*: no check

    def allows(self, header: str | None) -> bool:
        """Whether a request with this `Host` header is answered."""
        if self.any_host:
            return True
        name = host_name(header)
        if name is None:
            return False
        if _is_loopback(name) or name in self.names:
            return True
        return self.any_address and _address(name) is not None


def parse_names(configured: str | None) -> list[str]:
    """DASHBOARD_ALLOWED_HOSTS as names (ports and brackets dropped, lower case)."""
    out = []
    for part in (configured or "").split(","):
        part = part.strip()
        if part == "*":
            out.append("*")
        elif part:
            name = host_name(part)
            if name is None:
                raise ValueError(f"DASHBOARD_ALLOWED_HOSTS: {part!r} is not a host name")
            out.append(name)
    return out


@functools.cache
def machine_names() -> tuple[str, ...]:
    """This machine's host name and FQDN (looked up once: getfqdn may ask DNS)."""
    return (socket.gethostname(), socket.getfqdn())


def policy(has_accounts: bool, configured: str | None, own_names: Iterable[str] | None = None) -> HostPolicy:
    """The allow-list for a dashboard with or without accounts and DASHBOARD_ALLOWED_HOSTS
    `configured`; `own_names` (default: machine_names()) are allowed when accounts exist."""
    names = parse_names(configured)
    if "*" in names:
        return HostPolicy(any_host=True)
    if has_accounts:
        own = own_names if own_names is not None else machine_names()
        names += [n.lower().rstrip(".") for n in own if n]
    return HostPolicy(frozenset(names), any_address=has_accounts)


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
