"""PostgreSQL side of the ingest API: store a request's records through the sink (COPY,
a line stored already is stored once, the opt-out filter) in ONE transaction together
with the channel rows they need, and the two read queries (``GET /chat``,
``GET /chat/channels``). Parameterized SQL only."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg2
from psycopg2 import sql

from collector import forgotten, sink
from collector.items import ms_to_iso

log = logging.getLogger(__name__)
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

CHAT_ROW = ("id", "channel_id", "channel_name", "user_id", "nickname", "message", "message_type",
            "chat_time", "subscription_month", "subscription_tier", "os_type", "user_role",
            "pay_amount", "created_at")
_SELECT_CHAT = sql.SQL("""
    SELECT c.id, ch.channel_id, ch.channel_name, c.user_id, c.nickname, c.message, c.message_type,
           c.chat_time, c.subscription_month, c.subscription_tier, c.os_type, c.user_role,
           c.pay_amount, c.created_at
      FROM stream_chat c JOIN stream_channel ch ON ch.id = c.channel_fk
     WHERE {where}
     ORDER BY c.chat_time DESC, c.id DESC
    OFFSET %s LIMIT %s""")
_FILTERS = {  # filter name -> condition (constant SQL; the value is bound)
    "channel_id": "ch.channel_id = %s",
    "channels": "ch.channel_id = ANY(%s)",  # an API key's channels
    "user_id": "c.user_id = %s",
    "start": "c.chat_time >= %s",
    "end": "c.chat_time < %s",
}


@dataclass(frozen=True)
class Saved:
    """What one request stored."""
    saved: int
    duplicates: int
    dropped: int         # lines of users on the opt-out list (warehouse forget-user)
    dead_letters: int


def _register_channels(cur, names: dict[str, str | None], enable: set[str], records: list[dict]) -> None:
    """Insert unknown channels (enabled only when this process's configuration names them,
    so a client can neither start nor stop collection) and name channels from the request.

    An API name (``channel_name_source`` 'api') fills a missing name or replaces another API
    name (or one of unknown origin); it never replaces a name the collector got from CHZZK
    ('chzzk') or one import-logs gave ('import'), and only a channel with at least one line
    in ``records`` not stored before is renamed: a re-sent (duplicate) line renames nothing."""
    ids = sorted(names)
    cur.execute("""
        INSERT INTO stream_channel (channel_id, channel_name, channel_name_source, enabled)
        SELECT c, n, CASE WHEN n IS NOT NULL THEN 'api' END, e
          FROM unnest(%s::text[], %s::text[], %s::boolean[]) AS t(c, n, e)
        ON CONFLICT (channel_id) DO NOTHING""", (ids, [names[c] for c in ids], [c in enable for c in ids]))
    named = {c: n for c, n in names.items() if n is not None}
    keys = [r["dedupe_key"] for r in records if r.get("channel_id") in named]
    if not keys:
        return
    cur.execute("""SELECT k FROM unnest(%s::text[]) AS k JOIN stream_chat c  -- the unique index (migration 012)
                    ON md5(c.dedupe_key)::uuid = md5(k)::uuid AND c.dedupe_key = k""", (keys,))
    stored = {k for (k,) in cur.fetchall()}
    fresh = sorted({r["channel_id"] for r in records if r.get("channel_id") in named and r["dedupe_key"] not in stored})
    cur.execute("""
        WITH given AS (SELECT * FROM unnest(%s::text[], %s::text[]) AS t(channel_id, name)),
        differ AS (SELECT ch.id, ch.channel_id, given.name,
                          ch.channel_name IS NULL OR coalesce(ch.channel_name_source, 'api') = 'api' AS allowed
                     FROM stream_channel ch JOIN given USING (channel_id)
                    WHERE ch.channel_name IS DISTINCT FROM given.name),
        renamed AS (UPDATE stream_channel ch SET channel_name = differ.name, channel_name_source = 'api',
                           updated_at = now()
                      FROM differ WHERE ch.id = differ.id AND differ.allowed RETURNING ch.id)
        SELECT channel_id FROM differ WHERE NOT allowed ORDER BY channel_id""", (fresh, [named[c] for c in fresh]))
    kept = [r[0] for r in cur.fetchall()]
    if kept:
        log.info("kept the CHZZK or import-logs name of %d channel(s) an API client sent another name for: %s",
                 len(kept), ", ".join(kept[:5]))


def store(conn, records: list[dict], letters: list[dict], names: dict[str, str | None],
          enable: set[str]) -> Saved:
    """Channel rows, chat lines and dead letters in one transaction: all or nothing.
    Raises the database's error after a rollback."""
    try:
        # the opt-out list, locked and read as the transaction's first statement (see
        # collector/forgotten.py): the channel rows commit together with the chat lines
        forgotten.read_opt_out(conn)
        kept = forgotten.without_opted_out(conn, records) if records else records
        with conn.cursor() as cur:
            if names:
                _register_channels(cur, names, enable, kept)
        report = sink.store(conn, kept + letters, log_level=logging.DEBUG)
    except Exception:
        with contextlib.suppress(psycopg2.Error):  # a lost connection cannot roll back: its server did
            conn.rollback()
        raise
    return Saved(report.chat_inserted, report.chat_duplicates, len(records) - len(kept), report.dead_letters)


def _iso(ts: datetime | None) -> str | None:
    return None if ts is None else ms_to_iso((ts - _EPOCH) // timedelta(milliseconds=1))


def chat_rows(conn, *, channel_id: str | None = None, user_id: str | None = None,
              start: datetime | None = None, end: datetime | None = None,
              channels: Iterable[str] | None = None, skip: int = 0, limit: int = 100) -> list[dict]:
    """Stored chat lines, newest first, filtered (None: no filter; ``channels``: only
    these channel ids) and paged."""
    given = {"channel_id": channel_id, "channels": None if channels is None else sorted(channels),
             "user_id": user_id, "start": start, "end": end}
    used = [name for name, value in given.items() if value is not None]
    where = sql.SQL(" AND ").join(sql.SQL(_FILTERS[name]) for name in used) if used else sql.SQL("true")
    with conn, conn.cursor() as cur:
        cur.execute(_SELECT_CHAT.format(where=where), [given[name] for name in used] + [skip, limit])
        rows = cur.fetchall()
    found = []
    for row in rows:
        item = dict(zip(CHAT_ROW, row, strict=True))
        item["chat_time"], item["created_at"] = _iso(item["chat_time"]), _iso(item["created_at"])
        found.append(item)
    return found


def channel_rows(conn, channels: Iterable[str] | None = None) -> list[dict]:
    """Every known channel (or those of ``channels``) with the time of its latest stored
    line (an index lookup each)."""
    wanted = None if channels is None else sorted(channels)
    with conn, conn.cursor() as cur:
        cur.execute("""
            SELECT ch.channel_id, ch.channel_name,
                   (SELECT max(c.chat_time) FROM stream_chat c WHERE c.channel_fk = ch.id)
              FROM stream_channel ch
             WHERE %(wanted)s::text[] IS NULL OR ch.channel_id = ANY(%(wanted)s::text[])
             ORDER BY ch.channel_name NULLS LAST, ch.channel_id""", {"wanted": wanted})
        rows = cur.fetchall()
    return [{"channel_id": c, "channel_name": n, "last_chat_time": _iso(t)} for c, n, t in rows]
