"""Benchmark data: a throwaway embedded PostgreSQL filled with N synthetic stream_chat rows.

Realistic base: the simulator's history (collector.sim.generator) through the real parse
path (protocol.parse_frame) and the real sink, ``base_rows`` rows (~12k rows/s). Then
copies of the base are made inside PostgreSQL (``INSERT … SELECT``), each copy k with
its own channel group (k % GROUPS: new stream_channel rows, so there are more channels)
and time block (k // GROUPS: shifted back by the base's span in whole days, so there are
more days), new ids and dedupe keys ``<key>#k``. Secondary indexes are dropped during
the bulk copy and rebuilt after, then VACUUM ANALYZE, so the table looks like one that
grew day by day: each block is inserted in chat_time order. Copies keep their row's kind:
raw and badges as jsonb, or compact (zstd frames, issue 17) as the sink stored them.

``reform`` then makes every row one kind, the same JSON values: jsonb (as stored before
issue 17) or compact (raw_z, badges_z, zdict, as the collector stores them since), so a
benchmark can read the same rows both ways in one run.
"""
from __future__ import annotations

import logging
import tempfile
import time
from dataclasses import dataclass
from datetime import datetime

import orjson
import psycopg2.extensions
import psycopg2.extras

from collector import backfill, sink
from collector.sim.generator import KST, make_channels
from core import db, raw_codec

log = logging.getLogger(__name__)

BASE_CHANNELS = 10
BASE_DAYS = 7                       # the base covers about a week
GROUPS = 4                          # channel groups across copies (x BASE_CHANNELS channels)
SEED = 7
END = datetime(2026, 1, 1, tzinfo=KST)  # fixed: same data on every run


@dataclass
class Server:
    """A throwaway PostgreSQL (deleted when the process exits)."""
    url: str        # postgresql:// URI (unix socket), for psycopg2 and our code
    dsn: str        # the same as a libpq key=value DSN
    tmpdir: str
    handle: object  # keep the pgserver handle alive


def start_server() -> Server:
    """Start an embedded PostgreSQL in a temporary folder, create and migrate a database."""
    pgserver = db.import_pgserver()
    tmpdir = tempfile.mkdtemp(prefix="chzzk-bench-pg-")
    srv = pgserver.get_server(tmpdir, cleanup_mode="delete")
    conn = psycopg2.connect(srv.get_uri())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("CREATE DATABASE bench")
    conn.close()
    url = srv.get_uri("bench")
    db.connect(url).close()  # applies the migrations
    return Server(url, f"host={tmpdir} port=5432 dbname=bench user=postgres", tmpdir, srv)


def _socket_dsn(srv: Server, conn) -> str:
    with conn.cursor() as cur:
        cur.execute("SELECT current_setting('port'), current_setting('unix_socket_directories')")
        port, sockdir = cur.fetchone()
    return f"host={sockdir.split(',')[0].strip()} port={port} dbname=bench user=postgres"


def load_base(conn, rows: int) -> float:
    """Insert ~`rows` realistic rows through parse_frame + sink.store; return seconds."""
    t0 = time.monotonic()
    chans = make_channels(BASE_CHANNELS, SEED)
    with conn:
        sink.upsert_channels(conn, [{"channel_id": c.channel_id, "channel_name": c.channel_name,
                                     "follower_count": c.follower_count} for c in chans])
    # spread the base over BASE_DAYS days: ~80k lines/day with 10 channels at rate 60
    rate = max(2.0, 60.0 * rows / (BASE_DAYS * 80_000))
    days = BASE_DAYS + 1
    batch: list[dict] = []
    stored = 0
    for recs in backfill.records(days, BASE_CHANNELS, SEED, rate, END):
        batch.extend(r for r in recs if r.get("kind") == "chat")
        if len(batch) >= 20_000 or stored + len(batch) >= rows:
            batch = batch[: rows - stored]
            stored += sink.store(conn, batch, log_level=logging.DEBUG).chat_inserted
            batch = []
            if stored >= rows:
                break
    if batch:
        stored += sink.store(conn, batch, log_level=logging.DEBUG).chat_inserted
    dt = time.monotonic() - t0
    log.info("base: %d realistic rows in %.1fs (%.0f rows/s)", stored, dt, stored / dt)
    return dt


_SECONDARY = ("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'stream_chat'"
              " AND indexname NOT IN (SELECT conname FROM pg_constraint)")
_COLS = ("chat_channel_id, user_id, nickname, message, message_type, msg_type_code, message_status,"
         " chat_time, created_at, subscription_month, subscription_tier, os_type, user_role, pay_amount,"
         " pay_type, donation_type, donation_id, is_anonymous, gift_receiver_id, gift_receiver_nickname,"
         " gift_tier, color_code, badges, member_count, blind_type, blinded_at, raw, dedupe_key,"
         " raw_z, badges_z, zdict")
_SELECT_COPY = (
    "SELECT m.new_fk, c.chat_channel_id || %(suffix{j})s, c.user_id, c.nickname, c.message, c.message_type,"
    " c.msg_type_code, c.message_status, c.chat_time - %(shift{j})s * interval '1 day',"
    " c.created_at - %(shift{j})s * interval '1 day', c.subscription_month, c.subscription_tier, c.os_type,"
    " c.user_role, c.pay_amount, c.pay_type, c.donation_type, c.donation_id, c.is_anonymous,"
    " c.gift_receiver_id, c.gift_receiver_nickname, c.gift_tier, c.color_code, c.badges, c.member_count,"
    " c.blind_type, c.blinded_at - %(shift{j})s * interval '1 day', c.raw, c.dedupe_key || %(suffix{j})s,"
    " c.raw_z, c.badges_z, c.zdict"
    " FROM stream_chat c JOIN bench_chanmap m ON m.old_fk = c.channel_fk AND m.grp = %(grp{j})s"
    " WHERE c.id <= %(base_max)s AND c.id < %(base_min)s + %(take{j})s")


def _prepare_copies(cur) -> tuple[int, int, int, int]:
    """Channel groups and the base's bounds: (base_rows, base_min_id, base_max_id, span_days)."""
    cur.execute("CREATE TABLE IF NOT EXISTS bench_base AS SELECT min(id) AS lo, max(id) AS hi, count(*) AS n,"
                " ceil(extract(epoch from max(chat_time) - min(chat_time)) / 86400)::int + 1 AS span"
                " FROM stream_chat")
    cur.execute("SELECT n, lo, hi, span FROM bench_base")
    n, lo, hi, span = cur.fetchone()
    cur.execute("CREATE TABLE IF NOT EXISTS bench_chanmap (old_fk bigint, grp int, new_fk bigint)")
    cur.execute("SELECT count(*) FROM bench_chanmap")
    if cur.fetchone()[0] == 0:
        cur.execute("INSERT INTO bench_chanmap SELECT id, 0, id FROM stream_channel")
        for g in range(1, GROUPS):
            cur.execute(
                "INSERT INTO stream_channel (channel_id, channel_name, follower_count)"
                " SELECT md5(%(g)s || channel_id), channel_name || ' #' || %(g)s, follower_count"
                " FROM stream_channel WHERE id IN (SELECT old_fk FROM bench_chanmap WHERE grp = 0)",
                {"g": str(g)})
            cur.execute(
                "INSERT INTO bench_chanmap SELECT o.id, %(g)s, n.id FROM stream_channel o"
                " JOIN stream_channel n ON n.channel_id = md5(%(g)s || o.channel_id)"
                " WHERE o.id IN (SELECT old_fk FROM bench_chanmap WHERE grp = 0)", {"g": str(g)})
    return n, lo, hi, span


def _secondary_indexes(cur) -> list[tuple[str, str]]:
    """Drop stream_chat's secondary indexes (bulk writes go faster); returns (name, DDL) to rebuild."""
    cur.execute(_SECONDARY)
    indexes = cur.fetchall()
    for name, _ in indexes:
        cur.execute("DROP INDEX " + name)  # names read from pg_indexes, not input
    return indexes


def grow(conn: psycopg2.extensions.connection, target: int) -> float:
    """Copy the base (already loaded) until stream_chat has `target` rows; return seconds."""
    t0 = time.monotonic()
    conn.autocommit = True
    with conn.cursor() as cur:
        base, lo, hi, span = _prepare_copies(cur)
        cur.execute("SELECT count(*) FROM stream_chat")
        have = cur.fetchone()[0]
        if have >= target:
            return 0.0
        indexes = _secondary_indexes(cur)
        k = -(-have // base)  # next copy number (copy 0 is the base)
        while have < target:
            # one time block at a time, all its channel groups, in chat_time order
            block = k // GROUPS
            ks = [j for j in range(k, (block + 1) * GROUPS)]
            parts, params = [], {}
            for j in ks:
                take = min(base, target - have - sum(params.get(f"take{i}", 0) for i in ks))
                if take <= 0:
                    break
                params[f"take{j}"] = take
                parts.append(_SELECT_COPY.format(j=j))
                params.update({f"suffix{j}": f"#{j}", f"grp{j}": j % GROUPS, f"shift{j}": block * span})
            params.update({"base_min": lo, "base_max": hi})
            insert = (f"INSERT INTO stream_chat (channel_fk, {_COLS}) SELECT * FROM ("  # noqa: S608 - constants only
                      + " UNION ALL ".join(parts) + ") s ORDER BY 9")
            cur.execute(insert, params)
            have += cur.rowcount
            k = (block + 1) * GROUPS
            log.info("copies up to %d: %d rows (%.1fs)", k - 1, have, time.monotonic() - t0)
        for _, ddl in indexes:
            cur.execute(ddl)
        cur.execute("VACUUM ANALYZE stream_chat")
        cur.execute("VACUUM ANALYZE stream_channel")
    dt = time.monotonic() - t0
    log.info("grown to %d rows in %.1fs", have, dt)
    return dt


FORMS = ("jsonb", "compact")
DICTIONARY_SAMPLES = 20_000  # base lines a dictionary is trained on when raw_dictionary has none
_BASE_KEY = "regexp_replace(c.dedupe_key, '#[0-9]+$', '')"  # a copy's key -> its base row's key
_SET = {"jsonb": "raw = f.raw, badges = f.badges, raw_z = NULL, badges_z = NULL, zdict = NULL",
        "compact": "raw = NULL, badges = NULL, raw_z = f.raw_z, badges_z = f.badges_z, zdict = f.zdict"}


def _dictionary(cur, texts: list[str]) -> raw_codec.Dictionary:
    """raw_dictionary's newest dictionary (the sink's), else one trained on `texts` and stored."""
    cur.execute("SELECT id, dict FROM raw_dictionary ORDER BY id DESC LIMIT 1")
    row = cur.fetchone()
    if row:
        return raw_codec.Dictionary(row[0], bytes(row[1]))
    samples = [t.encode() for t in texts[:DICTIONARY_SAMPLES]]
    data = raw_codec.train(samples)
    cur.execute("INSERT INTO raw_dictionary (id, samples, sample_bytes, dict) VALUES (1, %s, %s, %s)",
                (len(samples), sum(map(len, samples)), data))
    return raw_codec.Dictionary(1, data)


def _forms(cur) -> None:
    """bench_forms: each base row's raw and badges both ways (jsonb, and compact JSON compressed
    with the dictionary), keyed by its dedupe key; made once."""
    cur.execute("SELECT to_regclass('bench_forms') IS NOT NULL")
    if cur.fetchone()[0]:
        return
    _, _, hi, _ = _prepare_copies(cur)
    cur.execute("SELECT id, dict FROM raw_dictionary")
    known = {i: raw_codec.Dictionary(i, bytes(d)) for i, d in cur.fetchall()}
    cur.execute("SELECT dedupe_key, raw::text, badges::text, raw_z, badges_z, zdict FROM stream_chat"
                " WHERE id <= %s", (hi,))
    base = []
    for key, raw, badges, raw_z, badges_z, zdict in cur.fetchall():
        if raw_z is not None:  # compact: its text is already the compact JSON the sink wrote
            d = raw_codec.lookup(known, zdict)
            raw, badges = raw_codec.decompress(raw_z, d), raw_codec.decompress(badges_z, d)
        else:
            raw = orjson.dumps(orjson.loads(raw)).decode()
            badges = None if badges is None else orjson.dumps(orjson.loads(badges)).decode()
        base.append((key, raw, badges))
    dictionary = _dictionary(cur, [raw for _, raw, _ in base])
    cur.execute("CREATE TABLE bench_forms (key text PRIMARY KEY, raw jsonb, badges jsonb, raw_z bytea,"
                " badges_z bytea, zdict smallint)")
    psycopg2.extras.execute_values(
        cur, "INSERT INTO bench_forms VALUES %s",
        [(key, raw, badges, raw_codec.compress(raw, dictionary), raw_codec.compress(badges, dictionary),
          dictionary.id) for key, raw, badges in base], page_size=2000)


def reform(conn: psycopg2.extensions.connection, form: str) -> dict:
    """Make every stream_chat row `form` ("jsonb" or "compact"), the same JSON values either
    way (the base rows' payloads, the copies sharing them), then VACUUM FULL (the table as
    if written that way) and ANALYZE. Returns {"form", "rows", "seconds", "pg_bytes"}."""
    t0 = time.monotonic()
    conn.autocommit = True
    with conn.cursor() as cur:
        _forms(cur)
        other = "c.raw_z IS NOT NULL" if form == "jsonb" else "c.raw_z IS NULL"
        cur.execute(f"SELECT count(*) FROM stream_chat c WHERE {other}")  # noqa: S608 - constants only
        if cur.fetchone()[0]:
            indexes = _secondary_indexes(cur)
            cur.execute(f"UPDATE stream_chat c SET {_SET[form]} FROM bench_forms f"  # noqa: S608 - constants only
                        f" WHERE f.key = {_BASE_KEY}")
            log.info("reform %s: %d rows rewritten", form, cur.rowcount)
            cur.execute("VACUUM FULL stream_chat")
            for _, ddl in indexes:
                cur.execute(ddl)
            cur.execute("ANALYZE stream_chat")
        cur.execute("SELECT count(*), pg_total_relation_size('stream_chat') FROM stream_chat")
        rows, size = cur.fetchone()
    out = {"form": form, "rows": rows, "seconds": round(time.monotonic() - t0, 1), "pg_bytes": size}
    log.info("rows made %s: %s", form, out)
    return out


def build(rows: int, base_rows: int = 100_000) -> tuple[Server, dict]:
    """A server holding `rows` chat rows; (server, timings)."""
    t0 = time.monotonic()
    srv = start_server()
    conn = db.connect(srv.url)
    try:
        srv.dsn = _socket_dsn(srv, conn)
        base_s = load_base(conn, min(rows, base_rows))
        grow_s = grow(conn, rows)
        with conn.cursor() as cur:
            cur.execute("SELECT count(*), count(DISTINCT channel_fk), min(chat_time), max(chat_time),"
                        " pg_total_relation_size('stream_chat') FROM stream_chat")
            n, chans, first, last, size = cur.fetchone()
    finally:
        conn.close()
    info = {"rows": n, "channels": chans, "first_chat": first.isoformat(), "last_chat": last.isoformat(),
            "pg_bytes": size, "base_seconds": round(base_s, 1), "grow_seconds": round(grow_s, 1),
            "seconds": round(time.monotonic() - t0, 1)}
    log.info("data ready: %s", info)
    return srv, info
