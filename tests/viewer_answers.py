"""Plain-Python answers of the viewer and category questions (issue 20 §1, §5) from a
fixture's live_session / live_session_poll tables (pyarrow) and rows: what
tests/warehouse/test_viewers.py and test_categories.py compare the API with."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from pathlib import Path

import pyarrow as pa

from tests.lakefixture_pages import build_pages_lake
from warehouse.lake.layout import Lake
from warehouse.lake.tables import Table

# (channel index, day, followers); channel 1 has no reading on 2026-10-02..03 (a gap stays a gap)
FOLLOWERS = [(0, date(2026, 10, 1), 1000), (0, date(2026, 10, 2), 1010), (0, date(2026, 10, 3), 1004),
             (1, date(2026, 10, 1), 50), (1, date(2026, 10, 4), 80), (2, date(2026, 10, 2), None)]


def build_viewers_lake(root: Path | str) -> dict:
    """The pages fixture lake (tests/lakefixture_pages.py: polls for two broadcasts) plus a
    channel_follower_day table of FOLLOWERS, shaped as the sync exports it; its facts."""
    facts = build_pages_lake(root)
    cids = facts["channel_ids"]
    schema = pa.schema([("channel_fk", pa.int64()), ("day", pa.date32()), ("follower_count", pa.int32()),
                        ("recorded_at", pa.timestamp("us", tz="UTC")), ("channel_id", pa.string())])
    rows = [{"channel_fk": i + 1, "day": d, "follower_count": n, "recorded_at": None, "channel_id": cids[i]}
            for i, d, n in FOLLOWERS]
    Lake(str(root)).write(Table("channel_follower_day", schema, "", False), pa.Table.from_pylist(rows, schema))
    return facts


def follower_rows(facts: dict, channels=None) -> list[tuple]:
    """follower_trend()'s rows in plain Python: (channel_id, day, followers, change)."""
    cids = facts["channel_ids"]
    known = sorted((cids[i], d, n) for i, d, n in FOLLOWERS if n is not None
                   and (channels is None or cids[i] in channels))
    return [(c, d, n, n - known[k - 1][2] if k and known[k - 1][0] == c else None)
            for k, (c, d, n) in enumerate(known)]


def held_polls(facts: dict, gap_seconds: float) -> dict[str, list[dict]]:
    """broadcast -> its polls in time order, each with ``held`` seconds: until the next poll,
    the close or ``gap_seconds``, whichever comes first."""
    sessions = {s["id"]: s for s in facts["live_session"].to_pylist()}
    by_bc = defaultdict(list)
    for p in facts["live_session_poll"].to_pylist():
        s = sessions[p["session_fk"]]
        by_bc[s["chat_channel_id"]].append({**p, "closed_at": s["closed_at"]})
    for polls in by_bc.values():
        polls.sort(key=lambda p: p["polled_at"])
        for i, p in enumerate(polls):
            ends = [p["polled_at"] + timedelta(seconds=gap_seconds)]
            ends += [polls[i + 1]["polled_at"]] if i + 1 < len(polls) else []
            ends += [p["closed_at"]] if p["closed_at"] is not None else []
            p["held"] = max(0.0, (min(ends) - p["polled_at"]).total_seconds())
            p["next"] = polls[i + 1]["polled_at"] if i + 1 < len(polls) else None
    return dict(by_bc)


def broadcast_viewers(facts: dict, gap_seconds: float) -> dict[str, dict]:
    """broadcast -> its viewer figures (viewers.py's definitions)."""
    sessions = {s["chat_channel_id"]: s for s in facts["live_session"].to_pylist()}
    out = {}
    for bc, polls in held_polls(facts, gap_seconds).items():
        s = sessions[bc]
        start = min(s["open_date"] or s["opened_at"], s["opened_at"])
        end = s["closed_at"] or max(p["polled_at"] + timedelta(seconds=p["held"]) for p in polls)
        seen = [p for p in polls if p["concurrent_user_count"] is not None]
        polled = sum(p["held"] for p in seen)
        watched = sum(p["held"] * p["concurrent_user_count"] for p in seen)
        minutes = (end - start).total_seconds() / 60
        out[bc] = {"viewer_minutes": minutes, "polled_minutes": polled / 60,
                   "viewer_coverage": min(polled / 60 / minutes, 1.0), "polls": len(seen),
                   "avg_viewers": watched / polled if polled else None,
                   "peak_viewers": max(p["concurrent_user_count"] for p in seen),
                   "hours_watched": watched / 3600}
    return out


def line_category(facts: dict, gap_seconds: float):
    """A function: chat row -> its category (categories.py's rule)."""
    polls = held_polls(facts, gap_seconds)
    latest = {s["chat_channel_id"]: s["live_category_value"] for s in facts["live_session"].to_pylist()}

    def category(row: dict) -> str | None:
        mine = polls.get(row["chat_channel_id"])
        if not mine:
            return latest.get(row["chat_channel_id"])
        before = [p for p in mine if p["polled_at"] <= row["chat_time"]]
        return (before[-1] if before else mine[0])["live_category_value"]
    return category


def notebook(facts: dict) -> list[str]:
    """What notebooks/06_viewers_and_categories.ipynb prints on a lake without a live-status
    timeline (the rich fixture): broadcasts and lines from the chat, no viewer counts."""
    from tests.lakefixture_rich import user_rows

    rows = [r for r in user_rows(facts) if r["chat_channel_id"]]
    per_channel = defaultdict(set)
    for r in rows:
        per_channel[r["channel_id"]].add(r["chat_channel_id"])
    names = facts["channel_names"]
    return [f"broadcasts: {sum(map(len, per_channel.values()))}, with viewer counts: 0",
            *(f"{names[c]}: {len(b)} broadcasts, 0 with viewer counts" for c, b in per_channel.items()),
            f"lines in broadcasts: {len(rows)}, categories: 0", "follower readings: 0"]
