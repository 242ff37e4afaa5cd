"""The local spool (collector/spool.py) on real files, and replays into a real PostgreSQL:
round trip, torn and bad lines, failed stores, replay idempotence, and the per-segment
lock that keeps one collector from replaying another live collector's spool."""
from __future__ import annotations

import logging
import os
import shutil
import signal
import subprocess
import sys
import textwrap
import time

import psycopg2
import pytest

from collector import sink, spool
from collector.buffer import Buffer
from collector.spool import Spool, decode, encode, read_segment
from tests.conftest import DATA

ROOT = DATA.parent.parent
CHANNEL = "a" * 32


def chat(i: int, text: str = "안녕 🎉") -> dict:
    return {"kind": "chat", "channel_id": CHANNEL, "chat_channel_id": "N1abc", "user_id": f"u{i % 7}",
            "nickname": f"닉{i}", "message": f"{text} {i}", "message_type": "chat", "msg_type_code": 1,
            "message_status": "NORMAL", "chat_time": f"2026-01-01T00:{i // 60 % 60:02d}:{i % 60:02d}.000Z",
            "raw": {"msg": f"{text} {i}"}, "dedupe_key": f"key-{i}"}


def segment_files(directory) -> list[str]:
    return sorted(p.name for p in directory.glob("*" + spool.SUFFIX))


class Collect:
    """A store that keeps what it gets; fails while ``fail`` is set."""

    def __init__(self):
        self.batches: list[list[dict]] = []
        self.fail = False

    def __call__(self, batch):
        if self.fail:
            raise ConnectionError("database down")
        self.batches.append(batch)
        return len(batch)

    @property
    def keys(self):
        return [r["dedupe_key"] for b in self.batches for r in b]


@pytest.mark.unit
@pytest.mark.parametrize("text", ["plain", "한글 채팅", "emoji 🎉👍", "new\nline\r\u2028sep", "lone \ud800 surrogate",
                                  'quote " and \\ backslash', ""])
def test_encode_decode_round_trip(text):
    rec = chat(1, text)
    data = encode([rec, rec])
    assert data.count(b"\n") == 2 and data.endswith(b"\n")
    assert [decode(line + b"\n") for line in data.split(b"\n")[:-1]] == [rec, rec]


@pytest.mark.unit
def test_append_seal_drain_round_trip(tmp_path):
    sp = Spool(tmp_path)
    sp.append([chat(i) for i in range(3)])
    sp.append([chat(3)])
    assert sp.records == 4 and sp.segments == 1 and len(segment_files(tmp_path)) == 1
    store = Collect()
    stored, result = sp.drain(store, batch_size=3)
    assert (stored, result) == (4, 1)  # two batches: 3 + 1, oldest first
    assert store.keys == [f"key-{i}" for i in range(4)]
    assert sp.records == 0 and sp.size == 0 and segment_files(tmp_path) == []
    sp.append([chat(4)])  # a new segment after the seal
    assert sp.drain(store)[0] == 1 and store.keys[-1] == "key-4"
    sp.close()
    assert list(tmp_path.iterdir()) == []  # an empty current segment is not left behind


@pytest.mark.unit
def test_records_hit_the_file_before_append_returns_and_are_fsynced_soon(tmp_path):
    sp = Spool(tmp_path)
    sp.append([chat(1), chat(2)])
    (name,) = segment_files(tmp_path)
    assert [r for r, _ in read_segment(tmp_path / name)] == [chat(1), chat(2)]  # no buffering in the process
    deadline = time.monotonic() + spool.FSYNC_SECONDS + 3
    while sp._current.dirty and time.monotonic() < deadline:  # the fsync thread's cadence
        time.sleep(0.05)
    assert not sp._current.dirty, f"not fsynced within {spool.FSYNC_SECONDS}s"
    sp.close()


@pytest.mark.unit
def test_torn_last_line_is_skipped_with_a_warning(tmp_path, caplog):
    good = encode([chat(1), chat(2)])
    torn = encode([chat(3)])[:40]  # the writer died mid-line
    path = tmp_path / "00000000000000000001-999-000001.jsonl"
    path.write_bytes(good + torn)
    sp = Spool(tmp_path)
    assert sp.open() == 2  # adopted: nobody holds its lock
    store = Collect()
    with caplog.at_level(logging.WARNING, logger="collector.spool"):
        assert sp.drain(store)[0] == 2
    assert store.keys == ["key-1", "key-2"]
    (warning,) = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert str(path) in warning and f"torn last line at byte {len(good)}" in warning
    assert not path.exists()
    sp.close()


@pytest.mark.unit
def test_bad_lines_are_skipped_never_fatal(tmp_path, caplog):
    lines = [encode([chat(1)]), b"{not json\n", b"[1, 2]\n", b"\xff\xfe\n", encode([chat(2)])]
    path = tmp_path / "00000000000000000001-999-000001.jsonl"
    path.write_bytes(b"".join(lines))
    sp = Spool(tmp_path)
    sp.open()
    store = Collect()
    with caplog.at_level(logging.WARNING, logger="collector.spool"):
        sp.drain(store)
    assert store.keys == ["key-1", "key-2"]
    offsets = [sum(map(len, lines[:i])) for i in (1, 2, 3)]
    warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
    assert [f"bad line at byte {o} skipped" in w for w, o in zip(warnings, offsets, strict=True)] == [True] * 3
    sp.close()


@pytest.mark.unit
def test_failed_store_keeps_the_segment_and_the_next_flush_resumes(tmp_path):
    sp = Spool(tmp_path)
    sp.append([chat(i) for i in range(5)])
    store = Collect()
    store.fail = True
    with pytest.raises(ConnectionError):
        sp.drain(store)
    assert sp.records == 5 and len(segment_files(tmp_path)) == 1
    sp.append([chat(5)])  # collection goes on into a new segment
    assert len(segment_files(tmp_path)) == 2

    calls = 0

    def fail_second(batch):  # the database goes away between two batches
        nonlocal calls
        calls += 1
        if calls == 2:
            raise ConnectionError("lost")
        return store(batch)

    store.fail = False
    with pytest.raises(ConnectionError):
        sp.drain(fail_second, batch_size=2)
    assert store.keys == ["key-0", "key-1"] and sp.records == 4
    assert sp.drain(store, batch_size=2)[0] == 4
    assert store.keys == [f"key-{i}" for i in range(6)], "order kept, nothing stored twice within a process"
    assert segment_files(tmp_path) == [] and sp.records == 0
    sp.close()


@pytest.mark.unit
def test_segments_rotate_at_the_size_limit(tmp_path, monkeypatch):
    monkeypatch.setattr(spool, "SEGMENT_MAX_BYTES", 1000)
    sp = Spool(tmp_path)
    for i in range(20):
        sp.append([chat(i)])
    assert sp.segments > 3 and sp.records == 20
    store = Collect()
    assert sp.drain(store, batch_size=7)[0] == 20
    assert store.keys == [f"key-{i}" for i in range(20)]
    sp.close()


@pytest.mark.unit
def test_a_live_writers_segments_are_not_replayed(tmp_path):
    live = Spool(tmp_path)
    live.append([chat(1)])
    live.seal()
    live.append([chat(2)])  # one sealed (unstored) and one current segment, both locked
    other = Spool(tmp_path)
    assert other.open() == 0 and other.records == 0
    store = Collect()
    assert other.drain(store)[0] == 0 and store.keys == []
    assert len(segment_files(tmp_path)) == 2

    live.close()  # the writer ends with its records unstored: they stay on disk
    assert len(segment_files(tmp_path)) == 2 and live.records == 2
    heir = Spool(tmp_path)
    assert heir.open() == 2
    assert heir.drain(store)[0] == 2 and store.keys == ["key-1", "key-2"]
    assert segment_files(tmp_path) == []
    other.close()
    heir.close()


@pytest.mark.unit
def test_a_second_process_replays_a_segment_only_once_its_writer_is_dead(tmp_path):
    writer = textwrap.dedent("""
        import sys, time
        from collector.spool import Spool
        sp = Spool(sys.argv[1])
        sp.append([{"kind": "chat", "dedupe_key": "k%d" % i} for i in range(100)])
        print("ready", flush=True)
        time.sleep(60)
    """)
    proc = subprocess.Popen([sys.executable, "-c", writer, str(tmp_path)], cwd=ROOT, stdout=subprocess.PIPE,
                            text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        mine = Spool(tmp_path)
        assert mine.open() == 0, "the live writer's segment must be left alone"
        mine.close()
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(10)
    heir = Spool(tmp_path)
    assert heir.open() == 100  # its lock died with it
    store = Collect()
    heir.drain(store)
    assert store.keys == [f"k{i}" for i in range(100)]
    heir.close()


@pytest.mark.integration
def test_replay_stores_everything_once_even_when_replayed_twice(pg_url, pg, tmp_path):
    crashed = Spool(tmp_path / "spool")
    crashed.append([chat(i) for i in range(50)])
    crashed.append([{"kind": "event", "channel_id": CHANNEL, "chat_channel_id": "N1abc", "cmd": 93006,
                     "event_type": "x", "event_time": None, "body": {"a": 1}, "dedupe_key": "ev-1"}])
    crashed.close()  # as if killed: records on disk, lock gone
    (name,) = segment_files(tmp_path / "spool")
    shutil.copy(tmp_path / "spool" / name, tmp_path / "copy")

    def replay() -> sink.StoreReport:
        sp = Spool(tmp_path / "spool")
        assert sp.open() == 51
        _, report = sp.drain(lambda batch: sink.store(pg, batch))
        sp.close()
        return report

    first = replay()
    assert (first.chat_inserted, first.events) == (50, 1)
    # a crash after the store committed but before the segment was deleted: replayed again
    shutil.copy(tmp_path / "copy", tmp_path / "spool" / name)
    second = replay()
    assert (second.chat_inserted, second.chat_duplicates, second.events) == (0, 50, 0)
    with pg.cursor() as cur:
        cur.execute("SELECT count(*), count(DISTINCT dedupe_key) FROM stream_chat")
        assert cur.fetchone() == (50, 50)
        cur.execute("SELECT count(*) FROM events")
        assert cur.fetchone() == (1,)
        cur.execute("SELECT message FROM stream_chat WHERE dedupe_key = 'key-7'")
        assert cur.fetchone() == ("안녕 🎉 7",)


@pytest.mark.integration
def test_buffer_with_the_database_down_keeps_everything_on_disk(pg_url, pg, tmp_path, caplog):
    fulls = []
    buffer = Buffer(max_events=3, on_full=lambda: fulls.append(1), spool_dir=tmp_path / "b")
    dead = psycopg2.connect(pg_url)
    dead.close()  # the database "went away"
    buffer.add([chat(1), chat(2)])
    with caplog.at_level(logging.INFO, logger="collector.buffer"):
        assert buffer.flush(lambda batch: sink.store(dead, batch)) is None
        buffer.add([chat(3)])
        buffer.add([chat(4)])
        assert buffer.flush(lambda batch: sink.store(dead, batch)) is None
        buffer.add([chat(5)])
        assert len(fulls) == 1, "an outage must not turn every add into an early flush"
        assert len(buffer) == 5 and isinstance(buffer.last_error, psycopg2.InterfaceError)
        report = buffer.flush(lambda batch: sink.store(pg, batch))
    assert report.chat_inserted == 5 and len(buffer) == 0 and buffer.last_error is None
    assert not buffer.full.is_set() and segment_files(tmp_path / "b") == []
    lines = [r.getMessage() for r in caplog.records if r.name == "collector.buffer"]
    assert "records stay in the spool" in lines[0] and " 2 records stay" in lines[0]
    assert " 4 records stay" in lines[1]
    assert lines[2].startswith("flush: 5 records stored in ") and "spool: 0 records" in lines[2]
    buffer.add([chat(6)])
    buffer.close()
    assert len(segment_files(tmp_path / "b")) == 1 and len(buffer) == 1  # left for the next start
    with pg.cursor() as cur:
        cur.execute("SELECT dedupe_key FROM stream_chat ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == [f"key-{i}" for i in range(1, 6)]
    assert os.listdir(tmp_path / "b")


@pytest.mark.unit
def test_only_stale_half_created_segments_are_cleaned_up(tmp_path):
    old, fresh = tmp_path / "1-1-000001.jsonl.new", tmp_path / "2-2-000001.jsonl.new"
    old.touch()
    fresh.touch()  # another collector may be creating it right now
    past = time.time() - spool.STALE_NEW_SECONDS - 5
    os.utime(old, (past, past))
    sp = Spool(tmp_path)
    assert sp.open() == 0
    assert not old.exists() and fresh.exists()
    sp.close()
