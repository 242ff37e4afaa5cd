"""collector.fast_items' profile memo (issue 17): a profile text seen before is not decoded
again, and the records stay exactly the reference parser's (parse_frame_stdlib), hit or miss."""
from __future__ import annotations

import json

import pytest

from collector import fast_items
from collector.protocol import parse_frame, parse_frame_stdlib

pytestmark = pytest.mark.unit

BADGE = {"badgeId": "b", "imageUrl": "https://x/a.png"}
PROFILE = json.dumps({"userIdHash": "u" * 32, "nickname": "닉네임", "userRoleCode": "common_user", "badge": None,
                      "activityBadges": [BADGE], "viewerBadges": [{"type": "STANDARD", "badge": BADGE}],
                      "streamingProperty": {"subscription": {"accumulativeMonth": 3, "tier": 1},
                                            "nicknameColor": {"colorCode": "CC000"}}}, ensure_ascii=False)


def _item(ms: int, type_code: int = 1, profile: str = PROFILE, extras: dict | None = None) -> dict:
    return {"svcid": "game", "cid": "N2abcd", "mbrCnt": 7, "uid": "u" * 32, "profile": profile, "msg": "하이",
            "msgTypeCode": type_code, "msgStatusType": "NORMAL", "msgTime": ms,
            "extras": json.dumps(extras or {"osType": "PC", "streamingChannelId": "a" * 32})}


def _frame(*items: dict) -> bytes:
    return json.dumps({"svcid": "game", "ver": "1", "cmd": 93101, "cid": "N2abcd", "tid": None,
                       "bdy": list(items)}, ensure_ascii=False).encode()


def test_a_profile_seen_again_gives_the_same_records(monkeypatch):
    monkeypatch.setattr(fast_items, "_PROFILES", {})
    # a subscription line (11) takes month/tier from its extras: the memo's values stay the profile's
    frame = _frame(_item(1_790_000_000_000), _item(1_790_000_000_001, 11, extras={"month": 9, "tierNo": 2}),
                   _item(1_790_000_000_002))
    for _ in range(2):  # a miss, then hits
        got = parse_frame(frame)
        assert got == parse_frame_stdlib(frame)
        assert [r["subscription_month"] for r in got] == [3, 9, 3]
        assert got[0]["badges"] == [BADGE, {"type": "STANDARD", "badge": BADGE}] and got[0]["nickname"] == "닉네임"
    assert list(fast_items._PROFILES) == [PROFILE]


def test_the_memo_is_bounded_and_skips_what_fails(monkeypatch):
    monkeypatch.setattr(fast_items, "_PROFILES", {})
    monkeypatch.setattr(fast_items, "PROFILES_KEPT", 3)
    for n in range(10):
        profile = PROFILE.replace("닉네임", f"닉네임{n}")
        frame = _frame(_item(1_790_000_000_000 + n, profile=profile))
        (rec,) = parse_frame(frame)
        assert rec["nickname"] == f"닉네임{n}" and [rec] == parse_frame_stdlib(frame)
        assert 1 <= len(fast_items._PROFILES) <= 3
    fast_items._PROFILES.clear()
    odd = json.dumps({"nickname": 5})  # a number where text is expected: the reference parser takes the item
    frame = _frame(_item(1_790_000_000_000, profile=odd))
    assert parse_frame(frame) == parse_frame_stdlib(frame) and not fast_items._PROFILES
