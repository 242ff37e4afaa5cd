"""The CHZZK chat protocol, pure (no I/O): command numbers, ``parse_frame`` (one frame ->
records of ``collector.records``), the client frame builders and dedupe keys. The HTTP
answers (live status, channel, access token) are read by ``collector.answers``, re-exported
here. See /work/shared/CHZZK_PROTOCOL.md for the wire format.

``parse_frame`` never raises, never drops anything and always returns at least one
record. How each input is treated:

- bytes that are not UTF-8, text that is not JSON (NaN/Infinity included), empty input,
  JSON that is not an object -> ``dead_letter`` (``error`` says which, ``raw`` the input).
  So is a frame nested deeper than ``collector.nesting.MAX_NESTING`` (400) levels, on every
  interpreter (the limit decides, not the JSON library); a ``profile``/``extras`` nested
  deeper becomes {} with a warning. Not yet on the fast path: a 93101/93102 frame whose
  items' own values hold arrays/objects nested that deep (hostile; CHZZK's items hold
  none) is parsed as far as msgspec goes there.
- 93101 CHAT / 93102 SPECIAL: ``bdy`` a list -> one chat record per item (a single object
  is taken as a one-item list); ``bdy`` of any other type -> dead letter. Within the list,
  a non-object item or an item without a usable ``msgTime`` -> a dead letter for that item,
  the others are still parsed; an empty list -> ``control`` "EMPTY_CHAT". Field-level
  problems (``profile``/``extras`` null, not JSON, not an object, double-encoded; ints of
  the wrong type or outside PostgreSQL ``integer``) keep the line with those fields None
  and a ``warnings`` list (see ``collector.items``). Unknown ``msgTypeCode`` ->
  ``message_type`` "unknown", kept.
- 15101 RECENT_CHAT: one chat record per ``bdy.messageList`` item, an ``event`` "NOTICE"
  for a non-null ``bdy.notice``, and a ``control`` "RECENT_CHAT" (``user_count``,
  ``message_count``). ``bdy`` not an object or ``messageList`` not a list -> dead letter.
- An object without ``cmd`` that looks like a chat item (recent: ``messageTime``/``userId``/
  ``content``; live: ``msgTime``/``uid``/``msg``) -> one chat item. An HTTP answer envelope
  (``code`` with ``content``/``message``/``result``) -> ``control`` "HTTP_ANSWER". Any other
  object without ``cmd`` -> dead letter.
- 94008 BLIND -> ``blind`` (dead letter if ``bdy`` is no object or has no usable
  ``messageTime``). 93006 EVENT -> ``event`` with ``event_type`` = ``bdy.type``.
  94010 NOTICE -> ``event`` "NOTICE" ("NOTICE_CLEARED" for ``{}``). 94005/94006/94015 ->
  ``event`` KICK/BLOCK/PENALTY with the body. Unknown cmd -> ``event``
  "UNKNOWN_CMD_<n>" with the whole frame in ``raw``. Event bodies that are not objects are
  wrapped as ``{"value": bdy}``.
- 0, 10000, 100, 10100, 5101, 3101, 90102 -> ``control`` (PING, PONG, CONNECT, CONNECTED
  with ``ret_code``/``ret_msg``/``sid``, REQUEST_RECENT_CHAT, SEND_CHAT, SESSION_ENDED).
  A CONNECTED with ``retCode`` != 0 (105: bad chat channel) is a control record whose
  ``ret_code`` says so; the client decides.
- A bug in this module becomes a dead letter with ``error`` "parser bug: ...".
"""
from __future__ import annotations

import json
import re
from datetime import UTC, datetime, timedelta

import msgspec

from collector.answers import (  # noqa: F401  (re-exported)
    KST,
    AccessToken,
    Channel,
    LiveStatus,
    ProtocolError,
    parse_access_token,
    parse_channel,
    parse_live_status,
)
from collector.fast_items import chat_record as fast_chat_record
from collector.items import (  # noqa: F401  (re-exported)
    MAX_EPOCH_MS,
    as_int,
    chat_record,
    clean_json,
    clean_text,
    dead_letter,
    dedupe_key,
    epoch_ms,
    md5_key,
    ms_to_iso,
    text_or_none,
    to_live_keys,
    to_recent_keys,
)
from collector.nesting import text_too_deep, too_deep_message, value_too_deep

PING = 0
PONG = 10000
CONNECT = 100
CONNECTED = 10100
REQUEST_RECENT_CHAT = 5101
RECENT_CHAT = 15101
CHAT = 93101
SPECIAL = 93102
EVENT = 93006
BLIND = 94008
NOTICE = 94010
KICK = 94005
BLOCK = 94006
PENALTY = 94015
SESSION_ENDED = 90102
SEND_CHAT = 3101

CONTROL_NAMES = {
    PING: "PING", PONG: "PONG", CONNECT: "CONNECT", CONNECTED: "CONNECTED",
    REQUEST_RECENT_CHAT: "REQUEST_RECENT_CHAT", SEND_CHAT: "SEND_CHAT", SESSION_ENDED: "SESSION_ENDED",
}
RAW_EVENT_NAMES = {KICK: "KICK", BLOCK: "BLOCK", PENALTY: "PENALTY"}
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# ---------------------------------------------------------------- client frames
def _dumps(obj) -> str:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def connect_frame(chat_channel_id: str, access_token: str, tid: int = 1) -> str:
    """CONNECT (cmd 100) for an anonymous read-only join."""
    return _dumps({"ver": "3", "cmd": CONNECT, "svcid": "game", "cid": chat_channel_id,
                   "bdy": {"uid": None, "devType": 2001, "accTkn": access_token, "auth": "READ"},
                   "tid": tid})


def recent_chat_frame(chat_channel_id: str, sid: str, tid: int = 2, count: int = 50) -> str:
    """REQUEST_RECENT_CHAT (cmd 5101), sent after CONNECTED with its ``sid``."""
    return _dumps({"ver": "3", "cmd": REQUEST_RECENT_CHAT, "svcid": "game", "cid": chat_channel_id,
                   "sid": sid, "bdy": {"recentMessageCount": count}, "tid": tid})


def ping_frame() -> str:
    return _dumps({"ver": "3", "cmd": PING})


def pong_frame() -> str:
    return _dumps({"ver": "3", "cmd": PONG})


# ---------------------------------------------------------------- records
_FRAME = object()  # placeholder: parse_frame puts the input text (or its JSON) as raw


def _frame_error(error: str) -> dict:
    """A dead letter for the whole frame; ``raw`` becomes the input as received."""
    return {"kind": "dead_letter", "error": error, "raw": _FRAME}


def _event_time(body: dict) -> str | None:
    """ISO UTC from a body's ms time, or its KST wall-clock ``createdTime``; else None."""
    for key in ("messageTime", "msgTime", "createTime", "ctime"):
        ms, problem = epoch_ms(body.get(key))
        if not problem:
            return ms_to_iso(ms)
    created = body.get("createdTime")
    if isinstance(created, str):
        try:
            dt = datetime.fromisoformat(created)
        except ValueError:
            return None
        dt = dt.replace(tzinfo=KST) if dt.tzinfo is None else dt
        ms = (dt - _EPOCH) // timedelta(milliseconds=1)
        return ms_to_iso(ms) if 0 <= ms <= MAX_EPOCH_MS else None
    return None


def event_record(cid, cmd: int, event_type: str, body, raw) -> dict:
    """An ``event`` record; its dedupe key is md5(cid|cmd|event_type|canonical body JSON)."""
    body = clean_json(body if isinstance(body, dict) else {"value": body})
    canonical = json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    cid = text_or_none(cid)
    return {"kind": "event", "chat_channel_id": cid, "cmd": cmd, "event_type": clean_text(event_type),
            "event_time": _event_time(body), "body": body,
            "dedupe_key": md5_key(cid or "", cmd, event_type, canonical), "raw": clean_json(raw)}


def control_record(cmd, name: str, frame: dict, **extra) -> dict:
    return {"kind": "control", "cmd": cmd, "name": name,
            "chat_channel_id": text_or_none(frame.get("cid")), **extra, "raw": clean_json(frame)}


def _blind(frame: dict) -> list[dict]:
    body = frame.get("bdy")
    if not isinstance(body, dict):
        return [_frame_error(f"94008 BLIND bdy is a {type(body).__name__}, not an object")]
    ms, problem = epoch_ms(body.get("messageTime"))
    if problem:
        return [_frame_error(f"94008 BLIND messageTime {problem}")]
    return [{"kind": "blind",
             "chat_channel_id": text_or_none(body.get("channelId")) or text_or_none(frame.get("cid")),
             "user_id": text_or_none(body.get("userId")), "message_time": ms_to_iso(ms),
             "blind_type": text_or_none(body.get("blindType")), "raw": clean_json(frame)}]


def _chat_list(frame: dict, cmd: int) -> list[dict]:
    body = frame.get("bdy")
    if isinstance(body, dict):
        body = [body]
    if not isinstance(body, list):
        return [_frame_error(f"cmd {cmd} bdy is a {type(body).__name__}, not a list of chat items")]
    if not body:
        return [control_record(cmd, "EMPTY_CHAT", frame)]
    return [chat_record(item, frame.get("cid")) for item in body]


def _recent(frame: dict) -> list[dict]:
    body = frame.get("bdy")
    if not isinstance(body, dict):
        return [_frame_error(f"15101 RECENT_CHAT bdy is a {type(body).__name__}, not an object")]
    items = body.get("messageList")
    if items is None:
        items = []
    if not isinstance(items, list):
        return [_frame_error(f"15101 RECENT_CHAT messageList is a {type(items).__name__}, not a list")]
    cid = frame.get("cid")
    records = [chat_record(item, cid) for item in items]
    notice = body.get("notice")
    if notice is not None:
        records.append(event_record(cid, RECENT_CHAT, "NOTICE", notice, notice))
    summary = {k: v for k, v in frame.items() if k != "bdy"}
    summary["bdy"] = {k: v for k, v in body.items() if k not in ("messageList", "notice")}
    user_count = body.get("userCount")
    if isinstance(user_count, dict):  # some servers answer {"total": n}
        user_count = user_count.get("total")
    records.append(control_record(RECENT_CHAT, "RECENT_CHAT", frame, user_count=as_int(user_count),
                                  message_count=len(items)))
    records[-1]["raw"] = clean_json(summary)  # the items are already kept in their own records
    return records


def _with_cmd(frame: dict) -> list[dict]:
    raw_cmd = frame["cmd"]
    cmd = as_int(raw_cmd)
    if cmd is None:
        return [_frame_error(f"cmd {str(raw_cmd)[:40]!r} is not an integer (32-bit)")]
    cid = frame.get("cid")
    if cmd in (CHAT, SPECIAL):
        return _chat_list(frame, cmd)
    if cmd == RECENT_CHAT:
        return _recent(frame)
    if cmd == BLIND:
        return _blind(frame)
    body = frame.get("bdy")
    if cmd == EVENT:
        if not isinstance(body, dict):
            return [_frame_error(f"93006 EVENT bdy is a {type(body).__name__}, not an object")]
        event_type = body.get("type") if isinstance(body.get("type"), str) and body.get("type") else "UNTYPED"
        return [event_record(cid, cmd, event_type, body, frame)]
    if cmd == NOTICE:
        cleared = body is None or body == {}
        return [event_record(cid, cmd, "NOTICE_CLEARED" if cleared else "NOTICE", body or {}, frame)]
    if cmd in RAW_EVENT_NAMES:
        return [event_record(cid, cmd, RAW_EVENT_NAMES[cmd], body, frame)]
    if cmd == CONNECTED:
        sid = body.get("sid") if isinstance(body, dict) else None
        return [control_record(cmd, "CONNECTED", frame, ret_code=as_int(frame.get("retCode")),
                               ret_msg=text_or_none(frame.get("retMsg")), sid=text_or_none(sid))]
    if cmd in CONTROL_NAMES:
        extra = {}
        if "retCode" in frame:
            extra = {"ret_code": as_int(frame.get("retCode")),
                     "ret_msg": text_or_none(frame.get("retMsg"))}
        return [control_record(cmd, CONTROL_NAMES[cmd], frame, **extra)]
    return [event_record(cid, cmd, f"UNKNOWN_CMD_{cmd}", body, frame)]


def _looks_like_item(obj: dict) -> bool:
    return ("messageTime" in obj or "msgTime" in obj
            or ("userId" in obj and "content" in obj) or ("uid" in obj and "msg" in obj))


def _without_cmd(obj: dict) -> list[dict]:
    if _looks_like_item(obj):
        return [chat_record(obj)]
    if "code" in obj and any(k in obj for k in ("content", "result", "message")):
        code = as_int(obj.get("code"))
        return [{"kind": "control", "cmd": None, "name": "HTTP_ANSWER", "chat_channel_id": None,
                 "code": code, "message": text_or_none(obj.get("message")), "raw": clean_json(obj)}]
    keys = ", ".join(sorted(str(k) for k in obj)[:8])
    return [_frame_error(f"object has no cmd and is neither a chat item nor an HTTP answer (keys: {keys})")]


def _decode(data) -> tuple[object, dict | None]:
    """(decoded value, None) or (None, dead letter), with the standard library."""
    if isinstance(data, (bytes, bytearray, memoryview)):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            return None, dead_letter(f"not UTF-8 text ({exc})", bytes(data).decode("utf-8", "replace"))
    if isinstance(data, str):
        if not data.strip():
            return None, dead_letter("empty input", data)
        if text_too_deep(data):  # before json, whose own limit depends on the interpreter
            return None, dead_letter(too_deep_message("frame"), data)
        try:
            return json.loads(data, parse_constant=_reject_constant), None
        except (ValueError, RecursionError) as exc:
            return None, dead_letter(f"not JSON ({exc})", data)
    if value_too_deep(data):  # an already decoded frame: too deep to keep as raw JSON either
        return None, dead_letter(too_deep_message("frame"), "(frame nested too deeply to keep)")
    return data, None


def _reject_constant(name: str):
    raise ValueError(f"{name} is not valid JSON")


_fast_loads = msgspec.json.Decoder().decode
_NOT_DECODED = object()
# JSON writes a NUL only as \u0000: a frame without one holds no NUL in its own strings
# (fast_items looks inside profile/extras); msgspec refuses lone surrogates on its own
_NUL_BYTES, _NUL_TEXT = re.compile(rb"\\u0000").search, re.compile(r"\\u0000").search


def parse_frame(data: str | bytes | dict) -> list[dict]:
    """One frame (wire text, bytes, or an already decoded object) -> a list of records
    (``collector.records``). Never raises; see the module docstring for each case.

    Fast path (issue 17): wire text is decoded with msgspec, which gives the value
    ``json.loads`` gives for every text it accepts (big integers and floats included);
    what it refuses (lone surrogates, NaN/Infinity, 1e400, a BOM, invalid UTF-8, any
    error) is decoded again by ``json`` so dead letters keep their wording. The items of
    a 93101/93102 frame without a ``\\u0000`` escape go to ``collector.fast_items``.
    The records are exactly those of ``parse_frame_stdlib``."""
    if type(data) is bytes or type(data) is str:
        try:
            obj = _fast_loads(data)
        except Exception:  # msgspec's errors, RecursionError, UnicodeEncodeError (str surrogates)
            return _parse(data, _NOT_DECODED)
        try:
            records = _fast_chat(obj, data)
        except Exception:  # a bug on the fast path: the reference path decides
            records = None
        if records is not None:
            return records
        if value_too_deep(obj):  # msgspec reads deeper than 3.11's json: the limit decides (collector/nesting.py)
            return _parse(data, _NOT_DECODED)
        return _parse(data, obj)
    return _parse(data, _NOT_DECODED)


def parse_frame_stdlib(data: str | bytes | dict) -> list[dict]:
    """``parse_frame`` with the standard library's JSON and the reference item parser
    only (the parser as it was before issue 17): what the fast path is held to
    (tests/collector/test_parse_equivalence.py)."""
    return _parse(data, _NOT_DECODED)


def _fast_chat(obj, data) -> list[dict] | None:
    """The records of a 93101/93102 frame whose bdy is a list of items and whose text has
    no \\u0000 escape, else None."""
    if type(obj) is not dict:
        return None
    cmd = obj.get("cmd")
    body = obj.get("bdy")
    if (cmd != CHAT and cmd != SPECIAL) or type(cmd) is not int or type(body) is not list or not body:
        return None
    if (_NUL_BYTES if type(data) is bytes else _NUL_TEXT)(data):
        return None
    cid = obj.get("cid")
    return [(fast_chat_record(item, cid) if type(item) is dict else None) or chat_record(item, cid)
            for item in body]


def _parse(data, decoded) -> list[dict]:
    """The records of ``data``, decoded already (``decoded``) or with ``json`` (_NOT_DECODED)."""
    try:
        if decoded is _NOT_DECODED:
            obj, failed = _decode(data)
            if failed:
                return [failed]
        else:
            obj = decoded
        if not isinstance(obj, dict):
            return [dead_letter(f"not a JSON object (got {type(obj).__name__})", data)]
        records = _with_cmd(obj) if "cmd" in obj else _without_cmd(obj)
        for rec in records:
            if rec.get("raw") is _FRAME:
                rec["raw"] = dead_letter("", data)["raw"]
        return records
    except Exception as exc:  # a bug here must not kill the collector: keep the input
        try:
            return [dead_letter(f"parser bug: {type(exc).__name__}: {exc}", data)]
        except Exception:
            return [{"kind": "dead_letter", "error": f"parser bug: {type(exc).__name__}", "raw": ""}]
