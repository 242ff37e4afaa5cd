"""warehouse.highlights on the moments fixture lake (tests/lakefixture_moments.py), equal to the
same moments counted in plain Python from the rows; with the accelerators built, equal to the
scan's answer; bad arguments are clear errors."""
from __future__ import annotations

import polars as pl
import pytest

import warehouse
from tests import highlight_answers as answers
from tests.lakefixture import build_accelerators
from tests.lakefixture_moments import KEYWORD, build_moments_lake
from warehouse.read.accelerators import BROADCAST_MINUTES, BROADCAST_SPANS
from warehouse.read.queries import highlights as hl
from warehouse.read.queries.highlights import highlights

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("moments")
    return root, build_moments_lake(root)


CASES = [(1, 10, (KEYWORD,), 9876543), (1, 2, (), None), (5, 10, (KEYWORD, "대박", "없는말"), None), (2, 10, ("도배",), 1)]


@pytest.mark.parametrize(("width", "limit", "keywords", "video_no"), CASES)
def test_highlights_equal_plain_python(lake, width, limit, keywords, video_no):
    root, facts = lake
    wh = warehouse.open(root, accelerate=False)
    cid = facts["channel_ids"][0]
    got = highlights(wh, cid, "BCA1", window_minutes=width, limit=limit, keywords=keywords,
                               video_no=video_no)
    rows = [r for r in facts["rows"] if r["channel_id"] == cid and r["chat_channel_id"] == "BCA1"
            and r["user_id"] != "SYSTEM_MESSAGE"]
    want = answers.highlights(rows, int(facts["opened"].timestamp()), width, limit, list(keywords), video_no)
    shown = got.drop("start", "end", "top_nickname").to_dicts()
    assert [{k: (round(v, 9) if isinstance(v, float) else v) for k, v in r.items()} for r in shown] == \
        [{k: (round(v, 9) if isinstance(v, float) else v) for k, v in r.items()} for r in want]
    assert (got["end"] - got["start"]).dt.total_seconds().to_list() == got["duration_seconds"].to_list()


def test_highlights_fixture_moments(lake):
    """What the fixture was built to show: the laughter burst first (two windows merged,
    offset from live_session's open), the donation burst, the flood marked dominated."""
    root, facts = lake
    wh = warehouse.open(root, accelerate=False)
    got = highlights(wh, facts["channel_ids"][0], "BCA1", keywords=[KEYWORD], video_no=42)
    first = got.row(0, named=True)
    assert (first["offset_seconds"], first["duration_seconds"]) == (10 * 60 + 90, 120)
    assert first["reason"] == "volume+surge+keyword" and not first["dominated"]
    assert first["replay_url"] == "https://chzzk.naver.com/video/42?currentTime=690"
    flood = got.filter(pl.col("top_user_id") == facts["spammer"]).row(0, named=True)
    assert flood["dominated"] and flood["offset_seconds"] == 20 * 60 + 90
    assert got.filter(pl.col("reason").str.contains("donations"))["amount"].to_list() == [30_000]
    # a broadcast without live_session starts at its first line; a flat one has no moments
    assert highlights(wh, facts["channel_ids"][1], "BCB1").is_empty()
    assert highlights(wh, facts["channel_ids"][0], "NOPE").columns == list(hl.COLUMNS)


def test_highlights_accelerated_equal_scan(tmp_path):
    facts = build_moments_lake(tmp_path)
    build_accelerators(tmp_path, BROADCAST_SPANS, BROADCAST_MINUTES, tz="Asia/Seoul")
    cid = facts["channel_ids"][0]
    fast, scan = warehouse.open(tmp_path), warehouse.open(tmp_path, accelerate=False)
    for width, limit, keywords, video_no in CASES:
        args = (cid, "BCA1", width, limit, keywords, video_no)
        assert highlights(fast, *args).equals(highlights(scan, *args))


@pytest.mark.parametrize(("kwargs", "match"), [
    ({"window_minutes": 0}, "window_minutes"), ({"limit": 0}, "limit"), ({"video_no": -3}, "video_no"),
    ({"video_no": "12; DROP"}, "video_no"), ({"video_no": True}, "video_no"),
    ({"keywords": ["a", "b", "c", "d", "e", "f"]}, "keywords")])
def test_highlights_bad_arguments_are_clear_errors(lake, kwargs, match):
    root, facts = lake
    with pytest.raises(ValueError, match=match):
        highlights(warehouse.open(root), facts["channel_ids"][0], "BCA1", **kwargs)
