"""The activity roll-ups (warehouse/read/accelerators/rollups.py) and the broadcast spans
(broadcast_spans.py): the counts are those of plain Python over the rows; stale,
foreign-zone or type-filtered roll-ups are never used; the incremental rebuild equals a full
one; the sync and forget-user keep them fresh; unreadable files are reported once. That
their answers equal the scan's on every lake and variant: tests/warehouse/test_accelerators.py."""
from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import warehouse
from tests.accelerated import assert_same, pair, rewrite_day
from tests.lakefixture import build_accelerators, build_fixture_lake
from tests.lakefixture_rich import build_rich_lake
from tests.pghistory import delete_one_add_one_late, history, insert
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read.accelerators import BROADCAST_SPANS, CHATTER_DAYS, ROLLUPS, rollups

pytestmark = pytest.mark.integration
KST = ZoneInfo("Asia/Seoul")
FUNCTIONS = ("activity", "subscriber_ratio")
ROLLED = (ROLLUPS, BROADCAST_SPANS, CHATTER_DAYS)


def _pair(tmp_path, build):
    """`rolled` with fresh roll-ups, broadcast spans and chatter days (Seoul hours and days,
    the fixtures' partition zone), `scan` without them."""
    return pair(tmp_path, build, ROLLED)


def _assert_same(rolled, scan, facts) -> int:
    return assert_same(ROLLUPS, rolled, scan, facts)


def _broadcast_answers_same(rolled, scan, facts) -> None:
    assert assert_same(BROADCAST_SPANS, rolled, scan, facts) > 0


def test_rollup_counts_equal_plain_python(tmp_path):
    facts, rolled, _ = _pair(tmp_path, build_rich_lake)
    want: dict = defaultdict(lambda: [0, set(), 0, set()])
    for r in facts["rows"]:
        if r["user_id"] == "SYSTEM_MESSAGE":
            continue
        hour = r["chat_time"].astimezone(KST).replace(minute=0, second=0, microsecond=0)
        sub = (r["subscription_tier"] or 0) > 0 or (r["subscription_month"] or 0) > 0
        cell = want[r["channel_id"], hour]
        cell[0] += 1
        cell[2] += sub
        if r["user_id"] not in (None, "anonymous"):
            cell[1].add(r["user_id"])
            if sub:
                cell[3].add(r["user_id"])
    got = warehouse.subscriber_ratio(rolled, every="hour")
    assert {(r["channel_id"], r["bucket"]): [r["messages"], r["chatters"], r["subscriber_messages"],
                                             r["subscriber_chatters"]] for r in got.iter_rows(named=True)} == \
        {k: [v[0], len(v[1]), v[2], len(v[3])] for k, v in want.items()}
    assert sum(v[2] for v in want.values()) > 0  # the fixture has subscribers' lines


def test_layout_sorted_and_nothing_rewritten_when_nothing_changed(tmp_path):
    build_fixture_lake(tmp_path)
    rows = rollups.build_rollups(str(tmp_path), "Asia/Seoul")
    folder = tmp_path / "rollups"
    assert [p.name for p in folder.iterdir()] == ["part-0.parquet"]  # no temporary file left
    table = pq.read_table(folder / "part-0.parquet")
    assert table.num_rows == rows and table.schema.remove_metadata().equals(rollups.SCHEMA)
    keys = list(zip(*(table.column(c).to_pylist() for c in ("channel_id", "grain", "bucket")), strict=True))
    assert keys == sorted(keys) and len(set(keys)) == len(keys)
    assert set(table.column("grain").to_pylist()) == {"hour", "day"}
    mtime = (folder / "part-0.parquet").stat().st_mtime_ns
    assert rollups.build_rollups(str(tmp_path)) == rows  # the zone: the roll-ups' own
    assert (folder / "part-0.parquet").stat().st_mtime_ns == mtime


def test_stale_rollups_are_ignored_and_the_rebuild_catches_up(tmp_path):
    facts, rolled, scan = _pair(tmp_path, build_fixture_lake)
    day = facts["days"][1]
    for root in (tmp_path / "rolled", tmp_path / "scan"):  # behind the roll-ups' back
        rewrite_day(root, day, lambda r: r["id"] % 3 != 0)
    assert rolled.accelerator(ROLLUPS) is None and rolled.accelerator(BROADCAST_SPANS) is None
    assert _assert_same(rolled, scan, facts) > 0
    # a new day (the last day's lines, a day later), then a removed one
    lake = Lake(str(tmp_path / "rolled"))
    new_day = facts["days"][-1] + timedelta(days=1)
    for root in (tmp_path / "rolled", tmp_path / "scan"):
        last = Lake(str(root)).read(CHAT, facts["days"][-1])
        moved = pc.add(last.column("chat_time"), pa.scalar(timedelta(days=1), pa.duration("us")))
        Lake(str(root)).write(CHAT, last.set_column(last.schema.get_field_index("chat_time"), "chat_time", moved),
                              new_day)
        Lake(str(root)).write(CHAT, CHAT.schema.empty_table(), facts["days"][0])
    build_accelerators(lake, *ROLLED)
    assert rolled.accelerator(ROLLUPS) is not None and rolled.accelerator(BROADCAST_SPANS) is not None
    assert _assert_same(rolled, scan, facts) > 0
    _broadcast_answers_same(rolled, scan, facts)
    incremental = pq.read_table(lake.part_path(rollups.ROLLUPS))
    rollups.build_rollups(lake, full=True)
    assert pq.read_table(lake.part_path(rollups.ROLLUPS)).equals(incremental)
    days = set(incremental.column("day").to_pylist())
    assert new_day in days and facts["days"][0] not in days


def test_another_zone_or_a_type_filter_scans(tmp_path):
    """(The answers under these: tests/warehouse/test_accelerators.py, tz="UTC" and types=["chat"].)"""
    _pair(tmp_path, build_fixture_lake)
    root = str(tmp_path / "rolled")
    for kw in ({"tz": "UTC"}, {"tz": "America/New_York"}, {"types": ["chat"]}, {"types": ["donation", "chat"]}):
        assert warehouse.open(root, **kw).accelerator(ROLLUPS) is None, kw
    # roll-ups built in another zone than the warehouse's are not used either, and a
    # build for a new zone starts over
    rollups.build_rollups(root, "UTC")
    assert warehouse.open(root).accelerator(ROLLUPS) is None
    assert warehouse.open(root, tz="UTC").accelerator(ROLLUPS) is not None
    rollups.build_rollups(root, "Asia/Seoul")
    assert warehouse.open(root).accelerator(ROLLUPS) is not None


def test_unknown_zone_builds_nothing_and_unreadable_rollups_are_ignored(tmp_path):
    facts = build_fixture_lake(tmp_path)
    assert rollups.build_rollups(str(tmp_path)) is None  # no sync recorded a zone: nothing to go by
    assert not (tmp_path / "rollups").exists()
    (tmp_path / "rollups").mkdir()
    pq.write_table(pa.table({"x": [1]}), tmp_path / "rollups" / "part-0.parquet")  # no build record
    wh = warehouse.open(str(tmp_path))
    assert wh.accelerator(ROLLUPS) is None
    assert warehouse.activity(wh)["messages"].sum() == sum(1 for r in facts["rows"] if r["user_id"] != "SYSTEM_MESSAGE")


def test_sync_and_forget_user_keep_rollups_fresh(pg, tmp_path):
    from warehouse.sync import privacy
    from warehouse.sync.export import sync
    root = str(tmp_path / "lake")
    insert(pg, history())
    sync(pg, root)
    wh = warehouse.open(root)
    assert wh.accelerator(ROLLUPS) is not None
    before = warehouse.activity(wh, every="day")["messages"].sum()
    delete_one_add_one_late(pg)  # two days rewritten by the next sync
    sync(pg, root)
    assert wh.accelerator(ROLLUPS) is not None
    assert warehouse.activity(wh, every="day")["messages"].sum() == before
    report = privacy.forget_user(pg, root, "u3")
    assert report.lake_rows_removed > 0 and wh.accelerator(ROLLUPS) is not None
    assert wh.accelerator(BROADCAST_SPANS) is not None
    shutil.copytree(root, tmp_path / "scan", ignore=shutil.ignore_patterns("rollups", "broadcast_spans"))
    scan = warehouse.open(str(tmp_path / "scan"))
    for name in FUNCTIONS:
        for every in rollups.GRAINS:
            assert getattr(warehouse, name)(wh, every=every).equals(getattr(warehouse, name)(scan, every=every))
    assert warehouse.activity(wh, every="day")["messages"].sum() < before


def test_freshness_is_rechecked_on_every_write_and_after_a_hand_edit(tmp_path, monkeypatch):
    """A reader skips the full fingerprint while the chat folder and the roll-ups file are
    unchanged and its last full check is recent: a partition written through Lake.write
    (which touches the chat folder) is seen at once, one replaced by hand within
    RECHECK_SECONDS."""
    import os
    import time

    from warehouse.read.accelerators import side_tables
    monkeypatch.setattr(side_tables, "RECHECK_SECONDS", 60)
    facts, rolled, _ = _pair(tmp_path, build_fixture_lake)
    root, day = tmp_path / "rolled", facts["days"][1]
    lake = Lake(str(root))
    calls = []
    real = side_tables.chat_fingerprint
    monkeypatch.setattr(side_tables, "chat_fingerprint", lambda lk: calls.append(1) or real(lk))
    assert rolled.accelerator(ROLLUPS) is not None and rolled.accelerator(ROLLUPS) is not None
    assert calls == []  # checked by _pair within RECHECK_SECONDS: nothing listed again
    time.sleep(0.02)  # past the file system's timestamp tick
    rewrite_day(root, day, lambda r: r["id"] % 2 == 0)
    assert rolled.accelerator(ROLLUPS) is None  # Lake.write touched the chat folder
    rollups.build_rollups(lake)
    assert rolled.accelerator(ROLLUPS) is not None
    # by hand: a new file renamed over the partition, the chat folder's mtime put back
    chat_dir = root / "chat"
    st = chat_dir.stat()
    part = root / "chat" / f"day={day}" / "part-0.parquet"
    table = pq.read_table(part)
    pq.write_table(table.slice(0, table.num_rows - 1), str(part) + ".new")
    os.replace(str(part) + ".new", part)
    os.utime(chat_dir, ns=(st.st_atime_ns, st.st_mtime_ns))
    monkeypatch.setattr(side_tables, "RECHECK_SECONDS", 0.2)
    time.sleep(0.25)
    assert rolled.accelerator(ROLLUPS) is None


def test_a_build_in_chunks_of_days_gives_the_same_file(tmp_path):
    import dataclasses

    from warehouse.read.accelerators import side_tables
    build_fixture_lake(tmp_path / "one")
    shutil.copytree(tmp_path / "one", tmp_path / "many")
    side_tables.build(rollups.SPEC, str(tmp_path / "one"), tz="Asia/Seoul")
    side_tables.build(dataclasses.replace(rollups.SPEC, chunk_bytes=1), str(tmp_path / "many"), tz="Asia/Seoul")
    one, many = (pq.read_table(tmp_path / name / "rollups" / "part-0.parquet") for name in ("one", "many"))
    assert one.num_rows > 0 and one.to_pylist() == many.to_pylist()


def test_rollups_with_a_right_record_but_wrong_rows_are_not_used(tmp_path, caplog):
    """Roll-ups and broadcast spans files whose build record matches the partitions but
    whose rows are not theirs (damaged, or another writer's) are reported once and the
    chat answers."""
    facts, rolled, scan = _pair(tmp_path, build_fixture_lake)
    file = tmp_path / "rolled" / "rollups" / "part-0.parquet"
    meta = pq.read_metadata(file).metadata
    pq.write_table(pa.table({"channel_id": ["x"], "bucket": ["not a time"]}).replace_schema_metadata(meta), file)
    spans = tmp_path / "rolled" / "broadcast_spans" / "part-0.parquet"
    pq.write_table(pa.table({"channel_id": [1]}).replace_schema_metadata(pq.read_metadata(spans).metadata), spans)
    fresh = warehouse.open(str(tmp_path / "rolled"))
    assert fresh.accelerator(ROLLUPS) is None and fresh.accelerator(ROLLUPS) is None
    assert fresh.accelerator(BROADCAST_SPANS) is None and fresh.accelerator(BROADCAST_SPANS) is None
    assert caplog.text.count("unreadable") == 2  # once per file, not once per call
    assert "rollups" in caplog.text and "broadcast spans" in caplog.text
    assert _assert_same(fresh, scan, facts) > 0
    _broadcast_answers_same(fresh, scan, facts)
