"""The live-status side of a generated history (collector.sim.history), for `make demo`:
what the collector would have recorded while the history's broadcasts were live — one
live_session row per broadcast (its chat_channel_id, open and close, a title of its category),
a live_session_poll row every TIMELINE_SECONDS with the concurrent viewers (the broadcast's
base member count, rising after the opening and falling towards the close) and one to three
categories switching during the broadcast (the title mostly with them), and a
channel_follower_day row per channel and day (the follower count growing towards today's). So the Viewers and Categories pages have history to show, not only
today's live broadcasts. Deterministic in the shape's seed (rows(), pure); load() COPYs them."""
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


# titles a streamer gives a broadcast of each category (live_category), some with emoji as
# real titles have (a page must read without an emoji font too)
TITLES = {
    "League_of_Legends": ("솔랭 다이아 가즈아", "칼바람 딱 한 판만", "[롤] 정글 연습하는 날", "시청자 내전 🔥"),
    "talk": ("저챗 🌙 오늘 하루 어땠나요", "근황 토크", "아침 방송 ☕", "시청자 사연 읽기"),
    "PUBG_BATTLEGROUNDS": ("배그 치킨 먹자 🐔", "스쿼드 랭크 달립니다", "배그 합방"),
    "VALORANT": ("발로 랭크 불멸 가는 날", "발로란트 5인큐", "에임 연습 후 랭크"),
    "Minecraft": ("마크 야생 서버 3일차", "마인크래프트 건축 🏰", "마크 하드코어 도전"),
    "LostArk": ("로아 레이드 숙제", "카멘 하드 트라이", "로스트아크 신규 레이드"),
    "MapleStory": ("메이플 보스 돌이", "메이플 이벤트 쫄작", "스타포스 강화 💸"),
    "music": ("노래 방송 🎤 신청곡 받아요", "기타 치면서 수다", "플레이리스트 같이 듣기"),
    "mukbang": ("치킨 먹방 🍗", "야식 먹방 + 수다", "편의점 신상 리뷰"),
}
P_NEW_TITLE = 0.6  # a category switch comes with a new title this often


def rows(h: History, w: World, fks: dict[str, int], seed: int, first_id: int = 1) -> dict[str, list[tuple]]:
    """The live_session, live_session_poll and follower-day rows of history `h` (world `w`;
    `fks`: channel_id -> stream_channel.id), pure and seeded: each broadcast opens on a title
    of its first category, switches category one to two times (the title with it, mostly),
    and its polls carry the viewers and the title and category of their time."""
    rng = np.random.default_rng(seed + 20)
    titles_rng = np.random.default_rng([seed, 21])  # its own stream: the categories are as before titles
    sessions, polls = [], []
    for b in range(len(h.b_channel)):
        sid = first_id + b
        opened, closed = int(h.b_open_ms[b]), int(h.b_close_ms[b])
        cats = rng.choice(len(CATEGORIES), size=int(rng.integers(1, 4)), replace=False)
        switches = np.sort(rng.uniform(opened, closed, len(cats) - 1))
        titles = []
        for i, c in enumerate(cats):
            pool = TITLES[CATEGORIES[c][1]]
            fresh = i == 0 or titles_rng.random() < P_NEW_TITLE
            titles.append(pool[int(titles_rng.integers(len(pool)))] if fresh else titles[-1])
        kind, cat, value = CATEGORIES[cats[-1]]
        fk = fks[w.channel_ids[int(h.b_channel[b])]]
        sessions.append((sid, fk, w.chat_channel_ids[b], _at(opened), _at(closed), titles[-1], kind, cat, value,
                         "false", _at(opened), "broadcast closed"))
        span = max(1, closed - opened)
        times = sorted({*range(opened, closed, int(TIMELINE_SECONDS * 1000)), *map(int, switches)})
        for ms in times:
            k = int(np.searchsorted(switches, ms, side="right"))
            x = (ms - opened) / span
            viewers = int(h.b_viewers[b] * 1.05 * min(1.0, 0.4 + 3 * x) * (1.1 - 0.3 * x))
            polls.append((sid, _at(ms), "OPEN", titles[k], CATEGORIES[cats[k]][2], viewers))
    first = _at(int(h.b_open_ms.min())).date() if len(h.b_open_ms) else datetime.now(UTC).date()
    last = _at(int(h.b_close_ms.max())).date() if len(h.b_close_ms) else first
    days = [first + timedelta(days=i) for i in range((last - first).days + 1)]
    follows = []
    for cid, now in zip(w.channel_ids, w.follower_counts, strict=True):
        grow = rng.uniform(0.0005, 0.01)
        follows += [(fks[cid], d, int(now * (1 - grow) ** (len(days) - 1 - i))) for i, d in enumerate(days)]
    return {"live_session": sessions, "live_session_poll": polls, "channel_follower_day": follows}


def load(conn, h: History, w: World, fks: dict[str, int], seed: int) -> dict[str, int]:
    """Write the sessions, polls and follower days of history `h` (rows()) in one
    transaction; returns row counts."""
    t0 = time.monotonic()
    with conn, conn.cursor() as cur:
        cur.execute("SELECT coalesce(max(id), 0) FROM live_session")
        first_id = cur.fetchone()[0] + 1
        made = rows(h, w, fks, seed, first_id)
        sessions = made["live_session"]
        _copy(cur, "live_session", "id, channel_fk, chat_channel_id, opened_at, closed_at, live_title, category_type,"
              " live_category, live_category_value, adult, open_date, close_reason", sessions)
        cur.execute("SELECT setval(pg_get_serial_sequence('live_session', 'id'), %s)", (first_id + len(sessions),))
        _copy(cur, "live_session_poll", "session_fk, polled_at, status, live_title, live_category_value,"
              " concurrent_user_count", made["live_session_poll"])
        cur.execute("CREATE TEMP TABLE follower_load (channel_fk bigint, day date, follower_count int) ON COMMIT DROP")
        _copy(cur, "follower_load", "channel_fk, day, follower_count", made["channel_follower_day"])
        cur.execute("""INSERT INTO channel_follower_day (channel_fk, day, follower_count)
                       SELECT channel_fk, day, follower_count FROM follower_load
                       ON CONFLICT (channel_fk, day) DO NOTHING""")
    counts = {k: len(v) for k, v in made.items()}
    log.info("history sessions: %s in %.1fs", counts, time.monotonic() - t0)
    return counts
