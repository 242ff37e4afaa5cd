"""The Emotes and Top words pages in a real browser (Debian's Chromium through Playwright),
`python -m dashboard serve` over the emote lake (tests/lakefixture_emotes.py) with an admin,
a streamer of channel A and an analyst. Each role signs in and opens both pages: the figures
are those of the lines it may see (counted in plain Python), the browser fetches emote
images only from CHZZK's image host — never a hostile URL of the lake (javascript:, data:,
http, another host, a quote break-out) — no dialog opens, and the CSV download holds the
words of its channels only."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests import browser_checks as checks
from tests.browser_checks import t
from tests.lakefixture import build_accelerators
from tests.lakefixture_emotes import HOSTILE, build_emote_lake
from tests.page_checks import csv_download
from warehouse.read.accelerators import EMOTES, WORDS

pytestmark = pytest.mark.e2e
REPO = Path(__file__).resolve().parents[2]
CODE = re.compile(r"\{:[^{}:]+:\}")


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    lake = tmp_path_factory.mktemp("emote_lake")
    facts = build_emote_lake(lake)
    build_accelerators(lake, EMOTES, WORDS, tz="Asia/Seoul")
    own = tmp_path_factory.mktemp("emote_dashboard")
    with checks.served_with_roles(lake, own, facts["A"], DISPLAY_TZ="Asia/Seoul") as url:
        yield url, facts


@pytest.fixture
def page(page):
    """conftest's page, which also records every URL it asks for and every dialog (dismissed)."""
    page.requested = []
    page.dialogs = []
    page.on("request", lambda r: page.requested.append(r.url))
    page.on("dialog", lambda d: (page.dialogs.append(d.message), d.dismiss()))
    return page


def _lines(facts: dict, channels: list[str]) -> list[dict]:
    return [r for r in facts["rows"] if r["channel_id"] in channels and r["user_id"] != "SYSTEM_MESSAGE"]


@pytest.mark.parametrize("name", ["boss", "mgr", "ana"])
def test_each_role_sees_its_emotes_and_words(server, page, name, tmp_path):
    url, facts = server
    channels = [facts["A"]] if name == "mgr" else facts["channel_ids"]
    checks.sign_in(page, f"{url}/emotes", name)  # the sidebar folds pages past ten: open them by address
    checks.settle(page, "emo_page_title")
    lines = _lines(facts, channels)
    checks.expect_metrics(page, {t("emo_lines"): f"{sum(bool(CODE.search(r['message'])) for r in lines):,}"})
    page.locator('[data-testid="stDataFrame"]').first.wait_for(timeout=checks.TIMEOUT)
    page.wait_for_timeout(500)  # the grid asks for its images as it draws
    assert page.locator('[data-testid="stException"]').count() == 0
    hosts = {re.sub(r"^https?://([^/]+)/.*$", r"\1", u) for u in page.requested if u.startswith("http")}
    # the server, the admitted image's host and the web fonts Streamlit's own page asks for
    assert hosts <= {"127.0.0.1:" + url.rsplit(":", 1)[1], "nng-phinf.pstatic.net", "fonts.gstatic.com",
                     "fonts.googleapis.com"}, hosts
    assert not [u for u in page.requested if u.startswith(("javascript:", "data:image/png;base64,AAAA"))]
    assert not any(h in u for u in page.requested for h in ("evil.example.com", "onerror", HOSTILE["http"]))
    assert any("nng-phinf.pstatic.net" in u for u in page.requested)  # the admitted image was asked for
    body = page.inner_text("body")
    assert HOSTILE["quote"] not in body and not page.dialogs
    if name == "boss":
        checks.shot(page, "emotes", tmp_path)

    checks.sign_in(page, f"{url}/words", name)
    checks.settle(page, "words_page_title")
    with page.expect_download(timeout=checks.TIMEOUT) as got:
        page.get_by_role("button", name=t("download_csv")).last.click()
    tokens = set(csv_download(Path(got.value.path()).read_bytes(), ("token",))["token"])
    assert {"방송", "오늘", "재밌다"} <= tokens
    assert ("game" in tokens) == (name != "mgr")  # channel B's word, not the streamer's
    assert not page.dialogs and page.locator('[data-testid="stException"]').count() == 0
    if name == "boss":
        checks.shot(page, "words", tmp_path)
