"""Compare (issue 20 §3) at scale: compare_broadcasts (the two newest broadcasts of the
biggest, a median and a small channel, the four newest of the whole lake; 5-minute windows
with viewers), compare_channels (the channel's last week; every channel for the whole lake),
its daily series (every="day") and period_change (the week against the one before), each
beside the same question in SQL on the PostgreSQL twin.

The realistic lake has chat but no live-status timeline: as bench/viewers_bench.py does, one
is first written beside it (viewers_bench.timeline: a live_session row per broadcast, a poll
every 5 minutes with a viewer count, a poll gap in one broadcast of 20) into the given lake (a
copy: never the shared one) and, as temporary tables of the same rows, into PostgreSQL.

    LAKE=/work/data/h3/lake PYTHONPATH=. .venv/bin/python -m bench.compare_bench /work/data/real1m 10 [OUT.json|-]
"""
from __future__ import annotations

import logging
import sys
import time
from datetime import timedelta

from bench import bench_sql, query_bench, realistic, viewers_bench

log = logging.getLogger(__name__)

# the chat of the picked broadcasts per 5-minute window beside their polls cut into the same
# windows (time-weighted viewers), as compare_broadcasts answers
_PG_BROADCASTS = """
    WITH l AS (SELECT chat_channel_id, floor(extract(epoch FROM chat_time) / 300)::bigint AS w, user_id,
                      message_type, pay_amount
               FROM stream_chat WHERE channel_fk = ANY(%(fks)s) AND chat_channel_id = ANY(%(bcs)s)
                 AND user_id <> 'SYSTEM_MESSAGE'),
    c AS (SELECT chat_channel_id, w, count(*) AS messages, count(DISTINCT user_id) FILTER (WHERE user_id <> 'anonymous')
                 AS chatters, count(*) FILTER (WHERE message_type = 'donation') AS donations,
                 coalesce(sum(pay_amount) FILTER (WHERE message_type = 'donation'), 0) AS amount
          FROM l GROUP BY 1, 2),
    p AS (SELECT s.chat_channel_id, extract(epoch FROM p.polled_at) AS t0, p.concurrent_user_count AS v,
                 extract(epoch FROM least(lead(p.polled_at) OVER o, s.closed_at, p.polled_at + interval '360 s')) AS t1
          FROM h6_session s JOIN h6_poll p ON p.session_fk = s.id WHERE s.chat_channel_id = ANY(%(bcs)s)
          WINDOW o AS (PARTITION BY p.session_fk ORDER BY p.polled_at)),
    v AS (SELECT chat_channel_id, g.w, sum(v * (least(t1, (g.w + 1) * 300) - greatest(t0, g.w * 300)))
                     / sum(least(t1, (g.w + 1) * 300) - greatest(t0, g.w * 300)) AS viewers
          FROM p, generate_series(floor(t0 / 300)::bigint, floor((t1 - 1e-6) / 300)::bigint) AS g(w)
          WHERE t1 > t0 AND v IS NOT NULL GROUP BY 1, 2)
    SELECT * FROM c FULL JOIN v USING (chat_channel_id, w) ORDER BY 1, 2"""
# each channel's figures of the period beside the viewers of its broadcasts started in it
_PG_CHANNELS = """
    WITH c AS (SELECT channel_fk, count(*) AS messages,
                      count(DISTINCT user_id) FILTER (WHERE user_id <> 'anonymous') AS chatters,
                      count(*) FILTER (WHERE subscription_tier > 0 OR subscription_month > 0) AS sub_messages,
                      count(DISTINCT user_id) FILTER (WHERE user_id <> 'anonymous'
                                                      AND (subscription_tier > 0 OR subscription_month > 0)) AS subs,
                      count(*) FILTER (WHERE message_type = 'donation') AS donations,
                      coalesce(sum(pay_amount) FILTER (WHERE message_type = 'donation'), 0) AS amount
               FROM stream_chat WHERE channel_fk = ANY(%(fks)s) AND chat_time >= %(t0)s AND chat_time < %(t1)s
                 AND user_id <> 'SYSTEM_MESSAGE' GROUP BY 1),
    s AS (SELECT id, channel_fk, closed_at FROM h6_session WHERE channel_fk = ANY(%(fks)s)
            AND opened_at >= %(t0)s AND opened_at < %(t1)s),
    p AS (SELECT s.channel_fk, p.concurrent_user_count AS v,
                 extract(epoch FROM least(lead(p.polled_at) OVER o, s.closed_at, p.polled_at + interval '360 s')
                         - p.polled_at) AS held
          FROM s JOIN h6_poll p ON p.session_fk = s.id WINDOW o AS (PARTITION BY p.session_fk ORDER BY p.polled_at)),
    v AS (SELECT channel_fk, sum(v * held) / nullif(sum(held), 0) AS avg_viewers, max(v) AS peak,
                 sum(v * held) / 3600 AS hours_watched FROM p GROUP BY 1),
    f AS (SELECT channel_fk, (array_agg(follower_count ORDER BY day DESC))[1] AS followers FROM h6_follow
          WHERE channel_fk = ANY(%(fks)s) AND day BETWEEN %(d0)s AND %(d1)s GROUP BY 1)
    SELECT * FROM c LEFT JOIN v USING (channel_fk) LEFT JOIN f USING (channel_fk) ORDER BY messages DESC"""
_PG_DAYS = """
    WITH c AS (SELECT channel_fk, (chat_time AT TIME ZONE %(tz)s)::date AS day, count(*) AS messages,
                      count(DISTINCT user_id) FILTER (WHERE user_id <> 'anonymous') AS chatters,
                      count(*) FILTER (WHERE message_type = 'donation') AS donations,
                      coalesce(sum(pay_amount) FILTER (WHERE message_type = 'donation'), 0) AS amount
               FROM stream_chat WHERE channel_fk = ANY(%(fks)s) AND chat_time >= %(t0)s AND chat_time < %(t1)s
                 AND user_id <> 'SYSTEM_MESSAGE' GROUP BY 1, 2),
    s AS (SELECT id, channel_fk, (opened_at AT TIME ZONE %(tz)s)::date AS day, closed_at FROM h6_session
          WHERE channel_fk = ANY(%(fks)s) AND opened_at >= %(t0)s AND opened_at < %(t1)s),
    p AS (SELECT s.channel_fk, s.day, p.concurrent_user_count AS v,
                 extract(epoch FROM least(lead(p.polled_at) OVER o, s.closed_at, p.polled_at + interval '360 s')
                         - p.polled_at) AS held
          FROM s JOIN h6_poll p ON p.session_fk = s.id WINDOW o AS (PARTITION BY p.session_fk ORDER BY p.polled_at)),
    v AS (SELECT channel_fk, day, sum(v * held) / nullif(sum(held), 0) AS avg_viewers, max(v) AS peak,
                 sum(v * held) / 3600 AS hours_watched FROM p GROUP BY 1, 2)
    SELECT * FROM c FULL JOIN v USING (channel_fk, day) ORDER BY 1, 2"""
# the Overview's figures of the period and of the as long period before it
_PG_PERIODS = """
    SELECT chat_time >= %(t0)s AS current, count(DISTINCT channel_fk), count(*),
           count(*) FILTER (WHERE message_type = 'donation'),
           coalesce(sum(pay_amount) FILTER (WHERE message_type = 'donation'), 0)
    FROM stream_chat WHERE channel_fk = ANY(%(fks)s) AND chat_time >= %(p0)s AND chat_time < %(t1)s
      AND user_id <> 'SYSTEM_MESSAGE' GROUP BY 1"""


def _picks(w, wh, s) -> list[tuple[str, str]]:
    """The broadcasts compare_broadcasts is given: the scope's two newest, the lake's four."""
    listed = w.broadcast_list(wh, s.channels, s.start, s.end).head(2 if s.channels else 4)
    return list(zip(listed["channel_id"], listed["broadcast"], strict=True))


def run(lake: str, url: str, reps: int = 10, pg_reps: int = 3, tz: str = "Asia/Seoul") -> dict:
    import warehouse as w
    from warehouse.lake.layout import Lake
    from warehouse.lake.tables import Table

    conn = query_bench.connect_indexed(url, query_bench.PG_INDEXES)
    with conn.cursor() as cur:
        cur.execute("SELECT channel_id, id FROM stream_channel")
        fk = dict(cur.fetchall())
    t0 = time.perf_counter()
    tables = viewers_bench.timeline(lake, fk)
    for name, table in tables.items():
        Lake(lake).write(Table(name, table.schema, "", False), table)
    viewers_bench.load_pg(conn, tables)
    log.info("timeline written: %s (%.1fs)", {k: v.num_rows for k, v in tables.items()}, time.perf_counter() - t0)
    wh = w.open(lake, tz=tz)
    first, last = w.date_bounds(wh)
    out: dict = {"rows": {k: v.num_rows for k, v in tables.items()}, "results": {}}
    for s in query_bench.scopes(wh, url, w):
        picks = _picks(w, wh, s)
        args = bench_sql.params(s, tz, query_bench.KEYWORD)
        d0, d1 = s.start or first, s.end or last
        length = timedelta(days=(d1 - d0).days + 1)
        args.update(bcs=[b for _, b in picks], d0=d0, d1=d1, p0=args["t0"] - length)
        asks = {
            "compare_broadcasts": (lambda s=s, picks=picks: w.compare_broadcasts(wh, picks, window_minutes=5),
                                   _PG_BROADCASTS),
            "compare_channels": (lambda s=s: w.compare_channels(wh, s.channels, s.start, s.end), _PG_CHANNELS),
            "compare_channels_day": (lambda s=s: w.compare_channels(wh, s.channels, s.start, s.end, every="day"),
                                     _PG_DAYS),
            "period_change": (lambda s=s: w.period_change(wh, s.channels, s.start, s.end), _PG_PERIODS),
        }
        res = out["results"][s.name] = {}
        for name, (ours, sql) in asks.items():
            mine = query_bench.timed(ours, max(2, reps // 4) if s.name == "lake" else reps)

            def peer(sql=sql, args=args):
                with conn.cursor() as cur:
                    cur.execute(sql, args)
                    cur.fetchall()
            theirs = query_bench.timed(peer, max(1, pg_reps // 3) if s.name == "lake" else pg_reps)
            res[name] = {"p50_ms": mine["p50_ms"], "p95_ms": mine["p95_ms"], "pg_p50_ms": theirs["p50_ms"],
                         "ratio": round(theirs["p50_ms"] / max(mine["p50_ms"], 1e-3), 2)}
            log.info("%-7s %-22s p50 %8.1f p95 %8.1f pg %8.1f ratio %6.2f", s.name, name, mine["p50_ms"],
                     mine["p95_ms"], theirs["p50_ms"], res[name]["ratio"])
    wh.close()
    conn.close()
    return out


def print_report(res: dict) -> None:
    print(f"timeline rows: {res['rows']}")
    print(f"{'scope':7} {'question':22} {'p50 ms':>8} {'p95 ms':>8} {'pg p50':>8} {'x PG':>7}")
    for scope, qs in res["results"].items():
        for name, r in qs.items():
            print(f"{scope:7} {name:22} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['pg_p50_ms']:8.1f} {r['ratio']:7.2f}")


def main(argv: list[str] | None = None) -> int:
    return realistic.feature_main(run, print_report, argv, writes_lake=True)

if __name__ == "__main__":
    sys.exit(main())
