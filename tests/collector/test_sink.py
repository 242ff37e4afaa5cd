"""The PostgreSQL sink against a real database: COPY + ON CONFLICT, blinds, events,
dead letters, and text that must round-trip exactly."""
from __future__ import annotations

import json

import psycopg2
import pytest

from collector import sink
from collector.items import clean_json
from tests.conftest import DATA
from tests.sink_records import CHANNEL, NASTY, chat
from tests.stored_chat import json_of

pytestmark = pytest.mark.integration



def sample_records() -> list[dict]:
    """Every record the parser makes of the recorded websocket frames, channel filled in."""
    from collector.protocol import parse_frame

    records = []
    for line in DATA.joinpath("samples.jsonl").read_text(encoding="utf-8").splitlines():
        payload = {k: v for k, v in json.loads(line).items() if not k.startswith("_")}
        if "cmd" not in payload:
            continue
        for rec in parse_frame(json.dumps(payload, ensure_ascii=False)):
            if rec["kind"] in ("chat", "event") and not rec.get("channel_id"):
                rec["channel_id"] = CHANNEL
            records.append(rec)
    return records


def count(pg, table: str) -> int:
    with pg.cursor() as cur:
        cur.execute(f"SELECT count(*) FROM {table}")
        return cur.fetchone()[0]


def test_sample_frames_are_stored_once(pg):
    records = sample_records()
    chats = [r for r in records if r["kind"] == "chat"]
    keys = {r["dedupe_key"] for r in chats}
    assert chats, "the samples hold chat lines"

    first = sink.store(pg, records)
    assert first.chat_inserted == len(keys)
    assert first.chat_duplicates == len(chats) - len(keys)
    assert first.events == len({r["dedupe_key"] for r in records if r["kind"] == "event"})
    second = sink.store(pg, records)
    assert (second.chat_inserted, second.chat_duplicates, second.events) == (0, len(chats), 0)
    assert count(pg, "stream_chat") == len(keys)
    with pg.cursor() as cur:
        cur.execute("SELECT DISTINCT channel_id FROM stream_channel")
        assert {r[0] for r in cur.fetchall()} == {r["channel_id"] for r in chats}
    firsts = {}
    for r in chats:
        firsts.setdefault(r["dedupe_key"], r)
    with pg.cursor() as cur:  # compact: raw and badges only as zstd frames
        cur.execute("SELECT dedupe_key, raw IS NULL AND badges IS NULL AND raw_z IS NOT NULL"
                    " AND (badges_z IS NULL) = (%s::text[] @> ARRAY[dedupe_key]) FROM stream_chat ORDER BY id",
                    ([k for k, r in firsts.items() if r["badges"] is None],))
        stored = cur.fetchall()
    assert all(ok for _, ok in stored)
    assert [(raw, badges) for raw, badges, _ in json_of(pg)] == [
        (clean_json(firsts[k]["raw"]), clean_json(firsts[k]["badges"])) for k, _ in stored]


def test_blind_marks_the_stored_line_and_keeps_text(pg):
    line = chat(7, user_id="59def5da7a1d81fd130d21baf4b6404c", chat_channel_id="N2l_uf",
                chat_time="2026-09-28T13:53:42.968Z", message="to be hidden")
    other = chat(8, chat_channel_id="N2l_uf", chat_time="2026-09-28T13:53:42.968Z")
    sink.store(pg, [line, other])
    blind = {"kind": "blind", "chat_channel_id": "N2l_uf", "user_id": line["user_id"],
             "message_time": "2026-09-28T13:53:42.968Z", "blind_type": "BLIND", "raw": {}}
    report = sink.store(pg, [blind])
    assert report.blinds == 1
    with pg.cursor() as cur:
        cur.execute("SELECT user_id, message, message_status, blind_type, blinded_at IS NOT NULL "
                    "FROM stream_chat ORDER BY user_id")
        rows = {r[0]: r[1:] for r in cur.fetchall()}
    assert rows[line["user_id"]] == ("to be hidden", "BLIND", "BLIND", True)
    assert rows[other["user_id"]] == ("hello 8", "NORMAL", None, False)


def test_blind_in_the_same_batch_as_its_line(pg):
    line = chat(1)
    blind = {"kind": "blind", "chat_channel_id": line["chat_channel_id"], "user_id": line["user_id"],
             "message_time": line["chat_time"], "blind_type": "CBOTBLIND", "raw": {}}
    assert sink.store(pg, [line, blind]).blinds == 1
    with pg.cursor() as cur:
        cur.execute("SELECT message_status, blind_type FROM stream_chat")
        assert cur.fetchone() == ("CBOTBLIND", "CBOTBLIND")


def _seq_scans(pg) -> int:
    """stream_chat's sequential scans so far (this backend's counters flushed first)."""
    with pg.cursor() as cur:
        cur.execute("SELECT pg_stat_force_next_flush()")
    pg.commit()
    with pg.cursor() as cur:
        cur.execute("SELECT seq_scan FROM pg_stat_user_tables WHERE relname = 'stream_chat'")
        seen = cur.fetchone()[0]
    pg.commit()
    return seen


def test_blinds_and_settling_find_lines_by_index_on_a_table_never_analyzed(pg):
    """The statements after the COPY (blinds, mission and gift settling) carry an index
    condition: with no statistics (a new deployment, a bench's emptied table) the planner
    scanned the whole table once per batch for each (15-36 ms a batch at 20,000 lines; here it
    did from ~6,000 lines)."""
    sink.store(pg, [chat(i, dedupe_key=f"fill-{i}") for i in range(6000)])
    before = _seq_scans(pg)
    line = chat(1)
    blind = {"kind": "blind", "chat_channel_id": line["chat_channel_id"], "user_id": line["user_id"],
             "message_time": line["chat_time"], "blind_type": "BLIND", "raw": {}}
    money = [chat(5000, mission_id="m-1", donation_status="PENDING", dedupe_key="m-1a"),
             chat(5001, gift_id="g-1", gift_quantity=3, dedupe_key="g-1a")]
    report = sink.store(pg, [blind, *money])
    assert report.blinds == 1 and report.chat_inserted == 2
    assert _seq_scans(pg) == before


def test_event_and_dead_letter_land_in_their_tables(pg):
    event = {"kind": "event", "chat_channel_id": "N2mCH5", "cmd": 93006, "event_type": "TEMPORARY_RESTRICT",
             "event_time": "2026-09-30T15:32:39.639Z", "body": {"type": "TEMPORARY_RESTRICT", "times": 1},
             "dedupe_key": "ev-1", "raw": {}, "channel_id": CHANNEL}
    letter = {"kind": "dead_letter", "error": "not JSON", "raw": "{broken\x00"}
    report = sink.store(pg, [event, event, letter])
    assert (report.events, report.dead_letters) == (1, 1)
    with pg.cursor() as cur:
        cur.execute("SELECT e.cmd, e.event_type, e.body, c.channel_id FROM events e "
                    "JOIN stream_channel c ON c.id = e.channel_fk")
        assert cur.fetchall() == [(93006, "TEMPORARY_RESTRICT", {"type": "TEMPORARY_RESTRICT", "times": 1},
                                   CHANNEL)]
        cur.execute("SELECT error, raw FROM dead_letter")
        assert cur.fetchall() == [("not JSON", "{broken")]


@pytest.mark.parametrize("text", NASTY)
def test_text_round_trips_exactly_through_copy(pg, text):
    rec = chat(3, message=text, nickname=text, raw={"msg": text, text: [text]}, badges=[{"t": text}])
    sink.store(pg, [rec])
    with pg.cursor() as cur:
        cur.execute("SELECT message, nickname FROM stream_chat")
        assert cur.fetchone() == (text, text)
    assert json_of(pg) == [({"msg": text, text: [text]}, [{"t": text}], True)]


def test_nul_characters_are_stripped_not_fatal(pg):
    rec = chat(4, message="a\x00b", nickname="\x00", raw={"msg": "a\x00b", "k\x00": "\x00"})
    assert sink.store(pg, [rec]).chat_inserted == 1
    with pg.cursor() as cur:
        cur.execute("SELECT message, nickname FROM stream_chat")
        assert cur.fetchone() == ("ab", "")
    assert json_of(pg)[0][0] == {"msg": "ab", "k": ""}


def test_null_and_empty_text_stay_distinct(pg):
    sink.store(pg, [chat(5, message="", nickname=None, os_type=None, is_anonymous=False, pay_amount=0)])
    with pg.cursor() as cur:
        cur.execute("SELECT message, nickname, os_type, is_anonymous, pay_amount FROM stream_chat")
        assert cur.fetchone() == ("", None, None, False, 0)
    assert json_of(pg)[0][1] == [{"imageUrl": "https://x/b.png"}]


def test_old_jsonb_rows_and_compact_rows_side_by_side(pg):
    """A line stored before issue 17 (raw/badges jsonb) stays as it is, is still a duplicate
    when it comes again, and sits next to compact rows."""
    old = chat(1, raw={"msg": "before"}, badges=[{"b": 1}])
    with pg, pg.cursor() as cur:
        fk = sink.upsert_channels(pg, [{"channel_id": CHANNEL}])[CHANNEL]
        cur.execute("INSERT INTO stream_chat (channel_fk, message_type, chat_time, raw, badges, dedupe_key)"
                    " VALUES (%s, 'chat', %s, %s, %s, %s)",
                    (fk, old["chat_time"], json.dumps(old["raw"]), json.dumps(old["badges"]), old["dedupe_key"]))
    report = sink.store(pg, [old, chat(2)])
    assert (report.chat_inserted, report.chat_duplicates) == (1, 1)
    assert json_of(pg) == [({"msg": "before"}, [{"b": 1}], False), ({"msg": "hello 2"}, [{"imageUrl": "https://x/b.png"}], True)]


def test_a_batch_of_stored_and_new_lines_stores_the_new_once(pg):
    """The COPY straight into the table meets a stored line: the batch goes the careful way
    (staging + ON CONFLICT), with the same result; duplicates inside a batch count once."""
    assert sink.store(pg, [chat(1), chat(3)]).chat_inserted == 2
    report = sink.store(pg, [chat(2), chat(3), chat(4), chat(4), chat(1)])
    assert (report.chat_inserted, report.chat_duplicates) == (2, 3)
    with pg.cursor() as cur:
        cur.execute("SELECT dedupe_key FROM stream_chat ORDER BY dedupe_key")
        assert [r[0] for r in cur.fetchall()] == ["key-1", "key-2", "key-3", "key-4"]
    assert len(json_of(pg)) == 4


def test_the_careful_way_twice_in_one_session_leaves_no_rows_behind(pg):
    """A batch meeting stored keys goes through the session's staging table, made once and
    emptied by each commit: a second such batch on the same connection stores only its new
    line, and nothing stays staged."""
    sink.store(pg, [chat(1)])
    assert sink.store(pg, [chat(1), chat(2)]).chat_inserted == 1
    assert sink.store(pg, [chat(2), chat(3), chat(1)]).chat_inserted == 1
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM chat_staging")
        assert cur.fetchone()[0] == 0
    pg.rollback()
    assert count(pg, "stream_chat") == 3


@pytest.mark.parametrize("stored_before", [False, True])
def test_a_line_too_big_to_store_becomes_a_dead_letter(pg, monkeypatch, stored_before):
    """Found while its chunk is built (the COPY is done again without it); with a line
    stored before in the batch, the careful way goes on without it too."""
    from core import raw_codec

    if stored_before:
        sink.store(pg, [chat(3)])
    monkeypatch.setattr(raw_codec, "MAX_OUTPUT", 5000)
    big = chat(2, raw={"msg": "크" * 2000})  # 6,000 bytes as UTF-8
    report = sink.store(pg, [chat(1), big, chat(3)])
    assert (report.chat_inserted, report.chat_duplicates, report.dead_letters) == (
        (1, 1, 1) if stored_before else (2, 0, 1))
    assert count(pg, "stream_chat") == 2
    with pg.cursor() as cur:
        cur.execute("SELECT error, raw FROM dead_letter")
        error, raw = cur.fetchone()
    assert "6,010 bytes, over the 5,000 a stored line may hold" in error  # {"msg":"…"}
    assert json.loads(raw)["raw"] == big["raw"]  # nothing received is lost


def test_chat_without_channel_becomes_dead_letter_rest_is_kept(pg):
    orphan = chat(9, channel_id=None)
    report = sink.store(pg, [chat(1), orphan, chat(2)])
    assert (report.chat_inserted, report.dead_letters) == (2, 1)
    assert count(pg, "stream_chat") == 2
    with pg.cursor() as cur:
        cur.execute("SELECT source, error, raw FROM dead_letter")
        source, error, raw = cur.fetchone()
    assert source == "sink" and "channel_id" in error
    assert json.loads(raw)["dedupe_key"] == "key-9"


def test_failed_store_rolls_back_everything(pg):
    bad = chat(2, chat_time="not a time")
    with pytest.raises(psycopg2.DataError):
        sink.store(pg, [chat(1), bad, {"kind": "dead_letter", "error": "x", "raw": "y"}])
    assert count(pg, "stream_chat") == 0 and count(pg, "dead_letter") == 0
    assert sink.store(pg, [chat(1)]).chat_inserted == 1  # the connection is usable again


def test_upsert_channels_keeps_names(pg):
    with pg:
        ids = sink.upsert_channels(pg, [{"channel_id": CHANNEL, "channel_name": "김뿡"}])
    assert list(ids) == [CHANNEL]
    sink.store(pg, [chat(1)])
    with pg:
        again = sink.upsert_channels(pg, [{"channel_id": CHANNEL, "channel_name": None, "follower_count": 5}])
    assert ids == again
    with pg.cursor() as cur:
        cur.execute("SELECT channel_name, follower_count FROM stream_channel")
        assert cur.fetchall() == [("김뿡", 5)]


def test_failed_flush_keeps_records_in_order_for_the_next_one(pg_url, pg):
    from collector.buffer import Buffer, flush

    buffer = Buffer(max_events=3)
    buffer.add([chat(1), chat(2)])
    dead = psycopg2.connect(pg_url)
    dead.close()  # the database "went away"
    assert flush(buffer, lambda batch: sink.store(dead, batch)) is None
    assert len(buffer) == 2 and isinstance(buffer.last_error, psycopg2.InterfaceError)
    buffer.add([chat(3)])
    assert buffer.full.is_set()
    report = flush(buffer, lambda batch: sink.store(pg, batch))
    assert report.chat_inserted == 3 and len(buffer) == 0 and buffer.last_error is None
    with pg.cursor() as cur:
        cur.execute("SELECT dedupe_key FROM stream_chat ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == ["key-1", "key-2", "key-3"]
