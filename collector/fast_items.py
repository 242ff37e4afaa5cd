"""The common chat item, fast (issue 17): a live item as CHZZK sends it, from a frame that
msgspec decoded (so no lone surrogate: it refuses them) and whose text holds no ``\\u0000``
(the only way JSON writes a NUL), with no ``\\u0000`` in its ``profile``/``extras`` texts
either: nothing in it needs cleaning. ``chat_record`` gives exactly
the record ``collector.items.chat_record`` gives, or None for anything out of the ordinary
(a missing live key, a value of an unexpected type, ``profile``/``extras`` that would get
a warning, ...): the caller then asks ``collector.items.chat_record``, the reference, which
handles every case. tests/collector/test_parse_equivalence.py holds the two to the same output.

What it saves, per item: the stdlib decode of ``profile``/``extras`` (msgspec instead),
the cleaning walk over every string of the item (``raw`` is the decoded item itself), a
helper call per field, and ``strftime`` per line (``ms_to_iso`` remembers its second).
"""
from __future__ import annotations

import hashlib
from typing import Annotated, Any

import msgspec

from collector.items import (
    _HEX32,
    _SECONDS,
    BLIND_STATUSES,
    INT32_MAX,
    MAX_EPOCH_MS,
    NO_TEXT_IDS,
    _money_fields,
    as_int,
    md5_key,
    ms_to_iso,
)
from collector.nesting import SHALLOW_CHARS, text_too_deep
from collector.records import MESSAGE_TYPES, UNKNOWN_TYPE

Int32 = Annotated[int, msgspec.Meta(ge=-INT32_MAX - 1, le=INT32_MAX)]  # PostgreSQL integer, as items.as_int
Text = str | None


# What the record reads of profile and extras, typed: a value of another type (a number
# where text is expected, an int outside Int32, a float, a digit string) fails the decode,
# and the reference parser, which handles those, takes the item.
class _Color(msgspec.Struct):
    colorCode: Text = None


class _Subscription(msgspec.Struct):
    accumulativeMonth: Int32 | None = None
    tier: Int32 | None = None


class _Property(msgspec.Struct):
    subscription: _Subscription | None = None
    nicknameColor: _Color | None = None


class _Profile(msgspec.Struct):
    nickname: Text = None
    userRoleCode: Text = None
    badge: Any = None
    activityBadges: Any = None
    viewerBadges: Any = None
    streamingProperty: _Property | None = None


class _Extras(msgspec.Struct):
    osType: Text = None
    streamingChannelId: Text = None
    nickname: Text = None
    isAnonymous: Any = None
    payAmount: Int32 | msgspec.UnsetType = msgspec.UNSET  # present or not matters: None fails
    payType: Text = None
    donationType: Text = None
    donationId: Text = None
    missionDonationId: Text = None
    receiverUserIdHash: Text = None
    receiverNickname: Text = None
    giftTierNo: Int32 | None = None
    month: Int32 | None = None
    tierNo: Int32 | None = None


_EMPTY_PROFILE, _EMPTY_EXTRAS = _Profile(), _Extras()
_decode_profile = msgspec.json.Decoder(_Profile).decode
_decode_extras = msgspec.json.Decoder(_Extras).decode
_decode = msgspec.json.Decoder().decode
_FAILS = (msgspec.DecodeError, RecursionError, UnicodeError)  # ValidationError is a DecodeError
_LO, _HI = -INT32_MAX - 1, INT32_MAX
_NO_MONEY = dict.fromkeys(("mission_id", "donation_status", "gift_id", "gift_quantity"))
try:  # CPython's own MD5: the same digest as hashlib's OpenSSL one, without its per-call setup
    from _md5 import md5 as _md5
except ImportError:  # pragma: no cover (a Python built without it)
    _md5 = hashlib.md5


_STREAMERS: dict[str, str | None] = {}  # extras.streamingChannelId -> channel_id (a memo: a few per collector)


def _channel_id(streamer: str) -> str | None:
    found = _STREAMERS.get(streamer, _STREAMERS)
    if found is _STREAMERS:
        if len(_STREAMERS) >= 4096:
            _STREAMERS.clear()
        found = _STREAMERS[streamer] = streamer.lower() if _HEX32.fullmatch(streamer) else None
    return found


def _profile_fields(profile: _Profile) -> tuple:
    """(nickname, user role, subscription month, tier, colour code, badges) of a profile."""
    prop = profile.streamingProperty
    month = tier = color = None
    if prop is not None:
        if prop.subscription is not None:
            month, tier = prop.subscription.accumulativeMonth, prop.subscription.tier
        if prop.nicknameColor is not None:
            color = prop.nicknameColor.colorCode
    badge, listed, viewer = profile.badge, profile.activityBadges, profile.viewerBadges
    if badge is None and not listed and not viewer:
        badges = None
    else:
        badges = [badge] if type(badge) is dict else []
        for more in (listed, viewer):
            if type(more) is list:
                badges += [b for b in more if type(b) is dict]
        badges = badges or None
    return profile.nickname, profile.userRoleCode, month, tier, color, badges


# profile text -> _profile_fields (a memo: a chatter's lines repeat their profile text; the
# sim's flood 79 % and the samples style 64 % of 30,000 lines). Records of one profile share
# its badges list: nothing downstream changes a record's badges (the sink reads them; a
# forget-user scrub builds new ones).
_PROFILES: dict[str, tuple] = {}
PROFILES_KEPT = 4096  # cleared when full (a few MB)
_NO_PROFILE = _profile_fields(_EMPTY_PROFILE)


def _int32(value) -> int | None:
    if type(value) is int:
        return value if _LO <= value <= _HI else None
    return as_int(value)


def chat_record(item: dict, frame_cid) -> dict | None:
    """The chat record of a clean live item (see the module docstring), or None."""
    try:  # every live key items._get reads: with them all present, no recent-name fallback applies
        ms, type_code, uid = item["msgTime"], item["msgTypeCode"], item["uid"]
        message, status, cid, members = item["msg"], item["msgStatusType"], item["cid"], item["mbrCnt"]
    except KeyError:
        return None
    if type(ms) is not int or not 0 <= ms <= MAX_EPOCH_MS or type(type_code) is not int or not _LO <= type_code <= _HI:
        return None
    user_id = uid if type(uid) is str else None
    profile_text, extras_text = item.get("profile"), item.get("extras")
    try:
        if profile_text is None:
            if user_id is not None and user_id not in NO_TEXT_IDS:
                return None  # "profile is null": a warning the reference writes
            seen = _NO_PROFILE
        elif type(profile_text) is str:
            seen = _PROFILES.get(profile_text)
            if seen is None:
                if "\\" in profile_text and "\\u0000" in profile_text:
                    return None
                if len(profile_text) > SHALLOW_CHARS and text_too_deep(profile_text):
                    return None  # nested past the parser's limit: the reference item parser warns
                seen = _profile_fields(_decode_profile(profile_text))
                if len(_PROFILES) >= PROFILES_KEPT:
                    _PROFILES.clear()
                _PROFILES[profile_text] = seen
        else:
            return None
        if extras_text is None:
            extras, money = _EMPTY_EXTRAS, _NO_MONEY
        elif type(extras_text) is str and not ("\\" in extras_text and "\\u0000" in extras_text) and not (
                len(extras_text) > SHALLOW_CHARS and text_too_deep(extras_text)):
            extras = _decode_extras(extras_text)
            money = _money_fields(type_code, _decode(extras_text)) if type_code == 10 or type_code == 12 else _NO_MONEY
        else:
            return None
    except _FAILS:
        return None
    if type(message) is not str:
        message = None
    if type(status) is not str:
        status = None

    nickname, role, month, tier, color, badges = seen
    if type_code == 11:  # the subscription line itself says the new month/tier
        if extras.month is not None:
            month = extras.month
        if extras.tierNo is not None:
            tier = extras.tierNo
    is_anonymous = user_id == "anonymous" or (type_code == 10 and extras.isAnonymous is True)
    if type_code == 10 or nickname is None:
        nickname = extras.nickname or nickname
    if is_anonymous:
        nickname = None
    chat_channel_id = (cid if type(cid) is str else None) or (frame_cid if type(frame_cid) is str else None)
    streamer = extras.streamingChannelId
    pay_amount = extras.payAmount
    if pay_amount is msgspec.UNSET:
        pay_amount = None
    donation_id = extras.donationId
    disc = donation_id or extras.missionDonationId or extras.receiverUserIdHash
    if not disc:
        disc = (message or "") if user_id is None or user_id in NO_TEXT_IDS else ""
    if type_code == 10 and donation_id and extras.donationType == "PARTY":
        key = md5_key("PARTY", donation_id)  # one row for a party donation shown in every member's chat
    else:
        key = _md5(f"{chat_channel_id or ''}|{user_id or ''}|{ms}|{type_code}|{disc}".encode()).hexdigest()
    return {
        "kind": "chat",
        "channel_id": None if streamer is None else _channel_id(streamer),
        "chat_channel_id": chat_channel_id,
        "user_id": user_id,
        "nickname": nickname,
        "message": message,
        "message_type": MESSAGE_TYPES.get(type_code, UNKNOWN_TYPE),
        "msg_type_code": type_code,
        "message_status": status,
        "chat_time": f"{head}{ms % 1000:03d}Z" if (head := _SECONDS.get(ms // 1000)) else ms_to_iso(ms),
        "subscription_month": month,
        "subscription_tier": tier,
        "os_type": extras.osType,
        "user_role": role,
        "pay_amount": pay_amount,
        "pay_type": extras.payType,
        "donation_type": extras.donationType,
        "donation_id": donation_id,
        "mission_id": money["mission_id"],
        "donation_status": money["donation_status"],
        "is_anonymous": is_anonymous,
        "gift_receiver_id": extras.receiverUserIdHash,
        "gift_receiver_nickname": extras.receiverNickname,
        "gift_tier": extras.giftTierNo,
        "gift_id": money["gift_id"],
        "gift_quantity": money["gift_quantity"],
        "color_code": color,
        "badges": badges,
        "member_count": _int32(members),
        "blind_type": status if status in BLIND_STATUSES else None,
        "raw": item,
        "dedupe_key": key,
    }
