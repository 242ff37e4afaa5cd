"""Pure core of the ingest API (``python -m collector api``): one item in the ChzzkChat
desktop viewer's ``/chat/bulk`` format -> one chat record (collector/records.py), or the
reason it is refused. No I/O. docs/INGEST_API.md has the format and where it comes from.

- ``parse_body`` decodes a request body, an array one item at a time (refused at the item
  past MAX_ITEMS without parsing the rest).
- ``ChatItem`` declares the item (types, lengths, allowed values); it is both the
  validator and what the OpenAPI page shows. Unknown keys are ignored (kept in ``raw``).
- ``chat_time``: ISO 8601 with a time part (``2026-10-01T20:15:03``, fractions, ``Z`` or an
  offset), or an integer ms epoch. Without an offset it is wall-clock time in ``INGEST_TZ``
  (the viewer sends its PC's local time). Refused before 2000, more than a day ahead, or
  out of range once in UTC (``0001-01-01T00:00:00`` in KST): a reason, never an exception.
- Strings are cleaned like the parser's (NUL removed, lone surrogates replaced) before
  anything is derived from them.
- Dedupe key: the desktop viewer's line identity, the very key ``import-logs`` gives the same
  line of its log file: md5 of ``import|channel_id|KST second|uid|채팅/후원|message|n``, ``n``
  counting identical lines before it in the same request. Posting an item twice stores it
  once; a line both posted and later imported from the log is stored once when the second
  matches (the viewer stamps posts with its receive time, logs with the server's).
"""
from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from collector.answers import KST  # the viewer's log files, hence the shared line key, are in KST
from collector.items import INT32_MAX, MAX_EPOCH_MS, clean_json, clean_text, md5_key, ms_to_iso
from collector.records import CHAT_FIELDS

MAX_ITEMS = 1000               # items per POST /chat/bulk
MAX_DEPTH = 32                 # nesting levels of an item (its unknown keys included)
RAW_SOURCE = "ingest-api"      # raw = {"source": RAW_SOURCE, "item": <the item as received>}
EARLIEST = datetime(2000, 1, 1, tzinfo=UTC)
MAX_AHEAD = timedelta(days=1)  # a chat_time further in the future is a wrong clock
KINDS = {"chat": ("채팅", 1), "donation": ("후원", 10)}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class ChatItem(BaseModel):
    """One chat line as the ChzzkChat desktop viewer posts it."""
    model_config = ConfigDict(extra="ignore", strict=True)  # no bool-as-int, no "12"-as-int

    channel_id: str = Field(pattern=r"^[0-9a-fA-F]{32}$",
                            description="The streamer's CHZZK channel id (32 hex characters).")
    channel_name: str | None = Field(None, max_length=200, description=(
        "Channel name: names a channel that has none yet, or replaces a name set through this API, when the "
        "request stores a new line of the channel; never replaces a name from CHZZK or import-logs."))
    user_id: str | None = Field(None, max_length=200, description="The sender's userIdHash, or `anonymous`.")
    nickname: str | None = Field(None, max_length=200)
    message: str | None = Field(None, max_length=5000)
    message_type: Literal["chat", "donation"] = "chat"
    chat_time: str | int = Field(description="ISO 8601 (`2026-10-01T20:15:03`; without an offset: INGEST_TZ "
                                             "wall-clock time) or a ms epoch integer.")
    subscription_month: int | None = Field(None, ge=0, le=INT32_MAX)
    subscription_tier: int | None = Field(None, ge=0, le=INT32_MAX)
    os_type: str | None = Field(None, max_length=50, description="PC, MOBILE, AOS, IOS...")
    user_role: str | None = Field(None, max_length=100, description="common_user, manager, streamer...")


@dataclass(frozen=True)
class Refusal:
    """An item that is not stored: its position in the request and why."""
    index: int
    error: str
    item: object

    def as_dict(self) -> dict:
        return {"index": self.index, "error": self.error}


def parse_chat_time(value, tz: ZoneInfo, now: datetime) -> tuple[datetime | None, str | None]:
    """An item's chat_time -> (aware UTC datetime, None) or (None, why it is refused)."""
    if isinstance(value, bool):
        return None, "chat_time must be an ISO 8601 string or a ms epoch integer"
    if isinstance(value, int):
        if not 0 <= value <= MAX_EPOCH_MS:
            return None, f"chat_time {value} is not a ms epoch"
        at = _EPOCH + timedelta(milliseconds=value)
    else:
        text = value.strip()
        if len(text) < 13 or text[10] not in "Tt ":
            return None, f"chat_time {text[:40]!r} needs a date and a time (2026-10-01T20:15:03)"
        try:
            at = datetime.fromisoformat(text)
        except ValueError:
            return None, f"chat_time {text[:40]!r} is not ISO 8601 (2026-10-01T20:15:03)"
        if at.tzinfo is None:
            at = at.replace(tzinfo=tz)
    try:
        at = at.astimezone(UTC)
    except OverflowError:  # 0001-01-01 in a zone east of UTC, 9999-12-31 west of it
        return None, f"chat_time {value} is out of range"
    if at < EARLIEST:
        return None, f"chat_time {at:%Y-%m-%dT%H:%M:%SZ} is before 2000"
    if at > now + MAX_AHEAD:
        return None, f"chat_time {at:%Y-%m-%dT%H:%M:%SZ} is more than a day ahead (the sender's clock is wrong?)"
    return at, None


def _reason(exc: ValidationError) -> str:
    """One line: each failing field once (a union's branches are one field)."""
    why: dict[str, str] = {}
    for err in exc.errors(include_url=False):
        field = str(err["loc"][0]) if err["loc"] else "item"
        if field == "chat_time" and err["type"] != "missing":
            why[field] = "must be an ISO 8601 string or a ms epoch integer"
        why.setdefault(field, err["msg"])
    return "; ".join(f"{field}: {msg}" for field, msg in why.items())


def viewer_line_key(channel_id: str, at: datetime, uid: str | None, kind: str, message: str | None,
                    occurrence: int) -> str:
    """The dedupe key of a desktop viewer line (``kind`` 채팅 or 후원), shared with import-logs."""
    stamp = at.astimezone(KST).strftime("%Y-%m-%dT%H:%M:%S")
    return md5_key("import", channel_id, stamp, uid or "", kind, message or "", occurrence)


def _too_deep(value, limit: int = MAX_DEPTH) -> bool:
    """True when lists/objects nest deeper than ``limit`` (checked without recursion)."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else None
        if children is None:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


def check_item(item, tz: ZoneInfo, now: datetime) -> tuple[ChatItem | None, datetime | None, str | None]:
    """(the validated item with cleaned strings, its UTC time, None) or (None, None, why)."""
    if not isinstance(item, dict):
        return None, None, f"item is a JSON {type(item).__name__}, not an object"
    if _too_deep(item):
        return None, None, f"item nests deeper than {MAX_DEPTH} levels"
    try:
        parsed = ChatItem.model_validate(clean_json(item))
    except ValidationError as exc:
        return None, None, _reason(exc)
    at, why = parse_chat_time(parsed.chat_time, tz, now)
    if why:
        return None, None, why
    return parsed, at, None


def to_records(items: list, tz: ZoneInfo, now: datetime, *, channels: frozenset[str] | None = None,
               ) -> tuple[list[dict], list[Refusal], dict[str, str | None]]:
    """A request's items -> (chat records, refusals, channel_id -> last channel_name given).
    ``channels``: the only channel ids the sender may write (None: any); others are refused."""
    records: list[dict] = []
    refused: list[Refusal] = []
    names: dict[str, str | None] = {}
    seen: Counter = Counter()
    for index, item in enumerate(items):
        parsed, at, why = check_item(item, tz, now)
        if parsed is None:
            refused.append(Refusal(index, why, item))
            continue
        channel_id = parsed.channel_id.lower()
        if channels is not None and channel_id not in channels:
            refused.append(Refusal(index, f"channel_id {channel_id} is not one of this API key's channels", item))
            continue
        if parsed.channel_name or channel_id not in names:
            names[channel_id] = parsed.channel_name or names.get(channel_id)
        kind, code = KINDS[parsed.message_type]
        ident = (channel_id, at.replace(microsecond=0), parsed.user_id or "", kind, parsed.message or "")
        record = dict.fromkeys(CHAT_FIELDS)
        record.update({
            "kind": "chat", "channel_id": channel_id, "user_id": parsed.user_id or None,
            "nickname": parsed.nickname, "message": parsed.message, "message_type": parsed.message_type,
            "msg_type_code": code, "chat_time": ms_to_iso((at - _EPOCH) // timedelta(milliseconds=1)),
            "subscription_month": parsed.subscription_month, "subscription_tier": parsed.subscription_tier,
            "os_type": parsed.os_type, "user_role": parsed.user_role,
            "is_anonymous": parsed.user_id == "anonymous",
            "raw": {"source": RAW_SOURCE, "item": clean_json(item)},
            "dedupe_key": viewer_line_key(channel_id, at, parsed.user_id, kind, parsed.message, seen[ident]),
        })
        seen[ident] += 1
        records.append(record)
    return records, refused, names


class BodyError(ValueError):
    """A request body that is not taken at all; ``too_large`` when it holds too many items."""

    def __init__(self, message: str, *, too_large: bool = False):
        super().__init__(message)
        self.too_large = too_large


def _int(digits: str) -> int | str:
    # Python refuses ints over 4300 digits (and json.loads with it the whole body): keep
    # such a number as its digits, so only its own item is refused (or keeps it in raw).
    return int(digits) if len(digits) <= 4300 else digits


_DECODER = json.JSONDecoder(parse_int=_int)
_SPACE = re.compile(r"[ \t\n\r]*")


def parse_body(data: bytes, *, array: bool):
    """A request body -> its JSON value; ``array``: a list of at most MAX_ITEMS items.

    An array is decoded one item at a time: the item after the MAX_ITEMS-th stops it (a
    flood of small items is refused without being parsed), and a thread running this
    releases the interpreter between items. Raises BodyError, whose text never quotes
    the body."""
    try:
        text = data.decode(json.detect_encoding(data), "surrogatepass")  # what json.loads(bytes) does
    except (UnicodeDecodeError, LookupError) as exc:
        raise BodyError(f"body is not JSON ({exc.reason if isinstance(exc, UnicodeDecodeError) else exc})") from None
    at = _SPACE.match(text).end()
    if not array or not text.startswith("[", at):
        try:
            value = _DECODER.decode(text)
        except (ValueError, RecursionError) as exc:
            raise BodyError(f"body is not JSON ({str(exc)[:120]})") from None
        if array:
            raise BodyError(f"body must be a JSON array of chat items (at most {MAX_ITEMS})")
        return value
    items: list = []
    at = _SPACE.match(text, at + 1).end()
    if text.startswith("]", at):
        at += 1
    else:
        while True:
            try:
                item, at = _DECODER.raw_decode(text, at)
            except (ValueError, RecursionError) as exc:
                raise BodyError(f"body is not JSON (item {len(items)}: {str(exc)[:120]})") from None
            items.append(item)
            if len(items) > MAX_ITEMS:
                raise BodyError(f"more than {MAX_ITEMS} items; at most {MAX_ITEMS} per request: split the batch",
                                too_large=True)
            at = _SPACE.match(text, at).end()
            if text.startswith(",", at):
                at = _SPACE.match(text, at + 1).end()
            elif text.startswith("]", at):
                at += 1
                break
            else:
                raise BodyError(f"body is not JSON (',' or ']' expected at character {at})")
    if _SPACE.match(text, at).end() != len(text):
        raise BodyError(f"body is not JSON (extra data at character {at})")
    return items


def dead_letters(refused: list[Refusal]) -> list[dict]:
    """Dead-letter records (collector/records.py) for refused items: nothing sent is lost."""
    letters = []
    for r in refused:
        channel = r.item.get("channel_id") if isinstance(r.item, dict) else None
        kept = r.item if not _too_deep(r.item, 4 * MAX_DEPTH) else "(item nested too deeply to keep)"
        letters.append({"kind": "dead_letter", "source": RAW_SOURCE,
                        "channel_id": clean_text(channel)[:100] if isinstance(channel, str) else None,
                        "error": f"item {r.index}: {r.error}",
                        "raw": json.dumps(clean_json(kept), ensure_ascii=False)})  # JSON text, always
    return letters


def date_bound(text: str, tz: ZoneInfo, *, end: bool) -> tuple[datetime | None, str | None]:
    """``GET /chat``'s start_date/end_date -> (UTC bound, None) or (None, why). A day
    (``2026-10-01``) is a whole day in ``tz``: from its start, or up to the next day's start
    for ``end``; a time without an offset is in ``tz``; an end time is exclusive."""
    text = text.strip()
    try:
        at = datetime.fromisoformat(text)
    except ValueError:
        return None, f"{text[:40]!r} is neither a day (2026-10-01) nor an ISO 8601 time"
    if at.tzinfo is None:
        at = at.replace(tzinfo=tz)
    try:
        if end and ":" not in text:
            at += timedelta(days=1)  # aware + timedelta is wall-clock arithmetic: the next day's start
        return at.astimezone(UTC), None
    except OverflowError:  # beyond years 1-9999 once in UTC, or the day after 9999-12-31
        return None, f"{text[:40]!r} is out of range (years 1-9999 in UTC)"
