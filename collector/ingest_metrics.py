"""The ingest API's own metrics (``GET /metrics``, Prometheus text format) and readiness
(``GET /healthz``): requests and errors by route and status, request seconds, chat items by
outcome. Each app has its own registry (tests make many apps in one process).

``MetricsMiddleware`` is the app's outermost middleware, so it also counts what
collector/ingest_guard.py refuses before any route runs (421, 400: route ``other``). The
route label is the route's template (``/chat/bulk``), never the raw path, so a scanner's
random paths cannot grow the label set: every path no route matched is ``other``."""
from __future__ import annotations

import time

from prometheus_client import CollectorRegistry, Counter, Histogram, disable_created_metrics

PREFIX = "chzzk_ingest_"
disable_created_metrics()  # no *_created series: half of the page, and no scraper here uses them
OTHER = "other"


class IngestMetrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(PREFIX + "requests", "HTTP requests answered, by route, method and status.",
                                ["route", "method", "status"], registry=self.registry)
        self.errors = Counter(PREFIX + "errors", "HTTP requests answered with an error (status 400 and above), "
                              "by route and status.", ["route", "status"], registry=self.registry)
        self.seconds = Histogram(PREFIX + "request_duration_seconds", "Seconds from a request's start to its "
                                 "answer's end, by route.", ["route"], registry=self.registry,
                                 buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30))
        self.items = Counter(PREFIX + "items", "Chat items posted, by outcome: saved, duplicates, dropped "
                             "(opted-out users), refused (bad items, kept as dead letters).", ["result"],
                             registry=self.registry)
        for result in ("saved", "duplicates", "dropped", "refused"):
            self.items.labels(result)  # present at 0 before the first post

    def count_items(self, **by_result: int) -> None:
        for result, n in by_result.items():
            if n:
                self.items.labels(result).inc(n)

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        self.requests.labels(route, method, str(status)).inc()
        if status >= 400:
            self.errors.labels(route, str(status)).inc()
        self.seconds.labels(route).observe(seconds)


class MetricsMiddleware:
    """ASGI middleware: every HTTP request observed once its answer has started (an
    exception that escapes the app counts as 500)."""

    def __init__(self, app, metrics: IngestMetrics):
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope, receive, send):
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        t0 = time.monotonic()
        status = 500

        async def send_status(message):
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_status)
        finally:
            route = scope.get("route")  # set by the router when a route matched (FastAPI's APIRoute)
            path = getattr(route, "path", None) or OTHER
            method = scope.get("method", "")
            self.metrics.observe(path, method if method in _METHODS else OTHER, status, time.monotonic() - t0)


_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
