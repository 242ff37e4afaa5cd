"""What the ingest API refuses before any route runs, and what it keeps out of its access log.

- DNS rebinding (the rule: core/hosts.py): the API answers only loopback (``localhost``,
  127.0.0.0/8, ``::1``), any IP address literal (an address cannot be re-pointed, so a
  rebinding page never has one), and the names in INGEST_ALLOWED_HOSTS (comma-separated;
  ``*`` turns the check off). Ports are not compared. Others get 421, a missing or
  malformed Host 400.
- Keys in the query string (``?api_key=...``): refused with 400 (a query string is written
  to access logs and proxies' logs); keys go in ``Authorization``/``X-API-Key``.
- The access log (uvicorn's ``uvicorn.access`` logger) shows query parameters' names, never
  their values: those can be keys sent by mistake, or user ids.
"""
from __future__ import annotations

import json
import logging
import re
from urllib.parse import parse_qsl

from core import hosts
from core.hosts import HostPolicy

log = logging.getLogger(__name__)

SECRET_PARAM = re.compile(r"(?i)^(?:api[_-]?key|key|token|access[_-]?token|secret|password|auth(?:orization)?)$")
KEY_IN_QUERY = ("API keys are not accepted in the query string (it ends up in access logs): send "
                "'Authorization: Bearer <key>' or 'X-API-Key: <key>', and replace this key if it was real")


def host_policy(configured: str | None) -> HostPolicy:
    """INGEST_ALLOWED_HOSTS as a policy (loopback, any IP address literal, the names; ``*``:
    any host); ValueError naming a bad entry."""
    return hosts.policy("INGEST_ALLOWED_HOSTS", configured, any_address=True)


def _header(scope, wanted: bytes) -> str | None:
    return next((v.decode("latin-1") for k, v in scope.get("headers", ()) if k == wanted), None)


class RequestGuard:
    """ASGI middleware: the Host check and the key-in-query refusal (module docstring)."""

    def __init__(self, app, policy: HostPolicy):
        self.app = app
        self.policy = policy
        self._logged: set[str] = set()

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        raw_host = _header(scope, b"host")
        name = hosts.host_name(raw_host)
        if name is None and not self.policy.any_host:
            return await _refuse(send, 400, "Host header missing or malformed: send the API's address as Host")
        if not self.policy.allows(raw_host):
            shown = name[:100]
            if shown not in self._logged and len(self._logged) < 1000:
                self._logged.add(shown)
                log.warning("refused a request for Host %r from %s (DNS rebinding protection); if clients reach "
                            "the API by that name, add it to INGEST_ALLOWED_HOSTS", shown,
                            (scope.get("client") or ("?",))[0])
            return await _refuse(send, 421, f"this API does not answer to Host {shown!r} (DNS rebinding "
                                            "protection): if clients reach it by that name, add the name to "
                                            "INGEST_ALLOWED_HOSTS")
        query = scope.get("query_string", b"").decode("latin-1")
        if query and any(SECRET_PARAM.match(k) for k, _ in parse_qsl(query, keep_blank_values=True)):
            return await _refuse(send, 400, KEY_IN_QUERY)
        return await self.app(scope, receive, send)


async def _refuse(send, status: int, detail: str) -> None:
    body = json.dumps({"detail": detail}).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]})
    await send({"type": "http.response.body", "body": body})


def without_query_values(path: str) -> str:
    """``/chat?user_id=abc&api_key=s3cret`` -> ``/chat?user_id=…&api_key=…``."""
    base, sep, query = path.partition("?")
    if not sep:
        return path
    return base + "?" + "&".join(part.split("=", 1)[0] + ("=…" if "=" in part else "") for part in query.split("&"))


class AccessLogFilter(logging.Filter):
    """On ``uvicorn.access``: the request path's query values are replaced by ``…``."""

    def filter(self, record: logging.LogRecord) -> bool:
        args = record.args
        if isinstance(args, tuple) and len(args) >= 3 and isinstance(args[2], str):
            record.args = (*args[:2], without_query_values(args[2]), *args[3:])
        return True


ACCESS_LOG_FILTER = AccessLogFilter()
