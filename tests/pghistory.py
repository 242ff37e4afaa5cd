"""A small chat history in a real PostgreSQL (the ``pg`` fixture's), for tests that sync it
to a lake: two channels, three days around midnight in Asia/Seoul, subscribers, and a
change that makes the next sync rewrite two days. And the counts per day a test compares: PostgreSQL's and the lake's."""
from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import psycopg2.extras

KST = ZoneInfo("Asia/Seoul")
CHANNELS = {"a" * 32: "침착맨", "b" * 32: "풍월량"}
D1, D2, D3 = date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)
# 23:59:59 KST on D1 is still D1 (14:59:59 UTC); 00:00:00 KST on D2 is D2 though UTC says D1
BEFORE_MIDNIGHT = datetime(2026, 9, 1, 23, 59, 59, tzinfo=KST)
AT_MIDNIGHT = datetime(2026, 9, 2, 0, 0, 0, tzinfo=KST)
_COLS = ("channel_fk", "user_id", "nickname", "message", "message_type", "chat_time", "created_at",
         "subscription_tier", "subscription_month", "badges", "raw", "dedupe_key", "chat_channel_id")


def channels(pg) -> dict[str, int]:
    """Insert the two channels (if missing); {channel_id: id}."""
    with pg.cursor() as cur:
        psycopg2.extras.execute_values(
            cur, "INSERT INTO stream_channel (channel_id, channel_name) VALUES %s ON CONFLICT DO NOTHING",
            list(CHANNELS.items()))
        cur.execute("SELECT channel_id, id FROM stream_channel")
        ids = dict(cur.fetchall())
    pg.commit()
    return ids


def insert(pg, rows: list[dict], old: bool = True) -> None:
    """Insert chat rows (dicts: chat_time and optional user_id, nickname, message,
    message_type, channel, tier, month, dedupe_key, broadcast); old=True gives created_at =
    chat_time + 1 s (history already synced), old=False leaves it to now()."""
    fks = channels(pg)
    values = []
    for r in rows:
        when = r["chat_time"]
        values.append((
            fks[r.get("channel", "a" * 32)], r.get("user_id", "u1"), r.get("nickname", "김치"),
            r.get("message", "안녕"), r.get("message_type", "chat"), when,
            when + timedelta(seconds=1) if old else datetime.now(UTC),
            r.get("tier"), r.get("month"), json.dumps([{"badge": "x"}]),
            json.dumps({"msg": r.get("message", "안녕")}, ensure_ascii=False),
            r.get("dedupe_key") or f"k-{when.isoformat()}-{r.get('user_id', 'u1')}-{r.get('channel', 'a')}",
            r.get("broadcast"),
        ))
    with pg.cursor() as cur:
        psycopg2.extras.execute_values(cur, "INSERT INTO stream_chat (" + ", ".join(_COLS) + ") VALUES %s", values)
    pg.commit()


def history() -> list[dict]:
    """The history's rows: a line a second before and one at midnight KST, then 20-30 lines
    a day on D1..D3 from seven users over both channels, every fourth a subscriber's."""
    rows = [
        {"chat_time": BEFORE_MIDNIGHT, "user_id": "edge1", "message": "자정 직전"},
        {"chat_time": AT_MIDNIGHT, "user_id": "edge2", "message": "자정"},
    ]
    for i, day in enumerate((D1, D2, D3)):
        base = datetime(day.year, day.month, day.day, 9, 0, tzinfo=KST)
        for n in range(20 + 5 * i):
            rows.append({"chat_time": base + timedelta(minutes=17 * n), "user_id": f"u{n % 7}",
                         "channel": "a" * 32 if n % 3 else "b" * 32, "tier": 1 if n % 4 == 0 else None,
                         "month": 3 if n % 4 == 0 else None, "message": f"메시지 {i}-{n}"})
    return rows


def delete_one_add_one_late(pg) -> None:
    """After a sync of history(): one of u3's lines deleted (D2) and a late line for D1, so
    the next sync rewrites two days and the row count stays the same."""
    with pg.cursor() as cur:
        cur.execute("DELETE FROM stream_chat WHERE user_id = 'u3' AND message = '메시지 1-3'")
        assert cur.rowcount == 1
    pg.commit()
    insert(pg, [{"chat_time": datetime(2026, 9, 1, 12, 0, tzinfo=KST), "user_id": "late", "message": "늦은"}])


def pg_counts(pg) -> dict[date, int]:
    """Rows per Asia/Seoul day in PostgreSQL."""
    with pg.cursor() as cur:
        cur.execute("SELECT (chat_time AT TIME ZONE 'Asia/Seoul')::date, count(*) FROM stream_chat GROUP BY 1")
        out = dict(cur.fetchall())
    pg.rollback()
    return out


def lake_counts(root) -> dict[date, int]:
    """Rows per day partition in the lake at `root` (every stored line, as daily_counts)."""
    import warehouse
    counts = warehouse.daily_counts(warehouse.open(str(root)))
    out: dict[date, int] = {}
    for day, _, n in counts.iter_rows():
        out[day] = out.get(day, 0) + n
    return out


def part(root, day: date) -> Path:
    """The chat partition file of `day` in the lake at `root`."""
    return Path(root) / "chat" / f"day={day.isoformat()}" / "part-0.parquet"
