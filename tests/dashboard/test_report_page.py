"""The Channel page's report section (issue 20 §9) in AppTest, for each role: the headline
figures are warehouse.channel_report's, the HTML download is page.render_html of that
report in the chosen language, the PDF download is offered where Chromium is; a streamer
gets the report of their own channel only (the page's picker holds nothing else)."""
from __future__ import annotations

import pytest
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import warehouse
from dashboard.i18n import t
from tests.page_checks import PAGES_WEEK, app_env, goto, ok, signed_app
from tests.section_tabs import open_section
from warehouse.report import figures, page, pdf, text

pytestmark = pytest.mark.e2e


@pytest.fixture
def files(monkeypatch):
    """{file name: bytes} of the download buttons drawn with their data (not a callable)."""
    got: dict[str, bytes] = {}
    store = MemoryMediaFileStorage.load_and_get_id

    def watched(self, path_or_data, mimetype, kind, filename=None):
        got[filename] = path_or_data
        return store(self, path_or_data, mimetype, kind, filename)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", watched)
    return got


@pytest.fixture
def new(pages_lake, tmp_path, monkeypatch):
    """AppTests over the pages lake; new((name, role, channels)) signs that account in."""
    with app_env(pages_lake[0], tmp_path, monkeypatch):
        def make(who: tuple | None = None) -> AppTest:
            at = signed_app(who)
            at.run(timeout=60)
            ok(at)
            return at

        yield make


def _report_section(at: AppTest) -> AppTest:
    goto(at, "channel")
    return open_section(at, "channel_section", t("channel_report"))


def _expected(root, cid: str) -> figures.Report:
    wh = warehouse.open(str(root))
    try:
        return warehouse.channel_report(wh, cid, *PAGES_WEEK)
    finally:
        wh.close()


@pytest.mark.parametrize("who", [None, ("boss", "admin", []), ("mgr", "streamer", ["ADV"]), ("ana", "analyst", [])],
                         ids=["local", "admin", "streamer", "analyst"])
def test_report_section_for_each_role(pages_lake, new, files, who):
    root, facts = pages_lake
    adv = facts["adv_channel"]
    if who is not None and who[1] == "streamer":
        who = (who[0], who[1], [adv])
    at = _report_section(new(who))
    picked = at.selectbox(key="channel_pick")
    if who is not None and who[1] == "streamer":
        assert list(picked.options) == [facts["channel_names"][adv]]  # their channel, nothing else
    else:
        assert len(picked.options) == len(facts["channel_ids"])
        picked.set_value(adv).run(timeout=60)
        ok(at)
    want = _expected(root, adv)
    shown = {m.label: m.value for m in at.metric}
    assert shown == {text.t(k, "ko"): text.figure(k, want.headline[k], "ko") for k in figures.HEADLINE}
    assert shown[text.t("messages", "ko")] == f"{want.headline['messages']:,}" and want.headline["messages"] > 0
    html = next(v for k, v in files.items() if k.startswith(f"report_ko_{adv[:12]}_") and k.endswith(".html"))
    assert html.decode("utf-8") == page.render_html(want, "ko")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in html.decode("utf-8")
    keys = {b.key for b in at.get("download_button")}
    assert keys == ({"report_html", "report_pdf"} if pdf.chromium() else {"report_html"})
    at.radio(key="report_lang").set_value("en").run(timeout=60)
    ok(at)
    english = next(v for k, v in files.items() if k.startswith(f"report_en_{adv[:12]}_") and k.endswith(".html"))
    assert english.decode("utf-8") == page.render_html(want, "en")
