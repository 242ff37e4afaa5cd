"""The set of channels to collect, from three sources: ``CHZZK_CHANNELS`` (comma-separated
ids), the file named by ``CHZZK_CHANNELS_FILE`` (one id per line, ``#`` comments) and
``stream_channel.enabled`` (``python -m collector channels add|remove``).

The wanted set = (environment ∪ file ∪ enabled rows) − disabled rows: ``channels remove``
wins over the configuration (it sets ``enabled = false`` and keeps the history), ``channels
add`` re-enables. Ids from the configuration that are not in ``stream_channel`` yet are
inserted enabled. Channel names and metadata come from the channel endpoint
(``refresh_info``), on add and periodically; those names are marked
``channel_name_source = 'chzzk'``: they win over names an ingest API client sends and are the
only names ``import-logs`` maps a log folder by (besides its own)."""
from __future__ import annotations

import logging
import re
from pathlib import Path

from collector import followers, sink
from collector.api import Api, ApiError
from collector.protocol import ProtocolError
from core import settings

log = logging.getLogger(__name__)

CHANNEL_ID = re.compile(r"^[0-9a-fA-F]{32}$")


def parse_channels_file(text: str) -> list[str]:
    """Ids of a channels file: one per line; blank lines and ``#`` comments (whole-line or
    trailing) ignored; commas and spaces also separate ids. Order kept, duplicates dropped."""
    ids = []
    for line in text.splitlines():
        line = line.split("#", 1)[0]
        ids.extend(t for t in re.split(r"[\s,]+", line) if t)
    return list(dict.fromkeys(ids))


def configured() -> list[str]:
    """Ids from CHZZK_CHANNELS and CHZZK_CHANNELS_FILE (a missing file is logged, not fatal)."""
    ids = list(settings.channels())
    path = settings.get("CHZZK_CHANNELS_FILE")
    if path:
        try:
            ids += parse_channels_file(Path(path).read_text(encoding="utf-8"))
        except OSError as exc:
            log.warning("channels file %s unreadable (%s); using the other sources", path, exc)
    bad = [c for c in ids if not CHANNEL_ID.match(c)]
    if bad:
        log.warning("ignoring %d channel id(s) that are not 32-hex: %s", len(bad), ", ".join(bad[:5]))
    return list(dict.fromkeys(c for c in ids if CHANNEL_ID.match(c)))


def wanted(conn, extra: list[str] | None = None) -> set[str]:
    """The channels to collect now (see the module docstring); inserts configured ids that
    are unknown to stream_channel (enabled). Commits."""
    ids = configured() + list(extra or [])
    with conn, conn.cursor() as cur:
        if ids:
            cur.execute("""INSERT INTO stream_channel (channel_id) SELECT unnest(%s::text[])
                           ON CONFLICT (channel_id) DO NOTHING""", (ids,))
        cur.execute("SELECT channel_id, enabled FROM stream_channel")
        rows = dict(cur.fetchall())
    disabled = {c for c, on in rows.items() if not on}
    return ({c for c, on in rows.items() if on} | set(ids)) - disabled


def add(conn, ids: list[str]) -> list[str]:
    """Enable (inserting if needed) these channels; returns the ids that were not enabled before."""
    with conn, conn.cursor() as cur:
        cur.execute("SELECT channel_id FROM stream_channel WHERE enabled AND channel_id = ANY(%s)", (ids,))
        before = {r[0] for r in cur.fetchall()}
        cur.execute("""INSERT INTO stream_channel (channel_id, enabled) SELECT unnest(%s::text[]), true
                       ON CONFLICT (channel_id) DO UPDATE SET enabled = true, updated_at = now()""", (ids,))
    return [c for c in ids if c not in before]


def remove(conn, ids: list[str]) -> list[str]:
    """Disable these channels (history kept); returns the ids that were known."""
    with conn, conn.cursor() as cur:
        cur.execute("""UPDATE stream_channel SET enabled = false, updated_at = now()
                        WHERE channel_id = ANY(%s) RETURNING channel_id""", (ids,))
        return [r[0] for r in cur.fetchall()]


def listing(conn) -> list[dict]:
    """Every known channel: id, name, enabled, state (live / offline / unavailable:<reason>),
    latest session's chat channel and times."""
    with conn, conn.cursor() as cur:
        cur.execute("""
            SELECT c.channel_id, c.channel_name, c.enabled, c.live_state, c.live_state_reason,
                   s.chat_channel_id, s.opened_at, s.closed_at
              FROM stream_channel c
              LEFT JOIN LATERAL (SELECT chat_channel_id, opened_at, closed_at FROM live_session
                                  WHERE channel_fk = c.id ORDER BY opened_at DESC, id DESC LIMIT 1) s ON true
             ORDER BY c.channel_name NULLS LAST, c.channel_id""")
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    for r in rows:
        r["state"] = state_of(r)
    return rows


def state_of(row: dict) -> str:
    """disabled / live / offline / unavailable:<reason> / unknown (never polled)."""
    if not row.get("enabled", True):
        return "disabled"
    state = row.get("live_state")
    if state == "unavailable":
        return f"unavailable:{row.get('live_state_reason') or '?'}"
    if state:
        return state
    return "live" if row.get("chat_channel_id") and row.get("closed_at") is None else "unknown"


def refresh_info(conn, api: Api, ids: list[str]) -> int:
    """Channel names and metadata from the channel endpoint into stream_channel; failures
    are logged and skipped. Returns how many channels were updated."""
    rows = []
    for cid in ids:
        try:
            info = api.channel(cid)
        except (ApiError, ProtocolError) as exc:
            log.warning("channel info of %s unavailable (%s)", cid, exc)
            continue
        if not info.exists:
            log.warning("channel %s does not exist (unknown id)", cid)
            continue
        rows.append({"channel_id": cid, "channel_name": info.channel_name, "channel_image_url": info.image_url,
                     "follower_count": info.follower_count, "verified_mark": info.verified_mark})
    if rows:
        with conn:
            sink.upsert_channels(conn, rows)
            followers.record(conn, [(r["channel_id"], r["follower_count"]) for r in rows])  # the daily trend
            with conn.cursor() as cur:
                cur.execute("UPDATE stream_channel SET info_refreshed_at = now() WHERE channel_id = ANY(%s)",
                            ([r["channel_id"] for r in rows],))
                # the names CHZZK gave: no ingest API client may replace them (ingest_db)
                cur.execute("UPDATE stream_channel SET channel_name_source = 'chzzk' WHERE channel_id = ANY(%s)",
                            ([r["channel_id"] for r in rows if r["channel_name"]],))
    return len(rows)
