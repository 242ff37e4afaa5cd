"""Polling until a condition holds, for tests that watch real processes and databases."""
from __future__ import annotations

import time


def wait_for(condition, timeout: float, what: str, every: float = 0.2):
    """condition()'s first truthy value within `timeout` seconds, polled every `every`;
    AssertionError naming `what` otherwise."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = condition()
        if value:
            return value
        time.sleep(every)
    raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what}")
