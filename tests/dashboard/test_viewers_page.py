"""The Viewers and Categories pages (issue 20 §1, §5) and the Broadcasts page's viewer columns
and curve in AppTest over the viewers fixture lake (tests/viewer_answers.py: the pages lake
with polls and follower counts), checked against plain Python; and their pure chart helpers."""
from __future__ import annotations

import math

import polars as pl
import pytest

from dashboard import charts
from dashboard.i18n import t
from tests import vega_checks as vega
from tests import viewer_answers
from tests.lang_checks import assert_headers_follow
from tests.page_checks import FIRST, LAST, frame_of, no_adversarial_markup, ok, open_page, start_app
from tests.section_tabs import open_fold, open_section
from warehouse.read.queries.viewers import GAP_SECONDS


@pytest.fixture(scope="module")
def viewers_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("viewers_pages")
    return root, viewer_answers.build_viewers_lake(root)


@pytest.fixture
def app(viewers_lake, monkeypatch):
    root, facts = viewers_lake
    return start_app(root, monkeypatch), facts


def _same(got, want) -> bool:
    if want is None:
        return got is None or (isinstance(got, float) and math.isnan(got))
    return got == pytest.approx(want)


def test_viewers_page_per_broadcast_with_coverage(app):
    at, facts = app
    open_page(at, "viewers", FIRST, LAST)
    expected = viewer_answers.broadcast_viewers(facts, GAP_SECONDS)
    table = frame_of(at, "channel_name", "started", "title", "category", "viewer_coverage")
    rows = {r["broadcast"]: r for r in table.to_dict("records")}
    assert set(expected) <= set(rows) and len(rows) > len(expected)
    for bc, r in rows.items():
        e = expected.get(bc, {"avg_viewers": None, "peak_viewers": None, "viewer_coverage": 0.0,
                              "hours_watched": 0.0})
        for k in ("avg_viewers", "peak_viewers", "viewer_coverage", "hours_watched"):
            assert _same(r[k], e[k]), (bc, k, r[k], e[k])
    assert t("viewers_help").format(gap=GAP_SECONDS) in [c.value for c in at.caption]
    no_adversarial_markup(at)


def test_viewers_page_channels_weeks_and_followers(app):
    at, facts = app
    open_page(at, "viewers", FIRST, LAST)
    open_section(at, "viewers_section", t("viewers_channels"))
    expected = viewer_answers.broadcast_viewers(facts, GAP_SECONDS)
    total = frame_of(at, "channel_id", "channel_name", "broadcasts")
    assert total["hours_watched"].sum() == pytest.approx(sum(e["hours_watched"] for e in expected.values()))
    assert int(total["broadcasts_with_viewers"].sum()) == len(expected)
    weekly = vega.specs(at)[0]
    assert vega.title(weekly) == t("viewers_weekly_title")
    open_section(at, "viewers_section", t("viewers_followers"))
    table = frame_of(at, "channel_id", "day", "followers")
    got = [(r["channel_id"], r["day"].date() if hasattr(r["day"], "date") else r["day"], r["followers"],
            None if math.isnan(r["follower_change"]) else r["follower_change"]) for r in table.to_dict("records")]
    assert got == viewer_answers.follower_rows(facts)
    assert len(vega.specs(at)) == 1  # the follower chart alone: only the open section is drawn


def test_categories_page_across_and_per_channel(app):
    at, facts = app
    open_page(at, "categories", FIRST, LAST)
    hours: dict = {}
    for polls in viewer_answers.held_polls(facts, GAP_SECONDS).values():
        for p in polls:
            hours[p["live_category_value"]] = hours.get(p["live_category_value"], 0.0) + p["held"] / 3600
    table = frame_of(at, "category", "broadcasts", "hours")
    got = {r["category"]: r["hours"] for r in table.to_dict("records") if isinstance(r["category"], str)}
    assert got == pytest.approx(hours) and set(hours) == {"리그 오브 레전드", "저스트 채팅", "<i>cat</i>"}
    bars = vega.view_rows(vega.specs(at)[0])[0]
    assert {r["category"] for r in bars} == set(hours)  # markup category drawn as typed text
    at.toggle(key="cat_per_channel").set_value(True).run(timeout=60)
    ok(at)
    per = frame_of(at, "channel_id", "channel_name", "category")
    assert per["hours"].sum() == pytest.approx(sum(hours.values()))
    no_adversarial_markup(at)


def test_broadcasts_page_lists_viewers_and_draws_the_curve_under_the_chat(app):
    at, facts = app
    b = facts["broadcasts"][0]
    open_page(at, "broadcasts", b["start"].date(), b["start"].date())
    open_fold(at, "broadcast_list_open")
    listed = frame_of(at, "channel_id", "channel_name", "broadcast")
    e = viewer_answers.broadcast_viewers(facts, GAP_SECONDS)[b["broadcast"]]
    row = listed[listed["broadcast"] == b["broadcast"]].iloc[0]
    assert (row["avg_viewers"], row["peak_viewers"]) == (pytest.approx(e["avg_viewers"]), e["peak_viewers"])
    at.selectbox(key="broadcast_pick").set_value(f"{b['channel_id']}:{b['broadcast']}").run(timeout=60)
    ok(at)
    specs = vega.specs(at)
    assert vega.marks(specs[0])[:1] == ["bar"] and vega.title(specs[1]) == t("viewers_curve_title")
    drawn = vega.view_rows(specs[1])[0]
    assert sorted({r["segment"] for r in drawn}) == [0, 1, 2, 3]  # 30-minute silences: four separate pieces
    assert any(t("viewers_curve_badge") in c.value for c in at.caption)


def test_curve_segments_break_at_gaps():
    curve = pl.DataFrame({"viewers": [1, None, 2, 3, None, None, 4]})
    assert charts.curve_segments(curve).rows() == [(1, 0), (2, 1), (3, 1), (4, 3)]
    assert vega.no_data_note(vega.spec(charts.viewer_curve_figure(curve.filter(pl.col("viewers").is_null()))))


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_pages_follow_the_language(app, lang):
    """Titles, tabs, every table header and chart title in the session's language."""
    at, _ = app
    at.session_state["lang"] = lang
    open_page(at, "viewers", FIRST, LAST)
    assert at.title[0].value == t("page_viewers", lang)
    if lang == "en":
        assert all(not any("\uac00" <= ch <= "\ud7a3" for ch in tab.label) for tab in at.tabs)
    for section in ("viewers_broadcasts", "viewers_channels", "viewers_followers"):
        open_section(at, "viewers_section", t(section, lang))
        assert_headers_follow(at, lang)
    assert vega.title(vega.specs(at)[0]) == t("viewers_followers_title", lang)
    at.switch_page("app_pages/categories.py").run(timeout=60)
    ok(at)
    assert at.title[0].value == t("page_categories", lang)
    assert_headers_follow(at, lang)
    assert vega.title(vega.specs(at)[0]) == t("cat_chart_title", lang)
