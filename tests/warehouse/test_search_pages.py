"""keyword_search walks the newest days first and stops when its page is full: the same
page as one query over every day (as it was before issue 18: SCAN), ties and zones included, on the
rich fixture lake and on a lake built to trip the walk (equal times across a page's edge,
day partitions cut in other zones, so that an older partition holds newer lines)."""
from __future__ import annotations

import hashlib
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import warehouse
from tests.lakefixture import write_rows
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT_SCHEMA
from warehouse.read.queries import search
from warehouse.read.queries.params import filter_params

pytestmark = pytest.mark.unit
KEYWORDS = ["ㅋㅋ", "대박", "gg", "%_", "hello", "없는말", "", "ㅋ"]
RICH_DAYS = [None, date(2026, 8, 20), date(2026, 8, 29), date(2026, 9, 5), date(2026, 9, 21),
             date(2026, 10, 4), date(2026, 10, 10)]


# keyword_search as it was: one query over every day of the range
SCAN = """
    WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]))
    SELECT chat_time, channel_id, channel_name, user_id, nickname, message
    FROM f WHERE has_text(message, ?)
    ORDER BY chat_time DESC, id DESC LIMIT ? OFFSET ?"""


def _scan(wh, keyword, channels, start, end, limit, offset):
    return wh.sql(SCAN, filter_params(channels, start, end) + [search._needle(keyword), limit, offset])


def _same(wh, keyword, channels=None, start=None, end=None, limit=200, offset=0):
    got = warehouse.keyword_search(wh, keyword, channels, start, end, limit=limit, offset=offset)
    want = _scan(wh, keyword, channels, start, end, limit, offset)
    assert got.schema == want.schema
    assert got.rows() == want.rows(), (keyword, channels, start, end, limit, offset)
    return got


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(keyword=st.sampled_from(KEYWORDS), chans=st.sampled_from([None, (0,), (1, 2), (2,), ()]),
       start=st.sampled_from(RICH_DAYS), end=st.sampled_from(RICH_DAYS),
       limit=st.sampled_from([1, 2, 7, 50, 200]), offset=st.sampled_from([0, 1, 3, 40, 500]))
def test_pages_equal_the_scan_on_the_rich_lake(rich_lake, keyword, chans, start, end, limit, offset):
    wh, facts = rich_lake
    channels = None if chans is None else [facts["channel_ids"][i] for i in chans]
    _same(wh, keyword, channels, start, end, limit, offset)


# ---- a lake that trips a walk relying on day order alone ---------------------------------

ZONES = {0: "Asia/Seoul", 1: "Pacific/Pago_Pago", 2: "Pacific/Kiritimati", 3: "UTC"}  # +9, -11, +14, 0
T0 = datetime(2026, 9, 1, 3, 0, tzinfo=UTC)


def _id(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _tricky_rows() -> list[dict]:
    """14 days of a line every 20 minutes, each line in the partition of its local day in
    one of four zones (ZONES, by turn), so neighbouring partitions overlap in time by up to
    25 hours; bursts of four lines at one instant, ids out of time order."""
    rows: list[dict] = []
    cids = [_id(f"tricky:{c}") for c in range(3)]
    for n in range(14 * 24 * 3):
        when = T0 + timedelta(minutes=20 * n)
        same = 4 if n % 37 == 0 else 1  # a burst: four lines at the same instant
        for k in range(same):
            ch = (n + k) % 3
            row = {f.name: None for f in CHAT_SCHEMA}
            i = len(rows) + 1
            row.update(id=i * 7 % 10_007, channel_id=cids[ch], channel_name=f"채널{ch}", user_id=_id(f"u{n % 11}"),
                       nickname=f"닉{n % 11}", message=["ㅋㅋ 대박", "gg", "안녕", "ㅋ", "대박"][(n + k) % 5],
                       message_type="chat", chat_time=when, created_at=when, raw="{}", dedupe_key=f"t{i}")
            row["day"] = when.astimezone(ZoneInfo(ZONES[n % 4])).date()
            rows.append(row)
    return rows


@pytest.fixture(scope="module")
def tricky(tmp_path_factory):
    root = tmp_path_factory.mktemp("tricky")
    rows = _tricky_rows()
    cids = sorted({r["channel_id"] for r in rows})
    write_rows(Lake(str(root)), rows, cids, [f"채널{c}" for c in range(3)], [1, 2, 3])
    with warehouse.open(str(root)) as wh:
        yield wh, rows, cids


def test_the_tricky_lake_has_overlapping_partitions_and_ties(tricky):
    _, rows, _ = tricky
    latest = {}
    for r in rows:
        latest[r["day"]] = max(latest.get(r["day"], r["chat_time"]), r["chat_time"])
    days = sorted(latest)
    assert any(latest[a] > min(r["chat_time"] for r in rows if r["day"] == b) for a, b in zip(days, days[1:], strict=False))
    times = [r["chat_time"] for r in rows]
    assert len(times) - len(set(times)) >= 50


@pytest.mark.parametrize("keyword", ["ㅋㅋ", "gg", "대박", "ㅋ", "없는말"])
@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (3, 0), (7, 5), (50, 0), (200, 100), (2000, 0), (5, 3000)])
def test_pages_equal_the_scan_and_python_on_the_tricky_lake(tricky, keyword, limit, offset):
    wh, rows, _ = tricky
    got = _same(wh, keyword, limit=limit, offset=offset)
    want = sorted((r for r in rows if keyword in r["message"]), key=lambda r: (r["chat_time"], r["id"]), reverse=True)
    assert [(t, m) for t, m in zip(got["chat_time"], got["message"], strict=True)] == \
        [(r["chat_time"], r["message"]) for r in want[offset:offset + limit]]


@pytest.mark.parametrize(("chans", "start", "end"), [
    ((0,), None, None), ((1, 2), date(2026, 9, 3), date(2026, 9, 9)), ((2,), None, date(2026, 9, 4)),
    (None, date(2026, 9, 10), None), ((), None, None), (None, date(2026, 10, 1), None)])
@pytest.mark.parametrize(("limit", "offset"), [(1, 0), (10, 4), (300, 0)])
def test_channel_and_day_filters_on_the_tricky_lake(tricky, chans, start, end, limit, offset):
    wh, _, cids = tricky
    channels = None if chans is None else [cids[i] for i in chans]
    for keyword in ("대박", "gg"):
        _same(wh, keyword, channels, start, end, limit, offset)


def test_a_type_filter_is_honoured(tmp_path):
    rows = _tricky_rows()
    for r in rows[::3]:
        r["message_type"] = "donation"
    cids = sorted({r["channel_id"] for r in rows})
    write_rows(Lake(str(tmp_path)), rows, cids, ["a", "b", "c"], [1, 2, 3])
    with warehouse.open(str(tmp_path), types=["donation"]) as wh:
        got = _same(wh, "대박", limit=40, offset=10)
        assert got.height == 40
    want = sorted((r for r in rows if r["message_type"] == "donation" and "대박" in r["message"]),
                  key=lambda r: (r["chat_time"], r["id"]), reverse=True)[10:50]
    assert got["chat_time"].to_list() == [r["chat_time"] for r in want]


def test_bad_pages_are_refused_as_before(rich_lake):
    wh, _ = rich_lake
    for limit, offset in ((-1, 0), (5, -2)):
        with pytest.raises(Exception, match="(?i)limit|offset|negative|out of range"):
            warehouse.keyword_search(wh, "ㅋㅋ", limit=limit, offset=offset)
    assert warehouse.keyword_search(wh, "ㅋㅋ", limit=0).is_empty()


def test_uncased_keywords_match_without_lower(rich_lake):
    """Hangul, jamo, digits and spaces are matched with contains() (no lower() of every
    message): the same trend and pages as has_text; a keyword with a letter that has case
    keeps has_text."""
    assert search._uncased("나이스") and search._uncased("ㅋㅋ 1004") and search._uncased("ᄀ")
    assert not any(search._uncased(k) for k in ("gg", "%_", "대박!", "Ｋ", "\x00no match\x00", "ⅰ"))
    wh, facts = rich_lake
    for keyword in ("ㅋㅋ", "대박", "ㅋ", "없는말", "1"):
        needle = search._needle(keyword)
        for chans in (None, [facts["channel_ids"][0]]):
            text, params = search._pick(search._TREND, chans, None, None)
            want = wh.sql(text, params + [needle, search._NO_MATCH, "day", needle, needle])
            assert warehouse.keyword_trend(wh, keyword, chans).rows() == want.rows(), (keyword, chans)
            _same(wh, keyword, chans, limit=5)
