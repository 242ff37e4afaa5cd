"""The Highlights and Moderation pages in AppTest over the moments fixture lake
(tests/lakefixture_moments.py): the moments table equals warehouse.highlights, with its
downloads and the marker files; the replay link from a typed number; moderation figures
counted in plain Python; and who may see moderation — the local user and admins all of it,
a streamer their own channel only, an analyst not at all (not listed, not by URL)."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import accounts
from dashboard.i18n import t
from tests.hostile_text import PAYLOADS
from tests.lakefixture_moments import NOTICE_TEXT, SPAMMER_NICK, build_moments_lake
from tests.lang_checks import assert_headers_follow, hangul
from tests.page_checks import app_env, goto, ok, signed_app
from tests.section_tabs import open_section
from warehouse.read.queries.highlights import highlights
from warehouse.read.warehouse import Warehouse

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("moments_pages")
    return root, build_moments_lake(root)


@pytest.fixture
def new(lake, tmp_path, monkeypatch):
    """A factory of AppTests over the lake; new((name, role, channels)) writes an accounts
    file first and signs that account in."""
    with app_env(lake[0], tmp_path, monkeypatch):
        def make(who: tuple | None = None) -> AppTest:
            at = signed_app(who)
            at.run(timeout=60)
            ok(at)
            return at

        yield make


def _markup_free(at: AppTest) -> None:
    for el in list(at.markdown) + list(at.caption) + list(at.title) + list(at.info) + list(at.warning):
        for text in (*PAYLOADS[:3], *PAYLOADS[5:], "|도배|"):
            assert text not in el.value, (text, el.value)


def test_highlights_page_table_downloads_and_replay_link(lake, new):
    root, facts = lake
    at = goto(new(), "highlights")
    cid = facts["channel_ids"][0]
    at.selectbox(key="hl_pick").set_value(f"{cid}:BCA1").run(timeout=60)
    ok(at)
    want = highlights(Warehouse(str(root)), cid, "BCA1", keywords=("ㅋㅋ",))
    table = at.dataframe[0].value
    assert list(table["rank"]) == want["rank"].to_list()
    assert list(table["offset_seconds"]) == want["offset_seconds"].to_list()
    assert list(table["at"])[0] == "0:11:30"
    assert list(table["dominated"]) == want["dominated"].to_list() and any(table["dominated"])
    assert SPAMMER_NICK in set(table["top_nickname"])  # as stored, in the dataframe only
    assert {b.key for b in at.get("download_button")} == {
        "hl_table_csv", "hl_table_parquet", "hl_youtube", "hl_edl", "hl_fcpxml"}
    assert any(t("hl_dominated_note").format(n=1) in c.value for c in at.caption)
    chapters = at.code[0].value.splitlines()
    assert chapters[0] == f"0:00 {t('hl_opening')}" and chapters[1].startswith("11:30 #1 ")
    assert all("\n" not in line and "<script>" not in line for line in chapters)
    assert table["replay_url"].isna().all()
    at.text_input(key="hl_video").input("9876543").run(timeout=60)
    ok(at)
    assert list(at.dataframe[0].value["replay_url"])[0] == "https://chzzk.naver.com/video/9876543?currentTime=690"
    at.text_input(key="hl_video").input("12; x").run(timeout=60)
    assert t("hl_video_bad") in [w.value for w in at.warning]
    _markup_free(at)


def test_moderation_page_figures_for_the_local_user(lake, new):
    root, facts = lake
    at = goto(new(), "moderation")
    lines = [r for r in facts["rows"] if r["user_id"] != "SYSTEM_MESSAGE"]
    blinded = sum(r["message_status"] != "NORMAL" for r in lines)
    restricts = [e for e in facts["events"] if e["event_type"] == "TEMPORARY_RESTRICT"]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("mod_lines")] == f"{len(lines):,}"
    assert metrics[t("mod_blinded")] == f"{blinded:,}"
    assert metrics[t("mod_blinded_share")] == f"{blinded / len(lines) * 100:.2f}%"
    assert metrics[t("mod_restrictions")] == f"{len(restricts):,}"
    assert set(at.dataframe[0].value["broadcast"]) == {"BCA1", "BCB1"}
    assert {b.key for b in at.get("download_button")} == {"mod_broadcasts_csv", "mod_broadcasts_parquet"}
    open_section(at, "mod_section", t("mod_notice_list"))
    assert NOTICE_TEXT in set(at.dataframe[0].value["text"])  # as stored, in the dataframe only
    open_section(at, "mod_section", t("mod_users"))
    assert list(at.dataframe[0].value["user_id"])[0] == facts["spammer"]
    _markup_free(at)


def test_moderation_roles(lake, new):
    root, facts = lake
    own, other = facts["channel_ids"]
    admin = goto(new(("boss", "admin", [])), "moderation")
    assert set(admin.dataframe[0].value["channel_id"]) == {own, other}
    streamer = goto(new(("mgr", "streamer", [own])), "moderation")
    assert set(streamer.dataframe[0].value["channel_id"]) == {own}
    open_section(streamer, "mod_section", t("mod_restriction_list"))
    assert set(streamer.dataframe[0].value["channel_id"]) == {own}
    analyst = new(("ana", "analyst", []))
    with pytest.raises(ValueError, match="Could not find a navigation page"):
        analyst.switch_page("app_pages/moderation.py")
    goto(analyst, "highlights").selectbox(key="hl_pick").set_value(f"{own}:BCA1").run(timeout=60)  # every role
    ok(analyst)
    assert {b.key for b in analyst.get("download_button")} >= {"hl_table_csv", "hl_edl"}
    assert not [b for b in analyst.get("download_button") if b.key.startswith("mod_")]
    assert accounts.may_see_moderation(None) and accounts.may_see_moderation(accounts.Account("a", "admin"), other)
    mgr = accounts.Account("m", "streamer", (own,))
    assert accounts.may_see_moderation(mgr, own) and not accounts.may_see_moderation(mgr, other)
    assert not accounts.may_see_moderation(accounts.Account("x", "analyst"))
    assert not accounts.may_see_moderation(accounts.Account("x", "analyst"), own)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_pages_follow_the_language(lake, new, lang):
    root, facts = lake
    at = new()
    at.session_state["lang"] = lang
    at.session_state["hl_pick"] = f"{facts['channel_ids'][0]}:BCA1"
    for page, title, tables in (("highlights", "hl_page_title", 1), ("moderation", "mod_page_title", 1)):
        goto(at, page)
        assert [x.value for x in at.title] == [t(title, lang)]
        assert len(at.dataframe) == tables
        assert_headers_follow(at, lang)
        words = [s.value for s in at.subheader] + [tab.label for tab in at.tabs] + [m.label for m in at.metric]
        assert words and all(hangul(w) == (lang == "ko") for w in words), words
    open_section(at, "mod_section", t("mod_users", lang))
    assert_headers_follow(at, lang)
    open_section(at, "mod_section", t("mod_restriction_list", lang))
    assert_headers_follow(at, lang)
