"""Every page reads as a person reads numbers and times (issue 21 §1), in a real browser:
`python -m dashboard serve` (no accounts: every page is listed) over a demo-like lake (the
viewers fixture: broadcasts with titles, viewer polls, followers, donations) and over the
hostile one (tests/lakefixture_rich.py, hostile=True: markup and odd text in every name).
One Chromium page opens every page the sidebar lists — whatever st.navigation registers,
pages added later included — and each of its section tabs, in Korean and in English, and
reads its visible text, table cells included (glide-data-grid keeps the rows it draws in an
accessible table): no `None`, `NaN`, `1e+4`, raw fraction, unrounded decimal, count without
separators or time with an offset (tests/page_checks.raw_values)."""
from __future__ import annotations

import os
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import pytest
from playwright.sync_api import Error as PlaywrightError

from tests import browser_checks as checks
from tests.lakefixture_rich import build_rich_lake
from tests.page_checks import FIRST, LAST, raw_values
from tests.served_process import free_port, stop, wait_healthy
from tests.viewer_answers import build_viewers_lake

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
# each lake and the days its pages are opened on (the hostile lake's last week: its 52 days
# on every page cost minutes on a loaded machine and show nothing a week does not)
LAKES = {"demo": (build_viewers_lake, FIRST, LAST),
         "hostile": (lambda root: build_rich_lake(root, hostile=True), LAST - timedelta(days=6), LAST)}
MAIN = '[data-testid="stMain"]'


@pytest.fixture(scope="module", params=list(LAKES))
def served(request, tmp_path_factory):
    """(base url, its days as a query, untrusted texts of the lake) of one served dashboard per
    lake, no accounts."""
    build, first, last = LAKES[request.param]
    lake = tmp_path_factory.mktemp(request.param)
    facts = build(lake)
    own = tmp_path_factory.mktemp("dashboard")
    env = {**os.environ, "WAREHOUSE_DIR": str(lake), "DASHBOARD_ACCOUNTS_FILE": str(own / "accounts.toml"),
           "DASHBOARD_AUDIT_FILE": str(own / "audit.jsonl"), "DASHBOARD_ADDRESS": "127.0.0.1",
           "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
    port = free_port()
    with (own / "streamlit.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "dashboard", "serve", "--port", str(port)], cwd=REPO,
                                env=env, stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, timeout=120)  # its warm-up took 39 s on the shared machine
            yield url, f"from={first.isoformat()}&to={last.isoformat()}", _untrusted(facts)
        finally:
            stop(proc, timeout=10)


def _untrusted(facts: dict) -> set[str]:
    """The lake's own texts (names, nicknames, messages), which may read like anything."""
    texts = set(facts["channel_names"].values())
    for r in facts["rows"]:
        texts.update(str(r.get(k)) for k in ("nickname", "message") if r.get(k))
    return texts


def _text(page) -> str:
    """What the page shows: the main area's text and the sidebar's, table cells included."""
    return page.inner_text(MAIN) + "\n" + checks.sidebar(page).inner_text()


def _views(page, url: str) -> dict[str, str]:
    """The text of the page at `url` and of each of its section tabs, by where it was read."""
    page.goto(url, wait_until="domcontentloaded")
    page.locator(f"{MAIN} h1").first.wait_for(timeout=checks.TIMEOUT)
    checks.rerun_done(page)
    views = {url: _text(page)}
    tabs = page.locator(f'{MAIN} [role="tab"]')
    for i in range(1, tabs.count()):  # the first is open already
        name = tabs.nth(i).inner_text()
        tabs.nth(i).click()
        checks.rerun_done(page)
        views[f"{url} [{name}]"] = _text(page)
    return views


def _pages(page, url: str, query: str) -> list[str]:
    """The url of every page the sidebar lists (st.navigation's registered pages)."""
    page.goto(f"{url}/?{query}", wait_until="domcontentloaded")
    page.locator('[data-testid="stSidebarNav"] a').first.wait_for(timeout=checks.TIMEOUT)
    checks.rerun_done(page)
    hrefs = page.locator('[data-testid="stSidebarNav"] a').evaluate_all("links => links.map(a => a.href)")
    return list(dict.fromkeys(h.split("?")[0] for h in hrefs))


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_every_page_reads_as_people_read_numbers(served, page, lang):
    url, days, untrusted = served
    query = f"lang={lang}&{days}"
    pages = _pages(page, url, query)
    assert len(pages) >= 15, pages
    problems: dict[str, list[str]] = {}
    for href in pages:
        try:
            views = _views(page, f"{href}?{query}")
        except PlaywrightError as exc:  # say which page did not finish drawing
            raise AssertionError(f"{href}?{query}: {exc}") from exc
        for where, text in views.items():
            assert "Traceback" not in text, where
            found = raw_values(text, untrusted)
            if found:
                problems[where] = found[:5]
    assert not problems, problems
