"""The live-status side of a generated history (collector.sim.history), for `make demo`:
what the collector would have recorded while the history's broadcasts were live — one
live_session row per broadcast (its chat_channel_id, open and close), a live_session_poll row
every TIMELINE_SECONDS with the concurrent viewers (the broadcast's base member count, rising
after the opening and falling towards the close) and one to three categories switching during
the broadcast, and a channel_follower_day row per channel and day (the follower count
growing towards today's). So the Viewers and Categories pages have history to show, not only
today's live broadcasts. Deterministic in the shape's seed; rows are COPYed."""
from __future__ import annotations

import io
import logging
import time
from datetime import UTC, datetime, timedelta

import numpy as np

from collector.lifecycle import TIMELINE_SECONDS
from collector.sim.history import History
from collector.sim.history_rows import World

log = logging.getLogger(__name__)
CATEGORIES = (("GAME", "League_of_Legends", "리그 오브 레전드"), ("ETC", "talk", "저스트 채팅"),
              ("GAME", "PUBG_BATTLEGROUNDS", "배틀그라운드"), ("GAME", "VALORANT", "발로란트"),
              ("GAME", "Minecraft", "마인크래프트"), ("GAME", "LostArk", "로스트아크"),
              ("GAME", "MapleStory", "메이플스토리"), ("ETC", "music", "음악"), ("ETC", "mukbang", "먹방"))


def _at(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, UTC)


def _copy(cur, table: str, columns: str, rows: list[tuple]) -> None:
    buf = io.StringIO()
    for row in rows:
        buf.write("\t".join("\\N" if v is None else str(v).replace("\t", " ") for v in row) + "\n")
    buf.seek(0)
    cur.copy_expert(f"COPY {table} ({columns}) FROM STDIN", buf)  # constants only


def load(conn, h: History, w: World, fks: dict[str, int], seed: int) -> dict[str, int]:
    """Write the sessions, polls and follower days of history `h` (world `w`; `fks`:
    channel_id -> stream_channel.id) in one transaction; returns row counts."""
    t0 = time.monotonic()
    rng = np.random.default_rng(seed + 20)
    sessions, polls = [], []
    with conn, conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM live_session")
        first_id = cur.fetchone()[0] + 1
        for b in range(len(h.b_channel)):
            sid = first_id + b
            opened, closed = int(h.b_open_ms[b]), int(h.b_close_ms[b])
            cats = rng.choice(len(CATEGORIES), size=int(rng.integers(1, 4)), replace=False)
            switches = np.sort(rng.uniform(opened, closed, len(cats) - 1))
            kind, cat, value = CATEGORIES[cats[-1]]
            fk = fks[w.channel_ids[int(h.b_channel[b])]]
            sessions.append((sid, fk, w.chat_channel_ids[b], _at(opened), _at(closed), f"방송 {b}", kind, cat, value,
                             "false", _at(opened), "broadcast closed"))
            span = max(1, closed - opened)
            times = sorted({*range(opened, closed, int(TIMELINE_SECONDS * 1000)), *map(int, switches)})
            for ms in times:
                k = int(np.searchsorted(switches, ms, side="right"))
                x = (ms - opened) / span
                viewers = int(h.b_viewers[b] * 1.05 * min(1.0, 0.4 + 3 * x) * (1.1 - 0.3 * x))
                polls.append((sid, _at(ms), "OPEN", f"방송 {b}", CATEGORIES[cats[k]][2], viewers))
        _copy(cur, "live_session", "id, channel_fk, chat_channel_id, opened_at, closed_at, live_title, category_type,"
              " live_category, live_category_value, adult, open_date, close_reason", sessions)
        cur.execute("SELECT setval(pg_get_serial_sequence('live_session', 'id'), %s)", (first_id + len(sessions),))
        _copy(cur, "live_session_poll", "session_fk, polled_at, status, live_title, live_category_value,"
              " concurrent_user_count", polls)
        first = _at(int(h.b_open_ms.min())).date() if len(h.b_open_ms) else datetime.now(UTC).date()
        last = _at(int(h.b_close_ms.max())).date() if len(h.b_close_ms) else first
        days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
        follows = []
        for cid, now in zip(w.channel_ids, w.follower_counts, strict=True):
            grow = rng.uniform(0.0005, 0.01)
            follows += [(fks[cid], d, int(now * (1 - grow) ** (len(days) - 1 - i))) for i, d in enumerate(days)]
        cur.execute("CREATE TEMP TABLE follower_load (channel_fk bigint, day date, follower_count int) ON COMMIT DROP")
        _copy(cur, "follower_load", "channel_fk, day, follower_count", follows)
        cur.execute("""INSERT INTO channel_follower_day (channel_fk, day, follower_count)
                       SELECT channel_fk, day, follower_count FROM follower_load
                       ON CONFLICT (channel_fk, day) DO NOTHING""")
    counts = {"live_session": len(sessions), "live_session_poll": len(polls), "channel_follower_day": len(follows)}
    log.info("history sessions: %s in %.1fs", counts, time.monotonic() - t0)
    return counts
