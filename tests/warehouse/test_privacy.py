"""Retention (PG_RETENTION_DAYS) and forget-user against a real PostgreSQL and a real lake;
the collector's sink honours the opt-out list."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from collector import forgotten, sink
from tests.compact_rows import json_columns, make_compact, make_jsonb
from tests.conftest import DATA
from tests.pghistory import D1, D2, D3, KST, channels, history, insert, lake_counts, part, pg_counts
from tests.privacy_scan import pg_user_rows
from warehouse.lake.layout import Lake
from warehouse.lake.state import SyncState
from warehouse.lake.tables import CHAT
from warehouse.sync import retention
from warehouse.sync.export import sync
from warehouse.sync.privacy import forget_user

ROOT = Path(__file__).resolve().parents[2]

TODAY = D3 + timedelta(days=1)  # keep 1 day: D1 and D2 are old enough to drop
VICTIM = "u3"                   # chats on every day in the fixture history




def _lake_users(root) -> set[str]:
    out = set()
    lake = Lake(str(root))
    for day in lake.days(CHAT):
        out |= set(lake.read(CHAT, day, columns=["user_id"]).column("user_id").to_pylist())
    return out


@pytest.mark.integration
def test_retention_drops_only_verified_days(pg, tmp_path):
    insert(pg, history())
    sync(pg, str(tmp_path))
    counts = pg_counts(pg)
    # D2's partition loses a row behind the sync's back: its count no longer matches
    lake = Lake(str(tmp_path))
    d2 = lake.read(CHAT, D2)
    lake.write(CHAT, d2.slice(1), D2)

    report = retention.apply(pg, str(tmp_path), keep_days=1, today=TODAY)
    assert report.dropped == {D1: counts[D1]}
    assert set(report.kept) == {D2} and "not in the lake" in report.kept[D2]
    assert pg_counts(pg) == {D2: counts[D2], D3: counts[D3]}
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM stream_chat_tombstone")
        assert cur.fetchone()[0] == 0, "retention deletes leave no tombstones"
    pg.rollback()
    assert lake.read_state()["archived_days"] == [D1.isoformat()]
    assert lake_counts(tmp_path)[D1] == counts[D1], "the lake keeps the dropped day"

    # the next sync does not touch the archived day; a late row is merged into it
    assert sync(pg, str(tmp_path)).days == []
    sync(pg, str(tmp_path), all_days=True)
    assert lake_counts(tmp_path)[D1] == counts[D1], "--all keeps archived partitions"
    insert(pg, [{"chat_time": datetime(2026, 9, 1, 20, 0, tzinfo=KST), "user_id": "late"}], old=False)
    assert [d.day for d in sync(pg, str(tmp_path)).days] == [D1]
    assert lake_counts(tmp_path)[D1] == counts[D1] + 1
    # retention drops that late row next time (the lake holds it), and D2, repaired by --all
    again = retention.apply(pg, str(tmp_path), keep_days=1, today=TODAY)
    assert again.dropped == {D1: 1, D2: counts[D2]} and again.kept == {}
    assert lake_counts(tmp_path)[D1] == counts[D1] + 1


@pytest.mark.integration
def test_retention_is_off_unless_set(pg, tmp_path, monkeypatch):
    insert(pg, history())
    report = sync(pg, str(tmp_path))
    monkeypatch.delenv("PG_RETENTION_DAYS", raising=False)
    assert retention.after_sync(pg, str(tmp_path), report) is None
    monkeypatch.setenv("PG_RETENTION_DAYS", "0")
    with pytest.raises(SystemExit, match="at least 1"):
        retention.after_sync(pg, str(tmp_path), report)
    monkeypatch.setenv("PG_RETENTION_DAYS", "36500")
    assert retention.after_sync(pg, str(tmp_path), report).dropped == {}
    assert pg_counts(pg) == lake_counts(tmp_path)


@pytest.mark.integration
def test_forget_user_everywhere_and_idempotent(pg, tmp_path):
    insert(pg, history())
    fks = channels(pg)
    with pg.cursor() as cur:
        cur.execute("INSERT INTO events (channel_fk, cmd, event_type, event_time, received_at, body, dedupe_key)"
                    " VALUES (%s, 93006, 'DONATION', %s, %s, %s, 'ev1'), (%s, 93006, 'DONATION', %s, %s, %s, 'ev2')",
                    (fks["a" * 32], datetime(2026, 9, 2, 10, tzinfo=KST), datetime(2026, 9, 2, 10, tzinfo=KST),
                     json.dumps({"userIdHash": VICTIM}), fks["a" * 32], datetime(2026, 9, 2, 11, tzinfo=KST),
                     datetime(2026, 9, 2, 11, tzinfo=KST), json.dumps({"userIdHash": "u33"})))
    pg.commit()
    sync(pg, str(tmp_path))
    # D1 becomes archived: the lake is the only copy, forget-user must still reach it
    retention.apply(pg, str(tmp_path), keep_days=2, today=TODAY)
    in_pg = pg_user_rows(pg, VICTIM)
    in_lake = sum(1 for d in Lake(str(tmp_path)).days(CHAT)
                  for u in Lake(str(tmp_path)).read(CHAT, d, ["user_id"]).column("user_id").to_pylist()
                  if u == VICTIM)
    assert 0 < in_pg < in_lake

    report = forget_user(pg, str(tmp_path), VICTIM, reason="ticket 42")
    assert report.newly_opted_out
    assert (report.pg_chat_rows, report.pg_events) == (in_pg, 1)
    assert report.lake_rows_removed == in_lake + 1  # chat rows and the event naming them
    assert report.partitions_rewritten == 4          # chat D1..D3 and events D2
    assert pg_user_rows(pg, VICTIM) == 0 and VICTIM not in _lake_users(tmp_path)
    events = pq.read_table(tmp_path / "events" / "day=2026-09-02" / "part-0.parquet").to_pylist()
    assert [json.loads(e["body"])["userIdHash"] for e in events] == ["u33"], "a longer id is not a match"
    state = Lake(str(tmp_path)).read_state()
    assert state["days"] == {d.isoformat(): n for d, n in lake_counts(tmp_path).items()}

    again = forget_user(pg, str(tmp_path), VICTIM)
    assert (again.newly_opted_out, again.pg_chat_rows, again.pg_events, again.partitions_rewritten,
            again.lake_rows_removed) == (False, 0, 0, 0, 0)
    with pg.cursor() as cur:
        cur.execute("SELECT reason FROM opt_out_user WHERE user_id = %s", (VICTIM,))
        assert cur.fetchone() == ("ticket 42",)
    pg.rollback()

    # the tombstones make the next sync rewrite the days; the user stays gone
    sync(pg, str(tmp_path))
    assert VICTIM not in _lake_users(tmp_path)
    assert lake_counts(tmp_path)[D3] == pg_counts(pg)[D3]


@pytest.mark.integration
def test_opted_out_user_is_neither_stored_nor_exported(pg, tmp_path):
    base = {"kind": "chat", "channel_id": "a" * 32, "chat_channel_id": "cc", "message_type": "chat",
            "msg_type_code": 1, "raw": {}, "nickname": "닉"}
    when = "2026-09-02T03:00:00.000Z"
    forgotten._opt_out_cache.clear()
    forget_user(pg, str(tmp_path), "gone")
    report = sink.store(pg, [{**base, "user_id": "gone", "message": "x", "chat_time": when, "dedupe_key": "k1"},
                             {**base, "user_id": "stay", "message": "y", "chat_time": when, "dedupe_key": "k2"}])
    assert report.chat_inserted == 1 and pg_user_rows(pg, "gone") == 0 and pg_user_rows(pg, "stay") == 1

    # a row that slipped in anyway (inserted before the list was re-read) is never exported
    insert(pg, [{"chat_time": datetime(2026, 9, 2, 12, tzinfo=KST), "user_id": "gone"}])
    sync(pg, str(tmp_path))
    assert _lake_users(tmp_path) == {"stay"}


@pytest.mark.integration
def test_sink_reads_the_list_in_every_store(pg, tmp_path):
    base = {"kind": "chat", "channel_id": "a" * 32, "chat_channel_id": "cc", "message_type": "chat",
            "msg_type_code": 1, "raw": {}, "user_id": "later", "chat_time": "2026-09-02T03:00:00.000Z"}
    forgotten._opt_out_cache.clear()
    sink.store(pg, [{**base, "dedupe_key": "a1"}])
    forget_user(pg, str(tmp_path), "later")
    assert sink.store(pg, [{**base, "dedupe_key": "a2"}]).chat_inserted == 0
    assert pg_user_rows(pg, "later") == 0


@pytest.mark.integration
def test_cli_forget_user_reports(pg_url, pg, tmp_path):
    insert(pg, history())
    env = {**os.environ, "DATABASE_URL": pg_url, "WAREHOUSE_DIR": str(tmp_path / "lake"), "LOG_LEVEL": "INFO"}
    assert subprocess.run([sys.executable, "-m", "warehouse", "sync"], cwd=ROOT, env=env,
                          capture_output=True, timeout=120).returncode == 0
    n = pg_user_rows(pg, VICTIM)
    # "자정" is a name of theirs only the operator knows: two bystanders' lines say it
    out = subprocess.run([sys.executable, "-m", "warehouse", "forget-user", VICTIM, "--nickname", "자정"], cwd=ROOT,
                         env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert (f"2 nickname(s); PostgreSQL: {n} chat rows and 0 events deleted, 2 other rows scrubbed; "
            f"lake: 3 partitions rewritten, {n} rows removed, 2 scrubbed") in out.stdout
    with pg.cursor() as cur:
        cur.execute("SELECT message FROM stream_chat WHERE user_id IN ('edge1', 'edge2') ORDER BY user_id")
        assert cur.fetchall() == [("[forgotten] 직전",), (None,)]
    pg.rollback()
    bad = subprocess.run([sys.executable, "-m", "warehouse", "forget-user", "anonymous"], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode != 0 and "not a single user" in bad.stderr


@pytest.mark.unit
def test_partition_rewrite_drops_only_that_user(tmp_path):
    from warehouse.sync.forget_lake import scrub_lake

    lake = Lake(str(tmp_path))
    rows = pa.Table.from_pylist([{"id": i, "user_id": u, "chat_time": datetime(2026, 9, 1, 1, i, tzinfo=KST)}
                                 for i, u in enumerate(["a", "b", None, "a"])])
    lake.write(CHAT, rows, date(2026, 9, 1))
    got = scrub_lake(lake, "a")
    assert (got.rewritten, got.removed, got.scrubbed) == (1, 2, 0)
    assert lake.read(CHAT, date(2026, 9, 1)).column("user_id").to_pylist() == ["b", None]
    assert got.counts == {"chat": {date(2026, 9, 1): 2}}  # the state's day counts follow (SyncState.counted)
    assert SyncState().counted("chat", got.counts["chat"]).to_dict()["days"] == {"2026-09-01": 2}
    got = scrub_lake(lake, "a")
    assert (got.rewritten, got.removed, got.scrubbed) == (0, 0, 0) and got.counts == {}
    assert not list(part(tmp_path, D1).parent.glob(".part-*"))


# The receiver of the recorded gift line (tests/data/frames/gift_lines_same_ms.json): the
# other recorded frames are given this person as sender, target and donation ranker.
VICTIM_ID, VICTIM_NICK = "6e4a492e6e057f8dc4ce3144fbc84649", "观众213"
OLD_NICK = "观众147"  # their name when a manager restricted them: only a system line's profile pairs it with the id
STREAMER = "17f0cfcba4ff608de5eabb5110d134d0"


def _sample(kind: str, frame: str) -> str:
    for line in (DATA / "samples.jsonl").read_text(encoding="utf-8").splitlines():
        rec = json.loads(line)
        if rec["_kind"] == kind and rec["_frame"] == frame and isinstance(rec.get("bdy"), (list, dict)):
            return json.dumps({k: v for k, v in rec.items() if not k.startswith("_")}, ensure_ascii=False)
    raise LookupError(kind)


def _victim_everywhere() -> list[str]:
    """Real frame shapes in which the victim is sender, gift receiver, restricted user
    (id and their former nickname nested in JSON strings in JSON strings), donation ranker,
    addressee."""
    live = (DATA / "frames" / "live_chat.json").read_text(encoding="utf-8")
    own = live.replace("bd86213f16ba6bcd45cfd862da5675f1", VICTIM_ID).replace("观众101", VICTIM_NICK)
    mention = json.loads(live)
    mention["bdy"][0].update(msg=f"@{VICTIM_NICK} 선물 고마워요 ({VICTIM_ID}, 전 {OLD_NICK})",
                             msgTime=mention["bdy"][0]["msgTime"] + 1)
    donation = json.loads(_sample("donation", "ws_in"))
    extras = json.loads(donation["bdy"][0]["extras"])
    extras["weeklyRankList"] = [{"userIdHash": VICTIM_ID, "nickName": VICTIM_NICK, "donationAmount": 1000, "ranking": 1}]
    donation["bdy"][0]["extras"] = json.dumps(extras, ensure_ascii=True)  # the nickname as \\u escapes
    restricted = (_sample("system_message", "ws_in") + "\n" + _sample("event", "ws_in"))
    restricted = restricted.replace("31a2c15a143fd05614f07bdd56b99398", VICTIM_ID)
    torn = own[: own.index(VICTIM_NICK) + 20]  # a frame cut short: a dead letter holding them
    return [own, json.dumps(mention, ensure_ascii=False), json.dumps(donation, ensure_ascii=False),
            (DATA / "frames" / "gift_lines_same_ms.json").read_text(encoding="utf-8"),
            _sample("subscription_gift_receiver", "ws_in"), *restricted.split("\n"), torn]


@pytest.mark.integration
@pytest.mark.parametrize("compact_half", [0, 1], ids=["even-ids-compact", "odd-ids-compact"])
def test_forget_user_leaves_no_trace_in_any_column_of_any_table_or_file(pg, tmp_path, compact_half):
    from collector.protocol import parse_frame
    from tests.privacy_scan import scan_lake, scan_pg

    records = [{**r, "channel_id": STREAMER} for f in _victim_everywhere() for r in parse_frame(f)]
    kinds = sorted(r["kind"] for r in records)
    assert kinds.count("chat") == 6 and kinds.count("event") == 2 and "dead_letter" in kinds
    forgotten._opt_out_cache.clear()
    sink.store(pg, records)
    # a table mixing both kinds of row (issue 17), each line compact in one of the two runs
    ids = sorted(json_columns(pg))
    make_jsonb(pg, ids[1 - compact_half::2])
    make_compact(pg, ids[compact_half::2])
    with pg, pg.cursor() as cur:  # a broadcast titled after them (small tables go to the lake too)
        cur.execute("INSERT INTO live_session (channel_fk, chat_channel_id, opened_at)"
                    " SELECT id, 'N2mCT0', now() FROM stream_channel WHERE channel_id = %s RETURNING id", (STREAMER,))
        cur.execute("INSERT INTO live_session_poll (session_fk, polled_at, status, live_title)"
                    " VALUES (%s, now(), 'OPEN', %s)", (cur.fetchone()[0], f"{VICTIM_NICK}님 구독 감사 방송"))
    sync(pg, str(tmp_path))
    them = (VICTIM_ID, VICTIM_NICK, OLD_NICK)
    before_pg, before_lake = scan_pg(pg, *them), scan_lake(tmp_path, *them)
    for column in ("user_id", "nickname", "gift_receiver_id", "gift_receiver_nickname", "raw", "raw_z", "message"):
        assert ("stream_chat", column) in before_pg, column  # the fixture really puts them there
    assert {("events", "body"), ("dead_letter", "raw"), ("live_session_poll", "live_title")} <= set(before_pg)
    assert {f for f, _ in before_lake} >= {"users/part-0.parquet", "user_tail/part-0.arrow",
                                             "live_session_poll/part-0.parquet"}

    assert OLD_NICK in before_pg.get(("stream_chat", "raw"), set()) | before_pg.get(("stream_chat", "raw_z"), set())
    report = forget_user(pg, str(tmp_path), VICTIM_ID)
    assert (report.pg_chat_rows, report.pg_events, report.nicknames) == (1, 2, 2)

    assert scan_pg(pg, *them) == {("opt_out_user", "user_id"): {VICTIM_ID}}, \
        "only the opt-out list may keep the id (it is how their new lines are refused)"
    assert scan_lake(tmp_path, *them) == {}
    # the gifter's line stays, without the receiver; the other receiver's line is untouched
    with pg.cursor() as cur:
        cur.execute("SELECT gift_receiver_id, gift_receiver_nickname, id FROM stream_chat"
                    " WHERE msg_type_code = 12 ORDER BY gift_receiver_id NULLS FIRST")
        (gone_id, gone_nick, gone_row), (kept_id, kept_nick, _) = cur.fetchall()
        gone_extras = json_columns(pg, [gone_row])[gone_row]["raw"]["extras"]
        cur.execute("SELECT message FROM stream_chat WHERE message LIKE '@%'")
        assert cur.fetchone()[0] == "@[forgotten] 선물 고마워요 ([forgotten], 전 [forgotten])"
    pg.rollback()
    assert (gone_id, gone_nick) == (None, None) and (kept_id, kept_nick) == ("7f5b5a3f7f168f9ed5df4255acd95750", "观众214")
    assert json.loads(gone_extras)["receiverUserIdHash"] is None and json.loads(gone_extras)["giftTierNo"] == 1
    # the next sync (the scrubbed rows count as changed) keeps it so
    sync(pg, str(tmp_path))
    assert scan_lake(tmp_path, *them) == {}


SCRUB_CASES = {  # value -> value after forgetting user "u3" called "감자튀김" and "ㅋ"
    "the id itself": ("u3", None),
    "a nickname itself": ("감자튀김", None),
    "a longer id is another user": ("u33 u3x x-u3 u3", "u33 u3x x-u3 [forgotten]"),
    "nickname with a particle": ("감자튀김님 안녕", "[forgotten]님 안녕"),
    "short nickname only as a word": ("ㅋㅋㅋ ㅋ", "ㅋㅋㅋ [forgotten]"),
    "JSON values": ('{"userIdHash": "u3", "nickName": "감자튀김", "n": 1}', '{"userIdHash": null, "nickName": null, "n": 1}'),
    "JSON string inside a JSON string": ('{"extras": "{\\"receiverUserIdHash\\":\\"u3\\",\\"giftTierNo\\":1}"}',
                                         '{"extras": "{\\"receiverUserIdHash\\":null,\\"giftTierNo\\":1}"}'),
    "escaped nickname in unparsable text": ('{"a":"\\uac10\\uc790\\ud280\\uae40', '{"a":"[forgotten]'),
    "another user's own name stays": ('{"userIdHash": "u9", "nickname": "감자튀김"}', '{"userIdHash": "u9", "nickname": "감자튀김"}'),
    "untouched": ("안녕하세요", "안녕하세요"),
}


@pytest.mark.unit
@pytest.mark.parametrize("before,after", list(SCRUB_CASES.values()), ids=list(SCRUB_CASES))
def test_scrub_value(before, after):
    from core.scrub import Target, scrub_value

    assert scrub_value(before, Target("u3", ("감자튀김", "ㅋ"))) == after


@pytest.mark.unit
def test_rows_keep_other_users_names_and_nicknames_are_found_next_to_the_id():
    from core.scrub import Target, nicknames_near, scrub_row

    target = Target("u3", ("김치",))
    other = {"user_id": "u9", "nickname": "김치", "message": "김치 맛있다", "gift_receiver_id": "u3",
             "gift_receiver_nickname": "김치"}
    assert scrub_row(other, target) == {"message": "[forgotten] 맛있다", "gift_receiver_id": None,
                                        "gift_receiver_nickname": None}
    raw = json.dumps({"uid": "anonymous", "extras": json.dumps({"receiverUserIdHash": "u3", "receiverNickname": "감자"}),
                      "profile": json.dumps({"userIdHash": "u9", "nickname": "남"})})
    assert nicknames_near({"user_id": "u9", "nickname": "남", "raw": raw}, "u3") == {"감자"}
    assert nicknames_near({"user_id": "u3", "nickname": "김치", "gift_receiver_nickname": "x"}, "u3") == {"김치"}


@pytest.mark.integration
def test_forget_user_stops_on_an_unreadable_partition_and_names_quarantined_files(pg, tmp_path):
    insert(pg, history())
    sync(pg, str(tmp_path))
    torn = part(tmp_path, D2)
    torn.write_bytes(torn.read_bytes()[:200])  # torn: neither footer nor pages
    with pytest.raises(RuntimeError, match=r"day=2026-09-02/part-0.parquet cannot be read .*nothing was changed.*"
                                           r"--day 2026-09-02"):
        forget_user(pg, str(tmp_path), VICTIM)
    assert pg_user_rows(pg, VICTIM) > 0, "PostgreSQL rolled back"
    moved = Lake(str(tmp_path)).quarantine(CHAT, D2)
    report = forget_user(pg, str(tmp_path), VICTIM)
    assert report.unchecked == [moved] and report.pg_chat_rows > 0 and pg_user_rows(pg, VICTIM) == 0


@pytest.mark.integration
def test_new_lines_naming_an_opted_out_user_are_stored_without_them(pg, tmp_path):
    from collector.protocol import parse_frame
    from tests.privacy_scan import scan_lake, scan_pg

    forgotten._opt_out_cache.clear()
    forget_user(pg, str(tmp_path), VICTIM_ID)  # forgotten before any line of theirs was collected
    records = [{**r, "channel_id": STREAMER} for f in _victim_everywhere() for r in parse_frame(f)]
    report = sink.store(pg, records)  # their own line teaches the sink their name; the rest names them
    assert (report.chat_inserted, report.events) == (5, 0)  # the events are about them (forget-user drops those)
    live = json.loads((DATA / "frames" / "live_chat.json").read_text(encoding="utf-8"))
    live["bdy"][0].update(msg=f"{VICTIM_NICK}님 어디 갔어요", msgTime=live["bdy"][0]["msgTime"] + 2)
    later = [{**r, "channel_id": STREAMER} for r in parse_frame(json.dumps(live, ensure_ascii=False))]
    assert sink.store(pg, later).chat_inserted == 1  # a later batch: the name is remembered
    sync(pg, str(tmp_path))

    them = (VICTIM_ID, VICTIM_NICK, OLD_NICK)
    assert scan_pg(pg, *them) == {("opt_out_user", "user_id"): {VICTIM_ID}}
    assert scan_lake(tmp_path, *them) == {}
    with pg.cursor() as cur:  # the bystanders' lines stay; the other receiver is untouched
        cur.execute("SELECT gift_receiver_id, gift_receiver_nickname FROM stream_chat WHERE msg_type_code = 12"
                    " ORDER BY gift_receiver_id NULLS FIRST")
        assert cur.fetchall() == [(None, None), ("7f5b5a3f7f168f9ed5df4255acd95750", "观众214")]
        cur.execute("SELECT message FROM stream_chat WHERE message LIKE '%[forgotten]%' ORDER BY message")
        assert [m for (m,) in cur.fetchall()] == ["@[forgotten] 선물 고마워요 ([forgotten], 전 [forgotten])",
                                                 "[forgotten]님 어디 갔어요"]
    pg.rollback()


WATCH_CASES = {  # text -> whether the sink's pre-check picks it (user "u3" known as 감자튀김, abc and ㅋ)
    "the id as a token": ('{"uid":"u3"}', True),
    "a longer id is not it": ("u33 x-u3x", False),
    "a nickname inside a word": ("감자튀김님 안녕", True),
    "a nickname as JSON escapes": ('{"extras":"{\\"n\\":\\"\\uac10\\uc790\\ud280\\uae40\\"}"}', True),
    "an ASCII nickname as a word": ("@abc 고마워요", True),
    "a short nickname as a word": ('{"msg":"\\nㅋ 진짜"}', True),
    "a short nickname inside a word": ("ㅋㅋㅋ", False),
    "nobody": ("안녕하세요 abcd", False),
}


@pytest.mark.unit
@pytest.mark.parametrize("text,named", list(WATCH_CASES.values()), ids=list(WATCH_CASES))
def test_watchlist_precheck(text, named):
    from core.scrub import Watchlist

    watch = Watchlist(["u3", "u9"], {"u3": {"감자튀김", "abc", "ㅋ"}})
    assert watch.named_in(text) == ({"u3"} if named else set())
    assert watch.learned({"u9": {"새이름"}}).named_in("새이름님") == {"u9"}
