"""Opted-out users (``opt_out_user``, filled by ``warehouse forget-user``) in the batches the
sink stores: their own lines are dropped, and other people's records that name them (a gift
to them, a mention, a system line or event about them, a dead letter) are stored without
them, by the same rules forget-user applies to rows already stored (core/scrub.py). Every
path that stores through the sink gets this: live collection, VOD backfill, import-logs and
the ingest API.

The list is read in every store transaction, as its first statement, under
``LOCK TABLE opt_out_user IN SHARE MODE`` (``read_opt_out``): stores do not block each other,
forget-user's INSERT into the list (ROW EXCLUSIVE) waits for the stores in flight (its
DELETE then sees their lines), and a store that starts later waits for forget-user's commit
and sees the user listed. So no line of a forgotten user is stored after forget-user
returns, whatever any process cached. Their nicknames are kept nowhere (forget-user removes
them everywhere); this process learns them from what it sees: their own refused lines and
names given next to their id."""
from __future__ import annotations

import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass

import psycopg2.extensions

from core.scrub import Target, Watchlist, names_id, nicknames_near, scrub_json, scrub_row, scrub_value

log = logging.getLogger(__name__)

# users on the opt-out list (warehouse forget-user), per database: their ids as read by the
# last store transaction, and the nicknames this process has seen them under (never stored)
_opt_out_cache: dict[str, _OptOut] = {}
LOCK_LIST = "LOCK TABLE opt_out_user IN SHARE MODE"


@dataclass
class _OptOut:
    watch: Watchlist

    def learn(self, found: dict[str, set[str]]) -> bool:
        """Remember nicknames seen for listed ids; True when one was new."""
        before, self.watch = self.watch, self.watch.learned(found)
        return self.watch is not before


def read_opt_out(conn) -> None:
    """Lock the opt-out list IN SHARE MODE and read it, in the caller's transaction (begun
    here when none is open; it must go on to store and commit). Call it before anything else
    in a store transaction: locks taken before it could deadlock with forget-user, which
    waits on this one holding only the sync's advisory lock. The nicknames learned stay."""
    with conn.cursor() as cur:
        cur.execute(LOCK_LIST)
        cur.execute("SELECT user_id FROM opt_out_user")
        ids = frozenset(r[0] for r in cur.fetchall() if r[0])
    cached = _opt_out_cache.get(conn.dsn)
    if cached is None or cached.watch.ids != ids:  # the same list: keep its built pre-check
        _opt_out_cache[conn.dsn] = _OptOut(Watchlist(ids, cached.watch.nicknames if cached else {}))


def _opt_out(conn) -> _OptOut:
    """The list as the last ``read_opt_out`` of this database read it (read now, in a
    transaction of its own, if never)."""
    if conn.dsn not in _opt_out_cache:
        idle = conn.info.transaction_status == psycopg2.extensions.TRANSACTION_STATUS_IDLE
        with conn if idle else contextlib.nullcontext():
            read_opt_out(conn)
    return _opt_out_cache[conn.dsn]


def without_opted_out(conn, chats: list[dict]) -> list[dict]:
    """Chat records minus those of users on the opt-out list; the nicknames those lines
    carry are remembered, so that other people's lines naming them are scrubbed."""
    opt_out = _opt_out(conn)
    if not opt_out.watch.ids:
        return chats
    kept, seen = [], {}
    for c in chats:
        uid = c.get("user_id")
        if uid in opt_out.watch.ids:
            if isinstance(c.get("nickname"), str):
                seen.setdefault(uid, set()).add(c["nickname"])
        else:
            kept.append(c)
    opt_out.learn(seen)
    if len(kept) < len(chats):
        log.info("dropped %d chat line(s) of opted-out users", len(chats) - len(kept))
    return kept


class JsonText(str):
    """A jsonb value already written as JSON text (the sink's to_json passes it through)."""


# the chat columns that can name a user besides raw (the others are enums, numbers, times, keys)
_NAMING_COLUMNS = ("nickname", "message", "gift_receiver_id", "gift_receiver_nickname")


def _chat_hay(rec: dict, to_json) -> tuple[str, str]:
    raw = JsonText(to_json(rec.get("raw")) or "")
    return raw, "\x01".join([raw, *(v for k in _NAMING_COLUMNS if isinstance(v := rec.get(k), str))])


def stored_body(e: dict):
    """What the events table keeps of an event record."""
    return e.get("body") if e.get("body") is not None else e.get("raw")


def _letter_hay(d: dict, to_json) -> str:
    raw = d.get("raw")
    return "\x01".join([raw if isinstance(raw, str) else to_json(raw) or "", str(d.get("error") or "")])


def forget_opted_out(conn, chats: list[dict], events: list[dict], letters: list[dict],
                     to_json: Callable[[object], str | None]) -> tuple[list, list, list]:
    """The records with every opted-out user taken out of them, by forget-user's rules
    (core/scrub.py): an event whose body names one's id is dropped (forget-user deletes
    those); in chat lines (every column and ``raw``, JSON inside strings included), other
    events and dead letters, a value that is their id or nickname becomes null and a
    mention becomes REDACTED. Only records whose text holds a listed id or a nickname seen
    for one get the full scrub; nicknames found next to a listed id are learned first, so
    the whole batch is checked for them. Chat records come back with ``raw`` as JSON text
    (`to_json`'s, the sink's writer: it is written once)."""
    opt_out = _opt_out(conn)
    if not opt_out.watch.ids:
        return chats, events, letters
    chat_hays = [_chat_hay(c, to_json) for c in chats]
    event_hays = [to_json(stored_body(e)) or "" for e in events]
    letter_hays = [_letter_hay(d, to_json) for d in letters]
    hays = [h for _, h in chat_hays] + event_hays + letter_hays
    named = [opt_out.watch.named_in(h) for h in hays]
    seen: dict[str, set[str]] = {}
    for rec, uids in zip(chats + events + letters, named, strict=True):
        for uid in uids:
            seen.setdefault(uid, set()).update(nicknames_near(rec, uid))
    if opt_out.learn(seen):  # a name learned from one line: look for it in every line
        named = [opt_out.watch.named_in(h) for h in hays]
    watch = opt_out.watch
    n_chats, n_events = len(chats), len(events)
    out_chats = []
    for rec, (raw, _), uids in zip(chats, chat_hays, named[:n_chats], strict=True):
        if uids:
            rec = _scrub_record(rec, [watch.target(u) for u in sorted(uids)], ("raw", "badges"))
            raw = JsonText(to_json(rec.get("raw")) or "")
        out_chats.append({**rec, "raw": raw if rec.get("raw") is not None else None})
    out_events, about = [], 0
    for rec, hay, uids in zip(events, event_hays, named[n_chats:n_chats + n_events], strict=True):
        if any(names_id(hay, u) for u in uids):
            about += 1
        else:
            out_events.append(_scrub_record(rec, [watch.target(u) for u in sorted(uids)], ("body", "raw")))
    out_letters = [_scrub_record(rec, [watch.target(u) for u in sorted(uids)], ("raw",))
                   for rec, uids in zip(letters, named[n_chats + n_events:], strict=True)]
    scrubbed = sum(1 for uids in named if uids)
    if scrubbed:
        log.info("took opted-out users out of %d record(s) naming them (%d event(s) about them dropped)",
                 scrubbed, about)
    return out_chats, out_events, out_letters


def _scrub_record(rec: dict, targets: list[Target], json_fields: tuple[str, ...]) -> dict:
    if not targets:
        return rec
    rec = dict(rec)
    for target in targets:
        for key in json_fields:
            value = rec.get(key)
            if isinstance(value, str):
                rec[key] = scrub_value(value, target)
            elif value is not None:
                rec[key] = scrub_json(value, target)
        texts = {k: v for k, v in rec.items() if k not in json_fields and k != "kind" and isinstance(v, str)}
        rec.update(scrub_row(texts, target))
    return rec
