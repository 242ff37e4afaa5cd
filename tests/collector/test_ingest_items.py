"""The ingest API's pure core: item checks with their reasons, chat_time parsing, the
dedupe key shared with import-logs, GET /chat's date bounds. Nothing running."""
from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from collector import sink
from collector.import_logs import chat_row, parse_line
from collector.ingest_items import (
    BodyError,
    ChatItem,
    check_item,
    date_bound,
    dead_letters,
    parse_body,
    parse_chat_time,
    to_records,
)
from tests.ingest_cases import CH, GOOD, HOSTILE_ITEMS, every_edge_item

pytestmark = pytest.mark.unit
SEOUL = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 10, 1, 12, 0, tzinfo=UTC)


@pytest.mark.parametrize("value, expected", [
    ("2026-10-01T20:15:03", "2026-10-01T11:15:03+00:00"),           # naive: INGEST_TZ (KST)
    ("2026-10-01 20:15:03", "2026-10-01T11:15:03+00:00"),
    ("2026-10-01T11:15:03.250Z", "2026-10-01T11:15:03.250000+00:00"),
    ("2026-10-01T20:15:03+09:00", "2026-10-01T11:15:03+00:00"),
    ("  2026-10-01T20:15:03  ", "2026-10-01T11:15:03+00:00"),
    (1790853303000, "2026-10-01T11:15:03+00:00"),                   # ms epoch
])
def test_chat_time_forms(value, expected):
    at, why = parse_chat_time(value, SEOUL, NOW)
    assert why is None and at.isoformat() == expected


@pytest.mark.parametrize("value, reason", [
    ("2026-10-01", "needs a date and a time"),
    ("yesterday at noon", "needs a date and a time"),
    ("2026-13-01T20:15:03", "is not ISO 8601"),
    ("1999-12-31T23:59:59Z", "before 2000"),
    ("2026-10-03T12:00:01Z", "more than a day ahead"),
    (-5, "not a ms epoch"),
    (10**16, "not a ms epoch"),
])
def test_chat_time_refusals(value, reason):
    at, why = parse_chat_time(value, SEOUL, NOW)
    assert at is None and reason in why


@pytest.mark.parametrize("change, reason", [
    ({"channel_id": "녹두로구"}, "channel_id: String should match pattern"),
    ({"channel_id": None}, "channel_id: Input should be a valid string"),
    ({"chat_time": None}, "chat_time: must be an ISO 8601 string or a ms epoch integer"),
    ({"chat_time": True}, "chat_time: must be an ISO 8601 string or a ms epoch integer"),
    ({"chat_time": "20:15:03"}, "needs a date and a time"),
    ({"message_type": "subscription"}, "message_type: Input should be 'chat' or 'donation'"),
    ({"subscription_month": "12"}, "subscription_month: Input should be a valid integer"),
    ({"subscription_month": True}, "subscription_month: Input should be a valid integer"),
    ({"subscription_tier": -1}, "subscription_tier: Input should be greater than or equal to 0"),
    ({"subscription_month": 2**31}, "subscription_month: Input should be less than or equal to"),
    ({"user_id": 12345}, "user_id: Input should be a valid string"),
    ({"message": "ㅋ" * 5001}, "message: String should have at most 5000 characters"),
])
def test_bad_fields_are_refused_with_the_field_and_why(change, reason):
    item, at, why = check_item({**GOOD, **change}, SEOUL, NOW)
    assert item is None and at is None and reason in why, why


def test_missing_fields_and_non_objects():
    item, _, why = check_item({"message": "hi"}, SEOUL, NOW)
    assert item is None and why == "channel_id: Field required; chat_time: Field required"
    for thing, name in (([GOOD], "list"), ("text", "str"), (None, "NoneType"), (7, "int")):
        assert check_item(thing, SEOUL, NOW)[2] == f"item is a JSON {name}, not an object"


def test_records_follow_the_contract_and_keep_the_raw_item():
    odd = {**GOOD, "channel_id": CH.upper(), "message": "줄\n바꿈 \x00널 \ud800 😂", "extra": {"x": 1},
           "message_type": "donation", "user_id": "anonymous", "subscription_month": None}
    records, refused, names = to_records([GOOD, odd], SEOUL, NOW)
    assert refused == [] and names == {CH: "녹두로구"}
    first, second = records
    assert first["chat_time"] == "2026-10-01T11:15:03.000Z" and first["msg_type_code"] == 1
    assert (first["user_id"], first["nickname"], first["subscription_month"], first["os_type"],
            first["user_role"], first["is_anonymous"]) == (GOOD["user_id"], "후추789", 29, "PC", "common_user", False)
    assert first["raw"] == {"source": "ingest-api", "item": GOOD}
    assert second["channel_id"] == CH and second["message_type"] == "donation" and second["msg_type_code"] == 10
    assert second["message"] == "줄\n바꿈 널 ? 😂" and second["is_anonymous"] is True  # NUL gone, surrogate replaced
    assert second["raw"]["item"]["extra"] == {"x": 1}                              # unknown keys kept in raw


def test_identical_lines_in_one_request_are_kept_apart_and_keys_are_stable():
    again = {**GOOD, "nickname": "새닉네임"}  # the same line under a new nickname is the same line
    records, _, _ = to_records([GOOD, GOOD, {**GOOD, "message": "other"}], SEOUL, NOW)
    keys = [r["dedupe_key"] for r in records]
    assert len(set(keys)) == 3
    assert [r["dedupe_key"] for r in to_records([GOOD, GOOD], SEOUL, NOW)[0]] == keys[:2]
    assert to_records([again], SEOUL, NOW)[0][0]["dedupe_key"] == keys[0]
    ms = to_records([{**GOOD, "chat_time": "2026-10-01T11:15:03.900Z"}], SEOUL, NOW)[0][0]
    assert ms["dedupe_key"] == keys[0] and ms["chat_time"] == "2026-10-01T11:15:03.900Z"  # the key is per second
    other_channel = to_records([{**GOOD, "channel_id": "0" * 32}], SEOUL, NOW)[0][0]
    assert other_channel["dedupe_key"] != keys[0]


def test_a_posted_line_has_the_key_import_logs_gives_the_same_log_line():
    line, _ = parse_line("[20:15:03][채팅][9978e9f435b20799d87860a07882f1ef] 후추789: 안녕하세요")
    imported = chat_row(CH, date(2026, 10, 1), line, 0, {})
    posted = to_records([GOOD], SEOUL, NOW)[0][0]
    assert posted["dedupe_key"] == imported["dedupe_key"]
    assert posted["chat_time"] == imported["chat_time"]
    line, _ = parse_line("[20:15:03][후원][anonymous] 익명의 후원자: 천원")
    donation = {**GOOD, "user_id": "anonymous", "nickname": "익명의 후원자", "message": "천원",
                "message_type": "donation"}
    assert to_records([donation], SEOUL, NOW)[0][0]["dedupe_key"] == chat_row(CH, date(2026, 10, 1), line, 0,
                                                                               {})["dedupe_key"]


def test_refusals_become_dead_letters_with_index_and_raw():
    records, refused, names = to_records([GOOD, {"channel_id": ["x"]}, "text", {**GOOD, "chat_time": "soon"}],
                                         SEOUL, NOW)
    assert len(records) == 1 and [r.index for r in refused] == [1, 2, 3]
    letters = dead_letters(refused)
    assert [d["error"].split(":")[0] for d in letters] == ["item 1", "item 2", "item 3"]
    assert letters[0]["channel_id"] is None and letters[2]["channel_id"] == CH  # only a string names a channel
    assert letters[1]["raw"] == '"text"' and letters[2]["source"] == "ingest-api"
    assert json.loads(letters[2]["raw"]) == {**GOOD, "chat_time": "soon"}


@pytest.mark.parametrize("text, end, expected", [
    ("2026-10-01", False, "2026-09-30T15:00:00+00:00"),   # a day starts at 00:00 KST
    ("2026-10-01", True, "2026-10-01T15:00:00+00:00"),    # an end day is included: up to the next day
    ("2026-10-01T20:00:00", True, "2026-10-01T11:00:00+00:00"),
    ("2026-10-01T20:00:00Z", False, "2026-10-01T20:00:00+00:00"),
])
def test_date_bounds(text, end, expected):
    at, why = date_bound(text, SEOUL, end=end)
    assert why is None and at.isoformat() == expected


def test_date_bound_refusal():
    at, why = date_bound("last week", SEOUL, end=False)
    assert at is None and "neither a day" in why


def test_deeply_nested_items_are_refused_without_recursion():
    deep = {"x": 1}
    for _ in range(5000):  # far past Python's recursion limit
        deep = {"x": [deep]}
    records, refused, _ = to_records([{**GOOD, "extra": deep}, {**GOOD, "extra": [[[["ok"]]]]}], SEOUL, NOW)
    assert len(records) == 1 and [r.index for r in refused] == [0]
    assert refused[0].error == "item nests deeper than 32 levels"
    letter = dead_letters(refused)[0]
    assert json.loads(letter["raw"]) == "(item nested too deeply to keep)" and letter["channel_id"] == CH


# ---------------------------------------------------------------- hostile values (issue 15)
@pytest.mark.parametrize("value", [
    "0001-01-01T00:00:00", "0001-01-01T08:59:59", "0001-01-01 00:00:00.000001",  # naive KST: before year 1 in UTC
    "9999-12-31T23:59:59-23:59", "0001-01-01T00:00:00+23:59", "9999-12-31T23:59:59.999999-01:00",
    "9999-12-31T23:59:59", "0001-01-01T00:00:00Z", 0, 253402300799999,
])
def test_out_of_range_chat_times_are_refused_not_raised(value):
    at, why = parse_chat_time(value, SEOUL, NOW)
    assert at is None and ("before 2000" in why or "ahead" in why or "out of range" in why), why


@pytest.mark.parametrize("text, end", [
    ("0001-01-01", False), ("0001-01-01", True), ("9999-12-31", True), ("9999-12-31", False),
    ("0001-01-01T00:00:00", False), ("9999-12-31T23:59:59-23:59", True), ("0001-01-01T00:00:00+23:59", False),
])
def test_date_bounds_at_the_ends_of_time_answer_or_refuse_without_raising(text, end):
    at, why = date_bound(text, SEOUL, end=end)
    assert (at is None) == (why is not None)
    if why:
        assert "out of range" in why and text in why


def test_one_poison_item_is_refused_alone():
    poison = {**GOOD, "chat_time": "0001-01-01T00:00:00"}
    records, refused, _ = to_records([GOOD, poison, {**GOOD, "message": "after"}], SEOUL, NOW)
    assert [r["message"] for r in records] == ["안녕하세요", "after"]
    assert [(r.index, r.error) for r in refused] == [(1, "chat_time 0001-01-01T00:00:00 is out of range")]


# Edge values per JSON type: what a buggy or hostile client can put in any field.


def _storable(value) -> bool:
    """Text PostgreSQL takes: no NUL, no lone surrogate, anywhere in a JSON value."""
    if isinstance(value, str):
        return "\x00" not in value and not any("\ud800" <= ch <= "\udfff" for ch in value)
    if isinstance(value, dict):
        return all(_storable(k) and _storable(v) for k, v in value.items())
    if isinstance(value, list):
        return all(_storable(v) for v in value)
    return not isinstance(value, float) or math.isfinite(value)


def test_every_edge_value_in_every_field_is_taken_or_refused_alone():
    check_batch(every_edge_item())


@settings(max_examples=200, deadline=None)
@given(st.lists(HOSTILE_ITEMS, max_size=6))
def test_hostile_items_never_raise_and_never_sink_their_neighbours(items):
    check_batch(items)


def check_batch(items: list) -> None:
    records, refused, names = to_records(items, SEOUL, NOW)
    assert len(records) + len(refused) == len(items)
    alone = [not to_records([it], SEOUL, NOW)[1] for it in items]  # each item's fate on its own
    assert [i for i, ok in enumerate(alone) if not ok] == [r.index for r in refused]
    for rec in records:
        assert _storable(rec) and json.loads(sink.to_json(rec["raw"])) is not None
    for letter in dead_letters(refused):
        assert _storable(letter) and (json.loads(letter["raw"]) is not None or letter["raw"] == "null")
    assert all(_storable(k) and (v is None or _storable(v)) for k, v in names.items())


# ---------------------------------------------------------------- the body, item by item
def test_a_bulk_body_stops_at_the_first_item_past_the_limit():
    flood = b"[" + b"{}," * 1001 + b"this is never read"  # a whole-body parse would call it not JSON
    with pytest.raises(BodyError, match="more than 1000 items") as caught:
        parse_body(flood, array=True)
    assert caught.value.too_large
    assert parse_body(b' [ {"a": 1} , 2 ,"x"]\n', array=True) == [{"a": 1}, 2, "x"]
    assert parse_body(b"\xef\xbb\xbf[]", array=True) == []  # UTF-8 with a BOM, as json.loads takes it
    assert parse_body('{"x": "ü"}'.encode("utf-16"), array=False) == {"x": "ü"}


@pytest.mark.parametrize("body, array, words", [
    (b"", True, "not JSON"), (b"  ", False, "not JSON"), (b"[{not json", True, "not JSON"),
    (b"[1,]", True, "not JSON"), (b"[1] [2]", True, "not JSON"), (b"[1 2]", True, "not JSON"),
    (b'{"items": []}', True, "must be a JSON array"), (b"[" * 100_000, True, "not JSON"),
    (b"\xff\xfe\xfd", True, "not JSON"), (b"{} x", False, "not JSON"),
])
def test_bodies_that_are_not_what_was_asked_for(body, array, words):
    with pytest.raises(BodyError, match=words) as caught:
        parse_body(body, array=array)
    assert not caught.value.too_large


def test_numbers_json_cannot_hold_as_python_ints_stay_in_their_item():
    long_digits = "9" * 5000  # over Python's 4300-digit limit: json.loads refuses the whole body
    items = parse_body(f'[{{"subscription_month": {long_digits}}}, {{"ok": 1}}]'.encode(), array=True)
    assert items == [{"subscription_month": long_digits}, {"ok": 1}]
    _, refused, _ = to_records([{**GOOD, **items[0]}], SEOUL, NOW)
    assert "subscription_month" in refused[0].error


def test_items_for_channels_outside_a_key_are_refused_one_by_one():
    other = "0" * 32
    records, refused, names = to_records([GOOD, {**GOOD, "channel_id": other}, {**GOOD, "channel_id": CH.upper()}],
                                         SEOUL, NOW, channels=frozenset({CH}))
    assert [r["channel_id"] for r in records] == [CH, CH] and names == {CH: "녹두로구"}
    assert [(r.index, r.error) for r in refused] == [(1, f"channel_id {other} is not one of this API key's channels")]


def test_the_openapi_docs_say_which_channel_names_an_item_replaces():
    """collector/ingest_db._register_channels: an API name never replaces a CHZZK or import-logs name."""
    said = ChatItem.model_json_schema()["properties"]["channel_name"]["description"]
    assert "never replaces a name from CHZZK or import-logs" in said and "updates the stored" not in said
