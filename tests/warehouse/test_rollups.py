"""The activity roll-ups (warehouse/read/accelerators/rollups.py): activity and subscriber_ratio give the
chat scan's answers with them, on both fixture lakes and for every filter; the counts are
those of plain Python over the rows; stale, foreign-zone or type-filtered roll-ups are never
used; the incremental rebuild equals a full one; the sync and forget-user keep them fresh."""
from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import warehouse
from tests.lakefixture import build_accelerators, build_fixture_lake
from tests.lakefixture_rich import build_rich_lake
from tests.warehouse.test_s3 import s3_lake, s3_server  # noqa: F401,F811 - fixtures
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read.accelerators import BROADCAST_SPANS, CHATTER_DAYS, ROLLUPS, rollups

pytestmark = pytest.mark.integration
KST = ZoneInfo("Asia/Seoul")
FUNCTIONS = ("activity", "subscriber_ratio")
ROLLED = (ROLLUPS, BROADCAST_SPANS, CHATTER_DAYS)


def _pair(tmp_path, build):
    """Two copies of one lake: `rolled` with fresh roll-ups (Seoul hours and days, the
    fixtures' partition zone), `scan` without them."""
    facts = build(tmp_path / "scan")
    shutil.copytree(tmp_path / "scan", tmp_path / "rolled")
    build_accelerators(tmp_path / "rolled", *ROLLED, tz="Asia/Seoul")
    rolled, scan = warehouse.open(str(tmp_path / "rolled")), warehouse.open(str(tmp_path / "scan"))
    assert rolled.rollups() is not None and scan.rollups() is None
    return facts, rolled, scan


def _filters(facts) -> list[dict]:
    days = sorted({r["day"] for r in facts["rows"]})
    cids = sorted(facts["channel_ids"])
    return [{}, {"channels": cids[:1]}, {"channels": cids[1:]}, {"channels": [*cids[::-1], cids[0]]},
            {"start": days[1]}, {"end": days[len(days) // 2]}, {"channels": [cids[-1]], "start": days[0], "end": days[-2]},
            {"channels": []}, {"channels": ["0" * 32]}, {"start": days[-1], "end": days[0]},
            {"start": date(2001, 1, 1), "end": date(2001, 1, 2)}, {"start": days[1], "end": days[1]}]


def _assert_same(rolled, scan, facts) -> int:
    rows = 0
    for name in FUNCTIONS:
        for every in rollups.GRAINS:
            for filt in _filters(facts):
                got = getattr(warehouse, name)(rolled, every=every, **filt)
                want = getattr(warehouse, name)(scan, every=every, **filt)
                assert got.equals(want), (name, every, filt, got, want)
                rows += want.height
    return rows


@pytest.mark.parametrize("build", [build_fixture_lake, build_rich_lake], ids=["fixture", "rich"])
def test_same_answers_with_and_without_rollups(tmp_path, build):
    facts, rolled, scan = _pair(tmp_path, build)
    assert _assert_same(rolled, scan, facts) > 100  # real answers, not empty frames
    # minutes are not rolled up: the scan answers, the same for both
    assert warehouse.activity(rolled, every="minute").equals(warehouse.activity(scan, every="minute"))


def _broadcast_answers(wh, facts) -> list:
    """Every answer that takes broadcasts' spans, for a few filters."""
    days = sorted({r["day"] for r in facts["rows"]})
    cids = sorted(facts["channel_ids"])
    out = []
    for filt in ({}, {"channels": cids[:1]}, {"start": days[1]}, {"channels": [cids[-1]], "start": days[-1]},
                 {"channels": []}):
        out += [warehouse.peaks(wh, **filt), warehouse.peaks(wh, by="surge", window_minutes=5, **filt),
                warehouse.coverage(wh, **filt), warehouse.broadcast_retention(wh, **filt),
                warehouse.donations_over_broadcast(wh, minutes=10, **filt)]
    return out


@pytest.mark.parametrize("build", [build_fixture_lake, build_rich_lake], ids=["fixture", "rich"])
def test_broadcast_spans_give_the_scans_answers(tmp_path, build):
    facts, rolled, scan = _pair(tmp_path, build)
    assert rolled.broadcast_source() == "spans" and scan.broadcast_source() == "scan"
    got, want = _broadcast_answers(rolled, facts), _broadcast_answers(scan, facts)
    assert rolled.broadcast_source() == "spans"
    for i, (a, b) in enumerate(zip(got, want, strict=True)):
        assert a.equals(b), (i, a, b)
    assert sum(b.height for b in want) > 20
    # a type filter narrows `chat`, and so the spans: the scan answers
    assert warehouse.open(str(tmp_path / "rolled"), types=["chat"]).broadcast_source() == "scan"


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


def _rewrite_day(root, day: date, keep) -> None:
    lake = Lake(str(root))
    old = lake.read(CHAT, day)
    lake.write(CHAT, old.filter(pa.array([keep(r) for r in old.to_pylist()], pa.bool_())), day)


def test_stale_rollups_are_ignored_and_the_rebuild_catches_up(tmp_path):
    facts, rolled, scan = _pair(tmp_path, build_fixture_lake)
    day = facts["days"][1]
    for root in (tmp_path / "rolled", tmp_path / "scan"):  # behind the roll-ups' back
        _rewrite_day(root, day, lambda r: r["id"] % 3 != 0)
    assert rolled.rollups() is None and rolled.broadcast_source() == "scan"
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
    assert rolled.rollups() is not None and rolled.broadcast_source() == "spans"
    assert _assert_same(rolled, scan, facts) > 0
    for a, b in zip(_broadcast_answers(rolled, facts), _broadcast_answers(scan, facts), strict=True):
        assert a.equals(b)
    incremental = pq.read_table(lake.part_path(rollups.ROLLUPS))
    rollups.build_rollups(lake, full=True)
    assert pq.read_table(lake.part_path(rollups.ROLLUPS)).equals(incremental)
    days = set(incremental.column("day").to_pylist())
    assert new_day in days and facts["days"][0] not in days


def test_another_zone_or_a_type_filter_scans(tmp_path):
    facts, _, _ = _pair(tmp_path, build_fixture_lake)
    root, scan_root = str(tmp_path / "rolled"), str(tmp_path / "scan")
    for kw in ({"tz": "UTC"}, {"tz": "America/New_York"}, {"types": ["chat"]}, {"types": ["donation", "chat"]}):
        rolled, scan = warehouse.open(root, **kw), warehouse.open(scan_root, **kw)
        assert rolled.rollups() is None, kw
        assert _assert_same(rolled, scan, facts) > 0, kw
    # roll-ups built in another zone than the warehouse's are not used either, and a
    # build for a new zone starts over
    rollups.build_rollups(root, "UTC")
    assert warehouse.open(root).rollups() is None
    assert warehouse.open(root, tz="UTC").rollups() is not None
    rollups.build_rollups(root, "Asia/Seoul")
    assert warehouse.open(root).rollups() is not None


def test_unknown_zone_builds_nothing_and_unreadable_rollups_are_ignored(tmp_path):
    facts = build_fixture_lake(tmp_path)
    assert rollups.build_rollups(str(tmp_path)) is None  # no sync recorded a zone: nothing to go by
    assert not (tmp_path / "rollups").exists()
    (tmp_path / "rollups").mkdir()
    pq.write_table(pa.table({"x": [1]}), tmp_path / "rollups" / "part-0.parquet")  # no build record
    wh = warehouse.open(str(tmp_path))
    assert wh.rollups() is None
    assert warehouse.activity(wh)["messages"].sum() == sum(1 for r in facts["rows"] if r["user_id"] != "SYSTEM_MESSAGE")


def test_rollups_on_an_s3_lake(tmp_path, s3_lake):  # noqa: F811 - the imported fixture
    root = s3_lake[0]
    facts = build_fixture_lake(root)
    build_fixture_lake(tmp_path)  # the same rows on local disk, no roll-ups: the reference
    assert rollups.build_rollups(root, "Asia/Seoul") > 0
    rolled, scan = warehouse.open(root), warehouse.open(str(tmp_path))
    assert rolled.rollups() is not None
    assert _assert_same(rolled, scan, facts) > 0


def test_sync_and_forget_user_keep_rollups_fresh(pg, tmp_path):
    from tests.warehouse.test_sync import _delete_one_add_one_late, _history, _insert
    from warehouse.sync import privacy
    from warehouse.sync.export import sync
    root = str(tmp_path / "lake")
    _insert(pg, _history())
    sync(pg, root)
    wh = warehouse.open(root)
    assert wh.rollups() is not None
    before = warehouse.activity(wh, every="day")["messages"].sum()
    _delete_one_add_one_late(pg)  # two days rewritten by the next sync
    sync(pg, root)
    assert wh.rollups() is not None
    assert warehouse.activity(wh, every="day")["messages"].sum() == before
    report = privacy.forget_user(pg, root, "u3")
    assert report.lake_rows_removed > 0 and wh.rollups() is not None and wh.broadcast_source() == "spans"
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
    assert rolled.rollups() is not None and rolled.rollups() is not None
    assert calls == []  # checked by _pair within RECHECK_SECONDS: nothing listed again
    time.sleep(0.02)  # past the file system's timestamp tick
    _rewrite_day(root, day, lambda r: r["id"] % 2 == 0)
    assert rolled.rollups() is None  # Lake.write touched the chat folder
    rollups.build_rollups(lake)
    assert rolled.rollups() is not None
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
    assert rolled.rollups() is None


def test_a_build_in_chunks_of_days_gives_the_same_file(tmp_path):
    import dataclasses

    from warehouse.read.accelerators import side_tables
    build_fixture_lake(tmp_path / "one")
    shutil.copytree(tmp_path / "one", tmp_path / "many")
    side_tables.build(rollups.SPEC, str(tmp_path / "one"), tz="Asia/Seoul")
    side_tables.build(dataclasses.replace(rollups.SPEC, chunk_bytes=1), str(tmp_path / "many"), tz="Asia/Seoul")
    one, many = (pq.read_table(tmp_path / name / "rollups" / "part-0.parquet") for name in ("one", "many"))
    assert one.num_rows > 0 and one.to_pylist() == many.to_pylist()


def test_live_overlay_days_scanned_beside_the_rollups(pg, tmp_path):
    """With live rows for one day (today) and a late row for one old day, the other days
    come from the roll-ups and the overlay's days from PostgreSQL: the answers equal a scan
    of a lake synced afterwards."""
    from tests.warehouse.test_sync import _history, _insert
    from warehouse.sync.export import sync
    root = str(tmp_path / "lake")
    # broadcasts: one per channel and day of the history, one over midnight into D2
    _insert(pg, [dict(r, broadcast=f"{r.get('channel', 'a')[:1]}-{r['chat_time'].astimezone(KST).date()}")
                 for r in _history()])
    _insert(pg, [{"chat_time": datetime(2026, 9, 1, 23, 50, tzinfo=KST), "user_id": "u9", "broadcast": "night",
                  "dedupe_key": "n1"}, {"chat_time": datetime(2026, 9, 2, 0, 20, tzinfo=KST), "user_id": "u9",
                                        "broadcast": "night", "dedupe_key": "n2", "message_type": "donation"}])
    sync(pg, root)
    now = datetime.now(KST).replace(microsecond=0)
    _insert(pg, [{"chat_time": now - timedelta(minutes=m), "user_id": f"t{m % 3}", "month": 2 if m % 2 else None,
                  "channel": "b" * 32, "message": f"오늘 {m}", "broadcast": "today"} for m in range(5)], old=False)
    _insert(pg, [{"chat_time": datetime(2026, 9, 2, 23, 30, tzinfo=KST), "user_id": "late"}], old=False)
    fresh = str(tmp_path / "fresh")
    sync(pg, fresh)
    for name in ("rollups", "broadcast_spans"):
        shutil.rmtree(tmp_path / "fresh" / name)
    with warehouse.open(root, live=True) as wh, warehouse.open(fresh) as scan:
        overlay = wh.overlay_days()
        assert now.date() in overlay and date(2026, 9, 2) in overlay
        assert wh.rollups() is not None and scan.rollups() is None
        assert wh.broadcast_source() == "spans"  # the overlay's days from its own lines
        lake_days = set(Lake(root).days(CHAT))
        assert lake_days - overlay  # some days come from the roll-ups
        for name in FUNCTIONS:
            for every in rollups.GRAINS:
                for kw in ({}, {"channels": ["b" * 32]}, {"start": date(2026, 9, 2)}, {"end": date(2026, 9, 2)}):
                    got = getattr(warehouse, name)(wh, every=every, **kw)
                    want = getattr(warehouse, name)(scan, every=every, **kw)
                    assert got.equals(want), (name, every, kw, got.to_dicts(), want.to_dicts())
        assert warehouse.activity(wh, every="day").filter(pl.col("bucket").dt.date() == now.date()).height == 1
        for kw in ({}, {"channels": ["b" * 32]}, {"start": date(2026, 9, 2)}, {"start": now.date()}):
            for fn in (warehouse.peaks, warehouse.coverage, warehouse.broadcast_retention,
                       warehouse.donations_over_broadcast):
                got, want = fn(wh, **kw), fn(scan, **kw)
                assert got.equals(want), (fn.__name__, kw, got, want)
        assert set(warehouse.peaks(wh, start=now.date())["broadcast"]) == {"today"}
        night = warehouse.coverage(wh).filter(pl.col("broadcast") == "night")  # its first line on D1, from the spans
        assert night["started"].dt.date().to_list() == [date(2026, 9, 1)]


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
    assert fresh.rollups() is None and fresh.rollups() is None
    assert fresh.broadcast_source() == "scan" and fresh.broadcast_source() == "scan"
    assert caplog.text.count("unreadable") == 2  # once per file, not once per call
    assert "rollups" in caplog.text and "broadcast spans" in caplog.text
    assert _assert_same(fresh, scan, facts) > 0
    for a, b in zip(_broadcast_answers(fresh, facts), _broadcast_answers(scan, facts), strict=True):
        assert a.equals(b)
