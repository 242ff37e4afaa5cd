"""The chatter days (warehouse/read/accelerators/chatter_days.py): tier_split's counts and
names are those of plain Python over the rows; a stale, type-filtered, live or unreadable
table is never used, nor for new_vs_returning another zone, hours, or a midnight a clock
change skips; the reader lets channels go beyond its cap; the sync and forget-user keep the
table fresh. That the answers equal the scan's on every lake and variant:
tests/warehouse/test_accelerators.py."""
from __future__ import annotations

import shutil
from collections import defaultdict
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import warehouse
from tests.accelerated import assert_same, pair, rewrite_day
from tests.lakefixture import build_accelerators, build_fixture_lake
from tests.lakefixture_rich import build_rich_lake
from tests.pghistory import KST, delete_one_add_one_late, history, insert
from warehouse.lake.layout import Lake
from warehouse.read.accelerators import BROADCAST_SPANS, CHATTER_DAYS, ROLLUPS, chatter_days, chatter_frames
from warehouse.read.accelerators.base import Need

pytestmark = pytest.mark.integration
ROLLED = (ROLLUPS, BROADCAST_SPANS, CHATTER_DAYS)


def _pair(tmp_path, build):
    return pair(tmp_path, build, ROLLED)


def _assert_same(fast, scan, facts) -> int:
    # the first three filters (every case: tests/warehouse/test_accelerators.py)
    return assert_same(CHATTER_DAYS, fast, scan, facts, few=3)


def test_new_vs_returning_from_the_table_only_for_local_days(tmp_path):
    """(The answers either way: tests/warehouse/test_accelerators.py, its "zone" variant.)"""
    _pair(tmp_path, build_fixture_lake)
    fast = warehouse.open(str(tmp_path / "rolled"))
    local = frozenset({Need.LOCAL_DAYS})
    assert not fast.days_are_local()  # no sync recorded the zone: new_vs_returning scans
    assert fast.accelerator(CHATTER_DAYS) is not None and fast.accelerator(CHATTER_DAYS, local) is None
    Lake(str(tmp_path / "rolled")).write_state({"timezone": "Asia/Seoul"})  # as a sync leaves it
    fast = warehouse.open(str(tmp_path / "rolled"))
    assert fast.days_are_local() and fast.accelerator(CHATTER_DAYS, local) is not None
    lake = Lake(str(tmp_path / "rolled"))
    for every in ("day", "week", "month"):  # the chatter days answer these now
        reader = fast.accelerator(CHATTER_DAYS)
        assert chatter_frames.new_vs_returning(reader, lake, None, None, None, every, "Asia/Seoul").height > 0


def _python_split(rows: list[dict], lo, hi) -> dict:
    """{(channel_id, tier label): (channel_name, chatters, messages)} by plain Python."""
    best, sent, last = {}, defaultdict(int), {}
    for r in rows:
        if not (lo <= r["day"] <= hi) or r["user_id"] == "SYSTEM_MESSAGE":
            continue
        if r["channel_name"] is not None and r["chat_time"] >= last.get(r["channel_id"], (r["chat_time"], None))[0]:
            last[r["channel_id"]] = (r["chat_time"], r["channel_name"])  # any non-system line names the channel
        if r["user_id"] in (None, "anonymous"):
            continue
        key = (r["channel_id"], r["user_id"])
        tier = r["subscription_tier"] if (r["subscription_tier"] or 0) > 0 else 1 if (r["subscription_month"] or 0) > 0 else 0
        best[key] = max(best.get(key, 0), tier)
        sent[key] += 1
    out: dict = {}
    for (cid, user), tier in best.items():
        label = "none" if tier == 0 else f"tier {tier}"
        name, n, m = out.get((cid, label), (last.get(cid, (None, None))[1], 0, 0))
        out[cid, label] = (name, n + 1, m + sent[cid, user])
    return out


@pytest.mark.parametrize("build", [build_fixture_lake, build_rich_lake], ids=["fixture", "rich"])
def test_tier_split_equals_plain_python(tmp_path, build):
    facts = build(tmp_path)
    build_accelerators(tmp_path, *ROLLED, tz="Asia/Seoul")
    wh = warehouse.open(str(tmp_path))
    assert wh.accelerator(CHATTER_DAYS) is not None
    days = sorted({r["day"] for r in facts["rows"]})
    for lo, hi in ((days[0], days[-1]), (days[1], days[1]), (days[0], days[len(days) // 2])):
        got = warehouse.tier_split(wh, start=lo, end=hi)
        assert {(c, t): (name, n, m) for c, name, t, n, m in got.iter_rows()} == _python_split(facts["rows"], lo, hi)
        assert got.select("channel_id", "tier").rows() == sorted(got.select("channel_id", "tier").rows(),
                                                                 key=lambda k: (k[0], k[1] != "none", k[1]))
        # channel_summary's chatters and subscriber chatters, as chatter_frames.chatters counts them
        summary = warehouse.channel_summary(wh, start=lo, end=hi).select("channel_id", "chatters", "subscriber_chatters")
        want = {c: (n, subs) for c, n, subs in summary.iter_rows() if n}
        assert want and chatter_frames.chatters(wh.accelerator(CHATTER_DAYS), Lake(str(tmp_path)), None, lo, hi) == want


def test_layout_sorted_and_counts(tmp_path):
    facts = build_rich_lake(tmp_path)
    build_accelerators(tmp_path, *ROLLED, tz="Asia/Seoul")
    table = pq.read_table(tmp_path / "chatter_days" / "part-0.parquet")
    assert table.schema.remove_metadata().equals(chatter_days.CHATTER_SCHEMA)
    got = table.to_pylist()
    order = [(r["channel_id"], r["user_id"] is None, r["user_id"] or "", r["day"], r["seq"]) for r in got]
    assert order == sorted(order) and len(set(order)) == len(order)
    assert {(r["channel_id"], r["user_id"], r["day"], r["broadcast"]): r for r in got} == _python_days(facts["rows"])
    chatters = [r for r in facts["rows"] if r["user_id"] not in (None, "anonymous", "SYSTEM_MESSAGE")]
    assert sum(r["messages"] for r in got if r["user_id"]) == len(chatters)
    assert len({(r["channel_id"], r["day"], r["user_id"]) for r in got if r["user_id"]}) == len(
        {(r["channel_id"], r["day"], r["user_id"]) for r in chatters})


def _python_days(rows: list[dict]) -> dict:
    """The chatter days' rows by plain Python: {(channel, user or None, day, broadcast): row}
    (hours of Asia/Seoul; seq: the row's place among the chatter's rows of the day by its
    latest named line)."""
    out: dict = {}
    for r in sorted(rows, key=lambda r: r["chat_time"]):
        if r["user_id"] == "SYSTEM_MESSAGE":
            continue
        user = None if r["user_id"] in (None, "anonymous") else r["user_id"]
        key = (r["channel_id"], user, r["day"], r["chat_channel_id"])
        row = out.setdefault(key, {"channel_id": key[0], "user_id": user, "day": key[2], "broadcast": key[3],
                                   "messages": 0, "tier": 0, "month": 0, "nickname": None, "seq": 0, "hours": 0,
                                   "named": None})
        row["messages"] += 1
        if user is None:
            continue
        tier, month = r["subscription_tier"] or 0, r["subscription_month"] or 0
        if tier > 0 or month > 0:
            row["tier"], row["month"] = max(row["tier"], tier if tier > 0 else 1), max(row["month"], month)
        if r["nickname"] is not None:
            row["nickname"], row["named"] = r["nickname"], r["chat_time"]
        row["hours"] |= 1 << r["chat_time"].astimezone(KST).hour
    for (ch, user, d, _), row in out.items():
        peers = [k for k in out if k[:3] == (ch, user, d)]
        row["seq"] = sorted(peers, key=lambda k: (out[k]["named"] is not None, out[k]["named"] or 0,
                                                  k[3] is not None, k[3] or "")).index((ch, user, d, row["broadcast"]))
    ids = sorted({user for _, user, _, _ in out if user is not None})  # chatter: the user's place among them
    for row in out.values():
        del row["named"]
        row["chatter"] = None if row["user_id"] is None else ids.index(row["user_id"])
    return out


def test_stale_type_filtered_or_live_tables_are_not_used(tmp_path):
    facts, fast, scan = _pair(tmp_path, build_fixture_lake)
    day = facts["days"][1]
    for root in (tmp_path / "rolled", tmp_path / "scan"):  # behind the table's back
        rewrite_day(root, day, lambda r: r["id"] % 3 != 0)
    assert fast.accelerator(CHATTER_DAYS) is None
    assert _assert_same(fast, scan, facts) > 0
    build_accelerators(tmp_path / "rolled", *ROLLED)
    assert fast.accelerator(CHATTER_DAYS) is not None
    assert _assert_same(fast, scan, facts) > 0
    for kw in ({"types": ["chat"]}, {"types": ["donation", "chat"]}):
        assert warehouse.open(str(tmp_path / "rolled"), **kw).accelerator(CHATTER_DAYS) is None


def test_top_chatters_names_and_ids_read_at_their_rows(tmp_path):
    """top_chatters reads the user ids and nicknames of its top rows only (their row
    groups): a chatter whose latest days have no nickname keeps the last one they had, one
    renamed shows the newer name, and the ids are the rows' — as the scan finds them."""
    from tests.lakefixture import write_rows
    facts, fast, scan = _pair(tmp_path, build_fixture_lake)
    chatters = [r for r in facts["rows"] if r["user_id"] not in ("anonymous", "SYSTEM_MESSAGE", None)]
    top = max({r["user_id"] for r in chatters}, key=lambda u: (sum(r["user_id"] == u for r in chatters), u))
    last = max(r["day"] for r in chatters if r["user_id"] == top)
    rows = [dict(r, nickname=None) if r["user_id"] == top and r["day"] == last else r for r in facts["rows"]]
    for root in ("rolled", "scan"):
        write_rows(Lake(str(tmp_path / root)), rows, facts["channel_ids"], list(facts["channel_names"].values()),
                   list(range(1, len(facts["channel_ids"]) + 1)))
    build_accelerators(tmp_path / "rolled", *ROLLED)
    assert fast.accelerator(CHATTER_DAYS) is not None
    for kw in ({}, {"limit": 3}, {"start": last, "end": last}, {"channels": facts["channel_ids"][:1]}):
        got, want = warehouse.top_chatters(fast, **kw), warehouse.top_chatters(scan, **kw)
        assert got.equals(want) and got.height, kw
    mine = warehouse.top_chatters(fast).to_dicts()
    assert any(r["user_id"] == top and r["nickname"] is not None for r in mine)  # a name from an earlier day


def test_a_channel_without_chatters(tmp_path):
    """A channel whose lines are all anonymous is in the roll-ups but has no chatter days:
    asked about alone or among all, it gives no rows, as the scan does."""
    from tests.lakefixture import write_rows
    facts, fast, scan = _pair(tmp_path, build_fixture_lake)
    anon = [r for r in facts["rows"] if r["user_id"] == "anonymous"]
    assert anon
    quiet = "f" * 32
    rows = [dict(r, channel_id=quiet, id=10**6 + i) for i, r in enumerate(anon)]
    for root in ("rolled", "scan"):
        write_rows(Lake(str(tmp_path / root)), facts["rows"] + rows, [*facts["channel_ids"], quiet],
                   [*facts["channel_names"].values(), "조용한 채널"], [1, 2, 3, 4])
    build_accelerators(tmp_path / "rolled", *ROLLED)
    assert fast.accelerator(CHATTER_DAYS) is not None and quiet in fast.accelerator(CHATTER_DAYS)._channels(Lake(str(tmp_path / "rolled")))
    assert warehouse.tier_split(fast, [quiet]).is_empty()
    assert warehouse.new_vs_returning(fast, [quiet]).is_empty()
    assert _assert_same(fast, scan, facts) > 0


def test_another_zone_or_a_skipped_midnight_scans(tmp_path):
    """new_vs_returning answers from the chatter days only for days of the partitions' zone,
    and only when every bucket's local midnight exists: Havana's clocks skip 2026-03-08
    00:00, so days scan there while weeks and months still come from the table."""
    from tests.lakefixture import CHANNEL_NAMES, _rows, channel_ids, write_rows
    facts, fast, _ = _pair(tmp_path, build_fixture_lake)
    for tz in ("UTC", "America/New_York"):
        other, other_scan = (warehouse.open(str(tmp_path / n), tz=tz) for n in ("rolled", "scan"))
        assert not other.days_are_local()
        for every in ("day", "week", "month"):
            assert warehouse.new_vs_returning(other, every=every).equals(warehouse.new_vs_returning(other_scan, every=every))
    havana = ZoneInfo("America/Havana")
    shift = datetime(2026, 3, 8, 12, tzinfo=havana) - datetime(2026, 9, 2, 12, tzinfo=KST)
    rows = [dict(r, chat_time=r["chat_time"] + shift) for r in _rows()]
    rows = [dict(r, day=r["chat_time"].astimezone(havana).date()) for r in rows]
    for name in ("h_fast", "h_scan"):
        lake = Lake(str(tmp_path / name))
        write_rows(lake, rows, channel_ids(), CHANNEL_NAMES, [1, 2, 3])
        lake.write_state({"timezone": "America/Havana"})
    build_accelerators(tmp_path / "h_fast", *ROLLED)
    fast, scan = (warehouse.open(str(tmp_path / n), tz="America/Havana") for n in ("h_fast", "h_scan"))
    assert fast.days_are_local() and fast.accelerator(CHATTER_DAYS) is not None and date(2026, 3, 8) in {r["day"] for r in rows}
    lake = Lake(str(tmp_path / "h_fast"))
    reader = fast.accelerator(CHATTER_DAYS)
    assert chatter_frames.new_vs_returning(reader, lake, None, None, None, "day", "America/Havana") is None
    assert chatter_frames.new_vs_returning(reader, lake, None, None, None, "week", "America/Havana") is not None
    for every in ("day", "week", "month"):
        got, want = warehouse.new_vs_returning(fast, every=every), warehouse.new_vs_returning(scan, every=every)
        assert got.height > 0 and got.equals(want), every


def test_reader_cap_lets_channels_go(tmp_path, monkeypatch):
    facts, fast, scan = _pair(tmp_path, build_rich_lake)
    monkeypatch.setattr(chatter_days, "CACHE_ROWS", 1)  # one channel held at a time
    reader = fast.accelerator(CHATTER_DAYS)
    assert _assert_same(fast, scan, facts) > 0
    assert len(reader._held) == 1
    monkeypatch.setattr(chatter_days, "CACHE_ROWS", 10**9)
    assert _assert_same(fast, scan, facts) > 0
    assert len(reader._held) == len(facts["channel_ids"])


def test_unreadable_chatter_days_are_reported_once(tmp_path, caplog):
    facts, fast, scan = _pair(tmp_path, build_fixture_lake)
    file = tmp_path / "rolled" / "chatter_days" / "part-0.parquet"
    meta = pq.read_metadata(file).metadata
    pq.write_table(pa.table({"channel_id": ["x"], "day": ["not a day"]}).replace_schema_metadata(meta), file)
    fresh = warehouse.open(str(tmp_path / "rolled"))
    assert _assert_same(fresh, scan, facts) > 0
    assert caplog.text.count("chatter days side table") == 1  # once, not once per call
    assert fresh.accelerator(CHATTER_DAYS) is None


def test_sync_forget_user_and_live_rows(pg, tmp_path):
    """The sync and forget-user keep the table fresh; with live rows the chat is scanned
    (the overlay's days are not in the table) and the answer counts them."""
    from warehouse.sync import privacy
    from warehouse.sync.export import sync
    root = str(tmp_path / "lake")
    insert(pg, history())
    sync(pg, root)
    wh = warehouse.open(root)
    assert wh.accelerator(CHATTER_DAYS) is not None
    delete_one_add_one_late(pg)
    sync(pg, root)
    assert wh.accelerator(CHATTER_DAYS) is not None
    report = privacy.forget_user(pg, root, "u3")
    assert report.lake_rows_removed > 0 and wh.accelerator(CHATTER_DAYS) is not None
    shutil.copytree(root, tmp_path / "scan", ignore=shutil.ignore_patterns("chatter_days"))
    scan = warehouse.open(str(tmp_path / "scan"))
    assert scan.accelerator(CHATTER_DAYS) is None
    assert warehouse.tier_split(wh).equals(warehouse.tier_split(scan))
    assert "u3" not in pq.read_table(Lake(root).part_path(chatter_days.CHATTER_DAYS)).column("user_id").to_pylist()
    before = warehouse.tier_split(wh)["chatters"].sum()
    now = datetime.now(KST).replace(microsecond=0)
    insert(pg, [{"chat_time": now - timedelta(minutes=m), "user_id": f"new{m}", "month": 3}
                 for m in range(4)], old=False)
    with warehouse.open(root, live=True) as live:
        assert live.overlay_days() and live.accelerator(CHATTER_DAYS) is None
        got = warehouse.tier_split(live)
        assert got["chatters"].sum() == before + 4


def test_row_groups_of_a_few_rows(tmp_path, monkeypatch):
    """A chatter's rows split over row groups (each read with its own dictionaries) are
    still one chatter: the answers equal the scan's with row groups of 7 rows."""
    from warehouse.lake import layout
    monkeypatch.setattr(layout, "ROW_GROUP_ROWS", 7)
    facts, fast, scan = _pair(tmp_path, build_rich_lake)
    assert pq.ParquetFile(tmp_path / "rolled" / "chatter_days" / "part-0.parquet").metadata.num_row_groups > 20
    assert _assert_same(fast, scan, facts) > 0
