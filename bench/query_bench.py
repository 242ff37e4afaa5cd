"""Query benchmark: the analyst API on a lake (warm p50/p95 over repetitions) beside the
same questions asked of PostgreSQL with sensible indexes, on the same machine, one run.

Targets (issue 4) are defined for a 10M-row lake: channel-scoped p95 <= 300 ms, user
lookup p95 <= 500 ms, whole-lake daily totals p95 <= 1.5 s, and >= 10x faster than
PostgreSQL. Functions of the analyst API that are not there (yet) are skipped.
"""
from __future__ import annotations

import importlib
import logging
import statistics
import time
from collections.abc import Callable
from datetime import timedelta

import psycopg2

log = logging.getLogger(__name__)

TARGET_MS = {"channel": 300.0, "user": 500.0, "lake": 1500.0}
PG_INDEXES = (  # "sensible indexes" for the PostgreSQL side, beyond the migrations' ones
    "CREATE INDEX IF NOT EXISTS bench_chat_user_time ON stream_chat (user_id, chat_time)",
)
# optional analyst functions (other modules), channel-scoped, called as f(wh, channels, start, end)
OPTIONAL = (("warehouse.read.queries.audience", "heatmap"), ("warehouse.read.queries.audience", "top_chatters"),
            ("warehouse.read.queries.time", "peaks"), ("warehouse.read.queries.money", "donations"),
            ("warehouse.read.queries.audience", "new_vs_returning"))

# PostgreSQL equivalents (same filters and answers as the lake functions).
_PG_CHANNEL_ACTIVITY = """
    SELECT date_trunc(%(unit)s, c.chat_time AT TIME ZONE %(tz)s) AS bucket, count(*) AS messages,
           count(DISTINCT c.user_id) FILTER (WHERE c.user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')) AS chatters
    FROM stream_chat c
    WHERE c.channel_fk = (SELECT id FROM stream_channel WHERE channel_id = %(ch)s)
      AND c.chat_time >= %(t0)s AND c.chat_time < %(t1)s AND c.user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'
    GROUP BY 1 ORDER BY 1"""
_PG_CHANNEL_SUBSCRIBERS = """
    SELECT date_trunc('day', c.chat_time AT TIME ZONE %(tz)s) AS bucket, count(*) AS messages,
           count(*) FILTER (WHERE coalesce(c.subscription_tier, 0) > 0 OR coalesce(c.subscription_month, 0) > 0)
               AS subscriber_messages,
           count(DISTINCT c.user_id) FILTER (WHERE c.user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')) AS chatters,
           count(DISTINCT c.user_id) FILTER (WHERE c.user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')
               AND (coalesce(c.subscription_tier, 0) > 0 OR coalesce(c.subscription_month, 0) > 0))
               AS subscriber_chatters
    FROM stream_chat c
    WHERE c.channel_fk = (SELECT id FROM stream_channel WHERE channel_id = %(ch)s)
      AND c.chat_time >= %(t0)s AND c.chat_time < %(t1)s AND c.user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'
    GROUP BY 1 ORDER BY 1"""
_PG_CHANNEL_TIERS = """
    SELECT t, count(*) AS chatters, sum(n) AS messages FROM (
        SELECT c.user_id, count(*) AS n,
               max(CASE WHEN coalesce(subscription_tier, 0) > 0 THEN subscription_tier
                        WHEN coalesce(subscription_month, 0) > 0 THEN 1 ELSE 0 END) AS t
        FROM stream_chat c
        WHERE c.channel_fk = (SELECT id FROM stream_channel WHERE channel_id = %(ch)s)
          AND c.chat_time >= %(t0)s AND c.chat_time < %(t1)s
          AND c.user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')
        GROUP BY c.user_id) u GROUP BY t ORDER BY t"""
_PG_SEARCH = """
    SELECT c.user_id, (array_agg(c.nickname ORDER BY c.chat_time DESC))[1] AS nickname, count(*) AS messages,
           min(c.chat_time), max(c.chat_time)
    FROM stream_chat c
    WHERE c.user_id IN (SELECT DISTINCT user_id FROM stream_chat
                        WHERE strpos(lower(nickname), lower(%(q)s)) > 0
                          AND user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE'))
    GROUP BY c.user_id ORDER BY messages DESC, c.user_id LIMIT 100"""
_PG_USER_MESSAGES = """
    SELECT c.chat_time, ch.channel_id, ch.channel_name, c.nickname, c.message_type, c.message
    FROM stream_chat c JOIN stream_channel ch ON ch.id = c.channel_fk
    WHERE c.user_id = %(u)s ORDER BY c.chat_time DESC, c.id DESC LIMIT 1000"""
_PG_ACTIVITY_DAY_ALL = """
    SELECT ch.channel_id, (c.chat_time AT TIME ZONE %(tz)s)::date AS day, count(*) AS messages,
           count(DISTINCT c.user_id) FILTER (WHERE c.user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')) AS chatters
    FROM stream_chat c JOIN stream_channel ch ON ch.id = c.channel_fk
    WHERE c.user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'
    GROUP BY 1, 2 ORDER BY 1, 2"""
_PG_DAILY = """
    SELECT (c.chat_time AT TIME ZONE %(tz)s)::date AS day, ch.channel_id, count(*) AS messages
    FROM stream_chat c JOIN stream_channel ch ON ch.id = c.channel_fk GROUP BY 1, 2 ORDER BY 1, 2"""


def timed(fn: Callable[[], object], reps: int) -> dict:
    """One cold call, then `reps` warm calls: cold ms, warm p50/p95/max ms."""
    t0 = time.perf_counter()
    fn()
    cold = (time.perf_counter() - t0) * 1000
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, max(0, round(0.95 * len(samples)) - 1))]
    # three decimals: a point lookup answers in hundredths of a millisecond
    return {"cold_ms": round(cold, 3), "p50_ms": round(statistics.median(samples), 3),
            "p95_ms": round(p95, 3), "max_ms": round(samples[-1], 3), "reps": reps}


def _pick(wh, wmod) -> dict:
    """The question's parameters: the busiest channel, the lake's last 7 days, a busy user
    and a two-letter piece of their nickname."""
    first, last = wmod.date_bounds(wh)
    start = max(first, last - timedelta(days=6))
    ch = wh.sql("SELECT channel_id, count(*) AS n FROM chat GROUP BY 1 ORDER BY 2 DESC LIMIT 1").row(0)[0]
    user, nick = wh.sql("""SELECT user_id, any_value(nickname) AS nick, count(*) AS n FROM chat
                           WHERE user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE') AND nickname IS NOT NULL
                           GROUP BY 1 ORDER BY 3 DESC LIMIT 1""").row(0)[:2]
    return {"channel": ch, "start": start, "end": last, "user": user, "needle": nick[:2]}


def _cases(wh, wmod, p: dict) -> dict[str, tuple[str, Callable[[], object]]]:
    """Every question timed: name -> (kind, call)."""
    chs, s, e = [p["channel"]], p["start"], p["end"]
    cases: dict[str, tuple[str, Callable[[], object]]] = {
        "activity_hour_1ch_7d": ("channel", lambda: wmod.activity(wh, chs, s, e, every="hour")),
        "activity_day_1ch_7d": ("channel", lambda: wmod.activity(wh, chs, s, e, every="day")),
        "subscriber_ratio_1ch_7d": ("channel", lambda: wmod.subscriber_ratio(wh, chs, s, e)),
        "tier_split_1ch_7d": ("channel", lambda: wmod.tier_split(wh, chs, s, e)),
    }
    for module, name in OPTIONAL:
        try:
            fn = getattr(importlib.import_module(module), name)
        except (ImportError, AttributeError):
            continue
        cases[f"{name}_1ch_7d"] = ("channel", lambda fn=fn: fn(wh, chs, s, e))
    cases.update({
        "search_users": ("user", lambda: wmod.search_users(wh, p["needle"])),
        "user_messages": ("user", lambda: wmod.user_messages(wh, p["user"])),
        "daily_counts_all": ("lake", lambda: wmod.daily_counts(wh)),
        "activity_day_all": ("lake", lambda: wmod.activity(wh, every="day")),
    })
    return cases


def _time_cases(cases: dict, names, reps: int, note: str = "") -> dict:
    results: dict = {}
    for name in names:
        kind, fn = cases[name]
        try:
            r = timed(fn, reps)
        except Exception as exc:  # a WIP function of another module must not stop the run
            log.warning("query %s failed: %s", name, exc)
            results[name] = {"kind": kind, "error": str(exc)[:300]}
            continue
        r.update(kind=kind, target_ms=TARGET_MS[kind],
                 result="PASS" if r["p95_ms"] <= TARGET_MS[kind] else "FAIL")
        results[name] = r
        log.info("lake %-28s p50 %8.1f ms  p95 %8.1f ms%s", name, r["p50_ms"], r["p95_ms"], note)
    return results


def run(lake: str, url: str | None, reps: int = 20, pg_reps: int = 5, tz: str = "Asia/Seoul") -> dict:
    """Benchmark the lake at `lake` and PostgreSQL at `url` (holding the same rows; None:
    the lake alone, as for a lake scaled up without PostgreSQL, bench/scale_lake.py)."""
    import warehouse as wmod
    wh = wmod.open(lake)
    p = _pick(wh, wmod)
    cases = _cases(wh, wmod, p)
    results = _time_cases(cases, cases, reps)
    wh.close()
    pg = _postgres(url, p, tz, pg_reps) if url else {}
    speedups = {}
    for name, r in pg.items():
        ours = results.get(name, {}).get("p50_ms")
        if ours:
            speedups[name] = {"lake_p50_ms": ours, "pg_p50_ms": r["p50_ms"],
                              "speedup": round(r["p50_ms"] / ours, 1),
                              "result": "PASS" if r["p50_ms"] / ours >= 10 else "FAIL"}
    params = {k: str(v) for k, v in p.items()}
    return {"params": params, "lake": results, "postgres": pg, "speedup": speedups}


USER_QUESTIONS = ("search_users", "user_messages")
CHATTER_QUESTIONS = ("tier_split_1ch_7d", "new_vs_returning_1ch_7d")
ROLLUP_QUESTIONS = ("activity_hour_1ch_7d", "activity_day_1ch_7d", "subscriber_ratio_1ch_7d", "activity_day_all")


def some(lake: str, names: tuple[str, ...], reps: int = 20) -> dict:
    """The questions `names` alone, timed as the lake is now (run.py times them once
    without a side table, by moving its file aside, then with it)."""
    import warehouse as wmod
    wh = wmod.open(lake)
    out = {"users_index": wh.has_users_index(), "rollups": wh.rollups() is not None,
           "chatter_days": wh.tiers() is not None, "user_tail": wh.user_tail() is not None}
    out.update(_time_cases(_cases(wh, wmod, _pick(wh, wmod)), names, reps,
                           f" (users index: {out['users_index']}, rollups: {out['rollups']},"
                           f" chatter days: {out['chatter_days']}, user tail: {out['user_tail']})"))
    wh.close()
    return out


def _postgres(url: str, p: dict, tz: str, reps: int) -> dict:
    from warehouse.sync.export import day_bounds
    t0, _ = day_bounds(p["start"], tz)
    _, t1 = day_bounds(p["end"], tz)
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for ddl in PG_INDEXES:
            cur.execute(ddl)
        cur.execute("ANALYZE stream_chat")
    args = {"tz": tz, "ch": p["channel"], "t0": t0, "t1": t1, "u": p["user"], "q": p["needle"]}
    out = {}
    for name, sql, unit in (("activity_hour_1ch_7d", _PG_CHANNEL_ACTIVITY, "hour"),
                            ("activity_day_1ch_7d", _PG_CHANNEL_ACTIVITY, "day"),
                            ("subscriber_ratio_1ch_7d", _PG_CHANNEL_SUBSCRIBERS, None),
                            ("tier_split_1ch_7d", _PG_CHANNEL_TIERS, None),
                            ("search_users", _PG_SEARCH, None), ("user_messages", _PG_USER_MESSAGES, None),
                            ("daily_counts_all", _PG_DAILY, None), ("activity_day_all", _PG_ACTIVITY_DAY_ALL, None)):
        def q(sql=sql, unit=unit):
            with conn.cursor() as cur:
                cur.execute(sql, {**args, "unit": unit})
                return cur.fetchall()
        out[name] = timed(q, reps)
        log.info("pg   %-28s p50 %8.1f ms", name, out[name]["p50_ms"])
    conn.close()
    return out
