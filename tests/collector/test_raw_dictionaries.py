"""The dictionary policy (collector/raw_dictionaries.py) through the real sink and a real
PostgreSQL: none until enough lines, then one trained from this database's own lines, the
same one for processes that race, a new one when lines drift, rows keeping theirs."""
from __future__ import annotations

import logging
import threading

import psycopg2
import pytest

from collector import raw_dictionaries, sink
from core import raw_codec
from tests.chat_lines import sim_chats
from tests.stored_chat import json_of

pytestmark = pytest.mark.integration


@pytest.fixture
def small_policy(monkeypatch):
    """Train after 300 lines; drift judged over 300 lines; every line sampled."""
    monkeypatch.setattr(raw_dictionaries, "TRAIN_LINES", 300)
    monkeypatch.setattr(raw_dictionaries, "SAMPLE_EVERY", 1)
    monkeypatch.setattr(raw_dictionaries, "DRIFT_LINES", 300)
    raw_dictionaries._states.clear()
    yield
    raw_dictionaries._states.clear()


def zdicts(pg) -> list:
    with pg.cursor() as cur:
        cur.execute("SELECT zdict FROM stream_chat ORDER BY id")
        out = [r[0] for r in cur.fetchall()]
    pg.commit()
    return out


def dictionaries(pg) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute("SELECT id, samples, sample_bytes > trained_bytes, length(dict) > 0 FROM raw_dictionary ORDER BY id")
        out = cur.fetchall()
    pg.commit()
    return out


def test_trained_once_from_enough_lines_then_used(pg, small_policy, caplog):
    lines = sim_chats(420)
    caplog.set_level(logging.INFO, logger="collector.raw_dictionaries")
    sink.store(pg, lines[:200])
    assert dictionaries(pg) == []  # not enough lines yet
    sink.store(pg, lines[200:350])  # 350 sampled: trained after this commit
    assert dictionaries(pg) == [(1, 350, True, True)]
    assert "trained raw dictionary 1 (first dictionary) from 350 lines" in caplog.text
    sink.store(pg, lines[350:])
    assert dictionaries(pg) == [(1, 350, True, True)]  # once
    assert zdicts(pg) == [None] * 350 + [1] * (len(lines) - 350)
    decoded = json_of(pg)
    by_key = {r["dedupe_key"]: r for r in lines}
    with pg.cursor() as cur:
        cur.execute("SELECT dedupe_key FROM stream_chat ORDER BY id")
        keys = [k for (k,) in cur.fetchall()]
    for key, (raw, badges, compact) in zip(keys, decoded, strict=True):
        assert compact and raw == by_key[key]["raw"] and badges == by_key[key]["badges"]


def test_no_user_id_or_nickname_is_copied_into_a_dictionary(pg, small_policy):
    lines = sim_chats(350)
    sink.store(pg, lines)
    with pg.cursor() as cur:
        cur.execute("SELECT dict FROM raw_dictionary")
        data = bytes(cur.fetchone()[0])
    chatty = max({r["user_id"] for r in lines}, key=lambda u: sum(r["user_id"] == u for r in lines))
    names = {r["nickname"] for r in lines if r["user_id"] == chatty}
    assert sum(r["user_id"] == chatty for r in lines) >= 3, "a user who says several things"
    assert chatty.encode() not in data
    assert not any(n.encode() in data for n in names if len(n) >= 2)


def test_processes_that_race_agree_on_one_dictionary(pg_url, small_policy):
    """Two collector processes (two connection strings, so two states) train at once: one
    id 1 is stored, and both use it."""
    conns = [psycopg2.connect(pg_url), psycopg2.connect(pg_url + "&application_name=other")]
    try:
        lines = sim_chats(700)
        for i, conn in enumerate(conns):  # each samples its own 350 lines
            raw_dictionaries.current(conn)
            raw_dictionaries.observe(conn, None, lines[i * 350:(i + 1) * 350],
                                     [sink.to_json(r["raw"]) for r in lines[i * 350:(i + 1) * 350]], (0, 0))
        assert all(raw_dictionaries.due(c) for c in conns)
        start = threading.Barrier(2)
        got: list = [None, None]

        def train(i):
            start.wait()
            got[i] = raw_dictionaries.train(conns[i])

        threads = [threading.Thread(target=train, args=(i,)) for i in range(2)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        with conns[0].cursor() as cur:
            cur.execute("SELECT id, dict FROM raw_dictionary")
            [(dict_id, data)] = cur.fetchall()
        assert dict_id == 1 and got[0].id == got[1].id == 1 and got[0].data == got[1].data == bytes(data)
        assert not any(raw_dictionaries.due(c) for c in conns)
    finally:
        for c in conns:
            c.close()


def test_drift_trains_a_new_dictionary_and_old_rows_keep_theirs(pg, small_policy, caplog):
    caplog.set_level(logging.INFO, logger="collector.raw_dictionaries")
    sink.store(pg, sim_chats(350))
    assert [d[0] for d in dictionaries(pg)] == [1]
    # other frames: lines whose raw shares nothing with what dictionary 1 learned
    other = [dict(r, raw={"v": 2, "payload": raw_codec.compress(r["message"] or "x").hex() * 3,
                          "n": i}, dedupe_key=f"other-{i}")
             for i, r in enumerate(sim_chats(400, seed=9, start_ms=1_800_000_000_000))]
    sink.store(pg, other[:200])
    assert [d[0] for d in dictionaries(pg)] == [1]  # 200 lines: too few to judge
    sink.store(pg, other[200:])
    assert [d[0] for d in dictionaries(pg)] == [1, 2]
    assert "trained raw dictionary 2 (drift: recent lines compressed to" in caplog.text
    sink.store(pg, [dict(r, dedupe_key=f"later-{i}") for i, r in enumerate(other[:20])])
    z = zdicts(pg)
    assert z == [None] * 350 + [1] * 400 + [2] * 20  # stored rows keep the dictionary they were written with
    assert len(json_of(pg)) == len(z)  # and every row reads back with it


def test_a_dictionary_missing_from_the_table_is_a_clear_error_for_readers(pg, small_policy):
    sink.store(pg, sim_chats(350))
    sink.store(pg, sim_chats(5, seed=3, start_ms=1_795_000_000_000))
    with pg.cursor() as cur:
        cur.execute("SELECT raw_z FROM stream_chat WHERE zdict = 1 LIMIT 1")
        frame = bytes(cur.fetchone()[0])
    pg.commit()
    with pytest.raises(raw_codec.CodecError, match="names dictionary 1, which is not in raw_dictionary"):
        raw_codec.decompress(frame, raw_codec.lookup({}, 1))
