"""Which broadcasts of a broadcast_list() are still live, and which one a picker opens on.

A broadcast is live when it is its channel's newest and its end (coverage()'s: the
session's close, "now" while its session or capture interval is open, else its last line)
is within LIVE_MINUTES of now. A report opens on the newest finished broadcast: a live one
holds only the minutes captured so far (issue 21 §2)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import polars as pl

from dashboard.summaries import broadcast_key

LIVE_MINUTES = 10  # a broadcast whose end is this recent has not ended (the demo syncs every minute)


def live_keys(listing: pl.DataFrame, now: datetime | None = None) -> set[str]:
    """The keys (summaries.broadcast_key) of `listing`'s broadcasts still live at `now`."""
    if listing.is_empty() or not {"channel_id", "broadcast", "started", "ended"} <= set(listing.columns):
        return set()
    cutoff = (now or datetime.now(UTC)) - timedelta(minutes=LIVE_MINUTES)
    newest = listing.filter(pl.col("started") == pl.col("started").max().over("channel_id"))
    ended = pl.col("ended").dt.convert_time_zone("UTC")
    recent = newest.filter(ended.is_not_null() & (ended >= cutoff))
    return {broadcast_key(c, b) for c, b in recent.select("channel_id", "broadcast").iter_rows()}


def default_key(keys: list[str], live: set[str]) -> str | None:
    """The first of `keys` (newest first) that is not live; the first one when all are."""
    return next((k for k in keys if k not in live), keys[0] if keys else None)
