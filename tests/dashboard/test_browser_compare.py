"""The Compare page (issue 20 §3) in a real browser, for each role: `python -m dashboard serve`
with an admin, the streamer of channel 0 and an analyst over the viewers fixture lake
(tests/viewer_answers.py), Debian's Chromium through Playwright. Each role opens the page for
the lake's whole range from a URL, downloads the overlay (Parquet: the API's columns and
values) and finds the two newest broadcasts of the channels it may see, their windows as
plain Python counts them; then the channels tab's table, only its channels; a streamer sees
no other channel's name. The admin's view is the README's screenshot (docs/screenshots/ with
UPDATE_SCREENSHOTS=1, else a temp folder)."""
from __future__ import annotations

import polars as pl
import pytest

from tests import browser_checks as checks
from tests import compare_answers
from tests.lakefixture_rich import user_rows
from tests.page_checks import FIRST, LAST
from warehouse.read.queries.viewers import GAP_SECONDS

pytestmark = pytest.mark.e2e
RANGE = f"from={FIRST.isoformat()}&to={LAST.isoformat()}"


def _newest(facts, visible, n: int = 2) -> list[tuple[str, str]]:
    """The `n` newest broadcasts (by first line) of the visible channels."""
    first: dict = {}
    for r in user_rows(facts, visible):
        if r["chat_channel_id"]:
            key = (r["channel_id"], r["chat_channel_id"])
            first[key] = min(first.get(key, r["chat_time"]), r["chat_time"])
    return sorted(first, key=first.get, reverse=True)[:n]


@pytest.mark.parametrize("name", ["boss", "mgr", "ana"])
def test_each_role_compares_its_broadcasts_and_channels(viewers_server, page, name, tmp_path):
    url, facts = viewers_server
    visible = facts["channel_ids"][:1] if name == "mgr" else facts["channel_ids"]
    hidden = [facts["channel_names"][c] for c in facts["channel_ids"] if c not in visible]
    checks.sign_in(page, f"{url}/compare?{RANGE}", name)
    checks.settle(page, "page_compare")
    page.locator(checks.CHART).first.wait_for(timeout=checks.TIMEOUT)
    assert page.locator('[data-testid="stException"]').count() == 0
    body = page.inner_text("body")
    assert "Traceback" not in body and not any(n in body for n in hidden)
    if name == "boss":
        checks.shot(page, "compare", tmp_path)
    overlay = checks.parquet_download(page)
    pairs = list(dict.fromkeys(zip(overlay["channel_id"], overlay["broadcast"], strict=True)))
    assert pairs == _newest(facts, visible)
    for cid, bc in pairs:
        mine = overlay.filter((pl.col("channel_id") == cid) & (pl.col("broadcast") == bc))
        want = compare_answers.broadcast_windows(facts, cid, bc, 5, GAP_SECONDS)
        assert mine.select("offset_minutes", "messages", "chatters", "amount").rows() == [
            (w["offset_minutes"], w["messages"], w["chatters"], w["amount"]) for w in want]

    checks.section_tab(page, "compare_channels").click()
    checks.rerun_done(page)
    side = checks.parquet_download(page)
    want = compare_answers.channel_figures(facts, FIRST, LAST, visible)
    assert dict(zip(side["channel_id"], side["messages"], strict=True)) == {c: w["messages"] for c, w in want.items()}
    assert not any(n in page.inner_text("body") for n in hidden)
