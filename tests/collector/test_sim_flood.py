"""The simulator's flood mode (collector/sim/flood.py): every line it sends is a distinct
line for the sink, frames hold 1-6 lines, msgTime keeps up with the clock, and its truth
(count and identity digest per chat channel) equals what a reader over loopback received."""
from __future__ import annotations

import json
import time

import pytest
import websocket

from collector.protocol import parse_frame
from collector.sim.flood import WINDOW, FloodLine, Tally, build_pool, flood_channels, uid_hash
from collector.sim.server import SimServer


@pytest.mark.unit
def test_flood_lines_never_share_an_identity_and_keep_up_with_the_clock():
    channels, pools = flood_channels(1, 3, seed=4)
    assert len(channels) == 4 and len({c.channel_id for c in channels}) == 4
    pool = pools[0]
    uids = [it["uid"] for it in pool.items]
    assert len(pool) > 6000
    assert all(len(set(uids[k:k + WINDOW])) == WINDOW for k in range(len(uids) - WINDOW))
    line = FloodLine(pool, Tally(channels[0].channel_id, channels[0].chat_channel_id), __import__("random").Random(1))
    seen, sizes = set(), []
    start = 1_760_000_000_000
    for tick in range(10):  # 1 s at 15,000 lines/s
        for text, span in line.frames(1500, start + tick * 100, start + (tick + 1) * 100, "N2abcd", "t"):
            body = json.loads(text)["bdy"]
            sizes.append(len(body))
            seen.update((it["uid"], it["msgTime"]) for it in body)
            line.record(span)
    assert len(seen) == 15_000 == line.tally.lines, "two lines share (uid, msgTime)"
    assert max(t for _, t in seen) <= start + 1_000 + 1, "msgTime ran ahead of the clock"
    assert min(sizes) == 1 and max(sizes) == 6
    assert line.tally.sum_h == sum(uid_hash(u) for u, _ in seen) and line.tally.sum_t == sum(t for _, t in seen)


@pytest.mark.unit
def test_quiet_channels_carry_their_own_ids():
    channels, pools = flood_channels(0, 5, seed=4)
    for ch, pool in zip(channels, pools, strict=True):
        for item in pool.items[:5]:
            assert item["cid"] == ch.chat_channel_id
            if '"streamingChannelId"' in item["extras"]:
                assert json.loads(item["extras"])["streamingChannelId"] == ch.channel_id
    assert build_pool(channels[0], 4, 64).items  # a template channel's pool builds alone too


@pytest.mark.e2e
def test_truth_equals_what_a_reader_received_over_loopback():
    sim = SimServer(channels=5, rate=0.5, flood_rate=2000, seed=9, ping_seconds=0)
    sim.start_in_thread(0)
    lv = sim._lives[0]
    ws = websocket.create_connection(sim.env()["CHZZK_CHAT_WS"].replace("{n}", "1"), timeout=5)
    try:
        ws.send(json.dumps({"ver": "2", "cmd": 100, "svcid": "game", "cid": lv.cid, "tid": 1,
                            "bdy": {"uid": None, "devType": 2001, "accTkn": None, "auth": "READ"}}))
        ws.recv()
        ws.send(json.dumps({"ver": "2", "cmd": 5101, "svcid": "game", "cid": lv.cid, "tid": 2, "sid": "s",
                            "bdy": {"recentMessageCount": 50}}))
        raw, t0 = [], time.monotonic()
        while time.monotonic() - t0 < 1.0:
            raw.append(ws.recv_data_frame(True)[1].data)
        sim.pause()
        ws.settimeout(1.0)
        try:
            while True:
                raw.append(ws.recv_data_frame(True)[1].data)
        except websocket.WebSocketTimeoutException:
            pass
    finally:
        ws.close()
        sim.stop()
    got = {(r["user_id"], r["chat_time"]) for d in raw for r in parse_frame(d) if r["kind"] == "chat"}
    (truth,) = [t for t in sim.truth() if t["chat_channel_id"] == lv.cid]
    assert truth["lines"] == len(got) > 1000
    assert truth["sum_h"] == sum(uid_hash(u) for u, _ in got)
