"""The dashboard's cached answers follow the lake's syncs (issue 21 §3): a sync shows at the
next rerun of an open session, not when a 5-minute cache entry expires; without a sync a
rerun asks the warehouse nothing. Real PostgreSQL, the real sync, a small history."""
from __future__ import annotations

import logging
from datetime import datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data
from tests.page_checks import APP, ok
from tests.pghistory import CHANNELS, D3, KST, history, insert
from warehouse.sync.export import sync

pytestmark = pytest.mark.integration

A, B = sorted(CHANNELS)
D4 = D3 + timedelta(days=1)


def _queries(caplog) -> list[str]:
    """The warehouse functions the dashboard ran since the last caplog.clear() (data._call_on's log)."""
    return [r.getMessage().split(":")[0] for r in caplog.records
            if r.name == "dashboard.data" and " rows in " in r.getMessage()]


def _overview(at: AppTest) -> dict[str, int]:
    table = at.dataframe[0].value
    return dict(zip(table["channel_id"], table["messages"], strict=True))


def test_a_sync_shows_at_the_next_rerun_and_the_sync_state_is_read_once_a_run(pg, tmp_path, monkeypatch, caplog):
    rows = history()
    insert(pg, rows)
    root = tmp_path / "lake"
    sync(pg, str(root), tz="Asia/Seoul")
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    reads = []
    token = data.sync_token
    monkeypatch.setattr(data, "sync_token", lambda r: reads.append(r) or token(r))
    caplog.set_level(logging.DEBUG, logger="dashboard.data")
    data.clear_caches()
    try:
        at = AppTest.from_file(APP, default_timeout=60).run()
        ok(at)
        before = {c: sum(r.get("channel", A) == c for r in rows) for c in (A, B)}
        assert _overview(at) == before
        assert at.date_input(key="f_dates").value[1] == D3
        assert reads == [str(root)]  # once in the run: every cached answer is keyed by it

        reads.clear()
        caplog.clear()
        at.run()  # nothing synced: every answer from the cache, the state read once again
        ok(at)
        assert _overview(at) == before and _queries(caplog) == [] and reads == [str(root)]

        # new lines in PostgreSQL: one more on the last day, two on a new day; then a sync
        noon = datetime(D3.year, D3.month, D3.day, 12, 30, tzinfo=KST)
        insert(pg, [{"chat_time": noon, "user_id": "new1", "channel": B, "message": "새 줄"},
                    {"chat_time": noon + timedelta(days=1), "user_id": "new2", "channel": A, "message": "다음 날"},
                    {"chat_time": noon + timedelta(days=1, minutes=1), "user_id": "new2", "channel": A,
                     "message": "다음 날 2"}], old=False)
        at.run()  # collected, not synced yet: the lake's answers stand
        ok(at)
        assert _overview(at) == before
        sync(pg, str(root), tz="Asia/Seoul")

        caplog.clear()
        at.run()  # the next rerun of the same session: the sync's rows, its new day in the picker
        ok(at)
        assert at.date_input(key="f_dates").value[1] == D4  # the range that ended on the newest day follows it
        assert _overview(at) == {A: before[A] + 2, B: before[B] + 1}
        assert "channel_summary" in _queries(caplog)
        assert str(len(rows) + 3) in " ".join(c.value for c in at.caption)  # the last sync's rows, read again
    finally:
        data.clear_caches()


def test_loading_the_accelerators_before_a_first_visit_caches_no_answer(pages_lake, monkeypatch, caplog):
    """data.load_accelerators (for a server's warm-up) asks the default page's questions with
    their answers discarded: the first visit still runs its queries, and gets their answers."""
    root, _ = pages_lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    caplog.set_level(logging.DEBUG, logger="dashboard.data")
    data.clear_caches()
    try:
        assert data.load_accelerators(str(root)) > 0
        assert {"channel_summary", "activity", "coverage"} <= set(_queries(caplog))
        caplog.clear()
        at = AppTest.from_file(APP, default_timeout=60).run()
        ok(at)
        assert {"channel_summary", "activity", "coverage"} <= set(_queries(caplog))  # asked again, not cached
        assert at.dataframe[0].value["messages"].sum() > 0
    finally:
        data.clear_caches()
