"""The broadcast minutes (warehouse/read/accelerators/broadcast_minutes.py) beyond the
equivalence test (tests/warehouse/test_accelerators.py): the incremental build equals a
full one after a day is rewritten or removed (broadcasts over midnight included), a stale
file is not used, frames keep the scan's types, a lake without capture intervals answers
coverage and the list from the minutes (titles from live_session), partitions without
donation_status are counted as money counts them, and a broadcast's span comes from the
broadcast spans (warehouse/read/queries/spans.py)."""
from __future__ import annotations

import os
import shutil

import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import warehouse
from tests.accelerated import assert_same, rewrite_day
from tests.lakefixture import build_accelerators
from tests.lakefixture_rich import build_rich_lake
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read.accelerators import BROADCAST_MINUTES, BROADCAST_SPANS, broadcast_minutes
from warehouse.read.queries.spans import broadcast_span

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    """(root, facts) of the rich lake (broadcasts over midnight, capture intervals), its zone
    recorded, spans and minutes built."""
    root = tmp_path_factory.mktemp("minutes")
    facts = build_rich_lake(root)
    Lake(str(root)).write_state({"timezone": "Asia/Seoul"})
    build_accelerators(root, BROADCAST_SPANS, BROADCAST_MINUTES, tz="Asia/Seoul")
    return root, facts


def _copy(src, dst) -> str:
    shutil.copytree(src, dst)
    return str(dst)


def _file(root) -> object:
    """The minutes file's rows in a fixed order (the build record left out)."""
    table = pq.read_table(os.path.join(root, "broadcast_minutes", "part-0.parquet"))
    return table.replace_schema_metadata(None)


def test_an_incremental_build_equals_a_full_one(rich, tmp_path):
    root, facts = rich
    lake = _copy(root, tmp_path / "lake")
    days = Lake(lake).days(CHAT)
    night = warehouse.open(lake).sql("""SELECT chat_channel_id, max(day) AS d FROM chat GROUP BY 1
                                        HAVING count(DISTINCT day) > 1 ORDER BY 1 LIMIT 1""").row(0)
    # a broadcast over midnight loses its lines of the second day; another day goes whole
    rewrite_day(lake, night[1], lambda r: r["chat_channel_id"] != night[0])
    gone = next(d for d in days if d != night[1])
    shutil.rmtree(os.path.dirname(Lake(lake).part_path(CHAT, gone)))
    assert warehouse.open(lake).accelerator(BROADCAST_MINUTES) is None  # stale: the chat answers
    incremental = broadcast_minutes.build(Lake(lake))
    full = _copy(lake, tmp_path / "full")
    assert broadcast_minutes.build(Lake(full), None, True) == incremental
    assert _file(lake).equals(_file(full))
    totals = _file(lake).filter(pc.equal(_file(lake).column("grain"), 0))
    assert night[0] in totals.column("broadcast").to_pylist()  # its first day's lines still count
    fast, scan = warehouse.open(lake), warehouse.open(lake, accelerate=False)
    assert fast.accelerator(BROADCAST_MINUTES) is not None
    assert assert_same(BROADCAST_MINUTES, fast, scan, facts, few=3) > 50


def test_frames_keep_the_scans_types(rich):
    root, facts = rich
    fast, scan = warehouse.open(str(root)), warehouse.open(str(root), accelerate=False)
    b = facts["broadcasts"][0]
    for fn, args, kw in ((warehouse.peaks, (), {"by": "surge"}), (warehouse.broadcast_list, (), {}),
                         (warehouse.coverage, (), {"channels": []}),
                         (warehouse.broadcast_activity, (b["channel_id"], b["broadcast"]), {"window_minutes": 5}),
                         (warehouse.broadcast_peaks, (b["channel_id"], b["broadcast"]), {})):
        got, want = fn(fast, *args, **kw), fn(scan, *args, **kw)
        assert got.schema == want.schema and got.equals(want), fn.__name__


def test_without_capture_intervals_coverage_and_the_list_come_from_the_minutes(rich, tmp_path):
    """Every broadcast's source is then "chat"; live_session still gives the titles."""
    root, facts = rich
    lake = _copy(root, tmp_path / "lake")
    os.remove(os.path.join(lake, "capture_interval", "part-0.parquet"))
    fast, scan = warehouse.open(lake), warehouse.open(lake, accelerate=False)
    listed = warehouse.broadcast_list(fast)
    assert set(listed["source"]) == {"chat"} and listed["title"].is_not_null().any()
    assert assert_same(BROADCAST_MINUTES, fast, scan, facts) > 100


def test_partitions_without_donation_status_count_as_money_counts_them(rich, tmp_path):
    root, facts = rich
    lake = _copy(root, tmp_path / "lake")
    for day in Lake(lake).days(CHAT):
        path = Lake(lake).part_path(CHAT, day)
        pq.write_table(pq.read_table(path).drop_columns(["donation_status"]), path)
    broadcast_minutes.build(Lake(lake))
    fast, scan = warehouse.open(lake), warehouse.open(lake, accelerate=False)
    assert fast.accelerator(BROADCAST_MINUTES) is not None
    assert warehouse.broadcast_list(fast)["donations"].sum() > 0
    assert assert_same(BROADCAST_MINUTES, fast, scan, facts, few=3) > 50


def test_a_broadcasts_span_comes_from_the_spans(rich):
    root, facts = rich
    fast, scan = warehouse.open(str(root)), warehouse.open(str(root), accelerate=False)
    assert fast.accelerator(BROADCAST_SPANS) is not None
    asked = [(b["channel_id"], b["broadcast"]) for b in facts["broadcasts"]]
    asked += [(facts["channel_ids"][0], "nope"), (facts["channel_ids"][1], asked[0][1])]  # another channel's
    spans = [broadcast_span(fast, *a) for a in asked]
    assert spans == [broadcast_span(scan, *a) for a in asked] and spans[-1] is None and spans[0] is not None
    assert str(spans[0][2].tzinfo) == fast.tz
