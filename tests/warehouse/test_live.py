"""The live overlay (Warehouse(live=True)) and the message-type filter (types=…) against a
real PostgreSQL: after a sync, new rows for today, late rows for a synced day, a blind, a
deletion, a new channel and an opted-out user; every API answer with live=True must equal
the answer of a lake freshly synced from the same PostgreSQL."""
from __future__ import annotations

import inspect
import json
import logging
import random
import shutil
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import psycopg2.extras
import pyarrow.dataset as pads
import pytest
from polars.testing import assert_frame_equal

import warehouse
from tests.compact_rows import json_columns, make_compact
from tests.s3lake import s3_lake, s3_server  # noqa: F401 - fixtures
from warehouse.read import live
from warehouse.read.accelerators import USERS
from warehouse.sync.export import sync

pytestmark = pytest.mark.integration
KST = ZoneInfo("Asia/Seoul")
CHANNELS = {"a" * 32: "침착맨", "b" * 32: "풍월량", "c" * 32: "새 채널"}
NOW = datetime.now(UTC)
TODAY = NOW.astimezone(KST).date()
D1, D2, D3 = (TODAY - timedelta(days=n) for n in (3, 2, 1))
_TYPES = ("chat", "chat", "chat", "donation", "subscription", "sticker", "image", "subscription_gift")
_COLS = ("channel_fk", "chat_channel_id", "user_id", "nickname", "message", "message_type",
         "chat_time", "created_at", "subscription_tier", "subscription_month", "pay_amount",
         "raw", "dedupe_key")


def _channel_fks(pg, channel_ids) -> dict[str, int]:
    with pg.cursor() as cur:
        psycopg2.extras.execute_values(
            cur, "INSERT INTO stream_channel (channel_id, channel_name) VALUES %s ON CONFLICT DO NOTHING",
            [(c, CHANNELS[c]) for c in channel_ids])
        cur.execute("SELECT channel_id, id FROM stream_channel")
        return dict(cur.fetchall())


def _rows(seed: int, n: int, start: datetime, span: timedelta, channels: str = "ab") -> list[dict]:
    """n varied lines between start and start + span: types, subscribers, donations,
    anonymous and system lines, Korean nicknames."""
    rnd = random.Random(seed)
    out = []
    for i in range(n):
        user = rnd.choice([f"u{k}" for k in range(8)] + ["anonymous", "SYSTEM_MESSAGE"])
        kind = "system" if user == "SYSTEM_MESSAGE" else rnd.choice(_TYPES)
        ch = rnd.choice(channels) * 32
        out.append({
            "channel": ch, "cid": f"cid-{ch[0]}-{seed % 2}", "user_id": user,
            "nickname": f"{'김이박'[int(user[1]) % 3] if user[0] == 'u' else '익명'}{user}",
            "message": f"메시지 {seed}-{i} {'ㅋ' * rnd.randint(0, 3)}", "message_type": kind,
            "chat_time": start + span * rnd.random(),
            "tier": rnd.choice([None, 1, 2]) if kind in ("chat", "subscription") else None,
            "month": rnd.choice([None, 3, 14]) if kind in ("chat", "subscription") else None,
            "pay": rnd.choice([1000, 5000]) if kind == "donation" else None,
            "key": f"k{seed}-{i}"})
    return out


def _insert(pg, rows: list[dict], old: bool) -> None:
    """old=True: created_at one second after chat_time (history the last sync saw);
    old=False: created_at now() (collected since)."""
    fks = _channel_fks(pg, sorted({r["channel"] for r in rows}))
    values = [(fks[r["channel"]], r["cid"], r["user_id"], r["nickname"], r["message"], r["message_type"],
               r["chat_time"], r["chat_time"] + timedelta(seconds=1) if old else datetime.now(UTC),
               r["tier"], r["month"], r["pay"], json.dumps({"msg": r["message"]}, ensure_ascii=False),
               r["key"]) for r in rows]
    with pg.cursor() as cur:
        psycopg2.extras.execute_values(cur, "INSERT INTO stream_chat (" + ", ".join(_COLS) + ") VALUES %s", values)
    pg.commit()


def _day_start(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=KST)


def _history(pg) -> None:
    for seed, day in enumerate((D1, D2, D3)):
        _insert(pg, _rows(seed, 150, _day_start(day) + timedelta(hours=1), timedelta(hours=20)), old=True)


def _changes(pg) -> None:
    """What happens after the sync: today's broadcast (with a new channel and a user who
    opted out), late lines for D1, a blind on D2 (updated_at only), a deletion on D3.
    Today's lines and half the late ones are compact (raw as a zstd frame), as the collector
    stores them since issue 17."""
    today = _rows(10, 200, NOW - timedelta(minutes=30), timedelta(minutes=29), channels="abc")
    today += [dict(r, user_id="gone", nickname="탈퇴", key=r["key"] + "-gone") for r in today[:5]]
    _insert(pg, today, old=False)
    late = _rows(11, 20, _day_start(D1) + timedelta(hours=22), timedelta(hours=1))
    _insert(pg, late, old=False)
    with pg.cursor() as cur:
        cur.execute("SELECT id FROM stream_chat WHERE dedupe_key = ANY(%s)",
                    ([r["key"] for r in today + late[::2]],))
        make_compact(pg, [r[0] for r in cur.fetchall()])
    with pg.cursor() as cur:
        cur.execute("INSERT INTO opt_out_user (user_id) VALUES ('gone')")
        cur.execute("UPDATE stream_chat SET message_status = 'BLIND', blind_type = 'BLIND'"
                    " WHERE id = (SELECT min(id) FROM stream_chat WHERE (chat_time AT TIME ZONE 'Asia/Seoul')::date = %s"
                    " AND message_type = 'chat')", (D2,))
        cur.execute("DELETE FROM stream_chat WHERE id IN (SELECT id FROM stream_chat"
                    " WHERE (chat_time AT TIME ZONE 'Asia/Seoul')::date = %s ORDER BY id LIMIT 7)", (D3,))
    pg.commit()


def _answers(wh, skip: tuple[str, ...] = ()) -> dict:
    """Every analyst function's answer with default filters (user and keyword functions
    for a user and a word present in the data)."""
    out = {}
    first = warehouse.broadcast_list(wh).sort("channel_id", "broadcast").row(0, named=True)
    for name in warehouse.__all__:
        fn = getattr(warehouse, name)
        if not inspect.isfunction(fn) or name == "open" or name in skip:
            continue
        if name == "channel_report":
            continue  # a Report of the answers below (warehouse/report/figures.py), not a frame
        if fn.__module__ == "warehouse.read.queries.catalog" or name == "sync_status":
            continue  # describe the lake's files and state.json, not the rows: no overlay
        required = [p for p in list(inspect.signature(fn).parameters.values())[1:]
                    if p.default is inspect.Parameter.empty]
        arg = {"user_id": "u3", "keyword": "ㅋㅋ", "query": "김",
               "channel_id": first["channel_id"], "broadcast": first["broadcast"]}
        out[name] = fn(wh, *[arg[p.name] for p in required])
    out["user_messages_anon"] = warehouse.user_messages(wh, "anonymous", limit=50)
    out["activity_minute"] = warehouse.activity(wh, every="minute")
    out["search_id"] = warehouse.search_users(wh, "u5")
    return out


def _assert_same(got: dict, want: dict) -> None:
    assert got.keys() == want.keys()
    for name in want:
        try:
            if isinstance(want[name], tuple):
                assert got[name] == want[name]
            else:
                assert_frame_equal(got[name], want[name])
        except AssertionError as exc:
            raise AssertionError(f"{name}: {exc}") from None


@pytest.fixture
def lakes(pg, tmp_path):
    """(lake synced before the changes, its answers then, lake freshly synced after them)."""
    _history(pg)
    synced = str(tmp_path / "synced")
    sync(pg, synced)
    with warehouse.open(synced) as wh:
        before = _answers(wh)
    _changes(pg)
    fresh = str(tmp_path / "fresh")
    sync(pg, fresh)
    return synced, before, fresh


def test_live_equals_a_fresh_sync(lakes, pg):
    synced, before, fresh = lakes
    with warehouse.open(fresh) as wh:
        want = _answers(wh)
    with warehouse.open(synced, live=True) as wh:
        info = wh.live_info
        assert info["enabled"] and info["error"] is None
        assert info["days"] == [D1, D2, D3, TODAY]
        with warehouse.open(fresh) as f:
            fresh_counts = warehouse.daily_counts(f)
        assert info["rows"] == fresh_counts.filter(fresh_counts["day"].is_in(info["days"]))["messages"].sum()
        assert abs(info["read_at"] - datetime.now(UTC)) < timedelta(minutes=5)
        assert not wh.lake_only() and wh.accelerator(USERS) is None  # the index lacks PostgreSQL's rows
        _assert_same(_answers(wh), want)
        assert "새 채널" in warehouse.list_channels(wh)["channel_name"].to_list()
        assert "gone" not in wh.sql("SELECT DISTINCT user_id FROM chat")["user_id"].to_list()
        blinded = wh.sql("SELECT count(*) AS n FROM chat WHERE message_status = 'BLIND'")["n"][0]
        assert blinded == 1
        raws, stored = dict(wh.sql("SELECT id, raw FROM chat").iter_rows()), json_columns(pg)
        assert sum(stored[i]["compact"] for i in raws) == 200 + 10  # the overlay read compact rows
        assert {i: json.loads(r) for i, r in raws.items()} == {i: stored[i]["raw"] for i in raws}
    # the overlay changed nothing in the lake, and without live the lake answers as before
    with warehouse.open(synced) as wh:
        assert wh.live_info == live.off_info() and wh.lake_only() and wh.accelerator(USERS) is not None
        _assert_same(_answers(wh), before)
    assert before["list_channels"]["messages"].sum() != want["list_channels"]["messages"].sum()


def test_live_in_another_display_zone(lakes):
    # partitions are Seoul days whatever zone the dashboard shows times in
    synced, _, fresh = lakes
    with warehouse.open(synced, tz="America/New_York", live=True) as wh, \
            warehouse.open(fresh, tz="America/New_York") as want:
        assert wh.live_info["days"] == [D1, D2, D3, TODAY]
        _assert_same(_answers(wh), _answers(want))


def test_refresh_rereads_and_a_sync_is_picked_up(lakes, pg, tmp_path):
    synced, _, _ = lakes
    with warehouse.open(synced, live=True) as wh:
        n0 = warehouse.list_channels(wh)["messages"].sum()
        _insert(pg, _rows(12, 30, NOW - timedelta(minutes=5), timedelta(minutes=4)), old=False)
        assert warehouse.list_channels(wh)["messages"].sum() == n0  # until refresh()
        wh.refresh()
        n1 = warehouse.list_channels(wh)["messages"].sum()
        user_lines = sum(1 for r in _rows(12, 30, NOW, timedelta(0)) if r["user_id"] != "SYSTEM_MESSAGE")
        assert n1 == n0 + user_lines
        # the nightly sync runs under an open Warehouse: nothing counted twice, nothing lost,
        # and the overlay is read again against the new state
        read_at = wh.live_info["read_at"]
        sync(pg, synced)
        assert warehouse.list_channels(wh)["messages"].sum() == n1
        assert wh.live_info["read_at"] > read_at
        # (days touched within the sync's overlap are read again: still exact)
        assert set(wh.live_info["days"]) <= {D1, D2, D3, TODAY}
        again = str(tmp_path / "again")
        sync(pg, again)
        with warehouse.open(again) as fresh:
            _assert_same(_answers(wh), _answers(fresh))


def test_postgres_down_leaves_the_lake_answering(lakes, monkeypatch, caplog):
    synced, before, _ = lakes
    monkeypatch.setenv("DATABASE_URL", "postgresql://alice:s3cr3t-pw@127.0.0.1:1/chzzk")
    caplog.set_level(logging.DEBUG)
    with warehouse.open(synced, live=True) as wh:
        info = wh.live_info
        assert info["enabled"] and info["days"] == [] and info["rows"] == 0
        assert info["error"] and "\n" not in info["error"] and "127.0.0.1" in info["error"]
        _assert_same(_answers(wh), before)
        wh.refresh()
        assert wh.live_info["error"]
    assert "s3cr3t" not in info["error"] and "s3cr3t" not in caplog.text
    assert "PostgreSQL not readable" in caplog.text


def test_a_lake_too_far_behind_is_refused_with_a_reason(lakes, monkeypatch):
    """More days waiting than LIVE_MAX_DAYS: nothing is read from PostgreSQL, the lake
    answers alone, and the reason names the days and the sync to run."""
    synced, before, _ = lakes
    monkeypatch.setenv("LIVE_MAX_DAYS", "3")  # the changes touched 4 days
    with warehouse.open(synced, live=True) as wh:
        info = wh.live_info
        assert info["days"] == [] and info["rows"] == 0 and wh.overlay_days() == set()
        assert info["error"].startswith(f"PostgreSQL holds 4 day(s) the lake has not synced ({D1} .. {TODAY})")
        assert "LIVE_MAX_DAYS=3" in info["error"] and "python -m warehouse sync" in info["error"]
        _assert_same(_answers(wh), before)
    monkeypatch.setenv("LIVE_MAX_DAYS", "4")
    with warehouse.open(synced, live=True) as wh:
        assert wh.live_info["error"] is None and wh.live_info["days"] == [D1, D2, D3, TODAY]
    monkeypatch.setenv("LIVE_MAX_DAYS", "0")  # no limit
    with warehouse.open(synced, live=True) as wh:
        assert wh.live_info["error"] is None and len(wh.live_info["days"]) == 4


def test_more_rows_than_live_max_rows_are_refused_midway(lakes, monkeypatch):
    """More rows waiting than LIVE_MAX_ROWS: the read stops once past the cap (the day's
    COPY drained, the connection sound), the lake answers alone, the reason names the cap
    and the sync to run; under the cap the overlay is read as before."""
    synced, before, _ = lakes
    with warehouse.open(synced, live=True) as wh:
        rows = wh.live_info["rows"]
    assert rows > 2
    reads = []
    real = live._with_day
    monkeypatch.setattr(live, "_with_day", lambda data, day, budget=None: reads.append(budget) or real(data, day, budget))
    monkeypatch.setenv("LIVE_MAX_ROWS", str(rows - 1))
    with warehouse.open(synced, live=True) as wh:
        info = wh.live_info
        assert info["days"] == [] and info["rows"] == 0 and wh.overlay_days() == set()
        assert info["error"].startswith(f"PostgreSQL holds more than LIVE_MAX_ROWS={rows - 1} rows in the 4 day(s)")
        assert "python -m warehouse sync" in info["error"]
        _assert_same(_answers(wh), before)
    assert reads[0] == rows - 1 and all(b is not None and b < rows for b in reads)
    reads.clear()
    monkeypatch.setenv("LIVE_MAX_ROWS", "1")  # the first day alone passes it: nothing after it is read
    with warehouse.open(synced, live=True) as wh:
        assert wh.live_info["error"] and "LIVE_MAX_ROWS=1 " in wh.live_info["error"]
    assert reads == [1]
    for cap in (str(rows), "0"):  # at the cap, and no cap
        monkeypatch.setenv("LIVE_MAX_ROWS", cap)
        with warehouse.open(synced, live=True) as wh:
            assert wh.live_info["error"] is None and wh.live_info["rows"] == rows


@pytest.mark.unit
@pytest.mark.parametrize("message, secret", [
    ("connection to postgresql://bob:hunter2@db:5432/x failed", "hunter2"),
    ("invalid dsn: host=db password=hunter2 dbname=x", "hunter2"),
    ("bad option password='hunter 2' host=db", "hunter 2"),
])
def test_error_line_masks_passwords(message, secret):
    text = live.describe_error(RuntimeError(message + "\nsecond line"))
    assert secret not in text and "***" in text and "second line" not in text


def _python_counts(root: str, types: set[str] | None) -> dict[str, tuple[int, int]]:
    """channel_id -> (messages, chatters) straight from the Parquet files, in plain Python."""
    rows = pads.dataset(root + "/chat", format="parquet", partitioning="hive").to_table().to_pylist()
    msgs: dict[str, int] = {}
    users: dict[str, set] = {}
    for r in rows:
        if r["user_id"] == "SYSTEM_MESSAGE" or (types is not None and r["message_type"] not in types):
            continue
        msgs[r["channel_id"]] = msgs.get(r["channel_id"], 0) + 1
        users.setdefault(r["channel_id"], set())
        if r["user_id"] != "anonymous":
            users[r["channel_id"]].add(r["user_id"])
    return {c: (n, len(users[c])) for c, n in msgs.items()}


@pytest.mark.parametrize("types", [["chat"], ["donation", "subscription"], ["sticker", "image", "system"], []])
def test_types_filter_matches_python(lakes, types):
    synced, _, fresh = lakes
    for root, is_live in ((synced, False), (synced, True)):
        with warehouse.open(root, live=is_live, types=types) as wh:
            assert wh.accelerator(USERS) is None
            got = {r["channel_id"]: (r["messages"], r["chatters"])
                   for r in warehouse.list_channels(wh).iter_rows(named=True) if r["messages"]}
            want = _python_counts(fresh if is_live else root, set(types))
            assert got == want
            kinds = set(wh.sql("SELECT DISTINCT message_type FROM chat")["message_type"])
            assert kinds <= set(types)
            hits = warehouse.search_users(wh, "김")
            for row in hits.iter_rows(named=True):
                mine = warehouse.user_messages(wh, row["user_id"], limit=10_000)
                assert mine.height == row["messages"] and set(mine["message_type"]) <= set(types)


def test_types_all_equals_no_filter(lakes):
    synced, before, _ = lakes
    with warehouse.open(synced, types=live.TYPES) as wh:
        _assert_same(_answers(wh), before)


@pytest.mark.parametrize("bad, hint", [("chat", "list of message types"), (["chat", "bogus"], "'bogus'"),
                                       ([None], "None")])
def test_bad_types_are_refused(tmp_path, bad, hint):
    with pytest.raises(ValueError, match=hint):
        warehouse.open(str(tmp_path), types=bad)


def test_live_over_an_empty_lake_and_a_lake_whose_days_are_all_live(pg, tmp_path):
    _history(pg)
    empty = str(tmp_path / "empty")
    fresh = str(tmp_path / "fresh")
    sync(pg, fresh)
    with warehouse.open(empty, live=True) as wh, warehouse.open(fresh) as want:
        assert wh.live_info["days"] == [D1, D2, D3]  # no sync yet: every day is PostgreSQL's
        _assert_same(_answers(wh), _answers(want))
    # a lake whose every day is touched: the lake side is empty, the views still work
    copy = str(tmp_path / "copy")
    shutil.copytree(fresh, copy)
    with pg.cursor() as cur:
        cur.execute("UPDATE stream_chat SET message_status = 'HIDDEN' WHERE id IN"
                    " (SELECT min(id) FROM stream_chat GROUP BY (chat_time AT TIME ZONE 'Asia/Seoul')::date)")
    pg.commit()
    sync(pg, fresh)
    with warehouse.open(copy, live=True) as wh, warehouse.open(fresh) as want:
        assert wh.live_info["days"] == [D1, D2, D3]
        _assert_same(_answers(wh), _answers(want))


def test_live_over_an_s3_lake(pg, s3_lake, tmp_path):  # noqa: F811 - the imported fixture
    root = s3_lake[0]
    _history(pg)
    sync(pg, root)
    _changes(pg)
    fresh = str(tmp_path / "fresh")
    sync(pg, fresh)
    with warehouse.open(root, live=True) as wh, warehouse.open(fresh) as want:
        assert wh.live_info["days"] == [D1, D2, D3, TODAY]
        # coverage and the broadcast reports read the small capture/session tables too
        # (copied locally from S3, since DuckDB's httpfs is not installable here)
        _assert_same(_answers(wh), _answers(want))


def test_late_rows_for_an_archived_day(pg, tmp_path):
    """Retention dropped D1 from PostgreSQL (the lake is its only copy): late lines for D1
    are merged with the lake's rows, as the next sync merges them."""
    from warehouse.sync import retention

    _history(pg)
    synced = str(tmp_path / "synced")
    sync(pg, synced)
    report = retention.apply(pg, synced, keep_days=2, today=TODAY)
    assert list(report.dropped) == [D1]
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM stream_chat WHERE (chat_time AT TIME ZONE 'Asia/Seoul')::date = %s", (D1,))
        assert cur.fetchone()[0] == 0
    pg.rollback()
    _insert(pg, _rows(13, 15, _day_start(D1) + timedelta(hours=23), timedelta(minutes=30)), old=False)
    next_sync = str(tmp_path / "next")
    shutil.copytree(synced, next_sync)
    sync(pg, next_sync)
    with warehouse.open(synced, live=True) as wh, warehouse.open(next_sync) as want:
        assert D1 in wh.live_info["days"]
        counts = warehouse.daily_counts(want)
        assert wh.live_info["rows"] == counts.filter(counts["day"].is_in(wh.live_info["days"]))["messages"].sum()
        _assert_same(_answers(wh), _answers(want))
