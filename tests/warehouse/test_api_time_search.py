"""Peaks, coverage, user and keyword functions of the analyst API on the rich fixture lake
(expected answers in plain Python over the same rows), and every new function on an
empty lake."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest

import warehouse
from tests.lakefixture_rich import KST, build_rich_lake, epoch_us, trunc, user_rows

pytestmark = pytest.mark.unit
RANGES = [(None, None), (date(2026, 9, 1), None), (date(2026, 8, 28), date(2026, 9, 5))]


@pytest.fixture
def lake(rich_lake):
    """(Warehouse, facts) of the rich fixture lake, shared by the API tests (conftest)."""
    return rich_lake


def _first_last(facts):
    spans = {}
    for r in user_rows(facts):
        key = (r["channel_id"], r["chat_channel_id"])
        lo, hi = spans.get(key, (r["chat_time"], r["chat_time"]))
        spans[key] = (min(lo, r["chat_time"]), max(hi, r["chat_time"]))
    return spans


def _in(day, start, end):
    return (start is None or day >= start) and (end is None or day <= end)


@pytest.mark.parametrize("by", ["volume", "surge"])
@pytest.mark.parametrize("width", [1, 5])
@pytest.mark.parametrize("start, end", RANGES)
def test_peaks(lake, by, width, start, end):
    wh, facts = lake
    limit = 4
    got = warehouse.peaks(wh, None, start, end, by=by, window_minutes=width, limit=limit)
    assert got.columns == ["channel_id", "broadcast", "minute", "messages", "surge_ratio", "offset_from_start"]
    spans = _first_last(facts)
    w_us = width * 60_000_000
    ext = start - timedelta(days=1) if start else None
    counts = Counter((r["channel_id"], r["chat_channel_id"], epoch_us(r["chat_time"]) // w_us)
                     for r in user_rows(facts, None, ext, end))
    per_channel = defaultdict(list)
    for (cid, cc, widx), m in counts.items():
        minute = datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=widx * w_us)
        if not _in(minute.astimezone(KST).date(), start, end):
            continue
        started = spans[(cid, cc)][0]
        prev = sum(counts.get((cid, cc, widx - k), 0) for k in range(1, 6))
        surge = None if widx - epoch_us(started) // w_us < 5 else m / max(prev / 5, 1)
        first_minute = started.replace(second=0, microsecond=0)
        offset = max(0, (widx * w_us - epoch_us(first_minute)) // 60_000_000)
        if by == "surge" and surge is None:
            continue
        score = m if by == "volume" else surge
        per_channel[cid].append(((-score, -m, widx, cc), (cid, cc, minute, m, surge, offset)))
    want = [row for cid in sorted(per_channel) for _, row in sorted(per_channel[cid])[:limit]]
    assert [r[:4] + r[5:] for r in got.iter_rows()] == [w[:4] + w[5:] for w in want]
    assert got["surge_ratio"].to_list() == pytest.approx([w[4] for w in want])


def test_peaks_find_the_bursts(lake):
    wh, facts = lake
    got = warehouse.peaks(wh, by="surge", limit=1)
    assert len(got) == 3 and min(got["surge_ratio"]) > 5 and min(got["messages"]) >= 12
    with pytest.raises(ValueError, match="volume, surge"):
        warehouse.peaks(wh, by="loudness")
    with pytest.raises(ValueError, match="window_minutes"):
        warehouse.peaks(wh, window_minutes=0)


def _union_minutes(intervals):
    total, end = timedelta(0), None
    for a, z in sorted(intervals):
        if end is None or a > end:
            total += z - a
            end = z
        elif z > end:
            total += z - end
            end = z
    return total / timedelta(minutes=1)


def _expected_coverage(facts, start, end):
    spans = _first_last(facts)
    ci = facts["capture_interval"].to_pylist() if facts["capture_interval"] is not None else []
    ls = {r["chat_channel_id"]: r for r in (facts["live_session"].to_pylist() if ci else [])}
    minutes_seen = defaultdict(set)
    for r in user_rows(facts):
        minutes_seen[(r["channel_id"], r["chat_channel_id"])].add(r["chat_time"].replace(second=0, microsecond=0))
    want = []
    for (cid, cc), (s, e) in spans.items():
        if not _in(s.astimezone(KST).date(), start, end):
            continue
        mine = [(i["connected_at"], i["disconnected_at"]) for i in ci if i["chat_channel_id"] == cc]
        if mine:
            if cc in ls:
                row = ls[cc]
                s0 = min(row["open_date"] or row["opened_at"], row["opened_at"])
                s1 = max(row["closed_at"], row["opened_at"])
            else:
                s0, s1 = s, e
            clipped = [(max(a, s0), min(z, s1)) for a, z in mine if min(z, s1) > max(a, s0)]
            minutes, captured, source = (s1 - s0) / timedelta(minutes=1), _union_minutes(clipped), "capture_interval"
        else:
            s0, s1 = s, e
            first, last = s.replace(second=0, microsecond=0), e.replace(second=0, microsecond=0)
            minutes = (last - first) / timedelta(minutes=1) + 1
            captured, source = len(minutes_seen[(cid, cc)]), "chat"
        want.append((cid, cc, s0, s1, minutes, captured, captured / minutes, source))
    return sorted(want, key=lambda w: (w[0], w[2], w[1]))


@pytest.mark.parametrize("start, end", RANGES)
def test_coverage(lake, start, end):
    wh, facts = lake
    got = warehouse.coverage(wh, None, start, end)
    assert got.columns == ["channel_id", "broadcast", "started", "ended", "minutes", "captured_minutes",
                           "coverage", "source"]
    want = _expected_coverage(facts, start, end)
    assert [r[:4] + (r[7],) for r in got.iter_rows()] == [w[:4] + (w[7],) for w in want]
    for col, i in (("minutes", 4), ("captured_minutes", 5), ("coverage", 6)):
        assert got[col].to_list() == pytest.approx([w[i] for w in want]), col
    if start is None:
        assert set(got["source"]) == {"capture_interval", "chat"}
        assert all(0 < c <= 1 for c in got["coverage"])


def test_coverage_without_capture_tables_uses_chat(tmp_path):
    facts = build_rich_lake(tmp_path, capture=False)
    with warehouse.open(str(tmp_path)) as wh:
        got = warehouse.coverage(wh)
    assert set(got["source"]) == {"chat"} and len(got) == len(facts["broadcasts"])
    want = _expected_coverage(facts, None, None)
    assert got["captured_minutes"].to_list() == [w[5] for w in want]


@pytest.mark.parametrize("who", [0, 3, 24, 25, "anonymous", "nobody"])
def test_user_profile_history_and_channels(lake, who):
    wh, facts = lake
    uid = facts["user_ids"][who] if isinstance(who, int) else who
    rows = sorted((r for r in user_rows(facts) if r["user_id"] == uid), key=lambda r: (r["chat_time"], r["id"]))
    prof = warehouse.user_profile(wh, uid)
    hist = warehouse.name_history(wh, uid)
    chans = warehouse.user_channels(wh, uid)
    assert prof.columns == ["user_id", "nickname", "first_seen", "last_seen", "messages", "channels"]
    assert hist.columns == ["nickname", "first_seen", "last_seen", "messages"]
    assert chans.columns == ["channel_id", "channel_name", "messages", "first_seen", "last_seen"]
    if not rows:
        assert prof.is_empty() and hist.is_empty() and chans.is_empty()
        return
    assert list(prof.iter_rows()) == [(uid, rows[-1]["nickname"], rows[0]["chat_time"], rows[-1]["chat_time"],
                                       len(rows), len({r["channel_id"] for r in rows}))]
    names = defaultdict(list)
    for r in rows:
        if r["nickname"] is not None:
            names[r["nickname"]].append(r["chat_time"])
    assert list(hist.iter_rows()) == sorted(((n, min(t), max(t), len(t)) for n, t in names.items()),
                                            key=lambda x: (x[1], x[0]))
    by_ch = defaultdict(list)
    for r in rows:
        by_ch[r["channel_id"]].append(r["chat_time"])
    assert list(chans.iter_rows()) == sorted(
        ((c, facts["channel_names"][c], len(t), min(t), max(t)) for c, t in by_ch.items()),
        key=lambda x: (-x[2], x[0]))
    if who == 25:
        assert hist["nickname"].to_list() == ["호랑이", "사자왕", "용왕"]
    if who == 24:
        assert prof["nickname"][0] == facts["special_nick"]


def test_user_functions_honour_channel_and_date_filters(lake):
    wh, facts = lake
    uid, cid = facts["renamed_user"], facts["channel_ids"][0]
    sept = (date(2026, 9, 1), date(2026, 9, 30))
    rows = [r for r in user_rows(facts, [cid], *sept) if r["user_id"] == uid]
    assert warehouse.user_profile(wh, uid, [cid], *sept)["messages"].to_list() == ([len(rows)] if rows else [])
    assert set(warehouse.name_history(wh, uid, None, *sept)["nickname"]) == {"사자왕"}
    assert set(warehouse.user_channels(wh, uid, [cid])["channel_id"]) <= {cid}


KEYWORDS = ["ㅋㅋ", "대박", "미쳤다", "gg", "GG", "hello", "%_", "%", "_", "'", "\\", "'\\", "100%", "100",
            "it's", " 대박 ", "없는말", "", "   "]


@pytest.mark.parametrize("keyword", KEYWORDS)
def test_keyword_search_is_literal_and_hangul_safe(lake, keyword):
    wh, facts = lake
    needle = keyword.strip().lower()
    want = sorted((r for r in user_rows(facts) if needle and needle in (r["message"] or "").lower()),
                  key=lambda r: (r["chat_time"], r["id"]), reverse=True)
    got = warehouse.keyword_search(wh, keyword, limit=10_000)
    assert got.columns == ["chat_time", "channel_id", "channel_name", "user_id", "nickname", "message"]
    assert list(got.iter_rows()) == [(r["chat_time"], r["channel_id"], r["channel_name"], r["user_id"],
                                      r["nickname"], r["message"]) for r in want]
    page = warehouse.keyword_search(wh, keyword, limit=7, offset=3)
    assert page["message"].to_list() == [r["message"] for r in want[3:10]]


def test_keyword_search_examples(lake):
    wh, _ = lake
    assert set(warehouse.keyword_search(wh, "%_", limit=1000)["message"]) == {"100%_확실'\\해요", "50%_할인"}
    assert set(warehouse.keyword_search(wh, "gg", limit=1000)["message"]) == {"GG", "gg wp"}
    assert "100 percent" not in set(warehouse.keyword_search(wh, "100%", limit=1000)["message"])
    # system lines are never searched ("대박 공지 ㅋㅋ" is SYSTEM_MESSAGE's)
    assert "대박 공지 ㅋㅋ" not in set(warehouse.keyword_search(wh, "공지", limit=1000)["message"])


@pytest.mark.parametrize("keyword", ["ㅋㅋ", "gg", "%_", "'\\", ""])
@pytest.mark.parametrize("every", ["hour", "day", "month"])
def test_keyword_trend(lake, keyword, every):
    wh, facts = lake
    cids = facts["channel_ids"][1:]
    start = date(2026, 9, 1)
    got = warehouse.keyword_trend(wh, keyword, cids, start, None, every=every)
    assert got.columns == ["channel_id", "bucket", "matches", "share"]
    if not keyword:
        assert got.is_empty()
        return
    total, hits = Counter(), Counter()
    for r in user_rows(facts, cids, start):
        key = (r["channel_id"], trunc(r["chat_time"], every))
        total[key] += 1
        hits[key] += keyword.lower() in (r["message"] or "").lower()
    assert {(c, b): m for c, b, m, _ in got.iter_rows()} == {k: hits[k] for k in total}
    assert got["share"].to_list() == pytest.approx(
        [hits[(c, b)] / total[(c, b)] for c, b, *_ in got.iter_rows()])


NEW_FUNCTIONS = {
    warehouse.heatmap: ["channel_id", "weekday", "hour", "messages", "chatters"],
    warehouse.top_chatters: ["channel_id", "user_id", "nickname", "messages", "share", "rank"],
    warehouse.top_share: ["channel_id", "messages", "top_messages", "share"],
    warehouse.new_vs_returning: ["channel_id", "bucket", "new_chatters", "returning_chatters"],
    warehouse.broadcast_retention: ["channel_id", "broadcast", "started", "chatters",
                                    "returning_from_previous", "retention"],
    warehouse.subscriber_tenure: ["channel_id", "bucket", "tier", "tenure_bucket", "subscribers"],
    warehouse.subscriber_change: ["channel_id", "month", "subscribers", "gained", "lost"],
    warehouse.audience_overlap: ["channel_a", "channel_b", "chatters_a", "chatters_b", "shared", "jaccard"],
    warehouse.donations: ["channel_id", "bucket", "donations", "amount", "anonymous_share"],
    warehouse.donation_ranking: ["channel_id", "donor", "user_id", "donations", "amount", "rank"],
    warehouse.donation_distribution: ["amount_bucket", "donations", "amount"],
    warehouse.donations_over_broadcast: ["channel_id", "broadcast", "offset_minutes", "donations", "amount"],
    warehouse.peaks: ["channel_id", "broadcast", "minute", "messages", "surge_ratio", "offset_from_start"],
    warehouse.coverage: ["channel_id", "broadcast", "started", "ended", "minutes", "captured_minutes",
                         "coverage", "source"],
}
USER_FUNCTIONS = {
    warehouse.user_profile: ["user_id", "nickname", "first_seen", "last_seen", "messages", "channels"],
    warehouse.name_history: ["nickname", "first_seen", "last_seen", "messages"],
    warehouse.user_channels: ["channel_id", "channel_name", "messages", "first_seen", "last_seen"],
    warehouse.keyword_search: ["chat_time", "channel_id", "channel_name", "user_id", "nickname", "message"],
    warehouse.keyword_trend: ["channel_id", "bucket", "matches", "share"],
}


def test_empty_or_missing_lake_gives_empty_frames_with_columns(tmp_path):
    for root in (tmp_path / "missing", tmp_path):
        with warehouse.open(str(root)) as wh:
            for fn, columns in NEW_FUNCTIONS.items():
                got = fn(wh)
                assert got.is_empty() and got.columns == columns, fn.__name__
            for fn, columns in USER_FUNCTIONS.items():
                got = fn(wh, "김")
                assert got.is_empty() and got.columns == columns, fn.__name__


def test_every_new_function_is_exported_and_documented():
    for fn in (*NEW_FUNCTIONS, *USER_FUNCTIONS):
        assert fn.__name__ in warehouse.__all__
        assert ">>>" in (fn.__doc__ or ""), fn.__name__
