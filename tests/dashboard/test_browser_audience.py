"""The Audience page (issue 20 §7) in a real browser, for each role: `python -m dashboard
serve` with three accounts over the rich fixture lake (three channels sharing regulars),
Debian's Chromium through Playwright. An admin and an analyst see every pair's overlap (the
top pairs' Parquet download read back equals the shared chatters counted in plain Python);
the streamer of channel 0 is told overlap stays within their channels and sees no other
channel's name; every role downloads the retention table of the channel it may see.
Screenshots go to docs/screenshots/ with UPDATE_SCREENSHOTS=1, else to a temp folder."""
from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import pytest
from playwright.sync_api import expect

from tests import browser_checks as checks
from tests.browser_checks import t
from tests.lakefixture_rich import build_rich_lake, is_chatter, user_rows
from tests.page_checks import FIRST, LAST

pytestmark = pytest.mark.e2e
RANGE = f"from={FIRST.isoformat()}&to={LAST.isoformat()}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """(base url, facts) of `python -m dashboard serve` with an admin, the streamer of
    channel 0 and an analyst."""
    lake = tmp_path_factory.mktemp("audience_lake")
    facts = build_rich_lake(lake)
    own = tmp_path_factory.mktemp("audience_dashboard")
    with checks.served_with_roles(lake, own, facts["channel_ids"][0]) as url:
        yield url, facts


def _shared(facts, channels) -> dict:
    users = defaultdict(set)
    for r in user_rows(facts, channels, FIRST, LAST):
        if is_chatter(r):
            users[r["channel_id"]].add(r["user_id"])
    return {(a, b): len(users[a] & users[b]) for a, b in combinations(sorted(users), 2)}


@pytest.mark.parametrize("name", ["boss", "mgr", "ana"])
def test_each_role_sees_the_overlap_and_retention_it_may(server, page, name, tmp_path):
    url, facts = server
    cids = facts["channel_ids"]
    visible = cids[:1] if name == "mgr" else cids
    checks.sign_in(page, f"{url}/audience?{RANGE}", name)
    checks.settle(page, "page_audience")
    main = page.locator('[data-testid="stMain"]')
    assert page.locator('[data-testid="stException"]').count() == 0
    if name == "mgr":
        expect(main.get_by_text(t("aud_own_only"))).to_be_visible(timeout=checks.TIMEOUT)
        expect(main.get_by_text(t("aud_overlap_none"))).to_be_visible(timeout=checks.TIMEOUT)
        assert page.get_by_role("button", name=t("download_parquet")).count() == 0
    else:
        page.locator(checks.CHART).first.wait_for(timeout=checks.TIMEOUT)
        if name == "boss":
            checks.shot(page, "audience", tmp_path)
        pairs = checks.parquet_download(page)
        got = {(a, b): n for a, b, n in pairs.select("channel_a", "channel_b", "shared").iter_rows()}
        assert got == _shared(facts, cids) and all(got.values())
    body = page.inner_text("body")
    assert not any(facts["channel_names"][c] in body for c in cids if c not in visible)

    checks.section_tab(page, "aud_retention").click()
    checks.rerun_done(page)
    page.locator(checks.CHART).first.wait_for(timeout=checks.TIMEOUT)
    retention = checks.parquet_download(page)
    picked = retention["channel_id"].unique().to_list()
    assert len(picked) == 1 and picked[0] in visible
    order = [b["broadcast"] for b in facts["broadcasts"] if b["channel_id"] == picked[0]]
    assert retention["broadcast"].to_list() == order
    assert retention["returning_from_previous"].null_count() == 1  # the channel's first broadcast
