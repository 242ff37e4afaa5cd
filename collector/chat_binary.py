"""Compact chat rows in PostgreSQL's binary COPY format (issue 17): what the sink sends by
default (collector/chat_copy.py chooses; docs/COLLECTOR_STORAGE.md has the measurements).

Why binary: the server does not parse text for it (no hex to decode in ``raw_z`` and
``badges_z``, no timestamp to read, no escapes to look for): 13.5 instead of 17.0 µs of
server CPU a line in the same run, and 470 instead of 600 bytes sent a line. And the
collector builds it with less: no escaping, no checks for tabs and newlines, the frames
sent as they are. A chunk is built column by column with C-level ``map`` calls (encode,
length prefix, pack), then interleaved into one list and joined once; a column NULL in
every row of the chunk (most money columns) costs one constant per row.

The same rows as the text COPY, or none: a value this module is not sure to store exactly
as the text format would (a type other than the column's, an integer out of range, a
``chat_time`` not in the record contract's ``YYYY-MM-DDTHH:MM:SS.mmmZ``) raises NotBinary,
and the sink copies the batch again in text, where PostgreSQL's own input functions read
it (or refuse it) as before. Text values are cleaned as the text path cleans them
(collector.items.clean_text: NUL removed, lone surrogates replaced), only when a check over
the chunk says one needs it. ``KINDS`` declares each column's type once; a test holds it to
the migrated table."""
from __future__ import annotations

import operator
import re
import struct
from datetime import UTC, datetime
from itertools import chain, repeat

from collector.items import clean_text

TEXT, INT2, INT4, INT8, BOOL, TIMESTAMPTZ, BYTEA = "text", "smallint", "integer", "bigint", "boolean", \
    "timestamp with time zone", "bytea"
KINDS = {  # stream_chat's type of each column the sink copies (migrations 001, 010, 011)
    "chat_channel_id": TEXT, "user_id": TEXT, "nickname": TEXT, "message": TEXT, "message_type": TEXT,
    "msg_type_code": INT4, "message_status": TEXT, "chat_time": TIMESTAMPTZ, "subscription_month": INT4,
    "subscription_tier": INT4, "os_type": TEXT, "user_role": TEXT, "pay_amount": INT4, "pay_type": TEXT,
    "donation_type": TEXT, "donation_id": TEXT, "mission_id": TEXT, "donation_status": TEXT,
    "is_anonymous": BOOL, "gift_receiver_id": TEXT, "gift_receiver_nickname": TEXT, "gift_tier": INT4,
    "gift_id": TEXT, "gift_quantity": INT4, "color_code": TEXT, "member_count": INT4, "blind_type": TEXT,
    "dedupe_key": TEXT, "channel_fk": INT8, "badges_z": BYTEA, "raw_z": BYTEA, "zdict": INT2,
}
HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)  # signature, flags, no extension
TRAILER = struct.pack(">h", -1)
NULL = struct.pack(">i", -1)
_RANGES = {INT2: (-2**15, 2**15 - 1), INT4: (-2**31, 2**31 - 1), INT8: (-2**63, 2**63 - 1)}
_PACK = {INT2: struct.Struct(">ih").pack, INT4: struct.Struct(">ii").pack, INT8: struct.Struct(">iq").pack}
_SIZE = {INT2: 2, INT4: 4, INT8: 8}
_PACK_TS = struct.Struct(">iq").pack
_LENGTH = struct.Struct(">i").pack
_PREFIX = [_LENGTH(n) for n in range(4096)]  # the length prefix of a short value, looked up
# True/False, and 1/0 as the text format reads str(1)/str(0) into a boolean
_BOOL = {True: b"\x00\x00\x00\x01\x01", False: b"\x00\x00\x00\x01\x00", None: NULL}
_ISO_RUN = re.compile(r"(?:\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z)*", re.ASCII)  # the record contract's chat_time
_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)  # PostgreSQL's timestamp zero
_HEAD, _MS = slice(0, 19), slice(20, 23)
_seconds: dict[str, int] = {}  # "YYYY-MM-DDTHH:MM:SS" -> µs since _EPOCH (a memo: a flood repeats its seconds)
_NONE = type(None)


class NotBinary(Exception):  # noqa: N818 - a finding: copy this batch as text
    """A value the binary builder does not take (the batch goes the text way)."""


def _micros(head: str) -> int:
    try:
        at = datetime.fromisoformat(head).replace(tzinfo=UTC)
    except ValueError:  # a month 13, a 31 September, ...
        raise NotBinary(f"chat_time {head!r}") from None
    if len(_seconds) >= 100_000:
        _seconds.clear()
    out = _seconds[head] = (at - _EPOCH) // _ONE_MICRO
    return out


_ONE_MICRO = datetime(2000, 1, 1, 0, 0, 0, 1, tzinfo=UTC) - _EPOCH


def _timestamps(values: list) -> list[bytes]:
    try:
        joined = "".join(values)
    except TypeError:
        raise NotBinary("chat_time not text") from None
    if len(joined) != 24 * len(values) or not _ISO_RUN.fullmatch(joined):
        raise NotBinary("chat_time not YYYY-MM-DDTHH:MM:SS.mmmZ")
    heads = list(map(operator.getitem, values, repeat(_HEAD)))
    try:
        bases = list(map(_seconds.__getitem__, heads))
    except KeyError:
        bases = [_seconds[h] if h in _seconds else _micros(h) for h in heads]
    millis = map(int, map(operator.getitem, values, repeat(_MS)))
    return list(map(_PACK_TS, repeat(8), map(operator.add, bases, map(operator.mul, millis, repeat(1000)))))


def _ints(values, kind: str, nones: int) -> bytes | list[bytes]:
    """The packed values (one bytes when every row holds the same: a constant of the chunk)."""
    types = set(map(type, values))
    if not types <= {int, _NONE}:  # bool, float, str: the text format's input function decides
        raise NotBinary(f"{kind} column holding {sorted(t.__name__ for t in types)}")
    pack, size = _PACK[kind], _SIZE[kind]
    try:
        if not nones:
            if values.count(values[0]) == len(values):
                return pack(size, values[0])
            return list(map(pack, repeat(size), values))
        return [NULL if v is None else pack(size, v) for v in values]
    except struct.error:  # out of the column's range
        raise NotBinary(f"{kind} out of range") from None


def _texts(values: list, has_none: bool) -> list[bytes | None]:
    """UTF-8 of each value (None stays None); cleaned as the text path cleans, or str() of
    a non-text value as the text path writes it."""
    try:
        if not has_none:
            return list(map(str.encode, values))
        return [None if v is None else v.encode() for v in values]
    except (UnicodeEncodeError, TypeError, AttributeError):  # a lone surrogate, a value of another type
        return [None if v is None else clean_text(v if v.__class__ is str else str(v)).encode() for v in values]


def _lengths(encoded: list) -> list[bytes]:
    try:
        return list(map(_PREFIX.__getitem__, map(len, encoded)))
    except IndexError:  # a value of 4 KiB or more
        return list(map(_LENGTH, map(len, encoded)))


def _with_nulls(data: list, nones: int) -> tuple[list, list]:
    """(length prefixes, data) of values some of which are None (NULL: prefix -1, no data)."""
    n = len(data)
    if 4 * nones < n:  # a few NULLs: every value's prefix in C, then the NULLs found and set
        at, spots = -1, []
        data = list(data)
        for _ in range(nones):
            at = data.index(None, at + 1)
            spots.append(at)
            data[at] = b""
        prefix = _lengths(data)
        for at in spots:
            prefix[at] = NULL
        return prefix, data
    prefix, out = [NULL] * n, [b""] * n
    for at, d in enumerate(data):
        if d is not None:
            prefix[at] = _PREFIX[len(d)] if len(d) < 4096 else _LENGTH(len(d))
            out[at] = d
    return prefix, out


def rows(columns: tuple[str, ...], values: list) -> bytes:
    """The binary COPY tuples (no header, no trailer) of one column of values per name in
    `columns` (each a sequence of the same length: the record values, channel_fk, the
    badges_z and raw_z frames, zdict). Raises NotBinary for a value it does not take."""
    n = len(values[0]) if values else 0
    if not n:
        return b""
    segments: list = []  # a constant bytes (the same in every row), or a list of n bytes
    constant = bytearray(struct.pack(">h", len(columns)))
    texts: list[int] = []  # segment index of each text column's data
    for column, col in zip(columns, values, strict=True):
        kind = KINDS[column]
        nones = col.count(None)
        if nones == n:
            constant += NULL
            continue
        if kind == TEXT and not nones and col.count(col[0]) == n and col[0].__class__ is str:
            one = _texts(col[:1], False)[0]  # the same text in every row (the chat channel, the type, ...)
            if b"\x00" not in one:
                constant += _LENGTH(len(one)) + one
                continue
        if kind == TEXT or kind == BYTEA:
            if kind == TEXT:
                data = _texts(col, nones > 0)
            elif not set(map(type, col)) <= {bytes, _NONE}:
                raise NotBinary(f"{column} not bytes")
            else:
                data = col
            prefix, data = _with_nulls(data, nones) if nones else (_lengths(data), data)
            if constant:
                segments.append(bytes(constant))
                constant.clear()
            segments.append(prefix)
            if kind == TEXT:
                texts.append(len(segments))
            segments.append(data)
            continue
        if kind == TIMESTAMPTZ:
            packed = _timestamps(col)
        elif kind == BOOL:
            if not set(map(type, col)) <= {bool, int, _NONE}:  # 1.0 would pass the lookup, not the text input
                raise NotBinary(f"{column} not a boolean")
            try:
                packed = list(map(_BOOL.__getitem__, col))
            except KeyError:
                raise NotBinary(f"{column} not a boolean") from None
        else:
            packed = _ints(col, kind, nones)
            if packed.__class__ is bytes:
                constant += packed
                continue
        if constant:
            segments.append(bytes(constant))
            constant.clear()
        segments.append(packed)
    if constant:
        segments.append(bytes(constant))
    if texts and b"\x00" in b"".join(chain.from_iterable(segments[at] for at in texts)):
        for at in texts:  # NUL: removed as the text path removes it (collector.items.clean_text)
            if b"\x00" in b"".join(segments[at]):
                segments[at] = [d.replace(b"\x00", b"") for d in segments[at]]
                segments[at - 1] = [NULL if p == NULL else _LENGTH(len(d))
                                    for p, d in zip(segments[at - 1], segments[at], strict=True)]
    width = len(segments)
    out: list = [None] * (n * width)
    for j, seg in enumerate(segments):
        out[j::width] = [seg] * n if seg.__class__ is bytes else seg
    return b"".join(out)
