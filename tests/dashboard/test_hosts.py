"""The Host allow-list rule (core/hosts.py, pure; the ingest API's over HTTP:
tests/collector/test_ingest_hostile.py), the dashboard's policy (dashboard/hosts.py) and what `python -m dashboard
serve` tells Streamlit (error details off); a page's exception seen through AppTest with
the project's .streamlit/config.toml. Over real HTTP: tests/dashboard/test_serve.py."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from core.hosts import host_name
from dashboard import hosts, serve_cli

OWN = ("dash-box", "dash-box.lan.example")


@pytest.mark.unit
@pytest.mark.parametrize(("header", "name"), [
    ("127.0.0.1:8501", "127.0.0.1"), ("LocalHost", "localhost"), ("localhost.:80", "localhost"),
    ("[::1]:8501", "::1"), ("[::1]", "::1"), ("::1", "::1"), ("", None), (None, None), ("[::1", None),
    ("[::1]x", None), ("a:b:c", "a:b:c"), (" evil.example ", "evil.example"), ("[]", None),
    ("evil.example/x", None), ("user@evil.example", None), ("a b", None), ("x?y", None),
])
def test_host_name_from_the_header(header, name):
    assert host_name(header) == name


@pytest.mark.unit
@pytest.mark.parametrize(("accounts", "configured", "header", "allowed"), [
    # without accounts: loopback and configured names only
    (False, None, "127.0.0.1:8501", True), (False, None, "localhost", True), (False, None, "[::1]:1", True),
    (False, None, "127.8.9.10", True), (False, None, "evil.example", False), (False, None, "10.0.0.5", False),
    (False, None, "0.0.0.0:8501", False), (False, None, "localhost.evil.example", False),
    (False, None, "127.0.0.1.evil.example", False), (False, None, "dash-box", False), (False, None, None, False),
    (False, "dash.example.org, other.example:8443", "Dash.Example.org:443", True),
    (False, "dash.example.org", "evil.example", False), (False, "*", "evil.example", True),
    # with accounts: also IP address literals (they cannot be re-pointed) and this machine's names
    (True, None, "10.0.0.5:8501", True), (True, None, "[2001:db8::1]:8501", True), (True, None, "dash-box", True),
    (True, None, "dash-box.lan.example:8501", True), (True, None, "evil.example", False),
    (True, None, "10.0.0.5.evil.example", False), (True, None, "", False),
    (True, "dash.example.org", "dash.example.org", True),
])
def test_host_allow_list(accounts, configured, header, allowed):
    assert hosts.policy(accounts, configured, own_names=OWN).allows(header) is allowed


@pytest.mark.unit
def test_a_bad_allowed_hosts_setting_says_what_is_wrong():
    with pytest.raises(ValueError, match=r"DASHBOARD_ALLOWED_HOSTS: '\[oops' is not a host name"):
        hosts.policy(False, "ok.example, [oops")


@pytest.mark.unit
def test_serve_hides_error_details_unless_asked(monkeypatch):
    config = serve_cli.streamlit_config("127.0.0.1", 8600)
    assert config["client.showErrorDetails"] == "none"
    assert (config["server.address"], config["server.port"], config["server.headless"]) == ("127.0.0.1", 8600, True)
    assert config["server.fileWatcherType"] == "none"  # no source watching in a served dashboard (CPU per visit)
    assert serve_cli.streamlit_config("127.0.0.1", 1, "Full")["client.showErrorDetails"] == "full"
    with pytest.raises(SystemExit, match="DASHBOARD_ERROR_DETAILS='yes': use one of none, type"):
        serve_cli.streamlit_config("127.0.0.1", 1, "yes")


def _page_that_fails():
    raise RuntimeError("detail only for the log: /srv/secret/path.py")


@pytest.mark.e2e
def test_a_page_exception_shows_visitors_no_traceback_or_message():
    """.streamlit/config.toml (read by a hand-started `streamlit run` too) hides them."""
    at = AppTest.from_function(_page_that_fails).run()
    shown = at.exception[0]
    assert "secret" not in shown.message and not shown.stack_trace
    assert "RuntimeError" not in shown.message
