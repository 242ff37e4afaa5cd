"""The Compare page (issue 20 §3) in AppTest over the viewers fixture lake (tests/viewer_answers.py:
the pages lake with polls and follower counts), its tables checked against plain Python
(tests/compare_answers.py), for the local user and each role: a streamer is offered only their
channel's broadcasts and channels, an analyst and an admin every one."""
from __future__ import annotations

import math
from datetime import UTC

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.i18n import t
from tests import compare_answers, viewer_answers
from tests import vega_checks as vega
from tests.lakefixture_rich import user_rows
from tests.lang_checks import assert_headers_follow
from tests.page_checks import FIRST, LAST, app_env, frame_of, goto, no_adversarial_markup, ok, signed_app
from tests.section_tabs import open_section
from warehouse.read.queries.viewers import GAP_SECONDS

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare_pages")
    return root, viewer_answers.build_viewers_lake(root)


@pytest.fixture
def new(lake, tmp_path, monkeypatch):
    """A factory of AppTests on the Compare page for the lake's whole range; new((name, role,
    channels)) writes an accounts file first and signs that account in."""
    with app_env(lake[0], tmp_path, monkeypatch):
        def make(who: tuple | None = None, lang: str = "ko") -> AppTest:
            at = signed_app(who, lang)
            at.run(timeout=60)
            ok(at)
            at.date_input(key="f_dates").set_value((FIRST, LAST)).run(timeout=60)
            goto(at, "compare")
            return at

        yield make


def _overlay_matches(at, facts, width: int) -> list[tuple[str, str]]:
    """The overlay table's rows equal plain Python's, broadcast by broadcast; the pairs shown."""
    table = frame_of(at, "label", "channel_id", "broadcast")
    pairs = list(dict.fromkeys(zip(table["channel_id"], table["broadcast"], strict=True)))
    for cid, bc in pairs:
        mine = table[(table["channel_id"] == cid) & (table["broadcast"] == bc)]
        want = compare_answers.broadcast_windows(facts, cid, bc, width, GAP_SECONDS)
        assert list(mine["offset_minutes"]) == [w["offset_minutes"] for w in want]
        assert list(mine["messages"]) == [w["messages"] for w in want]
        assert list(mine["amount"]) == [w["amount"] for w in want]
        for got, w in zip(mine["viewers"], want, strict=True):
            assert (w["viewers"] is None and math.isnan(got)) or got == pytest.approx(w["viewers"])
    return pairs


def test_broadcasts_overlaid_for_the_local_user(new, lake):
    _, facts = lake
    at = new()
    assert at.title[0].value == t("page_compare")
    pick = at.multiselect(key="compare_picks")
    assert len(pick.value) == 2  # the two newest
    pairs = _overlay_matches(at, facts, 5)
    assert [f"{c}:{b}" for c, b in pairs] == list(pick.value)
    spec = vega.specs(at)[0]
    assert vega.title(spec) == t("compare_overlay_title")
    # the broadcast with polls: its viewer panel breaks at each poll gap
    b = facts["broadcasts"][0]
    key = f"{b['channel_id']}:{b['broadcast']}"
    at.multiselect(key="compare_picks").set_value([key, pick.value[0], pick.value[1]]).run(timeout=60)
    at.segmented_control(key="compare_window").set_value(1).run(timeout=60)
    ok(at)
    assert len(_overlay_matches(at, facts, 1)) == 3
    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    at.multiselect(key="compare_picks").set_value([key]).run(timeout=60)
    assert any(t("compare_pick_more") in i.value for i in at.info) and not at.dataframe
    no_adversarial_markup(at)


def test_channels_side_by_side_and_previous_period(new, lake):
    _, facts = lake
    at = new()
    open_section(at, "compare_section", t("compare_channels"))
    picked = list(at.multiselect(key="compare_channel_picks").value)
    assert len(picked) == 4
    side = frame_of(at, "channel_id", "channel_name", "messages")
    want = compare_answers.channel_figures(facts, FIRST, LAST, picked)
    assert {r["channel_id"]: {k: r[k] for k in ("messages", "chatters", "donations", "donation_amount")}
            for r in side.to_dict("records")} == want
    days = frame_of(at, "channel_id", "channel_name", "day")
    per_day = compare_answers.channel_days(facts, FIRST, LAST, picked)
    assert len(days) == len(per_day)
    for r in days.to_dict("records"):
        day = r["day"].date() if hasattr(r["day"], "date") else r["day"]
        assert {k: r[k] for k in ("messages", "chatters", "donations", "donation_amount")} == per_day[
            r["channel_id"], day]
    at.multiselect(key="compare_channel_picks").set_value(picked[:2]).run(timeout=60)
    ok(at)
    assert set(frame_of(at, "channel_id", "channel_name", "messages")["channel_id"]) == set(picked[:2])

    open_section(at, "compare_section", t("compare_periods"))
    table = frame_of(at, "figure", "metric", "current")
    want = compare_answers.period_change(facts, FIRST, LAST)
    assert {r["metric"]: (r["current"], r["previous"]) for r in table.to_dict("records")} == want
    assert table["figure"].tolist()[0] == t("compare_metric_channels")


@pytest.mark.parametrize("role", ["streamer", "analyst", "admin"])
def test_each_role_compares_the_channels_it_may_see(new, lake, role):
    _, facts = lake
    own = facts["channel_ids"][0]
    at = new((f"{role}1", role, (own,) if role == "streamer" else ()))
    visible = {own} if role == "streamer" else set(facts["channel_ids"])
    hidden = [facts["channel_names"][c] for c in set(facts["channel_ids"]) - visible]
    options = at.multiselect(key="compare_picks").options  # as labelled: start · channel · title
    mine = {r["chat_channel_id"] for r in user_rows(facts, list(visible)) if r["chat_channel_id"]}
    names = [facts["channel_names"][c] for c in visible]
    assert len(options) == len(mine) and all(any(f" · {n} · " in o for n in names) for o in options)
    table = frame_of(at, "label", "channel_id", "broadcast")
    assert set(table["channel_id"]) <= visible and (role != "streamer" or set(table["channel_id"]) == {own})
    open_section(at, "compare_section", t("compare_channels"))
    assert set(at.multiselect(key="compare_channel_picks").value) == visible  # 1 or 4 channels: all picked
    side = frame_of(at, "channel_id", "channel_name", "messages")
    assert set(side["channel_id"]) <= visible and (role != "streamer" or list(side["channel_id"]) == [own])
    body = " ".join(str(e.value) for e in [*at.markdown, *at.caption, *at.title, *at.info])
    body += " ".join(at.multiselect(key="compare_channel_picks").options)
    assert not any(name in body for name in hidden)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_page_follows_the_language(new, lang):
    at = new(lang=lang)
    assert at.title[0].value == t("page_compare", lang)
    for section in ("compare_broadcasts", "compare_channels", "compare_periods"):
        open_section(at, "compare_section", t(section, lang))
        assert_headers_follow(at, lang)
    assert all(not any("\uac00" <= ch <= "\ud7a3" for ch in tab.label) for tab in at.tabs) or lang == "ko"


def test_viewer_segments_break_at_gaps_and_missing_windows():
    from datetime import datetime, timedelta

    import polars as pl

    from dashboard.charts import compare as figures

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    minutes = [0, 5, 10, 15, 30, 35, 0, 5]  # b: windows 20 and 25 missing (no line, no count)
    frame = pl.DataFrame({"label": ["a"] * 6 + ["b"] * 2,
                          "minute": [t0 + timedelta(minutes=m) for m in minutes],
                          "viewers": [1.0, None, 2.0, 3.0, 4.0, None, 5.0, 6.0]})
    got = figures.viewer_segments(frame.with_columns(pl.col("minute").dt.replace_time_zone(None)), 5)
    assert got.select("label", "viewers", "segment").rows() == [
        ("a", 1.0, 0), ("a", 2.0, 1), ("a", 3.0, 1), ("a", 4.0, 2), ("b", 5.0, 0), ("b", 6.0, 0)]
    change = pl.DataFrame({"metric": ["messages", "channels"], "change": [-1234, 2],
                           "change_ratio": [-0.125, None]})
    assert figures.deltas(change) == {"messages": "-1,234 (-12.5%)", "channels": "+2"}
