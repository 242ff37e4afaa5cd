"""The chat client's receive path (issue 17):
- a followed chat socket waits IDLE_TICK seconds for a frame (500 quiet channels woke 1,000
  times a second at a 0.5 s tick); stop, leave and a new chat channel ring its bell, so the
  client acts at once, not at the next tick;
- a whole text frame already read is taken from the read-ahead bytes without
  websocket-client; anything else (a part of a frame, a masked, fragmented or control frame)
  is left to websocket-client, untouched."""
from __future__ import annotations

import time

import pytest

from collector import client as chat_client
from collector.api import Api
from collector.client import ChatClient, _ReadAhead
from collector.sim.server import SimServer


def _frame(payload: bytes, first: int = 0x81, mask: bool = False) -> bytes:
    n = len(payload)
    head = bytes([first]) + (bytes([n | 0x80 * mask]) if n < 126 else bytes([126 | 0x80 * mask]) + n.to_bytes(2, "big")
                             if n < 65536 else bytes([127 | 0x80 * mask]) + n.to_bytes(8, "big"))
    return head + (b"\x00" * 4 if mask else b"") + payload


@pytest.mark.unit
def test_whole_text_frames_are_taken_and_the_rest_left_as_it_was():
    texts = [b"", b"a" * 125, "한".encode() * 42, b"b" * 126, b"c" * 65535, b"d" * 65536, b"e" * 70000]
    stream = b"".join(map(_frame, texts))
    ahead = _ReadAhead(lambda n: b"")
    ahead.buf = stream
    assert [ahead.whole_text() for _ in texts] == texts and ahead.pos == len(stream)
    assert ahead.whole_text() is None
    for other in (_frame(b"x", 0x01), _frame(b"x", 0x82), _frame(b"x", 0x89), _frame(b"x", 0x88), _frame(b"x", 0xC1),
                  _frame(b"x", mask=True), _frame(b"x" * 300)[:200], _frame(b"x" * 70000)[:5], b"\x81"):
        ahead.buf, ahead.pos = b"zz" + other, 2  # not a whole final unmasked text frame: nothing consumed
        assert ahead.whole_text() is None and ahead.pos == 2, other[:12]


def _wait(cond, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)
    return cond()


@pytest.mark.e2e
def test_a_quiet_socket_is_left_and_stopped_without_waiting_for_its_tick(monkeypatch):
    monkeypatch.setattr(chat_client, "IDLE_TICK", 30.0)  # only the bell can wake it in this test's time
    sim = SimServer(channels=1, seed=3, rate=0.0, ping_seconds=0, stats_seconds=600)
    sim.start_in_thread(0)
    env = sim.env()
    api = Api(env["CHZZK_API_BASE"], env["CHZZK_COMM_API_BASE"])
    ch = sim.channels[0]
    client = ChatClient(ch.channel_id, api, lambda records: None, ws_url=env["CHZZK_CHAT_WS"])
    try:
        client.follow(ch.chat_channel_id)
        assert _wait(lambda: client._bell is not None, 10), "the client reads its socket"
        time.sleep(0.3)  # waiting in poll
        t0 = time.monotonic()
        client.leave("broadcast closed")
        assert client.join(chat_client.CLOSE_GRACE + 3), "left within the close grace, not the 30 s tick"
        assert time.monotonic() - t0 < chat_client.CLOSE_GRACE + 3
        client.follow(ch.chat_channel_id)
        assert _wait(lambda: client._bell is not None, 10)
        time.sleep(0.3)
        client.stop()
        assert client.join(chat_client.CLOSE_GRACE + 3)
        assert client._bell is None
    finally:
        client.stop()
        client.join(5)
        api.close()
        sim.stop()
