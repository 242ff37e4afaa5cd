"""Accounts in a real browser: `python -m dashboard serve` with an accounts file over the
fixture lake, Debian's Chromium through Playwright. Each role signs in through the form and
opens every page it may see, each checked against figures counted from the fixture lake
(tests/browser_checks.py); a sidebar filter changes the page, the URL and the downloads,
which are read back (CSV and Parquet); a streamer opens a URL naming another channel and
sees none of it. The sign-in is a cookie: it survives a reload and a new tab, ends in every
tab when the account is removed or signs out, and a tampered or expired one is refused; a
share link opens one view without an account and cannot be widened. Screenshots of the login, keyword and audit pages go to docs/screenshots/
with UPDATE_SCREENSHOTS=1 (`make screenshots`, which also runs dashboard/test_browser.py
for the other pages), else to a temp folder."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as pq
import pytest

from dashboard import accounts, audit, sessions
from tests import browser_checks as checks
from tests.browser_checks import PAGES, t
from tests.lakefixture import build_fixture_lake
from tests.page_checks import csv_download
from tests.served_process import free_port, stop, wait_healthy

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
PASSWORD = "browser pass 1"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base url, fixture facts, audit file) of `python -m dashboard serve` with three accounts."""
    lake = tmp_path_factory.mktemp("lake")
    facts = build_fixture_lake(lake)
    own = tmp_path_factory.mktemp("dashboard")
    acc, audit_file = own / "accounts.toml", own / "audit.jsonl"
    make = lambda name, role, chans=(): accounts.Account(  # noqa: E731
        name, role, tuple(chans), False, accounts.hash_password(PASSWORD, n=2**12))
    accounts.save({"boss": make("boss", "admin"), "mgr": make("mgr", "streamer", [facts["channel_ids"][0]]),
                   "ana": make("ana", "analyst")}, acc)
    port = free_port()
    env = {**os.environ, "WAREHOUSE_DIR": str(lake), "DASHBOARD_ACCOUNTS_FILE": str(acc),
           "DASHBOARD_AUDIT_FILE": str(audit_file), "DASHBOARD_ADDRESS": "127.0.0.1",
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    log = (own / "streamlit.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "dashboard", "serve", "--port", str(port)], cwd=REPO,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout=40)
        yield url, facts, audit_file
    finally:
        stop(proc, timeout=10)
        log.close()


def _sign_in(page, url: str, name: str, password: str = PASSWORD) -> None:
    """Open `url`: serve sends a signed-out visit to its sign-in form (/_dash/sign-in), which
    comes back to `url` signed in (the session cookie)."""
    page.goto(url, wait_until="domcontentloaded")
    assert "/_dash/sign-in?next=" in page.url, page.url
    page.get_by_label("아이디").fill(name)
    page.get_by_label("비밀번호").fill(password)
    page.get_by_role("button", name="로그인").click()
    if password == PASSWORD:  # signed in: back on the page, whose sidebar says so
        checks.sidebar(page).get_by_text(t("login_signed_in")).wait_for(timeout=checks.TIMEOUT)
        checks.rerun_done(page)


def test_wrong_password_in_the_browser(server, page, tmp_path):
    url, facts, _ = server
    _sign_in(page, url, "boss", "not the password")
    page.get_by_text("아이디 또는 비밀번호가 올바르지 않습니다.").wait_for(timeout=30_000)
    body = page.inner_text("body")
    assert not any(n in body for n in facts["channel_names"].values())
    checks.shot(page, "login", tmp_path)


def test_streamer_cannot_reach_another_channel_by_editing_the_url(server, page):
    url, facts, _ = server
    own, others = facts["channel_ids"][0], facts["channel_ids"][1:]
    _sign_in(page, f"{url}/?channels={','.join(others)}", "mgr")
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)  # the overview table
    checks.rerun_done(page)
    body = page.inner_text("body")
    assert "볼 수 없는 채널 2개를 제외했습니다" in body
    assert facts["channel_names"][own] in body
    assert not any(facts["channel_names"][c] in body for c in others), body[:800]
    assert f"channels={own}" in page.url and not any(c in page.url for c in others)
    assert page.locator('[data-testid="stException"]').count() == 0
    # the audit page is not there for a streamer, not even by its address
    page.goto(f"{url}/audit", wait_until="domcontentloaded")  # still signed in (the cookie)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)  # the default page (overview) instead
    assert "감사 로그" not in page.inner_text("body")


@pytest.mark.parametrize("name", ["mgr", "ana"])
@pytest.mark.parametrize("shown", ["channel", "broadcasts"])
def test_a_page_picker_in_the_url_opens_only_a_visible_channel(server, page, shown, name):
    """The Channel page's `channel` and the Broadcasts page's `broadcast` in the URL name a
    channel the streamer may not see: they get their own channel instead, while an analyst
    (who may see it) gets the one the URL names."""
    url, facts, _ = server
    ids, names = facts["channel_ids"], facts["channel_names"]
    own, other = ids[0], ids[1]  # ids[1]: neither default pick (busiest channel: ids[2]; first broadcast: ids[0])
    param = {"channel": f"channel={other}", "broadcasts": f"broadcast={other}:CH{other[:4]}"}[shown]
    _sign_in(page, f"{url}/{checks.PATHS[shown]}?{param}", name)
    checks.settle(page, checks.TITLES[shown])
    if name == "mgr":
        checks.check_page(page, shown, facts, [own], streamer=True)
        assert names[own] in checks.main_select(page)
        assert not any(names[c] in page.inner_text("body") for c in ids[1:]) and other not in page.url
    else:
        assert names[other] in checks.main_select(page)
        assert checks.busiest(facts, ids) != other


def test_admin_searches_downloads_and_reads_the_audit_log(server, page, tmp_path):
    url, facts, audit_file = server
    _sign_in(page, f"{url}/keywords", "boss")
    box = page.get_by_label("메시지에 포함된 단어")
    box.fill("메시지 1")
    box.press("Enter")
    page.locator(checks.CHART).first.wait_for(timeout=30_000)
    checks.rerun_done(page)
    checks.shot(page, "keywords", tmp_path)
    with page.expect_download(timeout=30_000) as got:
        page.get_by_role("button", name="CSV 다운로드").last.click()
    table = csv_download(Path(got.value.path()).read_bytes(), ("message", "channel_name"))  # BOM: Excel shows Korean
    want = [r for r in facts["rows"] if "메시지 1" in (r["message"] or "")]
    assert table.height == min(100, len(want)) and all("메시지 1" in m for m in table["message"])
    assert set(table["channel_name"]) <= set(facts["channel_names"].values())

    page.get_by_role("link", name="감사 로그").click()
    checks.rerun_done(page)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)
    records, _ = audit.read(audit_file)
    assert records.row(0, named=True)["account"] == "boss" and records.row(0, named=True)["query"] == "메시지 1"
    checks.shot(page, "audit", tmp_path)


# account -> (the pages it may open, in the sidebar's order); the audit log is the admin's only
ROLE_PAGES = {name: [p for p in checks.PATHS if p != "audit" or name == "boss"] for name in ("boss", "mgr", "ana")}


@pytest.mark.slow  # every page of the role, one after another (10-13 s each)
@pytest.mark.parametrize("name", list(ROLE_PAGES))
def test_each_role_opens_every_page_it_may_see(server, page, name):
    """One sign-in per role, then every page through the sidebar (one session): each shows
    the figures the fixture lake gives for the channels that role may see."""
    url, facts, audit_file = server
    streamer = name == "mgr"
    channels = facts["channel_ids"][:1] if streamer else facts["channel_ids"]
    _sign_in(page, url, name)
    nav = page.locator('[data-testid="stSidebarNav"]')
    assert (nav.get_by_role("link", name=t("audit_page_title")).count() == 1) == (name == "boss")
    for shown in ROLE_PAGES[name]:
        nav.get_by_role("link", name=t(checks.TITLES[shown])).click()
        checks.settle(page, checks.TITLES[shown])
        if shown in checks.SEARCH:
            checks.search(page, shown)
        records = audit.read(audit_file)[0].height if shown == "audit" else None
        checks.check_page(page, shown, facts, channels, one_channel_search=name == "ana", streamer=streamer,
                          audit_records=records)
        assert not any(facts["channel_names"][c] in page.inner_text("body")
                       for c in facts["channel_ids"] if c not in channels)


def test_filters_change_the_page_and_the_downloads_read_back(server, page):
    """An analyst narrows the sidebar (two channels instead of all, then one day): the donation figures
    follow, the URL carries the filter, and the totals table's CSV and Parquet downloads
    hold the same rows as the fixture lake's donation lines for that view."""
    url, facts, _ = server
    ids, names = facts["channel_ids"], facts["channel_names"]
    _sign_in(page, f"{url}/donations", "ana")
    checks.settle(page, "don_title")
    checks.expect_metrics(page, checks.donation_metrics(facts, ids))

    kept, day = ids[:2], facts["days"][1]
    checks.pick_channels(page, [names[c] for c in kept])  # from "All channels" to two of the three
    checks.expect_metrics(page, checks.donation_metrics(facts, kept))
    assert set(_query(page.url)["channels"].split(",")) == set(kept)
    checks.pick_dates(page, day, day)
    checks.expect_metrics(page, checks.donation_metrics(facts, kept, {day}))
    q = _query(page.url)
    assert (q["from"], q["to"]) == (day.isoformat(), day.isoformat()) and set(q["channels"].split(",")) == set(kept)

    want = sorted((cid, names[cid], d["donations"], d["amount"], d["anonymous"])
                  for cid, d in checks.donations(facts, kept, {day}).items())
    stem = f"donation_totals_{day:%Y%m%d}-{day:%Y%m%d}"
    raw, filename = checks.download(page, t("download_csv"))
    assert filename == f"{stem}.csv"
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads it as UTF-8
    assert all(names[c].encode() in raw for c in kept)  # Hangul intact, byte for byte
    csv = csv_download(raw, ("channel_id", "channel_name", "donations", "amount", "anonymous"))
    got = sorted(csv.select("channel_id", "channel_name", "donations", "amount", "anonymous").iter_rows())
    assert got == want

    raw, filename = checks.download(page, t("download_parquet"))
    assert filename == f"{stem}.parquet"
    table = pq.read_table(io.BytesIO(raw))
    # the Parquet keeps the columns' names (the CSV's headers are in the page's language): the same columns
    assert len(table.column_names) == len(csv.columns) and {c for c in csv.columns if c in table.column_names} >= {
        "channel_id", "channel_name", "donations", "amount", "anonymous"}
    got = sorted(tuple(r[k] for k in ("channel_id", "channel_name", "donations", "amount", "anonymous"))
                 for r in table.to_pylist())
    assert got == want


def _query(address: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(address).query).items()}


def test_every_readme_screenshot_is_taken_by_a_browser_test():
    """`make screenshots` runs every browser test file (tests/dashboard/test_browser*.py);
    between them they write every image the README shows."""
    shown = set(re.findall(r"docs/screenshots/([\w-]+)\.png", (REPO / "README.md").read_text(encoding="utf-8")))
    taken = set(PAGES.values())
    for test_file in Path(__file__).parent.glob("test_browser*.py"):
        taken |= set(re.findall(r'shot\(page, "([\w-]+)"', test_file.read_text(encoding="utf-8")))
    assert shown and shown <= taken, shown - taken
    make = (REPO / "Makefile").read_text(encoding="utf-8")
    target = make[make.index("\nscreenshots:"):].split("\n\n")[0]
    assert "tests/dashboard/test_browser*.py" in target


# ---- the sign-in cookie, sign-out, share links (issue 21 §3) -----------------------------------

def _env(audit_file: Path) -> dict[str, str]:
    return {**os.environ, "DASHBOARD_ACCOUNTS_FILE": str(audit_file.with_name("accounts.toml")),
            "DASHBOARD_AUDIT_FILE": str(audit_file)}


def _accounts_cli(audit_file: Path, *argv: str, stdin: str | None = None) -> str:
    done = subprocess.run([sys.executable, "-m", "dashboard", "accounts", *argv], cwd=REPO, env=_env(audit_file),
                          input=stdin, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _signed_in_as(page, name: str) -> None:
    checks.sidebar(page).get_by_text(t("login_signed_in")).wait_for(timeout=checks.TIMEOUT)
    assert name in checks.sidebar(page).inner_text()


def test_the_sign_in_survives_a_reload_and_a_new_tab_and_ends_when_the_account_is_removed(server, page):
    url, facts, audit_file = server
    _accounts_cli(audit_file, "add", "temp", "--role", "analyst", "--password-stdin", stdin=PASSWORD + "\n")
    _sign_in(page, f"{url}/donations", "temp")
    checks.settle(page, "don_title")
    assert page.url.startswith(f"{url}/donations")
    cookie = next(c for c in page.context.cookies() if c["name"] == "dash_session")
    assert cookie["httpOnly"] and cookie["sameSite"] == "Lax" and not cookie["secure"]  # plain http here
    assert cookie["path"] == "/" and 11 * 3600 < cookie["expires"] - time.time() <= 12 * 3600
    assert "dash_session" not in page.evaluate("document.cookie")  # scripts cannot read it

    page.reload(wait_until="domcontentloaded")  # F5
    checks.settle(page, "don_title")
    _signed_in_as(page, "temp")
    other = page.context.new_page()  # a link opened in a new tab
    other.goto(f"{url}/channel", wait_until="domcontentloaded")
    checks.settle(other, "page_channel")
    _signed_in_as(other, "temp")

    _accounts_cli(audit_file, "remove", "temp")
    checks.sidebar(page).get_by_role("link", name=t("page_overview")).click()  # the next rerun
    page.get_by_text(t("login_session_ended")).wait_for(timeout=checks.TIMEOUT)
    body = page.inner_text("body")
    assert not any(n in body for n in facts["channel_names"].values())
    other.reload(wait_until="domcontentloaded")
    assert "/_dash/sign-in?next=%2Fchannel" in other.url  # a new visit: the form
    other.close()


def test_tampered_and_expired_cookies_are_refused(server, page, monkeypatch):
    url, _, audit_file = server
    monkeypatch.setenv("DASHBOARD_ACCOUNTS_FILE", str(audit_file.with_name("accounts.toml")))
    ana = accounts.load()["ana"]
    good, _ = sessions.issue(ana)  # signed with the server's key, in its table
    sid, expires, sig = good.split(".")
    expired, _ = sessions.issue(ana, now=time.time() - 7200, seconds=3600)
    tampered = f"{sid}.{int(expires) + 86400}.{sig}"  # a longer life under the old signature
    for value, welcome in ((tampered, False), (expired, False), (good, True)):
        page.context.clear_cookies()
        page.context.add_cookies([{"name": "dash_session", "value": value, "url": url}])
        page.goto(f"{url}/donations", wait_until="domcontentloaded")
        assert ("/_dash/sign-in" not in page.url) == welcome, (value == tampered, page.url)
    checks.settle(page, "don_title")
    _signed_in_as(page, "ana")


def test_signing_out_ends_the_session_in_every_tab(server, page):
    url, _, _ = server
    _sign_in(page, f"{url}/donations", "ana")
    checks.settle(page, "don_title")
    other = page.context.new_page()
    other.goto(f"{url}/donations", wait_until="domcontentloaded")
    checks.settle(other, "don_title")
    checks.sidebar(page).get_by_role("button", name=t("login_logout")).click()
    page.get_by_text(t("login_session_ended")).wait_for(timeout=checks.TIMEOUT)
    page.reload(wait_until="domcontentloaded")  # the cookie it still holds is worth nothing now
    assert "/_dash/sign-in?next=" in page.url, page.url
    checks.sidebar(other).get_by_role("link", name=t("page_overview")).click()  # the other tab's next rerun
    other.get_by_text(t("login_session_ended")).wait_for(timeout=checks.TIMEOUT)
    other.close()


def test_a_share_link_opens_one_view_without_an_account_and_cannot_be_widened(server, page, browser, monkeypatch):
    """A streamer makes a link in the sidebar; a browser without any sign-in opens it: the
    donations of the streamer's channel only, no other page, even with another page's path
    or every channel in the URL; an edited token or an expired link opens nothing."""
    url, facts, audit_file = server
    own, others = facts["channel_ids"][0], facts["channel_ids"][1:]
    names = facts["channel_names"]
    _sign_in(page, f"{url}/donations", "mgr")
    checks.settle(page, "don_title")
    checks.sidebar(page).get_by_role("button", name=t("share_make")).click()
    page.get_by_role("button", name=t("share_create")).click()
    link = page.locator('[data-testid="stCode"]').last
    link.wait_for(timeout=checks.TIMEOUT)
    shared = link.inner_text().strip()
    assert shared.startswith(f"{url}/donations?") and "share=" in shared, shared

    stranger = browser.new_context(viewport={"width": 1400, "height": 1600})
    checks.watch(stranger)
    view = stranger.new_page()
    try:
        token = _query(shared)["share"]
        for address in (shared, f"{url}/users?share={token}&channels={','.join(facts['channel_ids'])}"):
            view.goto(address, wait_until="domcontentloaded")
            checks.settle(view, "don_title")
            checks.expect_metrics(view, checks.donation_metrics(facts, [own]))
            body = view.inner_text("body")
            assert names[own] in body and not any(names[c] in body for c in others)
            assert view.locator('[data-testid="stSidebarNav"]').count() == 0  # one page: no page list
            assert t("share_viewing").split("·")[0].strip() in body
        view.reload(wait_until="domcontentloaded")  # F5 keeps the view
        checks.settle(view, "don_title")

        payload, sig = token.split(".")
        for bad in (f"{payload}.{sig[:-2]}{'AA' if sig[-2:] != 'AA' else 'BB'}", f"{payload[:-4]}.{sig}"):
            view.goto(f"{url}/donations?share={bad}", wait_until="domcontentloaded")
            view.get_by_text(t("share_invalid")).wait_for(timeout=checks.TIMEOUT)
            assert not any(n in view.inner_text("body") for n in names.values())
        monkeypatch.setenv("DASHBOARD_ACCOUNTS_FILE", _env(audit_file)["DASHBOARD_ACCOUNTS_FILE"])
        _, old = sessions.create_share(accounts.load()["mgr"], "donations", [own], days=1,
                                       now=time.time() - 2 * 86400)
        listed = sessions.list_shares()
        view.goto(f"{url}/donations?share={old}", wait_until="domcontentloaded")
        view.get_by_text(t("share_invalid")).wait_for(timeout=checks.TIMEOUT)

        made = next(s for s in listed if s["created_by"] == "mgr" and s["expires"] > time.time())
        _accounts_cli(audit_file, "share", "revoke", made["id"])
        view.goto(shared, wait_until="domcontentloaded")
        view.get_by_text(t("share_invalid")).wait_for(timeout=checks.TIMEOUT)
    finally:
        stranger.close()
