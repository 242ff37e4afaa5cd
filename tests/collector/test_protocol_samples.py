"""collector.protocol on the real samples of tests/data/samples.jsonl."""
from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from collector import protocol
from collector.parse_cli import sample_payload
from collector.records import CHAT_FIELDS, KINDS

pytestmark = pytest.mark.unit
SAMPLES = Path(__file__).resolve().parents[1] / "data" / "samples.jsonl"
LINES = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]


def sample(kind: str, nth: int = 0, **match) -> dict:
    """The nth sample line with this _kind (and matching top-level values)."""
    found = [s for s in LINES if s["_kind"] == kind and all(s.get(k) == v for k, v in match.items())]
    return found[nth]


def parse(s: dict) -> list[dict]:
    return protocol.parse_frame(sample_payload(s))


def payload(s: dict) -> dict:
    p = sample_payload(s)
    return json.loads(p) if isinstance(p, str) else p


def only(records: list[dict], kind: str) -> dict:
    assert [r["kind"] for r in records] == [kind], records
    return records[0]


def iso(ms: int) -> str:
    return datetime.fromtimestamp(ms / 1000, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@pytest.mark.parametrize("line", LINES, ids=[f"{i}-{s['_kind']}" for i, s in enumerate(LINES, 1)])
def test_every_sample_parses_into_contract_records(line):
    records = parse(line)
    assert records
    for rec in records:
        assert rec["kind"] in KINDS
        json.dumps(rec, ensure_ascii=False)  # JSON-ready
        if rec["kind"] == "chat":
            assert set(CHAT_FIELDS) <= set(rec)
            assert len(rec["dedupe_key"]) == 32
        if rec["kind"] == "dead_letter":
            assert rec["error"] and rec["raw"]


def test_samples_cover_every_kind():
    kinds = {rec["kind"] for s in LINES for rec in parse(s)}
    assert kinds == set(KINDS)


def test_first_live_chat():
    s = sample("chat", _frame="ws_in")
    rec = only(parse(s), "chat")
    assert rec["user_id"] == "bd86213f16ba6bcd45cfd862da5675f1"
    assert rec["nickname"] == "观众101"
    assert rec["message"] == "어어 샌다"
    assert rec["os_type"] == "AOS"
    assert rec["chat_time"] == iso(1790782259938) == "2026-09-30T15:30:59.938Z"
    assert rec["message_type"] == "chat" and rec["msg_type_code"] == 1
    assert rec["chat_channel_id"] == "N2mCH5"
    assert rec["channel_id"] == "17f0cfcba4ff608de5eabb5110d134d0"
    assert rec["color_code"] == "CC000"
    assert rec["user_role"] == "common_user"
    assert rec["member_count"] == 6332
    assert rec["is_anonymous"] is False and rec["blind_type"] is None
    assert rec["raw"] == payload(s)["bdy"][0]  # the item as received, profile still a JSON string
    assert isinstance(rec["raw"]["profile"], str)


def test_two_item_frame_gives_two_records():
    s = sample("chat", 1, _frame="ws_in")
    records = parse(s)
    assert [r["kind"] for r in records] == ["chat", "chat"]
    assert [r["message"] for r in records] == ["ㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋㅋ", "ㅋㅋㅋ"]
    assert records[0]["badges"] and records[0]["badges"][0]["badgeId"] == "donation_newbie"
    assert records[1]["badges"] is None
    assert records[0]["dedupe_key"] != records[1]["dedupe_key"]


def test_anonymous_live_donation():
    rec = only(parse(sample("donation", _frame="ws_in")), "chat")
    assert rec["message_type"] == "donation"
    assert rec["is_anonymous"] is True
    assert rec["pay_amount"] == 1000
    assert rec["pay_type"] == "CURRENCY"
    assert rec["donation_type"] == "CHAT"
    assert rec["donation_id"] == "1DLJKBOsbQNfjLdwt4UsH6BItdIkK"
    assert rec["nickname"] is None and rec["user_id"] == "anonymous"
    assert "warnings" not in rec  # profile null is normal for anonymous donors


def test_recent_video_donation():
    rec = only(parse(sample("donation", _frame="recent_chat_item")), "chat")
    assert rec["donation_type"] == "VIDEO"
    assert rec["message"].startswith("스태프의 실수로")
    assert rec["is_anonymous"] is True and rec["nickname"] is None
    assert rec["chat_channel_id"] == "N2lyvo" and rec["member_count"] == 325
    assert rec["chat_time"] == iso(1790632537718)


def test_recent_named_donation():
    rec = only(parse(sample("donation", 2, _frame="recent_chat_item")), "chat")
    assert rec["nickname"] == "观众115"
    assert rec["is_anonymous"] is False
    assert rec["subscription_tier"] == 2 and rec["subscription_month"] == 71
    assert rec["color_code"] == "SS001"


def test_recent_subscription_prefers_extras():
    rec = only(parse(sample("subscription")), "chat")
    assert rec["message_type"] == "subscription"
    assert rec["subscription_month"] == 32 and rec["subscription_tier"] == 1
    assert rec["message"] == "나이스한 아침이야"
    assert rec["nickname"] == "观众132"


def test_gift_line():
    rec = only(parse(sample("subscription_gift", _frame="ws_in", cmd=93102)), "chat")
    assert rec["message_type"] == "subscription_gift"
    assert rec["gift_receiver_id"] == "6e4a492e6e057f8dc4ce3144fbc84649"
    assert rec["gift_receiver_nickname"] == "观众213"
    assert rec["gift_tier"] == 1
    assert rec["message"] == ""
    assert rec["user_id"] == "anonymous" and rec["nickname"] is None


def test_system_line():
    rec = only(parse(sample("system_message")), "chat")
    assert rec["message_type"] == "system"
    assert rec["user_id"] == "SYSTEM_MESSAGE"
    assert rec["message"] == "채팅 참여가 제한되었습니다."
    assert rec["nickname"] is None and "warnings" not in rec


@pytest.mark.parametrize("nth, blind_type, ms, cid", [
    (0, "CBOTBLIND", 1790782352315, "N2mCH5"),
    (1, "BLIND", 1790632422968, "N2l_uf"),
])
def test_blinds(nth, blind_type, ms, cid):
    rec = only(parse(sample("blind", nth)), "blind")
    assert rec["blind_type"] == blind_type
    assert rec["message_time"] == iso(ms)
    assert rec["chat_channel_id"] == cid
    assert len(rec["user_id"]) == 32


@pytest.mark.parametrize("kind, nth, event_type", [
    ("event", 0, "TEMPORARY_RESTRICT"),
    ("event", 1, "CHANGE_CHAT_MODE"),
    ("subscription_gift", 0, "SUBSCRIPTION_GIFT"),
    ("subscription_gift_receiver", 0, "SUBSCRIPTION_GIFT_RECEIVER"),
])
def test_events(kind, nth, event_type):
    s = sample(kind, nth, cmd=93006)
    rec = only(parse(s), "event")
    assert rec["event_type"] == event_type
    assert rec["cmd"] == 93006
    assert rec["body"] == payload(s)["bdy"]
    assert rec["chat_channel_id"] == payload(s)["cid"]
    assert len(rec["dedupe_key"]) == 32
    assert parse(s)[0]["dedupe_key"] == rec["dedupe_key"]  # stable


def test_temporary_restrict_time_is_kst_wall_clock():
    rec = only(parse(sample("event", 0)), "event")
    assert rec["event_time"] == "2026-09-30T15:32:39.639Z"  # createdTime 2026-10-01T00:32:39.639 KST


def test_control_frames():
    ping = only(parse(sample("ping")), "control")
    assert (ping["name"], ping["cmd"]) == ("PING", 0)
    pong = only(parse(sample("pong")), "control")
    assert (pong["name"], pong["cmd"]) == ("PONG", 10000)
    conn = only(parse(sample("connected")), "control")
    assert conn["name"] == "CONNECTED" and conn["ret_code"] == 0 and conn["ret_msg"] == "SUCCESS"
    assert conn["sid"].startswith("2nltADXsMNAUm")
    assert conn["chat_channel_id"] == "N2mCH5"
    rejected = only(parse(sample("connected_rejected")), "control")
    assert rejected["name"] == "CONNECTED" and rejected["ret_code"] == 105 and rejected["sid"] is None
    assert rejected["ret_msg"] == "Incorrect parameter"
    assert only(parse(sample("send_chat")), "control")["name"] == "SEND_CHAT"
    assert only(parse(sample("connect")), "control")["name"] == "CONNECT"
    assert only(parse(sample("request_recent_chat")), "control")["name"] == "REQUEST_RECENT_CHAT"


def test_http_answers_are_control_records():
    rec = only(parse(sample("access_token_error")), "control")
    assert rec["name"] == "HTTP_ANSWER" and rec["code"] == 50001
    assert only(parse(sample("routing")), "control")["code"] == 200


def test_decoded_profile_is_accepted():
    rec = only(parse(sample("chat", _frame="ws_in_decoded")), "chat")
    assert rec["nickname"] == "알리체" and rec["os_type"] == "PC"
    assert rec["channel_id"] == "f00f6d46ecc6d735b96ecf376b9e5212"
    assert "warnings" not in rec


def test_fragment_without_cid():
    rec = only(parse(sample("chat", _frame="ws_item_fragment")), "chat")
    assert rec["chat_channel_id"] is None
    assert rec["nickname"] == "치킨먹는 암살자 9930"
    assert rec["os_type"] == "AOS"
    assert rec["subscription_month"] is None  # streamingProperty {} (older frames)
    assert rec["chat_time"] == iso(1712199137274)


def test_recent_notice_item_alone_is_a_chat_line():
    rec = only(parse(sample("recent_chat_notice")), "chat")
    assert rec["user_role"] == "streaming_chat_manager"
    assert rec["subscription_month"] == 26


# ---------------------------------------------------------------- client frames
def test_frame_builders_match_the_wire():
    connect = sample("connect", _frame="ws_out", cid="N2mCH5")
    assert protocol.connect_frame("N2mCH5", connect["bdy"]["accTkn"], 1) == connect["_raw"]
    recent = sample("request_recent_chat", cid="N2mCH5")
    assert protocol.recent_chat_frame("N2mCH5", recent["sid"], 2) == recent["_raw"]
    assert protocol.ping_frame() == sample("ping")["_raw"]
    assert json.loads(protocol.pong_frame())["cmd"] == protocol.PONG


def test_builders_round_trip_through_the_parser():
    assert only(protocol.parse_frame(protocol.ping_frame()), "control")["name"] == "PING"
    assert only(protocol.parse_frame(protocol.pong_frame()), "control")["name"] == "PONG"
    rec = only(protocol.parse_frame(protocol.recent_chat_frame("abc", "sid1", 7, 20)), "control")
    assert rec["name"] == "REQUEST_RECENT_CHAT" and rec["raw"]["bdy"] == {"recentMessageCount": 20}


# ---------------------------------------------------------------- HTTP answers
def test_live_status_open():
    s = [x for x in LINES if x["_kind"] == "live_status" and x["content"]["status"] == "OPEN"][0]
    st = protocol.parse_live_status(payload(s))
    assert st.status == "OPEN" and st.chat_channel_id == "N2mCH5" and st.reason is None
    assert st.live_title.startswith("뿡) 김웅의 삶")
    assert st.concurrent_user_count == 6637
    assert (st.category_type, st.live_category, st.live_category_value) == (
        "GAME", "Grand_Theft_Auto_V", "Grand Theft Auto V")
    assert st.open_date == datetime(2026, 9, 30, 8, 53, 13, tzinfo=UTC)  # 17:53:13 KST
    assert st.close_date is None and st.adult is False


def test_live_status_closed_abroad():
    s = [x for x in LINES if x["_kind"] == "live_status" and x["content"]["status"] == "CLOSE"][0]
    st = protocol.parse_live_status(payload(s))
    assert st.status == "CLOSE" and st.chat_channel_id is None
    assert st.reason == "abroad:ABROAD"
    assert st.close_date == datetime(2026, 9, 27, 13, 25, 56, tzinfo=UTC)


def test_live_status_v2_shape_and_reasons():
    v2 = {"code": 200, "message": None, "content": {
        "liveTitle": "t", "status": "OPEN", "concurrentUserCount": 5, "accumulateCount": 9,
        "paidPromotion": False, "adult": True, "chatChannelId": None, "categoryType": "ETC",
        "liveCategory": "talk", "liveCategoryValue": "Talk", "livePollingStatusJson": "{}",
        "faultStatus": None, "userAdultStatus": "NOT_LOGIN_USER", "chatActive": True}}
    st = protocol.parse_live_status(v2)
    assert st.adult is True and st.reason == "adult" and st.open_date is None
    v2["content"]["adult"] = False
    assert protocol.parse_live_status(v2).reason == "no chat channel"


@pytest.mark.parametrize("answer, fragment", [
    ({"code": 500, "message": "boom", "content": None}, "code 500"),
    ({"code": 200, "message": None, "content": None}, "no content"),
    ({"code": 200, "content": {"chatChannelId": "x"}}, "no status"),
    ([1, 2], "not a JSON object"),
])
def test_live_status_bad_answers(answer, fragment):
    with pytest.raises(protocol.ProtocolError, match=fragment):
        protocol.parse_live_status(answer)


def test_channel_known_and_unknown():
    known = [s for s in LINES if s["_kind"] == "channel" and s.get("code") == 200
             and s["content"]["channelId"]][0]
    ch = protocol.parse_channel(payload(known))
    assert ch.exists and ch.channel_id == "12bba8d480ba0ffaf85656afd76fa792"
    assert ch.channel_name == "PUBG 배틀그라운드B" and ch.follower_count == 7071
    assert ch.open_live is False and ch.verified_mark is True and ch.image_url.startswith("https://")
    unknown = [s for s in LINES if s["_kind"] == "channel" and s.get("code") == 200
               and s["content"]["channelId"] is None][0]
    ch = protocol.parse_channel(payload(unknown))
    assert ch.exists is False and ch.channel_id is None and ch.channel_name is None


def test_channel_bare_content_fragment():
    ch = protocol.parse_channel(payload(sample("channel", _frame="http_content_fragment")))
    assert ch.channel_name == "배돈" and ch.open_live is True and ch.follower_count == 18386


def test_access_token_ok_and_errors():
    tok = protocol.parse_access_token(payload(sample("access_token")))
    assert tok.access_token.startswith("L2zZxGrT") and tok.extra_token
    with pytest.raises(protocol.ProtocolError, match="50001") as err:
        protocol.parse_access_token(payload(sample("access_token_error")))
    assert err.value.code == 50001
    with pytest.raises(protocol.ProtocolError, match="adult"):
        protocol.parse_access_token({"code": 42601, "message": "x", "content": None})
    with pytest.raises(protocol.ProtocolError, match="no accessToken"):
        protocol.parse_access_token({"code": 200, "message": None, "content": {}})
