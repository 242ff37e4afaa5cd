"""keyword_search and keyword_trend answered from the channels' slices (warehouse/read/
text_slices.py, no SQL) equal the scan's answers (``accelerate=False``), frame for frame:
hostile keywords, channel and day filters, pages, a type filter, other zones (one with
DST, where the trend scans), S3, live rows and a damaged day; and the pieces the slices
rest on: DuckDB's lower() and a byte substring test."""
from __future__ import annotations

import os
import random
import shutil
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute
import pytest

import warehouse
from tests.lakefixture import write_rows
from tests.s3lake import s3_lake, s3_server  # noqa: F401 - fixtures
from warehouse.lake import health, layout
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT, CHAT_SCHEMA
from warehouse.read import text_match, text_slices

pytestmark = pytest.mark.unit
KST = ZoneInfo("Asia/Seoul")
DAYS = [date(2026, 9, 1) + timedelta(days=i) for i in range(5)]
CIDS = ["1" * 32, "5" * 32, "a" * 32, "f" * 32]
TEXTS = ["ㅋㅋㅋ 나이스", "100%_확실'\\해요", "50%_할인", "GG", "gg wp", "Äpfel", "äPFEL", "İstanbul",
         "\ua7cbx", "😀 이모지 😀", "O'Neil \"quoted\"", "back\\slash", "나이", "스타", "ΣΊΣΥΦΟΣ", None, ""]
KEYWORDS = ["나이스", "ㅋㅋ", "%_", "%", "_", "'", "\\", "\"", "gg", "GG", "Ä", "ä", "äpfel", "i̇", "istanbul",
            "\ua7cb", "\ua7cc", "😀", "σίσυφος", "이스스", "없는말", "  ", "", "S"]
FILTERS = [{"channels": CIDS[:1]}, {"channels": [CIDS[2], CIDS[0]]}, {"channels": CIDS, "start": DAYS[1]},
           {"channels": CIDS[1:3], "end": DAYS[2]}, {"channels": [CIDS[3]], "start": DAYS[2], "end": DAYS[2]},
           {"channels": []}, {"channels": ["0" * 32]}, {"channels": CIDS[:2], "start": DAYS[3], "end": DAYS[1]}]
PAGES = [(200, 0), (3, 0), (2, 5), (1000, 40), (5, 10_000)]
USERS = ["u1", "u4", "u9", "anonymous", "SYSTEM_MESSAGE", "nobody"]


def _rows() -> list[dict]:
    """Five days of lines in four channels (the last without any on two days), bursts at
    one instant, system lines, lines without a user or a message, two message types."""
    rng = random.Random(18)
    rows: list[dict] = []
    for d, day in enumerate(DAYS):
        for c, cid in enumerate(CIDS):
            if c == 3 and d in (1, 3):
                continue
            start = datetime(day.year, day.month, day.day, 0, 30, tzinfo=KST).astimezone(UTC)
            for n in range(rng.randint(20, 40)):
                when = start + timedelta(minutes=37 * n + 7 * c) if n % 9 else start + timedelta(minutes=37 * (n - 1))
                i = len(rows) + 1
                row = {f.name: None for f in CHAT_SCHEMA}
                user = ("SYSTEM_MESSAGE" if n % 11 == 5 else None if n % 13 == 7 else "anonymous" if n % 17 == 3
                        else f"u{rng.randint(1, 9)}")
                row.update(id=(i * 7919) % 100_003, channel_id=cid, channel_name=f"채널{c}", user_id=user,
                           nickname=f"닉{n % 5}", message=rng.choice(TEXTS),
                           message_type="donation" if n % 4 == 0 else "chat", chat_time=when, created_at=when,
                           raw="{}", dedupe_key=f"k{i}", day=day, message_status=("NORMAL", "BLIND", None)[n % 3],
                           pay_amount=1000 * (n % 3) if n % 4 == 0 else None,
                           subscription_tier=n % 2 + 1 if n % 5 == 0 else None, subscription_month=n % 7 or None)
                rows.append(row)
    return rows


def _write(root: str) -> None:
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(layout, "ROW_GROUP_ROWS", 16)  # several row groups a day, skipped by their statistics
        write_rows(Lake(root), _rows(), CIDS, [f"채널{c}" for c in range(4)], [1, 2, 3, 4])


@pytest.fixture(scope="module")
def text_lake(tmp_path_factory) -> str:
    root = str(tmp_path_factory.mktemp("text"))
    _write(root)
    return root


def _no_sql(wh) -> None:
    """Make any SQL of `wh` fail: an answer given is the slices'."""
    def refuse(*_a, **_k):
        raise AssertionError("the scan was asked")
    wh.sql = refuse


def _answers(wh, few: bool = False) -> list:
    """Every keyword over every filter, the buckets and pages taken in turn."""
    out = []
    for i, keyword in enumerate(KEYWORDS[::3] if few else KEYWORDS):
        for j, filt in enumerate(FILTERS[:4] if few else FILTERS):
            every = ("minute", "hour", "day", "week", "month")[(i + j) % 5]
            limit, offset = PAGES[(i + 2 * j) % len(PAGES)]
            out += [(("trend", keyword, every, filt), warehouse.keyword_trend(wh, keyword, every=every, **filt)),
                    (("search", keyword, limit, offset, filt),
                     warehouse.keyword_search(wh, keyword, limit=limit, offset=offset, **filt))]
    for i, user in enumerate(USERS[::2] if few else USERS):  # no user tail in this lake: the slices answer
        for j, filt in enumerate(FILTERS[:4] if few else FILTERS):
            limit, offset = (*PAGES, (0, 0))[(i + j) % (len(PAGES) + 1)]
            out.append((("user_messages", user, limit, offset, filt),
                        warehouse.user_messages(wh, user, limit=limit, offset=offset, **filt)))
    return out


def _same(fast, scan, few: bool = False) -> int:
    got, want = _answers(fast, few), _answers(scan, few)
    rows = 0
    for (label, a), (_, b) in zip(got, want, strict=True):
        assert a.schema == b.schema and a.equals(b), (label, a, b)
        rows += b.height
    return rows


@pytest.mark.parametrize(("kw", "sql_free"), [({}, True), ({"types": ["chat"]}, True), ({"tz": "UTC"}, True),
                                              ({"tz": "America/New_York"}, False)],
                         ids=["plain", "types", "utc", "dst"])
def test_slices_answer_as_the_scan(text_lake, kw, sql_free):
    fast, scan = warehouse.open(text_lake, **kw), warehouse.open(text_lake, accelerate=False, **kw)
    if sql_free:
        _no_sql(fast)
    else:  # a zone whose offset changes: the trend's buckets are DuckDB's, the search still the slices'
        assert text_slices.buckets(np.array([0, 200 * 86_400_000_000]), "day", "America/New_York") is None
    assert _same(fast, scan, few=bool(kw)) > 300


LAKE_FILTERS = [{}, {"start": DAYS[1]}, {"end": DAYS[2]}, {"start": DAYS[2], "end": DAYS[2]},
                {"start": DAYS[3], "end": DAYS[1]}, {"channels": None}]


def _lake_trends(wh, keywords=KEYWORDS) -> list:
    """keyword_trend of every channel: each keyword over the lake's filters, buckets in turn."""
    return [((keyword, every, filt), warehouse.keyword_trend(wh, keyword, every=every, **filt))
            for i, keyword in enumerate(keywords) for j, filt in enumerate(LAKE_FILTERS)
            for every in [("minute", "hour", "day", "week", "month")[(i + j) % 5]]]


def _same_lake_trends(fast, scan, keywords=KEYWORDS) -> int:
    rows = 0
    for (label, a), (_, b) in zip(_lake_trends(fast, keywords), _lake_trends(scan, keywords), strict=True):
        assert a.schema == b.schema and a.equals(b), (label, a, b)
        rows += b.height
    return rows


@pytest.mark.parametrize("kw", [{}, {"tz": "UTC"}, {"types": ["chat"]}, {"tz": "America/New_York"}],
                         ids=["plain", "utc", "types", "dst"])
def test_the_lake_trend_answers_as_the_scan(text_lake, kw):
    """Every channel's trend (warehouse/read/lake_trend.py, no SQL): every keyword (one and
    two characters, cased, hostile), bucket and day filter; a type filter or a zone whose
    offset changes is the scan's."""
    fast, scan = warehouse.open(text_lake, **kw), warehouse.open(text_lake, accelerate=False, **kw)
    if not kw or "tz" in kw and kw["tz"] == "UTC":
        _no_sql(fast)
    assert _same_lake_trends(fast, scan, KEYWORDS if not kw else KEYWORDS[::4]) > (500 if not kw else 100)


def test_the_lake_trend_of_unordered_damaged_and_rewritten_files(tmp_path, text_lake):
    """A day file in no order is scanned; a damaged one left out as the views leave it; a
    rewritten one read afresh."""
    import pyarrow.parquet as pq
    root = str(tmp_path / "lake")
    shutil.copytree(text_lake, root)
    fast, scan = warehouse.open(root), warehouse.open(root, accelerate=False)
    before = warehouse.keyword_trend(fast, "gg")
    old = Lake(root).read(CHAT, DAYS[1])
    Lake(root).write(CHAT, old.filter(pa.compute.not_equal(old.column("channel_id"), CIDS[0])), DAYS[1])
    assert _same_lake_trends(fast, scan, ["gg", "나이스", "Ä"]) > 50 and not warehouse.keyword_trend(fast, "gg").equals(before)
    with open(Lake(root).part_path(CHAT, DAYS[2]), "r+b") as f:
        f.seek(-12, 2)
        f.write(b"\0" * 12)  # its footer
    assert _same_lake_trends(fast, scan, ["gg", "ㅋ"]) > 50
    path = Lake(root).part_path(CHAT, DAYS[0])
    table = pq.read_table(path)
    pq.write_table(table.take(pa.array(random.Random(3).sample(range(table.num_rows), table.num_rows))), path,
                   row_group_size=16)
    assert _same_lake_trends(fast, scan, ["gg", "ㅋ"]) > 50


def test_hostile_keywords_find_what_has_text_finds(text_lake):
    fast = warehouse.open(text_lake)
    _no_sql(fast)
    got = warehouse.keyword_search(fast, "ä", CIDS, limit=1000)
    assert set(got["message"]) == {"Äpfel", "äPFEL"}
    assert set(warehouse.keyword_search(fast, "%_", CIDS, limit=1000)["message"]) == {"100%_확실'\\해요", "50%_할인"}
    assert set(warehouse.keyword_search(fast, "\ua7cb", CIDS, limit=1000)["message"]) == {"\ua7cbx"}
    assert warehouse.keyword_search(fast, "\ua7cc", CIDS, limit=1000).is_empty()  # DuckDB does not lower Ɤ
    assert warehouse.keyword_search(fast, "이스스", CIDS, limit=1000).is_empty()  # not across two lines
    assert warehouse.keyword_search(fast, "  ", CIDS).is_empty() and warehouse.keyword_trend(fast, "", CIDS).is_empty()


def test_a_damaged_day_is_left_out_as_the_views_leave_it(tmp_path, text_lake):
    root = str(tmp_path / "lake")
    shutil.copytree(text_lake, root)
    Lake(root).part_path(CHAT, DAYS[2])
    with open(Lake(root).part_path(CHAT, DAYS[2]), "r+b") as f:
        f.seek(-12, 2)
        f.write(b"\0" * 12)  # its footer
    fast, scan = warehouse.open(root), warehouse.open(root, accelerate=False)
    assert DAYS[2] not in set(scan.sql("SELECT DISTINCT day FROM chat")["day"])
    _no_sql(fast)
    assert _same(fast, scan, few=True) > 50


def test_a_day_file_rewritten_is_read_afresh(tmp_path, text_lake):
    root = str(tmp_path / "lake")
    shutil.copytree(text_lake, root)
    fast, scan = warehouse.open(root), warehouse.open(root, accelerate=False)
    before = warehouse.keyword_trend(fast, "gg", CIDS[:2])
    old = Lake(root).read(CHAT, DAYS[1])
    Lake(root).write(CHAT, old.filter(pa.compute.not_equal(old.column("channel_id"), CIDS[0])), DAYS[1])
    after = warehouse.keyword_trend(fast, "gg", CIDS[:2])
    assert after.equals(warehouse.keyword_trend(scan, "gg", CIDS[:2])) and not after.equals(before)
    assert warehouse.keyword_search(fast, "gg", CIDS[:1], limit=1000).equals(
        warehouse.keyword_search(scan, "gg", CIDS[:1], limit=1000))


def test_a_day_file_not_sorted_by_channel_gives_the_same_answers(tmp_path, text_lake):
    """Another writer's file, its lines in no order: a channel's lines are not together, so
    they are picked one by one, not taken as one run."""
    import pyarrow.parquet as pq
    root = str(tmp_path / "lake")
    shutil.copytree(text_lake, root)
    path = Lake(root).part_path(CHAT, DAYS[0])
    table = pq.read_table(path)
    pq.write_table(table.take(pa.array(random.Random(3).sample(range(table.num_rows), table.num_rows))), path,
                   row_group_size=16)
    fast, scan = warehouse.open(root), warehouse.open(root, accelerate=False)
    _no_sql(fast)
    assert _same(fast, scan, few=True) > 50


def test_slices_on_an_s3_lake_answer_as_the_scan(text_lake, s3_lake):  # noqa: F811 - the imported fixture
    _write(s3_lake[0])
    fast, scan = warehouse.open(s3_lake[0]), warehouse.open(text_lake, accelerate=False)
    _no_sql(fast)
    assert _same(fast, scan, few=True) > 50


@pytest.mark.integration
def test_live_days_are_scanned_and_older_days_sliced(pg, tmp_path):
    from tests.pghistory import CHANNELS, D1, D3, history, insert
    from warehouse.sync.export import sync
    root, fresh = str(tmp_path / "lake"), str(tmp_path / "fresh")
    insert(pg, [dict(r, message=TEXTS[i % 6]) for i, r in enumerate(history())])
    sync(pg, root)
    now = datetime.now(KST).replace(microsecond=0)
    insert(pg, [{"chat_time": now - timedelta(minutes=m), "user_id": "t1", "message": f"나이스 {m}",
                 "channel": "b" * 32} for m in range(4)], old=False)
    sync(pg, fresh)
    with warehouse.open(root, live=True) as wh, warehouse.open(fresh, accelerate=False) as scan:
        assert now.date() in wh.overlay_days()
        chans = sorted(CHANNELS)
        assert not text_slices.may_answer(wh, chans, None, None)
        for kw in ({"channels": chans}, {"channels": chans, "start": D1, "end": D3}, {"channels": ["b" * 32]}):
            for keyword in ("나이스", "gg", "%_"):
                for got, want in ((warehouse.keyword_search(wh, keyword, **kw), warehouse.keyword_search(scan, keyword, **kw)),
                                  (warehouse.keyword_trend(wh, keyword, **kw), warehouse.keyword_trend(scan, keyword, **kw))):
                    assert got.schema == want.schema and got.equals(want), (keyword, kw, got, want)
        assert text_slices.may_answer(wh, chans, D1, D3)
        assert warehouse.keyword_search(wh, "나이스", ["b" * 32], start=now.date()).height == 4


def test_lower_is_duckdbs_for_every_code_point():
    points = [chr(c) for c in range(0x110000) if not 0xD800 <= c <= 0xDFFF]
    con = duckdb.connect(":memory:")
    con.register("p", pa.table({"p": points}))
    duck = con.execute("SELECT lower(p) AS l FROM p").to_arrow_table().column("l").combine_chunks()
    ours = text_match.lower(pa.chunked_array([pa.array(points)])).combine_chunks()
    assert duck.cast(pa.string()).equals(ours.cast(pa.string()))
    assert text_match.lower_text("ΣÄİ\ua7cbGG") == con.execute("SELECT lower(?)", ["ΣÄİ\ua7cbGG"]).fetchone()[0]


def test_contains_is_a_substring_test_per_line():
    rng = random.Random(7)
    letters = ["a", "b", "ㅋ", "나", "이", "스", " ", "%", "😀", "Ä"]
    for trial in range(200):
        values = [None if rng.random() < 0.1 else "".join(rng.choice(letters) for _ in range(rng.randint(0, 6)))
                  for _ in range(rng.randint(0, 50))]
        half = len(values) // 2
        arr = pa.chunked_array([pa.array(values[:half], pa.string()), pa.array(values[half:], pa.string()).slice(0)])
        if trial % 4 == 0 and values:
            arr = pa.chunked_array([pa.array(["x", *values], pa.string()).slice(1)])
        for needle in ("a", "ab", "ㅋㅋ", "나이스", "😀a", "Ä", " b"):
            got = text_match.contains(arr, needle).tolist()
            assert got == [v is not None and needle in v for v in arr.to_pylist()], (values, needle)
    across = pa.chunked_array([pa.array(["xa", "ab", "b", "aab", None, "a", "ab"])])
    assert text_match.contains(across, "ab").tolist() == [False, True, False, True, False, False, True]


def test_a_kept_day_listing_sees_a_day_folder_made_later(tmp_path, text_lake):
    """health.day_files keeps the listing of a settled chat folder: a day written after it
    (its folder made: the chat folder's mtime changes) is listed, and a day removed is gone."""
    root = str(tmp_path / "lake")
    shutil.copytree(text_lake, root)
    lake = Lake(root)
    folder = lake.table_dir(CHAT)
    os.utime(folder, ns=(0, 1_000_000_000))  # settled long ago: the listing is kept
    assert list(health.day_files(lake, CHAT)) == DAYS
    assert health._FOLDERS[folder][0] == 1_000_000_000
    new = DAYS[-1] + timedelta(days=1)
    lake.write(CHAT, lake.read(CHAT, DAYS[0]), new)
    assert list(health.day_files(lake, CHAT)) == [*DAYS, new]
    shutil.rmtree(os.path.dirname(lake.part_path(CHAT, DAYS[0])))
    assert list(health.day_files(lake, CHAT, DAYS[0], new)) == [*DAYS[1:], new]
    fast, scan = warehouse.open(root), warehouse.open(root, accelerate=False)
    assert warehouse.keyword_search(fast, "gg", CIDS, limit=1000).equals(warehouse.keyword_search(scan, "gg", CIDS,
                                                                                                    limit=1000))


def test_slices_kept_within_text_slices_mb(tmp_path, text_lake, monkeypatch):
    """TEXT_SLICES_MB=0 keeps one slice at most: every answer is read again, and the same."""
    monkeypatch.setenv("TEXT_SLICES_MB", "0")
    root = str(tmp_path / "lake")  # files not read before: their slices are read here
    shutil.copytree(text_lake, root)
    fast, scan = warehouse.open(root), warehouse.open(root, accelerate=False)
    _no_sql(fast)
    assert _same(fast, scan, few=True) > 50
    assert len(text_slices._SLICES) <= 1


def test_slices_matched_by_arrow_answer_as_in_python(text_lake, monkeypatch):
    """A slice of more than PYTHON_LINES lines is matched by text_match.contains, a smaller
    one in Python: the same answers either way (and the scan's)."""
    monkeypatch.setattr(text_slices, "PYTHON_LINES", 0)
    fast, scan = warehouse.open(text_lake), warehouse.open(text_lake, accelerate=False)
    _no_sql(fast)
    assert _same(fast, scan, few=True) > 50
