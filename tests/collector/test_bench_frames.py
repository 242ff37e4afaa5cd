"""bench/frames.py: the realistic frames every collector benchmark uses are what they claim
(deterministic, 93101 frames of 1-6 items, the other frame types present, parseable
without a dead letter or a warning)."""
from __future__ import annotations

import json
from collections import Counter

import pytest

from bench.frames import BATCH_WEIGHTS, frame_lines, frame_stats
from collector.protocol import parse_frame

pytestmark = pytest.mark.unit


@pytest.mark.parametrize("style", ["sim", "samples"])
def test_frames_are_realistic_and_deterministic(style):
    frames = frame_lines(3000, seed=3, style=style)  # seed 3: test_parse_equivalence builds its channels too
    again = frame_lines(300, seed=3, style=style)  # the same seed, the same frames (the last one cut shorter)
    assert again[:-1] == frames[:len(again) - 1]
    assert style == "sim" or frames[:50] != frame_lines(50, seed=4, style=style)  # (a sim seed costs ~2 s)
    stats = frame_stats(frames)
    assert stats["chat_items"] == 3000 and stats["bytes"] == sum(map(len, frames))
    sizes = Counter(len(json.loads(f)["bdy"]) for f in frames if b'"cmd":93101' in f)
    assert set(sizes) <= set(range(1, len(BATCH_WEIGHTS) + 1)) and sizes[1] > 0.8 * sum(sizes.values())
    assert 1.1 < sum(k * n for k, n in sizes.items()) / sum(sizes.values()) < 1.3  # the 1.17
    cmds = Counter(json.loads(f)["cmd"] for f in frames)
    assert {93101, 93102, 93006, 94008, 0, 10000} <= set(cmds)
    records = [r for f in frames for r in parse_frame(f)]
    kinds = Counter(r["kind"] for r in records)
    assert kinds["chat"] == 3000 and kinds["dead_letter"] == 0 and kinds["blind"] and kinds["event"]
    assert not [r for r in records if r.get("warnings")]
    assert any(r["badges"] for r in records if r["kind"] == "chat")
    assert any("{:" in (r["message"] or "") for r in records if r["kind"] == "chat")  # emojis


def test_unknown_style_is_refused():
    with pytest.raises(ValueError, match="style"):
        frame_lines(10, style="nope")
