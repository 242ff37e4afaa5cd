"""Fixtures of the dashboard's page tests: the lakes are built once a session and only read
(a test that changes a lake builds its own)."""
from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data
from tests.lakefixture_pages import build_pages_lake
from tests.lakefixture_rich import build_rich_lake
from tests.page_checks import APP, ok
from warehouse.lake.layout import Lake
from warehouse.read.accelerators import users_index


@pytest.fixture(scope="session")
def pages_lake(tmp_path_factory):
    """The pages fixture lake (tests/lakefixture_pages.py): (root, facts)."""
    root = tmp_path_factory.mktemp("pages")
    return root, build_pages_lake(root)


@pytest.fixture
def pages_app(pages_lake, monkeypatch):
    """The app started on the pages lake (its default page run): (AppTest, facts)."""
    root, facts = pages_lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run(timeout=60)
    ok(at)
    yield at, facts
    data.clear_caches()


@pytest.fixture(scope="session")
def rich_pages_lake(tmp_path_factory):
    """A rich fixture lake for the Subscribers and Donations pages: (root, facts)."""
    root = tmp_path_factory.mktemp("rich_pages")
    return root, build_rich_lake(root)


@pytest.fixture(scope="session")
def synced_lake(tmp_path_factory):
    """The rich lake plus what a sync leaves beside it: the users side table and a
    _sync/state.json (day counts from the rows; one day deliberately off by one)."""
    root = tmp_path_factory.mktemp("rich_synced")
    facts = build_rich_lake(root)
    lake = Lake(str(root))
    users_index.build_users_index(lake)
    days = Counter(r["day"].isoformat() for r in facts["rows"])
    off = sorted(days)[3]
    lake.write_state({"version": 2, "last_sync": "2026-10-11T03:00:00+00:00",
                      "sync_started_at": "2026-10-11T02:59:58+00:00", "max_id": len(facts["rows"]),
                      "timezone": "Asia/Seoul", "days": {**days, off: days[off] + 1},
                      "tables": {"events": {"max_id": 0, "days": {}}}, "archived_days": ["2026-08-20"]})
    return root, facts, off


@pytest.fixture(scope="module")
def viewers_server(tmp_path_factory):
    """(base url, facts) of `python -m dashboard serve` over the viewers lake (sessions, polls and
    follower days: tests/viewer_answers.py) with an admin, a streamer of its first channel and an
    analyst (browser_checks.served_with_roles); one per browser test module that asks for it."""
    from tests import browser_checks, viewer_answers

    lake = tmp_path_factory.mktemp("viewers_lake")
    facts = viewer_answers.build_viewers_lake(lake)
    with browser_checks.served_with_roles(lake, tmp_path_factory.mktemp("viewers_dashboard"),
                                          facts["channel_ids"][0]) as url:
        yield url, facts


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium through Playwright, one per browser test module (skipped without it)."""
    from tests.browser_checks import CHROMIUM, CHROMIUM_ARGS

    if not Path(CHROMIUM).exists():
        pytest.skip(f"{CHROMIUM} not found: install Debian's chromium (make system-deps)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser):
    """A fresh browser context and page (1400x1600, downloads kept) with browser_checks'
    rerun watcher installed (rerun_done needs it); closed after the test."""
    from tests.browser_checks import watch

    context = browser.new_context(viewport={"width": 1400, "height": 1600}, accept_downloads=True)
    watch(context)
    yield context.new_page()
    context.close()
