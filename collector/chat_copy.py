"""The COPY payload of compact chat rows (issue 17): chat records -> PostgreSQL COPY text
format (or binary: ``chunks(binary=True)``, the rows packed by collector/chat_binary.py, what
the sink sends), ``raw`` and ``badges`` as zstd frames (core/raw_codec.py) in
``raw_z``/``badges_z`` with the dictionary's id in ``zdict``; ``raw``/``badges`` (jsonb) are
left NULL.

Built for speed (measured in bench/store_bench.py; docs/COLLECTOR_STORAGE.md): JSON by
orjson, one compressor call per value, and text values cleaned (NUL removed, lone
surrogates replaced: collector.items.clean_text) and escaped only when a cheap check says
they need it. ``payload`` yields the rows in chunks, so PostgreSQL parses and indexes one
chunk while Python builds the next (client and server are two processes)."""
from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Iterator
from itertools import chain, repeat

import msgspec

from collector import chat_binary
from collector.items import clean_json, clean_text
from collector.records import CHAT_FIELDS
from core import raw_codec

# the columns a chat record fills besides channel_fk and the compact payload
_RECORD_COLUMNS = tuple(f for f in CHAT_FIELDS if f not in ("channel_id", "raw", "badges"))
COLUMNS = _RECORD_COLUMNS + ("channel_fk", "badges_z", "raw_z", "zdict")  # the record's first: see _fast
CHUNK_ROWS = 100  # rows per COPY chunk: measured best of 20-2,500 (the server parses one while the next is built)
NULL = "None"     # COPY ... (NULL 'None'): what str(None) writes
_GET = operator.itemgetter(*_RECORD_COLUMNS)
_CHANNEL = operator.itemgetter("channel_id")
_LINE = "\t".join(["%s"] * (len(COLUMNS) - 1)) + "\t"  # every column but zdict (the same for a chunk)
# msgspec, not orjson: measured 2.5 vs 6-11 µs a raw item as the parser leaves it (msgspec caches
# each str's UTF-8, which orjson only reads)
_encode = msgspec.json.Encoder().encode
_DICT_OR_LIST = frozenset({dict, list})
_NONE = frozenset({type(None)})


def json_text(value) -> str | bytes | None:
    """The compact JSON of a jsonb-like value, as stored (None stays None): str values
    already JSON (collector.forgotten.JsonText) pass through; NaN/Infinity become null, NUL
    characters are removed and lone surrogates replaced (collector.items.clean_json).
    Bytes (UTF-8) on the fast path, str otherwise."""
    if value is None or isinstance(value, str):
        return value if value is None else clean_text(value)
    try:
        out = _encode(value)  # NaN/Infinity -> null, as clean_json; raises on lone surrogates
    except Exception:  # noqa: BLE001 - lone surrogates, odd keys, ints past 64 bits: the slow path says
        out = None
    if out is None or b"\\u0000" in out:  # an escaped NUL (or text spelling one: slow path, same result)
        return json.dumps(clean_json(value), ensure_ascii=False, separators=(",", ":"))
    return out


def _escaped(value: str) -> str:
    """A text value cleaned and escaped for COPY's text format (NULL is written ``None``:
    a text that is ``None`` is written ``\\None``, which COPY reads back as ``None``)."""
    value = clean_text(value)
    value = value.replace("\\", "\\\\").replace("\n", "\\n").replace("\r", "\\r").replace("\t", "\\t")
    return "\\None" if value == "None" else value


def _field(value) -> str:
    """One value as COPY text, the careful way (chunks that fail the fast path's checks)."""
    if value is None:
        return NULL
    if isinstance(value, str):
        return _escaped(value)
    if value is True or value is False or isinstance(value, (int, float)):
        return str(value)
    return _escaped(str(value))


def _hex(blob: bytes | None) -> str:
    return NULL if blob is None else "\\\\x" + blob.hex()


def json_texts(values: list) -> list:
    """``json_text`` of many values, its checks made once over all of them."""
    kinds = set(map(type, values))
    try:
        if kinds <= _DICT_OR_LIST:  # the parser's records: all in C calls
            out = list(map(_encode, values))
        elif kinds <= _DICT_OR_LIST | _NONE:
            out = [None if v is None else _encode(v) for v in values]
        else:  # JSON text already (collector.forgotten.JsonText), or values of other types
            out = [None if v is None else clean_text(v) if isinstance(v, str) else _encode(v) for v in values]
    except Exception:  # noqa: BLE001 - one value the fast path cannot take: each on its own
        return [json_text(v) for v in values]
    plain = out if kinds <= _DICT_OR_LIST else [t for t in out if t.__class__ is bytes]
    if b"\\u0000" in b"\x01".join(plain):
        return [json_text(v) if t.__class__ is bytes and b"\\u0000" in t else t
                for v, t in zip(values, out, strict=True)]
    return out


def _json_texts(chats: list[dict], key: str) -> list:
    return json_texts([r.get(key) for r in chats])


def oversized(text: str | bytes | None) -> int | None:
    """The UTF-8 size of a JSON text too big to store compressed (raw_codec.MAX_OUTPUT), else None."""
    if text is None or len(text) * (1 if isinstance(text, bytes) else 4) <= raw_codec.MAX_OUTPUT:
        return None
    size = len(text if isinstance(text, bytes) else text.encode("utf-8"))
    return size if size > raw_codec.MAX_OUTPUT else None


def _careful(chats, fks, badges_z, raw_z, z: str) -> str:
    return "".join("\t".join([*[_field(rec.get(c)) for c in _RECORD_COLUMNS], str(fks[rec["channel_id"]]),
                              _hex(bz), _hex(rz), z]) + "\n"
                   for rec, bz, rz in zip(chats, badges_z, raw_z, strict=True))


def _fast(chats, fks, badges_z, raw_z, z: str) -> bytes | None:
    """The chunk's COPY text made by ONE ``%`` formatting of all its values (``str`` of
    each, in C; None is ``None``), or None when a check says some value needs the careful
    way: a text ``None``, or a tab, newline, CR, backslash, NUL or lone surrogate inside a
    value (counted over the whole chunk)."""
    try:
        values = list(map(_GET, chats))
    except KeyError:  # a record without some optional column
        values = [tuple(rec.get(c) for c in _RECORD_COLUMNS) for rec in chats]
    if any(map(operator.contains, values, repeat("None"))):
        return None
    tails = zip(map(fks.__getitem__, map(_CHANNEL, chats)),
                [NULL if b is None else "\\\\x" + b.hex() for b in badges_z],
                [NULL if b is None else "\\\\x" + b.hex() for b in raw_z], strict=True)
    rows = len(chats)
    try:
        data = (((_LINE + z + "\n") * rows) % tuple(chain.from_iterable(map(tuple.__add__, values, tails)))
                ).encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return None
    blobs = 2 * rows - badges_z.count(None) - raw_z.count(None)  # UTF-8: these bytes occur only as themselves
    if (data.count(b"\t") != rows * (len(COLUMNS) - 1) or data.count(b"\n") != rows
            or data.count(b"\\") != 2 * blobs or b"\r" in data or b"\x00" in data):
        return None
    return data


class Oversized(Exception):  # noqa: N818 - a finding, not a failure
    """Records whose JSON is too big to store (over raw_codec.MAX_OUTPUT): {position in
    the records: UTF-8 bytes}."""

    def __init__(self, sizes: dict[int, int]):
        super().__init__(f"{len(sizes)} record(s) with JSON over {raw_codec.MAX_OUTPUT:,} bytes")
        self.sizes = sizes


def _refuse_oversized(offset: int, raws: list, badges: list) -> None:
    longest = max(map(len, filter(None, raws + badges)), default=0)
    if longest * 4 <= raw_codec.MAX_OUTPUT:
        return
    sizes = {offset + j: size for j, (r, b) in enumerate(zip(raws, badges, strict=True))
             if (size := oversized(r) or oversized(b))}
    if sizes:
        raise Oversized(sizes)


_FRAMES: dict = {}  # dictionary -> {badges JSON: its frame}: most lines' badges are one of a few lists
FRAMES_KEPT = 4096   # per dictionary (cleared when full)


def _badge_frames(texts: list, dictionary: raw_codec.Dictionary | None) -> list:
    """raw_codec.compress_many of badges' JSON texts, each distinct text compressed once
    (the same frame: level and dictionary fixed; measured 4 distinct badge lists in 9,834
    lines of the samples style, 959 in 4,788 of sim)."""
    cache = _FRAMES.get(dictionary)
    if cache is None or len(cache) >= FRAMES_KEPT:
        if len(_FRAMES) >= 4:
            _FRAMES.clear()
        cache = _FRAMES[dictionary] = {}
    out = list(map(cache.get, texts))
    if out.count(None) != texts.count(None):
        missing = list({t: None for t, f in zip(texts, out, strict=True) if f is None and t is not None})
        cache.update(zip(missing, raw_codec.compress_many(missing, dictionary), strict=True))
        out = list(map(cache.get, texts))
    return out


def _binary(chats, fks, badges_z, raw_z, zdict: int | None) -> bytes:
    """The chunk as binary COPY tuples (collector/chat_binary.py; NotBinary if a value needs the text way)."""
    try:
        values = list(zip(*map(_GET, chats), strict=True))
    except KeyError:  # a record without some optional column
        values = [[rec.get(c) for rec in chats] for c in _RECORD_COLUMNS]
    values += [list(map(fks.__getitem__, map(_CHANNEL, chats))), badges_z, raw_z, [zdict] * len(chats)]
    return chat_binary.rows(COLUMNS, values)


def chunks(chats: list[dict], fks: dict[str, int], dictionary: raw_codec.Dictionary | None,
           raw_texts: list | None = None, badge_texts: list | None = None, chunk_rows: int = CHUNK_ROWS,
           tally: list | None = None, raws_out: list | None = None, binary: bool = False) -> Iterator[bytes]:
    """The COPY data of `chats`, columns in COLUMNS order, in chunks of `chunk_rows` rows,
    compressed as each chunk is built: text format (UTF-8, NULL ``None``), or ``binary``
    (``COPY … WITH (FORMAT binary)``: header first, trailer last; raises
    chat_binary.NotBinary for a value only the text format takes as it should).
    ``raw_texts``/``badge_texts``: the records' JSON already made (json_text), else made here
    chunk by chunk (while the server works on the previous one); ``raws_out`` gets the raw
    JSON texts, ``tally`` [raw bytes, compressed raw bytes] added up. Raises Oversized for a
    record whose JSON is too big to store."""
    z = NULL if dictionary is None else str(dictionary.id)
    compress = raw_codec.compress_many
    if binary:
        yield chat_binary.HEADER
    for i in range(0, len(chats), chunk_rows):
        part = chats[i:i + chunk_rows]
        raws = raw_texts[i:i + chunk_rows] if raw_texts is not None else _json_texts(part, "raw")
        badges = badge_texts[i:i + chunk_rows] if badge_texts is not None else _json_texts(part, "badges")
        _refuse_oversized(i, raws, badges)
        if raws_out is not None:
            raws_out.extend(raws)
        raw_z = compress(raws, dictionary)
        badges_z = _badge_frames(badges, dictionary)
        if tally is not None:
            tally[0] += sum(map(len, filter(None, raws)))
            tally[1] += sum(map(len, filter(None, raw_z)))
        if binary:
            yield _binary(part, fks, badges_z, raw_z, None if dictionary is None else dictionary.id)
            continue
        data = _fast(part, fks, badges_z, raw_z, z)
        yield data if data is not None else _careful(part, fks, badges_z, raw_z, z).encode("utf-8")
    if binary:
        yield chat_binary.TRAILER


class Stream:
    """A file-like reader over byte chunks, for psycopg2's ``copy_expert`` (it calls
    ``read(8192)`` until it gets b""): each chunk is built only when the server asks for
    more, and handed over at most ``size`` bytes at a time. Why the slices: each ``read``
    becomes one CopyData message, which PostgreSQL reads whole before it parses any of it,
    and libpq holds back the bytes past the last multiple of 8 KiB until the next call, so
    one big message per chunk would keep the server waiting while the next chunk is built
    (measured: no overlap at all); 8 KiB messages are parsed while Python works on."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self._view = memoryview(b"")
        self.bytes = 0
        self.error: Exception | None = None  # what stopped the chunks (psycopg2 reports only its text)

    def read(self, size: int = -1) -> bytes:
        if not self._view:
            try:
                self._view = memoryview(next(self._chunks, b""))
            except Exception as exc:
                self.error = exc
                raise
        n = len(self._view) if size is None or size < 0 else size
        out, self._view = self._view[:n], self._view[n:]
        self.bytes += len(out)
        return out.tobytes()

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)
