"""Compare (warehouse/read/queries/compare.py, issue 20 §3) against answers computed in plain
Python (tests/compare_answers.py) over the viewers fixture lake (the pages lake with polls for
two broadcasts and daily follower counts): broadcasts overlaid by minutes since their start,
channels side by side, the Overview's figures against the previous period; with the
accelerators, without them (a scan) and under a message-type filter."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from polars.testing import assert_frame_equal

import warehouse
from tests import compare_answers, viewer_answers
from tests.lakefixture_rich import user_rows
from tests.page_checks import PAGES_WEEK
from warehouse.read.queries.compare import MAX_COMPARED, OVERVIEW_METRICS


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("compare")
    facts = viewer_answers.build_viewers_lake(root)
    with warehouse.open(str(root)) as wh, warehouse.open(str(root), accelerate=False) as scan:
        yield wh, scan, facts, str(root)


def _picks(facts) -> list[tuple[str, str]]:
    """The broadcast with four polls 30 minutes apart, the markup one (two polls, still live)
    and one without polls, of three channels."""
    b = facts["broadcasts"]
    other = next(x for x in b if x["channel_id"] not in (b[0]["channel_id"], facts["adv_channel"]))
    return [(b[0]["channel_id"], b[0]["broadcast"]), (facts["adv_channel"], facts["adv_broadcast"]),
            (other["channel_id"], other["broadcast"])]


def _rows_of(frame, channel_id, broadcast) -> list[dict]:
    keys = ("offset_minutes", "messages", "chatters", "donations", "amount", "viewers", "viewer_coverage")
    return [{k: r[k] for k in keys} for r in frame.iter_rows(named=True)
            if (r["channel_id"], r["broadcast"]) == (channel_id, broadcast)]


def _same_rows(got: list[dict], want: list[dict]) -> None:
    assert len(got) == len(want)
    for g, w in zip(got, want, strict=True):
        assert {k: g[k] for k in w if k not in ("viewers", "viewer_coverage")} == {
            k: w[k] for k in w if k not in ("viewers", "viewer_coverage")}
        assert g["viewer_coverage"] == pytest.approx(w["viewer_coverage"])
        assert (g["viewers"] is None) == (w["viewers"] is None), (g, w)
        if w["viewers"] is not None:
            assert g["viewers"] == pytest.approx(w["viewers"])


@pytest.mark.parametrize("width, gap", [(1, 360), (5, 360), (5, 3600), (7, 360)])
def test_broadcasts_overlaid_match_plain_python(lake, width, gap):
    wh, scan, facts, _ = lake
    picks = _picks(facts)
    got = warehouse.compare_broadcasts(wh, picks, window_minutes=width, gap_seconds=gap)
    assert list(dict.fromkeys(zip(got["channel_id"], got["broadcast"], strict=True))) == picks  # in the order asked
    for cid, bc in picks:
        _same_rows(_rows_of(got, cid, bc), compare_answers.broadcast_windows(facts, cid, bc, width, gap))
    assert_frame_equal(got, warehouse.compare_broadcasts(scan, picks, window_minutes=width, gap_seconds=gap))


def test_poll_gaps_stay_gaps(lake):
    wh, _, facts, _ = lake
    cid, bc = _picks(facts)[0]
    got = warehouse.compare_broadcasts(wh, [(cid, bc)], window_minutes=5, gap_seconds=360)
    seen = got.filter(got["viewers"].is_not_null())
    # polls at +0, +30, +60, +90 minutes, each standing 6 minutes: 5 + 1 minutes in two windows each
    assert seen["offset_minutes"].to_list() == [0, 5, 30, 35, 60, 65, 90, 95]
    assert seen["viewers"].to_list() == [100, 100, 150, 150, 200, 200, 180, 180]
    assert seen["viewer_coverage"].to_list() == pytest.approx([1, 0.2] * 4)
    assert got.filter(got["offset_minutes"].is_between(10, 25))["viewers"].null_count() == 4  # not interpolated


def test_picks_are_scoped_and_default_to_the_newest(lake):
    wh, _, facts, _ = lake
    picks = _picks(facts)
    mine = warehouse.compare_broadcasts(wh, picks, channels=[picks[0][0]])
    assert set(mine["broadcast"]) == {picks[0][1]}  # another channel's pick is left out
    assert warehouse.compare_broadcasts(wh, [("0" * 32, "nope")]).is_empty()
    assert warehouse.compare_broadcasts(wh, []).is_empty()
    listed = warehouse.broadcast_list(wh, start=PAGES_WEEK[0], end=PAGES_WEEK[1]).head(MAX_COMPARED)
    newest = warehouse.compare_broadcasts(wh, start=PAGES_WEEK[0], end=PAGES_WEEK[1])
    assert list(dict.fromkeys(newest["broadcast"])) == listed["broadcast"].to_list()


def test_type_filter_counts_only_those_lines(lake):
    _, _, facts, root = lake
    picks = _picks(facts)
    with warehouse.open(root, types=["donation"]) as wh:
        got = warehouse.compare_broadcasts(wh, picks, window_minutes=5)
        for cid, bc in picks:
            _same_rows(_rows_of(got, cid, bc),
                       compare_answers.broadcast_windows(facts, cid, bc, 5, 360, types={"donation"}))
        change = warehouse.period_change(wh, None, *PAGES_WEEK)
        want = compare_answers.period_change(facts, *PAGES_WEEK, types={"donation"})
        assert {r["metric"]: (r["current"], r["previous"]) for r in change.iter_rows(named=True)} == want


def test_channels_side_by_side(lake):
    wh, scan, facts, _ = lake
    start, end = date(2026, 9, 1), date(2026, 10, 10)
    got = warehouse.compare_channels(wh, start=start, end=end)
    want = compare_answers.channel_figures(facts, start, end)
    assert set(got["channel_id"]) == set(want)
    assert got["messages"].to_list() == sorted(got["messages"], reverse=True)
    viewers = {r["channel_id"]: r for r in warehouse.channel_viewers(wh, start=start, end=end).iter_rows(named=True)}
    followers = {c: [(d, n) for c2, d, n, _ in viewer_answers.follower_rows(facts) if c2 == c]
                 for c in facts["channel_ids"]}
    for row in got.iter_rows(named=True):
        assert {k: row[k] for k in want[row["channel_id"]]} == want[row["channel_id"]]
        v = viewers[row["channel_id"]]
        assert (row["broadcasts"], row["peak_viewers"], row["hours_watched"]) == (
            v["broadcasts"], v["peak_viewers"], v["hours_watched"])
        read = followers[row["channel_id"]]
        assert (row["followers"], row["follower_change"]) == (
            (read[-1][1], read[-1][1] - read[0][1]) if read else (None, None))
    assert_frame_equal(got, warehouse.compare_channels(scan, start=start, end=end))


def test_channels_per_day(lake):
    wh, scan, facts, _ = lake
    cids = facts["channel_ids"][:2]
    start, end = date(2026, 9, 25), date(2026, 10, 10)
    got = warehouse.compare_channels(wh, cids, start, end, every="day")
    want = compare_answers.channel_days(facts, start, end, cids)
    assert got.height == len(want) == 2 * 16
    for row in got.iter_rows(named=True):
        assert {k: row[k] for k in ("messages", "chatters", "donations", "donation_amount")} == \
            want[row["channel_id"], row["day"]]
    started = {(r["channel_id"], r["started"].date()) for r in warehouse.broadcast_list(wh, cids, start, end)
               .iter_rows(named=True)}
    assert {(r["channel_id"], r["day"]) for r in got.iter_rows(named=True) if r["broadcasts"]} == started
    assert_frame_equal(got, warehouse.compare_channels(scan, cids, start, end, every="day"))


@pytest.mark.parametrize("period, channels", [(PAGES_WEEK, None), ((date(2026, 10, 1), date(2026, 10, 3)), 1),
                                              ((date(2026, 9, 10), date(2026, 9, 10)), None)])
def test_period_change_against_the_previous_period(lake, period, channels):
    wh, scan, facts, _ = lake
    chs = facts["channel_ids"][:channels] if channels else None
    got = warehouse.period_change(wh, chs, *period)
    want = compare_answers.period_change(facts, *period, chs)
    assert got["metric"].to_list() == list(OVERVIEW_METRICS)
    length = (period[1] - period[0]).days + 1
    for row in got.iter_rows(named=True):
        now, then = want[row["metric"]]
        assert (row["current"], row["previous"], row["change"]) == (now, then, now - then)
        assert row["change_ratio"] == (pytest.approx((now - then) / then) if then else None)
        assert (row["previous_start"], row["previous_end"]) == (period[0] - timedelta(days=length),
                                                                period[0] - timedelta(days=1))
    assert_frame_equal(got, warehouse.period_change(scan, chs, *period))


def test_bad_input_is_refused(lake):
    wh, _, facts, _ = lake
    with pytest.raises(ValueError, match="window_minutes"):
        warehouse.compare_broadcasts(wh, window_minutes=0)
    with pytest.raises(ValueError, match="every"):
        warehouse.compare_channels(wh, every="week")
    whole = warehouse.period_change(wh).row(1, named=True)  # no dates: the lake's first to last day
    assert (whole["metric"], whole["current"], whole["previous"]) == ("messages", len(user_rows(facts)), 0)
