"""Viewers and categories (issue 20 §1, §5) at scale: the realistic lake has chat but no
live-status timeline, so this bench first writes one beside it — every broadcast of the lake
(a chat_channel_id's first → last line) gets a live_session row and a live_session_poll row
every 5 minutes (the collector's TIMELINE_SECONDS) with a viewer count, 1–3 categories
switching at random and a 20-minute poll gap in one broadcast of 20, plus a follower count per
channel and day — into the given lake (a copy: never the shared one) and, as temporary tables
of the same rows, into the PostgreSQL twin. Then it asks broadcast_viewers, channel_viewers
(by week), categories (per channel), viewer_curve and follower_trend of the biggest, a median
and a small channel (bench.query_bench.scopes) and of the whole lake, each beside the same
question in SQL on PostgreSQL.

    LAKE=/work/data/h6/lake PYTHONPATH=. .venv/bin/python -m bench.viewers_bench /work/data/r10m 10 [OUT.json|-]
        [big,median,small,lake]
"""
from __future__ import annotations

import io
import logging
import sys
import time
from datetime import timedelta

import numpy as np
import psycopg2
import pyarrow as pa

from bench import query_bench, realistic

log = logging.getLogger(__name__)
GAP = 360
CATEGORIES = ["리그 오브 레전드", "저스트 채팅", "배틀그라운드", "발로란트", "마인크래프트", "로스트아크", "메이플스토리",
              "오버워치 2", "스타크래프트", "FC 온라인", "이터널 리턴", "철권 8", "종합 게임", "음악", "먹방"]
US = pa.timestamp("us", tz="UTC")


def timeline(lake: str, fk: dict[str, int], seed: int = 20) -> dict[str, pa.Table]:
    """live_session, live_session_poll and channel_follower_day for every broadcast of `lake`."""
    import duckdb

    spans = duckdb.sql(f"""SELECT channel_id, chat_channel_id, min(chat_time) AS t0, max(chat_time) AS t1
                           FROM read_parquet('{lake}/chat/*/*.parquet', hive_partitioning=true)
                           WHERE chat_channel_id IS NOT NULL GROUP BY ALL ORDER BY 3, 2""").fetchall()  # noqa: S608
    rng = np.random.default_rng(seed)
    ls = {k: [] for k in ("id", "channel_fk", "chat_channel_id", "opened_at", "closed_at", "live_title",
                          "live_category_value", "open_date", "channel_id")}
    lp = {k: [] for k in ("session_fk", "polled_at", "status", "live_title", "live_category_value",
                          "concurrent_user_count")}
    for i, (cid, bc, t0, t1) in enumerate(spans, start=1):
        opened, closed = t0 - timedelta(minutes=1), t1 + timedelta(minutes=1)
        cats = list(rng.choice(len(CATEGORIES), size=int(rng.integers(1, 4)), replace=False))
        length = (closed - opened).total_seconds()
        switches = sorted(rng.uniform(0, length, size=len(cats) - 1))
        base = float(rng.lognormal(6, 1.2))
        gap = (length * 0.4, length * 0.4 + 1200) if i % 20 == 0 else None
        k = 0
        times = sorted({*np.arange(0, length, 300.0).tolist(), *switches})
        for s in times:
            while k < len(switches) and s >= switches[k]:
                k += 1
            if gap and gap[0] <= s < gap[1]:
                continue
            lp["session_fk"].append(i)
            lp["polled_at"].append(opened + timedelta(seconds=s))
            lp["status"].append("OPEN")
            lp["live_title"].append(None)
            lp["live_category_value"].append(CATEGORIES[cats[k]])
            lp["concurrent_user_count"].append(int(base * (1 + 0.3 * np.sin(s / 3600))))
        for key, value in (("id", i), ("channel_fk", fk.get(cid, 0)), ("chat_channel_id", bc), ("opened_at", opened),
                           ("closed_at", closed), ("live_title", f"방송 {i}"), ("live_category_value", CATEGORIES[cats[-1]]),
                           ("open_date", opened), ("channel_id", cid)):
            ls[key].append(value)
    days = sorted({t0.date() for _, _, t0, _ in spans})
    fd = {k: [] for k in ("channel_fk", "day", "follower_count", "recorded_at", "channel_id")}
    for cid, n in sorted(fk.items()):
        count = int(rng.integers(1_000, 500_000))
        for d in days:
            count += int(rng.integers(-50, 400))
            for key, value in (("channel_fk", n), ("day", d), ("follower_count", count), ("recorded_at", None),
                               ("channel_id", cid)):
                fd[key].append(value)
    return {
        "live_session": pa.table(ls, schema=pa.schema([
            ("id", pa.int64()), ("channel_fk", pa.int64()), ("chat_channel_id", pa.string()), ("opened_at", US),
            ("closed_at", US), ("live_title", pa.string()), ("live_category_value", pa.string()), ("open_date", US),
            ("channel_id", pa.string())])),
        "live_session_poll": pa.table(lp, schema=pa.schema([
            ("session_fk", pa.int64()), ("polled_at", US), ("status", pa.string()), ("live_title", pa.string()),
            ("live_category_value", pa.string()), ("concurrent_user_count", pa.int32())])),
        "channel_follower_day": pa.table(fd, schema=pa.schema([
            ("channel_fk", pa.int64()), ("day", pa.date32()), ("follower_count", pa.int32()),
            ("recorded_at", US), ("channel_id", pa.string())])),
    }


PG_TABLES = {  # temporary tables of the connection: the same rows as the lake's
    "live_session": ("h6_session", "id bigint PRIMARY KEY, channel_fk bigint, chat_channel_id text, opened_at "
                     "timestamptz, closed_at timestamptz, live_title text, live_category_value text, open_date timestamptz, channel_id text",
                     "CREATE INDEX ON h6_session (channel_fk); CREATE INDEX ON h6_session (chat_channel_id)"),
    "live_session_poll": ("h6_poll", "session_fk bigint, polled_at timestamptz, status text, live_title text, "
                          "live_category_value text, concurrent_user_count int",
                          "CREATE INDEX ON h6_poll (session_fk, polled_at)"),
    "channel_follower_day": ("h6_follow", "channel_fk bigint, day date, follower_count int, recorded_at timestamptz, "
                             "channel_id text", "CREATE INDEX ON h6_follow (channel_fk, day)"),
}


def load_pg(conn, tables: dict[str, pa.Table]) -> None:
    with conn.cursor() as cur:
        for name, (tmp, cols, index) in PG_TABLES.items():
            cur.execute(f"DROP TABLE IF EXISTS {tmp}; CREATE TEMP TABLE {tmp} ({cols})")
            buf = io.StringIO()
            for row in tables[name].to_pylist():
                buf.write("\t".join("\\N" if v is None else str(v) for v in row.values()) + "\n")
            buf.seek(0)
            cur.copy_expert(f"COPY {tmp} FROM STDIN", buf)
            cur.execute(index)
            cur.execute(f"ANALYZE {tmp}")


_PG_BROADCASTS = """
    WITH b AS (SELECT chat_channel_id, count(*) AS messages,
                      count(DISTINCT user_id) FILTER (WHERE user_id <> 'anonymous') AS chatters
               FROM stream_chat WHERE channel_fk = ANY(%(fks)s) AND user_id <> 'SYSTEM_MESSAGE'
                 AND chat_channel_id IS NOT NULL
               GROUP BY 1 HAVING (min(chat_time) AT TIME ZONE 'Asia/Seoul')::date BETWEEN %(d0)s AND %(d1)s),
    p AS (SELECT s.chat_channel_id, p.concurrent_user_count AS v,
                 extract(epoch FROM least(lead(p.polled_at) OVER w, s.closed_at, p.polled_at + interval '360 s')
                         - p.polled_at) AS held
          FROM h6_session s JOIN h6_poll p ON p.session_fk = s.id
          WHERE s.chat_channel_id IN (SELECT chat_channel_id FROM b)
          WINDOW w AS (PARTITION BY p.session_fk ORDER BY p.polled_at))
    SELECT b.chat_channel_id, b.messages, b.chatters, sum(v * held) / nullif(sum(held), 0) AS avg_viewers,
           max(v) AS peak, sum(v * held) / 3600 AS hours_watched,
           b.chatters / (sum(v * held) / nullif(sum(held), 0)) AS engagement
    FROM b LEFT JOIN p USING (chat_channel_id) GROUP BY b.chat_channel_id, b.messages, b.chatters"""
_PG_WEEKS = """
    WITH b AS (SELECT chat_channel_id, channel_fk, min(chat_time) AS started, count(*) AS messages,
                      count(DISTINCT user_id) FILTER (WHERE user_id <> 'anonymous') AS chatters
               FROM stream_chat WHERE channel_fk = ANY(%(fks)s) AND user_id <> 'SYSTEM_MESSAGE'
                 AND chat_channel_id IS NOT NULL
               GROUP BY 1, 2 HAVING (min(chat_time) AT TIME ZONE 'Asia/Seoul')::date BETWEEN %(d0)s AND %(d1)s),
    p AS (SELECT s.chat_channel_id, p.concurrent_user_count * extract(epoch FROM least(
                 lead(p.polled_at) OVER w, s.closed_at, p.polled_at + interval '360 s') - p.polled_at) AS vs
          FROM h6_session s JOIN h6_poll p ON p.session_fk = s.id
          WHERE s.chat_channel_id IN (SELECT chat_channel_id FROM b)
          WINDOW w AS (PARTITION BY p.session_fk ORDER BY p.polled_at)),
    pb AS (SELECT chat_channel_id, sum(vs) AS vs FROM p GROUP BY 1)
    SELECT channel_fk, date_trunc('week', started AT TIME ZONE 'Asia/Seoul') AS week, count(*), sum(messages),
           sum(chatters), sum(pb.vs) / 3600 AS hours_watched
    FROM b LEFT JOIN pb USING (chat_channel_id) GROUP BY 1, 2"""
_PG_CATEGORIES = """
    WITH s AS (SELECT id, chat_channel_id, closed_at FROM h6_session WHERE channel_fk = ANY(%(fks)s)),
    r AS (SELECT s.chat_channel_id, p.polled_at, p.live_category_value AS category, p.concurrent_user_count AS v,
                 coalesce(lead(p.polled_at) OVER w, 'infinity') AS next_at, row_number() OVER w = 1 AS first,
                 extract(epoch FROM least(lead(p.polled_at) OVER w, s.closed_at, p.polled_at + interval '360 s')
                         - p.polled_at) AS held
          FROM h6_poll p JOIN s ON s.id = p.session_fk WINDOW w AS (PARTITION BY p.session_fk ORDER BY p.polled_at)),
    c AS (SELECT chat_channel_id, chat_time, user_id, pay_amount, message_type FROM stream_chat
          WHERE channel_fk = ANY(%(fks)s) AND chat_time >= %(t0)s AND chat_time < %(t1)s
            AND user_id <> 'SYSTEM_MESSAGE'),
    lines AS (SELECT r.category, count(*) AS messages, count(DISTINCT c.user_id) AS chatters,
                     count(*) FILTER (WHERE c.message_type = 'donation') AS donations
              FROM c JOIN r ON r.chat_channel_id = c.chat_channel_id AND (c.chat_time >= r.polled_at OR r.first)
                           AND c.chat_time < r.next_at GROUP BY 1),
    t AS (SELECT category, sum(held) / 3600 AS hours, sum(v * held) / nullif(sum(held), 0) AS avg_viewers, max(v)
          FROM r GROUP BY 1)
    SELECT * FROM t FULL JOIN lines USING (category)"""
_PG_CURVE = """SELECT p.polled_at, p.concurrent_user_count FROM h6_session s JOIN h6_poll p ON p.session_fk = s.id
               WHERE s.chat_channel_id = %(bc)s ORDER BY p.polled_at"""
_PG_FOLLOWERS = """SELECT channel_id, day, follower_count, follower_count - lag(follower_count) OVER
                          (PARTITION BY channel_id ORDER BY day) FROM h6_follow
                   WHERE channel_fk = ANY(%(fks)s) AND day BETWEEN %(d0)s AND %(d1)s ORDER BY 1, 2"""


def run(lake: str, url: str, reps: int = 10, pg_reps: int = 3,
        only: tuple[str, ...] = ("big", "median", "small", "lake")) -> dict:
    import warehouse as w
    from warehouse.lake.layout import Lake
    from warehouse.lake.tables import Table

    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT channel_id, id FROM stream_channel")
        fk = dict(cur.fetchall())
    t0 = time.perf_counter()
    tables = timeline(lake, fk)
    for name, table in tables.items():
        Lake(lake).write(Table(name, table.schema, "", False), table)
    load_pg(conn, tables)
    log.info("timeline written: %s (%.1fs)", {k: v.num_rows for k, v in tables.items()}, time.perf_counter() - t0)
    wh = w.open(lake)
    out = {"rows": {k: v.num_rows for k, v in tables.items()}, "scopes": {}}
    for s in [s for s in query_bench.scopes(wh, url, w) if s.name in only]:
        d0, d1 = s.start or query_bench.date(2000, 1, 1), s.end or query_bench.date(2100, 1, 1)
        args = {"fks": s.fks, "d0": d0, "d1": d1, "t0": str(d0) + " 00:00+09", "t1": str(d1 + timedelta(days=2)) +
                " 00:00+09", "bc": s.broadcast}
        asks = {
            "broadcast_viewers": (lambda s=s: w.broadcast_viewers(wh, s.channels, s.start, s.end), _PG_BROADCASTS),
            "channel_viewers_week": (lambda s=s: w.channel_viewers(wh, s.channels, s.start, s.end, every="week"),
                                     _PG_WEEKS),
            "categories": (lambda s=s: w.categories(wh, s.channels, s.start, s.end, per_channel=True), _PG_CATEGORIES),
            "follower_trend": (lambda s=s: w.follower_trend(wh, s.channels, s.start, s.end), _PG_FOLLOWERS),
        }
        if s.broadcast:
            asks["viewer_curve"] = (lambda s=s: w.viewer_curve(wh, s.channels[0], s.broadcast), _PG_CURVE)
        res = {}
        for name, (ours, sql) in asks.items():
            mine = query_bench.timed(ours, reps)

            def peer(sql=sql, args=args):
                with conn.cursor() as cur:
                    cur.execute(sql, args)
                    cur.fetchall()
            theirs = query_bench.timed(peer, pg_reps)
            res[name] = {"ours": mine, "pg": theirs, "ratio": round(theirs["p50_ms"] / mine["p50_ms"], 2)}
            log.info("%s %s: ours p50 %.1f ms p95 %.1f ms, PostgreSQL p50 %.1f ms (%.2fx)", s.name, name,
                     mine["p50_ms"], mine["p95_ms"], theirs["p50_ms"], res[name]["ratio"])
        out["scopes"][s.name] = res
    wh.close()
    conn.close()
    return out


def print_report(res: dict) -> None:
    print(f"timeline rows: {res['rows']}")
    print(f"{'scope':8} {'question':22} {'ours p50':>9} {'ours p95':>9} {'PG p50':>9} {'x PG':>7}")
    for scope, asks in res["scopes"].items():
        for name, r in asks.items():
            print(f"{scope:8} {name:22} {r['ours']['p50_ms']:9.1f} {r['ours']['p95_ms']:9.1f} "
                  f"{r['pg']['p50_ms']:9.1f} {r['ratio']:7.2f}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    only = tuple(argv[3].split(",")) if len(argv) > 3 else ("big", "median", "small", "lake")
    return realistic.feature_main(run, print_report, argv, writes_lake=True, only=only)

if __name__ == "__main__":
    sys.exit(main())
