"""The Viewers and Categories pages (issue 20 §1, §5) in a real browser: `python -m dashboard
serve` with an accounts file over the viewers fixture lake (tests/viewer_answers.py), Debian's
Chromium through Playwright. Each role (admin, a streamer of channel 0, an analyst) signs in,
opens both pages for the lake's whole range, and downloads their first table: its rows are
the broadcasts and categories of the channels that role may see, with the viewer figures
computed in plain Python; a streamer sees no other channel's name."""
from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import polars as pl
import pytest

from tests import browser_checks as checks
from tests import viewer_answers
from tests.browser_checks import t
from tests.lakefixture_rich import user_rows
from tests.page_checks import FIRST, LAST, csv_download
from warehouse.read.queries.viewers import GAP_SECONDS

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
RANGE = f"from={FIRST.isoformat()}&to={LAST.isoformat()}"


def _csv(page, columns: tuple[str, ...]) -> pl.DataFrame:
    """The page's first table, through its CSV download (`columns` under their API names)."""
    return csv_download(checks.download(page, t("download_csv"))[0], columns)


def _clean(page, facts, visible) -> None:
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.inner_text("body")
    assert "Traceback" not in body
    assert not any(facts["channel_names"][c] in body for c in facts["channel_ids"] if c not in visible)


@pytest.mark.parametrize("name", ["boss", "mgr", "ana"])
def test_each_role_sees_its_channels_viewers_and_categories(viewers_server, page, name, tmp_path):
    url, facts = viewers_server
    visible = facts["channel_ids"][:1] if name == "mgr" else facts["channel_ids"]
    checks.sign_in(page, f"{url}/viewers?{RANGE}", name)
    checks.settle(page, "page_viewers")
    _clean(page, facts, visible)
    if name == "boss":
        checks.shot(page, "viewers", tmp_path)
    table = _csv(page, ("broadcast", "channel_id", "avg_viewers", "peak_viewers"))
    broadcasts = {r["chat_channel_id"] for r in user_rows(facts, visible) if r["chat_channel_id"]}
    assert set(table["broadcast"]) == broadcasts and set(table["channel_id"]) <= set(visible)
    expected = viewer_answers.broadcast_viewers(facts, GAP_SECONDS)
    for row in table.iter_rows(named=True):
        e = expected.get(row["broadcast"])
        assert (row["avg_viewers"] is None) == (e is None)
        if e:
            assert (round(row["avg_viewers"], 6), row["peak_viewers"]) == (round(e["avg_viewers"], 6),
                                                                         e["peak_viewers"])

    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=t("page_categories")).click()
    checks.settle(page, "page_categories")
    _clean(page, facts, visible)
    page.locator(checks.CHART).first.wait_for(timeout=checks.TIMEOUT)
    if name == "boss":
        checks.shot(page, "categories", tmp_path)
    hours: dict = defaultdict(float)
    sessions = {s["id"]: s["chat_channel_id"] for s in facts["live_session"].to_pylist()}
    for bc, polls in viewer_answers.held_polls(facts, GAP_SECONDS).items():
        if bc in broadcasts:
            for p in polls:
                hours[p["live_category_value"]] += p["held"] / 3600
    assert sessions  # the fixture's sessions are there to be scoped
    got = {r["category"]: r["hours"] for r in _csv(page, ("category", "hours")).iter_rows(named=True) if r["category"] is not None}
    assert got == pytest.approx(dict(hours)) and hours
