"""warehouse.moderation_broadcasts / moderation_users / restrictions / notices on the moments
fixture lake (tests/lakefixture_moments.py), equal to the same figures counted in plain Python
from its rows and events; filters by channel and day; a lake without events; a broken events
partition leaves only its own day out."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from datetime import timedelta

import pytest

import warehouse
from tests.lakefixture_moments import DAY, NOTICE_TEXT, build_moments_lake
from warehouse.lake.tables import EVENTS
from warehouse.read.queries.moderation import moderation_broadcasts, moderation_users, notices, restrictions

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("moderation")
    facts = build_moments_lake(root)
    return root, facts, warehouse.open(root)


def _lines(facts, channels=None):
    return [r for r in facts["rows"] if r["user_id"] != "SYSTEM_MESSAGE"
            and (channels is None or r["channel_id"] in channels)]


def _restricts(facts, channels=None):
    return [(e, json.loads(e["body"])) for e in facts["events"] if e["event_type"] == "TEMPORARY_RESTRICT"
            and (channels is None or e["channel_id"] in channels)]


@pytest.mark.parametrize("which", [None, 0, 1])
def test_per_broadcast_counts_equal_plain_python(lake, which):
    root, facts, wh = lake
    channels = None if which is None else [facts["channel_ids"][which]]
    got = moderation_broadcasts(wh, channels)
    want = {}
    for r in _lines(facts, channels):
        w = want.setdefault((r["channel_id"], r["chat_channel_id"]), Counter())
        status = r["message_status"] or "NORMAL"
        w["lines"] += 1
        w["blinded"] += status != "NORMAL"
        w["cbotblind"] += status == "CBOTBLIND"
        w["hidden"] += status == "HIDDEN"
        w["blind"] += status not in ("NORMAL", "CBOTBLIND", "HIDDEN")
    users = defaultdict(set)
    for e, body in _restricts(facts, channels):
        want[(e["channel_id"], e["chat_channel_id"])]["restrictions"] += 1
        users[(e["channel_id"], e["chat_channel_id"])].add(body["userIdHash"])
    for e in facts["events"]:
        if e["event_type"] == "NOTICE" and (channels is None or e["channel_id"] in channels):
            want[(e["channel_id"], e["chat_channel_id"])]["notices"] += 1
    rows = {(r["channel_id"], r["broadcast"]): r for r in got.to_dicts()}
    assert set(rows) == set(want)
    for key, w in want.items():
        r = rows[key]
        for col in ("lines", "blinded", "cbotblind", "hidden", "blind", "restrictions", "notices"):
            assert r[col] == w[col], (key, col)
        assert r["restricted_users"] == len(users[key])
        assert r["blinded_share"] == pytest.approx(w["blinded"] / w["lines"])
    assert got["first_line"].to_list() == sorted(got["first_line"].to_list(), reverse=True)  # newest first


def test_per_user_equal_plain_python(lake):
    root, facts, wh = lake
    got = moderation_users(wh)
    flagged = {(r["channel_id"], r["user_id"]) for r in _lines(facts)
               if (r["message_status"] or "NORMAL") != "NORMAL" and r["user_id"] != "anonymous"}
    per = defaultdict(lambda: {"restrictions": 0, "restricted_seconds": 0, "last": None})
    for e, body in _restricts(facts):
        p = per[(e["channel_id"], body["userIdHash"])]
        p["restrictions"] += 1
        p["restricted_seconds"] += body["duration"]
        p["last"] = max(p["last"] or e["event_time"], e["event_time"])
    keys = flagged | set(per)
    want = []
    for cid, uid in keys:
        mine = sorted((r for r in _lines(facts, [cid]) if r["user_id"] == uid), key=lambda r: r["chat_time"])
        blinded = sum((r["message_status"] or "NORMAL") != "NORMAL" for r in mine)
        p = per.get((cid, uid), {"restrictions": 0, "restricted_seconds": 0, "last": None})
        want.append({"channel_id": cid, "user_id": uid, "nickname": mine[-1]["nickname"] if mine else None,
                     "lines": len(mine), "blinded": blinded, "blinded_share": blinded / len(mine) if mine else None,
                     "restrictions": p["restrictions"], "restricted_seconds": p["restricted_seconds"],
                     "last_restricted": p["last"]})
    want.sort(key=lambda w: (-w["restrictions"], -w["blinded"], w["user_id"], w["channel_id"]))
    assert got.to_dicts() == want
    assert got.row(0, named=True)["user_id"] == facts["spammer"]
    assert moderation_users(wh, limit=1).height == 1
    with pytest.raises(ValueError, match="limit"):
        moderation_users(wh, limit=0)


def test_restrictions_and_notices_lists(lake):
    root, facts, wh = lake
    cid = facts["channel_ids"][0]
    got = restrictions(wh, [cid])
    want = sorted(_restricts(facts, [cid]), key=lambda x: x[0]["event_time"], reverse=True)
    assert got["user_id"].to_list() == [b["userIdHash"] for _, b in want]
    assert got["duration"].to_list() == [b["duration"] for _, b in want]
    assert got["times"].to_list() == [b["times"] for _, b in want]
    assert got["time"].to_list() == [e["event_time"] for e, _ in want]
    spam_nick = [r["nickname"] for r in _lines(facts, [cid]) if r["user_id"] == facts["spammer"]][-1]
    assert set(got["nickname"]) == {spam_nick}
    notes = notices(wh)
    assert notes["event"].to_list() == ["NOTICE_CLEARED", "NOTICE"]
    assert notes["text"].to_list() == [None, NOTICE_TEXT]  # as stored, never rendered here
    assert notes["nickname"].to_list()[1] == "매니저<b>"


def test_day_and_channel_filters(lake):
    root, facts, wh = lake
    later = DAY + timedelta(days=1)
    assert moderation_broadcasts(wh, None, later, later).is_empty()
    assert restrictions(wh, None, later, later).is_empty()
    assert notices(wh, [facts["channel_ids"][1]]).is_empty()
    assert moderation_users(wh, ["f" * 32]).is_empty()
    assert moderation_broadcasts(wh, []).is_empty()


def test_lake_without_events_and_a_broken_events_partition(tmp_path):
    facts = build_moments_lake(tmp_path)
    lake = warehouse.open(tmp_path).lake
    path = lake.part_path(EVENTS, DAY)
    with open(path, "r+b") as f:  # a torn file: its footer gone
        f.truncate(100)
    wh = warehouse.open(tmp_path)
    got = moderation_broadcasts(wh)
    assert set(got["restrictions"]) == {0} and set(got["notices"]) == {0}
    assert got["blinded"].sum() == sum((r["message_status"] or "NORMAL") != "NORMAL" for r in _lines(facts))
    assert restrictions(wh).is_empty() and notices(wh).is_empty()
