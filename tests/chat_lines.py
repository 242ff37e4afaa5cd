"""Realistic chat records for sink tests, made fast: the simulator's lines (one channel)
through the real parser, the channel filled in as the collector does."""
from __future__ import annotations

import json

from collector.protocol import parse_frame
from collector.sim.generator import ChatStream, make_channels

START_MS = 1_790_000_000_000


def sim_chats(n: int, seed: int = 5, start_ms: int = START_MS) -> list[dict]:
    """About `n` chat records (a gift or mission may bring a few more)."""
    channel = make_channels(1, seed)[0]
    stream = ChatStream(channel, seed)
    out = []
    for item in stream.next_items(start_ms, n, spread_ms=n * 200):
        frame = {"svcid": "game", "ver": "1", "cmd": 93101 if item.get("msgTypeCode") == 1 else 93102,
                 "bdy": [item], "tid": None, "cid": stream.cid}
        for rec in parse_frame(json.dumps(frame, ensure_ascii=False)):
            if rec["kind"] == "chat":
                rec["channel_id"] = rec.get("channel_id") or channel.channel_id
                out.append(rec)
    return out
