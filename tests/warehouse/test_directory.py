"""date_bounds from the day files' footers (warehouse/read/queries/channels.py): the chat
view's first and last day with rows, as ``min(day), max(day)`` over it says, however the
lake changes under an open warehouse — a day emptied or added through Lake.write, a day
file rewritten by hand, a damaged day — and for a type filter, another zone and an empty
lake. channel_directory from the roll-ups: tests/warehouse/test_accelerators.py (ROLLUPS)."""
from __future__ import annotations

from datetime import timedelta

import pyarrow.parquet as pq
import pytest

import warehouse
from tests.accelerated import rewrite_day
from tests.lakefixture import build_fixture_lake
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read.queries import channels

pytestmark = pytest.mark.unit


def _scan(wh) -> tuple:
    return wh.sql("SELECT min(day) AS first, max(day) AS last FROM chat").row(0)


def test_date_bounds_follow_the_day_files(tmp_path, monkeypatch):
    facts = build_fixture_lake(tmp_path)
    days = facts["days"]
    wh = warehouse.open(str(tmp_path))
    assert warehouse.date_bounds(wh) == _scan(wh) == (days[0], days[-1])
    for kw in ({"types": ["donation"]}, {"types": ["chat"]}, {"tz": "UTC"}):
        with warehouse.open(str(tmp_path), **kw) as other:
            assert warehouse.date_bounds(other) == _scan(other), kw
    rewrite_day(tmp_path, days[0], lambda r: False)  # the first day emptied (Lake.write)
    assert warehouse.date_bounds(wh) == _scan(wh) == (days[1], days[-1])
    later = days[-1] + timedelta(days=3)
    Lake(str(tmp_path)).write(CHAT, Lake(str(tmp_path)).read(CHAT, days[1]), later)  # a new last day
    assert warehouse.date_bounds(wh) == _scan(wh) == (days[1], later)
    # by hand, not through Lake.write (no key of the lake changes): seen after the recheck
    file = Lake(str(tmp_path)).part_path(CHAT, later)
    pq.write_table(pq.read_table(file).schema.empty_table(), file)
    monkeypatch.setattr(channels, "_RECHECK_SECONDS", 0.0)
    assert warehouse.date_bounds(wh) == _scan(wh) == (days[1], days[-1])
    with open(Lake(str(tmp_path)).part_path(CHAT, days[-1]), "wb") as f:  # damaged: left out of the views
        f.write(b"not parquet")
    with warehouse.open(str(tmp_path)) as again:
        assert warehouse.date_bounds(again) == _scan(again) == (days[1], days[-2])
    wh.close()


def test_an_empty_lake_has_no_bounds(tmp_path):
    with warehouse.open(str(tmp_path)) as wh:
        assert warehouse.date_bounds(wh) == _scan(wh) == (None, None)
    facts = build_fixture_lake(tmp_path / "lake")
    wh = warehouse.open(str(tmp_path / "lake"))
    for day in facts["days"]:
        rewrite_day(tmp_path / "lake", day, lambda r: False)
    assert warehouse.date_bounds(wh) == _scan(wh) == (None, None)
