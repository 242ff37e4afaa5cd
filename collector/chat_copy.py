"""The COPY payload of compact chat rows (issue 17): chat records -> PostgreSQL COPY text
format, ``raw`` and ``badges`` as zstd frames (core/raw_codec.py) in ``raw_z``/``badges_z``
with the dictionary's id in ``zdict``; ``raw``/``badges`` (jsonb) are left NULL.

Built for speed (measured in bench/store_bench.py; docs/COLLECTOR_STORAGE.md): JSON by
orjson, one compressor call per value, and text values cleaned (NUL removed, lone
surrogates replaced: collector.items.clean_text) and escaped only when a cheap check says
they need it. ``payload`` yields the rows in chunks, so PostgreSQL parses and indexes one
chunk while Python builds the next (client and server are two processes)."""
from __future__ import annotations

import json
import operator
from collections.abc import Iterable, Iterator

import msgspec

from collector.items import clean_json, clean_text
from collector.records import CHAT_FIELDS
from core import raw_codec

# the columns a chat record fills besides channel_fk and the compact payload
_RECORD_COLUMNS = tuple(f for f in CHAT_FIELDS if f not in ("channel_id", "raw", "badges"))
COLUMNS = ("channel_fk",) + _RECORD_COLUMNS + ("badges_z", "raw_z", "zdict")
CHUNK_ROWS = 500  # rows per COPY chunk: small enough to overlap, large enough to amortize
NULL = "None"     # COPY ... (NULL 'None'): what str(None) writes
_GET = operator.itemgetter(*_RECORD_COLUMNS)
# msgspec, not orjson: measured 2.5 vs 6-11 µs a raw item as the parser leaves it (msgspec caches
# each str's UTF-8, which orjson only reads)
_encode = msgspec.json.Encoder().encode


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


def _json_texts(chats: list[dict], key: str) -> list:
    return [json_text(r.get(key)) for r in chats]


def oversized(text: str | bytes | None) -> int | None:
    """The UTF-8 size of a JSON text too big to store compressed (raw_codec.MAX_OUTPUT), else None."""
    if text is None or len(text) * (1 if isinstance(text, bytes) else 4) <= raw_codec.MAX_OUTPUT:
        return None
    size = len(text if isinstance(text, bytes) else text.encode("utf-8"))
    return size if size > raw_codec.MAX_OUTPUT else None


def _careful(chats, fks, badges_z, raw_z, z: str) -> str:
    return "".join("\t".join([str(fks[rec["channel_id"]]), *[_field(rec.get(c)) for c in _RECORD_COLUMNS],
                              _hex(bz), _hex(rz), z]) + "\n"
                   for rec, bz, rz in zip(chats, badges_z, raw_z, strict=True))


def _fast(chats, fks, badges_z, raw_z, z: str) -> bytes | None:
    """The chunk's COPY text built in C calls (``str`` of every value; None is ``None``),
    or None when a check says some value needs the careful way: a text ``None``, or a tab,
    newline, CR, backslash or NUL inside a value (counted over the whole chunk)."""
    get = _GET
    out = []
    blobs = 0
    for rec, bz, rz in zip(chats, badges_z, raw_z, strict=True):
        try:
            values = get(rec)
        except KeyError:  # a record without some optional column
            values = tuple(rec.get(c) for c in _RECORD_COLUMNS)
        if "None" in values:
            return None
        blobs += (bz is not None) + (rz is not None)
        out.append("\t".join((str(fks[rec["channel_id"]]), *map(str, values), _hex(bz), _hex(rz), z)))
    try:
        data = ("\n".join(out) + "\n").encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return None
    rows = len(out)  # UTF-8: these bytes occur only as themselves
    if (data.count(b"\t") != rows * (len(COLUMNS) - 1) or data.count(b"\n") != rows
            or data.count(b"\\") != 2 * blobs or b"\r" in data or b"\x00" in data):
        return None
    return data


def chunks(chats: list[dict], fks: dict[str, int], dictionary: raw_codec.Dictionary | None,
           raw_texts: list | None = None, badge_texts: list | None = None, chunk_rows: int = CHUNK_ROWS,
           tally: list | None = None) -> Iterator[bytes]:
    """The COPY data (text format, UTF-8, NULL ``None``) of `chats`, columns in COLUMNS
    order, in chunks of `chunk_rows` rows, compressed as each chunk is built.
    ``raw_texts``/``badge_texts``: the records' JSON already made (json_text). ``tally``, when given,
    gets [raw bytes, compressed raw bytes] added up."""
    z = NULL if dictionary is None else str(dictionary.id)
    compress = raw_codec.compress_many
    for i in range(0, len(chats), chunk_rows):
        part = chats[i:i + chunk_rows]
        raws = raw_texts[i:i + chunk_rows] if raw_texts is not None else _json_texts(part, "raw")
        raw_z = compress(raws, dictionary)
        badges_z = compress(badge_texts[i:i + chunk_rows] if badge_texts is not None
                            else _json_texts(part, "badges"), dictionary)
        if tally is not None:
            tally[0] += sum(len(t) for t in raws if t is not None)
            tally[1] += sum(len(b) for b in raw_z if b is not None)
        data = _fast(part, fks, badges_z, raw_z, z)
        yield data if data is not None else _careful(part, fks, badges_z, raw_z, z).encode("utf-8")


class Stream:
    """A file-like reader over byte chunks, for psycopg2's ``copy_expert`` (it calls
    ``read`` until it gets b""): each chunk is built only when the server asks for more."""

    def __init__(self, chunks: Iterable[bytes]):
        self._chunks = iter(chunks)
        self.bytes = 0

    def read(self, size: int = -1) -> bytes:
        chunk = next(self._chunks, b"")
        self.bytes += len(chunk)
        return chunk

    def readline(self, size: int = -1) -> bytes:
        return self.read(size)
