"""Accounts in a real browser: `python -m dashboard serve` with an accounts file over the
fixture lake, Debian's Chromium through Playwright. Each role signs in through the form; a
streamer opens a URL naming another channel and sees none of it; a search result is
downloaded and read back. Screenshots of the login, keyword and audit pages go to
docs/screenshots/ with UPDATE_SCREENSHOTS=1 (`make screenshots`), else to a temp folder."""
from __future__ import annotations

import io
import os
import signal
import subprocess
import sys
from pathlib import Path

import polars as pl
import pytest

from dashboard import accounts, audit
from tests.lakefixture import build_fixture_lake
from tests.test_dashboard_browser import CHROMIUM, CHROMIUM_ARGS, SHOTS, _free_port, _wait_healthy

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parent.parent
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
    port = _free_port()
    env = {**os.environ, "WAREHOUSE_DIR": str(lake), "DASHBOARD_ACCOUNTS_FILE": str(acc),
           "DASHBOARD_AUDIT_FILE": str(audit_file), "DASHBOARD_ADDRESS": "127.0.0.1",
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    log = (own / "streamlit.log").open("wb")
    proc = subprocess.Popen([sys.executable, "-m", "dashboard", "serve", "--port", str(port)], cwd=REPO,
                            env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc)
        yield url, facts, audit_file
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1600}, accept_downloads=True)
    pg = context.new_page()
    yield pg
    context.close()


def _settled(page) -> None:
    page.wait_for_timeout(300)
    page.wait_for_selector('[data-testid="stStatusWidget"]', state="detached", timeout=30_000)
    page.wait_for_timeout(500)


def _sign_in(page, url: str, name: str, password: str = PASSWORD) -> None:
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("아이디").fill(name)
    page.get_by_label("비밀번호").fill(password)
    page.get_by_role("button", name="로그인").click()
    _settled(page)


def _shot(page, name: str, tmp_path: Path) -> None:
    shots = SHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
    assert (shots / f"{name}.png").stat().st_size > 10_000


def test_wrong_password_in_the_browser(server, page, tmp_path):
    url, facts, _ = server
    _sign_in(page, url, "boss", "not the password")
    page.get_by_text("아이디 또는 비밀번호가 올바르지 않습니다.").wait_for(timeout=30_000)
    body = page.inner_text("body")
    assert not any(n in body for n in facts["channel_names"].values())
    _shot(page, "login", tmp_path)


def test_streamer_cannot_reach_another_channel_by_editing_the_url(server, page):
    url, facts, _ = server
    own, others = facts["channel_ids"][0], facts["channel_ids"][1:]
    _sign_in(page, f"{url}/?channels={','.join(others)}", "mgr")
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)  # the overview table
    _settled(page)
    body = page.inner_text("body")
    assert "볼 수 없는 채널 2개를 제외했습니다" in body
    assert facts["channel_names"][own] in body
    assert not any(facts["channel_names"][c] in body for c in others), body[:800]
    assert f"channels={own}" in page.url and not any(c in page.url for c in others)
    assert page.locator('[data-testid="stException"]').count() == 0
    # the audit page is not there for a streamer, not even by its address
    _sign_in(page, f"{url}/audit", "mgr")
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)  # the default page (overview) instead
    assert "감사 로그" not in page.inner_text("body")


def test_admin_searches_downloads_and_reads_the_audit_log(server, page, tmp_path):
    url, facts, audit_file = server
    _sign_in(page, f"{url}/keywords", "boss")
    box = page.get_by_label("메시지에 포함된 단어")
    box.fill("메시지 1")
    box.press("Enter")
    page.locator(".js-plotly-plot").first.wait_for(timeout=30_000)
    _settled(page)
    _shot(page, "keywords", tmp_path)
    with page.expect_download(timeout=30_000) as got:
        page.get_by_role("button", name="CSV 다운로드").last.click()
    raw = Path(got.value.path()).read_bytes()
    assert raw.startswith(b"\xef\xbb\xbf")  # Excel shows Korean
    table = pl.read_csv(io.BytesIO(raw[3:]))
    want = [r for r in facts["rows"] if "메시지 1" in (r["message"] or "")]
    assert table.height == min(100, len(want)) and all("메시지 1" in m for m in table["message"])
    assert set(table["channel_name"]) <= set(facts["channel_names"].values())

    page.get_by_role("link", name="감사 로그").click()
    _settled(page)
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=30_000)
    records, _ = audit.read(audit_file)
    assert records.row(0, named=True)["account"] == "boss" and records.row(0, named=True)["query"] == "메시지 1"
    _shot(page, "audit", tmp_path)


@pytest.mark.parametrize("name", ["ana", "boss"])
def test_every_role_opens_user_search(server, page, name):
    url, _, _ = server
    _sign_in(page, f"{url}/users", name)
    box = page.get_by_label("닉네임", exact=False)
    box.fill("김")
    box.press("Enter")
    page.locator('[data-testid="stDataFrame"]').nth(3).wait_for(timeout=30_000)
    _settled(page)
    body = page.inner_text("body")
    assert "Traceback" not in body and page.locator('[data-testid="stException"]').count() == 0
    one_channel = "한 번에 한 채널에서만" in body
    assert one_channel == (name == "ana")
