"""The dashboard in a real browser: `streamlit run` on loopback over the fixture lake,
Debian's Chromium driven by Playwright. Each page is checked against figures counted from
the fixture lake (tests/browser_checks.py) and saved as one screenshot: to docs/screenshots/
with UPDATE_SCREENSHOTS=1 (`make screenshots`), else to the test's temporary folder, so a
test run leaves git clean."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests import browser_checks as checks
from tests.browser_checks import PAGES, SHOTS
from tests.lakefixture import build_fixture_lake
from tests.served_process import free_port, stop, wait_healthy

pytestmark = pytest.mark.e2e

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base url, fixture facts) of a streamlit server over a fresh fixture lake."""
    lake = tmp_path_factory.mktemp("lake")
    facts = build_fixture_lake(lake)
    port = free_port()
    own = tmp_path_factory.mktemp("dashboard")  # never the developer's accounts or audit log
    env = {**os.environ, "WAREHOUSE_DIR": str(lake), "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false",
           "DASHBOARD_ACCOUNTS_FILE": str(own / "accounts.toml"), "DASHBOARD_AUDIT_FILE": str(own / "audit.jsonl")}
    log = (tmp_path_factory.mktemp("log") / "streamlit.log").open("wb")
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "dashboard/streamlit_app.py",
         "--server.headless", "true", "--server.address", "127.0.0.1", "--server.port", str(port),
         "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, proc, timeout=40)
        yield url, facts
    finally:
        stop(proc, timeout=10)
        log.close()


@pytest.mark.parametrize("path", list(PAGES))
def test_page_renders_in_chromium(server, browser, path, tmp_path):
    url, facts = server
    name = PAGES[path]
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    checks.watch(page)
    try:
        page.goto(f"{url}/{path}", wait_until="domcontentloaded")
        checks.settle(page, checks.TITLES[name])
        if name in checks.SEARCH:
            checks.search(page, name)
        assert "localhost" in page.inner_text("body")
        checks.check_page(page, name, facts, facts["channel_ids"])
        shots = SHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
        shots.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
        assert (shots / f"{name}.png").stat().st_size > 10_000  # a blank page is far smaller
    finally:
        page.close()


def test_a_copied_link_opens_the_same_section(server, browser):
    """A page's open section tab is in the URL (?section=id): opening that URL shows that
    tab, and only its charts; an id the page does not offer opens the first tab."""
    from playwright.sync_api import expect

    url, _ = server
    page = browser.new_page(viewport={"width": 1400, "height": 1800})
    checks.watch(page)
    try:
        page.goto(f"{url}/subscribers?section=mix", wait_until="domcontentloaded")
        checks.settle(page, checks.TITLES["subscribers"])
        expect(checks.section_tab(page, "subs_mix")).to_have_attribute("aria-selected", "true",
                                                                       timeout=checks.TIMEOUT)
        expect(page.locator(checks.CHARTS)).to_have_count(2, timeout=checks.TIMEOUT)
        assert "section=mix" in page.url
        page.goto(f"{url}/donations?section=mix", wait_until="domcontentloaded")  # not a Donations section
        checks.settle(page, checks.TITLES["donations"])
        expect(checks.section_tab(page, "don_over_time")).to_have_attribute("aria-selected", "true",
                                                                            timeout=checks.TIMEOUT)
        expect(page.locator(checks.CHARTS)).to_have_count(1, timeout=checks.TIMEOUT)
        page.wait_for_function("() => !location.search.includes('section=')", timeout=checks.TIMEOUT)
    finally:
        page.close()
