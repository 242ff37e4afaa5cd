"""The analyst API on the fixture lake; every expected answer is computed in plain Python
over the same rows the fixture wrote."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta
from zoneinfo import ZoneInfo

import polars as pl
import pytest

import warehouse
from tests.lakefixture import build_fixture_lake

pytestmark = pytest.mark.unit
KST = ZoneInfo("Asia/Seoul")


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("lake")
    facts = build_fixture_lake(root)
    wh = warehouse.open(str(root))
    yield wh, facts
    wh.close()


def _user_rows(facts, channels=None, start=None, end=None):
    return [r for r in facts["rows"] if r["user_id"] != "SYSTEM_MESSAGE"
            and (channels is None or r["channel_id"] in channels)
            and (start is None or r["day"] >= start) and (end is None or r["day"] <= end)]


def _is_chatter(r):
    return r["user_id"] not in ("anonymous", "SYSTEM_MESSAGE")


def _is_sub(r):
    return (r["subscription_tier"] or 0) > 0 or (r["subscription_month"] or 0) > 0


def test_list_channels(lake):
    wh, facts = lake
    got = warehouse.list_channels(wh)
    assert got.columns == ["channel_id", "channel_name", "messages", "chatters", "first_chat", "last_chat"]
    assert dict(zip(got["channel_id"], got["messages"], strict=True)) == facts["per_channel"]
    assert dict(zip(got["channel_id"], got["channel_name"], strict=True)) == facts["channel_names"]
    for cid, chatters in zip(got["channel_id"], got["chatters"], strict=True):
        assert chatters == len({r["user_id"] for r in _user_rows(facts, [cid]) if _is_chatter(r)})
    assert got["messages"].to_list() == sorted(got["messages"].to_list(), reverse=True)


def test_channel_directory_is_list_channels_without_the_counts(lake):
    wh, facts = lake
    got = warehouse.channel_directory(wh)
    assert got.columns == ["channel_id", "channel_name", "messages"]
    assert dict(zip(got["channel_id"], got["messages"], strict=True)) == facts["per_channel"]
    assert dict(zip(got["channel_id"], got["channel_name"], strict=True)) == facts["channel_names"]
    assert got.rows() == warehouse.list_channels(wh).select(got.columns).rows()  # same order too


def test_date_bounds(lake):
    wh, facts = lake
    assert warehouse.date_bounds(wh) == (facts["days"][0], facts["days"][-1])


@pytest.mark.parametrize("every", ["minute", "hour", "day"])
def test_activity_matches_python(lake, every):
    wh, facts = lake
    cid = facts["channel_ids"][1]
    start, end = facts["days"][1], facts["days"][2]
    got = warehouse.activity(wh, [cid], start, end, every=every)
    assert got.columns == ["channel_id", "channel_name", "bucket", "messages", "chatters", "messages_per_chatter"]
    assert got["bucket"].dtype == pl.Datetime("us", "Asia/Seoul")
    trunc = {"minute": dict(second=0, microsecond=0), "hour": dict(minute=0, second=0, microsecond=0),
             "day": dict(hour=0, minute=0, second=0, microsecond=0)}[every]
    msgs, users = defaultdict(int), defaultdict(set)
    for r in _user_rows(facts, [cid], start, end):
        b = r["chat_time"].astimezone(KST).replace(**trunc)
        msgs[b] += 1
        if _is_chatter(r):
            users[b].add(r["user_id"])
    assert {b: n for b, n in zip(got["bucket"], got["messages"], strict=True)} == dict(msgs)
    assert {b: n for b, n in zip(got["bucket"], got["chatters"], strict=True)} == {b: len(users[b]) for b in msgs}
    assert set(got["channel_id"]) == {cid}
    assert got["bucket"].to_list() == sorted(got["bucket"].to_list())


def test_activity_midnight_rows_land_on_their_local_day(lake):
    wh, facts = lake
    got = warehouse.activity(wh, start=facts["days"][0], end=facts["days"][0], every="hour")
    hours = {b.hour for b in got["bucket"]}
    assert 0 in hours and 23 in hours
    assert {b.date() for b in got["bucket"]} == {facts["days"][0]}


def test_activity_rejects_unknown_every(lake):
    with pytest.raises(ValueError, match="minute, hour, day"):
        warehouse.activity(lake[0], every="week")


def test_subscriber_ratio_matches_python(lake):
    wh, facts = lake
    got = warehouse.subscriber_ratio(wh, every="day")
    assert got.columns == ["channel_id", "channel_name", "bucket", "messages", "subscriber_messages",
                           "message_share", "chatters", "subscriber_chatters", "chatter_share"]
    for row in got.iter_rows(named=True):
        rows = [r for r in _user_rows(facts, [row["channel_id"]]) if r["day"] == row["bucket"].date()]
        subs = [r for r in rows if _is_sub(r)]
        chatters = {r["user_id"] for r in rows if _is_chatter(r)}
        sub_chatters = {r["user_id"] for r in subs if _is_chatter(r)}
        assert (row["messages"], row["subscriber_messages"]) == (len(rows), len(subs))
        assert row["message_share"] == pytest.approx(len(subs) / len(rows))
        assert (row["chatters"], row["subscriber_chatters"]) == (len(chatters), len(sub_chatters))
        assert row["chatter_share"] == pytest.approx(len(sub_chatters) / len(chatters))
    assert len(got) == 9


def test_tier_split_matches_python(lake):
    wh, facts = lake
    got = warehouse.tier_split(wh)
    assert got.columns == ["channel_id", "channel_name", "tier", "chatters", "messages"]
    assert set(got["tier"]) <= {"none", "tier 1", "tier 2"}
    best, counts = {}, defaultdict(int)
    for r in _user_rows(facts):
        if not _is_chatter(r):
            continue
        key = (r["channel_id"], r["user_id"])
        t = r["subscription_tier"] or (1 if (r["subscription_month"] or 0) > 0 else 0)
        best[key] = max(best.get(key, 0), t)
        counts[key] += 1
    want_chatters, want_messages = defaultdict(int), defaultdict(int)
    for (cid, _), t in best.items():
        label = {0: "none", 1: "tier 1", 2: "tier 2"}[t]
        want_chatters[(cid, label)] += 1
    for key, n in counts.items():
        want_messages[(key[0], {0: "none", 1: "tier 1", 2: "tier 2"}[best[key]])] += n
    assert {(c, t): n for c, t, n in got.select("channel_id", "tier", "chatters").iter_rows()} == dict(want_chatters)
    assert {(c, t): n for c, t, n in got.select("channel_id", "tier", "messages").iter_rows()} == dict(want_messages)


@pytest.mark.parametrize("query, expected_nicks", [
    ("김", {"김치", "김철수"}),
    ("mixed", {"MixedCase"}),
    ("%", {"100%_진짜'\\닉"}),
    ("_", {"100%_진짜'\\닉", "Lee_Min"}),
    ("'\\", {"100%_진짜'\\닉"}),
    ("%_진짜'", {"100%_진짜'\\닉"}),
    ("없는사람", set()),
    ("", set()),
])
def test_search_users_nickname_substring_is_literal(lake, query, expected_nicks):
    wh, facts = lake
    got = warehouse.search_users(wh, query)
    assert got.columns == ["user_id", "nickname", "nicknames", "messages", "channels", "first_seen", "last_seen"]
    assert set(got["nickname"]) == expected_nicks
    for row in got.iter_rows(named=True):
        rows = [r for r in _user_rows(facts) if r["user_id"] == row["user_id"]]
        assert row["messages"] == len(rows)
        assert row["channels"] == sorted({r["channel_name"] for r in rows})
        assert row["first_seen"] == min(r["chat_time"] for r in rows)
        assert row["last_seen"] == max(r["chat_time"] for r in rows)


def test_search_users_name_change_and_exact_user_id(lake):
    wh, facts = lake
    by_old = warehouse.search_users(wh, "호랑")
    assert by_old["user_id"].to_list() == [facts["renamed_user"]]
    assert by_old["nickname"][0] == facts["new_nick"]
    assert by_old["nicknames"][0].to_list() == [facts["old_nick"], facts["new_nick"]]
    by_id = warehouse.search_users(wh, facts["renamed_user"])
    assert by_id["user_id"].to_list() == [facts["renamed_user"]]
    # a period before the rename only knows the old name
    early = warehouse.search_users(wh, "호랑", end=facts["days"][0])
    assert early["nicknames"][0].to_list() == [facts["old_nick"]]
    assert warehouse.search_users(wh, "사자", end=facts["days"][0]).is_empty()


def test_search_users_limit_and_channel_filter(lake):
    wh, facts = lake
    assert len(warehouse.search_users(wh, "김", limit=1)) == 1
    cid = facts["channel_ids"][0]
    got = warehouse.search_users(wh, "김", channels=[cid])
    for row in got.iter_rows(named=True):
        assert row["channels"] == [facts["channel_names"][cid]]
        assert row["messages"] == len([r for r in _user_rows(facts, [cid]) if r["user_id"] == row["user_id"]])


def test_user_messages_newest_first_and_paging(lake):
    wh, facts = lake
    uid = facts["renamed_user"]
    want = sorted((r for r in _user_rows(facts) if r["user_id"] == uid),
                  key=lambda r: (r["chat_time"], r["id"]), reverse=True)
    got = warehouse.user_messages(wh, uid)
    assert got.columns == ["chat_time", "channel_id", "channel_name", "nickname", "message_type", "message",
                           "message_status", "pay_amount", "subscription_tier", "subscription_month"]
    assert got["message"].to_list() == [r["message"] for r in want]
    page = warehouse.user_messages(wh, uid, limit=5, offset=5)
    assert page["message"].to_list() == [r["message"] for r in want[5:10]]
    one_day = warehouse.user_messages(wh, uid, start=facts["days"][1], end=facts["days"][1])
    assert set(one_day["nickname"]) == {facts["new_nick"]}
    assert warehouse.user_messages(wh, "nobody").is_empty()


def test_donations_are_visible_to_analysts(lake):
    wh, facts = lake
    got = warehouse.user_messages(wh, "anonymous")
    want = [r for r in facts["rows"] if r["user_id"] == "anonymous"]
    assert len(got) == len(want) and set(got["message_type"]) == {"donation"}
    assert got["pay_amount"].sum() == sum(r["pay_amount"] for r in want)


def test_daily_counts_cover_every_row(lake):
    wh, facts = lake
    got = warehouse.daily_counts(wh)
    assert got.columns == ["day", "channel_id", "messages"]
    assert {(d, c): n for d, c, n in got.iter_rows()} == facts["per_day_channel"]


def test_sql_escape_hatch_binds_parameters(lake):
    wh, facts = lake
    got = wh.sql("SELECT count(*) AS n FROM chat WHERE nickname = ?", [facts["special_nick"]])
    assert got["n"][0] == sum(1 for r in facts["rows"] if r["nickname"] == facts["special_nick"])


def test_empty_or_missing_lake_gives_empty_frames(tmp_path):
    for root in (tmp_path / "missing", tmp_path):
        wh = warehouse.open(str(root))
        assert warehouse.list_channels(wh).is_empty()
        assert warehouse.date_bounds(wh) == (None, None)
        assert warehouse.activity(wh).is_empty()
        assert warehouse.activity(wh).columns[2] == "bucket"
        assert warehouse.subscriber_ratio(wh).is_empty()
        assert warehouse.tier_split(wh).is_empty()
        assert warehouse.search_users(wh, "김").is_empty()
        assert warehouse.user_messages(wh, "x").is_empty()
        assert warehouse.daily_counts(wh).is_empty()
        wh.close()


def test_refresh_sees_a_lake_written_after_open(tmp_path):
    wh = warehouse.open(str(tmp_path))
    assert warehouse.daily_counts(wh).is_empty()
    facts = build_fixture_lake(tmp_path)
    wh.refresh()
    assert warehouse.daily_counts(wh)["messages"].sum() == len(facts["rows"])
    assert warehouse.date_bounds(wh) == (date(2026, 9, 1), date(2026, 9, 3))


def test_open_views_follow_the_lake_without_refresh(tmp_path):
    wh = warehouse.open(str(tmp_path))
    assert warehouse.date_bounds(wh) == (None, None)
    facts = build_fixture_lake(tmp_path)  # written after open: the next query sees it
    assert warehouse.daily_counts(wh)["messages"].sum() == len(facts["rows"])
    assert len(warehouse.list_channels(wh)) == 3
    for part in (tmp_path / "chat").glob("day=*/part-0.parquet"):
        part.unlink()  # every partition gone under an open warehouse: empty, no error
    assert warehouse.daily_counts(wh).is_empty()


@pytest.mark.parametrize("fn", ["activity", "subscriber_ratio"])
def test_day_buckets_from_the_partitions_equal_truncated_times(tmp_path_factory, fn):
    """A lake whose state says its days are Asia/Seoul days answers day buckets from the
    hive `day` column (no per-row zone arithmetic): the same frame as date_trunc gives. In
    another display zone the buckets are that zone's days, computed from the times."""
    from warehouse.lake.layout import Lake
    root = tmp_path_factory.mktemp("lake_state")
    facts = build_fixture_lake(root)
    truncated = getattr(warehouse, fn)(warehouse.open(str(root)), every="day")
    Lake(str(root)).write_state({"timezone": "Asia/Seoul"})
    wh = warehouse.open(str(root))
    assert wh.days_are_local()
    assert getattr(warehouse, fn)(wh, every="day").equals(truncated)
    assert getattr(warehouse, fn)(wh, every="hour").equals(getattr(warehouse, fn)(warehouse.open(str(root)),
                                                                                 every="hour"))
    utc = warehouse.open(str(root), tz="UTC")
    assert not utc.days_are_local()
    got = getattr(warehouse, fn)(utc, every="day")
    msgs = defaultdict(int)
    for r in _user_rows(facts):
        msgs[(r["channel_id"], r["chat_time"].astimezone(ZoneInfo("UTC")).date())] += 1
    assert {(c, b.date()): n for c, b, n in zip(got["channel_id"], got["bucket"], got["messages"], strict=True)} \
        == dict(msgs)
    assert {b.hour for b in got["bucket"]} == {0}


def test_a_replaced_partition_is_read_afresh_by_an_open_warehouse(tmp_path):
    """The Warehouse keeps Parquet footers (parquet_metadata_cache): a partition a sync
    replaces after a query (same path, new file) is read with its new footer and rows."""
    from warehouse.lake.layout import Lake
    from warehouse.lake.tables import CHAT
    build_fixture_lake(tmp_path)
    wh = warehouse.open(str(tmp_path))
    lake = Lake(str(tmp_path))
    day = lake.days(CHAT)[0]
    rows = lake.read(CHAT, day)
    count = "SELECT count(*) AS n, sum(id) AS s FROM chat WHERE day = ?"
    assert wh.sql(count, [day]).row(0) == (rows.num_rows, sum(rows.column("id").to_pylist()))
    for kept in (rows.slice(0, 1), rows.slice(1), rows):  # fewer rows, other rows, back again
        lake.write(CHAT, kept, day)
        assert wh.sql(count, [day]).row(0) == (kept.num_rows, sum(kept.column("id").to_pylist()))


def test_open_views_follow_new_days_and_changed_columns(tmp_path):
    """The chat view lists the day files by name (no glob per query): a day written after
    open shows in the next query, a removed one leaves, and a partition rewritten with a
    column the others lack is read (the others' values null) instead of failing."""
    import pyarrow.parquet as pq

    from warehouse.lake.layout import Lake
    from warehouse.lake.tables import CHAT
    facts = build_fixture_lake(tmp_path)
    lake = Lake(str(tmp_path))
    days = lake.days(CHAT)
    last = lake.read(CHAT, days[-1])
    lake.write(CHAT, [], days[-1])  # removed: the file goes, its folder stays
    wh = warehouse.open(str(tmp_path))
    count = "SELECT count(*) AS n FROM chat"
    assert wh.sql(count).item() == len(facts["rows"]) - last.num_rows
    new_day = days[-1] + timedelta(days=30)
    lake.write(CHAT, last, new_day)  # a new day folder and file, no state.json
    assert wh.sql(count).item() == len(facts["rows"])
    assert wh.sql("SELECT max(day) FROM chat").item() == new_day
    lake.write(CHAT, [], new_day)  # gone under the open view (its folder stays)
    assert wh.sql(count).item() == len(facts["rows"]) - last.num_rows
    lake.write(CHAT, last, new_day)
    lake.write(CHAT, last, days[-1])  # back in its old folder: the folder list is unchanged
    lake.write_state({"timezone": "Asia/Seoul"})  # as a sync does last
    assert wh.sql(count).item() == len(facts["rows"]) + last.num_rows
    first = lake.read(CHAT, days[0])  # the file the view's columns were first read from
    pq.write_table(first.append_column("new_col", first.column("id")), lake.part_path(CHAT, days[0]))
    assert wh.sql(count).item() == len(facts["rows"]) + last.num_rows
    got = wh.sql("SELECT day, new_col FROM chat")
    assert got.filter(got["day"] == days[0])["new_col"].to_list() == first.column("id").to_pylist()
    assert got.filter(got["day"] != days[0])["new_col"].null_count() == len(facts["rows"]) + last.num_rows \
        - first.num_rows
    wh.close()
