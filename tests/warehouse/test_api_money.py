"""Donation functions of the analyst API on the rich fixture lake; expected answers are
computed in plain Python over the rows the fixture wrote."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

import pyarrow as pa
import pytest

import warehouse
from tests.lakefixture_money import WANT, A, B, build_money_lake
from tests.lakefixture_rich import epoch_us, trunc, user_rows
from warehouse.lake.tables import CHAT_SCHEMA

pytestmark = pytest.mark.unit
RANGES = [(None, None), (date(2026, 9, 1), None), (date(2026, 8, 28), date(2026, 9, 5))]


@pytest.fixture
def lake(rich_lake):
    """(Warehouse, facts) of the rich fixture lake, shared by the API tests (conftest)."""
    return rich_lake


def _donations(facts, channels=None, start=None, end=None):
    return [r for r in user_rows(facts, channels, start, end) if r["message_type"] == "donation"]


def _anon(r):
    return bool(r["is_anonymous"]) or r["user_id"] == "anonymous"


@pytest.mark.parametrize("every", ["hour", "day", "week", "month"])
@pytest.mark.parametrize("start, end", RANGES)
def test_donations(lake, every, start, end):
    wh, facts = lake
    got = warehouse.donations(wh, None, start, end, every=every)
    assert got.columns == ["channel_id", "bucket", "donations", "amount", "anonymous_share"]
    groups = defaultdict(list)
    for r in _donations(facts, None, start, end):
        groups[(r["channel_id"], trunc(r["chat_time"], every))].append(r)
    want = {k: (len(v), sum(r["pay_amount"] or 0 for r in v)) for k, v in groups.items()}
    assert {(c, b): (n, a) for c, b, n, a, _ in got.iter_rows()} == want
    for c, b, n, _, share in got.iter_rows():
        assert share == pytest.approx(sum(map(_anon, groups[(c, b)])) / n)


@pytest.mark.parametrize("limit", [2, 20])
@pytest.mark.parametrize("start, end", RANGES)
def test_donation_ranking_groups_anonymous_donors(lake, limit, start, end):
    wh, facts = lake
    got = warehouse.donation_ranking(wh, None, start, end, limit=limit)
    assert got.columns == ["channel_id", "donor", "user_id", "donations", "amount", "rank"]
    groups = defaultdict(list)
    for r in _donations(facts, None, start, end):
        groups[(r["channel_id"], None if _anon(r) else r["user_id"])].append(r)
    want = []
    for cid in sorted({c for c, _ in groups}):
        entries = []
        for (c, uid), rs in groups.items():
            if c != cid:
                continue
            latest = max(rs, key=lambda r: r["chat_time"])["nickname"]
            donor = "익명" if uid is None else (latest or uid)
            entries.append((-sum(r["pay_amount"] or 0 for r in rs), -len(rs), uid is None, uid or "", donor, uid))
        for i, (neg_amount, neg_n, _, _, donor, uid) in enumerate(sorted(entries)[:limit]):
            want.append((cid, donor, uid, -neg_n, -neg_amount, i + 1))
    assert list(got.iter_rows()) == want
    if start is None and limit == 20:
        assert "익명" in set(got["donor"]) and got.filter(got["donor"] == "익명")["user_id"].null_count() > 0


@pytest.mark.parametrize("start, end", RANGES)
def test_donation_distribution(lake, start, end):
    wh, facts = lake
    cids = facts["channel_ids"][:2]
    got = warehouse.donation_distribution(wh, cids, start, end)
    assert got.columns == ["amount_bucket", "donations", "amount"]
    bounds = [(0, "0"), (1, "1-999"), (1000, "1,000-4,999"), (5000, "5,000-9,999"),
              (10000, "10,000-49,999"), (50000, "50,000-99,999"), (100000, "100,000+")]
    want = {}
    for r in _donations(facts, cids, start, end):
        a = r["pay_amount"] or 0
        label = [lab for low, lab in bounds if low <= a][-1]
        n, total = want.get(label, (0, 0))
        want[label] = (n + 1, total + a)
    order = [lab for _, lab in bounds]
    assert list(got.iter_rows()) == [(lab, *want[lab]) for lab in order if lab in want]
    if start is None:  # the donation without an amount lands in "0"
        assert got["amount_bucket"][0] == "0" and "100,000+" in set(got["amount_bucket"])


@pytest.mark.parametrize("minutes", [1, 10, 30])
@pytest.mark.parametrize("start, end", RANGES)
def test_donations_over_broadcast(lake, minutes, start, end):
    wh, facts = lake
    got = warehouse.donations_over_broadcast(wh, None, start, end, minutes=minutes)
    assert got.columns == ["channel_id", "broadcast", "offset_minutes", "donations", "amount"]
    started = {}
    for r in user_rows(facts):  # the broadcast's first line anywhere in the lake
        key = (r["channel_id"], r["chat_channel_id"])
        started[key] = min(started.get(key, r["chat_time"]), r["chat_time"])
    want = {}
    for r in _donations(facts, None, start, end):
        key = (r["channel_id"], r["chat_channel_id"])
        off = (epoch_us(r["chat_time"]) - epoch_us(started[key])) // (60_000_000 * minutes) * minutes
        n, a = want.get((*key, off), (0, 0))
        want[(*key, off)] = (n + 1, a + (r["pay_amount"] or 0))
    assert {(c, b, o): (n, a) for c, b, o, n, a in got.iter_rows()} == want
    assert min(got["offset_minutes"]) >= 0
    order = [(c, started[(c, b)], o) for c, b, o, *_ in got.iter_rows()]
    assert order == sorted(order)


def test_money_filters_and_errors(lake):
    wh, facts = lake
    cid = facts["channel_ids"][2]
    for fn in (warehouse.donations, warehouse.donation_ranking, warehouse.donations_over_broadcast):
        got = fn(wh, [cid])
        assert not got.is_empty() and set(got["channel_id"]) == {cid}, fn.__name__
    assert warehouse.donation_distribution(wh, [cid])["donations"].sum() == len(_donations(facts, [cid]))
    with pytest.raises(ValueError, match="hour, day, week, month"):
        warehouse.donations(wh, every="year")
    with pytest.raises(ValueError, match="minutes"):
        warehouse.donations_over_broadcast(wh, minutes=0)


@pytest.fixture(scope="module")
def money_lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("money") / "lake"
    build_money_lake(str(root))
    return warehouse.open(str(root))


def test_missions_count_once_settled_and_party_lines_count_once(money_lake):
    """Settled missions (APPROVED, COMPLETED) and their participations count; PENDING,
    unknown, REJECTED and EXPIRED ones do not, in totals, rankings and the distribution."""
    got = warehouse.donations(money_lake, every="day")
    assert {c: (n, a) for c, _, n, a, _ in got.iter_rows()} == WANT["donations"]
    ranking = warehouse.donation_ranking(money_lake, [A])
    assert ranking["amount"].sum() == WANT["donations"][A][1]
    assert "u2" not in set(ranking["user_id"]) and "u4" not in set(ranking["user_id"])  # pending, rejected
    assert ranking.filter(ranking["donor"] == "익명")["amount"].to_list() == [7000]  # two participations
    dist = warehouse.donation_distribution(money_lake)
    assert dist["donations"].sum() == sum(n for n, _ in WANT["donations"].values())
    assert warehouse.donations_over_broadcast(money_lake, [A])["amount"].sum() == WANT["donations"][A][1]


def test_pending_missions_are_listed_apart(money_lake):
    got = warehouse.pending_missions(money_lake)
    assert got.columns == ["channel_id", "mission_id", "chat_time", "donor", "amount", "status", "mission"]
    assert [(c, m, a, s) for c, m, _, _, a, s, _ in got.iter_rows()] == WANT["pending"]
    assert got["mission"].to_list()[1] == "춤 춰주세요"


def test_gifted_subscriptions_count_the_quantity_once(money_lake):
    got = warehouse.gifted_subscriptions(money_lake)
    assert got.columns == ["channel_id", "gifts", "subscriptions"]
    assert {c: (g, s) for c, g, s in got.iter_rows()} == WANT["gifts"]


def test_a_lake_written_before_migration_010_still_answers(tmp_path):
    """Partitions without the money columns: mission lines have no known status, so they
    do not count; plain and party lines do; no mission is listed as pending."""
    old = pa.schema([f for f in CHAT_SCHEMA if f.name not in ("mission_id", "donation_status", "gift_id",
                                                               "gift_quantity")])
    build_money_lake(str(tmp_path / "lake"), schema=old)
    wh = warehouse.open(str(tmp_path / "lake"))
    got = warehouse.donations(wh, every="day")
    assert {c: (n, a) for c, _, n, a, _ in got.iter_rows()} == {A: (2, 3000), B: (1, 500)}
    assert warehouse.pending_missions(wh).is_empty()
    assert {c: g for c, g, _ in warehouse.gifted_subscriptions(wh).iter_rows()} == {A: 5, B: 1}


def test_overview_and_broadcast_report_count_money_the_same_way(money_lake):
    summary = warehouse.channel_summary(money_lake)
    assert {c: (n, a) for c, n, a in summary.select("channel_id", "donations", "donation_amount").iter_rows()} \
        == WANT["donations"]
    broadcast = "CC" + A[:4]
    donors = warehouse.broadcast_donors(money_lake, A, broadcast)
    assert donors["amount"].sum() == WANT["donations"][A][1]
    activity = warehouse.broadcast_activity(money_lake, A, broadcast, window_minutes=60)
    assert (activity["donations"].sum(), activity["amount"].sum()) == WANT["donations"][A]
