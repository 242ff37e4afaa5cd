"""A user's profile, name history and channels from the users side table equal the answers
of a scan of the chat (the queries as they were before issue 18), for chatters, for
``anonymous`` and unknown users, with channel and day filters."""
from __future__ import annotations

from datetime import date

import pytest

import warehouse
from tests.lakefixture_rich import build_rich_lake
from warehouse.lake.layout import Lake
from warehouse.read import accelerators
from warehouse.read.queries.params import filter_params

pytestmark = pytest.mark.unit

# the three questions as they were: one scan of the chat each
SCANS = {
    warehouse.user_profile: """
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE user_id = ?)
        SELECT user_id, arg_max(nickname, chat_time) AS nickname, min(chat_time) AS first_seen,
               max(chat_time) AS last_seen, count(*) AS messages,
               count(DISTINCT channel_id) AS channels
        FROM f GROUP BY user_id""",
    warehouse.name_history: """
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE user_id = ? AND nickname IS NOT NULL)
        SELECT nickname, min(chat_time) AS first_seen, max(chat_time) AS last_seen,
               count(*) AS messages
        FROM f GROUP BY nickname ORDER BY first_seen, nickname""",
    warehouse.user_channels: """
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE user_id = ?),
        c AS (SELECT channel_id, arg_max(channel_name, chat_time) AS chat_name,
                     count(*) AS messages, min(chat_time) AS first_seen, max(chat_time) AS last_seen
              FROM f GROUP BY channel_id)
        SELECT c.channel_id, coalesce(ch.channel_name, c.chat_name) AS channel_name,
               messages, first_seen, last_seen
        FROM c LEFT JOIN channels ch USING (channel_id)
        ORDER BY messages DESC, c.channel_id""",
}
FILTERS = [(None, None, None), ((0,), None, None), ((1, 2), date(2026, 9, 1), None),
           (None, date(2026, 8, 28), date(2026, 9, 6)), ((), None, None), ((2,), date(2026, 10, 4), date(2026, 10, 4))]


@pytest.fixture(scope="module")
def indexed(tmp_path_factory):
    """The rich lake with its accelerators built: (Warehouse, facts)."""
    root = tmp_path_factory.mktemp("users")
    facts = build_rich_lake(root)
    accelerators.rebuild_all(Lake(str(root)), "Asia/Seoul")
    with warehouse.open(str(root)) as wh:
        assert wh.accelerator(accelerators.USERS) is not None
        yield wh, facts


def _users(facts) -> list[str]:
    busy = sorted({r["user_id"] for r in facts["rows"]})
    return [facts["renamed_user"], busy[0], busy[len(busy) // 2], "anonymous", "SYSTEM_MESSAGE", "nobody"]


@pytest.mark.parametrize("fn", list(SCANS), ids=lambda f: f.__name__)
@pytest.mark.parametrize(("chans", "start", "end"), FILTERS)
def test_indexed_answers_equal_the_scan(indexed, fn, chans, start, end):
    wh, facts = indexed
    channels = None if chans is None else [facts["channel_ids"][i] for i in chans]
    for user in _users(facts):
        got = fn(wh, user, channels, start, end)
        want = wh.sql(SCANS[fn], filter_params(channels, start, end) + [user])
        assert got.schema == want.schema, (fn.__name__, user)
        assert got.rows() == want.rows(), (fn.__name__, user, chans, start, end)
    assert wh.accelerator(accelerators.USERS) is not None  # the side table answered (a scan would not tell them apart)


def test_the_renamed_user_has_every_name(indexed):
    wh, facts = indexed
    names = warehouse.name_history(wh, facts["renamed_user"])
    assert names["nickname"].to_list() == ["호랑이", "사자왕", "용왕"]
    assert names["messages"].sum() == sum(1 for r in facts["rows"] if r["user_id"] == facts["renamed_user"])


def test_a_users_rows_are_read_from_the_row_groups_holding_them(indexed, tmp_path):
    """The users side table rewritten in row groups of 3 rows (a user's rows span several):
    each user's rows read by bisecting the row groups' statistics are exactly the table's
    rows of that user, in order; the questions answer from them (not from SQL)."""
    import shutil

    import pyarrow.parquet as pq

    from warehouse.read.accelerators import users_index
    wh, facts = indexed
    root = tmp_path / "small_groups"
    shutil.copytree(wh.root, root)
    users_index.build_users_index(str(root), full=True)  # a copy's partitions have other inodes
    path = users_index.index_path(Lake(str(root)))
    table = pq.read_table(path)
    pq.write_table(table, path, row_group_size=3)
    assert pq.ParquetFile(path).metadata.num_row_groups > 10
    with warehouse.open(str(root)) as small:
        reader = small.accelerator(accelerators.USERS)
        assert reader is not None
        users = table.column("user_id").to_pylist()
        for user in sorted(set(users))[::3] + ["", "nobody", "zzzz"]:
            rows = reader.user_rows(Lake(str(root)), user)
            want = [i for i, u in enumerate(users) if u == user]
            assert rows.day == [table.column("day")[i].value for i in want], user
            assert rows.nickname == [table.column("nickname")[i].as_py() for i in want], user
            assert rows.messages == [table.column("messages")[i].as_py() for i in want], user
        user = facts["renamed_user"]
        for fn in SCANS:
            assert fn(small, user).rows() == fn(wh, user).rows()
        small.sql = None  # an answer asking SQL would fail: the side table's rows answer
        assert warehouse.name_history(small, user)["nickname"].to_list() == ["호랑이", "사자왕", "용왕"]
