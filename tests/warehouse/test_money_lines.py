"""The money lines accelerator (warehouse/read/accelerators/money_lines.py) on the money
lake (every kind of money line) plus edge rows: answers equal the scan in zones with and
without clock changes, on a lake written before migration 010, after a day is rewritten
behind its back; its layout; money_totals; counted_donation following the views."""
from __future__ import annotations

import shutil
from datetime import UTC, date, datetime, timedelta

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import warehouse
from tests.accelerated import assert_same, rewrite_day
from tests.lakefixture import build_accelerators
from tests.lakefixture_money import WANT, A, B, build_money_lake, rows
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT, CHAT_SCHEMA
from warehouse.read.accelerators import BROADCAST_SPANS, MONEY, money_lines
from warehouse.read.queries import money

pytestmark = pytest.mark.unit
DST = datetime(2026, 11, 1, 5, 30, tzinfo=UTC)  # 01:30 in New York, the first of two


def _edge_rows() -> list[dict]:
    """Money lines the fixture lacks, on days around New York's clock change."""
    base = rows()[0]
    out = []

    def add(when: datetime, **values) -> None:
        row = dict(base, id=1000 + len(out), chat_time=when, created_at=when, day=when.date(),
                   dedupe_key=f"e{len(out)}", chat_channel_id="CC-edge")
        row.update(values)
        out.append(row)

    add(DST - timedelta(days=3), user_id=None, nickname="no id", is_anonymous=None, pay_amount=700)  # anon NULL
    add(DST - timedelta(days=3, minutes=-1), user_id="tie-b", nickname="B", pay_amount=300)
    add(DST - timedelta(days=3, minutes=-2), user_id="tie-a", nickname="A", pay_amount=300)  # same amount: by id
    add(DST - timedelta(days=2), user_id="neg", pay_amount=-5)
    add(DST - timedelta(days=2, minutes=-1), user_id="neg", nickname="named later", pay_amount=None)
    add(DST - timedelta(days=2, minutes=-2), user_id="neg", nickname=None, pay_amount=50)  # latest name skips NULL
    add(DST - timedelta(days=1), user_id="nobc", chat_channel_id=None, pay_amount=100_000)
    add(DST - timedelta(days=1, minutes=-1), user_id="SYSTEM_MESSAGE", pay_amount=9)  # never counted
    add(DST, user_id="dst1", pay_amount=1)
    add(DST + timedelta(hours=1), user_id="dst2", pay_amount=2, channel_id=B)  # 01:30 again, in EST
    add(DST + timedelta(days=1), user_id="m", donation_type="MISSION", mission_id="m2", donation_status=None,
        message="노래", pay_amount=4000)
    for k in range(3):  # gift lines without a gift id or a dedupe key: one gift together
        add(DST + timedelta(days=1, minutes=k), user_id="anonymous", message_type="subscription_gift",
            gift_receiver_id=f"r{k}", is_anonymous=True, dedupe_key=None)
    return out


def _build(root, schema=CHAT_SCHEMA) -> dict:
    """The money lake, the edge rows (full schema only), the spans and money lines built."""
    build_money_lake(str(root), schema=schema)
    lake = Lake(str(root))
    extra = _edge_rows() if schema is CHAT_SCHEMA else []
    by_day: dict = {}
    for r in extra:
        by_day.setdefault(r["day"], []).append(r)
    for day, day_rows in by_day.items():
        day_rows.sort(key=lambda r: (r["channel_id"], r["chat_time"], r["id"]))
        lake.write(CHAT, pa.table({f.name: [r[f.name] for r in day_rows] for f in CHAT_SCHEMA}, schema=CHAT_SCHEMA),
                   day)
    build_accelerators(root, BROADCAST_SPANS, MONEY)
    facts_rows = [dict(r, day=r["chat_time"].date()) for r in rows() + extra]
    return {"rows": facts_rows, "channel_ids": [A, B]}


@pytest.fixture(scope="module")
def edge(tmp_path_factory):
    root = tmp_path_factory.mktemp("money_lines")
    return str(root), _build(root)


@pytest.mark.parametrize("tz", ["Asia/Seoul", "UTC", "Asia/Kolkata", "America/New_York"])
def test_the_money_lines_answer_as_the_scan(edge, tz):
    root, facts = edge
    fast, scan = warehouse.open(root, tz=tz), warehouse.open(root, tz=tz, accelerate=False)
    reader = fast.accelerator(MONEY)
    assert reader is not None
    assert assert_same(MONEY, fast, scan, facts, few=0 if tz == "Asia/Seoul" else 5) > 50
    # a clock change among the lines: the buckets are the scan's (the reader declines)
    assert (reader.donations(None, None, None, "day", tz) is None) == (tz == "America/New_York")
    assert {c: (n, a) for c, n, a in money.money_totals(fast, start=date(2026, 9, 10), end=date(2026, 9, 10))
            .iter_rows()} == WANT["donations"]


def test_the_money_lake_counts_as_by_hand_from_the_money_lines(edge):
    root, _ = edge
    wh = warehouse.open(root)
    assert wh.accelerator(MONEY) is not None
    day = {"start": date(2026, 9, 10), "end": date(2026, 9, 10)}
    got = warehouse.donations(wh, every="day", **day)
    assert {c: (n, a) for c, _, n, a, _ in got.iter_rows()} == WANT["donations"]
    pending = warehouse.pending_missions(wh, **day)
    assert [(c, m, a, s) for c, m, _, _, a, s, _ in pending.iter_rows()] == WANT["pending"]
    assert {c: (g, s) for c, g, s in warehouse.gifted_subscriptions(wh, **day).iter_rows()} == WANT["gifts"]
    edge_day = warehouse.gifted_subscriptions(wh, start=(DST + timedelta(days=1)).date())
    assert edge_day.rows() == [(A, 1, 3)]  # three lines without a gift id or key: one gift of three
    ranking = warehouse.donation_ranking(wh, [A], start=(DST - timedelta(days=3)).date(),
                                         end=(DST - timedelta(days=2)).date())
    assert ranking.select("donor", "user_id", "amount").rows() == [
        ("no id", None, 700), ("A", "tie-a", 300), ("B", "tie-b", 300), ("named later", "neg", 45)]


def test_a_lake_written_before_migration_010_answers_as_the_scan(tmp_path):
    old = pa.schema([f for f in CHAT_SCHEMA if f.name not in ("mission_id", "donation_status", "gift_id",
                                                               "gift_quantity")])
    _build(tmp_path / "lake", schema=old)
    root = str(tmp_path / "lake")
    fast, scan = warehouse.open(root), warehouse.open(root, accelerate=False)
    assert fast.accelerator(MONEY) is not None
    other_day = {"day": date(2026, 9, 11), "user_id": None, "nickname": None, "channel_id": A}  # for the filters
    facts = {"rows": [dict(r, day=r["chat_time"].date()) for r in rows()] + [other_day], "channel_ids": [A, B]}
    assert assert_same(MONEY, fast, scan, facts) > 20
    assert money.counted_donation(fast) == money.COUNTED_DONATION_BEFORE_010
    # a partition with the money columns: the views say so from then on
    Lake(root).write(CHAT, pa.table({f.name: [r[f.name] for r in _edge_rows()[:1]] for f in CHAT_SCHEMA},
                                    schema=CHAT_SCHEMA), (DST - timedelta(days=3)).date())
    assert money.counted_donation(fast) == money.COUNTED_DONATION


def test_a_day_rewritten_behind_its_back_is_scanned_until_rebuilt(tmp_path, edge):
    root = tmp_path / "lake"
    shutil.copytree(edge[0], root)
    fast, scan = warehouse.open(str(root)), warehouse.open(str(root), accelerate=False)
    rewrite_day(root, date(2026, 9, 10), lambda r: r["user_id"] != "u1")
    assert fast.accelerator(MONEY) is None  # stale: the chat answers
    assert warehouse.donations(fast).equals(warehouse.donations(scan))
    assert money_lines.build(Lake(str(root))) > 0  # the changed day only
    assert fast.accelerator(MONEY) is not None
    assert warehouse.donation_ranking(fast).equals(warehouse.donation_ranking(scan))
    assert "u1" not in set(warehouse.donation_ranking(fast)["user_id"])


def test_the_file_holds_the_money_lines_sorted_and_no_other(edge):
    root, facts = edge
    table = pq.read_table(f"{root}/money_lines/part-0.parquet")
    assert table.schema.names == money_lines.SCHEMA.names
    want = [r for r in facts["rows"] if r["message_type"] in ("donation", "subscription_gift")
            and r["user_id"] != "SYSTEM_MESSAGE"]
    assert table.num_rows == len(want)
    keys = list(zip(*(table.column(c).to_pylist() for c in ("channel_id", "day", "chat_time")), strict=True))
    assert keys == sorted(keys)
    missions = {m for m in table.column("mission").to_pylist() if m is not None}
    assert missions == {"춤 춰주세요", "노래"} | {r["message"] for r in want if r["donation_type"] == "MISSION"}


def test_money_totals_count_as_the_overview(edge):
    root, _ = edge
    wh = warehouse.open(root)
    summary = warehouse.channel_summary(wh)
    want = {c: (n, a) for c, n, a in summary.select("channel_id", "donations", "donation_amount").iter_rows() if n}
    assert {c: (n, a) for c, n, a in money.money_totals(wh).iter_rows()} == want
    per = money.money_totals(wh, by_broadcast=True)
    assert per.columns == ["channel_id", "broadcast", "donations", "amount"] and per["broadcast"].null_count() == 0
    assert per["donations"].sum() == sum(n for n, _ in want.values()) - 1  # the one without a broadcast
    assert money.money_totals(warehouse.open(root, accelerate=False)) is None


def test_a_damaged_file_is_not_used_and_the_chat_answers(tmp_path, edge):
    root = tmp_path / "lake"
    shutil.copytree(edge[0], root)
    file = root / "money_lines" / "part-0.parquet"
    data = bytearray(file.read_bytes())
    data[len(data) // 2:len(data) // 2 + 64] = b"\xff" * 64  # pages, not the footer: found when read
    file.write_bytes(bytes(data))
    fast, scan = warehouse.open(str(root)), warehouse.open(str(root), accelerate=False)
    for fn in (warehouse.donations, warehouse.donation_ranking, warehouse.pending_missions):
        assert fn(fast).equals(fn(scan)), fn.__name__
    assert fast.accelerator(MONEY) is None
