"""The Audience page's questions (issue 20 §7) at scale, each beside the same question in SQL
on the PostgreSQL twin: for the biggest, a median and a small channel (bench.query_bench.scopes)
over the lake's last 4 weeks — the channel's weekly overlap with its 3 closest channels
(audience_overlap_trend; the closest picked once, untimed, from audience_overlap of every
channel), its broadcast-to-broadcast retention and its monthly cohorts — and for the whole
lake the same 4 weeks' overlap matrix of every channel (the analyst's first view), retention
and cohorts. The lake is only read; the chatter days answer when they are fresh (the
report says whether they were).

    PYTHONPATH=. .venv/bin/python -m bench.audience_bench /work/data/real1m 10 [OUT.json|-]
"""
from __future__ import annotations

import logging
import sys
from datetime import datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

import polars as pl

from bench import query_bench, realistic

log = logging.getLogger(__name__)
WEEKS = 4

_PG_TREND = """
    WITH u AS (SELECT DISTINCT date_trunc('week', chat_time AT TIME ZONE %(tz)s) AS bucket, channel_fk, user_id
               FROM stream_chat WHERE channel_fk = ANY(%(fks)s) AND chat_time >= %(t0)s AND chat_time < %(t1)s
                 AND user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')),
    n AS (SELECT bucket, channel_fk, count(*) AS c FROM u GROUP BY 1, 2),
    sh AS (SELECT a.bucket, a.channel_fk AS ca, b.channel_fk AS cb, count(*) AS s
           FROM u a JOIN u b ON a.bucket = b.bucket AND a.user_id = b.user_id AND a.channel_fk < b.channel_fk
           GROUP BY 1, 2, 3)
    SELECT na.channel_fk, nb.channel_fk, na.bucket, na.c, nb.c, coalesce(sh.s, 0),
           coalesce(sh.s, 0)::float / (na.c + nb.c - coalesce(sh.s, 0))
    FROM n na JOIN n nb ON na.bucket = nb.bucket AND na.channel_fk < nb.channel_fk
    LEFT JOIN sh ON sh.bucket = na.bucket AND sh.ca = na.channel_fk AND sh.cb = nb.channel_fk
    ORDER BY 1, 2, 3"""
_PG_OVERLAP = """
    WITH u AS (SELECT DISTINCT channel_fk, user_id FROM stream_chat
               WHERE channel_fk = ANY(%(fks)s) AND chat_time >= %(t0)s AND chat_time < %(t1)s AND user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')),
    n AS (SELECT channel_fk, count(*) AS c FROM u GROUP BY 1),
    sh AS (SELECT a.channel_fk AS ca, b.channel_fk AS cb, count(*) AS s
           FROM u a JOIN u b ON a.user_id = b.user_id AND a.channel_fk < b.channel_fk GROUP BY 1, 2)
    SELECT na.channel_fk, nb.channel_fk, na.c, nb.c, coalesce(sh.s, 0),
           coalesce(sh.s, 0)::float / (na.c + nb.c - coalesce(sh.s, 0))
    FROM n na JOIN n nb ON na.channel_fk < nb.channel_fk
    LEFT JOIN sh ON sh.ca = na.channel_fk AND sh.cb = nb.channel_fk ORDER BY 1, 2"""
_PG_RETENTION = """
    WITH b AS (SELECT channel_fk, chat_channel_id, min(chat_time) AS started FROM stream_chat
               WHERE channel_fk = ANY(%(fks)s) AND chat_channel_id IS NOT NULL GROUP BY 1, 2),
    seq AS (SELECT *, lag(chat_channel_id) OVER (PARTITION BY channel_fk ORDER BY started, chat_channel_id) AS prev
            FROM b),
    want AS (SELECT * FROM seq WHERE started >= %(t0)s AND started < %(t1)s),
    bu AS (SELECT DISTINCT channel_fk, chat_channel_id, user_id FROM stream_chat
           WHERE channel_fk = ANY(%(fks)s) AND user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')
             AND chat_channel_id IN (SELECT chat_channel_id FROM want UNION SELECT prev FROM want)),
    cnt AS (SELECT channel_fk, chat_channel_id, count(*) AS c FROM bu GROUP BY 1, 2),
    ret AS (SELECT w.channel_fk, w.chat_channel_id, count(*) AS n FROM want w
            JOIN bu cur ON cur.channel_fk = w.channel_fk AND cur.chat_channel_id = w.chat_channel_id
            JOIN bu p ON p.channel_fk = w.channel_fk AND p.chat_channel_id = w.prev AND p.user_id = cur.user_id
            GROUP BY 1, 2)
    SELECT w.channel_fk, w.chat_channel_id, w.started, coalesce(c.c, 0), ret.n, ret.n::float / pc.c
    FROM want w
    LEFT JOIN cnt c ON c.channel_fk = w.channel_fk AND c.chat_channel_id = w.chat_channel_id
    LEFT JOIN cnt pc ON pc.channel_fk = w.channel_fk AND pc.chat_channel_id = w.prev
    LEFT JOIN ret ON ret.channel_fk = w.channel_fk AND ret.chat_channel_id = w.chat_channel_id
    ORDER BY 1, 3, 2"""
_PG_COHORTS = """
    WITH firsts AS (SELECT channel_fk, user_id, min(chat_time) AS first FROM stream_chat
                    WHERE channel_fk = ANY(%(fks)s) AND user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE') GROUP BY 1, 2),
    members AS (SELECT channel_fk, user_id, date_trunc('month', first AT TIME ZONE %(tz)s) AS cohort FROM firsts
                WHERE first >= %(t0)s AND first < %(t1)s),
    size AS (SELECT channel_fk, cohort, count(*) AS n FROM members GROUP BY 1, 2),
    active AS (SELECT DISTINCT channel_fk, user_id, date_trunc('month', chat_time AT TIME ZONE %(tz)s) AS period
               FROM stream_chat WHERE channel_fk = ANY(%(fks)s) AND chat_time >= %(t0)s AND chat_time < %(t1)s
                 AND user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE'))
    SELECT m.channel_fk, m.cohort, a.period, max(s.n), count(*), count(*)::float / max(s.n)
    FROM members m JOIN active a USING (channel_fk, user_id) JOIN size s USING (channel_fk, cohort)
    GROUP BY 1, 2, 3 ORDER BY 1, 2, 3"""


def questions(w, partners: dict[str, list[str]]) -> dict:
    """name -> (scopes it is asked for: "channel" or "lake" or both, lake call(wh, scope, d0, d1), SQL)."""
    return {
        "overlap_trend_week": (("channel",), lambda wh, s, d0, d1: w.audience_overlap_trend(
            wh, [s.channels[0], *partners[s.channels[0]]], d0, d1, every="week"), _PG_TREND),
        "audience_overlap": (("lake",), lambda wh, s, d0, d1: w.audience_overlap(wh, s.channels, d0, d1),
                             _PG_OVERLAP),
        "broadcast_retention": (("channel", "lake"), lambda wh, s, d0, d1: w.broadcast_retention(
            wh, s.channels, d0, d1), _PG_RETENTION),
        "chatter_cohorts_month": (("channel", "lake"), lambda wh, s, d0, d1: w.chatter_cohorts(
            wh, s.channels, d0, d1, every="month"), _PG_COHORTS),
    }


def run(lake: str, url: str, reps: int = 10, pg_reps: int = 3, tz: str = "Asia/Seoul") -> dict:
    import psycopg2

    import warehouse as w
    from warehouse.read.accelerators import CHATTER_DAYS
    from warehouse.read.accelerators.base import Need

    wh = w.open(lake, tz=tz)
    fast = wh.accelerator(CHATTER_DAYS, frozenset({Need.LOCAL_DAYS})) is not None
    first, last = w.date_bounds(wh)
    d0, d1 = max(first, last - timedelta(days=7 * WEEKS - 1)), last
    zone = ZoneInfo(tz)
    with psycopg2.connect(url) as c, c.cursor() as cur:
        cur.execute("SELECT channel_id, id FROM stream_channel")
        fk = dict(cur.fetchall())
    conn = query_bench.connect_indexed(url, query_bench.PG_INDEXES)
    scopes = query_bench.scopes(wh, url, w)
    every = w.audience_overlap(wh, None, d0, d1)  # untimed: each channel's closest channels
    partners = {}
    for s in scopes:
        if s.channels:
            cid = s.channels[0]
            mine = every.filter((pl.col("channel_a") == cid) | (pl.col("channel_b") == cid)).sort(
                ["shared", "channel_a", "channel_b"], descending=[True, False, False]).head(3)
            partners[cid] = [b if a == cid else a for a, b in mine.select("channel_a", "channel_b").iter_rows()]
    out = {"period": [str(d0), str(d1)], "chatter_days_answer": fast, "results": {}}
    for s in scopes:
        kind = "channel" if s.channels else "lake"
        chans = [s.channels[0], *partners[s.channels[0]]] if s.channels else None
        args = {"tz": tz, "t0": datetime.combine(d0, dtime.min, zone),
                "t1": datetime.combine(d1 + timedelta(days=1), dtime.min, zone),
                "fks": [fk[c] for c in s.channels] if s.channels else list(fk.values())}
        res = out["results"][s.name] = {}
        for name, (kinds, call, sql) in questions(w, partners).items():
            if kind not in kinds:
                continue
            a = {**args, "fks": [fk[c] for c in chans]} if name == "overlap_trend_week" else args
            r = query_bench.timed(lambda call=call, s=s: call(wh, s, d0, d1), max(2, reps // 4) if kind == "lake"
                                  else reps)

            def peer(sql=sql, a=a):
                with conn.cursor() as cur:
                    cur.execute(sql, a)
                    return cur.fetchall()
            pg = query_bench.timed(peer, max(1, pg_reps // 3) if kind == "lake" else pg_reps)
            r.update(pg_p50_ms=pg["p50_ms"], ratio=round(pg["p50_ms"] / max(r["p50_ms"], 1e-3), 2))
            res[name] = r
            log.info("%-7s %-22s p50 %8.1f p95 %8.1f pg %8.1f ratio %7.2f", s.name, name, r["p50_ms"], r["p95_ms"],
                     r["pg_p50_ms"], r["ratio"])
    wh.close()
    conn.close()
    return out


def print_report(res: dict) -> None:
    print(f"audience questions over {res['period'][0]}..{res['period'][1]} (chatter days answered: "
          f"{res['chatter_days_answer']})")
    print(f"{'scope':7} {'question':22} {'p50 ms':>8} {'p95 ms':>8} {'pg p50':>9} {'x PG':>8}")
    for scope, qs in res["results"].items():
        for name, r in qs.items():
            print(f"{scope:7} {name:22} {r['p50_ms']:8.1f} {r['p95_ms']:8.1f} {r['pg_p50_ms']:9.1f} {r['ratio']:8.2f}")


def main(argv: list[str] | None = None) -> int:
    return realistic.feature_main(run, print_report, argv)

if __name__ == "__main__":
    sys.exit(main())
