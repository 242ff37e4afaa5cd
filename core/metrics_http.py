"""Machine-readable health for the long-running processes: a small HTTP server for
``/metrics`` (Prometheus text format, from a prometheus-client registry) and ``/healthz``
(200 and a small JSON body when ready, 503 with the reasons otherwise), the PostgreSQL
probe both health routes use, and the atomic textfile writer of the cron runs' metrics.

The server (collector/run.py serves it on COLLECTOR_METRICS_ADDRESS:COLLECTOR_METRICS_PORT)
answers only GET (405 otherwise) and, like the ingest API and the dashboard, only the hosts
its policy allows (core/hosts.py: loopback, IP address literals, configured names): a wrong
Host gets 421, a missing or malformed one 400, even on loopback (DNS rebinding). It runs in
daemon threads: a slow scrape never holds up the process, and it never stops it."""
from __future__ import annotations

import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Iterable
from socketserver import ThreadingMixIn
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server

import psycopg2
from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

from core import files, hosts
from core.hosts import HostPolicy
from core.redact import redact

log = logging.getLogger(__name__)

PROBE_TIMEOUT_SECONDS = 3  # the health probe's connect timeout: a health check must answer quickly
JSON = "application/json"
Page = tuple[int, str, bytes]  # status, content type, body
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            421: "Misdirected Request", 500: "Internal Server Error", 503: "Service Unavailable"}


def pg_probe(url: str, timeout: int = PROBE_TIMEOUT_SECONDS) -> str | None:
    """None when PostgreSQL at `url` answers ``SELECT 1`` within `timeout` seconds, else why
    not (one line, secrets redacted). One probe at a time per process, and a request is given
    the answer of a probe that began after it arrived, when there is one: a burst of /healthz
    requests opens two connections at most, not one each, and no answer predates its request
    (an outage shows at the next request)."""
    asked = time.monotonic()
    with _probe_lock:
        began, answer = _probed.get(url, (float("-inf"), None))
        if began < asked:
            began = time.monotonic()
            answer = _probe(url, timeout)
            _probed[url] = (began, answer)
        return answer


def _probe(url: str, timeout: int) -> str | None:
    try:
        conn = psycopg2.connect(url, connect_timeout=timeout, application_name="chzzk-healthz")
    except psycopg2.Error as exc:
        return "PostgreSQL unreachable: " + " ".join(redact(str(exc), url).split())[:300]
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT 1")
        return None
    except psycopg2.Error as exc:
        return "PostgreSQL failed: " + " ".join(redact(str(exc), url).split())[:300]
    finally:
        conn.close()


_probe_lock = threading.Lock()
_probed: dict[str, tuple[float, str | None]] = {}  # url -> (when the last probe began, its answer)


def health_page(reasons: list[str], **details) -> Page:
    """/healthz's answer: 200 ``{"status": "ok", ...details}`` without reasons, else 503
    ``{"status": "unavailable", "reasons": [...], ...details}``."""
    if reasons:
        body = {"status": "unavailable", "reasons": reasons, **details}
        return 503, JSON, json.dumps(body).encode()
    return 200, JSON, json.dumps({"status": "ok", **details}).encode()


def family(prefix: str, metric, value):
    """One metric family from a declaration (`metric`: ``name``, ``counter``, ``help``,
    ``label``) and its `value`: a number, or with a label a {label value: number} dict
    (sorted by label value); None or {} gives the family without a sample."""
    kind = CounterMetricFamily if metric.counter else GaugeMetricFamily
    out = kind(prefix + metric.name, metric.help, labels=[metric.label] if metric.label else None)
    if metric.label:
        for key, v in sorted((value or {}).items()):
            out.add_metric([str(key)], v)
    elif value is not None:
        out.add_metric([], value)
    return out


class _Families:
    """A prometheus-client collector: the families `collect()` gives, made at each scrape."""

    def __init__(self, collect: Callable[[], Iterable]):
        self._collect = collect

    def collect(self):
        yield from self._collect()


def registry(collect: Callable[[], Iterable]) -> CollectorRegistry:
    """A registry holding only the families `collect()` makes (called at each scrape)."""
    reg = CollectorRegistry(auto_describe=False)
    reg.register(_Families(collect))
    return reg


def exposition(collect: Callable[[], Iterable]) -> str:
    """The families `collect()` makes, in the Prometheus text format (0.0.4)."""
    return generate_latest(registry(collect)).decode()


def metrics_page(registry: CollectorRegistry) -> Page:
    """The registry in the text format 0.0.4 (what every Prometheus since 2.0 reads)."""
    return 200, CONTENT_TYPE_PLAIN_0_0_4, generate_latest(registry)


def write_textfile(path: str | os.PathLike, text: str) -> None:
    """`text` to `path` whole or not at all (files.replace_text), so a scraper
    (node_exporter's textfile collector) never reads half a file; the mode follows the umask
    (node_exporter runs as another user). The folder must exist."""
    files.replace_text(path, text)


def _answer(start_response, status: int, content_type: str, body: bytes, extra=()) -> list[bytes]:
    start_response(f"{status} {_REASONS.get(status, '')}".rstrip(),
                   [("Content-Type", content_type), ("Content-Length", str(len(body))),
                    ("Cache-Control", "no-store"), *extra])
    return [body]


def wsgi_app(routes: dict[str, Callable[[], Page]], policy: HostPolicy, setting: str):
    """The WSGI application: the Host check, GET only, then the route's page."""
    def app(environ, start_response):
        raw_host = environ.get("HTTP_HOST")
        if not policy.allows(raw_host):
            name = hosts.host_name(raw_host)
            if name is None:
                detail = "Host header missing or malformed"
                return _answer(start_response, 400, JSON, json.dumps({"detail": detail}).encode())
            detail = (f"this server does not answer to Host {name[:100]!r} (DNS rebinding protection): if "
                      f"scrapers reach it by that name, add the name to {setting}")
            return _answer(start_response, 421, JSON, json.dumps({"detail": detail}).encode())
        if environ.get("REQUEST_METHOD") != "GET":
            return _answer(start_response, 405, JSON, b'{"detail": "only GET is answered"}', [("Allow", "GET")])
        route = routes.get(environ.get("PATH_INFO", ""))
        if route is None:
            body = json.dumps({"detail": "not found; try " + " or ".join(sorted(routes))}).encode()
            return _answer(start_response, 404, JSON, body)
        try:
            status, content_type, body = route()
        except Exception:  # noqa: BLE001 - a broken page must not end the server thread silently
            log.exception("%s failed", environ.get("PATH_INFO"))
            return _answer(start_response, 500, JSON, b'{"detail": "internal error (see the log)"}')
        return _answer(start_response, status, content_type, body)
    return app


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _QuietHandler(WSGIRequestHandler):
    def log_message(self, format, *args):  # noqa: A002 - the base class's name
        pass  # scrapes every 15 s are not worth a log line each


class Server:
    """A started server (``start``): its ``port`` (the one bound when 0 was asked) and
    ``close``."""

    def __init__(self, httpd: WSGIServer, thread: threading.Thread):
        self._httpd, self._thread = httpd, thread
        self.address, self.port = httpd.server_address[:2]

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)


def start(address: str, port: int, routes: dict[str, Callable[[], Page]], policy: HostPolicy,
          setting: str) -> Server:
    """Serve `routes` on address:port in a daemon thread; OSError when it cannot bind.
    `setting`: the allowed-hosts setting a 421 answer names."""
    server_class = _Server
    if ":" in address:  # an IPv6 literal
        server_class = type("_Server6", (_Server,), {"address_family": socket.AF_INET6})
    httpd = make_server(address, port, wsgi_app(routes, policy, setting), server_class, _QuietHandler)
    thread = threading.Thread(target=httpd.serve_forever, name="metrics-http", daemon=True)
    thread.start()
    return Server(httpd, thread)
