"""Search, user and catalog questions on a lake beside PostgreSQL (issue 18, section 3):
keyword_search's newest page the old way (one query over every day) and the new way
(newest days first, stopping when the page is full), keyword_trend and the user questions
for the biggest, a median and a small channel, table_preview the old way (one dataset over
every file) and the new way (file by file, stopping when full), and the catalog's first
calls after open. Lake and PostgreSQL hold the same rows; ratios come from one run.

    python -m bench.search_bench --lake DIR --url postgresql://... [--reps 10]
"""
from __future__ import annotations

import argparse
import json
import logging
import time
from collections.abc import Callable
from datetime import timedelta

import pyarrow as pa
import pyarrow.dataset as pads

from bench.query_bench import connect_indexed, timed

log = logging.getLogger(__name__)
KEYWORDS = ("ㅋㅋ", "대박")  # a common word and a less common one (Korean chat's own)
PAGE = 200
PREVIEW = 100
PG_INDEXES = ("CREATE INDEX IF NOT EXISTS bench_chat_user_time ON stream_chat (user_id, chat_time)",)

# keyword_search as it was before issue 18: one query over every day
_OLD_SEARCH = """
    WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]))
    SELECT chat_time, channel_id, channel_name, user_id, nickname, message
    FROM f WHERE has_text(message, ?)
    ORDER BY chat_time DESC, id DESC LIMIT ? OFFSET ?"""
_PG_SEARCH = """
    SELECT c.chat_time, ch.channel_id, ch.channel_name, c.user_id, c.nickname, c.message
    FROM stream_chat c JOIN stream_channel ch ON ch.id = c.channel_fk
    WHERE strpos(lower(c.message), lower(%(q)s)) > 0 AND c.user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'
      AND (%(all)s OR ch.channel_id = ANY(%(chs)s))
    ORDER BY c.chat_time DESC, c.id DESC LIMIT %(n)s"""
_PG_TREND = """
    SELECT date_trunc('day', c.chat_time AT TIME ZONE %(tz)s) AS bucket,
           count(*) FILTER (WHERE strpos(lower(c.message), lower(%(q)s)) > 0) AS matches, count(*) AS lines
    FROM stream_chat c
    WHERE c.channel_fk = (SELECT id FROM stream_channel WHERE channel_id = %(ch)s)
      AND c.chat_time >= %(t0)s AND c.chat_time < %(t1)s AND c.user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'
    GROUP BY 1 ORDER BY 1"""
_PG_PROFILE = """
    SELECT user_id, (array_agg(nickname ORDER BY chat_time DESC))[1], min(chat_time), max(chat_time),
           count(*), count(DISTINCT channel_fk)
    FROM stream_chat WHERE user_id = %(u)s GROUP BY user_id"""
_PG_NAMES = """
    SELECT nickname, min(chat_time) AS first_seen, max(chat_time), count(*) FROM stream_chat
    WHERE user_id = %(u)s AND nickname IS NOT NULL GROUP BY nickname ORDER BY first_seen, nickname"""
_PG_USER_CHANNELS = """
    SELECT ch.channel_id, ch.channel_name, count(*) AS n, min(c.chat_time), max(c.chat_time)
    FROM stream_chat c JOIN stream_channel ch ON ch.id = c.channel_fk
    WHERE c.user_id = %(u)s GROUP BY 1, 2 ORDER BY n DESC, 1"""
_PG_PREVIEW = """
    SELECT * FROM stream_chat WHERE channel_fk = (SELECT id FROM stream_channel WHERE channel_id = %(ch)s)
    ORDER BY chat_time, id LIMIT %(n)s"""


def _pick(wh) -> dict:
    """The biggest, the median and a small channel (by lines), the lake's last 7 days, and a
    user of median activity among those with 20+ lines."""
    counts = wh.sql("""SELECT channel_id, count(*) AS n FROM chat
                       WHERE user_id IS DISTINCT FROM 'SYSTEM_MESSAGE' GROUP BY 1 ORDER BY 2 DESC, 1""")
    ids = counts["channel_id"].to_list()
    last = wh.sql("SELECT max(day) AS d FROM chat").item()
    user = wh.sql("""SELECT user_id FROM (SELECT user_id, count(*) AS n FROM chat
                     WHERE user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE') GROUP BY 1 HAVING count(*) >= 20)
                     ORDER BY n, user_id LIMIT 1 OFFSET 100""").item()
    return {"channels": {"biggest": ids[0], "median": ids[len(ids) // 2], "small": ids[int(len(ids) * 0.9)]},
            "lines": dict(zip(counts["channel_id"], counts["n"], strict=True)),
            "start": last - timedelta(days=6), "end": last, "user": user}


def _old_preview(wh, channels):
    """table_preview as it was before issue 18: one dataset over every chat file, head()."""
    from warehouse.lake.layout import Lake
    from warehouse.lake.tables import CHAT
    from warehouse.read.queries import catalog
    lake = Lake(wh.root)
    files = catalog._files(lake, CHAT)
    schema = catalog._unified(lake, files)
    cond = pads.field("channel_id").isin(channels) if channels else None
    day = pa.schema([("day", pa.date32())])
    ds = pads.dataset([p for _, p, _ in files], schema=schema.append(day.field("day")), filesystem=lake.fs,
                      format="parquet", partitioning=pads.partitioning(day, flavor="hive"),
                      partition_base_dir=lake.table_dir(CHAT))
    return ds.head(PREVIEW, filter=cond)


def _lake_cases(wh, p: dict) -> dict[str, Callable[[], object]]:
    import warehouse as w
    from warehouse.read.queries.params import filter_params
    cases: dict[str, Callable[[], object]] = {}
    scopes = {"all": None, **{k: [v] for k, v in p["channels"].items()}}
    for q in KEYWORDS:
        for scope, chs in scopes.items():
            cases[f"search_new {q} {scope}"] = lambda q=q, chs=chs: w.keyword_search(wh, q, chs, limit=PAGE)
            cases[f"search_old {q} {scope}"] = lambda q=q, chs=chs: wh.sql(
                _OLD_SEARCH, filter_params(chs, None, None) + [q, PAGE, 0])
    for scope, chs in scopes.items():
        if chs:
            cases[f"trend_7d {scope}"] = lambda chs=chs: w.keyword_trend(wh, KEYWORDS[0], chs, p["start"], p["end"])
    cases.update({
        "user_profile": lambda: w.user_profile(wh, p["user"]),
        "name_history": lambda: w.name_history(wh, p["user"]),
        "user_channels": lambda: w.user_channels(wh, p["user"]),
    })
    for scope, chs in {"all": None, "small": [p["channels"]["small"]]}.items():
        cases[f"preview_new {scope}"] = lambda chs=chs: w.table_preview(wh, "chat", chs, limit=PREVIEW)
        cases[f"preview_old {scope}"] = lambda chs=chs: _old_preview(wh, chs)
    return cases


def _first_calls(lake: str) -> dict:
    """Each catalog call as the first after a fresh open (ms)."""
    import warehouse as w
    out = {}
    for name, fn in (("lake_tables", lambda wh: w.lake_tables(wh)), ("table_partitions", lambda wh: w.table_partitions(wh, "chat")),
                     ("table_schema", lambda wh: w.table_schema(wh, "chat")), ("lake_state", lambda wh: w.lake_state(wh)),
                     ("table_preview", lambda wh: w.table_preview(wh, "chat"))):
        with w.open(lake) as wh:
            t0 = time.perf_counter()
            fn(wh)
            out[name] = round((time.perf_counter() - t0) * 1000, 1)
    return out


def _pg_cases(conn, p: dict, tz: str) -> dict[str, Callable[[], object]]:
    from warehouse.sync.export import day_bounds
    t0, t1 = day_bounds(p["start"], tz)[0], day_bounds(p["end"], tz)[1]

    def q(sql, **args):
        def call():
            with conn.cursor() as cur:
                cur.execute(sql, args)
                return cur.fetchall()
        return call
    cases = {}
    scopes = {"all": None, **{k: [v] for k, v in p["channels"].items()}}
    for kw in KEYWORDS:
        for scope, chs in scopes.items():
            cases[f"search {kw} {scope}"] = q(_PG_SEARCH, q=kw, all=chs is None, chs=chs or [], n=PAGE)
    for scope, chs in scopes.items():
        if chs:
            cases[f"trend_7d {scope}"] = q(_PG_TREND, q=KEYWORDS[0], ch=chs[0], t0=t0, t1=t1, tz=tz)
    cases.update({"user_profile": q(_PG_PROFILE, u=p["user"]), "name_history": q(_PG_NAMES, u=p["user"]),
                  "user_channels": q(_PG_USER_CHANNELS, u=p["user"]),
                  "preview small": q(_PG_PREVIEW, ch=p["channels"]["small"], n=PREVIEW)})
    return cases


def run(lake: str, url: str | None, reps: int = 10, pg_reps: int = 10, tz: str = "Asia/Seoul") -> dict:
    """Time every case on the lake and (url given) PostgreSQL, in one run; see the module doc."""
    import warehouse as w
    first = _first_calls(lake)
    wh = w.open(lake)
    p = _pick(wh)
    lake_res = {name: timed(fn, reps) for name, fn in _lake_cases(wh, p).items()}
    wh.close()
    pg_res = {}
    if url:
        conn = connect_indexed(url, PG_INDEXES)
        pg_res = {name: timed(fn, pg_reps) for name, fn in _pg_cases(conn, p, tz).items()}
        conn.close()
    ratios = {}
    for name, r in lake_res.items():
        kind, _, rest = name.partition(" ")
        peer = pg_res.get(f"{kind.split('_')[0]} {rest}".strip()) or pg_res.get(name) \
            or pg_res.get(f"preview {rest}")
        old = lake_res.get(name.replace("_new", "_old")) if "_new" in name else None
        ratios[name] = {"p50_ms": r["p50_ms"], "p95_ms": r["p95_ms"],
                        "pg_p50_ms": peer["p50_ms"] if peer else None,
                        "x_pg": round(peer["p50_ms"] / r["p50_ms"], 2) if peer and r["p50_ms"] else None,
                        "x_old": round(old["p50_ms"] / r["p50_ms"], 1) if old and r["p50_ms"] else None}
    return {"params": {k: str(v) for k, v in p.items() if k != "lines"},
            "channel_lines": {k: p["lines"][v] for k, v in p["channels"].items()},
            "first_calls_ms": first, "lake": lake_res, "postgres": pg_res, "ratios": ratios}


def print_report(res: dict) -> None:
    print(f"channels (lines): {res['channel_lines']}  days {res['params']['start']}..{res['params']['end']}")
    print(f"{'question':34s} {'p50 ms':>9s} {'p95 ms':>9s} {'PG p50':>9s} {'x PG':>7s} {'x old':>7s}")
    for name, r in res["ratios"].items():
        if "_old" in name:
            continue
        pg = f"{r['pg_p50_ms']:9.2f}" if r["pg_p50_ms"] is not None else f"{'-':>9s}"
        print(f"{name:34s} {r['p50_ms']:9.2f} {r['p95_ms']:9.2f} {pg} {r['x_pg'] or '-':>7} {r['x_old'] or '-':>7}")
    print("first call after open (ms): " + ", ".join(f"{k} {v}" for k, v in res["first_calls_ms"].items()))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", required=True, help="the lake (WAREHOUSE_DIR) to measure")
    ap.add_argument("--url", default=None, help="PostgreSQL holding the same rows (omit: the lake alone)")
    ap.add_argument("--reps", type=int, default=10, help="warm repetitions per question (default 10)")
    ap.add_argument("--json", default=None, help="also write the results here")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    res = run(a.lake, a.url, a.reps, a.reps)
    print_report(res)
    if a.json:
        with open(a.json, "w") as f:
            json.dump(res, f, indent=1, default=str)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
