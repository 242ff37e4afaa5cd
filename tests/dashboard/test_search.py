"""The User search and Keyword search pages with AppTest over the fixture lake plus a few
rows of our own: a chatty user (paging), hostile nicknames and messages (shown as typed),
and a keyword with known counts. Expected answers are computed in plain Python from the
rows written."""
from __future__ import annotations

import copy
import csv
import hashlib
import io
import json
import shutil
import subprocess
from collections import Counter
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage
from streamlit.testing.v1 import AppTest

import warehouse
from dashboard import audit, charts, data
from dashboard.i18n import t
from tests import lakefixture
from tests import vega_checks as vega
from tests.lakefixture import CHANNEL_NAMES, write_rows
from tests.lang_checks import (
    assert_headers_follow,
    assert_time_labels_numeric,
    chart_titles,
    time_label_formats,
)
from warehouse.lake.layout import Lake

pytestmark = pytest.mark.e2e
APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py")
KST = ZoneInfo("Asia/Seoul")
CHATTY = "u" + hashlib.md5(b"chatty").hexdigest()
SCRIPT_NICK, BOLD_NICK = "<script>alert(1)</script>", "**bold**"
HOSTILE_MSG = "**굵게** <b>x</b> [link](javascript:alert(1)) 대박"
CHATTY_LINES = 230  # 3 pages of 100
FORMULA_NICK, FORMULA_MSG = "@수식", "=1+1"  # what a spreadsheet would run


def _extra_rows(base: list[dict]) -> list[dict]:
    """A chatty user on channel 0 (every 2nd line says 대박), two hostile nicknames."""
    template = base[0]
    cid = lakefixture.channel_ids()
    rows, next_id = [], max(r["id"] for r in base) + 1

    def add(ch: int, when: datetime, uid: str, nick: str, message: str) -> None:
        nonlocal next_id
        row = copy.deepcopy(template)
        row.update(id=next_id, channel_id=cid[ch], channel_name=CHANNEL_NAMES[ch], user_id=uid,
                   nickname=nick, message=message, chat_time=when, created_at=when,
                   dedupe_key=f"x{next_id}", subscription_tier=None, subscription_month=None,
                   day=when.astimezone(KST).date())
        rows.append(row)
        next_id += 1

    start = datetime(2026, 9, 2, 12, 0, tzinfo=KST).astimezone(UTC)
    for i in range(CHATTY_LINES):
        add(0, start + timedelta(seconds=7 * i), CHATTY, "수다쟁이", "대박 " * (i % 2 == 0) + f"줄 {i}")
    for ch in (0, 2):
        add(ch, start + timedelta(hours=3), "u" + hashlib.md5(b"xss").hexdigest(), SCRIPT_NICK, HOSTILE_MSG)
        add(ch, start + timedelta(hours=4), "u" + hashlib.md5(b"bold").hexdigest(), BOLD_NICK, "**bold** 대박")
    add(1, start + timedelta(hours=5), "u" + hashlib.md5(b"formula").hexdigest(), FORMULA_NICK, FORMULA_MSG)
    return rows


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    base = lakefixture._rows()
    rows = base + _extra_rows(base)
    write_rows(Lake(str(root)), rows, lakefixture.channel_ids(), CHANNEL_NAMES, [1, 2, 3])
    return root, rows


@pytest.fixture
def at(lake, monkeypatch):
    root, _ = lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    app = AppTest.from_file(APP, default_timeout=30).run()
    yield app
    data.clear_caches()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _records() -> list[dict]:
    path = audit.audit_file()
    return [json.loads(x) for x in path.read_text(encoding="utf-8").splitlines()] if path.exists() else []


# ---- user search --------------------------------------------------------------------------

def test_user_pages_through_messages_and_shows_history_and_channels(at, lake):
    _, rows = lake
    at.switch_page("app_pages/users.py").run()
    at.text_input(key="user_query").input("수다").run()
    _ok(at)
    found, names, chans, messages = (d.value for d in at.dataframe)
    assert list(found["user_id"]) == [CHATTY] and int(found["messages"].iloc[0]) == CHATTY_LINES
    assert list(names["nickname"]) == ["수다쟁이"] and int(names["messages"].iloc[0]) == CHATTY_LINES
    assert list(chans["channel_name"]) == [CHANNEL_NAMES[0]]
    mine = sorted((r for r in rows if r["user_id"] == CHATTY), key=lambda r: r["chat_time"], reverse=True)
    assert len(messages) == 100
    assert list(messages["message"]) == [r["message"] for r in mine[:100]]
    at.number_input(key="user_page").set_value(3).run()
    _ok(at)
    last = at.dataframe[3].value
    assert list(last["message"]) == [r["message"] for r in mine[200:]] and len(last) == 30
    assert any("201–230" in c.value and "230" in c.value for c in at.caption)
    # paging is not a new search: one user_search and one user_view record
    assert Counter(r["kind"] for r in _records()) == {"user_search": 1, "user_view": 1}
    assert _records()[0]["query"] == "수다" and _records()[1]["query"] == CHATTY


def test_user_search_shows_hostile_nicknames_and_messages_as_typed(at):
    at.switch_page("app_pages/users.py").run()
    at.text_input(key="user_query").input("<script>").run()
    _ok(at)
    found = at.dataframe[0].value
    assert list(found["nickname"]) == [SCRIPT_NICK]
    assert at.selectbox(key="picked_user").value == found["user_id"].iloc[0]
    assert any(x.value.startswith(SCRIPT_NICK) for x in at.text)  # st.text: no markup
    assert set(at.dataframe[3].value["message"]) == {HOSTILE_MSG}
    assert not any(SCRIPT_NICK in m.value or "**bold**" in m.value for m in at.markdown)
    at.text_input(key="user_query").input("**").run()
    _ok(at)
    assert list(at.dataframe[0].value["nickname"]) == [BOLD_NICK]


def test_user_search_in_a_narrower_filter_counts_only_it(at, lake):
    _, rows = lake
    cid = lakefixture.channel_ids()[2]
    at.multiselect(key="f_channels").set_value([cid]).run()
    at.switch_page("app_pages/users.py").run()
    at.text_input(key="user_query").input("김").run()
    _ok(at)
    found = at.dataframe[0].value
    want = Counter(r["user_id"] for r in rows if r["channel_id"] == cid and "김" in (r["nickname"] or ""))
    assert dict(zip(found["user_id"], found["messages"], strict=True)) == dict(want)
    assert _records()[-2]["channels"] == [cid]


def test_user_message_counts_carry_the_coverage_badge_of_the_searched_channels(at, lake):
    root, _ = lake
    cid = lakefixture.channel_ids()[2]
    at.multiselect(key="f_channels").set_value([cid]).run()
    at.switch_page("app_pages/users.py").run()
    assert not [m for m in at.markdown if t("coverage_badge") in m.value]  # nothing counted yet
    at.text_input(key="user_query").input("김").run()
    _ok(at)
    start, end = at.date_input(key="f_dates").value
    with warehouse.open(str(root)) as wh:
        want = data.coverage_figures(warehouse.coverage(wh, channels=[cid], start=start, end=end))
    badge = f"{t('coverage_badge')} {want['share'] * 100:.1f}% · " + t("coverage_detail").format(
        n=want["broadcasts"], gaps=want["gaps"])
    assert any(badge in m.value for m in at.markdown), [m.value for m in at.markdown]


# ---- keyword search -----------------------------------------------------------------------

def test_keyword_search_counts_trend_and_pages(at, lake):
    _, rows = lake
    at.switch_page("app_pages/keywords.py").run()
    _ok(at)
    assert any(t("kw_hint") in i.value for i in at.info)
    at.text_input(key="kw_query").input("대박").run()
    _ok(at)
    hits = [r for r in rows if "대박" in (r["message"] or "")]
    assert at.metric[0].value == f"{len(hits):,}"
    trend = at.dataframe[0].value
    per_day = Counter((r["channel_id"], r["day"]) for r in hits)
    got = {(c, b.date()): n for c, b, n in zip(trend["channel_id"], trend["bucket"], trend["matches"], strict=True)
           if n}
    assert got == dict(per_day)
    drawn = vega.rows(vega.specs(at)[0])
    by_name = Counter()
    for r in drawn:  # zeros drawn too
        by_name[r["channel_name"]] += r["matches"]
    assert {r["channel_name"] for r in drawn} == set(CHANNEL_NAMES)
    assert dict(by_name) == {name: sum(1 for r in hits if r["channel_name"] == name) for name in CHANNEL_NAMES}
    assert sum(r["matches"] for r in drawn) == len(hits)
    results = at.dataframe[1].value
    newest = sorted(hits, key=lambda r: (r["chat_time"], r["id"]), reverse=True)
    assert list(results["message"]) == [r["message"] for r in newest[:100]]
    assert HOSTILE_MSG in set(results["message"])  # as typed in the table
    assert len(hits) > 100  # two pages
    at.number_input(key="kw_page").set_value(2).run()
    assert list(at.dataframe[1].value["message"]) == [r["message"] for r in newest[100:200]]
    assert [r["kind"] for r in _records()] == ["keyword_search"]

    at.radio(key="kw_every").set_value("hour").run()
    _ok(at)
    hourly = at.dataframe[0].value
    assert int(hourly["matches"].sum()) == len(hits) and len(hourly) > len(trend)
    assert len(_records()) == 1  # the same search at another granularity is not a new one


def test_keyword_without_match_says_so_and_is_still_audited(at):
    at.switch_page("app_pages/keywords.py").run()
    at.text_input(key="kw_query").input("100%없는말").run()
    _ok(at)
    assert any(t("kw_none") in i.value for i in at.info)
    assert [(r["kind"], r["query"]) for r in _records()] == [("keyword_search", "100%없는말")]


def test_unwritable_audit_log_shows_no_result(at, monkeypatch, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    monkeypatch.setenv("DASHBOARD_AUDIT_FILE", str(blocker / "audit.jsonl"))  # a file as a folder
    at.switch_page("app_pages/keywords.py").run()
    at.text_input(key="kw_query").input("대박").run()
    _ok(at)
    assert [e.value for e in at.error] == [t("audit_failed")]
    assert len(at.dataframe) == 0 and not at.get("vega_lite_chart")


# ---- the language switch ------------------------------------------------------------------

@pytest.mark.parametrize("lang", ["ko", "en"])
def test_search_and_audit_headers_and_chart_follow_the_language(lake, monkeypatch, lang):
    """Korean without a `lang` URL parameter, English with lang=en: the user search's four
    tables, the keyword search's two and its chart, the audit log's table."""
    root, _ = lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    app = AppTest.from_file(APP, default_timeout=30)
    if lang != "ko":
        app.query_params["lang"] = lang
    app.switch_page("app_pages/users.py").run()
    app.text_input(key="user_query").input("수다").run()
    _ok(app)
    assert len(app.dataframe) == 4
    assert_headers_follow(app, lang)
    count = t("users_label_messages", lang).format(n=CHATTY_LINES)
    assert app.selectbox(key="picked_user").options == [f"수다쟁이 · {count} · {CHATTY[:12]}"]
    app.switch_page("app_pages/keywords.py").run()
    app.text_input(key="kw_query").input("대박").run()
    _ok(app)
    assert len(app.dataframe) == 2
    assert_headers_follow(app, lang)
    assert chart_titles(app) == [t("kw_trend_title", lang)]
    assert time_label_formats(app)
    assert_time_labels_numeric(app)
    app.switch_page("app_pages/audit.py").run()
    _ok(app)
    assert len(app.dataframe) == 1
    assert_headers_follow(app, lang)
    data.clear_caches()


@pytest.fixture
def downloads(monkeypatch):
    """{file name: bytes} of every download button drawn (Streamlit's own media store and
    its register of deferred downloads, watched, not replaced): a button whose file is made
    on click (a callable) is clicked here, its callable run as Streamlit would."""
    files: dict[str, bytes] = {}
    store = MemoryMediaFileStorage.load_and_get_id
    defer = MediaFileManager.add_deferred

    def watched(self, path_or_data, mimetype, kind, filename=None):
        files[filename] = path_or_data
        return store(self, path_or_data, mimetype, kind, filename)

    def watched_deferred(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        files[file_name] = data_callable()
        return defer(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MemoryMediaFileStorage, "load_and_get_id", watched)
    monkeypatch.setattr(MediaFileManager, "add_deferred", watched_deferred)
    return files


def test_csv_download_defuses_formulas_and_parquet_keeps_the_text(at, downloads):
    at.switch_page("app_pages/keywords.py").run()
    at.text_input(key="kw_query").input(FORMULA_MSG).run()
    _ok(at)
    assert list(at.dataframe[1].value["message"]) == [FORMULA_MSG]  # shown as typed
    csv = next(v for k, v in downloads.items() if k.startswith("keyword_p1_") and k.endswith(".csv"))
    parquet = next(v for k, v in downloads.items() if k.startswith("keyword_p1_") and k.endswith(".parquet"))
    from_csv = pl.read_csv(io.StringIO(csv.decode("utf-8-sig")))
    headed = (t("col_a_nickname"), t("col_a_message"))  # the CSV is headed in the page's language
    assert from_csv.select(*headed).row(0) == ("'" + FORMULA_NICK, "'" + FORMULA_MSG)
    assert pl.read_parquet(io.BytesIO(parquet)).select("nickname", "message").row(0) == (FORMULA_NICK, FORMULA_MSG)


@pytest.mark.unit
@pytest.mark.parametrize(("cell", "written"), [
    ("=1+1", "'=1+1"), ("+82", "'+82"), ("-2+3", "'-2+3"), ("@SUM(A1)", "'@SUM(A1)"), ("\tx", "'\tx"),
    ("\rx", "'\rx"), ("a=1", "a=1"), ("ㅋㅋ", "ㅋㅋ"), ("", ""), (None, ""),
    # a separator of another locale (;), a tab or a line break starts a cell there: after one,
    # a formula character is defused too (spaces and quotes in between do not help)
    ("x;=1+1", "x;'=1+1"), ("x,=1+1", "x,'=1+1"), ("x\t=1+1", "x\t'=1+1"), ("x;+1", "x;'+1"),
    ("x;-2+3", "x;'-2+3"), ("x;@SUM(A1)", "x;'@SUM(A1)"), ("x; =1", "x; '=1"), ('x;"=1', 'x;"\'=1'),
    ("x\n=1+1", "x\n'=1+1"), ("x\r\n@A1", "x\r\n'@A1"), ("=1;=2", "'=1;'=2"), ("\t=1", "'\t'=1"),
    ("ok;fine", "ok;fine"), ("1;2,3", "1;2,3"), ("a = b; c", "a = b; c"),
])
def test_csv_prefixes_text_a_spreadsheet_would_run(cell, written):
    df = pl.DataFrame({"message": [cell], "n": [-1]})
    header, row = csv.reader(io.StringIO(data.to_csv_bytes(df).decode("utf-8-sig"), newline=""))
    assert header == ["message", "n"] and row == [written, "-1"]  # numbers are not text: kept


HOSTILE_CELLS = ["=1+1", "x;=1+1", "x,=1+1", "x\t=1+1", "x\n=1+1", "x\r=1+1", "x;+1+1", "x;-2+3", "x;@SUM(1;2)",
                 "x; =1+1", 'x;"=1+1', "\t=1+1", "\r=1+1", "x;=HYPERLINK(\"http://evil.example\";\"y\")"]


@pytest.fixture(scope="module")
def soffice_profile(tmp_path_factory):
    """One LibreOffice user profile for the checks below (creating one takes seconds)."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice not installed (apt-get install libreoffice-calc-nogui): the check of what "
                    "a spreadsheet makes of our CSV")
    return tmp_path_factory.mktemp("soffice")


def test_libreoffice_opens_our_csv_with_no_formula(tmp_path, soffice_profile, separator=";"):
    """LibreOffice Calc opens the CSV as a semicolon locale would, formula evaluation on;
    no cell becomes a formula (counted in the flat ODS it saves). Before the fix: 3."""
    df = pl.DataFrame({"a": ["lead"] * len(HOSTILE_CELLS), "message": HOSTILE_CELLS, "z": ["tail"] * len(HOSTILE_CELLS)})
    (tmp_path / "t.csv").write_bytes(data.to_csv_bytes(df))
    # CSV filter tokens: separator, quote ("), UTF-8, first line 1, no column formats, en-US,
    # quoted as text off, special numbers off, 3x export-only, all sheets, evaluate formulas on
    flt = f"CSV:{ord(separator)},34,76,1,,1033,false,false,false,false,false,-1,true"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{soffice_profile}", "--headless", "--norestore",
                    f"--infilter={flt}", "--convert-to", "fods", "--outdir", str(tmp_path), str(tmp_path / "t.csv")],
                   check=True, capture_output=True, timeout=120)
    sheet = (tmp_path / "t.fods").read_text(encoding="utf-8")
    assert "office:value" in sheet or "<text:p>lead</text:p>" in sheet  # the rows were read
    assert sheet.count("table:formula=") == 0


# ---- the figure ---------------------------------------------------------------------------

@pytest.mark.unit
def test_keyword_trend_figure_keeps_names_as_typed_and_draws_local_time():
    df = pl.DataFrame({"channel_id": ["c1", "c1"], "bucket": [datetime(2026, 9, 1, 15, tzinfo=UTC),
                                                              datetime(2026, 9, 1, 16, tzinfo=UTC)],
                       "matches": [2, 0], "share": [0.5, 0.0]})
    fig = vega.spec(charts.keyword_trend_figure(df, {"c1": "<b>채널</b>"}, "Asia/Seoul", title="T"))
    drawn = vega.rows(fig)
    assert {r["channel_name"] for r in drawn} == {"<b>채널</b>"} and [r["matches"] for r in drawn] == [2, 0]
    assert drawn[0]["bucket"] == "2026-09-02T00:00:00Z" and fig["encoding"]["x"]["scale"]["type"] == "utc"
    assert vega.title(fig) == "T"
    assert vega.no_data_note(vega.spec(charts.keyword_trend_figure(df.clear(), {})))
