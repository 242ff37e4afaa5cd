"""The sync and a damaged partition (issue 15, item 3), against a real PostgreSQL: a day
PostgreSQL still holds is rewritten from it; a day it no longer holds (retention archived
it) is left as it is while the other days sync, the CLI exits 3 saying which command
repairs it, and ``--drop-damaged`` moves it aside. The readers' side: tests/warehouse/test_corrupt_lake.py."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2.extras
import pyarrow.parquet as pq
import pytest

import warehouse
from tests.lakedamage import damage
from warehouse.lake.layout import Lake, StateUnreadable
from warehouse.lake.tables import CHAT
from warehouse.read.accelerators import ROLLUPS, USER_TAIL, USERS, users_index
from warehouse.sync import retention
from warehouse.sync.export import sync

pytestmark = pytest.mark.integration
KST = ZoneInfo("Asia/Seoul")
ROOT = Path(__file__).resolve().parents[2]
D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)


def _insert(pg, day: date, n: int, tag: str = "") -> None:
    """`n` chat lines of one channel at noon KST on `day` (created a second later)."""
    with pg.cursor() as cur:
        cur.execute("INSERT INTO stream_channel (channel_id, channel_name) VALUES (%s, %s)"
                    " ON CONFLICT (channel_id) DO UPDATE SET channel_name = EXCLUDED.channel_name RETURNING id",
                    ("a" * 32, "침착맨"))
        fk = cur.fetchone()[0]
        rows = []
        for i in range(n):
            when = datetime(day.year, day.month, day.day, 12, tzinfo=KST) + timedelta(seconds=i)
            rows.append((fk, f"u{i % 3}", "김치", f"메시지 {tag}{i}", "chat", when, when + timedelta(seconds=1),
                         json.dumps({"msg": i}), f"k-{day}-{tag}{i}"))
        psycopg2.extras.execute_values(
            cur, "INSERT INTO stream_chat (channel_fk, user_id, nickname, message, message_type, chat_time,"
                 " created_at, raw, dedupe_key) VALUES %s", rows)
    pg.commit()


def _lake(pg, tmp_path) -> tuple[str, Lake]:
    """Three days of chat in PostgreSQL, synced into a lake."""
    for day, n in ((D1, 5), (D2, 7), (D3, 4)):
        _insert(pg, day, n)
    root = str(tmp_path / "lake")
    sync(pg, root, tz="Asia/Seoul")
    return root, Lake(root)


@pytest.mark.parametrize("how", ["truncate", "pages"])
def test_sync_rewrites_a_damaged_day_postgresql_still_holds(pg, tmp_path, how):
    root, lake = _lake(pg, tmp_path)
    before = pq.read_table(lake.part_path(CHAT, D2))
    damage(lake.part_path(CHAT, D2), how)  # "pages": only the side-table build's full read notices
    report = sync(pg, root, tz="Asia/Seoul")  # nothing touched in PostgreSQL since
    assert [d.partition for d in report.repaired] == ["chat day=2026-09-02"]
    assert report.damaged == []
    assert pq.read_table(lake.part_path(CHAT, D2)).equals(before)
    assert users_index.is_fresh(lake)  # the side tables describe the repaired day
    with warehouse.open(root) as wh:
        assert dict(warehouse.daily_counts(wh).select("day", "messages").iter_rows()) == {D1: 5, D2: 7, D3: 4}
        assert wh.damaged() == []


def test_a_damaged_day_postgresql_no_longer_holds_says_what_repairs_it(pg_url, pg, tmp_path):
    root, lake = _lake(pg, tmp_path)
    kept = retention.apply(pg, root, keep_days=1, tz="Asia/Seoul", today=D3)  # D1 leaves PostgreSQL
    assert list(kept.dropped) == [D1]
    damaged = damage(lake.part_path(CHAT, D1), "random")
    _insert(pg, D3, 2, tag="late-")  # the next night's new lines
    env = {**os.environ, "DATABASE_URL": pg_url, "WAREHOUSE_DIR": root, "DISPLAY_TZ": "Asia/Seoul",
           "LOG_LEVEL": "INFO"}
    proc = subprocess.run([sys.executable, "-m", "warehouse", "sync"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 3, proc.stderr
    assert "chat day=2026-09-01 is unreadable" in proc.stderr
    assert "Restore chat/day=2026-09-01/part-0.parquet under WAREHOUSE_DIR from a backup" in proc.stderr
    assert "`python -m warehouse sync --day 2026-09-01`" in proc.stderr
    assert "`python -m warehouse sync --day 2026-09-01 --drop-damaged`" in proc.stderr
    assert "Traceback" not in proc.stderr
    assert pq.read_metadata(lake.part_path(CHAT, D3)).num_rows == 6  # the other days synced
    assert Path(lake.part_path(CHAT, D1)).read_bytes() == damaged  # left as it was
    assert pq.read_metadata(lake.part_path(CHAT, D2)).num_rows == 7
    assert lake.read_state()["days"][D3.isoformat()] == 6
    _insert(pg, D1, 1, tag="late-")  # a late line of the archived, damaged day
    with warehouse.open(root, live=True) as wh:  # today's data: the overlay leaves the damaged day out too
        assert wh.live_info["error"] is None
        assert dict(warehouse.daily_counts(wh).select("day", "messages").iter_rows()) == {D2: 7, D3: 6}

    report = sync(pg, root, days=[D1], tz="Asia/Seoul", drop_damaged=True)  # no backup: give the day up
    assert [(d.partition, where.startswith("_damaged/chat/day=2026-09-01/part-0.parquet."))
            for d, where in report.dropped] == [("chat day=2026-09-01", True)]
    assert report.damaged == []
    assert pq.read_metadata(lake.part_path(CHAT, D1)).num_rows == 1  # what PostgreSQL has: the late line
    moved = list(Path(root, "_damaged", "chat", "day=2026-09-01").iterdir())
    assert [p.read_bytes() for p in moved] == [damaged]
    with warehouse.open(root) as wh:
        assert wh.damaged() == []
        assert dict(warehouse.daily_counts(wh).select("day", "messages").iter_rows()) == {D1: 1, D2: 7, D3: 6}


def test_damaged_side_tables_and_channels_are_rebuilt_by_the_next_sync(pg, tmp_path):
    root, lake = _lake(pg, tmp_path)
    for rel, how in (("users/part-0.parquet", "pages"), ("rollups/part-0.parquet", "pages"),
                     ("user_tail/part-0.arrow", "body"), ("channels/part-0.parquet", "random")):
        damage(Path(root, rel), how)
    _insert(pg, D3, 2, tag="late-")  # a changed day: the side tables merge their old rows
    report = sync(pg, root, tz="Asia/Seoul")
    assert report.damaged == [] and report.repaired == []
    with warehouse.open(root) as wh:
        assert wh.damaged() == []
        assert all(wh.accelerator(acc) is not None for acc in (USERS, ROLLUPS, USER_TAIL))
        assert sum(warehouse.search_users(wh, "김")["messages"]) == 18  # 5 + 7 + 4 + 2 lines


def test_a_damaged_state_file_stops_the_sync_with_what_to_do(pg, tmp_path):
    root, lake = _lake(pg, tmp_path)
    damage(Path(root, "_sync", "state.json"), "truncate")
    before = {p: p.stat().st_mtime_ns for p in Path(root, "chat").rglob("*.parquet")}
    _insert(pg, D3, 2, tag="late-")
    with pytest.raises(StateUnreadable, match="the lake's _sync/state.json is unreadable .* restore it from a backup"):
        sync(pg, root, tz="Asia/Seoul")  # the archived days it records are unknown: nothing is written
    assert {p: p.stat().st_mtime_ns for p in Path(root, "chat").rglob("*.parquet")} == before
