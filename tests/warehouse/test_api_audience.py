"""Audience functions of the analyst API on the rich fixture lake; every expected answer
is computed in plain Python over the rows the fixture wrote (never through DuckDB)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date
from itertools import combinations

import polars as pl
import pytest

import warehouse
from tests.lakefixture_rich import KST, is_chatter, is_sub, trunc, user_rows

pytestmark = pytest.mark.unit
SEP, OCT = date(2026, 9, 1), date(2026, 10, 31)
RANGES = [(None, None), (SEP, None), (date(2026, 9, 5), date(2026, 9, 25))]


@pytest.fixture
def lake(rich_lake):
    """(Warehouse, facts) of the rich fixture lake, shared by the API tests (conftest)."""
    return rich_lake


def _latest_nick(rows, uid):
    return max((r for r in rows if r["user_id"] == uid), key=lambda r: (r["chat_time"], r["id"]))["nickname"]


@pytest.mark.parametrize("start, end", RANGES)
def test_heatmap(lake, start, end):
    wh, facts = lake
    got = warehouse.heatmap(wh, None, start, end)
    assert got.columns == ["channel_id", "weekday", "hour", "messages", "chatters"]
    msgs, users = Counter(), defaultdict(set)
    for r in user_rows(facts, None, start, end):
        t = r["chat_time"].astimezone(KST)
        key = (r["channel_id"], t.weekday(), t.hour)
        msgs[key] += 1
        if is_chatter(r):
            users[key].add(r["user_id"])
    assert {(c, w, h): (m, n) for c, w, h, m, n in got.iter_rows()} == \
        {k: (m, len(users[k])) for k, m in msgs.items()}


@pytest.mark.parametrize("limit", [1, 5, 100])
def test_top_chatters(lake, limit):
    wh, facts = lake
    cids = facts["channel_ids"][:2]
    got = warehouse.top_chatters(wh, cids, SEP, None, limit=limit)
    assert got.columns == ["channel_id", "user_id", "nickname", "messages", "share", "rank"]
    want = []
    for cid in sorted(cids):
        rows = user_rows(facts, [cid], SEP)
        counts = Counter(r["user_id"] for r in rows if is_chatter(r))
        ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:limit]
        want += [(cid, u, _latest_nick(rows, u), m, m / len(rows), i + 1) for i, (u, m) in enumerate(ranked)]
    assert [r[:4] + (r[5],) for r in got.iter_rows()] == [w[:4] + (w[5],) for w in want]
    assert got["share"].to_list() == pytest.approx([w[4] for w in want])


def test_top_chatters_keeps_special_and_renamed_nicknames(lake):
    wh, facts = lake
    got = warehouse.top_chatters(wh, limit=100)
    nicks = dict(zip(got["user_id"], got["nickname"], strict=True))
    assert nicks[facts["user_ids"][24]] == facts["special_nick"]
    assert nicks[facts["renamed_user"]] == "용왕"  # the latest name


@pytest.mark.parametrize("n", [1, 3, 10])
def test_top_share(lake, n):
    wh, facts = lake
    got = warehouse.top_share(wh, n=n)
    assert got.columns == ["channel_id", "messages", "top_messages", "share"]
    for cid, messages, top, share in got.iter_rows():
        rows = user_rows(facts, [cid])
        counts = sorted(Counter(r["user_id"] for r in rows if is_chatter(r)).values(), reverse=True)
        assert (messages, top) == (len(rows), sum(counts[:n]))
        assert share == pytest.approx(sum(counts[:n]) / len(rows))
    assert sorted(got["channel_id"]) == sorted(facts["channel_ids"])


@pytest.mark.parametrize("every", ["day", "week", "month"])
@pytest.mark.parametrize("start, end", RANGES)
def test_new_vs_returning(lake, every, start, end):
    wh, facts = lake
    got = warehouse.new_vs_returning(wh, None, start, end, every=every)
    assert got.columns == ["channel_id", "bucket", "new_chatters", "returning_chatters"]
    first = {}
    for r in sorted(user_rows(facts), key=lambda r: r["chat_time"]):
        if is_chatter(r):
            first.setdefault((r["channel_id"], r["user_id"]), trunc(r["chat_time"], every))
    seen = defaultdict(set)
    for r in user_rows(facts, None, start, end):
        if is_chatter(r):
            seen[(r["channel_id"], trunc(r["chat_time"], every))].add(r["user_id"])
    want = {}
    for (cid, b), users in seen.items():
        new = sum(1 for u in users if first[(cid, u)] == b)
        want[(cid, b)] = (new, len(users) - new)
    assert {(c, b): (n, r) for c, b, n, r in got.iter_rows()} == want
    if start == SEP:  # chatters of August are returning in September, not new
        assert got["returning_chatters"].sum() > 0


def _periods_between(a, b, every):
    if every == "month":
        return (b.year - a.year) * 12 + b.month - a.month
    return (b.date() - a.date()).days // (7 if every == "week" else 1)


@pytest.mark.parametrize("every", ["day", "week", "month"])
@pytest.mark.parametrize("start, end", RANGES)
def test_chatter_cohorts(lake, every, start, end):
    wh, facts = lake
    got = warehouse.chatter_cohorts(wh, None, start, end, every=every)
    assert got.columns == ["channel_id", "cohort", "period", "periods_after", "cohort_size", "chatters",
                           "retention"]
    first = {}  # (channel, user) -> (local day, bucket) of their first line anywhere in the lake
    for r in sorted(user_rows(facts), key=lambda r: r["chat_time"]):
        if is_chatter(r):
            first.setdefault((r["channel_id"], r["user_id"]), (r["day"], trunc(r["chat_time"], every)))
    members = {k: b for k, (d, b) in first.items()
               if (start is None or d >= start) and (end is None or d <= end)}
    size = Counter((cid, b) for (cid, _), b in members.items())
    active = defaultdict(set)
    for r in user_rows(facts, None, start, end):
        if is_chatter(r) and (r["channel_id"], r["user_id"]) in members:
            active[(r["channel_id"], members[(r["channel_id"], r["user_id"])], trunc(r["chat_time"], every))] \
                .add(r["user_id"])
    want = sorted((cid, c, p, _periods_between(c, p, every), size[(cid, c)], len(u), len(u) / size[(cid, c)])
                  for (cid, c, p), u in active.items())
    assert [r[:6] for r in got.iter_rows()] == [w[:6] for w in want]
    assert got["retention"].to_list() == pytest.approx([w[6] for w in want])
    assert got.filter(pl.col("periods_after") == 0)["retention"].to_list() == pytest.approx([1.0] * len(size))
    if every == "month" and start is None:  # August's newcomers are still around later
        assert got["periods_after"].max() >= 1


def _broadcasts(facts):
    spans = {}
    for r in user_rows(facts):
        key = (r["channel_id"], r["chat_channel_id"])
        lo, hi = spans.get(key, (r["chat_time"], r["chat_time"]))
        spans[key] = (min(lo, r["chat_time"]), max(hi, r["chat_time"]))
    return spans


@pytest.mark.parametrize("start, end", RANGES)
def test_broadcast_retention(lake, start, end):
    wh, facts = lake
    got = warehouse.broadcast_retention(wh, None, start, end)
    assert got.columns == ["channel_id", "broadcast", "started", "chatters", "returning_from_previous", "retention"]
    spans = _broadcasts(facts)
    chatters = defaultdict(set)
    for r in user_rows(facts):
        if is_chatter(r):
            chatters[(r["channel_id"], r["chat_channel_id"])].add(r["user_id"])
    want = []
    for cid in sorted(facts["channel_ids"]):
        seq = sorted((s[0], cc) for (c, cc), s in spans.items() if c == cid)
        for i, (started, cc) in enumerate(seq):
            day = started.astimezone(KST).date()
            if (start and day < start) or (end and day > end):
                continue
            cur = chatters[(cid, cc)]
            if i == 0:
                want.append((cid, cc, started, len(cur), None, None))
            else:
                prev = chatters[(cid, seq[i - 1][1])]
                want.append((cid, cc, started, len(cur), len(cur & prev), len(cur & prev) / len(prev)))
    assert [r[:5] for r in got.iter_rows()] == [w[:5] for w in want]
    assert got["retention"].to_list() == pytest.approx([w[5] for w in want])
    assert len(got) == sum(1 for s, _ in spans.values()
                           if (not start or s.astimezone(KST).date() >= start)
                           and (not end or s.astimezone(KST).date() <= end))


def _tenure_label(m):
    for top, label in ((1, "1"), (3, "2-3"), (6, "4-6"), (12, "7-12"), (24, "13-24")):
        if m <= top:
            return label
    return "25+"


@pytest.mark.parametrize("every", ["day", "month"])
def test_subscriber_tenure(lake, every):
    wh, facts = lake
    got = warehouse.subscriber_tenure(wh, every=every)
    assert got.columns == ["channel_id", "bucket", "tier", "tenure_bucket", "subscribers"]
    best = {}
    for r in user_rows(facts):
        if is_chatter(r) and is_sub(r):
            key = (r["channel_id"], trunc(r["chat_time"], every), r["user_id"])
            t, m = best.get(key, (0, 0))
            best[key] = (max(t, r["subscription_tier"] or 1), max(m, r["subscription_month"] or 0))
    want = Counter((c, b, f"tier {t}", _tenure_label(m)) for (c, b, _), (t, m) in best.items())
    assert {tuple(r[:4]): r[4] for r in got.iter_rows()} == dict(want)
    if every == "month":  # the tenure grows month by month: someone moves up a bucket
        assert {"1", "2-3", "13-24", "25+"} <= set(got["tenure_bucket"])


@pytest.mark.parametrize("start, end", RANGES + [(SEP, OCT)])
def test_subscriber_change(lake, start, end):
    wh, facts = lake
    got = warehouse.subscriber_change(wh, None, start, end)
    assert got.columns == ["channel_id", "month", "subscribers", "gained", "lost"]
    rows = user_rows(facts, None, start, end)
    subs, months = defaultdict(set), defaultdict(set)
    for r in rows:
        months[r["channel_id"]].add(trunc(r["chat_time"], "month"))
        if is_chatter(r) and is_sub(r):
            subs[(r["channel_id"], trunc(r["chat_time"], "month"))].add(r["user_id"])
    want = []
    for cid in sorted(months):
        first, last = min(months[cid]), max(months[cid])
        m, prev = first, None
        while m <= last:
            cur = subs[(cid, m)]
            if prev is None:
                want.append((cid, m, len(cur), None, None))
            else:
                want.append((cid, m, len(cur), len(cur - prev), len(prev - cur)))
            prev = cur
            m = m.replace(year=m.year + m.month // 12, month=m.month % 12 + 1)
    assert list(got.iter_rows()) == want
    if start is None:
        assert got["gained"].drop_nulls().sum() > 0 and got["lost"].drop_nulls().sum() > 0


@pytest.mark.parametrize("start, end", RANGES)
def test_audience_overlap(lake, start, end):
    wh, facts = lake
    got = warehouse.audience_overlap(wh, None, start, end)
    assert got.columns == ["channel_a", "channel_b", "chatters_a", "chatters_b", "shared", "jaccard"]
    users = defaultdict(set)
    for r in user_rows(facts, None, start, end):
        if is_chatter(r):
            users[r["channel_id"]].add(r["user_id"])
    want = [(a, b, len(users[a]), len(users[b]), len(users[a] & users[b]))
            for a, b in combinations(sorted(users), 2)]
    assert [r[:5] for r in got.iter_rows()] == want
    assert got["jaccard"].to_list() == pytest.approx(
        [len(users[a] & users[b]) / len(users[a] | users[b]) for a, b, *_ in want])


def test_channel_filter_and_bad_buckets(lake):
    wh, facts = lake
    cid = facts["channel_ids"][2]
    for fn in (warehouse.heatmap, warehouse.top_chatters, warehouse.top_share, warehouse.new_vs_returning,
               warehouse.broadcast_retention, warehouse.subscriber_tenure, warehouse.subscriber_change,
               warehouse.chatter_cohorts):
        got = fn(wh, [cid])
        assert not got.is_empty() and set(got["channel_id"]) == {cid}, fn.__name__
    assert warehouse.audience_overlap(wh, [cid]).is_empty()  # one channel: no pairs
    assert warehouse.top_chatters(wh, ["0" * 32]).is_empty()
    with pytest.raises(ValueError, match="hour, day, week, month"):
        warehouse.new_vs_returning(wh, every="minute")
    with pytest.raises(ValueError, match="day, week, month"):
        warehouse.subscriber_tenure(wh, every="hour")
    with pytest.raises(ValueError, match="day, week, month"):
        warehouse.chatter_cohorts(wh, every="hour")


@pytest.fixture(scope="module")
def accelerated(tmp_path_factory):
    """The rich lake as a sync leaves it (its zone recorded), its chatter days and roll-ups
    built: (Warehouse, facts)."""
    from tests.lakefixture import build_accelerators
    from tests.lakefixture_rich import build_rich_lake
    from warehouse.lake.layout import Lake
    from warehouse.read.accelerators import CHATTER_DAYS, ROLLUPS
    from warehouse.read.accelerators.base import Need

    root = tmp_path_factory.mktemp("rich_chatter_days")
    facts = build_rich_lake(root)
    Lake(str(root)).write_state({"timezone": "Asia/Seoul"})
    build_accelerators(root, ROLLUPS, CHATTER_DAYS, tz="Asia/Seoul")
    wh = warehouse.open(str(root))
    assert wh.accelerator(CHATTER_DAYS, frozenset({Need.LOCAL_DAYS})) is not None  # answers, not scans
    yield wh, facts
    wh.close()


def _overlap_trend(facts, channels, start, end, every):
    """audience_overlap_trend in plain Python: each bucket's chatters per channel, paired."""
    users = defaultdict(lambda: defaultdict(set))
    for r in user_rows(facts, channels, start, end):
        if is_chatter(r):
            users[trunc(r["chat_time"], every)][r["channel_id"]].add(r["user_id"])
    want = []
    for bucket, per in users.items():
        for a, b in combinations(sorted(per), 2):
            both = len(per[a] & per[b])
            want.append((a, b, bucket, len(per[a]), len(per[b]), both, both / len(per[a] | per[b])))
    return sorted(want, key=lambda w: w[:3])


@pytest.mark.parametrize("every", ["week", "month", "day"])
@pytest.mark.parametrize("start, end", RANGES)
@pytest.mark.parametrize("source", ["scan", "chatter_days"])
def test_audience_overlap_trend(lake, accelerated, source, start, end, every):
    wh, facts = lake if source == "scan" else accelerated
    got = warehouse.audience_overlap_trend(wh, None, start, end, every=every)
    assert got.columns == ["channel_a", "channel_b", "bucket", "chatters_a", "chatters_b", "shared", "jaccard"]
    want = _overlap_trend(facts, None, start, end, every)
    assert [r[:6] for r in got.iter_rows()] == [w[:6] for w in want] and want
    assert got["jaccard"].to_list() == pytest.approx([w[6] for w in want])
    assert any(w[5] for w in want) and got["bucket"].dtype == pl.Datetime("us", "Asia/Seoul")


def test_audience_overlap_trend_of_one_pair(accelerated):
    """One pair asked: only its rows; no week shares more chatters than the whole period (a
    chatter of one channel in a week and of the other in another shares only the period)."""
    wh, facts = accelerated
    pair = sorted(facts["channel_ids"][:2])
    got = warehouse.audience_overlap_trend(wh, pair, SEP, OCT)
    assert set(zip(got["channel_a"], got["channel_b"], strict=True)) == {tuple(pair)}
    assert [r[:6] for r in got.iter_rows()] == [w[:6] for w in _overlap_trend(facts, pair, SEP, OCT, "week")]
    period = warehouse.audience_overlap(wh, pair, SEP, OCT)
    assert 0 < got["shared"].max() <= period["shared"][0]
    assert warehouse.audience_overlap_trend(wh, pair[:1]).is_empty()  # one channel: no pairs
    with pytest.raises(ValueError, match="day, week, month"):
        warehouse.audience_overlap_trend(wh, every="hour")
