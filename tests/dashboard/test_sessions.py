"""Sign-in cookies and share links (dashboard/sessions.py): signing, expiry, tampering,
revocation by sign-out, account removal, password change and key rotation; the accounts
CLI's part; OIDC configuration and mapping (dashboard/login.py, accounts.by_identity); and
the served sign-in endpoints (dashboard/web_auth.py behind hosts.HostGuard) over ASGI:
Host, content type, origin, CSRF, cookie flags, the redirect of signed-out page visits.
In a real browser: tests/dashboard/test_browser_auth.py."""
from __future__ import annotations

import base64
import json
import re
import stat
import warnings

import pytest
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from dashboard import accounts, accounts_cli, hosts, login, sessions, web_auth

with warnings.catch_warnings():  # starlette 1.10 would rather have httpx2; httpx is what is installed
    warnings.simplefilter("ignore")
    from starlette.testclient import TestClient

pytestmark = pytest.mark.unit
PASSWORD = "session pass 1"
A, B, C = "a" * 32, "b" * 32, "c" * 32


def _make(name, role, channels=(), password=PASSWORD, identities=()):
    return accounts.Account(name, role, tuple(channels), False, accounts.hash_password(password, n=2**10),
                            tuple(identities))


@pytest.fixture
def known(tmp_path, monkeypatch):
    """An accounts file (admin boss, streamer mgr of A) in tmp_path; the key and the
    session table are made beside it."""
    monkeypatch.setenv("DASHBOARD_ACCOUNTS_FILE", str(tmp_path / "accounts.toml"))
    monkeypatch.setenv("DASHBOARD_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    found = {"boss": _make("boss", "admin"), "mgr": _make("mgr", "streamer", [A])}
    accounts.save(found)
    login.reset_failures()
    return found


def _cli(*argv, stdin=None, monkeypatch=None):
    import argparse
    import io
    parser = argparse.ArgumentParser()
    accounts_cli.configure(parser)
    if stdin is not None:
        monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return accounts_cli.run(parser.parse_args(list(argv)))


# ---- the session cookie ---------------------------------------------------------------------

def test_a_cookie_verifies_until_it_expires(known):
    value, max_age = sessions.issue(known["boss"], now=1_000_000, seconds=3600)
    assert max_age == 3600 and known["boss"].name not in value
    assert sessions.verify(value, known, now=1_000_000 + 3599) == known["boss"]
    assert sessions.verify(value, known, now=1_000_000 + 3600) is None  # expired
    assert sessions.verify(None, known) is None and sessions.verify("", known) is None


def test_the_key_and_the_table_are_private_and_hold_no_cookie(known):
    value, _ = sessions.issue(known["boss"])
    for path in (sessions.key_file(), sessions.store_file()):
        assert stat.S_IMODE(path.stat().st_mode) == 0o600, path
    sid = value.split(".")[0]
    assert sid.encode() not in sessions.store_file().read_bytes()  # only its SHA-256


@pytest.mark.parametrize("edit", ["id", "expiry", "signature", "account"])
def test_a_tampered_cookie_is_refused(known, edit):
    value, _ = sessions.issue(known["mgr"], seconds=600)
    sid, expires, sig = value.split(".")
    other, _ = sessions.issue(known["boss"], seconds=600)
    forged = {"id": f"{sid[:-1]}{'A' if sid[-1] != 'A' else 'B'}.{expires}.{sig}",
              "expiry": f"{sid}.{int(expires) + 10**6}.{sig}",  # a longer life
              "signature": f"{sid}.{expires}.{sig[:-1]}{'A' if sig[-1] != 'A' else 'B'}",
              "account": f"{other.split('.')[0]}.{expires}.{sig}"}[edit]  # boss's session id, mgr's signature
    assert sessions.verify(value, known) == known["mgr"]
    assert sessions.verify(forged, known) is None


def test_a_cookie_signed_with_another_key_is_refused(known):
    value, _ = sessions.issue(known["boss"])
    sessions.rotate_key()
    assert sessions.verify(value, known) is None
    again, _ = sessions.issue(known["boss"])
    assert sessions.verify(again, known) == known["boss"]


def test_signing_out_ends_every_session_of_the_account_only(known):
    first, _ = sessions.issue(known["boss"])
    second, _ = sessions.issue(known["boss"])  # another browser
    theirs, _ = sessions.issue(known["mgr"])
    assert sessions.sessions_of("boss") == 2
    assert sessions.revoke_account("boss") == 2
    assert sessions.verify(first, known) is None and sessions.verify(second, known) is None
    assert sessions.verify(theirs, known) == known["mgr"]


def test_a_removed_account_or_a_new_password_ends_its_sessions_even_by_hand(known):
    value, _ = sessions.issue(known["mgr"])
    edited = {**known, "mgr": _make("mgr", "streamer", [A], password="another pass 2")}  # the file edited by hand
    assert sessions.verify(value, edited) is None
    assert sessions.verify(value, {"boss": known["boss"]}) is None
    assert sessions.verify(value, known) == known["mgr"]  # its row is still there: the file decided


def test_the_accounts_cli_ends_sessions_on_remove_and_on_a_password_reset(known, monkeypatch):
    value, _ = sessions.issue(known["mgr"])
    boss, _ = sessions.issue(known["boss"])
    assert _cli("add", "mgr", "--role", "streamer", "--channels", A, "--password-stdin",
                stdin="a new password\n", monkeypatch=monkeypatch) == 0
    assert sessions.sessions_of("mgr") == 0 and sessions.verify(value, accounts.load()) is None
    assert _cli("remove", "boss") == 0
    assert sessions.sessions_of("boss") == 0 and sessions.verify(boss, accounts.load()) is None


def test_a_broken_key_file_says_so_without_the_key(known):
    sessions.key_file().write_text("not-hex-" + "9" * 56)
    with pytest.raises(accounts.AccountsError) as got:
        sessions.issue(known["boss"])
    assert "9999" not in str(got.value) and "rotate-key" in str(got.value)


# ---- share links ----------------------------------------------------------------------------

def test_a_share_link_shows_its_page_and_channels_until_it_expires(known):
    share, token = sessions.create_share(known["boss"], "donations", [A, B], days=1, now=1_000_000)
    got = sessions.verify_share(token, known, now=1_000_000 + 86399)
    assert got == share and got.channels == (A, B) and got.page == "donations"
    viewer = got.viewer()
    assert viewer.role == accounts.SHARED
    assert accounts.visible_channels(viewer, [A, B, C]) == [A, B]
    assert not accounts.sees_lake_wide(viewer) and not accounts.may_read_audit(viewer)
    assert not accounts.may_see_moderation(viewer, A) and not accounts.may_search_across(viewer)
    assert sessions.verify_share(token, known, now=1_000_000 + 86400) is None  # expired


def _repack(token: str, **change) -> str:
    payload, sig = token.split(".")
    doc = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    doc.update(change)
    raw = base64.urlsafe_b64encode(json.dumps(doc, separators=(",", ":")).encode()).decode().rstrip("=")
    return f"{raw}.{sig}"


@pytest.mark.parametrize("change", [{"c": [A, B, C]}, {"p": "users"}, {"p": "channel"}, {"e": 4_000_000_000},
                                    {"b": "mgr"}])
def test_a_share_link_cannot_be_widened_by_editing_it(known, change):
    _, token = sessions.create_share(known["boss"], "donations", [A, B], days=1)
    assert sessions.verify_share(token, known) is not None
    assert sessions.verify_share(_repack(token, **change), known) is None


def test_a_share_link_is_refused_for_what_its_creator_may_not_see(known):
    with pytest.raises(ValueError, match="may not see"):
        sessions.create_share(known["mgr"], "overview", [A, B], days=1)
    with pytest.raises(ValueError, match="cannot be shared"):
        sessions.create_share(known["boss"], "users", [A], days=1)
    with pytest.raises(ValueError, match="days"):
        sessions.create_share(known["boss"], "overview", [A], days=365)


def test_a_share_link_ends_when_revoked_its_creator_goes_or_the_key_rotates(known):
    share, token = sessions.create_share(known["mgr"], "overview", [A], days=7)
    other, kept = sessions.create_share(known["boss"], "overview", [A], days=7)
    assert sessions.revoke_share(share.id) and sessions.verify_share(token, known) is None
    assert not sessions.revoke_share(share.id)  # once
    assert sessions.verify_share(kept, known) == other
    assert sessions.verify_share(kept, {"mgr": known["mgr"]}) is None  # its creator removed
    narrowed = {**known, "boss": _make("boss", "streamer", [B])}  # its creator no longer sees A
    assert sessions.verify_share(kept, narrowed) is None
    sessions.rotate_key()
    assert sessions.verify_share(kept, known) is None


def test_the_cli_makes_lists_and_revokes_share_links(known, capsys):
    assert _cli("share", "create", "--by", "mgr", "--page", "donations", "--channels", A, "--days", "2") == 0
    path = capsys.readouterr().out.strip()
    assert path.startswith("/donations?share=")
    share = sessions.verify_share(path.split("share=")[1], accounts.load())
    assert share is not None and share.channels == (A,)
    assert _cli("share", "create", "--by", "mgr", "--page", "overview", "--channels", B) == 2  # not mgr's
    assert "may not see" in capsys.readouterr().err
    assert _cli("share", "list") == 0
    assert share.id in capsys.readouterr().out
    assert _cli("share", "revoke", share.id) == 0 and _cli("share", "revoke", share.id) == 1
    assert sessions.verify_share(path.split("share=")[1], accounts.load()) is None


# ---- OIDC: configuration and mapping --------------------------------------------------------

def test_oidc_providers_come_from_complete_auth_secrets():
    base = {"redirect_uri": "https://dash.example.org/oauth2callback", "cookie_secret": "x" * 32}
    full = {"client_id": "id", "client_secret": "s", "server_metadata_url": "https://idp/.well-known"}
    assert login.oidc_providers({}) == []
    assert login.oidc_providers({"auth": {**full}}) == []  # no redirect_uri / cookie_secret
    assert login.oidc_providers({"auth": {**base, **full}}) == ["default"]
    assert login.oidc_providers({"auth": {**base, "google": full, "half": {"client_id": "x"}}}) == ["google"]
    assert login.oidc_providers({"auth": "nonsense"}) == []


def test_identity_provider_users_map_to_accounts_and_others_are_refused(tmp_path):
    path = tmp_path / "accounts.toml"
    sso = accounts.check(accounts.Account("sso", "streamer", (A,), False, accounts.NO_PASSWORD,
                                          ("Mgr@Example.org", "sub-123")))
    accounts.save({"sso": sso, "boss": _make("boss", "admin")}, path)
    found = accounts.load(path)
    assert found["sso"].identities == ("Mgr@Example.org", "sub-123")
    assert accounts.by_identity(found, "mgr@example.org", "other") == found["sso"]
    assert accounts.by_identity(found, None, "sub-123") == found["sso"]
    assert accounts.by_identity(found, "mgr@example.org", None, email_verified=False) is None  # unverified
    assert accounts.by_identity(found, "stranger@example.org", "sub-999") is None
    assert accounts.authenticate(found, "sso", "!") is None  # no password sign-in
    with pytest.raises(accounts.AccountsError, match="another account's"):
        accounts.parse(accounts.dump({**found, "x": _make("x", "admin", identities=["mgr@example.org"])}))
    with pytest.raises(accounts.AccountsError, match="scrypt"):
        accounts.check(accounts.Account("y", "admin", (), False, accounts.NO_PASSWORD))  # "!" needs identities


# ---- the endpoints (web_auth behind HostGuard) ----------------------------------------------

async def _app_page(request):
    return PlainTextResponse("the app")


@pytest.fixture
def client(known):
    app = Starlette(routes=[Route("/{path:path}", _app_page, methods=["GET", "POST"])],
                    middleware=[Middleware(hosts.HostGuard, policy=hosts.policy(True, None, own_names=())),
                                Middleware(web_auth.AuthEndpoints)])
    with TestClient(app, base_url="http://127.0.0.1:8501", follow_redirects=False, client=("203.0.113.9", 5000)) as c:
        yield c


def _csrf(client, lang=""):
    page = client.get(f"/_dash/sign-in?next=%2Fdonations%3Flang%3D{lang or 'ko'}")
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    return page, token


def _post(client, token, **fields):
    form = {"csrf": token, "next": "/donations?lang=ko", "name": "boss", "password": PASSWORD, **fields}
    return client.post("/_dash/sign-in", data=form)


def test_a_page_visit_without_a_sign_in_goes_to_the_form(client):
    got = client.get("/donations?lang=en", headers={"sec-fetch-mode": "navigate"})
    assert got.status_code == 303 and got.headers["location"] == "/_dash/sign-in?next=%2Fdonations%3Flang%3Den"
    assert client.get("/static/js/main.js", headers={"accept": "*/*"}).text == "the app"  # files pass
    assert client.get("/_stcore/health").text == "the app"
    assert client.get("/?share=x.y", headers={"sec-fetch-mode": "navigate"}).text == "the app"  # the app checks it
    page, token = _csrf(client, "en")
    assert page.status_code == 200 and "Account name" in page.text and 'value="/donations?lang=en"' in page.text
    flags = page.headers["set-cookie"]
    assert "HttpOnly" in flags and "SameSite=Strict" in flags and "Path=/_dash" in flags
    assert "frame-ancestors 'none'" in page.headers["content-security-policy"]


def test_signing_in_sets_an_httponly_lax_cookie_and_returns_to_the_page(client):
    _, token = _csrf(client)
    got = _post(client, token)
    assert got.status_code == 303 and got.headers["location"] == "/donations?lang=ko"
    cookie = next(c for c in got.headers.get_list("set-cookie") if c.startswith(sessions.COOKIE + "="))
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/" in cookie and "Max-Age=43200" in cookie
    assert "Secure" not in cookie  # plain http here
    value = cookie.split(";")[0].split("=", 1)[1]
    assert sessions.verify(value, accounts.load()).name == "boss"
    assert PASSWORD not in got.text and value not in got.text
    # signed in: the page is served
    assert client.get("/donations", headers={"sec-fetch-mode": "navigate"}).text == "the app"


def test_over_https_the_cookie_is_secure(client):
    _, token = _csrf(client)
    got = client.post("/_dash/sign-in", headers={"x-forwarded-proto": "https"},
                      data={"csrf": token, "next": "/", "name": "boss", "password": PASSWORD})
    assert all("Secure" in c for c in got.headers.get_list("set-cookie"))


def test_a_wrong_password_shows_the_form_again_and_sets_no_session(client, monkeypatch):
    monkeypatch.setattr(login, "FAIL_DELAY", 0)
    _, token = _csrf(client)
    got = _post(client, token, password="wrong password")
    assert got.status_code == 401 and "아이디 또는 비밀번호가 올바르지 않습니다." in got.text
    assert not any(c.startswith(sessions.COOKIE + "=") for c in got.headers.get_list("set-cookie"))
    assert "wrong password" not in got.text
    assert 'value="boss"' in got.text  # the name typed stays; the password does not
    _, token = _csrf(client)
    got = _post(client, token, name='"><script>alert(1)</script>', password="x")
    assert got.status_code == 401 and "<script>" not in got.text and "&lt;script&gt;" in got.text


@pytest.mark.parametrize(("case", "status"), [("no csrf", 403), ("wrong csrf", 403), ("json", 415),
                                              ("other origin", 403), ("cross-site", 403), ("big", 413),
                                              ("foreign host", 421), ("put", 405)])
def test_the_sign_in_post_is_refused_without_its_checks(client, case, status):
    _, token = _csrf(client)
    form = {"csrf": token, "next": "/", "name": "boss", "password": PASSWORD}
    if case == "no csrf":
        client.cookies.clear()
        got = client.post("/_dash/sign-in", data=form)
    elif case == "wrong csrf":
        got = client.post("/_dash/sign-in", data={**form, "csrf": "x" * 43})
    elif case == "json":
        got = client.post("/_dash/sign-in", json=form)
    elif case == "other origin":
        got = client.post("/_dash/sign-in", data=form, headers={"origin": "http://evil.example"})
    elif case == "cross-site":
        got = client.post("/_dash/sign-in", data=form, headers={"sec-fetch-site": "cross-site"})
    elif case == "big":
        got = client.post("/_dash/sign-in", data={**form, "pad": "x" * 5000})
    elif case == "foreign host":
        got = client.post("/_dash/sign-in", data=form, headers={"host": "evil.example"})
    else:
        got = client.put("/_dash/sign-in", data=form)
    assert got.status_code == status, got.text
    assert not any(c.startswith(sessions.COOKIE + "=") for c in got.headers.get_list("set-cookie"))


@pytest.mark.parametrize("target", ["https://evil.example/", "//evil.example/x", "/\\evil.example", "javascript:x",
                                    "/_dash/sign-out"])
def test_the_sign_in_returns_only_to_this_site(client, target):
    _, token = _csrf(client)
    assert _post(client, token, next=target).headers["location"] == "/"


def test_signing_out_ends_every_session_and_clears_the_cookie(client, known):
    elsewhere, _ = sessions.issue(known["boss"])  # another device
    _, token = _csrf(client)
    _post(client, token)
    page = client.get("/_dash/sign-out")
    assert "모든 브라우저" in page.text
    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)
    got = client.post("/_dash/sign-out", data={"csrf": token})
    assert got.status_code == 303 and got.headers["location"] == "/_dash/sign-in"
    assert any(c.startswith(sessions.COOKIE + "=;") and "Max-Age=0" in c for c in got.headers.get_list("set-cookie"))
    assert sessions.sessions_of("boss") == 0 and sessions.verify(elsewhere, known) is None
    assert client.get("/", headers={"sec-fetch-mode": "navigate"}).status_code == 303
