"""The channel report (issue 20 §9) in a real browser: `python -m dashboard serve` over the
pages fixture lake (whose fourth channel's name, nicknames and lines are markup), the
streamer of that channel opens the Channel page's Report section from a URL and downloads
the HTML and the PDF. The HTML is the report of their channel for the URL's week, and opened
in Chromium it runs nothing and fetches nothing (no dialog, no request) while showing the
hostile name as text; the PDF read back by pypdf holds the Korean labels and that name. The
opened report is the README's screenshot (docs/screenshots/ with UPDATE_SCREENSHOTS=1, else
a temp folder)."""
from __future__ import annotations

import io

import pytest

from tests import browser_checks as checks
from tests.browser_checks import t
from tests.lakefixture_pages import ADV_NAME, build_pages_lake
from tests.page_checks import PAGES_WEEK

pytestmark = pytest.mark.e2e
WEEK = f"from={PAGES_WEEK[0].isoformat()}&to={PAGES_WEEK[1].isoformat()}"


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    lake = tmp_path_factory.mktemp("report_lake")
    facts = build_pages_lake(lake)
    own = tmp_path_factory.mktemp("report_dashboard")
    with checks.served_with_roles(lake, own, facts["adv_channel"]) as url:
        yield url, facts


def test_streamer_downloads_the_report_html_and_pdf(server, page, tmp_path):
    pypdf = pytest.importorskip("pypdf")
    url, facts = server
    adv = facts["adv_channel"]
    checks.sign_in(page, f"{url}/channel?section=report&channel={adv}&{WEEK}", "mgr")
    checks.settle(page, "page_channel")
    page.get_by_role("button", name=t("channel_report_html")).wait_for(timeout=checks.TIMEOUT)
    assert page.locator('[data-testid="stException"]').count() == 0
    html, name = checks.download(page, t("channel_report_html"))
    assert name == f"report_ko_{adv[:12]}_{PAGES_WEEK[0]:%Y%m%d}-{PAGES_WEEK[1]:%Y%m%d}.html"
    doc = html.decode("utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in doc and "<script" not in doc.lower()
    body, _ = checks.download(page, t("channel_report_pdf"))
    text = "".join(p.extract_text() for p in pypdf.PdfReader(io.BytesIO(body)).pages)
    for want in (ADV_NAME, "채널 리포트", "채팅 상위 참여자", "하이라이트"):
        assert want in text, want

    # the file itself, opened in the browser: shown, nothing run, nothing fetched
    dialogs, requests = [], []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    page.on("request", lambda r: requests.append(r.url))
    report = tmp_path / "report.html"
    report.write_bytes(html)
    page.set_viewport_size({"width": 820, "height": 1200})
    page.goto(report.as_uri(), wait_until="load")
    assert page.locator("h1").inner_text() == ADV_NAME
    assert page.locator("svg polyline").count() >= 1  # the chat curve
    assert dialogs == [] and requests == [report.as_uri()]
    checks.shot(page, "report", tmp_path)
