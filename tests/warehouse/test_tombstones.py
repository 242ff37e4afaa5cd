"""Tombstone pruning against a real PostgreSQL: after a sync, the tombstones the lake has
absorbed are deleted; those the next sync still needs (deleted within the overlap, or after
the snapshot) and those of archived days stay; the lake stays equal to PostgreSQL."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import psycopg2
import pytest

from tests.pghistory import D1, D2, D3, KST, history, insert
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.sync import export as sync_module
from warehouse.sync import retention
from warehouse.sync.export import Progress, sync

TODAY = D3 + timedelta(days=1)


def _delete(pg, message: str) -> int:
    with pg.cursor() as cur:
        cur.execute("DELETE FROM stream_chat WHERE message = %s RETURNING id", (message,))
        (chat_id,) = cur.fetchone()
    pg.commit()
    return chat_id


def _tombstones(pg) -> set[int]:
    with pg.cursor() as cur:
        cur.execute("SELECT chat_id FROM stream_chat_tombstone")
        out = {r[0] for r in cur.fetchall()}
    pg.rollback()
    return out


def _pg_ids(pg) -> dict:
    with pg.cursor() as cur:
        cur.execute("SELECT (chat_time AT TIME ZONE 'Asia/Seoul')::date, id FROM stream_chat")
        out: dict = {}
        for day, chat_id in cur.fetchall():
            out.setdefault(day, set()).add(chat_id)
    pg.rollback()
    return out


def _lake_ids(root) -> dict:
    lake = Lake(str(root))
    return {day: set(lake.read(CHAT, day, columns=["id"]).column("id").to_pylist()) for day in lake.days(CHAT)}


@pytest.mark.integration
def test_absorbed_tombstones_are_pruned_those_in_the_overlap_kept(pg, tmp_path):
    insert(pg, history())
    sync(pg, str(tmp_path))
    lake = Lake(str(tmp_path))
    # the last sync ran an hour ago
    lake.write_state(replace(lake.state(), sync_started_at=datetime.now(UTC) - timedelta(hours=1)))
    old = [_delete(pg, "메시지 0-3"), _delete(pg, "메시지 1-4")]
    with pg.cursor() as cur:  # deleted half an hour ago: older than this sync's start minus OVERLAP
        cur.execute("UPDATE stream_chat_tombstone SET deleted_at = now() - interval '30 minutes'")
    pg.commit()
    recent = _delete(pg, "메시지 2-5")  # within the overlap: the next sync reads it again

    report = sync(pg, str(tmp_path))
    assert [d.day for d in report.days] == [D1, D2, D3]
    assert report.tombstones_pruned == 2
    assert _tombstones(pg) == {recent}
    assert _lake_ids(tmp_path) == _pg_ids(pg)
    assert not set(old) & set().union(*_lake_ids(tmp_path).values())

    report = sync(pg, str(tmp_path))  # the kept tombstone rewrites its day again: same rows
    assert [d.day for d in report.days] == [D3] and report.tombstones_pruned == 0
    assert _lake_ids(tmp_path) == _pg_ids(pg)


@pytest.mark.integration
def test_a_deletion_after_the_snapshot_is_kept_for_the_next_sync(pg_url, pg, tmp_path, monkeypatch):
    monkeypatch.setattr(sync_module, "OVERLAP", timedelta(0))
    insert(pg, history())
    sync(pg, str(tmp_path))
    first = _delete(pg, "메시지 0-3")

    class DeleteMidway(Progress):
        """Another session deletes a row of D2 after the sync's snapshot, before the prune."""
        def planned(self, days):
            other = psycopg2.connect(pg_url)
            try:
                self.chat_id = _delete(other, "메시지 1-4")
            finally:
                other.close()

    midway = DeleteMidway()
    report = sync(pg, str(tmp_path), progress=midway)
    assert [d.day for d in report.days] == [D1]
    assert report.tombstones_pruned == 1 and _tombstones(pg) == {midway.chat_id}
    assert first not in _lake_ids(tmp_path)[D1]

    # --day and --dry-run prune nothing: they do not move the cursor
    sync(pg, str(tmp_path), days=[D1])
    sync(pg, str(tmp_path), dry_run=True)
    assert _tombstones(pg) == {midway.chat_id}

    report = sync(pg, str(tmp_path))
    assert [d.day for d in report.days] == [D2] and report.tombstones_pruned == 1
    assert _tombstones(pg) == set()
    assert _lake_ids(tmp_path) == _pg_ids(pg)
    assert sync(pg, str(tmp_path)).days == [] and _lake_ids(tmp_path) == _pg_ids(pg)


def _archive_with_a_late_row(pg, root, monkeypatch) -> dict:
    """History synced, D1 and D2 archived by retention, then a late row ("늦은") for D1
    synced (merged into the archived day); returns the lake's ids per day before it."""
    monkeypatch.setattr(sync_module, "OVERLAP", timedelta(0))
    insert(pg, history())
    sync(pg, str(root))
    assert set(retention.apply(pg, str(root), keep_days=1, today=TODAY).dropped) == {D1, D2}
    archived = _lake_ids(root)
    insert(pg, [{"chat_time": datetime(2026, 9, 1, 20, 0, tzinfo=KST), "user_id": "late", "message": "늦은"}],
            old=False)
    sync(pg, str(root))
    return archived


@pytest.mark.integration
def test_tombstones_of_archived_days_are_kept(pg, tmp_path, monkeypatch):
    archived = _archive_with_a_late_row(pg, tmp_path, monkeypatch)
    late = _delete(pg, "늦은")
    gone = _delete(pg, "메시지 2-5")

    report = sync(pg, str(tmp_path))
    assert [d.day for d in report.days] == [D1, D3]
    assert report.tombstones_pruned == 1 and _tombstones(pg) == {late}, "D1 is archived: its tombstone stays"
    lake = _lake_ids(tmp_path)
    assert lake[D1] == archived[D1] and lake[D2] == archived[D2]
    assert lake[D3] == _pg_ids(pg)[D3] and gone not in lake[D3]
    sync(pg, str(tmp_path), all_days=True)
    assert _lake_ids(tmp_path) == lake


@pytest.mark.integration
def test_sync_all_merges_an_archived_day_whose_only_change_is_a_deletion(pg, tmp_path, monkeypatch):
    """An archived day has no PostgreSQL rows once its late row is deleted: --all still
    merges it (from its tombstone), so the row leaves the lake and does not come back."""
    archived = _archive_with_a_late_row(pg, tmp_path, monkeypatch)
    late = _delete(pg, "늦은")
    assert late in _lake_ids(tmp_path)[D1] and D1 not in _pg_ids(pg)

    assert D1 in sync(pg, str(tmp_path), all_days=True, dry_run=True).planned["chat"]
    report = sync(pg, str(tmp_path), all_days=True)
    assert D1 in [d.day for d in report.days] and D2 not in [d.day for d in report.days]
    lake = _lake_ids(tmp_path)
    assert lake[D1] == archived[D1] and late not in lake[D1]
    assert lake[D2] == archived[D2], "an archived day without tombstones is left as it is"
    assert sync(pg, str(tmp_path)).days == [] and _lake_ids(tmp_path) == lake
