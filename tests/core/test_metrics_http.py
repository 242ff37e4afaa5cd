"""core/metrics_http.py's server (the collector's /metrics and /healthz) as a client sees it
over a real loopback socket: the Host rule even on loopback, GET only, unknown paths, a page
that fails, and the textfile written whole."""
from __future__ import annotations

import json
import socket
from concurrent.futures import ThreadPoolExecutor

import pytest

from core import hosts, metrics_http

pytestmark = pytest.mark.unit


def _raw(port: int, request: bytes) -> tuple[int, bytes]:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall(request)
        data = b""
        while chunk := s.recv(65536):
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    return int(head.split()[1]), body


@pytest.fixture
def server():
    def broken():
        raise RuntimeError("boom")

    routes = {"/healthz": lambda: metrics_http.health_page([]),
              "/down": lambda: metrics_http.health_page(["PostgreSQL unreachable: no"]),
              "/broken": broken}
    policy = hosts.policy("X_ALLOWED_HOSTS", "scrape.example", any_address=True)
    srv = metrics_http.start("127.0.0.1", 0, routes, policy, "X_ALLOWED_HOSTS")
    yield srv
    srv.close()


def test_host_rule_methods_and_pages(server):
    port = server.port
    get = b"GET %s HTTP/1.0\r\nHost: %s\r\n\r\n"
    assert _raw(port, get % (b"/healthz", b"127.0.0.1")) == (200, b'{"status": "ok"}')
    assert _raw(port, get % (b"/healthz", b"scrape.example:9464"))[0] == 200  # a configured name
    assert _raw(port, get % (b"/healthz", b"10.1.2.3"))[0] == 200  # an address literal cannot be re-pointed
    status, body = _raw(port, get % (b"/healthz", b"evil.example"))
    assert status == 421 and "X_ALLOWED_HOSTS" in json.loads(body)["detail"]
    assert _raw(port, b"GET /healthz HTTP/1.0\r\n\r\n")[0] == 400  # no Host at all
    assert _raw(port, b"POST /healthz HTTP/1.0\r\nHost: localhost\r\nContent-Length: 0\r\n\r\n")[0] == 405
    assert _raw(port, b"HEAD /healthz HTTP/1.0\r\nHost: localhost\r\n\r\n")[0] == 405
    status, body = _raw(port, get % (b"/down", b"localhost"))
    assert status == 503 and json.loads(body) == {"status": "unavailable", "reasons": ["PostgreSQL unreachable: no"]}
    assert _raw(port, get % (b"/nowhere", b"localhost"))[0] == 404
    assert _raw(port, get % (b"/broken", b"localhost"))[0] == 500
    assert _raw(port, get % (b"/healthz", b"localhost"))[0] == 200, "a failing page does not stop the server"


def test_a_port_in_use_is_an_oserror(server):
    with pytest.raises(OSError):
        metrics_http.start("127.0.0.1", server.port, {}, hosts.HostPolicy(), "X")


def test_probe_says_why_without_the_password():
    why = metrics_http.pg_probe("postgresql://bob:s3cret-pw@127.0.0.1:1/x", timeout=2)
    assert why.startswith("PostgreSQL unreachable: ") and "s3cret-pw" not in why
    why = metrics_http.pg_probe("postgresql://bob:s3cret-pw%zz@127.0.0.1:1/x", timeout=2)  # libpq quotes it
    assert why.startswith("PostgreSQL unreachable: invalid dsn") and "s3cret-pw" not in why


def test_textfile_is_replaced_whole(tmp_path):
    path = tmp_path / "x.prom"
    metrics_http.write_textfile(path, "a 1\n")
    metrics_http.write_textfile(path, "a 2\n")
    assert path.read_text() == "a 2\n" and [p.name for p in tmp_path.iterdir()] == ["x.prom"]
    with pytest.raises(OSError):
        metrics_http.write_textfile(tmp_path / "missing" / "x.prom", "a 1\n")


def test_a_burst_of_health_probes_shares_the_probes_and_none_predates_its_request():
    """A listener that takes connections and never answers (PostgreSQL hung): eight probes
    at once connect at most twice (the first; then one begun after the other seven arrived,
    whose answer they share), while a probe asked after the last one began connects again."""
    accepted = []
    with socket.create_server(("127.0.0.1", 0)) as listener:
        listener.settimeout(0.2)
        url = f"postgresql://bob:s3cret-pw@127.0.0.1:{listener.getsockname()[1]}/x?sslmode=disable"

        def accept_all():
            while True:
                try:
                    conn, _ = listener.accept()
                except TimeoutError:
                    return
                accepted.append(1)
                conn.close()

        with ThreadPoolExecutor(8) as pool:
            answers = list(pool.map(lambda _: metrics_http.pg_probe(url, timeout=2), range(8)))
        accept_all()
        assert 1 <= len(accepted) <= 2 and len(set(answers)) == 1
        assert answers[0].startswith("PostgreSQL unreachable: ") and "s3cret-pw" not in answers[0]
        before = len(accepted)
        metrics_http.pg_probe(url, timeout=2)
        accept_all()
        assert len(accepted) == before + 1
