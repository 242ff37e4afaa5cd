"""Chat pushes spooled as received (collector/wire.py, collector/spool.py): the spool line
round-trips the frame byte for byte (newlines, tabs, non-UTF-8 names included), counts its
lines, mixes with record lines in order, and a drain parses it into the same records the
client used to parse itself; the backlog's age and the flush that keeps draining a flood."""
from __future__ import annotations

import json
import time

import pytest

from collector import protocol
from collector.buffer import Buffer
from collector.spool import Spool, decode, encode_frame, read_segment
from collector.wire import Frame, count_items, data_records, is_chat_push, records_of
from tests.conftest import DATA

CHANNEL = "b" * 32


def push(n: int, cmd: int = 93101, text: str = "안녕") -> bytes:
    items = [{"svcid": "game", "cid": "N2abcd", "uid": f"{i:032x}", "msg": f"{text} {i}", "msgTypeCode": 1,
              "msgTime": 1_760_000_000_000 + i, "ctime": 1, "utime": 1, "mbrCnt": 5, "msgStatusType": "NORMAL",
              "profile": json.dumps({"nickname": f"닉{i}", "userRoleCode": "common_user"}),
              "extras": json.dumps({"osType": "PC", "msgTime": 5})}  # a msgTime key inside a string: not counted
             for i in range(n)]
    return json.dumps({"svcid": "game", "ver": "1", "bdy": items, "cmd": cmd, "tid": None, "cid": "N2abcd"},
                      ensure_ascii=False).encode()


@pytest.mark.unit
@pytest.mark.parametrize("data, channel, cid", [
    (push(3), CHANNEL, "N2abcd"),
    (push(1, text="new\nline\ttab"), CHANNEL, "N2abcd"),        # escaped in JSON: no raw newline
    (b'{"cmd":93101,\n"bdy":[]}', CHANNEL, "N2abcd"),           # a raw newline in the frame
    (push(2), CHANNEL, "N2\tab"),                               # a tab in a name
    (b'{"cmd":93101,"bdy":"\xff\xfe"}', CHANNEL, "N2abcd"),     # not UTF-8: kept as received
])
def test_frame_line_round_trips_byte_for_byte(data, channel, cid):
    frame = Frame(channel, cid, data, count_items(data))
    line = encode_frame(frame)
    assert line.endswith(b"\n") and line.count(b"\n") == 1
    assert decode(line) == frame


@pytest.mark.unit
def test_chat_pushes_are_told_apart_from_frames_the_client_must_act_on():
    assert is_chat_push(push(2)) and is_chat_push(push(1, cmd=93102))
    for other in (b'{"ver":"2","cmd":0}', b'{"cmd":15101,"bdy":{"messageList":[]}}', b'{"cmd":90102}',
                  json.dumps({"cmd": 0, "bdy": {"msg": '"cmd":93101'}}).encode()):  # the mark inside a string
        assert not is_chat_push(other)
    assert count_items(push(5)) == 5 and count_items(b'{"cmd":93101,"bdy":[]}') == 1
    for path in sorted((DATA / "frames").glob("*.json")):  # the recorded frames: the fast path agrees with the parser
        data = path.read_bytes()
        obj = json.loads(data)
        assert is_chat_push(data) == (isinstance(obj, dict) and obj.get("cmd") in (93101, 93102)), path.name


@pytest.mark.unit
def test_drain_parses_frames_into_the_records_the_client_produced(tmp_path):
    frames = [p.read_bytes() for p in sorted((DATA / "frames").glob("*.json")) if is_chat_push(p.read_bytes())]
    assert len(frames) >= 5
    frames.append(push(4))
    sp = Spool(tmp_path)
    sp.append([{"kind": "event", "dedupe_key": "ev-0"}])
    for data in frames:
        sp.append_frame(Frame(CHANNEL, "N2abcd", data, count_items(data)))
    sp.append([{"kind": "event", "dedupe_key": "ev-1"}])
    expected = [{"kind": "event", "dedupe_key": "ev-0"}]
    for data in frames:
        expected += data_records(protocol.parse_frame(data.decode()), CHANNEL, "chat:N2abcd")
    expected.append({"kind": "event", "dedupe_key": "ev-1"})
    assert sp.records == 2 + sum(count_items(d) for d in frames)
    got = []
    stored, _ = sp.drain(got.extend, batch_size=3)
    assert got == expected and stored == len(expected)
    assert all(r["channel_id"] for r in got if r["kind"] == "chat")
    assert sp.records == 0 and sp.cpu["parse"] > 0
    sp.close()


@pytest.mark.unit
def test_a_drain_for_the_drain_process_hands_over_undecoded_lines_counted_by_their_heads(tmp_path, caplog):
    """expand=None (collector.drain_worker): the batches are the spool's lines as bytes, counted
    from a frame line's head; the child's decode gives the records the in-process drain gives,
    and a line that does not decode is skipped with a warning, in the parent or the child."""
    from collector.drain_worker import _records
    sp = Spool(tmp_path)
    sp.append([{"kind": "event", "dedupe_key": "ev-0"}])
    for n in (3, 1, 6):
        sp.append_frame(Frame(CHANNEL, "N2abcd", push(n), n))
    sp.append_frame(Frame(CHANNEL, "N2\tab", push(2), 2))  # an E line (a tab in a name)
    (path,) = tmp_path.glob("*.jsonl")
    with open(path, "ab") as f:  # bad lines: a head without a count (parent), a name not UTF-8 (child), torn
        f.write(b"Fx\tb\tc\t{}\n" + b"F1\t\xff\tN2abcd\t" + push(1) + b"\n" + b"F1\tb\tc\t{")
    expected = [r for e, _ in read_segment(path) for r in ([e] if isinstance(e, dict) else records_of(e))]
    batches, counts = [], []
    stored, _ = sp.drain(lambda lines: batches.append(lines) or counts.append(len(_records(lines))),
                         batch_size=4, expand=None)
    assert all(type(line) is bytes for batch in batches for line in batch)
    assert [r for batch in batches for r in _records(batch)] == expected
    assert stored == 1 + 3 + 1 + 6 + 2 + 1 and sp.records == 0  # the undecodable frame line counts as its head says
    assert "bad line at byte" in caplog.text and "spool line skipped" in caplog.text and "torn last line" in caplog.text
    sp.close()


@pytest.mark.unit
def test_adopted_segment_counts_lines_of_frames(tmp_path):
    sp = Spool(tmp_path)
    sp.append_frame(Frame(CHANNEL, "N2abcd", push(4), 4))
    sp.append([{"kind": "event", "dedupe_key": "ev"}])
    sp.close()
    heir = Spool(tmp_path)
    assert heir.open() == 5
    assert heir.oldest_age() is not None and heir.oldest_age() < 60
    (path,) = tmp_path.glob("*.jsonl")
    assert [type(e) for e, _ in read_segment(path)] == [Frame, dict]
    assert len(records_of(next(read_segment(path))[0])) == 4
    heir.drain(lambda batch: None)
    assert heir.records == 0 and heir.oldest_age() is None
    heir.close()


@pytest.mark.unit
def test_a_flush_keeps_draining_while_a_flood_keeps_the_backlog_above_the_limit(tmp_path):
    """What arrives during a drain is drained by the same flush while FLUSH_MAX_EVENTS or
    more wait, instead of waiting for the next FLUSH_SECONDS."""
    buf = Buffer(max_events=10, spool_dir=tmp_path)
    buf.open()
    calls = []

    def slow_store(batch):  # while it stores, a client adds more
        calls.append(len(batch))
        if len(calls) < 4:
            buf.add_frame(Frame(CHANNEL, "N2abcd", push(6), 6))
            buf.add_frame(Frame(CHANNEL, "N2abcd", push(6), 6))
        time.sleep(0.01)

    buf.add_frame(Frame(CHANNEL, "N2abcd", push(6), 6))
    buf.add_frame(Frame(CHANNEL, "N2abcd", push(6), 6))
    buf.flush(slow_store)
    assert len(calls) == 4 and len(buf) == 0 and buf.stored == 12 * 4
    buf.close()


@pytest.mark.unit
def test_a_flush_whose_database_is_away_reads_nothing(tmp_path):
    """``ready`` fails (no connection): the backlog is not read or parsed for nothing."""
    buf = Buffer(max_events=10, spool_dir=tmp_path)
    buf.open()
    buf.add_frame(Frame(CHANNEL, "N2abcd", push(6), 6))
    stores = []

    def away():
        raise ConnectionError("connection refused")

    assert buf.flush(stores.append, ready=away) is None
    assert stores == [] and buf.spool.cpu["parse"] == 0 and len(buf) == 6
    assert isinstance(buf.last_error, ConnectionError)
    buf.flush(stores.append, ready=lambda: None)
    assert len(stores) == 1 and len(buf) == 0 and buf.last_error is None
    buf.close()
