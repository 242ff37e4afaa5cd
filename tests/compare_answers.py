"""Plain-Python answers of the compare questions (issue 20 §3) from a fixture's rows and its
live_session / live_session_poll tables: what tests/warehouse/test_compare.py and the Compare
and Overview page tests compare the API and the pages with."""
from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, timedelta

from tests import viewer_answers
from tests.lakefixture_rich import is_chatter, user_rows

MINUTE_US = 60_000_000


def _us(ts: datetime) -> int:
    return round((ts - datetime(1970, 1, 1, tzinfo=UTC)).total_seconds() * 1e6)


def broadcast_windows(facts: dict, channel_id: str, broadcast: str, width: int, gap_seconds: float,
                      types: set[str] | None = None) -> list[dict]:
    """compare_broadcasts()'s rows of one broadcast: {offset_minutes, messages, chatters,
    donations, amount, viewers, viewer_coverage} per clock-aligned window of `width` minutes,
    in window order; `types`: the message types kept (None: all)."""
    lines = [r for r in user_rows(facts, [channel_id]) if r["chat_channel_id"] == broadcast
             and (types is None or r["message_type"] in types)]
    if not lines:
        return []
    w_us = width * MINUTE_US
    first = _us(min(r["chat_time"] for r in lines)) // MINUTE_US * MINUTE_US
    out: dict[int, dict] = defaultdict(lambda: {"messages": 0, "users": set(), "donations": 0, "amount": 0,
                                                "vs": 0.0, "polled": 0.0})
    for r in lines:
        w = out[_us(r["chat_time"]) // w_us]
        w["messages"] += 1
        if is_chatter(r):
            w["users"].add(r["user_id"])
        if r["message_type"] == "donation":
            w["donations"] += 1
            w["amount"] += r["pay_amount"] or 0
    for p in viewer_answers.held_polls(facts, gap_seconds).get(broadcast, []):
        if p["concurrent_user_count"] is None or p["held"] <= 0:
            continue
        t0 = _us(p["polled_at"])
        t1 = t0 + round(p["held"] * 1e6)
        for k in range(t0 // w_us, (t1 - 1) // w_us + 1):
            part = min(t1, (k + 1) * w_us) - max(t0, k * w_us)
            out[k]["vs"] += p["concurrent_user_count"] * part
            out[k]["polled"] += part
    rows = []
    for k in sorted(out):
        w = out[k]
        start = k * w_us
        offset = max(0, start - first) // MINUTE_US if start + w_us > first else (start - first) // MINUTE_US
        rows.append({"offset_minutes": offset, "messages": w["messages"], "chatters": len(w["users"]),
                     "donations": w["donations"], "amount": w["amount"],
                     "viewers": w["vs"] / w["polled"] if w["polled"] else None,
                     "viewer_coverage": w["polled"] / w_us})
    return rows


def channel_figures(facts: dict, start: date, end: date, channels=None, types: set[str] | None = None
                    ) -> dict[str, dict]:
    """channel_id -> {messages, chatters, donations, donation_amount} of the lines in [start, end]
    (of the message `types` only, when given)."""
    out = {}
    rows = [r for r in user_rows(facts, channels, start, end) if types is None or r["message_type"] in types]
    for cid in {r["channel_id"] for r in rows}:
        mine = [r for r in rows if r["channel_id"] == cid]
        paid = [r for r in mine if r["message_type"] == "donation"]
        out[cid] = {"messages": len(mine), "chatters": len({r["user_id"] for r in mine if is_chatter(r)}),
                    "donations": len(paid), "donation_amount": sum(r["pay_amount"] or 0 for r in paid)}
    return out


def channel_days(facts: dict, start: date, end: date, channels=None) -> dict[tuple[str, date], dict]:
    """(channel_id, day) -> {messages, chatters, donations, donation_amount} for every day of
    [start, end] and every channel with lines in it (0 on days without)."""
    figures = channel_figures(facts, start, end, channels)
    out = {}
    for cid in figures:
        for i in range((end - start).days + 1):
            day = start + timedelta(days=i)
            out[cid, day] = channel_figures(facts, day, day, [cid]).get(
                cid, {"messages": 0, "chatters": 0, "donations": 0, "donation_amount": 0})
    return out


def period_change(facts: dict, start: date, end: date, channels=None, types: set[str] | None = None
                  ) -> dict[str, tuple[int, int]]:
    """metric -> (current, previous) of the Overview's figures for [start, end] and the as
    long period just before it."""
    length = (end - start).days + 1
    now = channel_figures(facts, start, end, channels, types)
    then = channel_figures(facts, start - timedelta(days=length), start - timedelta(days=1), channels, types)
    out = {"channels": (len(now), len(then))}
    for m in ("messages", "donations", "donation_amount"):
        out[m] = (sum(f[m] for f in now.values()), sum(f[m] for f in then.values()))
    return out


def notebook(facts: dict) -> list[str]:
    """What notebooks/09_compare.ipynb prints on the rich fixture lake (no viewer counts): the
    two broadcasts with the most lines in 5-minute windows, every channel's figures, the last
    seven days against the seven before."""
    rows = user_rows(facts)
    first, last = min(r["day"] for r in rows), max(r["day"] for r in rows)
    lines: dict[str, list] = defaultdict(list)
    for r in rows:
        if r["chat_channel_id"]:
            lines[r["chat_channel_id"]].append(r)
    top = sorted(lines, key=lambda b: (-len(lines[b]), b))[:2]
    out = [f"broadcast {b}: {len(lines[b])} lines in {len({_us(r['chat_time']) // (5 * MINUTE_US) for r in lines[b]})}"
           f" windows, 0 with viewers" for b in top]
    for cid, f in channel_figures(facts, first, last).items():
        broadcasts = len({r["chat_channel_id"] for r in rows if r["channel_id"] == cid and r["chat_channel_id"]})
        out.append(f"{facts['channel_names'][cid]}: {f['messages']} lines, {f['chatters']} chatters, "
                   f"{broadcasts} broadcasts")
    for metric, (now, before) in period_change(facts, last - timedelta(days=6), last).items():
        out.append(f"{metric}: {now} (previous {before}, change {now - before:+})")
    return out
