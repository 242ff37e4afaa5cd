"""collector.protocol on bad input: it never raises and never drops anything silently."""
from __future__ import annotations

import json

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector.protocol import dedupe_key, parse_frame, to_live_keys, to_recent_keys
from collector.records import CHAT_FIELDS, KINDS

pytestmark = pytest.mark.unit

PROFILE = json.dumps({"userIdHash": "a" * 32, "nickname": "닉", "userRoleCode": "common_user",
                      "streamingProperty": {"nicknameColor": {"colorCode": "CC000"}}})
EXTRAS = json.dumps({"osType": "PC", "streamingChannelId": "b" * 32, "emojis": {}})


def item(**over) -> dict:
    base = {"svcid": "game", "cid": "N2abcd", "mbrCnt": 10, "uid": "a" * 32, "profile": PROFILE,
            "msg": "hi", "msgTypeCode": 1, "msgStatusType": "NORMAL", "extras": EXTRAS,
            "ctime": 1790782259938, "utime": 1790782259938, "msgTime": 1790782259938}
    for key, value in over.items():
        if value is ...:
            base.pop(key)
        else:
            base[key] = value
    return base


def chat(**over) -> str:
    return json.dumps({"svcid": "game", "ver": "1", "cmd": 93101, "cid": "N2abcd", "tid": None,
                       "bdy": [item(**over)]}, ensure_ascii=False)


# (input, expected kinds, substring of error or None, extra checks on the first record)
CASES = {
    "not json": ("hello {", ["dead_letter"], "not JSON", {}),
    "json array of numbers": ("[1, 2, 3]", ["dead_letter"], "not a JSON object", {}),
    "json string": ('"just text"', ["dead_letter"], "not a JSON object", {}),
    "empty string": ("", ["dead_letter"], "empty", {}),
    "whitespace": ("  \n ", ["dead_letter"], "empty", {}),
    "invalid utf-8 bytes": (b'{"cmd": 93101, "bdy": "\xff\xfe"}', ["dead_letter"], "UTF-8", {}),
    "NaN constant": ('{"cmd": 0, "x": NaN}', ["dead_letter"], "NaN", {}),
    "missing cmd": ('{"ver": "1", "bdy": []}', ["dead_letter"], "no cmd", {}),
    "cmd a word": ('{"cmd": "chat", "bdy": []}', ["dead_letter"], "cmd", {}),
    "bdy a string": ('{"cmd": 93101, "bdy": "oops"}', ["dead_letter"], "bdy is a str", {}),
    "bdy missing": ('{"cmd": 93102}', ["dead_letter"], "bdy is a NoneType", {}),
    "bdy an object is one item": (json.dumps({"cmd": 93101, "bdy": item()}), ["chat"], None, {"message": "hi"}),
    "item missing msgTime": (chat(msgTime=...), ["dead_letter"], "msgTime missing", {}),
    "msgTime a string": (chat(msgTime="1790782259938"), ["dead_letter"], "msgTime not an integer", {}),
    "msgTime huge": (chat(msgTime=10**30), ["dead_letter"], "out of range", {}),
    "msgTime negative": (chat(msgTime=-5), ["dead_letter"], "out of range", {}),
    "item not an object": ('{"cmd": 93101, "bdy": [1]}', ["dead_letter"], "not an object", {}),
    "profile null on a chat line": (chat(profile=None), ["chat"], None,
                                    {"nickname": None, "user_role": None, "warnings": ["profile is null"]}),
    "profile not json": (chat(profile="not json"), ["chat"], None, {"nickname": None, "os_type": "PC"}),
    "profile a json array": (chat(profile="[]"), ["chat"], None, {"nickname": None, "color_code": None}),
    "profile a number": (chat(profile=5), ["chat"], None, {"nickname": None}),
    "extras empty string": (chat(extras=""), ["chat"], None,
                            {"os_type": None, "channel_id": None, "warnings": ["extras is an empty string"]}),
    "extras double-encoded": (chat(extras=json.dumps(EXTRAS)), ["chat"], None,
                              {"os_type": "PC", "warnings": ["extras was double-encoded JSON"]}),
    "extras json string of junk": (chat(extras='"{\\"a\\":1"'), ["chat"], None, {"os_type": None}),
    "extras json string holding json": (chat(extras='"{\\"a\\":1}"'), ["chat"], None,
                                        {"os_type": None, "nickname": "닉"}),
    "unknown cmd": ('{"cmd": 99999, "cid": "N2x", "bdy": {"a": 1}}', ["event"], None,
                    {"event_type": "UNKNOWN_CMD_99999", "body": {"a": 1}, "chat_channel_id": "N2x"}),
    "unknown cmd without body": ('{"cmd": 12345}', ["event"], None, {"body": {"value": None}}),
    "cmd huge": ('{"cmd": 123456789012345678901234567890}', ["dead_letter"], "cmd", {}),
    "unknown msgTypeCode": (chat(msgTypeCode=77), ["chat"], None, {"message_type": "unknown", "msg_type_code": 77}),
    "msgTypeCode huge": (chat(msgTypeCode=2**40), ["chat"], None, {"message_type": "unknown", "msg_type_code": None}),
    "mbrCnt huge": (chat(mbrCnt=2**63), ["chat"], None, {"member_count": None}),
    "payAmount huge": (chat(msgTypeCode=10, extras=json.dumps({"payAmount": 10**12})), ["chat"], None,
                       {"pay_amount": None}),
    "payAmount a string number": (chat(msgTypeCode=10, extras=json.dumps({"payAmount": "1000"})), ["chat"], None,
                                  {"pay_amount": 1000}),
    "NUL in msg": (chat(msg="a\x00b\x00"), ["chat"], None, {"message": "ab"}),
    "NUL in nickname": (chat(profile=json.dumps({"nickname": "x\x00y"})), ["chat"], None, {"nickname": "xy"}),
    "lone surrogate": ('{"cmd": 93101, "bdy": [' + json.dumps(item(msg="ok"))[:-1] + ', "z": "\\ud800"}]}',
                       ["chat"], None, {"message": "ok"}),
    "uid a number": (chat(uid=12), ["chat"], None, {"user_id": None}),
    "blind without body": ('{"cmd": 94008}', ["dead_letter"], "BLIND", {}),
    "blind without time": ('{"cmd": 94008, "bdy": {"userId": "u"}}', ["dead_letter"], "messageTime missing", {}),
    "event bdy a list": ('{"cmd": 93006, "bdy": []}', ["dead_letter"], "EVENT", {}),
    "event without type": ('{"cmd": 93006, "bdy": {"a": 1}}', ["event"], None, {"event_type": "UNTYPED"}),
    "notice cleared": ('{"cmd": 94010, "cid": "c", "bdy": {}}', ["event"], None, {"event_type": "NOTICE_CLEARED"}),
    "kick keeps body": ('{"cmd": 94005, "bdy": {"userIdHash": "u"}}', ["event"], None,
                        {"event_type": "KICK", "body": {"userIdHash": "u"}}),
    "session ended": ('{"cmd": 90102, "cid": "c"}', ["control"], None, {"name": "SESSION_ENDED"}),
    "recent bdy a list": ('{"cmd": 15101, "bdy": []}', ["dead_letter"], "RECENT_CHAT", {}),
    "recent messageList a dict": ('{"cmd": 15101, "bdy": {"messageList": {}}}', ["dead_letter"], "messageList", {}),
    "recent empty": ('{"cmd": 15101, "bdy": {"messageList": [], "userCount": 3, "notice": null}}', ["control"],
                     None, {"name": "RECENT_CHAT", "user_count": 3, "message_count": 0}),
    "http answer": ('{"code": 404, "message": "no", "content": null}', ["control"], None,
                    {"name": "HTTP_ANSWER", "code": 404}),
    "deep nesting": ("[" * 100000 + "]" * 100000, ["dead_letter"], None, {}),
}


@pytest.mark.parametrize("data, kinds, error, checks", CASES.values(), ids=CASES.keys())
def test_malformed_input(data, kinds, error, checks):
    records = parse_frame(data)
    assert [r["kind"] for r in records] == kinds
    first = records[0]
    if error is not None:
        assert error in first["error"], first["error"]
    if first["kind"] == "dead_letter":
        assert isinstance(first["raw"], str)
        assert "\x00" not in first["raw"]
    if first["kind"] == "chat":
        assert set(CHAT_FIELDS) <= set(first)
        assert first["raw"]  # the item is kept
    for key, value in checks.items():
        assert first[key] == value, (key, first.get(key))
    json.dumps(records, ensure_ascii=False).encode("utf-8")  # storable: no lone surrogates


def test_one_bad_item_does_not_spoil_the_frame():
    frame = json.dumps({"cmd": 93101, "cid": "c", "bdy": [item(msg="good"), item(msgTime="x"), 7]})
    kinds = [r["kind"] for r in parse_frame(frame)]
    assert kinds == ["chat", "dead_letter", "dead_letter"]


def test_dict_input_is_accepted():
    assert parse_frame({"cmd": 0})[0]["name"] == "PING"
    assert parse_frame(chat().encode("utf-8"))[0]["kind"] == "chat"


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(),
    lambda children: st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=8), children, max_size=4),
    max_leaves=20,
)
frame_like = st.fixed_dictionaries(
    {"cmd": st.sampled_from([0, 10000, 10100, 15101, 93101, 93102, 93006, 94008, 94010, 94005, 90102, 7])},
    optional={"bdy": json_values | st.lists(st.dictionaries(
        st.sampled_from(["uid", "msg", "msgTime", "msgTypeCode", "profile", "extras", "userId", "content",
                         "messageTime", "mbrCnt", "msgStatusType"]), json_values), max_size=3),
        "cid": json_values, "retCode": json_values},
)


def _check(records):
    assert isinstance(records, list) and records
    for rec in records:
        assert rec["kind"] in KINDS
        if rec["kind"] == "chat":
            assert set(CHAT_FIELDS) <= set(rec)
        json.dumps(rec, ensure_ascii=False, allow_nan=False).encode("utf-8")


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(json_values)
def test_any_json_value_never_raises(value):
    _check(parse_frame(value if isinstance(value, dict) else json.dumps(value)))


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_any_text_never_raises(text):
    _check(parse_frame(text))


@settings(max_examples=200, deadline=None)
@given(st.binary())
def test_any_bytes_never_raise(data):
    _check(parse_frame(data))


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(frame_like)
def test_frame_shaped_objects_never_raise(frame):
    _check(parse_frame(frame))
    _check(parse_frame(json.dumps(frame)))


def test_recent_user_count_object():
    frame = '{"cmd": 15101, "cid": "c", "bdy": {"messageList": [], "userCount": {"total": 42}, "notice": null}}'
    assert parse_frame(frame)[0]["user_count"] == 42


def test_key_name_conversion_round_trips():
    live = item()
    recent = to_recent_keys(live)
    assert {"userId", "content", "messageTypeCode", "messageStatusType", "messageTime", "memberCount",
            "channelId", "createTime"} <= set(recent)
    assert "uid" not in recent and "msg" not in recent
    assert to_live_keys(recent) == live


@settings(max_examples=300, deadline=None)
@given(uid=st.sampled_from(["anonymous", "SYSTEM_MESSAGE", "a" * 32, None]),
       msg=st.text(max_size=20), code=st.sampled_from([1, 10, 11, 12, 30, 77]),
       t=st.integers(0, 4102444800000), cid=st.sampled_from(["N2abcd", None]),
       extras=st.fixed_dictionaries({}, optional={"donationId": st.text("abcXYZ019-_", min_size=1, max_size=10),
                                                  "receiverUserIdHash": st.text("0123456789abcdef", min_size=1)}))
def test_live_and_recent_names_give_the_same_dedupe_key(uid, msg, code, t, cid, extras):
    live = item(uid=uid, msg=msg, msgTypeCode=code, msgTime=t, cid=cid, extras=json.dumps(extras))
    a = parse_frame({"cmd": 93102, "bdy": [live]})[0]
    b = parse_frame({"cmd": 15101, "bdy": {"messageList": [to_recent_keys(live)]}})[0]
    c = parse_frame(to_recent_keys(live))[0]
    assert a["kind"] == b["kind"] == c["kind"] == "chat"
    assert a["dedupe_key"] == b["dedupe_key"] == c["dedupe_key"]
    assert a["dedupe_key"] == dedupe_key(cid, uid, t, code, extras.get("donationId") or extras.get(
        "receiverUserIdHash") or (msg.replace("\x00", "") if uid in (None, "anonymous", "SYSTEM_MESSAGE") else ""))


def test_frame_level_dead_letter_keeps_the_exact_text():
    text = '{"cmd" :93101,  "bdy": "oops"}'
    (rec,) = parse_frame(text)
    assert rec["kind"] == "dead_letter" and rec["raw"] == text


def test_named_donation_nickname_comes_from_extras():
    extras = json.dumps({"donationId": "d1", "payAmount": 500, "isAnonymous": False, "nickname": "후원자"})
    (rec,) = parse_frame(chat(msgTypeCode=10, extras=extras))
    assert rec["nickname"] == "후원자" and rec["is_anonymous"] is False and rec["pay_amount"] == 500
    extras = json.dumps({"donationId": "d2", "payAmount": 500, "isAnonymous": True})
    (rec,) = parse_frame(chat(msgTypeCode=10, extras=extras))
    assert rec["nickname"] is None and rec["is_anonymous"] is True  # hidden even with a profile
