"""The PostgreSQL sink: one batch of records (collector/records.py) stored in ONE
transaction. Chat lines are written compact (issue 17; collector/chat_copy.py): ``raw``
and ``badges`` as zstd frames with this database's dictionary (collector/raw_dictionaries.py).
They go in by one ``COPY stream_chat`` straight into the table, inside a savepoint; when a
line is stored already (a replay, a retry, a reconnect's overlap, another process), that
COPY fails on the unique key and the batch goes the careful way instead: COPY into the
session's temporary staging table (emptied at each commit), then one ``INSERT … SELECT …
ON CONFLICT DO NOTHING`` on the dedupe key's unique index (migration 012:
``md5(dedupe_key)::uuid``)
(docs/COLLECTOR_STORAGE.md has the measurements). Blinds mark stored lines; events and
dead letters land in their tables; a mission's stored lines take the latest status its
copies and progress events say (``_settle_missions``), and a gift's lines its quantity
(``_settle_gifts``). Storing the same batch twice is harmless."""
from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from operator import itemgetter

import psycopg2.errors
import psycopg2.extensions
import psycopg2.extras
from psycopg2 import sql

from collector import chat_binary, chat_copy, raw_dictionaries
from collector.forgotten import forget_opted_out, read_opt_out, stored_body, without_opted_out
from collector.items import clean_text  # the parser's cleaning, one definition
from core import raw_codec

log = logging.getLogger(__name__)

STAGING = "chat_staging"  # temp table name (constant identifier)
CHAT_COLUMNS = chat_copy.COLUMNS
DEFAULT_BLIND_STATUS = "BLIND"
_SQL = {"staging": sql.Identifier(STAGING), "cols": sql.SQL(", ").join(map(sql.Identifier, CHAT_COLUMNS))}
_COPY_OPTIONS = sql.SQL("(NULL {})").format(sql.Literal(chat_copy.NULL))
_BINARY_OPTIONS = sql.SQL("(FORMAT binary)")
# chat lines go in as binary COPY (collector/chat_binary.py: less server and collector CPU than
# text, docs/COLLECTOR_STORAGE.md); False: text (the bench compares the two in one run)
COPY_BINARY = True

# channel_id -> stream_channel.id, per database (dsn); filled only after a commit
_channel_cache: dict[str, dict[str, int]] = {}
@dataclass(frozen=True)
class StoreReport:
    """What one `store` call did."""
    chat_inserted: int = 0
    chat_duplicates: int = 0
    blinds: int = 0
    events: int = 0
    dead_letters: int = 0
    seconds: float = 0.0
    money_lines_updated: int = 0  # stored mission/gift lines given a later status or the gift's quantity


def to_json(value) -> str | None:
    """JSON text for a jsonb column (None stays NULL), cleaned as the parser cleans."""
    text = chat_copy.json_text(value)
    return text.decode("utf-8") if isinstance(text, bytes) else text


def upsert_channels(conn, channels: Iterable[dict]) -> dict[str, int]:
    """Insert or update stream_channel rows; each dict has ``channel_id`` and optionally
    ``channel_name``, ``channel_image_url``, ``follower_count``, ``verified_mark`` (None
    keeps what is stored). Runs in the caller's transaction; returns channel_id -> id."""
    rows = [(c["channel_id"], c.get("channel_name"), c.get("channel_image_url"),
             c.get("follower_count"), c.get("verified_mark")) for c in channels]
    if not rows:
        return {}
    with conn.cursor() as cur:
        found = psycopg2.extras.execute_values(cur, """
            INSERT INTO stream_channel (channel_id, channel_name, channel_image_url,
                                        follower_count, verified_mark)
            VALUES %s
            ON CONFLICT (channel_id) DO UPDATE SET
                channel_name = COALESCE(EXCLUDED.channel_name, stream_channel.channel_name),
                channel_image_url = COALESCE(EXCLUDED.channel_image_url, stream_channel.channel_image_url),
                follower_count = COALESCE(EXCLUDED.follower_count, stream_channel.follower_count),
                verified_mark = COALESCE(EXCLUDED.verified_mark, stream_channel.verified_mark),
                updated_at = now()
            RETURNING channel_id, id""", rows, fetch=True, page_size=len(rows))
        return dict(found)


def _channel_ids(conn, channel_ids: set[str]) -> dict[str, int]:
    """channel_id -> stream_channel.id, inserting unknown channels (no name yet)."""
    cache = _channel_cache.get(conn.dsn, {})
    known = {c: cache[c] for c in channel_ids if c in cache}
    missing = sorted(channel_ids - known.keys())
    if missing:
        with conn.cursor() as cur:
            cur.execute("""INSERT INTO stream_channel (channel_id)
                           SELECT unnest(%s::text[]) ON CONFLICT (channel_id) DO NOTHING""", (missing,))
            cur.execute("SELECT channel_id, id FROM stream_channel WHERE channel_id = ANY(%s)", (missing,))
            known.update(dict(cur.fetchall()))
    return known


def _first_copies(chats: list[dict]) -> list[dict]:
    """The batch in chat_time order with one record per dedupe key (the first)."""
    chats = sorted(chats, key=itemgetter("chat_time"))
    if len(set(map(itemgetter("dedupe_key"), chats))) == len(chats):
        return chats
    seen: set = set()
    out = []
    for rec in chats:
        if rec["dedupe_key"] not in seen:
            seen.add(rec["dedupe_key"])
            out.append(rec)
    return out


@dataclass
class _Lines:
    """A batch's chat lines to store: one record per dedupe key, in chat_time order; their
    raw JSON texts (chat_copy.json_texts) once the COPY made them."""
    chats: list[dict]
    raws: list


def _copy(cur, table: sql.Composable, lines: _Lines, fks: dict[str, int],
          dictionary: raw_codec.Dictionary | None, tally: list, letters: list[dict]) -> None:
    """COPY the lines into `table`, in the binary format (COPY_BINARY) unless a value
    needs the text format's input functions (chat_binary.NotBinary: the batch is copied
    again as text); a line whose JSON is too big to store becomes a dead letter in
    `letters` (the COPY is done again without it)."""
    binary = COPY_BINARY
    while True:
        lines.raws.clear()
        tally[:] = [0, 0]
        stream = chat_copy.Stream(chat_copy.chunks(lines.chats, fks, dictionary, tally=tally, raws_out=lines.raws,
                                                   binary=binary))
        cur.execute("SAVEPOINT chat_lines")  # not released: the commit does (one round trip less a batch)
        try:
            cur.copy_expert(sql.SQL("COPY {} ({cols}) FROM STDIN WITH {opts}").format(
                table, cols=_SQL["cols"], opts=_BINARY_OPTIONS if binary else _COPY_OPTIONS), stream)
            return
        except psycopg2.errors.QueryCanceled:
            if not isinstance(stream.error, (chat_copy.Oversized, chat_binary.NotBinary)):
                raise
        cur.execute("ROLLBACK TO SAVEPOINT chat_lines")
        if isinstance(stream.error, chat_binary.NotBinary):
            log.info("chat lines copied as text: %s", stream.error)
            binary = False
            continue
        sizes = stream.error.sizes
        for pos, size in sizes.items():
            letters.append(_dead_letter_for(lines.chats[pos], f"chat line's JSON is {size:,} bytes, over the "
                                                             f"{raw_codec.MAX_OUTPUT:,} a stored line may hold"))
        lines.chats = [rec for pos, rec in enumerate(lines.chats) if pos not in sizes]


def _store_chat(cur, lines: _Lines, fks: dict[str, int], dictionary: raw_codec.Dictionary | None,
                tally: list, letters: list[dict]) -> int:
    """Store the lines not stored yet; return how many."""
    try:  # the common case, no line stored before: one COPY into the table, as fast as COPY goes
        _copy(cur, sql.Identifier("stream_chat"), lines, fks, dictionary, tally, letters)
        return len(lines.chats)
    except psycopg2.errors.UniqueViolation:
        cur.execute("ROLLBACK TO SAVEPOINT chat_lines")  # _copy's, taken just before the COPY failed
    # made once per session, emptied by every commit (a rollback takes its rows too): a table
    # made and dropped per transaction cost catalog writes each time (0.25-0.29 -> 0.35-0.52x COPY)
    cur.execute(sql.SQL("CREATE TEMP TABLE IF NOT EXISTS {staging} ON COMMIT DELETE ROWS AS "
                        "SELECT {cols} FROM stream_chat WITH NO DATA").format(**_SQL))
    _copy(cur, _SQL["staging"], lines, fks, dictionary, tally, letters)
    # the opt-out guard is part of the statement (read_opt_out's lock makes it current)
    cur.execute(sql.SQL("INSERT INTO stream_chat ({cols}) SELECT {cols} FROM {staging} s "
                        "WHERE NOT EXISTS (SELECT 1 FROM opt_out_user o WHERE o.user_id = s.user_id) "
                        "ORDER BY chat_time ON CONFLICT ((md5(dedupe_key)::uuid)) DO NOTHING").format(**_SQL))
    return cur.rowcount


# The UPDATEs below repeat their join key as `= ANY(array)`: the same rows, but an index
# condition the planner takes with or without fresh statistics (on a table not analyzed since
# it grew it hash-joined over a sequential scan of stream_chat, once per batch each).
def _apply_blinds(cur, blinds: list[dict]) -> int:
    cids = [b.get("chat_channel_id") for b in blinds]
    uids = [b.get("user_id") for b in blinds]
    times = [b.get("message_time") for b in blinds]
    types = [clean_text(b.get("blind_type") or DEFAULT_BLIND_STATUS) for b in blinds]
    cur.execute("""
        UPDATE stream_chat c
           SET message_status = v.blind_type, blind_type = v.blind_type, blinded_at = now()
          FROM unnest(%s::text[], %s::text[], %s::timestamptz[], %s::text[])
               AS v(chat_channel_id, user_id, chat_time, blind_type)
         WHERE c.chat_time = ANY(%s::timestamptz[]) AND c.chat_channel_id = v.chat_channel_id
           AND c.user_id = v.user_id AND c.chat_time = v.chat_time""", (cids, uids, times, types, times))
    return cur.rowcount


MISSION_EVENT = "DONATION_MISSION_IN_PROGRESS"
GIFT_EVENT = "SUBSCRIPTION_GIFT"  # the sender's side of a gift: its quantity


def _ids(chats: list[dict], column: str, events: list[dict], event_type: str, key: str) -> list[str]:
    """The ids in `column` of these chat records and under `key` of these events' bodies."""
    ids = {c[column] for c in chats if c.get(column)}
    ids |= {e["body"][key] for e in events
            if e.get("event_type") == event_type and isinstance(e.get("body"), dict)
            and isinstance(e["body"].get(key), str)}
    return sorted(ids)


def _copies(chats: list[dict], column: str, value: str) -> tuple[list, list]:
    """(ids, values) of this batch's lines with `column` set: the copies the settling
    counts, those the unique key kept out of the table included."""
    pairs = [(clean_text(c[column]), c.get(value)) for c in chats if isinstance(c.get(column), str)]
    return [p[0] for p in pairs], [clean_text(v) if isinstance(v, str) else v for _, v in pairs]


def _settle_gifts(cur, gift_ids: list[str], chats: list[dict]) -> int:
    """Give every stored line of these gifts the gift's quantity (the same on each line of
    a gift, so counting by gift counts it once): the largest known from its sender's line
    (this batch's copies included) and its SUBSCRIPTION_GIFT events (quantity minus
    partialRefundedQuantity). Order-independent and idempotent, as _settle_missions."""
    ids, quantities = _copies(chats, "gift_id", "gift_quantity")
    cur.execute("""
        WITH seen AS (
            SELECT gift_id, gift_quantity AS n FROM stream_chat WHERE gift_id = ANY(%(ids)s)
            UNION ALL SELECT * FROM unnest(%(copies)s::text[], %(quantities)s::int[])
            UNION ALL SELECT body ->> 'giftId',
                   greatest((body ->> 'quantity')::int - coalesce((body ->> 'partialRefundedQuantity')::int, 0), 0)
              FROM events WHERE event_type = %(event)s AND body ->> 'giftId' = ANY(%(ids)s)
               AND jsonb_typeof(body -> 'quantity') = 'number'
               AND coalesce(jsonb_typeof(body -> 'partialRefundedQuantity'), 'number') = 'number'),
        best AS (SELECT gift_id, max(n) AS n FROM seen GROUP BY gift_id HAVING max(n) IS NOT NULL)
        UPDATE stream_chat c SET gift_quantity = best.n FROM best
         WHERE c.gift_id = ANY(%(ids)s) AND c.gift_id = best.gift_id AND c.gift_quantity IS DISTINCT FROM best.n""",
                {"ids": gift_ids, "event": GIFT_EVENT, "copies": ids, "quantities": quantities})
    return cur.rowcount


def _settle_missions(cur, mission_ids: list[str], chats: list[dict]) -> int:
    """Give every stored line of these missions the latest status known for the mission:
    the highest ``mission_status_rank`` (migration 010; ties: the greater name) among its
    stored lines, this batch's copies (those the unique key kept out included) and its
    progress events. Status only moves forward, whatever order
    copies and events arrive in; storing the same frames again changes nothing."""
    ids, statuses = _copies(chats, "mission_id", "donation_status")
    cur.execute("""
        WITH seen AS (
            SELECT mission_id, donation_status AS status FROM stream_chat WHERE mission_id = ANY(%(ids)s)
            UNION ALL SELECT * FROM unnest(%(copies)s::text[], %(statuses)s::text[])
            UNION ALL SELECT body ->> 'missionDonationId', body ->> 'status' FROM events
             WHERE event_type = %(event)s AND body ->> 'missionDonationId' = ANY(%(ids)s)),
        best AS (
            SELECT DISTINCT ON (mission_id) mission_id, status FROM seen WHERE status IS NOT NULL
            ORDER BY mission_id, mission_status_rank(status) DESC, status DESC)
        UPDATE stream_chat c SET donation_status = best.status FROM best
         WHERE c.mission_id = ANY(%(ids)s) AND c.mission_id = best.mission_id
           AND c.donation_status IS DISTINCT FROM best.status""",
                {"ids": mission_ids, "event": MISSION_EVENT, "copies": ids, "statuses": statuses})
    return cur.rowcount


def _store_events(cur, events: list[dict], fks: dict[str, int]) -> int:
    rows = [(fks.get(e.get("channel_id")), e.get("chat_channel_id"), e.get("cmd"),
             e.get("event_type"), e.get("event_time"),
             to_json(stored_body(e)),
             clean_text(str(e["dedupe_key"]))) for e in events]
    psycopg2.extras.execute_values(cur, """
        INSERT INTO events (channel_fk, chat_channel_id, cmd, event_type, event_time, body, dedupe_key)
        VALUES %s ON CONFLICT (dedupe_key) DO NOTHING""", rows)
    return cur.rowcount


def _store_dead_letters(cur, letters: list[dict]) -> int:
    rows = []
    for d in letters:
        raw = d.get("raw")
        if raw is not None and not isinstance(raw, str):
            raw = to_json(raw)
        rows.append((clean_text(d.get("source") or "collector"), d.get("channel_id"),
                     clean_text(str(d.get("error") or "unknown error")),
                     clean_text(raw) if raw is not None else None))
    psycopg2.extras.execute_values(
        cur, "INSERT INTO dead_letter (source, channel_id, error, raw) VALUES %s", rows)
    return len(rows)


def _dead_letter_for(rec: dict, error: str) -> dict:
    return {"kind": "dead_letter", "source": "sink", "channel_id": rec.get("channel_id"),
            "error": error, "raw": rec}


def _after_commit(conn, dictionary, lines: _Lines, tally: list) -> None:
    """Sample the stored lines for the dictionary, and train one when due (a failure is
    logged: the lines are stored, and the next batch tries again)."""
    raw_dictionaries.observe(conn, dictionary, lines.chats, lines.raws, (tally[0], tally[1]))
    if raw_dictionaries.due(conn):
        try:
            raw_dictionaries.train(conn)
        except Exception:  # noqa: BLE001 - compression goes on without a new dictionary
            log.warning("training a raw dictionary failed; lines stay compressed as before", exc_info=True)
            with contextlib.suppress(psycopg2.Error):
                conn.rollback()


def store(conn: psycopg2.extensions.connection, records: list[dict], *,
          log_level: int = logging.INFO) -> StoreReport:
    """Store a batch of records in one transaction (all or nothing) and return counts.

    A chat record without ``channel_id`` or ``dedupe_key``, an event without
    ``dedupe_key`` and a record of unknown kind become dead letters (the rest of the
    batch is kept); ``control`` records are ignored. Raises on database errors, after a
    rollback, so the caller can keep the batch and retry. One log line at ``log_level``
    (callers with their own progress line pass DEBUG)."""
    t0 = time.monotonic()
    chats, blinds, events, letters = [], [], [], []
    for rec in records:
        kind = rec.get("kind")
        if kind == "chat":
            if not rec.get("channel_id"):
                letters.append(_dead_letter_for(rec, "chat record without channel_id"))
            elif not rec.get("dedupe_key") or not rec.get("chat_time"):
                letters.append(_dead_letter_for(rec, "chat record without dedupe_key or chat_time"))
            else:
                chats.append(rec)
        elif kind == "blind":
            blinds.append(rec)
        elif kind == "event":
            (events if rec.get("dedupe_key") else letters).append(
                rec if rec.get("dedupe_key") else _dead_letter_for(rec, "event record without dedupe_key"))
        elif kind == "dead_letter":
            letters.append(rec)
        elif kind != "control":
            letters.append(_dead_letter_for(rec, f"record of unknown kind {kind!r}"))

    inserted = blinded = n_events = n_letters = settled = 0
    dictionary, lines, tally = None, _Lines([], []), [0, 0]  # tally: raw bytes, compressed bytes
    try:
        with conn, conn.cursor() as cur:
            read_opt_out(conn)  # first: the opt-out list, locked against forget-user until commit
            chats = without_opted_out(conn, chats) if chats else chats
            if chats or events or letters:
                chats, events, letters = forget_opted_out(conn, chats, events, letters, to_json)
            if chats:
                lines = _Lines(_first_copies(chats), [])
                dictionary = raw_dictionaries.current(conn)
            channel_ids = {r["channel_id"] for r in chats} | {e["channel_id"] for e in events if e.get("channel_id")}
            fks = _channel_ids(conn, channel_ids) if channel_ids else {}
            if chats:
                refused: list[dict] = []
                inserted = _store_chat(cur, lines, fks, dictionary, tally, refused)
                if refused:
                    letters += refused
                    gone = {id(d["raw"]) for d in refused}
                    chats = [c for c in chats if id(c) not in gone]
            if blinds:
                blinded = _apply_blinds(cur, blinds)
            if events:
                n_events = _store_events(cur, events, fks)
            if letters:
                n_letters = _store_dead_letters(cur, letters)
            money = [c for c in chats if c.get("mission_id") is not None or c.get("gift_id") is not None]
            missions = _ids(money, "mission_id", events, MISSION_EVENT, "missionDonationId")
            if missions:
                settled = _settle_missions(cur, missions, money)
            gifts = _ids(money, "gift_id", events, GIFT_EVENT, "giftId")
            if gifts:
                settled += _settle_gifts(cur, gifts, money)
    except Exception:
        _channel_cache.pop(conn.dsn, None)  # ids inserted in the failed transaction are gone
        raise
    _channel_cache.setdefault(conn.dsn, {}).update(fks)
    if chats:
        _after_commit(conn, dictionary, lines, tally)
    report = StoreReport(inserted, len(chats) - inserted, blinded, n_events, n_letters,
                         round(time.monotonic() - t0, 3), settled)
    log.log(log_level, "stored %d chat rows (%d duplicates; raw JSON %s -> %s bytes, dictionary %s), %d blinds"
             " (of %d), %d events, %d dead letters, %d mission/gift lines updated in %.3fs",
             report.chat_inserted, report.chat_duplicates, f"{tally[0]:,}", f"{tally[1]:,}",
             dictionary.id if dictionary else "none", report.blinds, len(blinds),
             report.events, report.dead_letters, report.money_lines_updated, report.seconds)
    return report
