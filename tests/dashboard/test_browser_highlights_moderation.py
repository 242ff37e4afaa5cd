"""The Highlights and Moderation pages in a real browser, for each role: `python -m dashboard
serve` with three accounts over the moments fixture lake (tests/lakefixture_moments.py),
Debian's Chromium through Playwright. Every role opens a broadcast's highlights from a URL
and downloads the moments (CSV) and the EDL, read back and checked against the fixture's
known moments; admins and the channel's streamer open Moderation from the sidebar and see
the figures counted in plain Python for the channels they may see (its CSV read back); an
analyst finds no Moderation link and gets nothing of it from its URL. Screenshots go to
docs/screenshots/ with UPDATE_SCREENSHOTS=1, else to a temp folder."""
from __future__ import annotations

from pathlib import Path

import polars as pl
import pytest
from playwright.sync_api import expect

from tests import browser_checks as checks
from tests.browser_checks import t
from tests.lakefixture_moments import NOTICE_TEXT, build_moments_lake
from tests.page_checks import csv_download

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base url, fixture facts) of `python -m dashboard serve` with an admin, the streamer
    of channel A and an analyst."""
    lake = tmp_path_factory.mktemp("moments_lake")
    facts = build_moments_lake(lake)
    own = tmp_path_factory.mktemp("moments_dashboard")
    with checks.served_with_roles(lake, own, facts["channel_ids"][0]) as url:
        yield url, facts


def _moderation_figures(facts, channels) -> dict[str, str]:
    lines = [r for r in facts["rows"] if r["user_id"] != "SYSTEM_MESSAGE" and r["channel_id"] in channels]
    blinded = sum(r["message_status"] != "NORMAL" for r in lines)
    restricts = [e for e in facts["events"] if e["event_type"] == "TEMPORARY_RESTRICT" and e["channel_id"] in channels]
    return {t("mod_lines"): f"{len(lines):,}", t("mod_blinded"): f"{blinded:,}",
            t("mod_blinded_share"): f"{blinded / len(lines) * 100:.2f}%", t("mod_restrictions"): f"{len(restricts):,}"}


@pytest.mark.parametrize("name", ["boss", "mgr", "ana"])
def test_each_role_highlights_and_moderation(server, page, name, tmp_path):
    url, facts = server
    own, other = facts["channel_ids"]
    checks.sign_in(page, f"{url}/highlights?broadcast={own}:BCA1", name)
    checks.settle(page, "hl_page_title")
    assert page.locator('[data-testid="stException"]').count() == 0
    page.locator(checks.CHART).first.wait_for(timeout=checks.TIMEOUT)
    if name == "boss":
        checks.shot(page, "highlights", tmp_path)
    raw = checks.download(page, t("download_csv"))[0]
    moments = csv_download(raw, ("offset_seconds", "dominated"))
    assert moments["offset_seconds"].to_list()[0] == 690  # the laughter burst, 90 s after the open
    assert moments.filter(pl.col("dominated"))["offset_seconds"].to_list() == [1290]
    edl = checks.download(page, t("hl_edl"))[0].decode("utf-8")
    events = [line for line in edl.split("\n") if line[:3].isdigit()]
    assert len(events) == moments.height and edl.startswith("TITLE: ")
    resolve = [line for line in edl.split("\n") if line.startswith(" |C:")]
    assert len(resolve) == moments.height and all(line.count("|") == 3 for line in resolve)
    assert t("hl_marker_dominated") in edl  # the flood named as such, its hostile line cut and on one line

    nav = page.locator('[data-testid="stSidebarNav"]')
    link, more = nav.get_by_role("link", name=t("mod_page_title")), nav.locator('[data-testid="stSidebarNavViewButton"]')
    if not link.count() and more.count():  # past 10 pages Streamlit folds the list: unfold it
        more.click()
    may = name != "ana"
    assert link.count() == (1 if may else 0)
    if may:
        link.click()
        checks.settle(page, "mod_page_title")
        seen = [own, other] if name == "boss" else [own]
        checks.expect_metrics(page, _moderation_figures(facts, seen))
        table = csv_download(checks.download(page, t("download_csv"))[0], ("channel_id",))
        assert set(table["channel_id"]) == set(seen)
        if name == "boss":
            checks.shot(page, "moderation", tmp_path)
    else:  # not by its address either: the default page instead, nothing of moderation
        page.goto(f"{url}/moderation", wait_until="domcontentloaded")
        checks.rerun_done(page)
        page.locator('[data-testid="stMain"] h1').first.wait_for(timeout=checks.TIMEOUT)
        body = page.inner_text("body")
        assert t("mod_page_title") not in body and t("mod_blinded") not in body and NOTICE_TEXT not in body
        for label in ("mod_blinded_share", "mod_restrictions", "mod_restricted_users"):  # its own figures
            expect(checks.metric(page, t(label))).to_have_count(0)  # ("메시지" is the Overview's too)
