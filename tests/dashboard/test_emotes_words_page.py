"""The Emotes and Top words pages in AppTest over the emote lake (tests/lakefixture_emotes.py):
figures equal the analyst API's, images only from admitted URLs (hostile ones stay text and
never reach markup), both languages, and role scoping (a streamer sees their channel only)."""
from __future__ import annotations

from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

import warehouse
from dashboard import accounts, data, login
from dashboard.app_pages.widgets import LANG_KEY
from dashboard.i18n import t
from tests.lakefixture import build_accelerators
from tests.lakefixture_emotes import HOSTILE, build_emote_lake
from tests.page_checks import APP, frame_of, ok
from tests.section_tabs import open_section
from warehouse.read.accelerators import EMOTES, WORDS

pytestmark = pytest.mark.e2e
DAYS = (date(2026, 9, 1), date(2026, 9, 2))
PASSWORD = "emote pass 1"


@pytest.fixture(scope="module")
def emote_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("emote_pages")
    facts = build_emote_lake(root)
    build_accelerators(root, EMOTES, WORDS, tz="Asia/Seoul")
    return str(root), facts


@pytest.fixture
def app(emote_lake, monkeypatch):
    root, facts = emote_lake
    monkeypatch.setenv("WAREHOUSE_DIR", root)
    monkeypatch.setattr(login, "FAIL_DELAY", 0.0)
    login.reset_failures()
    data.clear_caches()
    facts = dict(facts, root=root)
    yield lambda: AppTest.from_file(APP, default_timeout=60), facts
    data.clear_caches()


def _open(at: AppTest, page: str) -> AppTest:
    at.run(timeout=60)
    at.date_input(key="f_dates").set_value(DAYS).run(timeout=60)
    at.switch_page(f"app_pages/{page}.py").run(timeout=60)
    ok(at)
    return at


def _no_markup(at: AppTest) -> None:
    shown = " ".join(str(m.value) for m in [*at.markdown, *at.caption, *at.title, *at.subheader, *at.info])
    assert not any(v in shown for v in HOSTILE.values()) and "{:" not in shown


def test_emotes_page_matches_the_api(app):
    new, facts = app
    at = _open(new(), "emotes")
    wh = warehouse.open(facts["root"], tz="Asia/Seoul")
    summary = warehouse.emote_summary(wh, start=DAYS[0], end=DAYS[1]).row(0, named=True)
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("emo_lines")] == f"{summary['emote_lines']:,}"
    assert metrics[t("emo_only")] == f"{summary['emote_only']:,}"
    table = frame_of(at, "image", "emote")
    want = warehouse.emote_ranking(wh, start=DAYS[0], end=DAYS[1], limit=100)
    assert table["emote"].tolist() == want["emote"].to_list()
    assert table["uses"].tolist() == want["uses"].to_list()
    images = dict(zip(table["emote"], table["image"], strict=True))
    assert images["d_47"].startswith("https://nng-phinf.pstatic.net/")
    for code in ("js", "data", "http", "evil", "quote", "nourl"):
        assert not isinstance(images[code], str), code  # hostile or unknown: no image, the code and URL as text
    assert dict(zip(table["emote"], table["url"], strict=True))["js"] == HOSTILE["js"]
    _no_markup(at)
    # per broadcast: the trend and the broadcast's ranking
    open_section(at, "emo_section", t("emo_tab_broadcast"))
    assert at.selectbox(key="emo_broadcast_pick").value
    assert frame_of(at, "image", "emote")["uses"].sum() > 0
    # per user: the leaderboard, then one user's emotes
    open_section(at, "emo_section", t("emo_tab_users"))
    users = frame_of(at, "user_id", "nickname")
    assert users["user_id"].tolist() == warehouse.emote_users(wh, start=DAYS[0], end=DAYS[1], limit=100)["user_id"].to_list()
    assert "anonymous" not in users["user_id"].tolist()
    at.selectbox(key="emo_user_pick").set_value("u2").run(timeout=60)
    ok(at)
    assert frame_of(at, "image", "emote")["emote"].tolist() == ["d_47"]
    _no_markup(at)


def test_words_page_matches_the_api_in_english(app):
    new, facts = app
    at = new()
    at.query_params["lang"] = "en"
    at = _open(at, "words")
    assert at.title[0].value == "Top words" and at.session_state[LANG_KEY] == "en"
    wh = warehouse.open(facts["root"], tz="Asia/Seoul")
    table = frame_of(at, "kind", "token")
    want = warehouse.top_words(wh, start=DAYS[0], end=DAYS[1], kinds=("word",), limit=100)
    assert table["token"].tolist() == want["token"].to_list()
    at.radio(key="words_kind").set_value("laugh").run(timeout=60)
    ok(at)
    assert frame_of(at, "kind", "token")["token"].tolist() == ["ㅋㅋ", "ㅎㅎ"]
    at.radio(key="words_scope").set_value("broadcast").run(timeout=60)
    ok(at)
    assert at.selectbox(key="words_broadcast_pick").value


@pytest.mark.parametrize("role", ["streamer", "analyst"])
def test_roles_see_their_channels_only(app, tmp_path, monkeypatch, role):
    new, facts = app
    file = tmp_path / "accounts.toml"
    chans = (facts["A"],) if role == "streamer" else ()
    accounts.save({"who": accounts.Account("who", role, chans, False, accounts.hash_password(PASSWORD, n=2**12))},
                  file)
    monkeypatch.setenv("DASHBOARD_ACCOUNTS_FILE", str(file))
    at = new()
    at.run(timeout=60)
    at.text_input(key="login_name").input("who")
    at.text_input(key="login_password").input(PASSWORD)
    at.button[0].click().run(timeout=60)
    ok(at)
    at = _open(at, "emotes")
    emotes = frame_of(at, "image", "emote")["emote"].tolist()
    assert ("b_1" in emotes) == (role == "analyst") and "d_47" in emotes
    at.switch_page("app_pages/words.py").run(timeout=60)
    ok(at)
    tokens = frame_of(at, "kind", "token")["token"].tolist()
    assert ("game" in tokens) == (role == "analyst")  # channel B's word
