"""Accounts in a real browser: `python -m dashboard serve` with an accounts file over the
fixture lake, Debian's Chromium through Playwright. Each role signs in through the form and
opens every page it may see, each checked against figures counted from the fixture lake
(tests/browser_checks.py); a sidebar filter changes the page, the URL and the downloads,
which are read back (CSV and Parquet); a streamer opens a URL naming another channel and
sees none of it. Screenshots of the login, keyword and audit pages go to docs/screenshots/
with UPDATE_SCREENSHOTS=1 (`make screenshots`, which also runs dashboard/test_browser.py
for the other pages), else to a temp folder."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pyarrow.parquet as pq
import pytest

from dashboard import accounts, audit
from tests import browser_checks as checks
from tests.browser_checks import PAGES, SHOTS, t
from tests.lakefixture import build_fixture_lake
from tests.served_process import free_port, stop, wait_healthy

pytestmark = pytest.mark.e2e
from tests.page_checks import csv_download
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
    page.goto(url, wait_until="domcontentloaded")
    page.get_by_label("아이디").fill(name)
    page.get_by_label("비밀번호").fill(password)
    page.get_by_role("button", name="로그인").click()
    if password == PASSWORD:  # signed in: st.rerun draws the app in a second run, which shows this
        checks.sidebar(page).get_by_text(t("login_signed_in")).wait_for(timeout=checks.TIMEOUT)
    checks.rerun_done(page)


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
    checks.rerun_done(page)
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
    _shot(page, "keywords", tmp_path)
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
    _shot(page, "audit", tmp_path)


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
    raw, filename = _download(page, t("download_csv"))
    assert filename == f"{stem}.csv"
    assert raw.startswith(b"\xef\xbb\xbf")  # the BOM: Excel reads it as UTF-8
    assert all(names[c].encode() in raw for c in kept)  # Hangul intact, byte for byte
    csv = csv_download(raw, ("channel_id", "channel_name", "donations", "amount", "anonymous"))
    got = sorted(csv.select("channel_id", "channel_name", "donations", "amount", "anonymous").iter_rows())
    assert got == want

    raw, filename = _download(page, t("download_parquet"))
    assert filename == f"{stem}.parquet"
    table = pq.read_table(io.BytesIO(raw))
    assert table.column_names == csv.columns
    got = sorted(tuple(r[k] for k in ("channel_id", "channel_name", "donations", "amount", "anonymous"))
                 for r in table.to_pylist())
    assert got == want


def _query(address: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(address).query).items()}


def _download(page, button: str) -> tuple[bytes, str]:
    """Click the page's first `button` (the first table's) and return the file and its name."""
    with page.expect_download(timeout=30_000) as got:
        page.get_by_role("button", name=button).first.click()
    return Path(got.value.path()).read_bytes(), got.value.suggested_filename


def test_every_readme_screenshot_is_taken_by_a_browser_test():
    """`make screenshots` runs every browser test file (tests/dashboard/test_browser*.py);
    between them they write every image the README shows."""
    shown = set(re.findall(r"docs/screenshots/([\w-]+)\.png", (REPO / "README.md").read_text(encoding="utf-8")))
    taken = set(PAGES.values())
    for test_file in Path(__file__).parent.glob("test_browser*.py"):
        taken |= set(re.findall(r'_shot\(page, "([\w-]+)"', test_file.read_text(encoding="utf-8")))
    assert shown and shown <= taken, shown - taken
    make = (REPO / "Makefile").read_text(encoding="utf-8")
    target = make[make.index("\nscreenshots:"):].split("\n\n")[0]
    assert "tests/dashboard/test_browser*.py" in target
