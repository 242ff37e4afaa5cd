"""First polls of newly added channels: quick for a few channels, spread for many."""
import random
import time

import pytest

from collector.api import Api
from collector.lifecycle import FIRST_POLL_RATE, Lifecycle

pytestmark = pytest.mark.unit


def _first_poll_offsets(n: int, poll_seconds: float = 30.0) -> list[float]:
    life = Lifecycle(Api(api_base="http://127.0.0.1:9", comm_base="http://127.0.0.1:9"),
                     add=lambda records: None, store=None, poll_seconds=poll_seconds,
                     rng=random.Random(7))
    before = time.monotonic()
    life.set_channels({f"{i:032x}" for i in range(n)})
    return [due - before for due, _, _ in life._heap]


def test_a_few_channels_are_polled_at_once():
    offsets = _first_poll_offsets(5)
    assert len(offsets) == 5 and max(offsets) <= 5 / FIRST_POLL_RATE + 0.05


def test_many_channels_are_spread_without_a_burst():
    offsets = sorted(_first_poll_offsets(500))
    assert max(offsets) <= 30.0
    per_second = [sum(1 for o in offsets if s <= o < s + 1) for s in range(25)]
    assert max(per_second) <= 2 * FIRST_POLL_RATE  # about FIRST_POLL_RATE, never all at once
