"""The parse-equivalence corpus: the inputs whose records ``parse_frame`` gave before the
parser was made fast (issue 17), kept in tests/fixtures/parse_equivalence.jsonl.gz with
those records, so the fast parser is held to exactly the old output.

The inputs: frames of bench/frames.py (both styles, every frame type), every line of
tests/data/samples.jsonl, and hostile input (cut-off JSON, lone surrogates, NUL, huge
numbers, NaN/Infinity, wrong types, unknown cmds, deep nesting, bdy that is no list,
profile/extras that are not JSON, ...).

    .venv/bin/python -m tests.parse_corpus   # rewrites the fixture with today's parser

Rewrite it only when the parser's output is meant to change, and review the diff.
"""
from __future__ import annotations

import base64
import gzip
import json
from pathlib import Path

HERE = Path(__file__).resolve().parent
FIXTURE = HERE / "fixtures" / "parse_equivalence.jsonl.gz"
SAMPLES = HERE / "data" / "samples.jsonl"

UID = "a" * 32
PROFILE = json.dumps({"userIdHash": UID, "nickname": "닉네임", "profileImageUrl": "", "userRoleCode": "common_user",
                      "badge": {"imageUrl": "https://ssl.pstatic.net/static/nng/glive/icon/manager.png"},
                      "title": None, "verifiedMark": False, "activityBadges": [{"badgeNo": 1, "badgeId": "x"}],
                      "streamingProperty": {"subscription": {"accumulativeMonth": 3, "tier": 1},
                                            "nicknameColor": {"colorCode": "CC000"}},
                      "viewerBadges": [{"type": "STANDARD", "badge": {"badgeId": "y"}}]}, ensure_ascii=False)
EXTRAS = json.dumps({"osType": "PC", "chatType": "STREAMING", "streamingChannelId": "B" * 32, "emojis": {}},
                    ensure_ascii=False)


def _item(**over) -> dict:
    base = {"svcid": "game", "cid": "N2abcd", "mbrCnt": 10, "uid": UID, "profile": PROFILE, "msg": "안녕",
            "msgTypeCode": 1, "msgStatusType": "NORMAL", "extras": EXTRAS, "ctime": 1790782259938,
            "utime": 1790782259938, "msgTid": None, "cuid": None, "msgTime": 1790782259938}
    for key, value in over.items():
        if value is ...:
            base.pop(key)
        else:
            base[key] = value
    return base


def _frame(cmd=93101, **over) -> str:
    return json.dumps({"svcid": "game", "ver": "1", "bdy": [_item(**over)], "cmd": cmd, "tid": None,
                       "cid": "N2abcd"}, ensure_ascii=False, separators=(",", ":"))


def _extras(**values) -> str:
    return json.dumps(values, ensure_ascii=False)


def hostile() -> list[tuple[str, object]]:
    """(name, input) of bad, odd and edge-case input: str, bytes or an already decoded dict."""
    good = _frame()
    two = json.dumps({"cmd": 93101, "cid": "N2abcd", "bdy": [_item(), _item(msg="둘", msgTime=1790782259939)]},
                     ensure_ascii=False)
    deep = lambda n: "[" * n + "]" * n  # noqa: E731
    deep_obj = lambda n: '{"cmd":93006,"bdy":{"type":"X","v":' + '{"a":' * n + "1" + "}" * n + "}}"  # noqa: E731
    cases: list[tuple[str, object]] = [
        ("good str", good), ("good bytes", good.encode()), ("good bytearray", bytearray(good.encode())),
        ("good memoryview", memoryview(good.encode())), ("good dict", json.loads(good)),
        ("two items", two),
        ("cut at 1", good[:1]), ("cut at 10%", good[: len(good) // 10]), ("cut at half", good[: len(good) // 2]),
        ("cut one short", good[:-1]), ("cut bytes mid-char", good.encode()[: good.encode().index("닉".encode()) + 1]),
        ("trailing garbage", good + "x"), ("two frames on a line", good + good),
        ("leading BOM", "\ufeff" + good), ("leading BOM bytes", b"\xef\xbb\xbf" + good.encode()),
        ("surrounding whitespace", "  \n" + good + "\n\t "),
        ("not json", "hello {"), ("empty", ""), ("whitespace", " \n\t"), ("empty bytes", b""),
        ("json array", "[1, 2, 3]"), ("json string", '"text"'), ("json number", "12"), ("json null", "null"),
        ("json true", "true"), ("invalid utf-8", b'{"cmd": 93101, "bdy": "\xff\xfe"}'),
        ("cesu surrogate bytes", b'{"cmd": 93101, "bdy": "\xed\xa0\x80"}'),
        ("NaN top", '{"cmd": 0, "x": NaN}'), ("Infinity top", '{"cmd": 0, "x": Infinity}'),
        ("-Infinity in item", good.replace('"mbrCnt":10', '"mbrCnt":-Infinity')),
        ("NaN in profile", _frame(profile='{"nickname": NaN, "userRoleCode": "x"}')),
        ("Infinity in extras", _frame(extras='{"payAmount": Infinity, "osType": "PC"}', msgTypeCode=10)),
        ("1e400 in item", good.replace('"mbrCnt":10', '"mbrCnt":1e400')),
        ("1e400 in extras", _frame(extras='{"payAmount": 1e400}', msgTypeCode=10)),
        ("-0 and -0.0", good.replace('"mbrCnt":10', '"mbrCnt":-0,"z":-0.0,"f":1.5e-7,"g":0.1,"h":1E3')),
        ("float precision", '{"cmd":93006,"bdy":{"type":"F","v":[0.1,1e-320,2.2250738585072014e-308,'
                            '1.7976931348623157e308,123456789012345678.5,5e-324,0.30000000000000004]}}'),
        ("duplicate keys", '{"cmd": 93101, "cmd": 94008, "bdy": {"messageTime": 1, "messageTime": 2}}'),
        ("duplicate item keys", good.replace('"msg":"안녕"', '"msg":"하나","msg":"둘"')),
        ("missing cmd", '{"ver": "1", "bdy": []}'), ("cmd a word", '{"cmd": "chat", "bdy": []}'),
        ("cmd a digit string", '{"cmd": "93101", "bdy": []}'), ("cmd float", '{"cmd": 93101.0, "bdy": []}'),
        ("cmd 1.5", '{"cmd": 1.5}'), ("cmd true", '{"cmd": true}'), ("cmd null", '{"cmd": null}'),
        ("cmd huge", '{"cmd": 123456789012345678901234567890}'), ("cmd 2**64", '{"cmd": 18446744073709551616}'),
        ("cmd 2**63", '{"cmd": 9223372036854775808}'), ("cmd -2**63-1", '{"cmd": -9223372036854775809}'),
        ("int 5000 digits", '{"cmd": 0, "x": ' + "9" * 5000 + "}"),
        ("bdy a string", '{"cmd": 93101, "bdy": "oops"}'), ("bdy a number", '{"cmd": 93102, "bdy": 5}'),
        ("bdy null", '{"cmd": 93101, "bdy": null}'), ("bdy missing", '{"cmd": 93102}'),
        ("bdy empty list", '{"cmd": 93101, "cid": "c", "bdy": []}'),
        ("bdy an object", json.dumps({"cmd": 93101, "bdy": _item()}, ensure_ascii=False)),
        ("item not an object", '{"cmd": 93101, "bdy": [1, "x", null, [], true]}'),
        ("item missing msgTime", _frame(msgTime=...)), ("msgTime a string", _frame(msgTime="1790782259938")),
        ("msgTime float integral", _frame(msgTime=1790782259938.0)), ("msgTime 1.5", _frame(msgTime=1.5)),
        ("msgTime exponent", good.replace('"msgTime":1790782259938', '"msgTime":1.790782259938e12')),
        ("msgTime huge", _frame(msgTime=10**30)), ("msgTime 2**64", _frame(msgTime=2**64)),
        ("msgTime negative", _frame(msgTime=-5)), ("msgTime zero", _frame(msgTime=0)),
        ("msgTime max", _frame(msgTime=253402300799999)), ("msgTime max+1", _frame(msgTime=253402300800000)),
        ("msgTime bool", _frame(msgTime=True)), ("msgTime pre-1970 digits", _frame(msgTime=1)),
        ("one bad item among good", json.dumps({"cmd": 93101, "cid": "c", "bdy": [_item(), _item(msgTime="x"), 7]})),
        ("profile null named", _frame(profile=None)), ("profile null anonymous", _frame(uid="anonymous", profile=None)),
        ("profile not json", _frame(profile="not json")), ("profile json array", _frame(profile="[]")),
        ("profile a number", _frame(profile=5)), ("profile a list", _frame(profile=[1])),
        ("profile a dict", _frame(profile={"nickname": "딕트", "userRoleCode": "x"})),
        ("profile empty string", _frame(profile="")), ("profile spaces", _frame(profile="   ")),
        ("profile cut off", _frame(profile=PROFILE[:40])),
        ("profile double-encoded", _frame(profile=json.dumps(PROFILE))),
        ("profile json string of junk", _frame(profile='"{\\"a\\":1"')),
        ("profile json string", _frame(profile='"plain"')), ("profile json null", _frame(profile="null")),
        ("profile with BOM", _frame(profile="\ufeff" + PROFILE)),
        ("profile trailing garbage", _frame(profile=PROFILE + "x")),
        ("profile surrounding spaces", _frame(profile="  " + PROFILE + "\n")),
        ("profile deep", _frame(profile='{"nickname":"d","x":' + "[" * 3000 + "]" * 3000 + "}")),
        ("profile big int", _frame(profile='{"nickname":"n","streamingProperty":{"subscription":'
                                           '{"accumulativeMonth":99999999999999999999999,"tier":1e400}}}')),
        ("profile lone surrogate", _frame(profile='{"nickname":"a\\ud800b","userRoleCode":"\\udfff"}')),
        ("profile NUL", _frame(profile='{"nickname":"a\\u0000b","badge":{"k\\u0000":"v\\u0000"}}')),
        ("profile badges odd", _frame(profile=json.dumps({"badge": "x", "activityBadges": [1, {"a": "\x00"}],
                                                           "viewerBadges": {"a": 1}}))),
        ("profile badges none", _frame(profile=json.dumps({"badge": None, "activityBadges": [],
                                                            "viewerBadges": None}))),
        ("extras empty string", _frame(extras="")), ("extras double-encoded", _frame(extras=json.dumps(EXTRAS))),
        ("extras junk string", _frame(extras='"{\\"a\\":1"')), ("extras a list", _frame(extras=[1, 2])),
        ("extras null", _frame(extras=None)), ("extras json array", _frame(extras="[1]")),
        ("extras a dict", _frame(extras={"osType": "IOS", "payAmount": 5, "donationId": "d"}, msgTypeCode=10)),
        ("extras streamer lowercase hex", _frame(extras=_extras(streamingChannelId="abcdef" * 5 + "01"))),
        ("extras streamer 31 hex", _frame(extras=_extras(streamingChannelId="a" * 31))),
        ("extras streamer not a str", _frame(extras=_extras(streamingChannelId=12))),
        ("extras streamer fullwidth digits", _frame(extras=_extras(streamingChannelId="\uff11" * 32))),
        ("payAmount huge", _frame(msgTypeCode=10, extras=_extras(payAmount=10**12))),
        ("payAmount 2**70", _frame(msgTypeCode=10, extras=_extras(payAmount=2**70))),
        ("payAmount a digit string", _frame(msgTypeCode=10, extras=_extras(payAmount="1000"))),
        ("payAmount padded string", _frame(msgTypeCode=10, extras=_extras(payAmount=" 1000 "))),
        ("payAmount arabic-indic digits", _frame(msgTypeCode=10, extras=_extras(payAmount="\u0661\u0662"))),
        ("payAmount float", _frame(msgTypeCode=10, extras=_extras(payAmount=1000.0))),
        ("payAmount 1000.5", _frame(msgTypeCode=10, extras=_extras(payAmount=1000.5))),
        ("payAmount bool", _frame(msgTypeCode=10, extras=_extras(payAmount=True))),
        ("payAmount 21 digits", _frame(msgTypeCode=10, extras=_extras(payAmount="1" * 21))),
        ("payAmount -0", _frame(msgTypeCode=10, extras=_extras(payAmount="-0"))),
        ("donation named", _frame(msgTypeCode=10, extras=_extras(donationId="d1", payAmount=500, isAnonymous=False,
                                                                    nickname="후원자", donationType="CHAT"))),
        ("donation anonymous flag", _frame(msgTypeCode=10, extras=_extras(donationId="d2", payAmount=500,
                                                                             isAnonymous=True))),
        ("donation id an int", _frame(msgTypeCode=10, extras=_extras(donationId=12345))),
        ("donation id a bool", _frame(msgTypeCode=10, extras=_extras(donationId=True))),
        ("donation id NUL only", _frame(uid="anonymous", msgTypeCode=10, extras=_extras(donationId="\x00"))),
        ("party donation", _frame(msgTypeCode=10, extras=_extras(donationId="p1", donationType="PARTY",
                                                                    payAmount=1000))),
        ("mission", _frame(msgTypeCode=10, extras=_extras(donationType="MISSION", missionDonationId="m1",
                                                             status=" approved ", donationId="d3"))),
        ("mission participation", _frame(msgTypeCode=10, extras=_extras(
            donationType="MISSION_PARTICIPATION", missionDonationId="m2", relatedMissionDonationId="m1",
            status="", donationId="d4"))),
        ("subscription", _frame(msgTypeCode=11, extras=_extras(month="7", tierNo=2.0))),
        ("subscription bad month", _frame(msgTypeCode=11, extras=_extras(month="x", tierNo=None))),
        ("gift sender", _frame(msgTypeCode=12, extras=_extras(giftId="g", quantity=5, partialRefundedQuantity=7))),
        ("gift sender negative", _frame(msgTypeCode=12, extras=_extras(giftId="g", quantity=-1))),
        ("gift receiver", _frame(uid="anonymous", profile=None, msg="", msgTypeCode=12, extras=_extras(
            giftId="g", receiverUserIdHash="r" * 32, giftType="SUBSCRIPTION_GIFT_RECEIVER", giftTierNo=1))),
        ("system line", _frame(uid="SYSTEM_MESSAGE", profile="{}", msgTypeCode=30, msg="제한")),
        ("cbotblind line", _frame(msgStatusType="CBOTBLIND")), ("status a number", _frame(msgStatusType=3)),
        ("unknown msgTypeCode", _frame(msgTypeCode=77)), ("msgTypeCode huge", _frame(msgTypeCode=2**40)),
        ("msgTypeCode string", _frame(msgTypeCode="10")), ("msgTypeCode word", _frame(msgTypeCode="chat")),
        ("msgTypeCode bool", _frame(msgTypeCode=False)), ("msgTypeCode null", _frame(msgTypeCode=None)),
        ("msgTypeCode float", _frame(msgTypeCode=1.0)), ("msgTypeCode 1.5", _frame(msgTypeCode=1.5)),
        ("mbrCnt huge", _frame(mbrCnt=2**63)), ("mbrCnt 2**64", _frame(mbrCnt=2**64)),
        ("mbrCnt int32 edges", _frame(mbrCnt=2**31 - 1)), ("mbrCnt int32 over", _frame(mbrCnt=2**31)),
        ("mbrCnt int32 under", _frame(mbrCnt=-(2**31) - 1)), ("mbrCnt a string", _frame(mbrCnt=" 12 ")),
        ("uid a number", _frame(uid=12)), ("uid null", _frame(uid=None)), ("uid anonymous", _frame(uid="anonymous")),
        ("msg a list", _frame(msg=["a"])), ("msg null", _frame(msg=None)), ("msg long", _frame(msg="ㅋ" * 5000)),
        ("cid a number", _frame(cid=5)), ("cid missing", _frame(cid=...)),
        ("NUL escaped in msg", _frame(msg="a\x00b\x00")), ("NUL raw in bytes", good.encode().replace(b"\xec\x95\x88", b"\x00")),
        ("NUL raw outside strings", good.replace('"cmd"', '\x00"cmd"')),
        ("NUL in key", good.replace('"msg":', '"m\\u0000sg":')), ("NUL in cid", _frame(cid="N2\x00ab")),
        ("control chars raw in string", good.replace("안녕", "a\tb\nc")),
        ("control chars escaped", _frame(msg="a\tb\nc\x1f\x7f\x85\u2028")),
        ("lone surrogate escaped in msg", good.replace("안녕", "\\ud800")),
        ("lone low surrogate escaped", good.replace("안녕", "x\\udc00y")),
        ("reversed surrogate pair", good.replace("안녕", "\\ude00\\ud83d")),
        ("valid surrogate pair", good.replace("안녕", "\\ud83d\\ude00")),
        ("lone surrogate in key", good.replace('"msg":', '"\\ud800":')),
        ("lone surrogate in other field", good.replace('"msgTid":null', '"msgTid":"\\udbff"')),
        ("lone surrogate raw str", good.replace("안녕", "\ud800")),
        ("lone surrogate in dead letter", '{"cmd": 93101, "bdy": "\\ud800"}'),
        ("emoji and korean", _frame(msg="🔥🐹 ㅋㅋㅋ {:d_47:} 가나다 \u200b\u202e")),
        ("frame all escaped", json.dumps(json.loads(_frame(msg="🔥 안녕 \u00e9")), ensure_ascii=True)),
        ("emoji as escaped pair", good.replace("안녕", "\\ud83d\\udd25 \\uD83D\\uDC39")),
        ("NUL behind escaped backslash in profile", good.replace("닉네임", "a\\u005cu0000b")),
        ("NUL behind escaped letters in profile", good.replace("닉네임", "a\\\\\\u0075\\u0030000b")),
        ("NUL behind escaped backslash in extras", good.replace('\\"PC\\"', '\\"P\\u005cu0000C\\"')),
        ("NUL escape in profile text", good.replace("닉네임", "a\\\\u0000b")),
        ("escaped slash in extras", good.replace('STREAMING', 'STREAM\\\\/ING')),
        ("harmless escape in profile", good.replace("닉네임", "caf\\\\u00e9")),
        ("lone surrogate in profile text", good.replace("닉네임", "a\\\\ud800b")),
        ("escaped slash and unicode", good.replace("안녕", "a\\/b\\u00e9\\uAC00")),
        ("deep nesting 100000", deep(100_000)), ("deep nesting 2000", deep(2000)),
        ("deep nesting 200", deep(200)), ("deep object in event 300", deep_obj(300)),
        ("deep object in event 3000", deep_obj(3000)),
        ("deep item field", good.replace('"msgTid":null', '"msgTid":' + deep(300))),
        ("blind", '{"cmd": 94008, "cid": "c", "bdy": {"messageTime": 1790782352315, "blindType": "CBOTBLIND", '
                  '"userId": "u", "channelId": "N2x"}}'),
        ("blind without body", '{"cmd": 94008}'), ("blind a list", '{"cmd": 94008, "bdy": []}'),
        ("blind without time", '{"cmd": 94008, "bdy": {"userId": "u"}}'),
        ("blind time string", '{"cmd": 94008, "bdy": {"messageTime": "1"}}'),
        ("event", '{"cmd": 93006, "cid": "c", "bdy": {"type": "CHANGE_CHAT_MODE", "a": [1, {"b": null}]}}'),
        ("event createdTime", '{"cmd": 93006, "bdy": {"type": "TEMPORARY_RESTRICT", '
                              '"createdTime": "2026-09-30 23:12:01.123"}}'),
        ("event createdTime zoned", '{"cmd": 93006, "bdy": {"type": "T", "createdTime": "2026-09-30T23:12:01+02:00"}}'),
        ("event createdTime junk", '{"cmd": 93006, "bdy": {"type": "T", "createdTime": "yesterday"}}'),
        ("event createdTime 1969", '{"cmd": 93006, "bdy": {"type": "T", "createdTime": "1969-01-01 00:00:00"}}'),
        ("event times", '{"cmd": 93006, "bdy": {"type": "T", "messageTime": "x", "msgTime": -1, "ctime": 5}}'),
        ("event bdy a list", '{"cmd": 93006, "bdy": []}'), ("event without type", '{"cmd": 93006, "bdy": {"a": 1}}'),
        ("event type empty", '{"cmd": 93006, "bdy": {"type": ""}}'),
        ("event type NUL", '{"cmd": 93006, "bdy": {"type": "A\\u0000B"}}'),
        ("event NaN", '{"cmd": 93006, "bdy": {"type": "X", "v": NaN}}'),
        ("event big int", '{"cmd": 93006, "bdy": {"type": "X", "v": 99999999999999999999999999}}'),
        ("notice", '{"cmd": 94010, "cid": "c", "bdy": {"message": "공지"}}'),
        ("notice cleared", '{"cmd": 94010, "cid": "c", "bdy": {}}'), ("notice null", '{"cmd": 94010, "bdy": null}'),
        ("notice a list", '{"cmd": 94010, "bdy": [1]}'),
        ("kick", '{"cmd": 94005, "bdy": {"userIdHash": "u"}}'), ("block", '{"cmd": 94006, "bdy": "x"}'),
        ("penalty", '{"cmd": 94015}'),
        ("unknown cmd", '{"cmd": 99999, "cid": "N2x", "bdy": {"a": 1}}'), ("unknown cmd no body", '{"cmd": 12345}'),
        ("unknown cmd negative", '{"cmd": -3, "bdy": [1, 2]}'),
        ("ping", '{"ver":"2","cmd":0}'), ("pong", '{"ver":"2","cmd":10000}'),
        ("ping with retCode", '{"cmd": 0, "retCode": "7", "retMsg": 5}'),
        ("connected", '{"svcid":"game","ver":"2","cmd":10100,"retCode":0,"retMsg":"SUCCESS","tid":"1",'
                      '"cid":"N2x","bdy":{"sid":"s-1","uuid":"u"}}'),
        ("connected rejected", '{"cmd": 10100, "retCode": 105, "retMsg": "Incorrect parameter", "tid": "1"}'),
        ("connected bdy a list", '{"cmd": 10100, "bdy": []}'),
        ("session ended", '{"cmd": 90102, "cid": "c"}'), ("send chat", '{"cmd": 3101, "bdy": {"msg": "x"}}'),
        ("request recent", '{"cmd": 5101, "cid": "c", "bdy": {"recentMessageCount": 50}}'),
        ("recent", json.dumps({"cmd": 15101, "cid": "N2abcd", "bdy": {
            "messageList": [{"serviceId": "game", "channelId": "N2abcd", "messageTime": 1790632537718,
                             "userId": "anonymous", "profile": None, "content": "리센트", "extras": EXTRAS,
                             "memberCount": 3, "messageTypeCode": 10, "messageStatusType": "NORMAL"}, 5],
            "userCount": {"total": 42}, "notice": {"message": "공지", "messageTime": 1790632537000}}},
            ensure_ascii=False)),
        ("recent bdy a list", '{"cmd": 15101, "bdy": []}'),
        ("recent messageList a dict", '{"cmd": 15101, "bdy": {"messageList": {}}}'),
        ("recent empty", '{"cmd": 15101, "bdy": {"messageList": [], "userCount": 3, "notice": null}}'),
        ("recent no list", '{"cmd": 15101, "bdy": {"userCount": "x", "notice": "text"}}'),
        ("item without cmd live", json.dumps(_item(), ensure_ascii=False)),
        ("item without cmd recent", '{"userId": "u", "content": "c", "messageTime": 1790632537718}'),
        ("http answer", '{"code": 404, "message": "no", "content": null}'),
        ("http answer code word", '{"code": "E1", "result": {}}'),
        ("object without cmd", '{"hello": 1, "b": 2, "c": 3, "d": 4, "e": 5, "f": 6, "g": 7, "h": 8, "i": 9}'),
        ("object without cmd surrogate key", '{"\\ud800": 1}'),
        ("dict with non-str key", {1: "x", "cmd": 0}),
        ("dict with tuple", {"cmd": 93006, "bdy": {"type": "T", "v": (1, 2)}}),
        ("dict with nan", {"cmd": 93006, "bdy": {"type": "T", "v": float("nan")}}),
        ("dict item", _item()),
    ]
    return cases


def bench_frames(per_style: int = 90) -> list[tuple[str, bytes]]:
    """Frames of bench/frames.py: every side/money frame of the first 3,000 lines of each
    style (at most ``per_style``) and the first 93101 frames, multi-item ones included."""
    from bench.frames import frame_lines

    out: list[tuple[str, bytes]] = []
    for style in ("sim", "samples"):
        frames = frame_lines(3000, seed=11, style=style)
        others = [f for f in frames if not f.startswith(b'{"svcid":"game","ver":"1","bdy":[') or b'"cmd":93102' in f]
        multi = [f for f in frames if f.count(b'"msgTime"') > 1 and b'"cmd":93101' in f]
        chosen = others[: per_style // 2] + multi[:10]
        chosen += [f for f in frames if f not in chosen][: per_style - len(chosen)]
        out += [(f"{style} frame {i}", f) for i, f in enumerate(chosen)]
    return out


def sample_lines() -> list[tuple[str, object]]:
    """Every line of tests/data/samples.jsonl as `collector parse` hands it over (its _raw
    text, or the object without the _ keys), and the whole annotated line as well."""
    out: list[tuple[str, object]] = []
    for i, line in enumerate(SAMPLES.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        value = json.loads(line)
        payload = value["_raw"] if isinstance(value.get("_raw"), str) else {
            k: v for k, v in value.items() if not k.startswith("_")}
        out.append((f"sample {i} {value.get('_kind')}", payload))
        out.append((f"sample {i} line", line.encode()))
    return out


def corpus() -> list[tuple[str, object]]:
    return hostile() + sample_lines() + bench_frames()


# ---------------------------------------------------------------- the fixture's encoding
def encode_input(value) -> dict:
    if isinstance(value, str):
        return {"type": "str", "b64": base64.b64encode(value.encode("utf-8", "surrogatepass")).decode()}
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"type": type(value).__name__, "b64": base64.b64encode(bytes(value)).decode()}
    return {"type": "pickle", "b64": base64.b64encode(_pickle(value)).decode()}


def decode_input(case: dict):
    data = base64.b64decode(case["b64"])
    kind = case["type"]
    if kind == "str":
        return data.decode("utf-8", "surrogatepass")
    if kind == "bytes":
        return data
    if kind == "bytearray":
        return bytearray(data)
    if kind == "memoryview":
        return memoryview(data)
    import pickle

    return pickle.loads(data)  # our own fixture: dicts of plain values


def _pickle(value) -> bytes:
    import pickle

    return pickle.dumps(value, protocol=4)


def records_text(records: list[dict]) -> str:
    """Records as exact text: key order, int vs float, True vs 1 all count."""
    return json.dumps(records, ensure_ascii=True)


def load() -> list[dict]:
    with gzip.open(FIXTURE, "rt", encoding="utf-8") as fh:
        return [json.loads(line) for line in fh if line.strip()]


def write() -> int:
    from collector.protocol import parse_frame

    FIXTURE.parent.mkdir(parents=True, exist_ok=True)
    lines = []
    for name, value in corpus():
        lines.append(json.dumps({"name": name, **encode_input(value),
                                 "expected": records_text(parse_frame(value))}) + "\n")
    with gzip.GzipFile(FIXTURE, "wb", mtime=0) as fh:
        fh.write("".join(lines).encode("utf-8"))
    return len(lines)


if __name__ == "__main__":
    print(f"{write()} cases -> {FIXTURE} ({FIXTURE.stat().st_size:,} bytes)")
