"""Highlights and moderation (issue 20 §4, §6) at scale: warehouse.highlights of the newest
broadcast of the biggest, a median and a small channel (bench.query_bench.scopes), and
moderation_broadcasts / moderation_users / restrictions of each channel's last week and of the
whole lake, each beside the same question in SQL on the PostgreSQL twin (per-minute counts,
surge over the 5 minutes before, donated amount and keyword lines, the top windows' busiest
chatter; blinded lines by kind per broadcast; per user). The realistic data has blinded lines
but no events: restrictions and notices are empty on both sides.

    LAKE=/work/data/h8/lake PYTHONPATH=. .venv/bin/python -m bench.highlights_moderation_bench /work/data/r10m 10
"""
from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

from bench import bench_sql, query_bench, realistic

log = logging.getLogger(__name__)

_PG_HIGHLIGHTS = """
    WITH f AS (SELECT date_trunc('minute', chat_time) AS w, user_id, message, message_type, pay_amount
               FROM stream_chat WHERE channel_fk = %(fk)s AND chat_channel_id = %(broadcast)s
                 AND user_id <> 'SYSTEM_MESSAGE'),
    m AS (SELECT w, count(*) AS messages,
                 coalesce(sum(pay_amount) FILTER (WHERE message_type = 'donation'), 0) AS amount,
                 count(*) FILTER (WHERE message ILIKE %(kw)s) AS kw FROM f GROUP BY w),
    s AS (SELECT *, messages / greatest(coalesce(sum(messages) OVER (ORDER BY w RANGE BETWEEN interval '5 min'
                 PRECEDING AND interval '1 min' PRECEDING), 0) / 5.0, 1) AS surge FROM m),
    r AS (SELECT *, row_number() OVER (ORDER BY messages DESC, w) AS rv, row_number() OVER (ORDER BY surge DESC, w) AS rs,
                 row_number() OVER (ORDER BY amount DESC, w) AS ra, row_number() OVER (ORDER BY kw DESC, w) AS rk FROM s),
    c AS (SELECT * FROM r WHERE rv <= 10 OR rs <= 10 OR (ra <= 10 AND amount > 0) OR (rk <= 10 AND kw >= 3)),
    u AS (SELECT f.w, f.user_id, count(*) AS k FROM f JOIN c USING (w)
          WHERE f.user_id <> 'anonymous' GROUP BY 1, 2)
    SELECT c.w, c.messages, c.surge, c.amount, c.kw, max(u.k)::float / c.messages AS top_share
    FROM c LEFT JOIN u USING (w) GROUP BY c.w, c.messages, c.surge, c.amount, c.kw ORDER BY c.messages DESC"""
_PG_BROADCASTS = """
    SELECT chat_channel_id, min(chat_time), count(*) AS lines,
           count(*) FILTER (WHERE coalesce(message_status, 'NORMAL') <> 'NORMAL') AS blinded,
           count(*) FILTER (WHERE message_status = 'CBOTBLIND'), count(*) FILTER (WHERE message_status = 'HIDDEN'),
           count(*) FILTER (WHERE message_status NOT IN ('NORMAL', 'CBOTBLIND', 'HIDDEN'))
    FROM stream_chat WHERE channel_fk = ANY(%(fks)s) AND chat_time >= %(t0)s AND chat_time < %(t1)s
      AND user_id <> 'SYSTEM_MESSAGE' GROUP BY 1"""
_PG_USERS = """
    WITH b AS (SELECT DISTINCT channel_fk, user_id FROM stream_chat
               WHERE channel_fk = ANY(%(fks)s) AND chat_time >= %(t0)s AND chat_time < %(t1)s
                 AND coalesce(message_status, 'NORMAL') <> 'NORMAL' AND user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE'))
    SELECT c.channel_fk, c.user_id, count(*) AS lines,
           count(*) FILTER (WHERE coalesce(message_status, 'NORMAL') <> 'NORMAL') AS blinded
    FROM stream_chat c JOIN b USING (channel_fk, user_id)
    WHERE c.chat_time >= %(t0)s AND c.chat_time < %(t1)s GROUP BY 1, 2 ORDER BY blinded DESC, 2 LIMIT 100"""
_PG_RESTRICTIONS = """
    SELECT e.event_time, e.chat_channel_id, e.body ->> 'userIdHash', e.body ->> 'duration'
    FROM events e WHERE e.channel_fk = ANY(%(fks)s) AND e.event_type = 'TEMPORARY_RESTRICT'
      AND coalesce(e.event_time, e.received_at) >= %(t0)s AND coalesce(e.event_time, e.received_at) < %(t1)s"""


def questions(w) -> dict:
    """name -> (need, lake call(wh, scope), PostgreSQL SQL)."""
    return {
        "highlights": ("broadcast", lambda wh, s: w.highlights(wh, s.channels[0], s.broadcast,
                                                                keywords=(query_bench.KEYWORD,)), _PG_HIGHLIGHTS),
        "moderation_broadcasts": ("scoped", lambda wh, s: w.moderation_broadcasts(wh, s.channels, s.start, s.end),
                                  _PG_BROADCASTS),
        "moderation_users": ("scoped", lambda wh, s: w.moderation_users(wh, s.channels, s.start, s.end),
                             _PG_USERS),
        "restrictions": ("scoped", lambda wh, s: w.restrictions(wh, s.channels, s.start, s.end), _PG_RESTRICTIONS),
    }


def run(lake: str, url: str | None, reps: int = 10, pg_reps: int = 5, tz: str = "Asia/Seoul") -> dict:
    import warehouse as w

    wh = w.open(lake, tz=tz)
    conn = query_bench.connect_indexed(url, query_bench.PG_INDEXES) if url else None
    results: dict = {}
    for scope in query_bench.scopes(wh, url, w):
        res = results[scope.name] = {}
        for name, (need, call, sql) in questions(w).items():
            if need == "broadcast" and scope.broadcast is None:
                continue
            r = {"cold_ms": query_bench._cold(lake, w, call, scope)}
            r.update(query_bench.timed(lambda call=call, scope=scope: call(wh, scope),
                                       max(2, reps // 4) if scope.name == "lake" else reps))
            if conn is not None:
                args = bench_sql.params(scope, tz, query_bench.KEYWORD)

                def q(sql=sql, args=args):
                    with conn.cursor() as cur:
                        cur.execute(sql, args)
                        return cur.fetchall()
                pg = query_bench.timed(q, max(1, pg_reps // 3) if scope.name == "lake" else pg_reps)
                r.update(pg_p50_ms=pg["p50_ms"], pg_p95_ms=pg["p95_ms"],
                         ratio=round(pg["p50_ms"] / max(r["p50_ms"], 1e-3), 2))
            res[name] = r
            log.info("%-7s %-22s cold %7.1f p50 %7.1f p95 %7.1f pg %7s ratio %6s", scope.name, name, r["cold_ms"],
                     r["p50_ms"], r["p95_ms"], r.get("pg_p50_ms", "-"), r.get("ratio", "-"))
    wh.close()
    if conn is not None:
        conn.close()
    return {"results": results}


def print_report(res: dict) -> None:
    print(f"{'scope':7} {'question':22} {'cold ms':>8} {'p50 ms':>8} {'p95 ms':>8} {'pg p50':>8} {'ratio':>7}")
    for scope, qs in res["results"].items():
        for name, r in qs.items():
            print(f"{scope:7} {name:22} {r['cold_ms']:8.1f} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} "
                  f"{r.get('pg_p50_ms', '-')!s:>8} {r.get('ratio', '-')!s:>7}")


def main() -> None:
    import os
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    url, lake, _ = realistic.open_data(Path(sys.argv[1] if len(sys.argv) > 1 else "/work/data/r10m"))
    lake = os.environ.get("LAKE", lake)
    res = run(lake, url, reps=int(sys.argv[2]) if len(sys.argv) > 2 else 10)
    if len(sys.argv) > 3:
        Path(sys.argv[3]).write_text(json.dumps(res, indent=1, default=str))
    print_report(res)


if __name__ == "__main__":
    main()
