"""The fast parser (issue 17) gives exactly the records the parser gave before it: every
case of tests/fixtures/parse_equivalence.jsonl.gz (see tests/parse_corpus.py) is parsed
again and its records compared as text (key order, int vs float, every field and every
dead letter's error)."""
from __future__ import annotations

import json
import random

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from collector import fast_items
from collector.protocol import parse_frame, parse_frame_stdlib
from tests import parse_corpus

pytestmark = pytest.mark.unit
CASES = parse_corpus.load()


def test_fixture_covers_the_corpus():
    names = [c["name"] for c in CASES]
    assert len(names) == len(set(names)) >= 450
    assert sum(n.startswith("sim frame") for n in names) and sum(n.startswith("samples frame") for n in names)
    kinds = {r["kind"] for c in CASES for r in json.loads(c["expected"])}
    assert kinds == {"chat", "blind", "event", "control", "dead_letter"}


GROUPS = ("sim frame", "samples frame", "sample ")


def _group(name: str) -> str:
    return next((g for g in GROUPS if name.startswith(g)), "hostile")


@pytest.mark.parametrize("group", ("hostile",) + GROUPS)
def test_same_records_as_before(group):
    cases = [c for c in CASES if _group(c["name"]) == group]  # every case, on every interpreter
    differ = [c for c in cases
              if parse_corpus.records_text(parse_frame(parse_corpus.decode_input(c))) != c["expected"]]
    for case in differ[:1]:  # show the first record that differs, field by field
        got = parse_frame(parse_corpus.decode_input(case))
        for new, old in zip(json.loads(parse_corpus.records_text(got)), json.loads(case["expected"]), strict=False):
            assert list(new) == list(old), case["name"]
            for key in old:
                assert json.dumps(new[key]) == json.dumps(old[key]), (case["name"], key)
    assert cases and not differ, [c["name"] for c in differ]


def test_nesting_past_the_limit_is_refused_alike_on_every_interpreter():
    """collector/nesting.py: a frame (or a profile/extras text) nested deeper than
    MAX_NESTING levels is a dead letter (a warning) that says so, before any JSON library
    reads it, on 3.11 as on 3.12+ (whose json would parse it); 300 levels still parse; the
    fast path and the reference path agree."""
    from collector.nesting import MAX_NESTING

    cases = {c["name"]: parse_corpus.decode_input(c) for c in CASES}
    limit = f"nests deeper than {MAX_NESTING} levels"
    for name in ("deep nesting 2000", "deep object in event 3000", "deep nesting 100000"):
        (letter,) = parse_frame(cases[name])
        assert letter["kind"] == "dead_letter" and letter["error"].startswith("frame " + limit), name
        assert letter["raw"] == cases[name], "the frame is kept as it came"
    (chat,) = parse_frame(cases["profile deep"])
    assert chat["kind"] == "chat" and chat["warnings"] == [f"profile {limit} (arrays/objects; the parser's limit)"]
    assert [r["kind"] for r in parse_frame(cases["deep object in event 300"])] == ["event"]
    edge = lambda n: '{"cmd":93006,"bdy":{"type":"X","v":' + "[" * n + "]" * n + "}}"  # noqa: E731
    assert parse_frame(edge(MAX_NESTING - 2))[0]["kind"] == "event"  # 2 levels for the frame and bdy
    assert parse_frame(edge(MAX_NESTING - 1))[0]["kind"] == "dead_letter"
    text = edge(MAX_NESTING - 1)
    strings = '{"cmd":93006,"bdy":{"type":"' + "[" * 5000 + '","v":1}}'  # brackets in a string do not nest
    assert parse_frame(strings)[0]["kind"] == "event"
    # a profile nested with \u005b escapes shows no bracket in the frame's text: the item's check sees it
    escaped = parse_corpus._frame(profile='{"x":' + "[" * 500 + "]" * 500 + "}").replace("[" * 500, "\\u005b" * 500)
    assert escaped.count("[") < 5 and parse_frame(escaped)[0]["warnings"] == chat["warnings"]
    for frame in (text, text.encode(), strings, escaped, cases["profile deep"]):
        assert _same(frame)
    deep_dict = {"cmd": 93006, "bdy": {"type": "X", "v": json.loads(text)["bdy"]["v"]}}
    assert parse_frame(deep_dict)[0]["error"].startswith("frame " + limit)


# ---------------------------------------------------------------- fast path == stdlib path
TEXTS = ("닉네임", "anonymous", "PARTY", "MISSION", "MISSION_PARTICIPATION", "CBOTBLIND", "PC", "d-1", "",
         "abcdef0123456789ABCDEF0123456789", "SUBSCRIPTION_GIFT_RECEIVER", " Approved ")
INTS = (0, 1, 2, 1000, 2**31 - 1, 2**31, -1)
ODD = (None, True, False, 0, -(2**31) - 1, 2**63, 2**64, 10**30, 1.0, 1.5, -0.0, 1e300, "", "a\x00b", "\ud800",
       "1000", " 7 ", "\u0000", "\\u0000", "x\x1f", [], [1, "a"], {}, {"a": None}, {"": [{}]}, "[]", "{}")
BADGES = ({"imageUrl": "https://x/a.png"}, {"badgeId": "b", "badge": {"scope": "CHANNEL"}}, {"x": [1, {"y": "z"}]})
FIELDS = {"nickname": TEXTS, "userRoleCode": TEXTS, "badge": BADGES + (None,), "activityBadges": ([], list(BADGES)),
          "viewerBadges": ([], list(BADGES[1:])), "osType": TEXTS, "streamingChannelId": TEXTS,
          "isAnonymous": (True, False), "payAmount": INTS, "payType": TEXTS, "donationType": TEXTS,
          "donationId": TEXTS, "missionDonationId": TEXTS, "relatedMissionDonationId": TEXTS,
          "receiverUserIdHash": TEXTS, "receiverNickname": TEXTS, "giftTierNo": INTS, "giftId": TEXTS,
          "giftType": TEXTS, "quantity": INTS, "partialRefundedQuantity": INTS, "month": INTS, "tierNo": INTS,
          "status": TEXTS}
PROFILE_KEYS = ("nickname", "userRoleCode", "badge", "activityBadges", "viewerBadges", "streamingProperty")
EXTRAS_KEYS = tuple(k for k in FIELDS if k not in PROFILE_KEYS or k == "nickname")


def generated_frame(pick, rarely) -> str | bytes:
    """A 93101/93102 frame of 1-3 items, mostly of the real shape with plausible values,
    now and then (``rarely()``) an odd value, a missing key or \\u escapes. ``pick(seq)``
    chooses one element: random.choice, or a hypothesis draw."""
    def value(key):
        return pick(ODD) if rarely() else pick(FIELDS[key])

    def obj(keys):
        return {k: value(k) for k in keys if pick((True, False))}

    items = []
    for _ in range(pick((1, 1, 2, 3))):
        profile = obj(PROFILE_KEYS[:-1])
        if pick((True, False)):
            profile["streamingProperty"] = {"subscription": {"accumulativeMonth": pick(INTS), "tier": value("tierNo")},
                                            "nicknameColor": {"colorCode": value("payType")}}
        item = {"svcid": "game", "cid": pick(("N2abcd", "N2abcd", None, 5)), "mbrCnt": pick(INTS),
                "uid": pick(("u" * 32, "u" * 32, "anonymous", "SYSTEM_MESSAGE", None)),
                "profile": json.dumps(profile, ensure_ascii=rarely()), "msg": pick(TEXTS),
                "msgTypeCode": pick((1, 1, 10, 10, 11, 12, 30, 77)), "msgStatusType": pick(TEXTS),
                "extras": json.dumps(obj(EXTRAS_KEYS), ensure_ascii=rarely()), "msgTime": pick(INTS[:5]) * 10**6}
        if rarely():
            item[pick(sorted(item))] = pick(ODD + (...,))
        items.append({k: v for k, v in item.items() if v is not ...})
    frame = {"svcid": "game", "ver": "1", "bdy": items, "cmd": pick((93101, 93102)), "tid": None, "cid": "N2abcd"}
    text = json.dumps(frame, ensure_ascii=rarely())
    return text.encode("utf-8", "surrogatepass") if pick((True, False)) else text


def _same(frame) -> bool:
    return parse_corpus.records_text(parse_frame(frame)) == parse_corpus.records_text(parse_frame_stdlib(frame))


@st.composite
def _frames(draw):
    return generated_frame(lambda seq: draw(st.sampled_from(seq)), lambda: draw(st.integers(0, 7)) == 0)


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_frames())
def test_fast_path_gives_the_stdlib_records(frame):
    assert _same(frame)


def test_fast_path_gives_the_stdlib_records_on_a_seeded_sweep():
    """The same property over 1,500 frames of a seeded random generator (cheap and wide)."""
    rng = random.Random(17)
    bad = [frame for frame in (generated_frame(rng.choice, lambda: rng.random() < 0.12) for _ in range(3000))
           if not _same(frame)]
    assert not bad, bad[:3]


def test_bench_frames_take_the_fast_path_with_the_same_records():
    """Every frame of both styles of bench/frames.py: the same records either way, and
    the fast path (collector.fast_items) builds nearly every chat item itself."""
    from bench.frames import frame_lines

    taken = items = 0
    for style in ("sim", "samples"):
        for frame in frame_lines(200, seed=3, style=style):
            assert parse_corpus.records_text(parse_frame(frame)) == parse_corpus.records_text(parse_frame_stdlib(frame))
            obj = json.loads(frame)
            if obj["cmd"] in (93101, 93102):
                items += len(obj["bdy"])
                taken += sum(fast_items.chat_record(item, obj["cid"]) is not None for item in obj["bdy"])
    assert items >= 400 and taken >= 0.99 * items


def test_ms_to_iso_remembers_seconds_without_changing_the_text():
    from datetime import UTC, datetime, timedelta

    from collector.items import MAX_EPOCH_MS, ms_to_iso

    rng = random.Random(5)
    epoch = datetime(1970, 1, 1, tzinfo=UTC)
    for ms in [0, 1, 999, 1000, 86_399_999, MAX_EPOCH_MS] + [rng.randrange(MAX_EPOCH_MS) for _ in range(2000)]:
        before = (epoch + timedelta(milliseconds=ms)).strftime("%Y-%m-%dT%H:%M:%S.") + f"{ms % 1000:03d}Z"
        assert ms_to_iso(ms) == ms_to_iso(ms) == before


def test_escapes_take_the_fast_path_but_a_nul_does_not():
    """Korean and emoji written as \\u escapes (as CHZZK's HTTP answers write titles) still
    take the fast path; a NUL, even spelled so no \\u0000 shows in the frame, never does."""
    from collector import protocol

    cases = {c["name"]: parse_corpus.decode_input(c) for c in CASES}
    for name in ("frame all escaped", "emoji as escaped pair", "harmless escape in profile", "escaped slash in extras"):
        obj = json.loads(cases[name])
        assert protocol._fast_chat(obj, cases[name]) is not None, name
        assert fast_items.chat_record(obj["bdy"][0], obj["cid"]) is not None, name
    for name in ("NUL behind escaped backslash in profile", "NUL behind escaped letters in profile",
                 "NUL behind escaped backslash in extras", "NUL escape in profile text"):
        obj = json.loads(cases[name])
        assert fast_items.chat_record(obj["bdy"][0], obj["cid"]) is None, name
        assert not _has_nul(parse_frame(cases[name])), name
    assert protocol._fast_chat(json.loads(cases["NUL escaped in msg"]), cases["NUL escaped in msg"]) is None


def _has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_has_nul(k) or _has_nul(v) for k, v in value.items())
    return isinstance(value, list) and any(map(_has_nul, value))
