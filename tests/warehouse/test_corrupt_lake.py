"""A damaged Parquet file never takes the lake down (issue 15, item 3): a chat day that
cannot be read is left out of every answer and named, with the command that repairs it;
damaged side tables and one-file tables fall back to what still reads; the pages answer
and say so, without a traceback or a path. The sync's side: tests/warehouse/test_repair.py."""
from __future__ import annotations

import os
import shutil
from datetime import date
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

import warehouse
from dashboard import data
from dashboard.i18n import t
from tests.lakedamage import HOWS, damage
from tests.lakefixture import build_accelerators
from tests.lakefixture_rich import build_rich_lake, user_rows
from warehouse.lake.layout import Lake, StateUnreadable
from warehouse.lake.tables import CHAT
from warehouse.read.accelerators import ACCELERATORS, USERS, users_index

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py")
BAD = date(2026, 10, 4)  # a day of the rich lake inside the pages' default week (10-04..10-10)


@pytest.fixture(scope="module")
def clean(tmp_path_factory):
    """The rich lake with its side tables, as a sync leaves it: (root, facts). Tests damage copies."""
    root = tmp_path_factory.mktemp("clean")
    facts = build_rich_lake(root)
    Lake(str(root)).write_state({"version": 2, "timezone": "Asia/Seoul", "last_sync": "2026-10-11T03:00:00+00:00"})
    build_accelerators(root, tz="Asia/Seoul")
    return root, facts


@pytest.fixture(scope="module")
def healthy(clean):
    return _answers(str(clean[0]), clean[1])


def _copy(clean, tmp_path) -> str:
    """A copy of the clean lake whose files are hard links (same inodes and times), so its
    side tables still describe its chat partitions (tests.lakedamage replaces what it damages)."""
    root = str(tmp_path / "lake")
    shutil.copytree(clean[0], root, copy_function=os.link)
    lake = Lake(root)
    assert all(acc.reader(None).fresh.fresh(lake) for acc in ACCELERATORS if acc is not USERS)
    assert users_index.is_fresh(lake)
    return root


def _messages(facts, skip=()) -> dict[str, int]:
    out: dict[str, int] = {}
    for r in user_rows(facts):
        if r["day"] not in skip:
            out[r["channel_id"]] = out.get(r["channel_id"], 0) + 1
    return out


@pytest.mark.parametrize("how", HOWS)
def test_a_damaged_chat_day_is_left_out_and_named(clean, tmp_path, how):
    root = _copy(clean, tmp_path)
    damage(Lake(root).part_path(CHAT, BAD), how)
    with warehouse.open(root) as wh:
        got = warehouse.list_channels(wh)
        assert dict(zip(got["channel_id"], got["messages"], strict=True)) == _messages(clean[1], {BAD})
        days = set(warehouse.daily_counts(wh)["day"])
        assert BAD not in days and len(days) == 11
        uid = clean[1]["user_ids"][0]
        lines = warehouse.user_messages(wh, uid, limit=10_000)
        assert lines.height == sum(1 for r in user_rows(clean[1]) if r["user_id"] == uid and r["day"] != BAD)
        assert not warehouse.search_users(wh, "김").is_empty()
        found = wh.damaged()
    assert [(d.partition, d.repair) for d in found] == [
        ("chat day=2026-10-04", "python -m warehouse sync --day 2026-10-04")]
    assert found[0].file == "chat/day=2026-10-04/part-0.parquet"
    assert root not in found[0].reason


def _answers(root: str, facts) -> dict[str, pl.DataFrame]:
    """Answers that each damaged side table or one-file table could change."""
    ch = facts["channel_ids"][:2]
    uid = facts["user_ids"][0]
    with warehouse.open(root) as wh:
        return {
            "list_channels": warehouse.list_channels(wh),
            "search_users": warehouse.search_users(wh, "김"),
            "user_messages": warehouse.user_messages(wh, uid, limit=20),
            "activity": warehouse.activity(wh, ch, every="hour"),
            "subscriber_ratio": warehouse.subscriber_ratio(wh, ch, every="day"),
            "tier_split": warehouse.tier_split(wh, ch),
            "new_vs_returning": warehouse.new_vs_returning(wh, ch),
            "peaks": warehouse.peaks(wh, ch),
            "broadcast_list": warehouse.broadcast_list(wh, ch).drop("title", "category"),
            "lake_tables": warehouse.lake_tables(wh).select("table"),
        }


@pytest.mark.parametrize(("name", "how"), [("users", "pages"), ("rollups", "truncate"), ("broadcast_spans", "pages"),
                                         ("chatter_days", "zero"), ("user_tail", "body")])
def test_a_damaged_side_table_falls_back_to_the_chat(clean, healthy, tmp_path, name, how):
    root = _copy(clean, tmp_path)
    file = Path(root, name, "part-0.arrow" if name == "user_tail" else "part-0.parquet")
    damage(file, how)
    got = _answers(root, clean[1])
    for key, frame in healthy.items():
        assert got[key].equals(frame), key


@pytest.mark.parametrize("name", ["channels", "live_session", "capture_interval"])
def test_a_damaged_one_file_table_is_left_out_and_named(clean, tmp_path, name):
    root = _copy(clean, tmp_path)
    damage(Path(root, name, "part-0.parquet"), "random")
    got = _answers(root, clean[1])  # every answer still comes
    assert dict(zip(got["list_channels"]["channel_id"], got["list_channels"]["messages"], strict=True)) == \
        _messages(clean[1])
    with warehouse.open(root) as wh:
        assert [(d.partition, d.repair) for d in wh.damaged()] == [(name, "python -m warehouse sync")]


def _texts(at: AppTest) -> list[str]:
    return [e.value for kind in ("warning", "error", "markdown", "caption", "info", "exception")
            for e in getattr(at, kind)]


@pytest.mark.e2e
def test_pages_answer_from_the_readable_days_and_name_the_damaged_one(clean, tmp_path, monkeypatch):
    root = _copy(clean, tmp_path)
    damage(Lake(root).part_path(CHAT, BAD), "random")
    monkeypatch.setenv("WAREHOUSE_DIR", root)
    data.clear_caches()
    try:
        at = AppTest.from_file(APP, default_timeout=60)
        at.run(timeout=60)  # the Overview page, over the default week 10-04..10-10
        assert not at.exception, [e.value for e in at.exception]
        week = [r for r in user_rows(clean[1], start=date(2026, 10, 4), end=date(2026, 10, 10)) if r["day"] != BAD]
        metrics = {m.label: m.value for m in at.metric}
        assert metrics[t("overview_messages")] == f"{len(week):,}"
        for page in ("users", "data_tables"):
            at.switch_page(f"app_pages/{page}.py").run(timeout=60)
            assert not at.exception, [e.value for e in at.exception]
            notice = [w.value for w in at.warning if "2026-10-04" in w.value]
            assert len(notice) == 1 and "`python -m warehouse sync --day 2026-10-04`" in notice[0]
            assert not [text for text in _texts(at) if root in text or "Traceback" in text]
    finally:
        data.clear_caches()


def test_a_damaged_state_file_leaves_the_readers_answering(clean, tmp_path):
    root = _copy(clean, tmp_path)
    damage(Path(root, "_sync", "state.json"), "truncate")
    with warehouse.open(root) as wh:
        got = warehouse.list_channels(wh)
        assert dict(zip(got["channel_id"], got["messages"], strict=True)) == _messages(clean[1])
        assert warehouse.sync_status(wh)["last_sync"] is None  # as before any sync
        assert warehouse.lake_state(wh)["present"] is False
    with pytest.raises(StateUnreadable, match="restore it from a backup of the lake"):
        Lake(root).read_state()  # what the sync, retention and forget-user read: they stop
