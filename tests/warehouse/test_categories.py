"""Categories (warehouse/read/queries/categories.py, issue 20 §5) against answers computed in
plain Python (tests/viewer_answers.py) from the pages fixture: channel 0's first broadcast
switches from 리그 오브 레전드 to 저스트 채팅 at +90 min, the markup channel's broadcast has a
markup category, channel 0's second broadcast only live_session's latest category, the rest
none."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

import pytest

import warehouse
from tests import viewer_answers
from tests.lakefixture_pages import build_pages_lake
from tests.lakefixture_rich import is_chatter, user_rows


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("categories")
    facts = build_pages_lake(root)
    wh = warehouse.open(str(root))
    yield wh, facts
    wh.close()


def _expected(wh, facts, gap, per_channel):
    listed = {r["broadcast"]: r for r in warehouse.broadcast_list(wh).to_dicts()}
    category = viewer_answers.line_category(facts, gap)
    polls = viewer_answers.held_polls(facts, gap)
    groups = defaultdict(lambda: {"broadcasts": set(), "seconds": 0.0, "lines": [], "watched": 0.0, "viewed": 0.0,
                                  "peak": None})
    for r in user_rows(facts):
        if r["chat_channel_id"] in listed:
            key = (r["channel_id"], category(r)) if per_channel else (category(r),)
            groups[key]["lines"].append(r)
            groups[key]["broadcasts"].add(r["chat_channel_id"])
    for bc, ps in polls.items():
        if bc not in listed:
            continue
        for p in ps:
            cat = p["live_category_value"]
            g = groups[(listed[bc]["channel_id"], cat) if per_channel else (cat,)]
            g["broadcasts"].add(bc)
            g["seconds"] += p["held"]
            g["watched"] += p["held"] * p["concurrent_user_count"]
            g["viewed"] += p["held"]
            g["peak"] = max(g["peak"] or 0, p["concurrent_user_count"])
    out = {}
    for key, g in groups.items():
        donations = [r for r in g["lines"] if r["message_type"] == "donation"]
        out[key] = {"broadcasts": len(g["broadcasts"]), "hours": g["seconds"] / 3600, "messages": len(g["lines"]),
                    "chatters": len({r["user_id"] for r in g["lines"] if is_chatter(r)}),
                    "donations": len(donations), "amount": sum(r["pay_amount"] or 0 for r in donations),
                    "avg_viewers": g["watched"] / g["viewed"] if g["viewed"] else None,
                    "peak_viewers": g["peak"], "hours_watched": g["watched"] / 3600}
    return out


@pytest.mark.parametrize(("per_channel", "gap"), [(False, 360), (True, 360), (False, 3600)])
def test_categories_match_plain_python(lake, per_channel, gap):
    wh, facts = lake
    got = warehouse.categories(wh, per_channel=per_channel, gap_seconds=gap)
    expected = _expected(wh, facts, gap, per_channel)
    keys = ["channel_id", "category"] if per_channel else ["category"]
    assert {"리그 오브 레전드", "저스트 채팅", "<i>cat</i>", None} <= {k[-1] for k in expected}
    rows = {tuple(r[k] for k in keys): r for r in got.to_dicts()}
    assert set(rows) == set(expected)
    for key, e in expected.items():
        assert {k: rows[key][k] for k in e} == pytest.approx(e), key
    groups = defaultdict(float)
    for r in got.to_dicts():
        groups[r["channel_id"] if per_channel else None] += r["hours"]
    for r in got.to_dicts():
        total = groups[r["channel_id"] if per_channel else None]
        assert r["share"] == pytest.approx(r["hours"] / total if total else 0.0)
    if not per_channel:  # most hours first
        assert got["hours"].to_list() == sorted(got["hours"].to_list(), reverse=True)


def test_categories_of_one_channel_and_an_empty_period(lake):
    wh, facts = lake
    one = facts["channel_ids"][0]
    got = warehouse.categories(wh, [one], date(2026, 8, 20), date(2026, 8, 20), per_channel=True)
    assert set(got["category"]) == {"리그 오브 레전드", "저스트 채팅"} and set(got["channel_id"]) == {one}
    assert got["messages"].sum() == len([r for r in user_rows(facts, [one])
                                         if r["chat_channel_id"] == facts["broadcasts"][0]["broadcast"]])
    assert warehouse.categories(wh, start=date(2030, 1, 1), end=date(2030, 1, 2)).is_empty()
