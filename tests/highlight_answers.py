"""The highlights of a broadcast counted in plain Python from fixture rows, for the API test
(tests/warehouse/test_highlights.py) and the notebook's expected answers
(tests/notebook_answers.py)."""
from __future__ import annotations

from collections import Counter, defaultdict

from warehouse.read.queries import highlights as hl


def windows(rows, width):
    """{window start (UTC epoch seconds, clock-aligned): [rows]}"""
    out = defaultdict(list)
    for r in rows:
        t = int(r["chat_time"].timestamp())
        out[t - t % (width * 60)].append(r)
    return out


def highlights(rows: list[dict], opened: int | None, width: int, limit: int, keywords: list[str],
               video_no: int | None) -> list[dict]:
    """warehouse.highlights() of one broadcast in plain Python (its module docstring's rules):
    `rows` its user lines (no SYSTEM_MESSAGE), `opened` the replay's zero (epoch seconds;
    None: the first line). The rows as dicts, without start, end and top_nickname."""
    win = windows(rows, width)
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
    if opened is None:
        opened = int(min(r["chat_time"] for r in rows).timestamp())
    out = []
    for m in moments:
        reasons = [why for why in hl.REASONS if any(why in cand[w] for w in m)]
        lines = [r for w in m for r in win[w]]
        by_user = Counter(r["user_id"] for r in lines if r["user_id"] not in ("anonymous", "SYSTEM_MESSAGE"))
        top_user, k = min(by_user.items(), key=lambda x: (-x[1], x[0])) if by_user else (None, 0)
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


def notebook(facts: dict, keywords: list[str]) -> list[str]:
    """What notebooks/08_highlights_and_moderation.ipynb prints over a fixture lake without
    events (the rich lake): the busiest broadcast, its moments, the blinded lines."""
    from warehouse.read.markers import clock

    rows = [r for r in facts["rows"] if r["user_id"] != "SYSTEM_MESSAGE"]
    counts = Counter((r["channel_id"], r["chat_channel_id"]) for r in rows if r["chat_channel_id"])
    (cid, bc), n = min(counts.items(), key=lambda x: (-x[1], x[0][1]))
    mine = [r for r in rows if r["channel_id"] == cid and r["chat_channel_id"] == bc]
    sessions = facts.get("live_session")
    sessions = sessions.to_pylist() if hasattr(sessions, "to_pylist") else sessions or []
    first = min(r["chat_time"] for r in mine)
    opens = [min(s["open_date"] or s["opened_at"], s["opened_at"]) for s in sessions if s["chat_channel_id"] == bc]
    opened = int(min(opens).timestamp()) if opens and min(opens) <= first else None
    moments = highlights(mine, opened, 1, 10, keywords, None)
    out = [f"broadcast: {bc} ({n:,} messages)", f"moments: {len(moments)}"]
    out += [f"#{m['rank']} {clock(m['offset_seconds'], hours=True)} {m['reason']}"
            + (" (one chatter)" if m["dominated"] else "") for m in moments]
    blinded = sum((r["message_status"] or "NORMAL") != "NORMAL" for r in rows)
    return [*out, f"blinded: {blinded:,} of {len(rows):,} lines", "restrictions: 0, notices: 0"]
