"""Compact chat rows (issue 17: raw and badges as zstd frames, tests/compact_rows.py) through
the readers of stream_chat, against a real PostgreSQL and a real lake: the sync of a table
mixing both kinds gives the same JSON as stored, on the binary and the CSV path; a frame that
does not read back becomes a dead letter holding its bytes, its neighbours synced; forget-user
finds and scrubs a user named only inside a compressed raw, keeping the row's dictionary."""
from __future__ import annotations

import base64
import json
import logging
import sys
import threading
from datetime import UTC, datetime, timedelta

import psycopg2.extras
import pyarrow as pa
import pytest

from core import raw_codec
from tests.compact_rows import TEST_DICTIONARY, json_columns, make_compact
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.sync.export import sync
from warehouse.sync.privacy import forget_user

T0 = datetime(2026, 9, 1, 3, 0, tzinfo=UTC)  # 12:00 in Seoul: one day
VICTIM = "9c4e2f0d1b7a4e3c8f6a5b4c3d2e1f00"


def _raw(i: int) -> dict:
    """A raw item with the shapes that matter: Hangul, emoji, escapes, JSON kept in strings."""
    return {"msg": f"메시지 {i} 😀 \"따옴표\" \\ 끝", "msgTime": 1_790_000_000_000 + i, "uid": f"u{i % 4}",
            "profile": json.dumps({"userIdHash": f"u{i % 4}", "nickname": f"닉{i % 4}"}, ensure_ascii=False),
            "extras": json.dumps({"osType": "PC", "n": i}, ensure_ascii=i % 2 == 0)}


def _insert(pg, n: int, raw=_raw) -> list[int]:
    with pg.cursor() as cur:
        cur.execute("INSERT INTO stream_channel (channel_id, channel_name) VALUES (%s, '채널') RETURNING id", ("a" * 32,))
        fk = cur.fetchone()[0]
        ids = [r[0] for r in psycopg2.extras.execute_values(
            cur, "INSERT INTO stream_chat (channel_fk, user_id, nickname, message, message_type, chat_time, badges,"
                 " raw, dedupe_key) VALUES %s RETURNING id",
            [(fk, f"u{i % 4}", f"닉{i % 4}", f"메시지 {i}", "chat", T0 + timedelta(seconds=i),
              None if i % 5 == 0 else json.dumps([{"imageUrl": f"https://x/{i}.png"}]),
              json.dumps(raw(i), ensure_ascii=False), f"k{i}") for i in range(n)], fetch=True)]
    pg.commit()
    return ids


def _lake_json(root) -> dict[int, tuple]:
    lake = Lake(str(root))
    table = pa.concat_tables([lake.read(CHAT, day) for day in lake.days(CHAT)])
    return {i: (json.loads(r), None if b is None else json.loads(b))
            for i, r, b in zip(*(table.column(c).to_pylist() for c in ("id", "raw", "badges")), strict=True)}


@pytest.fixture(params=["binary", "csv"])
def path(request, monkeypatch):
    if request.param == "csv":  # no ADBC driver: the sync reads COPY (FORMAT csv)
        monkeypatch.setitem(sys.modules, "adbc_driver_postgresql.dbapi", None)
    return request.param


@pytest.mark.integration
def test_a_mixed_table_syncs_to_the_stored_json_and_a_bad_frame_is_a_dead_letter(pg, tmp_path, path, caplog):
    ids = _insert(pg, 40)
    make_compact(pg, ids[::2])                    # even rows compact with the dictionary
    make_compact(pg, ids[1::4], dictionary=None)  # a quarter compact without one; the rest jsonb
    stored = json_columns(pg)
    assert {r["compact"] for r in stored.values()} == {True, False}
    damaged, unknown = ids[4], ids[6]
    with pg.cursor() as cur:
        cur.execute("UPDATE stream_chat SET raw_z = substring(raw_z from 1 for 6) || '\\x00ff00ff'::bytea"
                    " WHERE id = %s RETURNING raw_z", (damaged,))
        damaged_bytes = bytes(cur.fetchone()[0])
        cur.execute("UPDATE stream_chat SET zdict = 99 WHERE id = %s", (unknown,))  # no such dictionary
    pg.commit()

    caplog.set_level(logging.ERROR, logger="warehouse.sync.compact")
    report = sync(pg, str(tmp_path))
    assert report.rows == 40  # one bad row never loses its neighbours
    lake = _lake_json(tmp_path)
    for row_id, row in stored.items():
        if row_id not in (damaged, unknown):
            assert lake[row_id] == (row["raw"], row["badges"]), row_id
    letter = lake[damaged][0]["undecodable"]
    assert base64.b64decode(letter["frame_base64"]) == damaged_bytes and letter["dictionary"] == TEST_DICTIONARY.id
    assert lake[damaged][1] == stored[damaged]["badges"]  # its badges frame reads back: kept
    assert lake[unknown][0]["undecodable"]["dictionary"] == 99 and "dictionary 99" in lake[unknown][0][
        "undecodable"]["error"]
    errors = " ".join(r.getMessage() for r in caplog.records if r.levelno == logging.ERROR)
    assert str(damaged) in errors and str(unknown) in errors and "raw_dictionary" in errors
    assert "python -m warehouse sync --day" in errors


@pytest.mark.integration
def test_forget_user_scrubs_inside_compressed_raw_and_keeps_the_dictionary(pg, tmp_path):
    def raw(i: int) -> dict:  # a gift line naming the receiver only inside raw's extras
        extras = {"receiverUserIdHash": VICTIM, "receiverNickname": "감자튀김"} if i < 2 else {"n": i}
        return {"msg": "선물", "uid": "giver", "extras": json.dumps(extras, ensure_ascii=i % 2 == 0)}

    ids = _insert(pg, 4, raw)
    make_compact(pg, ids[::2])  # row 0 compact, row 1 jsonb: both name the victim; 2 compact, 3 jsonb: bystanders
    with pg.cursor() as cur:
        cur.execute("SELECT id, raw_z FROM stream_chat WHERE id = %s", (ids[2],))
        bystander = bytes(cur.fetchone()[1])
    pg.rollback()
    report = forget_user(pg, str(tmp_path), VICTIM)
    assert report.pg_chat_rows == 0 and report.pg_rows_scrubbed == 2 and report.nicknames == 1
    rows = json_columns(pg)
    for row_id in ids[:2]:
        extras = json.loads(rows[row_id]["raw"]["extras"])
        assert extras == {"receiverUserIdHash": None, "receiverNickname": None}, row_id
    assert rows[ids[0]]["compact"] and not rows[ids[1]]["compact"]
    with pg.cursor() as cur:
        cur.execute("SELECT id, raw_z, zdict, raw IS NULL FROM stream_chat WHERE id = ANY(%s) ORDER BY id",
                    ([ids[0], ids[2]],))
        (_, frame, zdict, no_jsonb), (_, kept, _, _) = cur.fetchall()
    pg.rollback()
    assert zdict == TEST_DICTIONARY.id and no_jsonb  # written back compact, with the same dictionary
    assert json.loads(raw_codec.decompress(frame, TEST_DICTIONARY))["uid"] == "giver"
    assert bytes(kept) == bystander  # a row not naming them is not rewritten


@pytest.mark.unit
def test_the_sync_writers_decode_at_the_same_time_safely():
    """Several sync writers (threads) read frames of the same dictionaries at once: each gets
    its own texts (a zstd context shared without care crashes the process or mixes them up)."""
    from warehouse.sync import compact

    texts = [json.dumps(_raw(i), ensure_ascii=False) * (i % 3 + 1) for i in range(2500)]
    dictionary = raw_codec.Dictionary(TEST_DICTIONARY.id, TEST_DICTIONARY.data)
    frames = pa.array(raw_codec.compress_many(texts, dictionary), pa.binary())
    ids = pa.array([dictionary.id] * len(texts), pa.int16())
    wrong = []

    def read() -> None:
        for _ in range(4):
            got, bad = compact._texts(frames, ids, {dictionary.id: dictionary})
            if bad or got.to_pylist() != texts:
                wrong.append(len(bad))

    threads = [threading.Thread(target=read) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert wrong == []


@pytest.mark.unit
def test_bulk_decoding_equals_the_frame_by_frame_texts_and_leaves_odd_batches_to_it():
    """The sync decodes a batch's frames in bulk (compact._bulk: one buffer, no Python object
    per text): the same texts and NULLs as raw_codec's frame-by-frame reading, sliced arrays
    included; a batch it cannot take whole (two dictionaries, a frame that does not read back)
    goes the general way, so a bad frame still costs only itself."""
    from warehouse.sync import compact

    dictionary = raw_codec.Dictionary(TEST_DICTIONARY.id, TEST_DICTIONARY.data)
    known = {dictionary.id: dictionary}
    texts = [json.dumps(_raw(i), ensure_ascii=False) for i in range(300)]
    frames = raw_codec.compress_many(texts, dictionary)
    holes = [None if i % 3 == 0 else f for i, f in enumerate(frames)]
    for array in (pa.array(frames, pa.binary()), pa.array(holes, pa.binary()), pa.array(holes, pa.binary()).slice(7)):
        ids = pa.array([dictionary.id] * len(array), pa.int16())
        fast = compact._bulk(array, ids, known)
        assert fast is not None and fast.equals(raw_codec.decompress_array(array, ids, known))
        assert fast.null_count == array.null_count
    mixed = pa.array([dictionary.id, None] * 150, pa.int16())  # a frame without a dictionary: general path
    assert compact._bulk(pa.array(frames, pa.binary()), mixed, known) is None
    bad = pa.array(frames[:5] + [b"\x28\xb5\x2f\xfd\x20\x05junk"] + frames[6:], pa.binary())
    ids = pa.array([dictionary.id] * len(bad), pa.int16())
    assert compact._bulk(bad, ids, known) is None
    got, dead = compact._texts(bad, ids, known)
    assert [i for i, _ in dead] == [5] and got[4].as_py() == texts[4] and got[6].as_py() == texts[6]
