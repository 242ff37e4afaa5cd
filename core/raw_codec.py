"""Compact JSON payloads (issue 17): the bulky JSON of a chat row (``raw``, the item as
received, and ``badges``) kept in PostgreSQL as zstd frames compressed with a dictionary
trained on the deployment's own lines. A 1,050-byte raw item becomes ~200 bytes, in ~4 µs
to compress and ~2 µs to read back; PostgreSQL's own compression cannot do this for rows
under 2 KB (it only compresses a row longer than TOAST_TUPLE_THRESHOLD, whatever
``toast_tuple_target`` says, and the embedded build has no lz4).

Pure: text and bytes in, text and bytes out. The dictionaries come from the caller (stored
in the ``raw_dictionary`` table, migration 011, loaded by id): a row names the dictionary
its frames were compressed with (``stream_chat.zdict``; NULL = none). Frames carry their
content size (so a reader can size its buffers) but no checksum and no dictionary id (the
row has it)."""
from __future__ import annotations

import functools
import threading
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

import pyarrow as pa
import zstandard

LEVEL = 1                  # measured (issue 17, with the dictionary): 2.2-2.6 µs a raw item, 3 takes 3.1-3.4 for 3-5 % less; 6 saves 2 % more for 4x the time
PLAIN_LEVEL = 3            # without a dictionary (a deployment's first lines): level 1 costs 2-9 % more there
DICT_BYTES = 64 * 1024     # dictionary size; 16–112 KiB measured within 3 % of each other
MAX_OUTPUT = 64 * 1024 * 1024  # a frame claiming more than this is refused (corrupt or hostile)


class CodecError(ValueError):
    """A payload that cannot be read back: corrupt bytes or a dictionary that is not loaded."""


@dataclass(frozen=True)
class Dictionary:
    """A trained zstd dictionary and the id rows name it by."""
    id: int
    data: bytes = field(repr=False)

    # zstd's compressor and decompressor objects must not be used by two threads at once (a
    # crash, not an error): each thread gets its own, all sharing the one digested dictionary.
    @functools.cached_property
    def _zdict(self) -> zstandard.ZstdCompressionDict:
        with _DIGEST_LOCK:
            zdict = zstandard.ZstdCompressionDict(self.data)
            zdict.precompute_compress(level=LEVEL)
            return zdict

    @functools.cached_property
    def _local(self) -> threading.local:
        return threading.local()

    @property
    def compressor(self) -> zstandard.ZstdCompressor:
        local = self._local
        c = getattr(local, "c", None)
        if c is None:
            c = local.c = zstandard.ZstdCompressor(level=LEVEL, dict_data=self._zdict, write_checksum=False,
                                                   write_dict_id=False, write_content_size=True)
        return c

    @property
    def decompressor(self) -> zstandard.ZstdDecompressor:
        local = self._local
        d = getattr(local, "d", None)
        if d is None:
            d = local.d = zstandard.ZstdDecompressor(dict_data=self._zdict)
        return d


_DIGEST_LOCK = threading.Lock()
_PLAIN = threading.local()


def _compressor(dictionary: Dictionary | None) -> zstandard.ZstdCompressor:
    if dictionary is not None:
        return dictionary.compressor
    c = getattr(_PLAIN, "c", None)
    if c is None:
        c = _PLAIN.c = zstandard.ZstdCompressor(level=PLAIN_LEVEL, write_checksum=False, write_content_size=True)
    return c


def _decompressor(dictionary: Dictionary | None) -> zstandard.ZstdDecompressor:
    if dictionary is not None:
        return dictionary.decompressor
    d = getattr(_PLAIN, "d", None)
    if d is None:
        d = _PLAIN.d = zstandard.ZstdDecompressor()
    return d


def _utf8(text: str | bytes) -> bytes:
    data = text if isinstance(text, bytes) else text.encode("utf-8")
    if len(data) > MAX_OUTPUT:
        raise CodecError(f"payload of {len(data):,} bytes is over the {MAX_OUTPUT:,} a frame may hold")
    return data


def compress(text: str | bytes | None, dictionary: Dictionary | None = None) -> bytes | None:
    """The zstd frame of `text` (str, or bytes already UTF-8), None for None. CodecError for
    text that cannot be read back: lone surrogates (clean them first:
    collector.items.clean_text) or more than MAX_OUTPUT bytes."""
    if text is None:
        return None
    try:
        return _compressor(dictionary).compress(_utf8(text))
    except UnicodeEncodeError as exc:
        raise CodecError(f"text is not valid UTF-8 ({exc.reason} at {exc.start}); clean it first") from None


def compress_many(texts: Iterable[str | bytes | None], dictionary: Dictionary | None = None) -> list[bytes | None]:
    """`compress` over many texts with one compressor (the same frames; many bytes values
    are compressed in one C call: measured 2.3 instead of 3.0 µs a raw item)."""
    texts = texts if isinstance(texts, list) else list(texts)
    given = list(filter(None, texts)) if None in texts else texts
    if (len(given) >= 16 and len(given) + texts.count(None) == len(texts) and set(map(type, given)) == {bytes}
            and max(map(len, given)) <= MAX_OUTPUT):
        frames = list(map(bytes, _compressor(dictionary).multi_compress_to_buffer(given, threads=1)))
        if given is texts:
            return frames
        it = iter(frames)
        return [None if t is None else next(it) for t in texts]
    c = _compressor(dictionary).compress
    try:
        return [None if t is None else c(t if t.__class__ is bytes and len(t) <= MAX_OUTPUT else _utf8(t))
                for t in texts]
    except UnicodeEncodeError as exc:
        raise CodecError(f"text is not valid UTF-8 ({exc.reason} at {exc.start}); clean it first") from None


def _claimed_size(blob: bytes) -> None:
    """Refuse a frame whose header claims more than MAX_OUTPUT (zstd would allocate it:
    max_output_size only applies to frames without a content size)."""
    size = zstandard.frame_content_size(blob)
    if size > MAX_OUTPUT:
        raise zstandard.ZstdError(f"frame claims {size:,} bytes, over the {MAX_OUTPUT:,} accepted")


def decompress(blob: bytes | memoryview | None, dictionary: Dictionary | None = None) -> str | None:
    """The text of one frame; CodecError when it does not read back."""
    if blob is None:
        return None
    try:
        blob = bytes(blob)
        _claimed_size(blob)
        return _decompressor(dictionary).decompress(blob, max_output_size=MAX_OUTPUT).decode("utf-8")
    except (zstandard.ZstdError, UnicodeDecodeError) as exc:
        raise CodecError(f"compressed payload does not read back ({len(blob)} bytes, "
                         f"dictionary {dictionary.id if dictionary else 'none'}): {exc}") from None


def lookup(dictionaries: Mapping[int, Dictionary], dict_id: int | None) -> Dictionary | None:
    """The dictionary a row names (None: none); CodecError when it is not loaded."""
    if dict_id is None:
        return None
    try:
        return dictionaries[dict_id]
    except KeyError:
        raise CodecError(f"compressed payload names dictionary {dict_id}, which is not in raw_dictionary"
                         f" (known: {sorted(dictionaries) or 'none'})") from None


def decompress_array(blobs: pa.Array | pa.ChunkedArray, dict_ids: pa.Array | pa.ChunkedArray | None,
                     dictionaries: Mapping[int, Dictionary]) -> pa.Array:
    """A string array of the frames in `blobs` (binary; nulls stay null), each read with the
    dictionary its row names in `dict_ids` (int; null = none)."""
    frames = blobs.to_pylist()
    ids = dict_ids.to_pylist() if dict_ids is not None else [None] * len(frames)
    out: list[bytes | None] = []
    cache: dict[int | None, object] = {}
    for blob, dict_id in zip(frames, ids, strict=True):
        if blob is None:
            out.append(None)
            continue
        dec = cache.get(dict_id)
        if dec is None:
            dec = cache[dict_id] = _decompressor(lookup(dictionaries, dict_id)).decompress
        try:
            _claimed_size(blob)
            out.append(dec(blob, max_output_size=MAX_OUTPUT))
        except zstandard.ZstdError as exc:
            raise CodecError(f"compressed payload does not read back ({len(blob)} bytes,"
                             f" dictionary {dict_id if dict_id is not None else 'none'}): {exc}") from None
    try:
        return pa.array(out, type=pa.binary()).cast(pa.string())
    except pa.ArrowInvalid as exc:
        raise CodecError(f"compressed payload is not UTF-8 text: {exc}") from None


def load_dictionaries(conn) -> dict[int, Dictionary]:
    """Every dictionary in ``raw_dictionary`` by id, read through `conn` (a DB-API connection)
    in the caller's transaction: in the sync's snapshot the rows it reads can only name
    dictionaries committed before them. The one place that reads them, for the sink and every
    reader alike."""
    with conn.cursor() as cur:
        cur.execute("SELECT id, dict FROM raw_dictionary ORDER BY id")
        return {dict_id: Dictionary(dict_id, bytes(data)) for dict_id, data in cur.fetchall()}


def train(samples: Sequence[bytes], size: int = DICT_BYTES) -> bytes:
    """A dictionary trained on `samples` (raw items as UTF-8 JSON; a few thousand or more;
    5,000 take ~0.25 s). Fewer samples get a smaller dictionary (zstd wants ~10x its size
    in samples); CodecError when zstd cannot train on them (too few or too alike)."""
    total = sum(map(len, samples))
    size = max(4096, min(size, total // 10))
    try:
        return zstandard.train_dictionary(size, list(samples)).as_bytes()
    except zstandard.ZstdError as exc:
        raise CodecError(f"cannot train a dictionary on {len(samples)} samples ({total:,} bytes): {exc}") from None
