"""Canonical hostile values for the ingest API's items, shared by the unit tests
(tests/collector/test_ingest_items.py) and the HTTP tests (tests/collector/test_ingest_hostile.py): a good
item as the desktop viewer posts it, and edge values of every JSON type that a buggy or
hostile client can put in any field."""
from __future__ import annotations

from hypothesis import strategies as st

CH = "d4f287d26795dd48f2176c79d5bd074f"
GOOD = {"channel_id": CH, "channel_name": "녹두로구", "user_id": "9978e9f435b20799d87860a07882f1ef",
        "nickname": "후추789", "message": "안녕하세요", "message_type": "chat", "chat_time": "2026-10-01T20:15:03",
        "subscription_month": 29, "subscription_tier": 1, "os_type": "PC", "user_role": "common_user"}

EDGE_TEXTS = ["", "\x00", "a\x00b", "\ud800", "\udc00x\ud83d", "ㅋ" * 5001, " " * 201, "\u202e\u200b",
              "0001-01-01T00:00:00", "0001-01-01 00:00:00+23:59", "9999-12-31T23:59:59-23:59", "9999-12-31T23:59:59",
              "2026-10-01T24:00:00", "2026-10-01T20:15:03+23:59", "2026-10-01T20:15:03\x00", CH + "\x00",
              CH.upper(), "anonymous"]
EDGE_INTS = [0, -1, 2**31 - 1, 2**31, -(2**31) - 1, 2**63, -(2**64), 10**4000, 253402300799999, 253402300799999 + 1]
EDGE_OTHERS = [float("nan"), float("inf"), -0.0, 1e308, 1.79e12, None, True, False, [], {}, [CH], {"\x00": "\ud800"}]
EDGES = EDGE_TEXTS + EDGE_INTS + EDGE_OTHERS
FIELDS = [*GOOD, "extra", "\x00", "\ud800"]  # every field, an unknown key, hostile key names


def every_edge_item() -> list:
    """GOOD with one field (or an unknown key) set to each edge value, then each edge value as an item."""
    return [{**GOOD, field: value} for field in FIELDS for value in EDGES] + EDGES


_TEXTS = st.sampled_from(EDGE_TEXTS) | st.text(max_size=20)
_INTS = st.sampled_from(EDGE_INTS) | st.integers()
_FLOATS = st.sampled_from(EDGE_OTHERS[:5]) | st.floats()
_VALUES = st.one_of(_TEXTS, _INTS, _FLOATS, st.sampled_from([None, True, False, [], {}]),
                    st.lists(_TEXTS | _INTS, max_size=3), st.dictionaries(_TEXTS, _INTS | _FLOATS, max_size=3))
HOSTILE_ITEMS = st.one_of(  # mostly GOOD with up to four fields changed, sometimes any value at all
    st.dictionaries(st.sampled_from(FIELDS), _VALUES, max_size=4).map(lambda change: {**GOOD, **change}),
    _VALUES)
