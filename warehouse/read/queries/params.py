"""What every query of the analyst API shares: the conventions (who counts as a chatter,
the buckets asked for) and the bound parameters of the ``chat_rows`` filter."""
from __future__ import annotations

from datetime import date

SYSTEM_USER = "SYSTEM_MESSAGE"
ANONYMOUS_USER = "anonymous"
EVERY = ("minute", "hour", "day")
TIER_LABELS = {0: "none", 1: "tier 1", 2: "tier 2"}
FIRST_DAY, LAST_DAY = date(1, 1, 1), date(9999, 12, 31)


def filter_params(channels: list[str] | None, start: date | None, end: date | None) -> list:
    return [start or FIRST_DAY, end or LAST_DAY, channels is None, list(channels or [])]


def check_bucket(every: str, allowed: tuple[str, ...]) -> str:
    """`every` if it is one of `allowed` (date_trunc parts), else a ValueError naming them."""
    if every not in allowed:
        raise ValueError(f"every={every!r}: use one of {', '.join(allowed)}")
    return every


def check_every(every: str) -> str:
    if every not in EVERY:
        raise ValueError(f"every={every!r}: use one of {', '.join(EVERY)}")
    return every


