"""Viewers beside chat (warehouse/read/queries/viewers.py, issue 20 §1) against answers
computed in plain Python (tests/viewer_answers.py) from the pages fixture's live_session and
live_session_poll, plus a channel_follower_day table written beside them."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

import warehouse
from tests import viewer_answers


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("viewers")
    facts = viewer_answers.build_viewers_lake(root)
    wh = warehouse.open(str(root))
    yield wh, facts
    wh.close()


@pytest.mark.parametrize("gap", [360, 3600])
def test_broadcast_viewers_match_plain_python(lake, gap):
    wh, facts = lake
    got = warehouse.broadcast_viewers(wh, gap_seconds=gap)
    listed = warehouse.broadcast_list(wh)
    assert got.select(listed.columns).equals(listed)  # the list's columns as they were
    expected = viewer_answers.broadcast_viewers(facts, gap)
    assert len(expected) == 2
    for row in got.iter_rows(named=True):
        e = expected.get(row["broadcast"])
        if e is None:  # no viewer count: zeros and nulls, never a guess
            assert (row["polls"], row["polled_minutes"], row["viewer_coverage"], row["hours_watched"]) == (0, 0, 0, 0)
            assert row["avg_viewers"] is row["peak_viewers"] is row["engagement"] is None
            continue
        assert {k: row[k] for k in e} == pytest.approx(e)
        assert row["engagement"] == pytest.approx(row["chatters"] / e["avg_viewers"])
        assert row["messages_per_100_viewers"] == pytest.approx(100 * row["messages"] / e["avg_viewers"])


def test_gaps_are_not_interpolated(lake):
    wh, facts = lake
    b = facts["broadcasts"][0]
    short = warehouse.broadcast_viewers(wh, [b["channel_id"]], gap_seconds=360)
    row = short.filter(short["broadcast"] == b["broadcast"]).row(0, named=True)
    # polls 30 minutes apart, each standing for 6 minutes: 4 x 6 = 24 polled minutes of 122
    assert row["polled_minutes"] == pytest.approx(24) and row["viewer_coverage"] == pytest.approx(24 / 122)
    curve = warehouse.viewer_curve(wh, b["channel_id"], b["broadcast"], gap_seconds=360)
    assert curve["viewers"].to_list() == [100, None, 150, None, 200, None, 180, None]
    assert curve["offset_minutes"].to_list() == [0, 6, 30, 36, 60, 66, 90, 96]
    joined = warehouse.viewer_curve(wh, b["channel_id"], b["broadcast"], gap_seconds=3600)
    assert joined["viewers"].to_list() == [100, 150, 200, 180, None]  # only the end breaks the line
    assert warehouse.viewer_curve(wh, b["channel_id"], "no-such-broadcast").is_empty()


@pytest.mark.parametrize("every", [None, "week"])
def test_channel_viewers_sum_the_broadcasts(lake, every):
    wh, facts = lake
    per = warehouse.broadcast_viewers(wh).to_dicts()
    got = warehouse.channel_viewers(wh, every=every)
    groups: dict = {}
    for r in per:
        key = (r["channel_id"], r["started"].date() - timedelta(days=r["started"].weekday())) \
            if every else (r["channel_id"],)
        groups.setdefault(key, []).append(r)
    assert got.height == len(groups)
    for row in got.iter_rows(named=True):
        rs = groups[(row["channel_id"], row["week"]) if every else (row["channel_id"],)]
        seen = [r for r in rs if r["avg_viewers"] is not None]
        polled = sum(r["polled_minutes"] for r in rs)
        minutes = sum(r["viewer_minutes"] or 0 for r in rs)
        assert (row["broadcasts"], row["broadcasts_with_viewers"]) == (len(rs), len(seen))
        assert (row["messages"], row["chatters"]) == (sum(r["messages"] for r in rs), sum(r["chatters"] for r in rs))
        assert row["hours_watched"] == pytest.approx(sum(r["hours_watched"] for r in rs))
        assert row["viewer_coverage"] == pytest.approx(polled / minutes if minutes else 0.0)
        if seen:
            avg_sum = sum(r["avg_viewers"] for r in seen)
            assert row["avg_viewers"] == pytest.approx(sum(r["avg_viewers"] * r["polled_minutes"] for r in seen)
                                                       / polled)
            assert row["peak_viewers"] == max(r["peak_viewers"] for r in seen)
            assert row["engagement"] == pytest.approx(sum(r["chatters"] for r in seen) / avg_sum)
            assert row["messages_per_100_viewers"] == pytest.approx(100 * sum(r["messages"] for r in seen) / avg_sum)
        else:
            assert row["avg_viewers"] is row["engagement"] is None


def test_follower_trend_by_day_with_gaps(lake):
    wh, facts = lake
    cids = facts["channel_ids"]
    got = warehouse.follower_trend(wh)
    assert got.rows() == viewer_answers.follower_rows(facts) == [(cids[i], d, n, c) for i, d, n, c in sorted(
        [(0, date(2026, 10, 1), 1000, None), (0, date(2026, 10, 2), 1010, 10), (0, date(2026, 10, 3), 1004, -6),
         (1, date(2026, 10, 1), 50, None), (1, date(2026, 10, 4), 80, 30)], key=lambda r: (cids[r[0]], r[1]))]
    one = warehouse.follower_trend(wh, [cids[0]], date(2026, 10, 2), date(2026, 10, 9))
    assert one["followers"].to_list() == [1010, 1004] and one["change"].to_list() == [None, -6]


def test_bad_input_is_refused(lake):
    wh, _ = lake
    with pytest.raises(ValueError, match="gap_seconds"):
        warehouse.broadcast_viewers(wh, gap_seconds=0)
    with pytest.raises(ValueError, match="every"):
        warehouse.channel_viewers(wh, every="month")
