"""Pure helpers for CHZZK chat items: one item (live or recent key names) -> one chat
record (``collector.records``) or a dead letter, plus the value cleaning, time conversion
and dedupe keys that ``collector.protocol`` shares. No I/O.

Decisions (see also ``collector.protocol``'s docstring):
- An item is unusable -> ``dead_letter`` when it is not an object, or when ``msgTime`` /
  ``messageTime`` is missing, not an integer, or not a plausible ms epoch: the line has no
  event time (``stream_chat.chat_time`` is NOT NULL) and no identity.
- Everything else is kept as a chat record; a descriptive field that cannot be read
  (``profile`` null on a named line, ``profile``/``extras`` not JSON or not an object, a
  number of the wrong type or outside PostgreSQL's ``integer``) becomes None, and the
  record gets a ``warnings`` list (only present when non-empty) saying what was wrong.
  ``raw`` always keeps the item, so history can be re-parsed.
- All text is cleaned: NUL characters removed (PostgreSQL text/jsonb cannot hold them),
  lone surrogates replaced; NaN/Infinity become None. ``raw`` is cleaned the same way.
- Money (README, "How donations are counted"): a mission line (donationType MISSION /
  MISSION_PARTICIPATION) carries ``mission_id`` and its ``donation_status``; a later copy
  of it keeps the same dedupe key (the sink moves the stored status forward, never back:
  ``MISSION_STATUS_RANK``). A party donation's key is its donationId alone, so the copies
  shown in several party members' chats are one row. A gift sender's line carries
  ``gift_quantity``; its receivers' lines share its ``gift_id``.
"""
from __future__ import annotations

import hashlib
import json
import math
import re
from datetime import UTC, datetime, timedelta

from collector.nesting import text_too_deep, too_deep_message
from collector.records import MESSAGE_TYPES, UNKNOWN_TYPE

# live key -> recent (15101 / VOD) key
LIVE_TO_RECENT = {
    "uid": "userId",
    "msg": "content",
    "msgTypeCode": "messageTypeCode",
    "msgStatusType": "messageStatusType",
    "msgTime": "messageTime",
    "ctime": "createTime",
    "utime": "updateTime",
    "mbrCnt": "memberCount",
    "cid": "channelId",
    "svcid": "serviceId",
}
RECENT_TO_LIVE = {v: k for k, v in LIVE_TO_RECENT.items()}

INT32_MAX = 2**31 - 1
MAX_EPOCH_MS = 253402300799999  # 9999-12-31T23:59:59.999Z
NO_TEXT_IDS = ("anonymous", "SYSTEM_MESSAGE")
BLIND_STATUSES = ("CBOTBLIND", "BLIND")
_HEX32 = re.compile(r"[0-9a-fA-F]{32}")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_recent_keys(item: dict) -> dict:
    """The same item under the 15101 (recent) key names; other keys are kept as they are."""
    return {LIVE_TO_RECENT.get(k, k): v for k, v in item.items()}


def to_live_keys(item: dict) -> dict:
    """The same item under the 93101/93102 (live) key names; other keys are kept."""
    return {RECENT_TO_LIVE.get(k, k): v for k, v in item.items()}


# ---------------------------------------------------------------- cleaning and values
def clean_text(value: str) -> str:
    """Remove NUL characters and replace lone surrogates (neither fits PostgreSQL)."""
    if "\x00" in value:
        value = value.replace("\x00", "")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        value = value.encode("utf-8", "replace").decode("utf-8")
    return value


def clean_json(value):
    """A JSON value with every string cleaned and NaN/Infinity replaced by None."""
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): clean_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [clean_json(v) for v in value]
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def text_or_none(value) -> str | None:
    return clean_text(value) if isinstance(value, str) else None


def as_int(value, lo: int = -INT32_MAX - 1, hi: int = INT32_MAX) -> int | None:
    """An integer within [lo, hi] from an int, an integral float or a digit string; else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    elif isinstance(value, str) and re.fullmatch(r"-?\d{1,20}", value.strip()):
        value = int(value.strip())
    if isinstance(value, int) and lo <= value <= hi:
        return value
    return None


_SECONDS: dict[int, str] = {}  # second -> its "YYYY-MM-DDTHH:MM:SS." (a memo: lines share their seconds)


def ms_to_iso(ms: int) -> str:
    """Milliseconds since the epoch -> ``2026-09-30T14:10:59.938Z``."""
    second, milli = divmod(ms, 1000)
    head = _SECONDS.get(second)
    if head is None:
        if len(_SECONDS) >= 4096:
            _SECONDS.clear()
        head = _SECONDS[second] = (_EPOCH + timedelta(seconds=second)).strftime("%Y-%m-%dT%H:%M:%S.")
    return f"{head}{milli:03d}Z"


def epoch_ms(value) -> tuple[int | None, str | None]:
    """(ms, None) for a usable ms epoch, else (None, what is wrong)."""
    if value is None:
        return None, "missing"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None, f"not an integer ms epoch ({type(value).__name__} {str(value)[:40]!r})"
    if isinstance(value, float) and not value.is_integer():
        return None, f"not an integer ms epoch ({value!r})"
    ms = int(value)
    if not 0 <= ms <= MAX_EPOCH_MS:
        return None, f"out of range ({str(ms)[:40]})"
    return ms, None


def md5_key(*parts) -> str:
    return hashlib.md5("|".join("" if p is None else str(p) for p in parts).encode("utf-8")).hexdigest()


def dedupe_key(chat_channel_id, user_id, msg_time_ms, type_code, discriminator) -> str:
    """md5 hex of ``chat_channel_id|user_id|msg_time_ms|type_code|discriminator``
    (None -> ""). The same line seen live and in a 15101 replay gets the same key."""
    return md5_key(chat_channel_id or "", user_id or "", str(msg_time_ms), str(type_code),
                   discriminator or "")


def discriminator(user_id, message, extras: dict) -> str:
    """What tells apart lines that share (cid, uid, msgTime, type): donationId, else a
    mission line's own missionDonationId (two participations in one millisecond are two
    lines), else the gift receiver, else the text for anonymous / system / sender-less lines."""
    for key in ("donationId", "missionDonationId", "receiverUserIdHash"):
        value = extras.get(key)
        if isinstance(value, (str, int)) and not isinstance(value, bool) and clean_text(str(value)):
            return clean_text(str(value))
    if user_id is None or user_id in NO_TEXT_IDS:
        return message or ""
    return ""


def decode_object(value, name: str, warnings: list[str], *, null_ok: bool) -> dict:
    """``profile``/``extras``: a JSON string (or an already decoded object) -> dict.
    Unusable values give {} and a warning."""
    if value is None:
        if not null_ok:
            warnings.append(f"{name} is null")
        return {}
    if isinstance(value, dict):
        return value
    if not isinstance(value, str):
        warnings.append(f"{name} is a {type(value).__name__}, not a JSON object string")
        return {}
    if value.strip() == "":
        warnings.append(f"{name} is an empty string")
        return {}
    try:
        if text_too_deep(value):  # collector/nesting.py: before json, whose limit depends on the interpreter
            warnings.append(too_deep_message(name))
            return {}
        decoded = json.loads(value)
        if isinstance(decoded, str):  # double-encoded: a JSON string holding the JSON
            if text_too_deep(decoded):
                warnings.append(too_deep_message(name))
                return {}
            decoded = json.loads(decoded)
            warnings.append(f"{name} was double-encoded JSON")
    except (ValueError, RecursionError) as exc:
        warnings.append(f"{name} is not JSON ({exc})")
        return {}
    if not isinstance(decoded, dict):
        warnings.append(f"{name} is JSON {type(decoded).__name__}, not an object")
        return {}
    return decoded


def _get(item: dict, live: str):
    """A field by its live name, falling back to its recent name."""
    if live in item:
        return item[live]
    return item.get(LIVE_TO_RECENT.get(live, live))


def _first_int(value, fallback: int | None) -> int | None:
    found = as_int(value)
    return fallback if found is None else found


def _dict(value) -> dict:
    return value if isinstance(value, dict) else {}


def _badges(profile: dict) -> list | None:
    found = []
    if isinstance(profile.get("badge"), dict):
        found.append(profile["badge"])
    for key in ("activityBadges", "viewerBadges"):
        if isinstance(profile.get(key), list):
            found.extend(b for b in profile[key] if isinstance(b, dict))
    return clean_json(found) if found else None


# ---------------------------------------------------------------- money fields
MISSION_TYPES = ("MISSION", "MISSION_PARTICIPATION")
# A mission's status only moves forward; a copy or event with a lower rank never undoes a
# higher one, whatever order they arrive in (equal ranks: the greater name wins, so the
# outcome does not depend on arrival order). core/migrations/010 has the same ranks.
MISSION_STATUS_RANK = {"PENDING": 1, "APPROVED": 2, "EXPIRED": 3, "REJECTED": 3, "COMPLETED": 4}
SETTLED_STATUSES = ("APPROVED", "COMPLETED")  # a mission's money counts only in these


def _money_fields(type_code, extras: dict) -> dict:
    """mission_id / donation_status of a mission donation line (type 10), gift_id /
    gift_quantity of a subscription gift line (type 12); None elsewhere."""
    out = dict.fromkeys(("mission_id", "donation_status", "gift_id", "gift_quantity"))
    donation_type = extras.get("donationType")
    if type_code == 10 and donation_type in MISSION_TYPES:
        own = text_or_none(extras.get("missionDonationId"))
        related = text_or_none(extras.get("relatedMissionDonationId"))
        out["mission_id"] = (related or own) if donation_type == "MISSION_PARTICIPATION" else own
        status = text_or_none(extras.get("status"))
        out["donation_status"] = status.strip().upper() if status and status.strip() else None
    if type_code == 12:
        out["gift_id"] = text_or_none(extras.get("giftId"))
        if extras.get("giftType") != "SUBSCRIPTION_GIFT_RECEIVER":
            quantity = as_int(extras.get("quantity"), lo=0)
            refunded = as_int(extras.get("partialRefundedQuantity"), lo=0) or 0
            out["gift_quantity"] = None if quantity is None else max(quantity - refunded, 0)
    return out


# ---------------------------------------------------------------- the item parser
def dead_letter(error: str, raw) -> dict:
    """A dead-letter record; ``raw`` is the input text, or a value dumped as JSON."""
    if isinstance(raw, (bytes, bytearray, memoryview)):
        raw = bytes(raw).decode("utf-8", "replace")
    if not isinstance(raw, str):
        try:
            raw = json.dumps(clean_json(raw), ensure_ascii=False, default=repr)
        except (ValueError, TypeError, RecursionError):
            raw = repr(raw)
    return {"kind": "dead_letter", "error": error, "raw": clean_text(raw)}


def chat_record(item, frame_cid=None) -> dict:
    """One chat item (live or recent key names) -> a chat record, or a dead letter when
    the item has no usable time. ``frame_cid`` is the frame's ``cid`` (used when the item
    carries none)."""
    if not isinstance(item, dict):
        return dead_letter(f"chat item is a {type(item).__name__}, not an object", item)
    recent = "messageTime" in item or ("msgTime" not in item and ("userId" in item or "content" in item))
    time_key = "messageTime" if recent else "msgTime"
    ms, problem = epoch_ms(_get(item, "msgTime"))
    if problem:
        return dead_letter(f"chat item {time_key} {problem}", item)

    warnings: list[str] = []
    user_id = text_or_none(_get(item, "uid"))
    message = text_or_none(_get(item, "msg"))
    raw_code = _get(item, "msgTypeCode")
    type_code = as_int(raw_code)
    if raw_code is not None and type_code is None:
        warnings.append(f"msgTypeCode {str(raw_code)[:40]!r} is not an integer")
    message_type = MESSAGE_TYPES.get(type_code, UNKNOWN_TYPE) if type_code is not None else UNKNOWN_TYPE
    status = text_or_none(_get(item, "msgStatusType"))
    null_profile_ok = user_id is None or user_id in NO_TEXT_IDS
    profile = decode_object(item.get("profile"), "profile", warnings, null_ok=null_profile_ok)
    extras = decode_object(item.get("extras"), "extras", warnings, null_ok=True)

    prop = _dict(profile.get("streamingProperty"))
    sub = _dict(prop.get("subscription"))
    month, tier = as_int(sub.get("accumulativeMonth")), as_int(sub.get("tier"))
    if type_code == 11:  # the subscription line itself says the new month/tier
        month = _first_int(extras.get("month"), month)
        tier = _first_int(extras.get("tierNo"), tier)

    is_anonymous = user_id == "anonymous" or (type_code == 10 and extras.get("isAnonymous") is True)
    nickname = text_or_none(profile.get("nickname"))
    if type_code == 10 or nickname is None:
        nickname = text_or_none(extras.get("nickname")) or nickname
    if is_anonymous:
        nickname = None

    chat_channel_id = text_or_none(_get(item, "cid")) or text_or_none(frame_cid)
    streamer = extras.get("streamingChannelId")
    money = _money_fields(type_code, extras)
    record = {
        "kind": "chat",
        "channel_id": streamer.lower() if isinstance(streamer, str) and _HEX32.fullmatch(streamer) else None,
        "chat_channel_id": chat_channel_id,
        "user_id": user_id,
        "nickname": nickname,
        "message": message,
        "message_type": message_type,
        "msg_type_code": type_code,
        "message_status": status,
        "chat_time": ms_to_iso(ms),
        "subscription_month": month,
        "subscription_tier": tier,
        "os_type": text_or_none(extras.get("osType")),
        "user_role": text_or_none(profile.get("userRoleCode")),
        "pay_amount": as_int(extras.get("payAmount")),
        "pay_type": text_or_none(extras.get("payType")),
        "donation_type": text_or_none(extras.get("donationType")),
        "donation_id": text_or_none(extras.get("donationId")),
        "mission_id": money["mission_id"],
        "donation_status": money["donation_status"],
        "is_anonymous": is_anonymous,
        "gift_receiver_id": text_or_none(extras.get("receiverUserIdHash")),
        "gift_receiver_nickname": text_or_none(extras.get("receiverNickname")),
        "gift_tier": as_int(extras.get("giftTierNo")),
        "gift_id": money["gift_id"],
        "gift_quantity": money["gift_quantity"],
        "color_code": text_or_none(_dict(prop.get("nicknameColor")).get("colorCode")),
        "badges": _badges(profile),
        "member_count": as_int(_get(item, "mbrCnt")),
        "blind_type": status if status in BLIND_STATUSES else None,
        "raw": clean_json(item),
        "dedupe_key": dedupe_key(chat_channel_id, user_id, ms, type_code,
                                 discriminator(user_id, message, extras)),
    }
    if type_code == 10 and extras.get("donationType") == "PARTY" and record["donation_id"]:
        # a party donation may be shown in every member channel's chat: one row, by its id
        record["dedupe_key"] = md5_key("PARTY", record["donation_id"])
    if "payAmount" in extras and record["pay_amount"] is None:
        warnings.append(f"payAmount {str(extras['payAmount'])[:40]!r} is not an integer in range")
    if warnings:
        record["warnings"] = warnings
    return record
