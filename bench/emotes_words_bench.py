"""The emote and top-word questions (issue 20 §2, §8) on the big, median and small channel's
last week (bench.query_bench.scopes) and one broadcast, beside the same counts in the
PostgreSQL twin: p50/p95 and the ratio PostgreSQL p50 / ours.

The PostgreSQL side counts what it can in SQL: the emote codes and words of the lines by
regexp (no image URL: the twin's raw JSON is zstd-compressed, raw_z, which SQL cannot open;
words only, not phrases or runs) — less work than ours, so the ratio is conservative.

    LAKE=/work/data/<you>/lake PYTHONPATH=. .venv/bin/python -m bench.emotes_words_bench out.json 10
"""
from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path

from bench import query_bench
from bench.bench_sql import params

log = logging.getLogger(__name__)
_F = "c.channel_fk = ANY(%(fks)s) AND c.chat_time >= %(t0)s AND c.chat_time < %(t1)s"
_BC = "c.channel_fk = %(fk)s AND c.chat_channel_id = %(broadcast)s"
_EMOTES = r"""
    WITH l AS (SELECT c.id, c.user_id, c.message FROM stream_chat c
               WHERE {scope} AND c.user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'),
    e AS (SELECT l.id, l.user_id, m[1] AS emote FROM l, regexp_matches(l.message, '\{{:([^{{}}:]+):\}}', 'g') AS m
          WHERE strpos(l.message, '{{:') > 0)
    SELECT emote, count(*) AS uses, count(DISTINCT id) AS lines,
           count(DISTINCT user_id) FILTER (WHERE user_id <> 'anonymous') AS chatters,
           count(DISTINCT id)::float / (SELECT count(*) FROM l) AS share
    FROM e GROUP BY emote ORDER BY uses DESC, emote LIMIT 50"""
_WORDS = r"""
    WITH l AS (SELECT c.id, regexp_replace(lower(regexp_replace(c.message, '\{{:[^{{}}:]+:\}}', ' ', 'g')),
                                           'ㅋ{{2,}}|ㅎ{{2,}}|[ㅠㅜ]{{2,}}', ' ', 'g') AS t
               FROM stream_chat c WHERE {scope} AND c.user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'),
    w AS (SELECT l.id, m[1] AS token FROM l, regexp_matches(l.t, '([[:alnum:]]+)', 'g') AS m)
    SELECT token, count(*) AS uses, count(DISTINCT id) AS lines FROM w WHERE length(token) >= 2
    GROUP BY token ORDER BY uses DESC, token LIMIT 30"""
PG = {"emote_ranking": _EMOTES.format(scope=_F), "emote_ranking_broadcast": _EMOTES.format(scope=_BC),
      "top_words": _WORDS.format(scope=_F), "top_words_broadcast": _WORDS.format(scope=_BC)}


def questions(w) -> dict:
    """name -> call(wh, scope)."""
    return {
        "emote_ranking": lambda wh, s: w.emote_ranking(wh, s.channels, s.start, s.end),
        "emote_summary": lambda wh, s: w.emote_summary(wh, s.channels, s.start, s.end),
        "emote_users": lambda wh, s: w.emote_users(wh, s.channels, s.start, s.end),
        "emote_ranking_broadcast": lambda wh, s: w.emote_ranking(wh, broadcast=(s.channels[0], s.broadcast)),
        "emote_trend": lambda wh, s: w.emote_trend(wh, s.channels[0], s.broadcast),
        "top_words": lambda wh, s: w.top_words(wh, s.channels, s.start, s.end),
        "top_words_broadcast": lambda wh, s: w.top_words(wh, broadcast=(s.channels[0], s.broadcast)),
    }


def run(lake: str, url: str | None, reps: int = 10, pg_reps: int = 5, tz: str = "Asia/Seoul") -> dict:
    import warehouse as w
    wh = w.open(lake, tz=tz)
    scopes = [s for s in query_bench.scopes(wh, url, w) if s.name != "lake"]
    conn = query_bench.connect_indexed(url, query_bench.PG_INDEXES) if url else None
    results: dict = {}
    for scope in scopes:
        res = results[scope.name] = {}
        for name, call in questions(w).items():
            r = {"cold_ms": query_bench._cold(lake, w, call, scope)}
            r.update(query_bench.timed(lambda call=call, scope=scope: call(wh, scope), reps))
            if conn is not None and name in PG:
                args = params(scope, tz, "")

                def q(sql=PG[name], args=args):
                    with conn.cursor() as cur:
                        cur.execute(sql, args)
                        return cur.fetchall()
                pg = query_bench.timed(q, pg_reps)
                r.update(pg_p50_ms=pg["p50_ms"], ratio=round(pg["p50_ms"] / max(r["p50_ms"], 1e-3), 2))
            r["met"] = r["p95_ms"] <= query_bench.P95_MS and r.get("ratio", 1.0) >= 1.0
            res[name] = r
            log.info("%-7s %-24s cold %7.1f p50 %7.1f p95 %7.1f pg %7s ratio %6s", scope.name, name, r["cold_ms"],
                     r["p50_ms"], r["p95_ms"], r.get("pg_p50_ms", "-"), r.get("ratio", "-"))
    wh.close()
    if conn is not None:
        conn.close()
    return {"scopes": {s.name: {"channel": s.channels[0], "start": str(s.start), "end": str(s.end),
                                "broadcast": s.broadcast} for s in scopes}, "results": results}


def print_report(res: dict) -> None:
    print(f"   {'scope':<7} {'question':<25}{'cold':>8}{'p50':>8}{'p95':>8}{'pg p50':>9}{'ratio':>8}  target")
    for scope, qs in res["results"].items():
        for name, r in qs.items():
            print(f"   {scope:<7} {name:<25}{r['cold_ms']:>8.1f}{r['p50_ms']:>8.1f}{r['p95_ms']:>8.1f}"
                  f"{r.get('pg_p50_ms', '-'):>9}{r.get('ratio', '-'):>8}  {'met' if r['met'] else 'NOT MET'}")


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    from bench import realistic
    url, lake, _ = realistic.open_data(Path(os.environ.get("DATA", "/work/data/r10m")))
    lake = os.environ.get("LAKE", lake)
    res = run(lake, url, reps=int(sys.argv[2]) if len(sys.argv) > 2 else 10)
    if len(sys.argv) > 1:
        Path(sys.argv[1]).write_text(json.dumps(res, indent=1, default=str))
    print_report(res)


if __name__ == "__main__":
    main()
