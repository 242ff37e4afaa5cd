"""The Overview and Broadcasts analyst functions (warehouse/read/queries/status.py,
warehouse/read/queries/broadcast.py) against answers computed in plain Python from the
fixture rows, and the sync's export of live_session_poll into a real PostgreSQL-fed lake."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import polars as pl
import pyarrow.parquet as pq
import pytest

import warehouse
from tests.lakefixture import build_fixture_lake
from tests.lakefixture_pages import ADV_TITLES, POLLS_0, build_pages_lake
from tests.lakefixture_rich import KST, is_chatter, is_sub, user_rows
from warehouse.lake.layout import Lake


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages")
    facts = build_pages_lake(root)
    wh = warehouse.open(str(root))
    yield wh, facts
    wh.close()


def _broadcast_rows(facts, cid, bc):
    return [r for r in user_rows(facts, [cid]) if r["chat_channel_id"] == bc]


def _pick(facts, i):
    b = facts["broadcasts"][i]
    return b["channel_id"], b["broadcast"]


# ---- channel_summary ----------------------------------------------------------------------

@pytest.mark.parametrize(("start", "end"), [(None, None), (date(2026, 9, 1), date(2026, 9, 30)),
                                            (date(2026, 10, 9), date(2026, 10, 9))])
def test_channel_summary_matches_plain_python(lake, start, end):
    wh, facts = lake
    got = {r["channel_id"]: r for r in warehouse.channel_summary(wh, start=start, end=end).iter_rows(named=True)}
    rows = user_rows(facts, start=start, end=end)
    expected = {}
    for cid in {r["channel_id"] for r in rows}:
        mine = [r for r in rows if r["channel_id"] == cid]
        chatters = {r["user_id"] for r in mine if is_chatter(r)}
        subs = {r["user_id"] for r in mine if is_chatter(r) and is_sub(r)}
        donations = [r for r in mine if r["message_type"] == "donation"]
        expected[cid] = {
            "channel_name": facts["channel_names"][cid], "messages": len(mine), "chatters": len(chatters),
            "subscriber_messages": sum(map(is_sub, mine)), "subscriber_chatters": len(subs),
            "donations": len(donations), "donation_amount": sum(r["pay_amount"] or 0 for r in donations),
            "first_chat": min(r["chat_time"] for r in mine), "last_chat": max(r["chat_time"] for r in mine)}
    assert set(got) == set(expected) and expected
    for cid, e in expected.items():
        g = got[cid]
        assert {k: g[k] for k in e} == e
        assert g["message_share"] == pytest.approx(e["subscriber_messages"] / e["messages"])
        assert g["chatter_share"] == pytest.approx(e["subscriber_chatters"] / e["chatters"])


def test_channel_summary_channel_filter_and_empty_period(lake):
    wh, facts = lake
    one = facts["channel_ids"][1]
    out = warehouse.channel_summary(wh, [one])
    assert out["channel_id"].to_list() == [one]
    assert warehouse.channel_summary(wh, start=date(2030, 1, 1), end=date(2030, 1, 2)).is_empty()


# ---- sync_status --------------------------------------------------------------------------

def test_sync_status_of_a_lake_without_state_counts_the_files(lake):
    wh, facts = lake
    status = warehouse.sync_status(wh)
    days = sorted({r["day"] for r in facts["rows"]})
    assert status["last_sync"] is None and status["timezone"] is None
    assert (status["days"], status["first_day"], status["last_day"]) == (len(days), days[0], days[-1])
    assert status["tables"] == {
        "chat": len(facts["rows"]), "channels": len(facts["channel_ids"]),
        "live_session": facts["live_session"].num_rows,
        "capture_interval": facts["capture_interval"].num_rows,
        "live_session_poll": facts["live_session_poll"].num_rows}


def test_sync_status_reads_the_state_in_the_display_zone(tmp_path):
    facts = build_fixture_lake(tmp_path)
    Lake(str(tmp_path)).write_state({"last_sync": "2026-09-03T15:30:00+00:00", "timezone": "Asia/Seoul",
                                     "archived_days": ["2026-09-01"]})
    with warehouse.open(str(tmp_path)) as wh:
        status = warehouse.sync_status(wh)
    assert status["last_sync"] == datetime(2026, 9, 3, 15, 30, tzinfo=UTC)
    assert status["last_sync"].utcoffset() == timedelta(hours=9)  # shown in Asia/Seoul
    assert status["timezone"] == "Asia/Seoul" and status["archived_days"] == 1
    assert status["tables"] == {"chat": len(facts["rows"]), "channels": 3}


def test_sync_status_of_an_empty_lake(tmp_path):
    with warehouse.open(str(tmp_path)) as wh:
        assert warehouse.sync_status(wh) == {"last_sync": None, "timezone": None, "days": 0, "first_day": None,
                                             "last_day": None, "archived_days": 0, "tables": {}}


# ---- broadcast_list -----------------------------------------------------------------------

def test_broadcast_list_matches_plain_python_and_coverage(lake):
    wh, facts = lake
    start, end = date(2026, 9, 1), date(2026, 10, 31)
    got = warehouse.broadcast_list(wh, start=start, end=end)
    cov = {r["broadcast"]: r for r in warehouse.coverage(wh, start=start, end=end).iter_rows(named=True)}
    titles = {r["chat_channel_id"]: (r["live_title"], r["live_category_value"])
              for r in facts["live_session"].to_pylist()}
    by_bc = defaultdict(list)
    for r in user_rows(facts):
        by_bc[(r["channel_id"], r["chat_channel_id"])].append(r)
    expected = {bc: rows for (_, bc), rows in by_bc.items()
                if start <= min(r["chat_time"] for r in rows).astimezone(KST).date() <= end}
    assert sorted(got["broadcast"]) == sorted(expected) == sorted(cov)
    assert got["started"].to_list() == sorted(got["started"].to_list(), reverse=True)  # newest first
    for row in got.iter_rows(named=True):
        rows = expected[row["broadcast"]]
        donations = [r for r in rows if r["message_type"] == "donation"]
        assert row["messages"] == len(rows)
        assert row["chatters"] == len({r["user_id"] for r in rows if is_chatter(r)})
        assert (row["donations"], row["amount"]) == (len(donations), sum(r["pay_amount"] or 0 for r in donations))
        assert (row["title"], row["category"]) == titles.get(row["broadcast"], (None, None))
        c = cov[row["broadcast"]]
        assert (row["started"], row["ended"], row["coverage"], row["source"]) == (
            c["started"], c["ended"], c["coverage"], c["source"])
        assert row["channel_name"] == facts["channel_names"][row["channel_id"]]


def test_broadcast_list_scoped_to_channels_and_empty(lake):
    wh, facts = lake
    one = facts["channel_ids"][2]
    assert set(warehouse.broadcast_list(wh, [one])["channel_id"]) == {one}
    empty = warehouse.broadcast_list(wh, start=date(2030, 1, 1), end=date(2030, 1, 1))
    assert empty.is_empty() and "title" in empty.columns


# ---- one broadcast ------------------------------------------------------------------------

@pytest.mark.parametrize("window", [1, 5])
def test_broadcast_activity_per_window(lake, window):
    wh, facts = lake
    cid, bc = _pick(facts, 1)  # runs past midnight
    rows = _broadcast_rows(facts, cid, bc)
    first = min(r["chat_time"] for r in rows).replace(second=0, microsecond=0)
    w_us = window * 60_000_000
    per = defaultdict(list)
    for r in rows:
        us = int(r["chat_time"].timestamp() * 1_000_000)
        per[us // w_us].append(r)
    got = warehouse.broadcast_activity(wh, cid, bc, window_minutes=window)
    assert got.height == len(per)
    for row, widx in zip(got.iter_rows(named=True), sorted(per), strict=True):
        mine = per[widx]
        assert row["minute"] == datetime.fromtimestamp(widx * w_us / 1e6, UTC)
        assert row["offset_minutes"] == max(0, int((widx * w_us / 1e6 - first.timestamp()) // 60))
        assert row["messages"] == len(mine)
        assert row["chatters"] == len({r["user_id"] for r in mine if is_chatter(r)})
        assert row["amount"] == sum(r["pay_amount"] or 0 for r in mine if r["message_type"] == "donation")
    assert {r["minute"].date() for r in got.iter_rows(named=True)} != {got["minute"][0].date()}  # two days


def test_broadcast_top_chatters_and_donors(lake):
    wh, facts = lake
    cid, bc = _pick(facts, 4)
    rows = _broadcast_rows(facts, cid, bc)
    counts = Counter(r["user_id"] for r in rows if is_chatter(r))
    expected = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))[:5]
    top = warehouse.broadcast_top_chatters(wh, cid, bc, limit=5)
    assert list(zip(top["user_id"], top["messages"], strict=True)) == expected
    assert top["share"][0] == pytest.approx(expected[0][1] / len(rows))
    assert top["rank"].to_list() == [1, 2, 3, 4, 5]

    amounts: dict = defaultdict(lambda: [0, 0])
    for r in rows:
        if r["message_type"] == "donation":
            anon = bool(r["is_anonymous"]) or r["user_id"] == "anonymous"
            key = None if anon else r["user_id"]
            amounts[key][0] += 1
            amounts[key][1] += r["pay_amount"] or 0
    donors = warehouse.broadcast_donors(wh, cid, bc)
    assert {(u, n, a) for u, n, a in donors.select("user_id", "donations", "amount").iter_rows()} == {
        (k, n, a) for k, (n, a) in amounts.items()}
    assert donors["amount"].to_list() == sorted(donors["amount"].to_list(), reverse=True)
    assert "익명" in donors["donor"].to_list()


def test_broadcast_peaks_are_the_broadcasts_own(lake):
    wh, facts = lake
    cid, bc = _pick(facts, 2)
    rows = _broadcast_rows(facts, cid, bc)
    per_minute = Counter(r["chat_time"].replace(second=0, microsecond=0) for r in rows)
    top = warehouse.broadcast_peaks(wh, cid, bc, limit=3)
    assert set(top["broadcast"]) == {bc}
    assert top["messages"].to_list() == sorted(per_minute.values(), reverse=True)[:3]
    first = min(per_minute)
    assert top["offset_from_start"][0] == (top["minute"][0] - first) // timedelta(minutes=1)


def test_broadcast_timeline_with_polls_marks_changes(lake):
    wh, facts = lake
    cid, bc = _pick(facts, 0)
    tl = warehouse.broadcast_timeline(wh, cid, bc)
    assert tl["event"].to_list() == ["open"] + ["poll"] * len(POLLS_0) + ["close"]
    polls = tl.filter(pl.col("event") == "poll")
    assert polls["live_title"].to_list() == [p[1] for p in POLLS_0]
    assert polls["viewers"].to_list() == [p[3] for p in POLLS_0]
    assert polls["title_changed"].to_list() == [True, False, True, False]
    assert polls["category_changed"].to_list() == [True, False, False, True]
    first_line = min(r["chat_time"] for r in _broadcast_rows(facts, cid, bc)).replace(second=0)
    start = facts["broadcasts"][0]["start"]
    assert polls["offset_minutes"].to_list() == [
        ((start + timedelta(minutes=p[0])) - first_line) // timedelta(minutes=1) for p in POLLS_0]
    # the API's openDate is 2 minutes before the broadcast's start: a negative offset
    assert tl["offset_minutes"][0] < 0


def test_broadcast_timeline_without_polls_and_without_session(lake):
    wh, facts = lake
    cid, bc = _pick(facts, 1)  # a live_session row, no polls
    tl = warehouse.broadcast_timeline(wh, cid, bc)
    ls = {r["chat_channel_id"]: r for r in facts["live_session"].to_pylist()}[bc]
    assert tl["event"].to_list() == ["open", "close"]
    assert tl["live_title"][0] == ls["live_title"] and tl["title_changed"][0]
    cid, bc = _pick(facts, 5)  # no live_session row at all
    assert warehouse.broadcast_timeline(wh, cid, bc).is_empty()


def test_markup_titles_come_back_as_typed(lake):
    wh, facts = lake
    tl = warehouse.broadcast_timeline(wh, facts["adv_channel"], facts["adv_broadcast"])
    assert tl.filter(pl.col("event") == "poll")["live_title"].to_list() == list(ADV_TITLES)


@pytest.mark.parametrize("fn", ["broadcast_activity", "broadcast_top_chatters", "broadcast_donors",
                                "broadcast_peaks", "broadcast_timeline"])
def test_unknown_broadcast_or_wrong_channel_gives_nothing(lake, fn):
    wh, facts = lake
    cid, bc = _pick(facts, 0)
    assert getattr(warehouse, fn)(wh, cid, "no-such-broadcast").is_empty()
    other = facts["channel_ids"][1]  # the broadcast is channel 0's: channel 1 does not have it
    assert getattr(warehouse, fn)(wh, other, bc).is_empty()


@pytest.mark.parametrize(("fn", "kwargs"), [("broadcast_activity", {"window_minutes": 0}),
                                            ("broadcast_peaks", {"by": "loudness"}),
                                            ("broadcast_peaks", {"window_minutes": 0})])
def test_bad_arguments_say_what_to_use(lake, fn, kwargs):
    wh, facts = lake
    cid, bc = _pick(facts, 0)
    with pytest.raises(ValueError, match="use"):
        getattr(warehouse, fn)(wh, cid, bc, **kwargs)


# ---- the sync exports live_session_poll ---------------------------------------------------

@pytest.mark.integration
def test_sync_exports_live_session_poll_and_the_timeline_reads_it(pg, tmp_path):
    from warehouse.sync.export import sync
    start = datetime(2026, 9, 5, 20, 0, tzinfo=KST)
    with pg.cursor() as cur:
        cur.execute("INSERT INTO stream_channel (channel_id, channel_name) VALUES (%s, '채널') RETURNING id",
                    ("c" * 32,))
        fk = cur.fetchone()[0]
        cur.execute("""INSERT INTO live_session (channel_fk, chat_channel_id, opened_at, closed_at, live_title,
                                                 live_category_value, close_reason)
                       VALUES (%s, 'cc1', %s, %s, '둘째 제목', '게임', 'broadcast closed') RETURNING id""",
                    (fk, start, start + timedelta(hours=1)))
        sid = cur.fetchone()[0]
        for minutes, title, viewers in ((0, "첫 제목", 10), (5, "첫 제목", 12), (20, "둘째 제목", 30)):
            cur.execute("""INSERT INTO live_session_poll (session_fk, polled_at, status, live_title,
                                                          live_category_value, concurrent_user_count)
                           VALUES (%s, %s, 'OPEN', %s, '게임', %s)""",
                        (sid, start + timedelta(minutes=minutes), title, viewers))
        for k in range(3):
            cur.execute("""INSERT INTO stream_chat (channel_fk, chat_channel_id, user_id, nickname, message,
                                                    message_type, chat_time, dedupe_key, raw)
                           VALUES (%s, 'cc1', 'u1', '김치', '안녕', 'chat', %s, %s, '{}')""",
                        (fk, start + timedelta(minutes=k * 10), f"d{k}"))
    pg.commit()
    report = sync(pg, str(tmp_path))
    assert report.tables["live_session_poll"] == 3
    polls = pq.read_table(tmp_path / "live_session_poll" / "part-0.parquet").to_pylist()
    assert [p["concurrent_user_count"] for p in polls] == [10, 12, 30]
    with warehouse.open(str(tmp_path)) as wh:
        tl = warehouse.broadcast_timeline(wh, "c" * 32, "cc1")
        assert tl["event"].to_list() == ["open", "poll", "poll", "poll", "close"]
        changed = tl.filter(pl.col("title_changed"))
        assert changed["live_title"].to_list() == ["첫 제목", "둘째 제목"]
        assert changed["offset_minutes"].to_list() == [0, 20]
        assert warehouse.sync_status(wh)["tables"]["live_session_poll"] == 3
        assert warehouse.sync_status(wh)["last_sync"] is not None
