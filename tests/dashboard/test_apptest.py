"""Every dashboard page run headless with streamlit's AppTest over the fixture lake, checked
against numbers computed in plain Python from the fixture's rows; plus the pure helpers of
dashboard/data.py (downloads, ranges, summary)."""
from __future__ import annotations

import io
from collections import Counter
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import charts, data
from dashboard.i18n import t
from tests import vega_checks as vega
from tests.lakefixture import build_fixture_lake

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py")
SYSTEM, ANON = "SYSTEM_MESSAGE", "anonymous"


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    return root, build_fixture_lake(root)


@pytest.fixture
def app(lake, monkeypatch):
    """A fresh AppTest of the whole app (entry script + st.navigation) over the fixture lake."""
    root, facts = lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    at = AppTest.from_file(APP, default_timeout=30)
    yield at, facts
    data.clear_caches()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _user_lines(facts, day: date | None = None) -> Counter:
    return Counter(r["channel_id"] for r in facts["rows"]
                   if r["user_id"] != SYSTEM and (day is None or r["day"] == day))


# ---- every page: no channel (each page's own tests: tests/dashboard/test_<page>_page.py) ----

@pytest.mark.e2e
def test_no_channel_selected_asks_for_one(app):
    at, _ = app
    at.run(timeout=30)
    at.multiselect(key="f_channels").set_value([]).run(timeout=30)
    _ok(at)
    assert any("채널을 하나 이상" in w.value for w in at.warning)
    assert len(at.dataframe) == 0


# (the Subscribers page's tests live in tests/dashboard/test_subscribers_page.py)


# ---- user search --------------------------------------------------------------------------

@pytest.mark.e2e
def test_user_search_finds_korean_substring_and_shows_messages(app):
    at, facts = app
    at.run(timeout=30)
    at.switch_page("app_pages/users.py").run(timeout=30)
    _ok(at)
    assert len(at.dataframe) == 0  # nothing searched yet
    at.text_input(key="user_query").input("김").run(timeout=30)
    _ok(at)
    found = at.dataframe[0].value
    assert {"김치", "김철수"} <= set(found["nickname"])
    picked = at.selectbox(key="picked_user").value
    assert picked == found["user_id"].iloc[0]  # the most active match is picked first
    messages = at.dataframe[3].value  # after the results, name history and channels
    assert "message" in messages.columns
    expected = sum(1 for r in facts["rows"] if r["user_id"] == picked)
    assert len(messages) == expected > 0
    times = list(messages["chat_time"])
    assert times == sorted(times, reverse=True)  # newest first


@pytest.mark.e2e
def test_user_search_by_old_nickname_finds_renamed_user(app):
    at, facts = app
    at.run(timeout=30)
    at.switch_page("app_pages/users.py").run(timeout=30)
    at.text_input(key="user_query").input(facts["old_nick"]).run(timeout=30)
    _ok(at)
    found = at.dataframe[0].value
    assert list(found["user_id"]) == [facts["renamed_user"]]
    assert found["nickname"].iloc[0] == facts["new_nick"]


@pytest.mark.e2e
def test_user_search_without_match_says_so(app):
    at, _ = app
    at.run(timeout=30)
    at.switch_page("app_pages/users.py").run(timeout=30)
    at.text_input(key="user_query").input("없는사람xyz").run(timeout=30)
    _ok(at)
    assert any(t("no_results") in i.value for i in at.info)


# ---- empty lake ---------------------------------------------------------------------------

@pytest.mark.e2e
@pytest.mark.parametrize("make_dir", [True, False], ids=["empty-dir", "missing-dir"])
def test_empty_lake_shows_friendly_message(tmp_path, monkeypatch, make_dir):
    root = tmp_path / "lake"
    if make_dir:
        root.mkdir()
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    at = AppTest.from_file(APP, default_timeout=30).run(timeout=30)
    _ok(at)
    assert any(t("empty_lake") in i.value and "make demo" in i.value for i in at.info)
    assert len(at.dataframe) == 0
    data.clear_caches()


# ---- pure helpers -------------------------------------------------------------------------

@pytest.mark.unit
def test_csv_has_bom_and_korean_and_flattens_lists():
    df = pl.DataFrame({"nickname": ["김치"], "channels": [["침착맨", "풍월량"]], "n": [3]})
    raw = data.to_csv_bytes(df)
    assert raw.startswith(b"\xef\xbb\xbf")
    text = raw.decode("utf-8-sig")
    assert text.splitlines() == ["nickname,channels,n", "김치,\"침착맨, 풍월량\",3"]


@pytest.mark.unit
def test_parquet_round_trips_types():
    df = pl.DataFrame({"nickname": ["김치", None], "nicknames": [["a", "b"], []], "n": [1, 2]})
    assert pl.read_parquet(io.BytesIO(data.to_parquet_bytes(df))).equals(df)


@pytest.mark.unit
@pytest.mark.parametrize(("value", "expected"), [
    ((date(2026, 9, 2), date(2026, 9, 3)), (date(2026, 9, 2), date(2026, 9, 3))),
    ((date(2026, 9, 3), date(2026, 9, 2)), (date(2026, 9, 2), date(2026, 9, 3))),  # reversed
    ((date(2026, 9, 2),), (date(2026, 9, 2), date(2026, 9, 2))),  # still picking the end
    (date(2026, 9, 2), (date(2026, 9, 2), date(2026, 9, 2))),
    ((), (date(2026, 9, 1), date(2026, 9, 5))),  # cleared: back to the default
    ((date(2026, 1, 1), date(2027, 1, 1)), (date(2026, 9, 1), date(2026, 9, 5))),  # clipped
])
def test_normalize_range(value, expected):
    assert data.normalize_range(value, date(2026, 9, 1), date(2026, 9, 5)) == expected


@pytest.mark.unit
def test_default_range_is_last_week_clipped():
    assert data.default_range(date(2026, 9, 1), date(2026, 9, 30)) == (date(2026, 9, 24), date(2026, 9, 30))
    assert data.default_range(date(2026, 9, 28), date(2026, 9, 30)) == (date(2026, 9, 28), date(2026, 9, 30))


@pytest.mark.unit
def test_fill_gaps_draws_quiet_hours_as_zero_and_charts_use_local_time():
    from datetime import datetime

    from dashboard import charts

    kst = ZoneInfo("Asia/Seoul")
    df = pl.DataFrame({
        "channel_id": ["a", "a", "b"], "channel_name": ["침착맨", "침착맨", "풍월량"],
        "bucket": [datetime(2026, 9, 1, 1, tzinfo=kst), datetime(2026, 9, 1, 4, tzinfo=kst),
                   datetime(2026, 9, 1, 2, tzinfo=kst)],
        "messages": [1, 2, 3], "chatters": [1, 1, 1],
    })
    filled = charts.fill_gaps(df, "hour").filter(pl.col("channel_id") == "a")
    assert filled["messages"].to_list() == [1, 0, 0, 2]
    assert filled["channel_name"].to_list() == ["침착맨"] * 4
    fig = vega.spec(charts.activity_figure(df, tz="Asia/Seoul", every="hour"))
    first = [r for r in vega.rows(fig) if r["channel_name"] == "침착맨"]
    assert [r["messages"] for r in first] == [1, 0, 0, 2]
    assert first[0]["bucket"] == "2026-09-01T01:00:00Z"  # wall-clock KST (read on a UTC scale), not UTC
    assert vega.no_data_note(vega.spec(charts.activity_figure(df.clear()))) == "데이터 없음"  # Korean by default


@pytest.mark.unit
@pytest.mark.parametrize("tz", ["Asia/Seoul", "America/New_York"])
def test_time_charts_show_the_display_zone_whatever_the_browser_zone(tz):
    """Vega-Lite draws datetimes in the browser's zone unless read in UTC: every time chart
    holds wall-clock text in the display zone marked UTC, on UTC scales and time units only,
    so a browser in any zone shows the display zone's clock."""
    from dashboard import charts
    at = datetime(2026, 9, 1, 15, 30, tzinfo=ZoneInfo("UTC"))
    wall = at.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%dT%H:%M:00Z")
    one = pl.DataFrame({"channel_id": ["c1"], "channel_name": ["x"], "bucket": [at], "messages": [1],
                        "chatters": [1], "message_share": [0.5], "chatter_share": [0.5], "matches": [1],
                        "share": [0.1], "new_chatters": [1], "returning_chatters": [1]})
    timeline = pl.DataFrame({"time": [at], "viewers": [5], "title_changed": [True], "category_changed": [False],
                             "live_title": ["t"], "live_category_value": [None]})
    built = [charts.activity_figure(one, tz), charts.subscriber_share_figure(one, tz),
             charts.keyword_trend_figure(one, {}, tz), charts.new_vs_returning_figure(one, tz),
             charts.timeline_figure(one.select(minute=pl.col("bucket"), offset_minutes=pl.lit(0),
                                                         messages=pl.lit(1)), timeline, tz),
             charts.change_figure(pl.DataFrame({"month": [at], "subscribers": [1], "gained": [1],
                                                     "lost": [0]}), "T", tz)]
    for chart in built:
        s = vega.spec(chart)
        times = {v for r in vega.rows(s) for k, v in r.items() if k in ("bucket", "minute", "time", "month")}
        assert times == {wall}, times
        for view in vega.views(s):
            for enc in [view["encoding"]["x"], *view["encoding"].get("tooltip", [])]:
                if enc.get("type") == "temporal":
                    assert enc.get("scale", {}).get("type") == "utc" or enc["timeUnit"].startswith("utc"), enc
    mark = vega.spec(charts.mark_time(built[0], at, tz))
    assert {r["at"] for r in vega.rows(mark) if "at" in r} == {wall}


@pytest.mark.unit
def test_chart_names_show_markup_as_typed():
    from dashboard import charts
    df = pl.DataFrame({"channel_id": ["c1"], "channel_name": ["<b>x</b> & <a href='j'>y</a>"],
                       "bucket": [date(2026, 1, 1)], "messages": [1], "chatters": [1]})
    fig = vega.spec(charts.activity_figure(df))
    assert {r["channel_name"] for r in vega.rows(fig)} == {"<b>x</b> & <a href='j'>y</a>"}  # Vega draws text
    assert charts.plain("<b>x</b> & y") == "&lt;b&gt;x&lt;/b&gt; &amp; y"  # for the notebooks' plotly figures
    assert charts.plain(None) == ""


_CHATS = pl.DataFrame({"channel_id": ["c1"], "channel_name": ["침착맨"], "bucket": [date(2026, 9, 1)],
                       "messages": [3], "chatters": [2]})


@pytest.mark.unit
@pytest.mark.parametrize("lang", ["ko", "en"])
def test_chart_texts_follow_the_language(lang):
    """The words a chart builder owns come from the labels in its `lang` (Korean by default),
    the page's titles from the page; names stay as typed."""
    fig = vega.spec(charts.activity_figure(_CHATS, "Asia/Seoul", "day", lang))
    assert vega.title(fig) == t("chart_activity", lang)
    assert [vega.title(v) for v in fig["vconcat"]] == [t("chart_messages", lang), t("chart_chatters", lang)]
    assert vega.axis_title(fig)[1] == f"{t('chart_time', lang)} (Asia/Seoul)"
    assert set(vega.axis_title(fig, "color")) == {t("chart_channel", lang)}
    shares = _CHATS.with_columns(message_share=pl.lit(0.5), chatter_share=pl.lit(0.5))
    share = vega.spec(charts.subscriber_share_figure(shares, lang=lang))
    assert vega.title(share) == t("chart_sub_share", lang)
    tiers = pl.DataFrame({"channel_id": ["c1"] * 3, "channel_name": ["<b>x</b>"] * 3,
                          "tier": ["none", "tier 1", "tier 3"], "chatters": [5, 2, 1], "messages": [9, 4, 1]})
    bars = vega.spec(charts.tier_split_figure(tiers, lang))
    assert bars["encoding"]["color"]["scale"]["domain"] == [t("chart_tier_none", lang), t("chart_tier_1", lang),
                                                             "tier 3"]
    assert [r["tier_name"] for r in vega.rows(bars)][:2] == [t("chart_tier_none", lang), t("chart_tier_1", lang)]
    assert {r["channel_name"] for r in vega.rows(bars)} == {"<b>x</b>"}
    empty = vega.spec(charts.activity_figure(_CHATS.clear(), lang=lang))
    assert vega.no_data_note(empty) == t("chart_no_data", lang)


@pytest.mark.unit
@pytest.mark.parametrize("lang", ["ko", "en"])
def test_every_chart_builder_says_no_data_in_its_language(lang):
    empty = pl.DataFrame()
    figures = [charts.activity_figure(empty, lang=lang), charts.subscriber_share_figure(empty, lang=lang),
               charts.tier_split_figure(empty, lang), charts.timeline_figure(empty, empty, lang=lang),
               charts.heatmap_figure(empty, lang=lang),
               charts.new_vs_returning_figure(empty, lang=lang),
               charts.partitions_figure(empty, "T", lang=lang),
               charts.amount_figure(empty, {}, "T", lang=lang),
               charts.ranking_figure(empty, "T", lang=lang),
               charts.distribution_figure(empty, "T", lang=lang),
               charts.broadcast_figure(empty, "T", lang=lang),
               charts.keyword_trend_figure(empty, {}, lang=lang),
               charts.shares_figure(empty, "T", lang=lang), charts.change_figure(empty, "T", lang=lang)]
    assert [vega.no_data_note(vega.spec(f)) for f in figures] == [t("chart_no_data", lang)] * len(figures)


@pytest.mark.unit
def test_user_label_words_the_count_with_the_label_it_is_given():
    row = {"nickname": "<b>김치</b>", "messages": 1234, "user_id": "u" * 40}
    assert data.user_label(row, t("users_label_messages", "ko")) == f"<b>김치</b> · 메시지 1,234개 · {'u' * 12}"
    assert data.user_label(row, t("users_label_messages", "en")) == f"<b>김치</b> · 1,234 msgs · {'u' * 12}"
