"""The synthetic chat generator: deterministic under a seed, wire-shaped items, realistic mix."""
from __future__ import annotations

import collections
import json
import re
import time
from datetime import UTC, datetime

import pytest

from collector import protocol
from collector.sim.generator import (
    CMD_BLIND,
    CMD_EVENT,
    ChatStream,
    broadcasts,
    history,
    make_channels,
    to_recent,
)
from tests.conftest import DATA

pytestmark = pytest.mark.unit

LIVE_KEYS = ["svcid", "cid", "mbrCnt", "uid", "profile", "msg", "msgTypeCode", "msgStatusType", "extras",
             "ctime", "utime", "msgTid", "cuid", "msgTime"]
T0 = 1_790_782_259_938
HEX32 = re.compile(r"^[0-9a-f]{32}$")


@pytest.fixture(scope="module")
def sample():
    """20k items of one channel plus the side frames produced along the way."""
    channel = make_channels(2, seed=11)[0]
    stream = ChatStream(channel, seed=11)
    items = []
    for k in range(200):
        items += stream.next_items(T0 + k * 1000, 100)
    return channel, items, stream.pop_side_frames()


def test_same_seed_same_output_and_other_seed_differs():
    a, b, c = make_channels(3, 5), make_channels(3, 5), make_channels(3, 6)
    assert [x.channel_id for x in a] == [x.channel_id for x in b]
    assert [u.profile for u in a[0].viewers] == [u.profile for u in b[0].viewers]
    assert {x.channel_id for x in a}.isdisjoint({x.channel_id for x in c})
    items_a = ChatStream(a[0], 5).next_items(T0, 500)
    assert items_a == ChatStream(b[0], 5).next_items(T0, 500)
    assert items_a != ChatStream(a[0], 6).next_items(T0, 500)


def test_channels_shape():
    channels = make_channels(4, 1)
    assert len({c.channel_id for c in channels}) == 4
    for c in channels:
        assert HEX32.match(c.channel_id)
        assert re.match(r"^[A-Za-z0-9_]{6}$", c.chat_channel_id)
        assert re.search(r"[가-힣]", c.channel_name)
        assert c.streamer.role == "streamer"
        assert 1 <= len(c.managers) <= 3
        assert {m.role for m in c.managers} <= {"streaming_chat_manager", "streaming_channel_manager"}
        assert 300 <= len(c.viewers) <= 3000
        subs = c.subscribers
        assert 0.15 < len(subs) / len(c.viewers) < 0.35
        assert {u.sub_tier for u in subs} == {1, 2}
        assert all(1 <= u.sub_month <= 80 for u in subs)
        assert all(HEX32.match(u.user_id) for u in c.viewers)
    nicks = [u.nickname for c in channels for u in c.viewers]
    assert any(re.match(r"^\S+ \S+ \d{4}$", n) for n in nicks)  # "치킨먹는 암살자 9930" style
    assert any(len(n) <= 3 for n in nicks)


def test_items_carry_every_live_key_with_json_strings(sample):
    _, items, _ = sample
    for it in items:
        assert list(it) == LIVE_KEYS
        assert isinstance(it["extras"], str) and isinstance(json.loads(it["extras"]), dict)
        if it["uid"] == "anonymous":
            assert it["profile"] is None
        elif it["uid"] == "SYSTEM_MESSAGE":
            assert it["profile"] == "{}"
        else:
            profile = json.loads(it["profile"])
            assert profile["userIdHash"] == it["uid"]
            assert profile["nickname"]


def test_msgtime_rises_and_uid_msgtime_identifies_a_line(sample):
    _, items, _ = sample
    for prev, cur in zip(items, items[1:], strict=False):
        gift_group = cur["msgTypeCode"] == prev["msgTypeCode"] == 12 and cur["msgTime"] == prev["msgTime"]
        assert cur["msgTime"] > prev["msgTime"] or gift_group
    keys = collections.Counter((i["uid"], i["msgTime"]) for i in items if i["msgTypeCode"] != 12)
    assert max(keys.values()) == 1
    gifts = [(i["msgTime"], json.loads(i["extras"])["receiverUserIdHash"]) for i in items if i["msgTypeCode"] == 12]
    assert len(set(gifts)) == len(gifts)


def test_distribution(sample):
    _, items, _ = sample
    types = collections.Counter(i["msgTypeCode"] for i in items)
    assert types[1] / len(items) > 0.98
    assert types[10] > 20 and types[11] >= 1 and types[30] >= 1
    by_user = collections.Counter(i["uid"] for i in items if i["msgTypeCode"] == 1)
    assert sum(n for _, n in by_user.most_common(10)) > 0.2 * len(items)
    assert len(by_user) > 200  # and a long tail
    donations = [i for i in items if i["msgTypeCode"] == 10]
    anonymous = [d for d in donations if d["uid"] == "anonymous"]
    assert len(anonymous) / len(donations) >= 0.7
    for d in donations:
        ex = json.loads(d["extras"])
        assert isinstance(ex["payAmount"], int) and ex["payAmount"] >= 1000
        assert ex["isAnonymous"] == (d["uid"] == "anonymous")
        assert ("nickname" in ex) != ex["isAnonymous"]
        if ex["donationType"] == "VIDEO":
            assert d["msg"]
    assert len({json.loads(d["extras"])["donationId"] for d in donations}) == len(donations)
    os_types = collections.Counter(json.loads(i["extras"]).get("osType") for i in items if i["msgTypeCode"] == 1)
    assert 0.55 < os_types["PC"] / sum(os_types.values()) < 0.85
    assert os_types["AOS"] > os_types["IOS"] > 0
    every_os = {json.loads(i["extras"]).get("osType") for i in items if i["msgTypeCode"] in (1, 10)}
    assert every_os <= {"PC", "AOS", "IOS", None}  # no recorded frame has "MOBILE"
    roles = {json.loads(i["profile"])["userRoleCode"] for i in items if i["msgTypeCode"] == 1}
    assert {"common_user", "streamer"} <= roles and roles & {"streaming_chat_manager", "streaming_channel_manager"}
    tiers = {json.loads(i["profile"])["streamingProperty"].get("subscription", {}).get("tier")
             for i in items if i["msgTypeCode"] == 1}
    assert {1, 2} <= tiers


def test_special_lines(sample):
    _, items, _ = sample
    for it in items:
        ex = json.loads(it["extras"])
        if it["msgTypeCode"] == 11:
            assert {"month", "tierNo", "tierName", "nickname"} <= set(ex)
        elif it["msgTypeCode"] == 12:
            assert it["uid"] == "anonymous" and it["msg"] == "" and it["profile"] is None
            assert ex["giftType"] == "SUBSCRIPTION_GIFT_RECEIVER"
            assert {"giftId", "receiverUserIdHash", "receiverNickname", "giftTierNo", "giftTierName",
                    "selectionType"} <= set(ex)
        elif it["msgTypeCode"] == 30:
            assert it["uid"] == "SYSTEM_MESSAGE"
            assert {"description", "styleType", "visibleRoles", "params"} <= set(ex)
        elif it["msgTypeCode"] == 1:
            for name in re.findall(r"\{:([^:]+):\}", it["msg"]):
                assert name in ex["emojis"]


def test_side_frames_point_at_generated_lines(sample):
    _, items, side = sample
    lines = {(i["uid"], i["msgTime"]) for i in items}
    cid = items[0]["cid"]
    blinds = [b for cmd, b in side if cmd == CMD_BLIND]
    events = collections.Counter(b["type"] for cmd, b in side if cmd == CMD_EVENT)
    assert 10 <= len(blinds) <= 100  # ~1/500
    for b in blinds:
        assert (b["userId"], b["messageTime"]) in lines
        assert b["channelId"] == cid and b["blindType"] in ("BLIND", "CBOTBLIND")
    assert events["TEMPORARY_RESTRICT"] >= 1 and events["SUBSCRIPTION_GIFT"] >= 1


def test_every_item_and_side_frame_parses_without_dead_letter(sample):
    _, items, side = sample
    cid = items[0]["cid"]
    frames = [{"svcid": "game", "ver": "1", "cmd": 93101 if i["msgTypeCode"] == 1 else 93102, "tid": None,
               "cid": cid, "bdy": [i]} for i in items[:3000] + [i for i in items if i["msgTypeCode"] != 1]]
    frames += [{"svcid": "game", "ver": "1", "cmd": cmd, "tid": None, "cid": cid, "bdy": b} for cmd, b in side]
    frames.append({"svcid": "game", "ver": "1", "cmd": 15101, "retCode": 0, "retMsg": "SUCCESS", "tid": "2",
                   "cid": cid, "bdy": {"messageList": [to_recent(i) for i in items[:50]],
                                       "userCount": 10, "notice": None}})
    kinds = collections.Counter()
    for f in frames:
        for rec in protocol.parse_frame(json.dumps(f, ensure_ascii=False)):
            kinds[rec["kind"]] += 1
            assert rec["kind"] != "dead_letter", rec
    assert kinds["chat"] >= 3050 and kinds["blind"] == sum(1 for c, _ in side if c == CMD_BLIND)


def test_to_recent_uses_the_recent_key_names_of_the_samples():
    recent_samples = [json.loads(line) for line in (DATA / "samples.jsonl").read_text().splitlines()
                      if '"recent_chat_item"' in line]
    sample_keys = {k for s in recent_samples for k in s if not k.startswith("_")}
    item = ChatStream(make_channels(1, 1)[0], 1).next_items(T0, 1)[0]
    recent = to_recent(item)
    assert set(recent) <= sample_keys
    assert recent["userId"] == item["uid"] and recent["content"] == item["msg"]
    assert recent["messageTime"] == item["msgTime"] and recent["channelId"] == item["cid"]


def test_history_shape():
    channels = make_channels(3, 4)
    end = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)
    runs = list(history(channels, 7, end, seed=4, rate_per_min=20))
    per_channel = collections.Counter(ch.channel_id for ch, _, _ in runs)
    assert set(per_channel) == {c.channel_id for c in channels}
    assert min(per_channel.values()) >= 3
    cids = [cid for _, cid, _ in runs]
    assert len(set(cids)) == len(cids)
    assert not set(cids) & {c.chat_channel_id for c in channels}
    end_ms = int(end.timestamp() * 1000)
    for ch, cid, items in runs:
        assert 300 < len(items) < 20_000
        assert all(i["cid"] == cid for i in items)
        assert items[-1]["msgTime"] < end_ms and items[0]["msgTime"] > end_ms - 8 * 86_400_000
        assert json.loads(items[0]["extras"]).get("streamingChannelId", ch.channel_id) == ch.channel_id
    days = {datetime.fromtimestamp(items[0]["msgTime"] / 1000, UTC).date() for _, _, items in runs}
    assert len(days) >= 5
    again = next(history(channels, 7, end, seed=4, rate_per_min=20))
    assert again[1] == runs[0][1] and again[2] == runs[0][2]


def test_history_default_volume_and_speed():
    channels = make_channels(5, 1)
    end = datetime(2026, 10, 1, 15, 0, tzinfo=UTC)
    plan = broadcasts(channels, 7, end, 1)
    assert 15 <= len(plan) <= 40
    t0 = time.perf_counter()
    sizes = [len(items) for _, _, items in history(channels, 2, end, 1)]
    rate = sum(sizes) / (time.perf_counter() - t0)
    assert sizes and all(2_000 <= n <= 30_000 for n in sizes), sizes
    assert rate > 20_000, f"{rate:.0f} items/s"  # ~300k/s on a quiet core; loose for shared CI


def test_a_channel_does_not_depend_on_how_many_are_made():
    three, five = make_channels(3, 2), make_channels(5, 2)
    assert [c.channel_id for c in three] == [c.channel_id for c in five[:3]]
    assert len({c.channel_name for c in five}) == 5


def test_the_stream_does_not_depend_on_how_it_is_cut_into_calls():
    """The live server asks for a few lines per 100 ms tick, as many as the rate and the
    tick's length give: the same seed must air the same lines whatever the cut (before, a
    gift or a mission was cut short at the end of a call: at 5 lines/s every gift had one
    receiver, and which lines followed depended on the machine's timing)."""
    channel = make_channels(1, 9)[0]  # seed 9: gifts of 10, 5 and 1, and mission participations
    whole = ChatStream(channel, 9).next_items(T0, 6000)
    stream, cut = ChatStream(channel, 9), []
    while len(cut) < len(whole):
        cut += stream.next_items(T0, 1 + len(cut) % 3)
    assert cut[:len(whole)] == whole
    gifts = collections.Counter(json.loads(i["extras"])["giftId"] for i in cut if i["msgTypeCode"] == 12)
    assert max(gifts.values()) > 1
