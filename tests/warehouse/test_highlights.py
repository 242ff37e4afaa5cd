"""warehouse.highlights on the moments fixture lake (tests/lakefixture_moments.py), equal to the
same moments counted in plain Python from the rows; with the accelerators built, equal to the
scan's answer; bad arguments are clear errors."""
from __future__ import annotations

from collections import Counter, defaultdict

import polars as pl
import pytest

import warehouse
from tests.lakefixture import build_accelerators
from tests.lakefixture_moments import KEYWORD, build_moments_lake
from warehouse.read.accelerators import BROADCAST_MINUTES, BROADCAST_SPANS
from warehouse.read.queries import highlights as hl
from warehouse.read.queries.highlights import highlights

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("moments")
    return root, build_moments_lake(root)


def _windows(rows, width):
    """{window start (UTC epoch seconds, clock-aligned): [rows]}"""
    out = defaultdict(list)
    for r in rows:
        t = int(r["chat_time"].timestamp())
        out[t - t % (width * 60)].append(r)
    return out


def _expected(facts, cid, width, limit, keywords, video_no):
    """highlights() in plain Python (the module docstring's rules)."""
    bc = facts["broadcasts"][cid]
    rows = [r for r in facts["rows"] if r["channel_id"] == cid and r["chat_channel_id"] == bc
            and r["user_id"] != "SYSTEM_MESSAGE"]
    win = _windows(rows, width)
    step = width * 60
    first, last = min(win), max(win)
    msgs = {w: len(v) for w, v in win.items()}
    mean = sum(msgs.values()) / ((last - first) // step + 1)
    volume = [w for w in sorted(msgs, key=lambda w: (-msgs[w], w))[:limit] if msgs[w] >= hl.VOLUME_MIN_X * mean]
    ratio = {w: msgs[w] / max(1, sum(msgs.get(w - k * step, 0) for k in range(1, 6)) / 5)
             for w in msgs if w - first >= 5 * step}
    surge = [w for w in sorted(ratio, key=lambda w: (-ratio[w], -msgs[w], w))[:limit] if ratio[w] >= hl.SURGE_MIN]
    amount = {w: sum(r["pay_amount"] or 0 for r in v if r["message_type"] == "donation") for w, v in win.items()}
    donations = {w: sum(r["message_type"] == "donation" for r in v) for w, v in win.items()}
    gifts = sorted((w for w in amount if amount[w] > 0), key=lambda w: (-amount[w], -donations[w], w))[:limit]
    best_kw = {}
    for w, v in win.items():
        counts = [(sum(k.lower() in (r["message"] or "").lower() for r in v), -i, k) for i, k in enumerate(keywords)]
        if counts and max(counts)[0] >= hl.KEYWORD_MIN_LINES:
            best_kw[w] = (max(counts)[0], max(counts)[2])
    keyed = sorted(best_kw, key=lambda w: (-best_kw[w][0], w))[:limit]
    top = {"volume": max(msgs.values()), "surge": max(ratio[w] for w in surge) if surge else 1,
           "donations": max(amount.values()) or 1, "keyword": max((best_kw[w][0] for w in keyed), default=1)}
    strength = {"volume": lambda w: msgs[w] / top["volume"], "surge": lambda w: ratio[w] / top["surge"],
                "donations": lambda w: amount[w] / top["donations"], "keyword": lambda w: best_kw[w][0] / top["keyword"]}
    picked = {"volume": volume, "surge": surge, "donations": gifts, "keyword": keyed}
    cand = {w: [why for why in hl.REASONS if w in picked[why]] for w in set().union(*picked.values())}
    # adjacent windows as one moment
    moments, run = [], []
    for w in sorted(cand):
        if run and w != run[-1] + step:
            moments.append(run)
            run = []
        run.append(w)
    if run:
        moments.append(run)
    opened = int(facts["opened"].timestamp()) if bc == "BCA1" else int(min(r["chat_time"] for r in rows).timestamp())
    out = []
    for m in moments:
        reasons = [why for why in hl.REASONS if any(why in cand[w] for w in m)]
        lines = [r for w in m for r in win[w]]
        by_user = Counter(r["user_id"] for r in lines if r["user_id"] not in ("anonymous", "SYSTEM_MESSAGE"))
        top_user, k = min(by_user.items(), key=lambda x: (-x[1], x[0]))
        texts = Counter(r["message"] for r in lines if r["message"])
        first_at = {}
        for r in sorted(lines, key=lambda r: r["chat_time"]):
            first_at.setdefault(r["message"], r["chat_time"])
        kws = [best_kw[w] for w in m if w in keyed]
        offset = max(0, m[0] - opened)
        out.append({
            "offset_seconds": offset, "duration_seconds": len(m) * step, "reason": "+".join(reasons),
            "score": max(strength[why](w) for w in m for why in cand[w]),
            "messages": sum(msgs[w] for w in m), "surge_ratio": max((ratio[w] for w in m if w in ratio), default=None),
            "donations": sum(donations[w] for w in m), "amount": sum(amount[w] for w in m),
            "keyword": max(kws)[1] if kws else None, "keyword_lines": sum(n for n, _ in kws),
            "top_user_id": top_user, "top_share": k / len(lines), "dominated": k / len(lines) > hl.DOMINANT_SHARE,
            "top_line": min(texts, key=lambda x: (-texts[x], first_at[x])),
            "replay_url": None if video_no is None
            else f"https://chzzk.naver.com/video/{video_no}?currentTime={offset}"})
    out.sort(key=lambda x: (-x["score"], -len(x["reason"].split("+")), -x["messages"], x["offset_seconds"]))
    return [{"rank": i + 1, **x} for i, x in enumerate(out[:limit])]


CASES = [(1, 10, (KEYWORD,), 9876543), (1, 2, (), None), (5, 10, (KEYWORD, "대박", "없는말"), None), (2, 10, ("도배",), 1)]


@pytest.mark.parametrize(("width", "limit", "keywords", "video_no"), CASES)
def test_highlights_equal_plain_python(lake, width, limit, keywords, video_no):
    root, facts = lake
    wh = warehouse.open(root, accelerate=False)
    cid = facts["channel_ids"][0]
    got = highlights(wh, cid, "BCA1", window_minutes=width, limit=limit, keywords=keywords,
                               video_no=video_no)
    want = _expected(facts, cid, width, limit, list(keywords), video_no)
    shown = got.drop("start", "end", "top_nickname").to_dicts()
    assert [{k: (round(v, 9) if isinstance(v, float) else v) for k, v in r.items()} for r in shown] == \
        [{k: (round(v, 9) if isinstance(v, float) else v) for k, v in r.items()} for r in want]
    assert (got["end"] - got["start"]).dt.total_seconds().to_list() == got["duration_seconds"].to_list()


def test_highlights_fixture_moments(lake):
    """What the fixture was built to show: the laughter burst first (two windows merged,
    offset from live_session's open), the donation burst, the flood marked dominated."""
    root, facts = lake
    wh = warehouse.open(root, accelerate=False)
    got = highlights(wh, facts["channel_ids"][0], "BCA1", keywords=[KEYWORD], video_no=42)
    first = got.row(0, named=True)
    assert (first["offset_seconds"], first["duration_seconds"]) == (10 * 60 + 90, 120)
    assert first["reason"] == "volume+surge+keyword" and not first["dominated"]
    assert first["replay_url"] == "https://chzzk.naver.com/video/42?currentTime=690"
    flood = got.filter(pl.col("top_user_id") == facts["spammer"]).row(0, named=True)
    assert flood["dominated"] and flood["offset_seconds"] == 20 * 60 + 90
    assert got.filter(pl.col("reason").str.contains("donations"))["amount"].to_list() == [30_000]
    # a broadcast without live_session starts at its first line; a flat one has no moments
    assert highlights(wh, facts["channel_ids"][1], "BCB1").is_empty()
    assert highlights(wh, facts["channel_ids"][0], "NOPE").columns == list(hl.COLUMNS)


def test_highlights_accelerated_equal_scan(tmp_path):
    facts = build_moments_lake(tmp_path)
    build_accelerators(tmp_path, BROADCAST_SPANS, BROADCAST_MINUTES, tz="Asia/Seoul")
    cid = facts["channel_ids"][0]
    fast, scan = warehouse.open(tmp_path), warehouse.open(tmp_path, accelerate=False)
    for width, limit, keywords, video_no in CASES:
        args = (cid, "BCA1", width, limit, keywords, video_no)
        assert highlights(fast, *args).equals(highlights(scan, *args))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"window_minutes": 0}, "window_minutes"), ({"limit": 0}, "limit"), ({"video_no": -3}, "video_no"),
    ({"video_no": "12; DROP"}, "video_no"), ({"video_no": True}, "video_no"),
    ({"keywords": ["a", "b", "c", "d", "e", "f"]}, "keywords")])
def test_highlights_bad_arguments_are_clear_errors(lake, kwargs, match):
    root, facts = lake
    with pytest.raises(ValueError, match=match):
        highlights(warehouse.open(root), facts["channel_ids"][0], "BCA1", **kwargs)
