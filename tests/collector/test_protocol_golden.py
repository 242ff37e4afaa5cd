"""Golden frames: tests/data/frames/<name>.json is a frame as received (wire text), and
<name>.expected.jsonl beside it the records ``parse_frame`` must give, one per line.
Adding a case is adding a file pair; ``UPDATE_GOLDEN=1 pytest tests/collector/test_protocol_golden.py``
writes the expected files of new cases (review them before committing)."""
from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from collector.protocol import parse_frame

pytestmark = pytest.mark.unit
FRAMES = Path(__file__).resolve().parents[1] / "data" / "frames"
CASES = sorted(p for p in FRAMES.glob("*.json"))


def _records(name: str) -> list[dict]:
    return parse_frame((FRAMES / f"{name}.json").read_text(encoding="utf-8"))


@pytest.mark.parametrize("frame", CASES, ids=[p.stem for p in CASES])
def test_golden_frame(frame: Path):
    got = parse_frame(frame.read_text(encoding="utf-8"))
    expected_path = frame.with_name(f"{frame.stem}.expected.jsonl")
    if os.environ.get("UPDATE_GOLDEN") and not expected_path.exists():
        expected_path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in got), encoding="utf-8")
    assert expected_path.exists(), f"missing {expected_path.name} (UPDATE_GOLDEN=1 writes it)"
    expected = [json.loads(line) for line in expected_path.read_text(encoding="utf-8").splitlines() if line]
    assert got == expected


def test_golden_folder_has_cases():
    assert len(CASES) >= 6


def test_same_lines_live_and_replayed_share_dedupe_keys():
    live = [r for r in _records("dedupe_pair_live") if r["kind"] == "chat"]
    recent = [r for r in _records("dedupe_pair_recent") if r["kind"] == "chat"]
    assert len(live) == len(recent) == 2
    assert [r["dedupe_key"] for r in live] == [r["dedupe_key"] for r in recent]
    ignore = {"raw", "member_count"}  # raw differs in key names; the rest must match
    for a, b in zip(live, recent, strict=True):
        assert {k: v for k, v in a.items() if k not in ignore} == {k: v for k, v in b.items() if k not in ignore}


def test_recent_replay_has_notice_and_summary():
    records = _records("dedupe_pair_recent")
    assert [r["kind"] for r in records] == ["chat", "chat", "event", "control"]
    assert records[2]["event_type"] == "NOTICE" and records[2]["cmd"] == 15101
    assert records[3]["name"] == "RECENT_CHAT" and records[3]["user_count"] == 6301
    assert records[3]["message_count"] == 2


@pytest.mark.parametrize("name", ["gift_lines_same_ms", "anonymous_donations_same_ms"])
def test_distinct_lines_sharing_uid_and_time_do_not_collide(name):
    records = _records(name)
    assert len(records) == 2
    assert records[0]["user_id"] == records[1]["user_id"] == "anonymous"
    assert records[0]["chat_time"] == records[1]["chat_time"]
    assert records[0]["dedupe_key"] != records[1]["dedupe_key"]


def test_hand_written_cases():
    sub = _records("subscription_live")[0]
    assert (sub["message_type"], sub["subscription_month"], sub["subscription_tier"]) == ("subscription", 13, 1)
    assert sub["color_code"] == "SG001" and sub["nickname"] == "구독자7"
    mobile = _records("mobile_old_client")[0]
    assert mobile["os_type"] == "MOBILE" and mobile["subscription_month"] is None
    assert mobile["channel_id"] == "55e243bd868e55adf3524c85f8db51b5"
    normal, blinded = _records("cbotblind_item")
    assert normal["blind_type"] is None and normal["os_type"] == "IOS"
    assert blinded["blind_type"] == "CBOTBLIND" and blinded["message"] == "ㅅㅂ 이게 뭐냐"  # text kept
    emoji = _records("emoji_chat")[0]
    assert emoji["message"] == "{:d_47:}{:d_47:} 미쳤다 {:pubg_chicken:}"
    assert json.loads(emoji["raw"]["extras"])["emojis"]["d_47"].endswith("d_47.gif")


def _chats(name: str) -> list[dict]:
    return [r for r in _records(name) if r["kind"] == "chat"]


def test_mission_copies_share_a_key_and_carry_their_status():
    """The PENDING line and its later REJECTED copy are one row (the sink updates its
    status); the progress event names the same mission."""
    (pending,), (rejected,) = _chats("mission_pending_live"), _chats("mission_rejected_recent")
    assert pending["dedupe_key"] == rejected["dedupe_key"]
    assert (pending["donation_status"], rejected["donation_status"]) == ("PENDING", "REJECTED")
    assert pending["mission_id"] == rejected["mission_id"] == "2Mq8VdQkz7rT4bLx9PnW1cYhJ0aEf"
    (event,) = _records("mission_event_completed")
    assert event["event_type"] == "DONATION_MISSION_IN_PROGRESS"
    assert event["body"]["missionDonationId"] == pending["mission_id"] and event["body"]["status"] == "COMPLETED"


def test_two_participations_in_one_millisecond_are_two_rows():
    a, b = _chats("mission_participations_same_ms")
    assert a["chat_time"] == b["chat_time"] and a["user_id"] == b["user_id"] == "anonymous"
    assert a["dedupe_key"] != b["dedupe_key"]
    assert a["mission_id"] == b["mission_id"] == "2Mq8VdQkz7rT4bLx9PnW1cYhJ0aEf"  # the mission joined
    assert {a["donation_type"], a["donation_status"]} == {"MISSION_PARTICIPATION", "APPROVED"}


def test_a_party_donation_shown_in_two_chats_is_one_row_of_the_receiving_channel():
    (here,), (there,) = _chats("party_donation_live"), _chats("party_donation_other_chat")
    assert here["chat_channel_id"] != there["chat_channel_id"]
    assert here["dedupe_key"] == there["dedupe_key"]
    assert here["channel_id"] == there["channel_id"] == "17f0cfcba4ff608de5eabb5110d134d0"
    (info,) = _records("party_donation_info")  # the party total is an event, never a line
    assert info["kind"] == "event" and info["body"]["totalDonationAmount"] == 152000


@pytest.mark.parametrize("extras, quantity", [
    ({"giftType": "SUBSCRIPTION_GIFT", "quantity": 3, "partialRefundedQuantity": 0}, 3),
    ({"giftType": "SUBSCRIPTION_GIFT", "quantity": 5, "partialRefundedQuantity": 2}, 3),
    ({"giftType": "SUBSCRIPTION_GIFT", "quantity": "x"}, None),
    ({"giftType": "SUBSCRIPTION_GIFT_RECEIVER", "quantity": 3}, None),  # a receiver's line counts itself
])
def test_gift_quantity(extras, quantity):
    (sender,) = _chats("subscription_gift_sender")
    assert sender["gift_quantity"] == 3 and sender["gift_id"] == "46gXAa6MzXQiZhNvqsPHcdHRpzmuo"
    item = dict(sender["raw"], extras=json.dumps({"giftId": "g1", **extras}))
    assert parse_frame({"cmd": 93102, "bdy": [item]})[0]["gift_quantity"] == quantity
