"""collector/chat_binary.py: the binary COPY stores exactly what the text COPY stores, or
the batch goes the text way (a real database; the text path is the reference)."""
from __future__ import annotations

import logging

import pytest

from collector import chat_binary, chat_copy, sink
from tests.chat_lines import sim_chats
from tests.sink_records import CHANNEL, NASTY, chat

pytestmark = pytest.mark.integration

COLUMNS = ", ".join(c for c in chat_copy.COLUMNS)


def _rows(pg) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute(f"SELECT {COLUMNS}, chat_time::text FROM stream_chat ORDER BY dedupe_key")  # noqa: S608 - constant names
        return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in cur.fetchall()]


def _stored_both_ways(pg, monkeypatch, records: list[dict]) -> tuple[list, list]:
    out = []
    for binary in (False, True):
        with pg, pg.cursor() as cur:
            cur.execute("TRUNCATE stream_chat")
        monkeypatch.setattr(sink, "COPY_BINARY", binary)
        report = sink.store(pg, [dict(r) for r in records])
        assert report.chat_inserted == len({r["dedupe_key"] for r in records})
        out.append(_rows(pg))
    return out[0], out[1]


def test_kinds_are_the_tables_types(pg):
    """One declaration of each copied column's type, held to the migrated table."""
    with pg.cursor() as cur:
        cur.execute("SELECT column_name, data_type FROM information_schema.columns WHERE table_name = 'stream_chat'")
        types = dict(cur.fetchall())
    assert set(chat_binary.KINDS) == set(chat_copy.COLUMNS)
    assert {c: types[c] for c in chat_copy.COLUMNS} == chat_binary.KINDS


def test_realistic_and_odd_lines_are_stored_the_same_either_way(pg, monkeypatch, caplog):
    odd = [chat(100 + i, message=t, nickname=t, os_type=t, raw={"msg": t, t: [t]}, badges=[{"t": t}])
           for i, t in enumerate(NASTY)]
    odd += [chat(200, nickname=5, message=True, user_role=1.5, is_anonymous=1, pay_amount=0, member_count=-2**31),
            chat(201, is_anonymous=0, subscription_month=2**31 - 1, message="x" * 5000, badges=None),
            chat(202, message="a\x00b", nickname="\x00", raw={"msg": "a\x00b"}),
            chat(203, message="half \ud800 surrogate", nickname="\udc00")]
    with caplog.at_level(logging.INFO, logger="collector.sink"):
        text, binary = _stored_both_ways(pg, monkeypatch, sim_chats(150) + odd)
    assert binary == text
    assert "copied as text" not in caplog.text  # all of them in binary
    assert len(binary) >= 150 + len(odd)


@pytest.mark.parametrize("override", [
    {"chat_time": "2026-09-30 23:10:59.5+09"},   # another spelling PostgreSQL reads
    {"pay_amount": "12"},                         # digits as text, read by int4's input function
    {"is_anonymous": "yes"},
    {"chat_time": "2026-09-30T14:10:60.000Z"},  # a leap second: PostgreSQL rolls it over
])
def test_a_value_only_the_text_format_reads_sends_the_batch_the_text_way(pg, monkeypatch, caplog, override):
    records = sim_chats(120) + [chat(7, **override)]
    with caplog.at_level(logging.INFO, logger="collector.sink"):
        text, binary = _stored_both_ways(pg, monkeypatch, records)
    assert binary == text
    assert "copied as text" in caplog.text


def test_a_value_neither_format_takes_fails_the_batch_as_before(pg, monkeypatch):
    for binary in (False, True):
        monkeypatch.setattr(sink, "COPY_BINARY", binary)
        with pytest.raises(Exception, match="out of range"):
            sink.store(pg, [chat(1), chat(2, member_count=2**40)])
        with pg.cursor() as cur:
            cur.execute("SELECT count(*) FROM stream_chat")
            assert cur.fetchone()[0] == 0


def test_replays_and_overlaps_are_stored_once_in_binary(pg, monkeypatch):
    """The fast COPY meets a stored key: the careful way (staging + ON CONFLICT) in binary."""
    monkeypatch.setattr(sink, "COPY_BINARY", True)
    lines = sim_chats(60)
    assert sink.store(pg, lines[:40]).chat_inserted == len({r["dedupe_key"] for r in lines[:40]})
    report = sink.store(pg, lines[20:] + lines[:5])  # a reconnect's overlap and a replay
    with pg.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT dedupe_key) FROM stream_chat")
        total, distinct = cur.fetchone()
    assert total == distinct == len({r["dedupe_key"] for r in lines})
    assert report.chat_inserted == total - len({r["dedupe_key"] for r in lines[:40]})


def test_rows_are_empty_for_no_rows_and_the_same_channel_is_one_constant():
    assert chat_binary.rows(chat_copy.COLUMNS, [[] for _ in chat_copy.COLUMNS]) == b""
    lines = [dict(c, channel_id=CHANNEL) for c in sim_chats(30)]
    one = chat_copy._binary(lines, {CHANNEL: 7}, [None] * len(lines), [b"z"] * len(lines), 3)
    assert one.count(b"\x00\x00\x00\x08\x00\x00\x00\x00\x00\x00\x00\x07") == len(lines)  # channel_fk 7, each row
