"""The users side table (warehouse/read/accelerators/users_index.py): a stale index (a day
rewritten, added or removed after the build) is never used; the incremental rebuild equals
a full one; its layout; the sync and forget-user keep it fresh. That search_users,
user_messages and new_vs_returning give the chat scan's answers with it on both fixture
lakes and every variant: tests/warehouse/test_accelerators.py."""
from __future__ import annotations

import shutil
from datetime import date
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
import pytest

import warehouse
from tests.accelerated import pair
from tests.lakefixture import build_fixture_lake
from tests.pghistory import delete_one_add_one_late, history, insert
from tests.s3lake import s3_lake, s3_server  # noqa: F401 - fixtures
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read.accelerators import USERS, side_tables, users_index
from warehouse.read.queries.users import search_users, user_messages

pytestmark = pytest.mark.integration
KST = ZoneInfo("Asia/Seoul")


def _pair(tmp_path, build):
    """Two copies of one lake: `idx` with a fresh users index, `scan` without one."""
    return pair(tmp_path, build, (USERS,), fast="idx", tz=None)


def _rewrite_day_without(root, day: date, user: str) -> None:
    lake = Lake(str(root))
    old = lake.read(CHAT, day)
    lake.write(CHAT, old.filter(pc.fill_null(pc.not_equal(old.column("user_id"), user), True)), day)


def test_stale_index_is_ignored_and_rebuild_catches_up(tmp_path):
    facts, idx, scan = _pair(tmp_path, build_fixture_lake)
    user, day = facts["renamed_user"], facts["days"][2]
    before = user_messages(idx, user)
    assert day in {t.astimezone(KST).date() for t in before["chat_time"]}
    # a day rewritten behind the index's back (as forget-user or a sync without the hook would)
    _rewrite_day_without(tmp_path / "idx", day, user)
    _rewrite_day_without(tmp_path / "scan", day, user)
    assert idx.accelerator(USERS) is None and not users_index.is_fresh(str(tmp_path / "idx"))
    assert user_messages(idx, user).equals(user_messages(scan, user))
    assert user_messages(idx, user).height < before.height
    assert search_users(idx, user).equals(search_users(scan, user))
    # the rebuild aggregates the changed day again and equals a full build
    users_index.build_users_index(str(tmp_path / "idx"))
    assert idx.accelerator(USERS) is not None
    path = users_index.index_path(Lake(str(tmp_path / "idx")))
    incremental = pq.read_table(path)
    users_index.build_users_index(str(tmp_path / "idx"), full=True)
    assert pq.read_table(path).equals(incremental)
    assert user_messages(idx, user).equals(user_messages(scan, user))
    assert search_users(idx, user).equals(search_users(scan, user))


def test_added_and_removed_days_make_the_index_stale(tmp_path):
    facts, idx, scan = _pair(tmp_path, build_fixture_lake)
    lake = Lake(str(tmp_path / "idx"))
    first, last = facts["days"][0], facts["days"][-1]
    # a new day (a copy of the last one's rows, one day later)
    new_day = date(last.year, last.month, last.day + 1)
    lake.write(CHAT, lake.read(CHAT, last), new_day)
    assert idx.accelerator(USERS) is None
    users_index.build_users_index(lake)
    assert idx.accelerator(USERS) is not None
    assert new_day in set(pq.read_table(users_index.index_path(lake)).column("day").to_pylist())
    # a day removed (an empty rewrite removes the partition)
    lake.write(CHAT, CHAT.schema.empty_table(), first)
    assert idx.accelerator(USERS) is None
    users_index.build_users_index(lake)
    days = set(pq.read_table(users_index.index_path(lake)).column("day").to_pylist())
    assert first not in days and new_day in days
    user = facts["renamed_user"]
    got = user_messages(idx, user, limit=100_000)
    want = sorted((r for r in facts["rows"] if r["user_id"] == user and r["day"] != first),
                  key=lambda r: (r["chat_time"], r["id"]), reverse=True)
    copied = [r for r in want if r["day"] == last]
    assert got.height == len(want) + len(copied)


def test_index_layout_and_atomic_write(tmp_path):
    facts = build_fixture_lake(tmp_path)
    rows = users_index.build_users_index(str(tmp_path))
    folder = tmp_path / "users"
    assert [p.name for p in folder.iterdir()] == ["part-0.parquet"]  # no temporary file left
    table = pq.read_table(folder / "part-0.parquet")
    assert table.num_rows == rows and table.schema.remove_metadata().equals(users_index.USERS_SCHEMA)
    ids = table.column("user_id").to_pylist()
    assert ids == sorted(ids)
    assert not {"anonymous", "SYSTEM_MESSAGE", None} & set(ids)
    chatter_rows = [r for r in facts["rows"] if r["user_id"] not in (None, "anonymous", "SYSTEM_MESSAGE")]
    assert pc.sum(table.column("messages")).as_py() == len(chatter_rows)
    # a second build with nothing changed writes nothing
    mtime = (folder / "part-0.parquet").stat().st_mtime_ns
    assert users_index.build_users_index(str(tmp_path)) == rows
    assert (folder / "part-0.parquet").stat().st_mtime_ns == mtime


def test_empty_lake_index(tmp_path):
    assert users_index.build_users_index(str(tmp_path)) == 0
    wh = warehouse.open(str(tmp_path))
    assert wh.accelerator(USERS) is not None
    assert search_users(wh, "김").height == 0 and user_messages(wh, "x").height == 0
    build_fixture_lake(tmp_path)  # chat arrives after the (empty) index: stale until rebuilt
    assert wh.accelerator(USERS) is None
    assert search_users(wh, "김").height > 0


def test_unreadable_index_is_ignored(tmp_path):
    build_fixture_lake(tmp_path)
    (tmp_path / "users").mkdir()
    pq.write_table(pa.table({"x": [1]}), tmp_path / "users" / "part-0.parquet")  # no fingerprint
    wh = warehouse.open(str(tmp_path))
    assert wh.accelerator(USERS) is None
    assert search_users(wh, "김").height > 0
    users_index.build_users_index(str(tmp_path))  # replaced by a real one
    assert wh.accelerator(USERS) is not None


def test_index_on_s3_lake(tmp_path, s3_lake):  # noqa: F811 - the imported fixture
    root = s3_lake[0]
    facts = build_fixture_lake(root)
    build_fixture_lake(tmp_path)  # the same rows on local disk, no index: the reference
    assert users_index.build_users_index(root) > 0
    idx, scan = warehouse.open(root), warehouse.open(str(tmp_path))
    assert idx.accelerator(USERS) is not None
    user = facts["renamed_user"]
    for query in ("김", facts["special_nick"], facts["new_nick"], user):
        assert search_users(idx, query).equals(search_users(scan, query))
    assert user_messages(idx, user, limit=7, offset=3).equals(user_messages(scan, user, limit=7, offset=3))
    _rewrite_day_without(root, facts["days"][1], user)
    assert idx.accelerator(USERS) is None
    users_index.build_users_index(root)
    _rewrite_day_without(tmp_path, facts["days"][1], user)
    assert idx.accelerator(USERS) is not None
    assert user_messages(idx, user).equals(user_messages(scan, user))


def test_forget_user_leaves_no_trace_in_the_index(pg, tmp_path):
    from warehouse.sync import privacy
    facts = build_fixture_lake(tmp_path)
    users_index.build_users_index(str(tmp_path))
    user = facts["renamed_user"]
    path = users_index.index_path(Lake(str(tmp_path)))
    assert user in set(pq.read_table(path).column("user_id").to_pylist())
    report = privacy.forget_user(pg, str(tmp_path), user)
    assert report.lake_rows_removed > 0
    assert user not in set(pq.read_table(path).column("user_id").to_pylist())
    wh = warehouse.open(str(tmp_path))
    assert wh.accelerator(USERS) is not None
    assert search_users(wh, user).height == 0 and search_users(wh, facts["new_nick"]).height == 0
    assert search_users(wh, "김").height > 0


def test_every_sync_leaves_a_fresh_index(pg, tmp_path):
    from warehouse.sync.export import sync
    root = str(tmp_path / "lake")
    insert(pg, history())
    sync(pg, root)
    wh = warehouse.open(root)
    assert wh.accelerator(USERS) is not None
    before = user_messages(wh, "u3")
    assert before.height > 0
    delete_one_add_one_late(pg)  # two days rewritten by the next sync
    sync(pg, root)
    assert wh.accelerator(USERS) is not None
    assert user_messages(wh, "u3").height == before.height - 1
    assert search_users(wh, "late")["user_id"].to_list() == ["late"]
    shutil.copytree(root, tmp_path / "scan", ignore=shutil.ignore_patterns("users"))
    scan = warehouse.open(str(tmp_path / "scan"))
    for query in ("김", "late", "u3"):
        assert search_users(wh, query).equals(search_users(scan, query))
    assert user_messages(wh, "u3", limit=4, offset=2).equals(user_messages(scan, "u3", limit=4, offset=2))


def test_a_build_in_chunks_of_days_gives_the_same_file(tmp_path, monkeypatch):
    """Changed days are aggregated in chunks of CHUNK_BYTES of chat files (DuckDB's
    aggregate of a whole 100M-row lake outgrew its memory limit): one day per chunk gives
    the same rows as one chunk for everything."""
    build_fixture_lake(tmp_path / "one")
    shutil.copytree(tmp_path / "one", tmp_path / "many")
    users_index.build_users_index(str(tmp_path / "one"), full=True)
    monkeypatch.setattr(side_tables, "CHUNK_BYTES", 1)
    assert len(side_tables.chunks(sorted(users_index.chat_fingerprint(Lake(str(tmp_path / "many")))),
                                   users_index.chat_fingerprint(Lake(str(tmp_path / "many"))))) > 2
    users_index.build_users_index(str(tmp_path / "many"), full=True)
    one, many = (pq.read_table(tmp_path / name / "users" / "part-0.parquet") for name in ("one", "many"))
    assert one.num_rows > 0
    assert one.schema.remove_metadata().equals(many.schema.remove_metadata())
    assert one.to_pylist() == many.to_pylist()


@pytest.mark.unit
@pytest.mark.parametrize(("sizes", "cap", "want"), [
    ([], 10, []),
    ([3, 3, 3], 10, [["a", "b", "c"]]),
    ([6, 5, 4], 10, [["a"], ["b", "c"]]),
    ([2, 50, 2], 10, [["a"], ["b"], ["c"]]),
    ([10, 0, 1], 10, [["a", "b"], ["c"]]),
])
def test_chunks_of_days_hold_at_most_the_cap_and_keep_order(monkeypatch, sizes, cap, want):
    monkeypatch.setattr(side_tables, "CHUNK_BYTES", cap)
    days = "abc"[:len(sizes)]
    parts = {d: [size, 0, None] for d, size in zip(days, sizes, strict=True)}
    assert side_tables.chunks(list(days), parts) == want
