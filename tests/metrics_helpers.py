"""The operator's view of /metrics, /healthz and the metrics textfiles, for the tests: the real
``curl`` binary, and Prometheus text read by prometheus-client's own parser."""
from __future__ import annotations

import socket
import subprocess

from prometheus_client.parser import text_string_to_metric_families


def curl(url: str, *, host: str | None = None, method: str = "GET", timeout: float = 20) -> tuple[int, str]:
    """(status, body) of `url` fetched by curl (`host`: the Host header sent instead)."""
    cmd = ["curl", "-sS", "--max-time", str(timeout), "-X", method, "-o", "-", "-w", "\n%{http_code}", url]
    if host is not None:
        cmd[1:1] = ["-H", f"Host: {host}"]
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout + 10)
    assert done.returncode == 0, f"curl {url}: {done.stderr}"
    body, _, status = done.stdout.rpartition("\n")
    return int(status), body


def samples(text: str) -> dict[tuple[str, frozenset], float]:
    """{(sample name, its labels): value} of Prometheus text (parsed by prometheus-client)."""
    return {(s.name, frozenset(s.labels.items())): s.value
            for family in text_string_to_metric_families(text) for s in family.samples}


def value(found: dict, name: str, **labels: str) -> float:
    return found[(name, frozenset(labels.items()))]


def free_port() -> int:
    """A loopback port that was free a moment ago."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]
