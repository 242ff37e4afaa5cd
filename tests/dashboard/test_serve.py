"""`python -m dashboard serve` for real: the address the server listens on, read from the
kernel's socket table (/proc/net/tcp), with and without accounts; and over HTTP, the Host
allow-list (DNS rebinding) on its routes and websocket, and the refused metrics route; and a
hand-started `streamlit run`, whose app refuses a foreign Host itself."""
from __future__ import annotations

import base64
import http.client
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from dashboard import accounts
from dashboard.i18n import t
from tests.served_process import free_port, stop, wait_healthy

pytestmark = pytest.mark.integration
REPO = Path(__file__).resolve().parents[2]


def _listening(port: int) -> set[str]:
    """The IPv4 addresses something listens on at `port` (state 0A = LISTEN)."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        host, _, hex_port = local.partition(":")
        if state == "0A" and int(hex_port, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(host)[::-1]))
    return found


def _serve(tmp_path: Path, address_setting: str | None, logs: list[str] | None = None) -> set[str]:
    port = free_port()
    env = {**os.environ, "WAREHOUSE_DIR": str(tmp_path / "lake"), "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    env.pop("DASHBOARD_ADDRESS", None)
    if address_setting is not None:
        env["DASHBOARD_ADDRESS"] = address_setting
    log = (tmp_path / f"serve-{port}.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "dashboard", "serve", "--port", str(port)], cwd=REPO,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            assert proc.poll() is None, (tmp_path / f"serve-{port}.log").read_text()
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2):
                    return _listening(port)
            except OSError:
                time.sleep(0.3)
        raise AssertionError("dashboard serve did not answer within 60 s")
    finally:
        stop(proc)  # streamlit runs in this process: it stops on SIGTERM
        log.close()
        if logs is not None:
            logs.append((tmp_path / f"serve-{port}.log").read_text(errors="replace"))


def test_without_accounts_only_loopback_even_when_asked_for_more(tmp_path):
    logs: list[str] = []
    assert _serve(tmp_path, "0.0.0.0", logs) == {"127.0.0.1"}
    assert "DASHBOARD_ADDRESS=0.0.0.0 ignored" in logs[0]  # the request is refused out loud


def test_without_accounts_and_no_address_asked_no_warning(tmp_path):
    logs: list[str] = []
    assert _serve(tmp_path, None, logs) == {"127.0.0.1"}
    assert "ignored" not in logs[0]


def test_with_accounts_the_configured_address(tmp_path):
    accounts.save({"boss": accounts.Account("boss", "admin", password=accounts.hash_password("x" * 8, n=2**10))})
    assert _serve(tmp_path, "0.0.0.0") == {"0.0.0.0"}


def test_broken_accounts_file_stops_serve_with_what_to_fix(tmp_path):
    accounts.accounts_file().write_text('[[account]]\nname = "x"\nrole = "root"\n')
    out = subprocess.run([sys.executable, "-m", "dashboard", "serve", "--port", str(free_port())], cwd=REPO,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 1 and "role 'root'" in out.stderr


# ---- one served dashboard for the HTTP checks: Host allow-list, metrics -------------------

@pytest.fixture(scope="module")
def served(tmp_path_factory):
    """(port, log file) of one `python -m dashboard serve` without accounts (so loopback
    only), shared by the HTTP checks below. Its DISPLAY_TZ is mistyped, so every page fails
    (what a visitor then sees is one of the checks)."""
    own = tmp_path_factory.mktemp("served")
    port = free_port()
    env = {**os.environ, "WAREHOUSE_DIR": str(own / "lake"), "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none",
           "DASHBOARD_ACCOUNTS_FILE": str(own / "accounts.toml"), "DASHBOARD_AUDIT_FILE": str(own / "audit.jsonl"),
           "DISPLAY_TZ": "Mars/Olympus_Mons"}
    for name in ("DASHBOARD_ADDRESS", "DASHBOARD_ALLOWED_HOSTS", "DASHBOARD_ERROR_DETAILS"):
        env.pop(name, None)
    log_path = own / "serve.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "dashboard", "serve", "--port", str(port), "--no-warm-up"],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, log_path=log_path)
        yield port, log_path
    finally:
        stop(proc)


def _get(port: int, path: str, host: str) -> tuple[int, bytes]:
    """(status, body) of GET `path` sent with this Host header (0: not answering yet)."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("GET", path, headers={"Host": host})
        response = conn.getresponse()
        return response.status, response.read()
    except OSError:
        return 0, b""
    finally:
        conn.close()


def _handshake(port: int, host: str, path: str = "/_stcore/stream") -> int:
    """The status of a websocket opening handshake for `path` with this Host (101: opened)."""
    with socket.create_connection(("127.0.0.1", port), timeout=10) as s:
        s.sendall((f"GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {base64.b64encode(os.urandom(16)).decode()}\r\n"
                   "Sec-WebSocket-Version: 13\r\nSec-WebSocket-Protocol: streamlit\r\n\r\n").encode())
        status_line = s.recv(4096).split(b"\r\n", 1)[0]
    return int(status_line.split()[1])


LOOPBACK_HOSTS = ("127.0.0.1:{port}", "localhost:{port}", "[::1]:{port}", "localhost", "127.0.0.2", "LOCALHOST.")
FOREIGN_HOSTS = ("evil.example", "evil.example:{port}", "127.0.0.1.evil.example", "localhost.evil.example",
                 "0.0.0.0:{port}", "10.0.0.5", "", "[::1]x")
ROUTES = ("/", "/_stcore/health", "/_stcore/host-config", "/some/page", "/_dash/sign-in")


def test_foreign_host_is_refused_on_every_route_and_loopback_answers(served):
    port, log_path = served
    for route in ROUTES:
        for host in FOREIGN_HOSTS:
            status, body = _get(port, route, host.format(port=port))
            assert status == 421 and b"does not answer" in body, (route, host, status)
        for host in LOOPBACK_HOSTS:
            assert _get(port, route, host.format(port=port))[0] == 200, (route, host)
    assert "refused a request for Host 'evil.example'" in log_path.read_text()


def test_foreign_host_cannot_open_the_websocket(served):
    port, _ = served
    for host in FOREIGN_HOSTS:
        assert _handshake(port, host.format(port=port)) != 101, host
    for host in LOOPBACK_HOSTS:
        assert _handshake(port, host.format(port=port)) == 101, host


def _post(port: int, path: str, host: str, kind: str, body: bytes) -> int:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        conn.request("POST", path, body=body, headers={"Host": host, "Content-Type": kind})
        return conn.getresponse().status
    finally:
        conn.close()


def test_the_sign_in_endpoint_checks_host_content_type_and_csrf(served):
    """Over real HTTP (the unit checks: tests/dashboard/test_sessions.py): a foreign Host is
    refused before the endpoint, a JSON body is refused, a form without its CSRF cookie too."""
    port, _ = served
    form = b"name=boss&password=x&csrf=abc&next=%2F"
    assert _post(port, "/_dash/sign-in", "evil.example", "application/x-www-form-urlencoded", form) == 421
    assert _post(port, "/_dash/sign-in", f"127.0.0.1:{port}", "application/json", b"{}") == 415
    assert _post(port, "/_dash/sign-in", f"127.0.0.1:{port}", "application/x-www-form-urlencoded", form) == 403
    assert _post(port, "/_dash/sign-out", f"127.0.0.1:{port}", "text/plain", form) == 415


def test_metrics_are_refused(served):
    port, _ = served
    for path in ("/_stcore/metrics", "//_stcore/metrics", "/_stcore/metrics/", "/_stcore//metrics",
                 "/_stcore/metrics?families=session_events"):
        status, body = _get(port, path, f"127.0.0.1:{port}")
        assert status == 403 and b"metrics" in body and b"session" not in body, (path, status)
    assert _get(port, "/_stcore/health", f"127.0.0.1:{port}")[0] == 200  # the health check stays


def test_a_failing_page_shows_visitors_no_details(served):
    port, log_path = served
    shown = "\n".join(_page_texts(port, f"127.0.0.1:{port}"))
    assert "This app has encountered an error" in shown  # Streamlit's generic words
    for detail in ("Mars", "ZoneInfo", "Error", "Traceback", str(REPO), ".py"):
        assert detail not in shown, detail
    assert "Mars/Olympus_Mons" in log_path.read_text()  # the operator's log has it


# ---- a hand-started `streamlit run`: no middleware, the app itself refuses ------------------

@pytest.fixture(scope="module")
def hand_started(tmp_path_factory):
    """The port of `streamlit run dashboard/streamlit_app.py` as a user starts it by hand
    (the DESIGN's command), without accounts, over an empty lake."""
    own = tmp_path_factory.mktemp("hand")
    port = free_port()
    env = {**os.environ, "WAREHOUSE_DIR": str(own / "lake"), "DASHBOARD_ACCOUNTS_FILE": str(own / "accounts.toml"),
           "DASHBOARD_AUDIT_FILE": str(own / "audit.jsonl")}
    env.pop("DASHBOARD_ALLOWED_HOSTS", None)
    log_path = own / "streamlit.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "streamlit", "run", "dashboard/streamlit_app.py",
                                 "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port",
                                 str(port), "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
                                cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", proc, log_path=log_path)
        yield port
    finally:
        proc.kill()  # nothing of it to keep
        proc.wait(timeout=15)


def _page_texts(port: int, host: str) -> list[str]:
    """The texts of the elements one run of the app sends over its websocket to a browser
    that reached it as `host` (Streamlit's own protocol: a rerun BackMsg, ForwardMsgs back)."""
    import websocket
    from streamlit.proto.BackMsg_pb2 import BackMsg
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg

    ws = websocket.create_connection(f"ws://127.0.0.1:{port}/_stcore/stream", host=host, subprotocols=["streamlit"],
                                     suppress_origin=True, timeout=30)
    try:
        rerun = BackMsg()
        rerun.rerun_script.query_string = ""
        ws.send_binary(rerun.SerializeToString())
        texts = []
        while True:
            msg = ForwardMsg()
            msg.ParseFromString(ws.recv())
            if msg.WhichOneof("type") == "script_finished":
                return texts
            if msg.WhichOneof("type") == "delta" and msg.delta.WhichOneof("type") == "new_element":
                element = msg.delta.new_element
                kind = element.WhichOneof("type")
                if kind == "exception":
                    texts.append("\n".join([element.exception.type, element.exception.message,
                                            *element.exception.stack_trace]).strip())
                else:
                    texts.append(str(getattr(getattr(element, kind), "body", "")))
    finally:
        ws.close()


def test_a_hand_started_streamlit_run_shows_a_foreign_host_nothing(hand_started):
    own = _page_texts(hand_started, f"127.0.0.1:{hand_started}")
    assert t("app_title") in own and t("empty_lake") in own  # the page, as usual
    foreign = _page_texts(hand_started, "evil.example")
    assert t("app_title") not in foreign and t("empty_lake") not in foreign
    assert [x for x in foreign if x] == [t("login_wrong_host")]  # and the language select box
