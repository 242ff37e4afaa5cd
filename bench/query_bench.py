"""Query benchmark (issue 18): every dashboard question (the functions of warehouse.__all__
the dashboard's pages call, called as the pages call them) asked of the biggest channel, a
median channel and a small one (by lines, over the lake's last week) and of the whole lake,
beside the same question asked of PostgreSQL with indexes (bench_sql.py), same rows, one
run: warm p50/p95 over repetitions, the first call after open (cold: a Warehouse opened
for that question alone), and the ratio PostgreSQL p50 / lake p50.

Targets (issue 18, at 10M realistic rows): every channel-scoped question p95 <= 100 ms and
>= 1x PostgreSQL; the biggest channel and the whole lake >= 10x; keyword_search (newest
200 hits) >= 1x; table_preview p95 <= 100 ms; no first call over 1 s."""
from __future__ import annotations

import logging
import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, timedelta

import psycopg2

from bench import bench_sql as S

log = logging.getLogger(__name__)

P95_MS = 100.0          # channel-scoped questions and table_preview
COLD_MS = 1000.0        # first call after open
RATIO = {"big": 10.0, "median": 1.0, "small": 1.0, "lake": 10.0}
KEYWORD = "나이스"       # a word of the generator's corpus and vocabulary (collector.sim.history_rows)
PG_INDEXES = (  # "sensible indexes" for the PostgreSQL side, beyond the migrations' ones
    "CREATE INDEX IF NOT EXISTS bench_chat_user_time ON stream_chat (user_id, chat_time)",
)


@dataclass
class Scope:
    """Who and when a question is asked about."""
    name: str                 # big, median, small, lake
    channels: list[str] | None
    start: date | None
    end: date | None
    fks: list[int]            # stream_channel ids (PostgreSQL)
    broadcast: str | None     # the channel's newest broadcast (chat_channel_id)
    user: str                 # a busy chatter of the scope
    needle: str               # two letters of their nickname


def timed(fn: Callable[[], object], reps: int, warm_up: bool = True) -> dict:
    """`reps` warm calls after one unmeasured call (`warm_up`): p50/p95/max ms."""
    if warm_up:
        fn()
    samples = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - t0) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, max(0, round(0.95 * len(samples)) - 1))]
    return {"p50_ms": round(statistics.median(samples), 3), "p95_ms": round(p95, 3),
            "max_ms": round(samples[-1], 3), "reps": reps}


def connect_indexed(url: str, indexes: tuple[str, ...]):
    """An autocommit connection to the PostgreSQL twin, after `indexes` (CREATE INDEX IF NOT
    EXISTS statements) and an ANALYZE of stream_chat: PostgreSQL as a user would index it."""
    conn = psycopg2.connect(url)
    conn.autocommit = True
    with conn.cursor() as cur:
        for ddl in indexes:
            cur.execute(ddl)
        cur.execute("ANALYZE stream_chat")
    return conn


def questions(w) -> dict[str, tuple[str, Callable]]:
    """name -> (what it needs, call(wh, scope)) for every question the dashboard asks;
    `w` is the warehouse package. Needs: "scoped" (channels + period), "user", "broadcast"
    (one broadcast of one channel), "lake" (no scope)."""
    def sc(fn, **kw):
        return "scoped", lambda wh, s: fn(wh, channels=s.channels, start=s.start, end=s.end, **kw)

    def bc(fn, **kw):
        return "broadcast", lambda wh, s: fn(wh, s.channels[0], s.broadcast, **kw)

    def us(fn, **kw):
        return "user", lambda wh, s: fn(wh, s.user, channels=s.channels, start=s.start, end=s.end, **kw)

    return {
        "channel_summary": sc(w.channel_summary), "activity_day": sc(w.activity, every="day"),
        "activity_hour": sc(w.activity, every="hour"), "coverage": sc(w.coverage),
        "subscriber_ratio": sc(w.subscriber_ratio), "tier_split": sc(w.tier_split),
        "heatmap": sc(w.heatmap), "top_chatters": sc(w.top_chatters), "top_share": sc(w.top_share),
        "new_vs_returning": sc(w.new_vs_returning, every="day"), "chatter_cohorts": sc(w.chatter_cohorts),
        "audience_overlap": sc(w.audience_overlap), "broadcast_retention": sc(w.broadcast_retention),
        "subscriber_change": sc(w.subscriber_change), "subscriber_tenure": sc(w.subscriber_tenure),
        "peaks": sc(w.peaks), "donations": sc(w.donations), "donation_ranking": sc(w.donation_ranking),
        "donation_distribution": sc(w.donation_distribution),
        "donations_over_broadcast": sc(w.donations_over_broadcast, minutes=10),
        "gifted_subscriptions": sc(w.gifted_subscriptions), "pending_missions": sc(w.pending_missions),
        "broadcast_list": sc(w.broadcast_list), "keyword_trend": sc(lambda wh, **k: w.keyword_trend(wh, KEYWORD, **k)),
        "keyword_search": sc(lambda wh, **k: w.keyword_search(wh, KEYWORD, limit=200, **k)),
        "table_preview": sc(lambda wh, **k: w.table_preview(wh, "chat", **k)),
        "search_users": ("user", lambda wh, s: w.search_users(wh, s.needle, channels=s.channels, start=s.start,
                                                               end=s.end)),
        "user_messages": us(w.user_messages), "name_history": us(w.name_history),
        "user_channels": us(w.user_channels), "user_profile": us(w.user_profile),
        "broadcast_activity": bc(w.broadcast_activity), "broadcast_timeline": bc(w.broadcast_timeline),
        "broadcast_peaks": bc(w.broadcast_peaks), "broadcast_top_chatters": bc(w.broadcast_top_chatters),
        "broadcast_donors": bc(w.broadcast_donors),
        "date_bounds": ("lake", lambda wh, s: w.date_bounds(wh)),
        "channel_directory": ("lake", lambda wh, s: w.channel_directory(wh)),
        "sync_status": ("lake", lambda wh, s: w.sync_status(wh)),
        "lake_state": ("lake", lambda wh, s: w.lake_state(wh)),
        "lake_tables": ("lake", lambda wh, s: w.lake_tables(wh)),
        "table_schema": ("lake", lambda wh, s: w.table_schema(wh, "chat")),
        "table_partitions": ("lake", lambda wh, s: w.table_partitions(wh, "chat")),
    }


def scopes(wh, url: str | None, w) -> list[Scope]:
    """The biggest, a median and a small channel by lines over the lake's last week (the
    channel at the 90th percentile from the top), and the whole lake."""
    first, last = w.date_bounds(wh)
    start = max(first, last - timedelta(days=6))
    ranked = wh.sql("SELECT channel_id, count(*) AS n FROM chat WHERE chat_time >= ? GROUP BY 1 ORDER BY 2 DESC,"
                    " 1", [start]).rows()
    picks = {"big": ranked[0][0], "median": ranked[len(ranked) // 2][0],
             "small": ranked[min(len(ranked) - 1, int(len(ranked) * 0.9))][0]}
    fk = {}
    if url:
        with psycopg2.connect(url) as conn, conn.cursor() as cur:
            cur.execute("SELECT channel_id, id FROM stream_channel")
            fk = dict(cur.fetchall())
    out = []
    for name, cid in [*picks.items(), ("lake", None)]:
        where = "channel_id = ? AND " if cid else ""
        args = [cid] if cid else []
        user, nick = wh.sql(f"""SELECT user_id, any_value(nickname), count(*) AS n FROM chat
                               WHERE {where} user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE') AND nickname IS NOT NULL
                               GROUP BY 1 ORDER BY 3 DESC, 1 LIMIT 1""", args).row(0)[:2]  # noqa: S608 - constant
        broadcast = None
        if cid:
            broadcast = wh.sql("SELECT chat_channel_id FROM chat WHERE channel_id = ? ORDER BY chat_time DESC LIMIT 1",
                               [cid]).row(0)[0]
        out.append(Scope(name, [cid] if cid else None, start if cid else None, last if cid else None,
                         [fk[cid]] if cid and fk else list(fk.values()), broadcast, user, nick[:2]))
    return out


def _cold(lake: str, w, call, scope: Scope) -> float:
    wh = w.open(lake)
    try:
        t0 = time.perf_counter()
        call(wh, scope)
        return round((time.perf_counter() - t0) * 1000, 1)
    finally:
        wh.close()


def run(lake: str, url: str | None, reps: int = 20, pg_reps: int = 5, tz: str = "Asia/Seoul",
        only: tuple[str, ...] = (), only_scopes: tuple[str, ...] = ()) -> dict:
    """Every question of every scope on the lake at `lake`, beside PostgreSQL at `url` (the
    same rows; None: the lake alone). Returns {"scopes": {...}, "results": {scope: {question: {...}}}}."""
    import warehouse as w
    wh = w.open(lake, tz=tz)
    qs = {k: v for k, v in questions(w).items() if not only or k in only}
    sc = [s for s in scopes(wh, url, w) if not only_scopes or s.name in only_scopes]
    conn = connect_indexed(url, PG_INDEXES) if url else None
    results: dict = {}
    for scope in sc:
        res = results[scope.name] = {}
        for name, (need, call) in qs.items():
            if (need == "broadcast" and scope.broadcast is None) or (need == "lake" and scope.name != "lake"):
                continue
            r: dict = {"need": need}
            try:
                r["cold_ms"] = _cold(lake, w, call, scope)
                # the whole lake: a quarter of the repetitions (its scans take seconds at 10M rows)
                r.update(timed(lambda call=call, scope=scope: call(wh, scope),
                               max(2, reps // 4) if scope.name == "lake" else reps))
            except Exception as exc:  # one question failing must not cost the others
                log.warning("lake %s/%s failed: %s", scope.name, name, exc)
                res[name] = {"error": str(exc)[:300]}
                continue
            sql = S.SQL.get(name)
            if conn is not None and sql is not None:
                args = S.params(scope, tz, KEYWORD)
                try:
                    def q(sql=sql, args=args):
                        with conn.cursor() as cur:
                            cur.execute(sql, args)
                            return cur.fetchall()
                    # the whole lake in PostgreSQL takes seconds a question: a third of the
                    # repetitions, no unmeasured call (the table is in its cache by then)
                    lake_wide = scope.name == "lake"
                    pg = timed(q, max(1, pg_reps // 3) if lake_wide else pg_reps, warm_up=not lake_wide)
                    r.update(pg_p50_ms=pg["p50_ms"], pg_p95_ms=pg["p95_ms"],
                             ratio=round(pg["p50_ms"] / max(r["p50_ms"], 1e-3), 2))
                except Exception as exc:  # a broken twin is reported, not fatal
                    log.warning("pg %s/%s failed: %s", scope.name, name, exc)
                    r["pg_error"] = str(exc)[:200]
            r["verdict"] = verdict(scope.name, name, r)
            res[name] = r
            log.info("%-7s %-24s cold %7.1f p50 %7.1f p95 %7.1f pg %7s ratio %6s  %s", scope.name, name, r["cold_ms"],
                     r["p50_ms"], r["p95_ms"], r.get("pg_p50_ms", "-"), r.get("ratio", "-"), r["verdict"])
    wh.close()
    if conn is not None:
        conn.close()
    return {"scopes": {s.name: {"channel": (s.channels or [None])[0], "start": str(s.start), "end": str(s.end),
                                "broadcast": s.broadcast, "user": s.user, "needle": s.needle} for s in sc},
            "keyword": KEYWORD, "results": results}


def verdict(scope: str, name: str, r: dict) -> str:
    """met / NOT MET (with what failed) for one question of one scope."""
    misses = []
    if r["cold_ms"] > COLD_MS:
        misses.append("cold")
    if (scope != "lake" and r.get("need") != "lake" or name == "table_preview") and r["p95_ms"] > P95_MS:
        misses.append("p95")
    need = 1.0 if name == "keyword_search" else RATIO[scope]
    if "ratio" in r and r["ratio"] < need:
        misses.append(f"<{need:g}x")
    return "met" if not misses else "NOT MET (" + ", ".join(misses) + ")"


def print_report(res: dict) -> None:
    print(f"\n== every dashboard question (ms; PostgreSQL with indexes beside; keyword {res['keyword']!r})")
    for name, s in res["scopes"].items():
        print(f"   {name:<7} channel {s['channel']}  {s['start']}..{s['end']}  broadcast {s['broadcast']}")
    print(f"   {'scope':<7} {'question':<25}{'cold':>8}{'p50':>8}{'p95':>8}{'pg p50':>9}{'ratio':>8}  target")
    for scope, qs in res["results"].items():
        for name, r in qs.items():
            if "error" in r:
                print(f"   {scope:<7} {name:<25} error: {r['error'][:70]}")
                continue
            pg = f"{r['pg_p50_ms']:.1f}" if "pg_p50_ms" in r else "-"
            ratio = f"{r['ratio']:.2f}x" if "ratio" in r else "-"
            print(f"   {scope:<7} {name:<25}{r['cold_ms']:>8.1f}{r['p50_ms']:>8.1f}{r['p95_ms']:>8.1f}{pg:>9}{ratio:>8}"
                  f"  {r['verdict']}")
    n = sum(1 for qs in res["results"].values() for r in qs.values() if r.get("verdict") == "met")
    total = sum(1 for qs in res["results"].values() for r in qs.values())
    print(f"   met: {n} of {total}")
