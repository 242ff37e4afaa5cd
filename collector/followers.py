"""Follower counts by day (issue 20 §1; migration 014): each refresh of channel info
(collector.channels.refresh_info) also records the follower counts it read into
channel_follower_day, one row per channel and day in DISPLAY_TZ — the day's last reading wins,
so a rerun or a second collector writing the same day is harmless. The warehouse's
follower_trend() reads the exported table."""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable

from core import settings

log = logging.getLogger(__name__)


def record(conn, readings: Iterable[tuple[str, int | None]], tz: str | None = None) -> int:
    """Upsert today's (in `tz`, default DISPLAY_TZ) follower count of each (channel_id,
    follower_count); None counts and unknown channels are skipped. Runs in the caller's
    transaction; returns how many rows were written."""
    rows = [(cid, int(n)) for cid, n in readings if n is not None]
    if not rows:
        return 0
    t0 = time.monotonic()
    with conn.cursor() as cur:
        cur.execute("""
            INSERT INTO channel_follower_day (channel_fk, day, follower_count, recorded_at)
            SELECT ch.id, (now() AT TIME ZONE %(tz)s)::date, r.n, now()
              FROM unnest(%(ids)s::text[], %(counts)s::int[]) AS r(cid, n)
              JOIN stream_channel ch ON ch.channel_id = r.cid
            ON CONFLICT (channel_fk, day) DO UPDATE
               SET follower_count = EXCLUDED.follower_count, recorded_at = EXCLUDED.recorded_at""",
                    {"tz": tz or settings.get("DISPLAY_TZ"), "ids": [r[0] for r in rows],
                     "counts": [r[1] for r in rows]})
        written = cur.rowcount
    log.info("follower counts: %d channel(s) recorded for today (%.3fs)", written, time.monotonic() - t0)
    return written
