"""A followed chat socket waits IDLE_TICK seconds for a frame (issue 17: 500 quiet channels
woke 1,000 times a second at a 0.5 s tick); stop, leave and a new chat channel ring its bell,
so the client acts at once, not at the next tick."""
from __future__ import annotations

import time

import pytest

from collector import client as chat_client
from collector.api import Api
from collector.client import ChatClient
from collector.sim.server import SimServer

pytestmark = pytest.mark.e2e


def _wait(cond, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while not cond() and time.monotonic() < deadline:
        time.sleep(0.02)
    return cond()


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
