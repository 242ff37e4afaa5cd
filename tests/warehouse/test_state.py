"""The typed sync state (warehouse/lake/state.py): parsed once with a clear error, written
by one function (Lake.write_state) in the JSON shape readers of old lakes know."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pytest

from warehouse.lake.layout import Lake
from warehouse.lake.state import StateUnreadable, SyncState, TableMarks

pytestmark = pytest.mark.unit

D1, D2 = date(2026, 9, 1), date(2026, 9, 2)
# as a version-2 sync wrote it (before the typed state), with a key from a newer writer
WRITTEN = {"version": 2, "last_sync": "2026-09-03T00:00:00.123456+00:00", "timezone": "Asia/Seoul",
           "sync_started_at": "2026-09-02T23:59:58+00:00", "max_id": 42,
           "max_created_at": "2026-09-02T23:59:57+00:00", "days": {"2026-09-01": 3, "2026-09-02": 4},
           "tables": {"events": {"max_id": 7, "days": {"2026-09-01": 1}}},
           "archived_days": ["2026-09-01"], "newer_key": {"kept": True}}


def test_a_written_state_reads_back_the_same(tmp_path):
    lake = Lake(str(tmp_path))
    lake.write_state(WRITTEN)
    state = lake.state()
    assert state.max_id == 42 and state.days == {D1: 3, D2: 4} and state.archived_days == {D1}
    assert state.sync_started_at == datetime(2026, 9, 2, 23, 59, 58, tzinfo=UTC)
    assert state.marks("events") == TableMarks(7, {D1: 1}) and state.marks("chat") == TableMarks(42, {D1: 3, D2: 4})
    assert lake.read_state() == WRITTEN  # the readers' dict: the same JSON object, unknown keys kept
    assert json.loads((tmp_path / "_sync" / "state.json").read_text()) == WRITTEN


def test_changes_return_a_new_state():
    state = SyncState.from_dict(WRITTEN)
    after = state.counted("chat", {D1: 0, D2: 5}).counted("events", {D2: 2}).archive([D2])
    assert after.days == {D2: 5} and after.tables["events"] == TableMarks(7, {D1: 1, D2: 2})
    assert after.archived_days == {D1, D2} and state.days == {D1: 3, D2: 4}  # the old one unchanged
    assert SyncState().marks("chat") == TableMarks() and not SyncState().present
    assert SyncState(version=2).present


@pytest.mark.parametrize(("doc", "names"), [
    ([1, 2], "a JSON list, not an object"),
    ({"max_id": "12"}, "max_id is '12', not a int"),
    ({"days": {"2026-09-01": "3"}}, "days.2026-09-01 is '3', not a row count"),
    ({"days": {"yesterday": 3}}, "'yesterday' is not a day"),
    ({"archived_days": "2026-09-01"}, "archived_days is a str, not a list"),
    ({"last_sync": "noon"}, "last_sync is 'noon', not an ISO time"),
    ({"tables": {"events": []}}, "tables.events is a list, not an object"),
])
def test_a_state_that_is_not_one_says_which_field_and_what_to_do(tmp_path, doc, names):
    (tmp_path / "_sync").mkdir()
    (tmp_path / "_sync" / "state.json").write_text(json.dumps(doc))
    with pytest.raises(StateUnreadable, match="restore it from a backup") as err:
        Lake(str(tmp_path)).state()
    assert names in str(err.value)
    assert Lake(str(tmp_path)).state(strict=False) == SyncState()  # readers: as before any sync
    assert Lake(str(tmp_path)).read_state(strict=False) == {}
