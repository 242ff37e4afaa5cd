"""One equivalence test over every accelerator (warehouse.read.accelerators.ACCELERATORS) x
{plain, type filter, other zone, S3, live rows}: a warehouse that may use it answers its
questions (tests/accelerated.py) exactly as one that scans the chat (``accelerate=False``),
and it answers exactly when the conditions it declares (``needs``) hold. The per-accelerator
test files keep what is each one's own: layout, incremental build, damage, the sync."""
from __future__ import annotations

import shutil
from datetime import date, datetime, timedelta

import polars as pl
import pytest

import warehouse
from tests.accelerated import ASKED, QUESTIONS, USER_PAGES, assert_same, filters, users
from tests.lakefixture import build_accelerators, build_fixture_lake
from tests.lakefixture_rich import build_rich_lake
from tests.pghistory import D2, KST, history, insert
from tests.s3lake import s3_lake, s3_server  # noqa: F401 - fixtures
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read.accelerators import (
    ACCELERATORS,
    BROADCAST_MINUTES,
    BROADCAST_SPANS,
    CHATTER_DAYS,
    EMOTES,
    MONEY,
    ROLLUPS,
    USER_TAIL,
    USERS,
    WORDS,
    user_tail_build,
)
from warehouse.read.accelerators.base import Need

pytestmark = pytest.mark.integration
SHORT = 3  # lines per chatter in the user tail: most fixture users have more, so pages reach past it
LAKES = {"fixture": build_fixture_lake, "rich": build_rich_lake}
# warehouse.open arguments of each variant over a local lake, and the conditions it breaks
# rows the plain lake's answers hold at least (those of the per-accelerator tests they replace)
PLAIN_ROWS = {USERS: 150, ROLLUPS: 100, BROADCAST_SPANS: 20, CHATTER_DAYS: 20, USER_TAIL: 100,
              BROADCAST_MINUTES: 100, MONEY: 100, EMOTES: 10, WORDS: 40}
VARIANTS = {"plain": ({}, set()), "types": ({"types": ["chat", "donation"]}, {Need.NO_TYPE_FILTER}),
            "zone": ({"tz": "UTC"}, {Need.SAME_ZONE, Need.LOCAL_DAYS})}


def _may_answer(acc, broken: set[Need]) -> bool:
    return not (acc.needs & broken)


def _build(root, build, tail_lines: int = SHORT) -> dict:
    """The lake as a sync leaves it (its zone recorded, every accelerator built), the user
    tail `tail_lines` long."""
    facts = build(root)
    Lake(str(root)).write_state({"timezone": "Asia/Seoul"})
    build_accelerators(root, *(a for a in ACCELERATORS if a is not USER_TAIL), tz="Asia/Seoul")
    if "://" not in str(root):
        user_tail_build.build_user_tail(str(root), lines=tail_lines)
    return facts


@pytest.fixture(scope="module")
def lakes(tmp_path_factory):
    """{name: (root, facts)} of the fixture lakes, each built on first use."""
    made: dict = {}

    def get(name: str):
        if name not in made:
            root = tmp_path_factory.mktemp(name)
            made[name] = (str(root), _build(root, LAKES[name]))
        return made[name]
    return get


def test_every_accelerator_is_asked_what_it_declares():
    assert set(QUESTIONS) == set(ASKED) == set(ACCELERATORS)
    for acc in ACCELERATORS:
        assert set(ASKED[acc]) == set(acc.answers), acc.name
        assert all(callable(getattr(warehouse, name)) for name in acc.answers)
    names = [a.name for a in ACCELERATORS]
    assert len(set(names)) == len(names) and {"users", "rollups", "broadcast_spans", "chatter_days",
                                                "user_tail"} <= set(names)
    for i, acc in enumerate(ACCELERATORS):  # built after what it is built from
        assert set(acc.built_from) - {"chat"} <= set(names[:i]), acc.name
    assert set(PLAIN_ROWS) == set(ACCELERATORS)


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("lake", list(LAKES))
@pytest.mark.parametrize("acc", ACCELERATORS, ids=[a.name for a in ACCELERATORS])
def test_accelerated_answers_equal_the_scan(lakes, acc, lake, variant):
    root, facts = lakes(lake)
    kw, broken = VARIANTS[variant]
    fast, scan = warehouse.open(root, **kw), warehouse.open(root, accelerate=False, **kw)
    assert (fast.accelerator(acc) is not None) == _may_answer(acc, broken)
    assert scan.accelerator(acc) is None
    rows = assert_same(acc, fast, scan, facts, few=0 if variant == "plain" else 3)
    assert rows > (PLAIN_ROWS[acc] if variant == "plain" else 0)  # real answers, not empty frames


@pytest.mark.parametrize("lake", list(LAKES))
def test_the_user_tail_answers_most_pages_and_leaves_older_lines_to_the_chat(lakes, lake):
    root, facts = lakes(lake)
    fast = warehouse.open(root)
    reader = fast.accelerator(USER_TAIL)
    answered = sum(reader.page(u, f.get("channels"), f.get("start"), f.get("end"), limit, offset, fast.tz) is not None
                   for u in users(facts) if u != "anonymous" for f in filters(facts) for limit, offset in USER_PAGES)
    assert answered > 50
    busy = max(users(facts), key=lambda u: sum(r["user_id"] == u for r in facts["rows"]))
    assert reader.page(busy, None, None, None, 2, SHORT, fast.tz) is None  # past the tail: the chat answers
    assert reader.page(busy, None, None, None, SHORT, 0, fast.tz).height == SHORT


def test_a_long_user_tail_gives_the_scans_pages(lakes, tmp_path):
    built, facts = lakes("fixture")
    shutil.copytree(built, tmp_path / "lake")  # its other accelerators as they are; the tail taken again
    root = str(tmp_path / "lake")
    user_tail_build.build_user_tail(root, full=True, lines=1000)
    fast, scan = warehouse.open(root), warehouse.open(root, accelerate=False)
    assert fast.accelerator(USER_TAIL) is not None
    assert assert_same(USER_TAIL, fast, scan, facts) > 100


@pytest.mark.slow  # every question lists the lake on the local S3 server first (52 s on 2 quiet cores)
def test_accelerated_answers_equal_the_scan_on_an_s3_lake(lakes, s3_lake):  # noqa: F811 - the imported fixture
    root = s3_lake[0]
    facts = _build(root, build_fixture_lake)
    scan = warehouse.open(lakes("fixture")[0], accelerate=False)  # the same rows on local disk
    fast = warehouse.open(root)
    for acc in ACCELERATORS:
        assert (fast.accelerator(acc) is not None) == _may_answer(acc, {Need.LOCAL_LAKE}), acc.name
        if _may_answer(acc, {Need.LOCAL_LAKE}):  # the user tail's questions are the users table's here
            assert assert_same(acc, fast, scan, facts, few=1) > 0, acc.name


def _facts_of(wh) -> dict:
    rows = wh.sql("SELECT day, user_id, nickname, channel_id FROM chat").to_dicts()
    return {"rows": rows, "channel_ids": sorted({r["channel_id"] for r in rows}),
            "days": sorted({r["day"] for r in rows})}


def test_accelerated_answers_equal_the_scan_with_live_rows(pg, tmp_path):
    """With live rows for one day (today) and a late row for one old day, an accelerator
    that tolerates live days answers the others (the overlay's days scanned or taken from
    its own lines): the answers equal a scan of a lake synced afterwards."""
    from warehouse.sync.export import sync
    root = str(tmp_path / "lake")
    # broadcasts: one per channel and day of the history, one over midnight into D2
    insert(pg, [dict(r, broadcast=f"{r.get('channel', 'a')[:1]}-{r['chat_time'].astimezone(KST).date()}")
                for r in history()])
    insert(pg, [{"chat_time": datetime(2026, 9, 1, 23, 50, tzinfo=KST), "user_id": "u9", "broadcast": "night",
                 "dedupe_key": "n1"}, {"chat_time": datetime(2026, 9, 2, 0, 20, tzinfo=KST), "user_id": "u9",
                                       "broadcast": "night", "dedupe_key": "n2", "message_type": "donation"}])
    sync(pg, root)
    now = datetime.now(KST).replace(microsecond=0)
    insert(pg, [{"chat_time": now - timedelta(minutes=m), "user_id": f"t{m % 3}", "month": 2 if m % 2 else None,
                 "channel": "b" * 32, "message": f"오늘 {m}", "broadcast": "today"} for m in range(5)], old=False)
    insert(pg, [{"chat_time": datetime(2026, 9, 2, 23, 30, tzinfo=KST), "user_id": "late"}], old=False)
    fresh = str(tmp_path / "fresh")
    sync(pg, fresh)
    with warehouse.open(root, live=True) as wh, warehouse.open(fresh, accelerate=False) as scan:
        overlay = wh.overlay_days()
        assert now.date() in overlay and D2 in overlay
        assert set(Lake(root).days(CHAT)) - overlay  # some days come from the accelerators
        facts = _facts_of(scan)
        for acc in ACCELERATORS:
            assert (wh.accelerator(acc) is not None) == _may_answer(acc, {Need.NO_LIVE_ROWS}), acc.name
            assert assert_same(acc, wh, scan, facts, few=3) > 0, acc.name
        for kw in ({"channels": ["b" * 32]}, {"end": date(2026, 9, 2)}, {"start": now.date()}):
            for fn in (warehouse.activity, warehouse.subscriber_ratio, warehouse.peaks, warehouse.coverage,
                       warehouse.broadcast_retention, warehouse.donations_over_broadcast):
                got, want = fn(wh, **kw), fn(scan, **kw)
                assert got.equals(want), (fn.__name__, kw, got, want)
        assert warehouse.activity(wh, every="day").filter(pl.col("bucket").dt.date() == now.date()).height == 1
        assert set(warehouse.peaks(wh, start=now.date())["broadcast"]) == {"today"}
        night = warehouse.coverage(wh).filter(pl.col("broadcast") == "night")  # its first line on D1, from the spans
        assert night["started"].dt.date().to_list() == [date(2026, 9, 1)]
