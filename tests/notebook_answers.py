"""What each notebook must print when run against the rich fixture lake, computed in plain
Python from the fixture's rows (tests/lakefixture_rich.py), independently of the warehouse.

Each function takes the fixture's facts (and the notebook's parameters, where it has them)
and returns the exact lines the notebook prints; tests/dashboard/test_notebooks.py checks that every
one of them is in the executed notebook's output."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import datetime, timedelta

from tests.lakefixture_rich import KST, is_chatter, is_sub, trunc, user_rows

WEEKDAYS = ["월", "화", "수", "목", "금", "토", "일"]


def _busiest_channel(facts: dict) -> str:
    per = Counter(r["channel_id"] for r in user_rows(facts))
    return min(per, key=lambda c: (-per[c], c))


def _month(ts: datetime) -> datetime:
    return trunc(ts, "month")


def _next_month(m: datetime) -> datetime:
    return (m + timedelta(days=32)).replace(day=1)


def _nicknames_in_order(rows: list[dict]) -> list[str]:
    first: dict[str, datetime] = {}
    for r in rows:
        if r["nickname"] is not None:
            first[r["nickname"]] = min(first.get(r["nickname"], r["chat_time"]), r["chat_time"])
    return sorted(first, key=lambda n: (first[n], n))


def tour(facts: dict) -> list[str]:
    return []  # 01 prints tables only; the common checks (names, charts) cover it


def channel_activity(facts: dict) -> list[str]:
    names, rows = facts["channel_names"], user_rows(facts)
    lines = []
    for cid in names:
        per_day = Counter(r["day"] for r in rows if r["channel_id"] == cid)
        day = min(per_day, key=lambda d: (-per_day[d], d))
        lines.append((-per_day[day], cid, f"{names[cid]}: busiest day {day} with {per_day[day]:,} messages"))
    out = [line for *_, line in sorted(lines)]

    cid = _busiest_channel(facts)
    mine = [r for r in rows if r["channel_id"] == cid]
    cells: dict[tuple[int, int], list[dict]] = defaultdict(list)
    for r in mine:
        t = r["chat_time"].astimezone(KST)
        cells[(t.weekday(), t.hour)].append(r)
    (wd, hr) = min(cells, key=lambda k: (-len(cells[k]), k))
    chatters = len({r["user_id"] for r in cells[(wd, hr)] if is_chatter(r)})
    out.append(f"{names[cid]}: busiest slot {WEEKDAYS[wd]} {hr:02d}:00 with {len(cells[(wd, hr)]):,} "
               f"messages from {chatters:,} chatters")

    # the top volume peak: the busiest 1-minute window of any broadcast of that channel, or of
    # the busiest channel with broadcast lines if it has none
    per = Counter(r["channel_id"] for r in rows)
    with_peaks = sorted({r["channel_id"] for r in rows if r["chat_channel_id"] is not None},
                        key=lambda c: (-per[c], c))
    if with_peaks[0] != cid:
        out.append(f"{names[cid]}: no peaks: none of its lines carries a broadcast id")
        cid = with_peaks[0]
        mine = [r for r in rows if r["channel_id"] == cid]
    starts: dict[str, datetime] = {}
    minutes: Counter = Counter()
    for r in mine:
        if r["chat_channel_id"] is not None:
            bc = r["chat_channel_id"]
            starts[bc] = min(starts.get(bc, r["chat_time"]), r["chat_time"])
            minutes[(bc, trunc(r["chat_time"], "minute"))] += 1
    bc, minute = min(minutes, key=lambda k: (-minutes[k], k[1], k[0]))
    offset = (minute - trunc(starts[bc], "minute")) // timedelta(minutes=1)
    out.append(f"{names[cid]}: top peak at {minute:%Y-%m-%d %H:%M} with {minutes[(bc, minute)]} messages, "
               f"{offset} min into broadcast {bc}")
    return out


def subscribers_and_retention(facts: dict) -> list[str]:
    names, rows = facts["channel_names"], user_rows(facts)
    out = []
    counts = []
    for cid in names:
        chatters = {r["user_id"] for r in rows if r["channel_id"] == cid and is_chatter(r)}
        subs = {r["user_id"] for r in rows if r["channel_id"] == cid and is_chatter(r) and is_sub(r)}
        counts.append((-len(chatters), cid, f"{names[cid]}: {len(subs)} of {len(chatters)} chatters "
                                            f"subscribe ({len(subs) / len(chatters):.0%})"))
    out += [line for *_, line in sorted(counts)]

    for cid in sorted(names):
        mine = [r for r in rows if r["channel_id"] == cid]
        last = max(_month(r["chat_time"]) for r in mine)
        first = min(_month(r["chat_time"]) for r in mine)
        by_month: dict[datetime, set] = defaultdict(set)
        for r in mine:
            if is_chatter(r) and is_sub(r):
                by_month[_month(r["chat_time"])].add(r["user_id"])
        cur = by_month[last]
        if last == first:
            moved = "first month"
        else:
            prev = by_month[_month(last - timedelta(days=1))]
            moved = f"+{len(cur - prev)} / -{len(prev - cur)}"
        out.append(f"{names[cid]} {last:%Y-%m}: {len(cur)} subscribers chatting ({moved})")

    for cid in sorted(names):
        mine = [r for r in rows if r["channel_id"] == cid and r["chat_channel_id"] is not None]
        started: dict[str, datetime] = {}
        people: dict[str, set] = defaultdict(set)
        for r in mine:
            bc = r["chat_channel_id"]
            started[bc] = min(started.get(bc, r["chat_time"]), r["chat_time"])
            if is_chatter(r):
                people[bc].add(r["user_id"])
        order = sorted(started, key=lambda b: (started[b], b))
        ratios = [len(people[a] & people[b]) / len(people[a])
                  for a, b in zip(order, order[1:], strict=False) if people[a]]
        if ratios:
            out.append(f"{names[cid]}: on average {sum(ratios) / len(ratios):.1%} of a broadcast's chatters "
                       f"come back to the next one ({len(ratios)} broadcasts compared)")

    # cohorts: chatters by the month of their first line in the channel, then up to 3 later months
    last = _month(datetime.combine(max(r["day"] for r in facts["rows"]), datetime.min.time(), KST))
    for cid in sorted(names):
        active: dict[str, set] = defaultdict(set)
        for r in rows:
            if r["channel_id"] == cid and is_chatter(r):
                active[r["user_id"]].add(_month(r["chat_time"]))
        cohorts: dict[datetime, list[str]] = defaultdict(list)
        for uid, months in active.items():
            cohorts[min(months)].append(uid)
        for cohort in sorted(cohorts):
            members, later, m = cohorts[cohort], [], cohort
            for k in range(1, 4):
                m = _next_month(m)
                if m > last:
                    break
                back = sum(1 for u in members if m in active[u])
                later.append(f"+{k}: {back} ({back / len(members):.0%})")
            out.append(f"{names[cid]} cohort {cohort:%Y-%m}: {len(members)} new chatters → "
                       f"{', '.join(later) or 'no later month yet'}")
    return out + _shared_by_week(facts)


def _shared_by_week(facts: dict) -> list[str]:
    """Notebook 03's overlap trend: the busiest channel and the (up to) 3 channels sharing the
    most chatters with it (then by Jaccard, then id), each pair's period and peak week."""
    names, cid = facts["channel_names"], _busiest_channel(facts)
    period: dict[str, set] = defaultdict(set)
    weekly: dict[tuple, set] = defaultdict(set)
    for r in user_rows(facts):
        if is_chatter(r):
            period[r["channel_id"]].add(r["user_id"])
            weekly[(r["channel_id"], trunc(r["chat_time"], "week"))].add(r["user_id"])
    mine = period[cid]
    others = sorted((c for c in names if c != cid and mine & period[c]),
                    key=lambda c: (-len(mine & period[c]), -len(mine & period[c]) / len(mine | period[c]), c))
    out = []
    for other in others[:3]:
        weeks = [(len(weekly[(cid, w)] & weekly[(other, w)]), w) for c, w in weekly
                 if c == cid and (other, w) in weekly]
        n, week = min(weeks, key=lambda x: (-x[0], x[1]))
        out.append(f"{names[cid]} & {names[other]}: {len(mine & period[other])} chatters in common over the "
                   f"period; most in the week of {week:%Y-%m-%d}: {n} ({n / len(weekly[(cid, week)]):.0%} of "
                   f"that week's)")
    return out


def users_and_keywords(facts: dict, query: str, keywords: list[str]) -> list[str]:
    names, rows = facts["channel_names"], user_rows(facts)
    by_user: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if is_chatter(r):
            by_user[r["user_id"]].append(r)
    hits = [u for u, rs in by_user.items()
            if u == query or any(query.lower() in (r["nickname"] or "").lower() for r in rs)]
    assert hits, f"the fixture has no user matching {query!r}"
    uid = min(hits, key=lambda u: (-len({r["nickname"] for r in by_user[u] if r["nickname"]}),
                                   -len(by_user[u]), u))
    mine = [r for r in rows if r["user_id"] == uid]
    latest = max(mine, key=lambda r: r["chat_time"])
    first = min(r["chat_time"] for r in mine).astimezone(KST)
    last = max(r["chat_time"] for r in mine).astimezone(KST)
    out = [f"{latest['nickname']}: {len(mine):,} messages in {len({r['channel_id'] for r in mine})} channel(s), "
           f"first seen {first:%Y-%m-%d %H:%M}, last seen {last:%Y-%m-%d %H:%M}",
           "names: " + " → ".join(_nicknames_in_order(mine))]
    for k in keywords:
        n = sum(1 for r in rows if k.lower() in (r["message"] or "").lower())
        out.append(f"{k!r}: {n:,} lines")

    chatters = {cid: {r["user_id"] for r in rows if r["channel_id"] == cid and is_chatter(r)} for cid in names}
    pairs = []
    for a in sorted(names):
        for b in sorted(names):
            if a < b:
                shared = len(chatters[a] & chatters[b])
                jac = shared / len(chatters[a] | chatters[b])
                pairs.append((-jac, -shared, f"{names[a]} & {names[b]}: {shared:,} shared chatters (Jaccard {jac:.2f})"))
    out += [line for *_, line in sorted(pairs)[:3]]
    return out


def raw_sql(facts: dict) -> list[str]:
    names, rows = facts["channel_names"], facts["rows"]
    out = []
    for cid in sorted(names):
        active: dict[str, set] = defaultdict(set)
        for r in rows:
            if r["channel_id"] == cid and is_chatter(r):
                active[r["user_id"]].add(_month(r["chat_time"]))
        last = max(m for months in active.values() for m in months)
        cohorts: dict[datetime, list[str]] = defaultdict(list)
        for uid, months in active.items():
            cohorts[min(months)].append(uid)
        for cohort in sorted(cohorts):
            members = cohorts[cohort]
            if cohort == last:
                later = "no later month yet"
            else:
                back = sum(1 for u in members if _next_month(cohort) in active[u])
                later = f"{back} back a month later"
            out.append(f"{names[cid]} cohort {cohort:%Y-%m}: {len(members)} new chatters, {later}")

    by_user: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        if is_chatter(r) and r["nickname"] is not None:
            by_user[r["user_id"]].append(r)
    for uid in sorted(by_user):
        nicks = _nicknames_in_order(by_user[uid])
        if len(nicks) > 1:
            out.append(f"{uid}: {' → '.join(nicks)}")
    cells = {(r["day"], r["channel_id"]) for r in rows}
    out.append(f"DuckDB and Polars agree: {len(rows):,} rows in {len(cells)} (day, channel) cells")
    return out


def emotes_and_words(facts: dict) -> list[str]:
    """07: per channel, its lines, those holding an emote code and its ㅋㅋ runs (of any length)."""
    import re
    code = re.compile(r"\{:[^{}:]+:\}")
    out = []
    for cid, name in sorted(facts["channel_names"].items()):
        rows = user_rows(facts, [cid])
        if not rows:
            continue
        coded = sum(bool(code.search(r["message"] or "")) for r in rows)
        kk = sum(len(re.findall("ㅋ{2,}", code.sub(" ", r["message"] or "").lower())) for r in rows)
        out.append(f"{name}: {len(rows):,} lines, {coded:,} with an emote code, ㅋㅋ ×{kk:,}")
    return out
