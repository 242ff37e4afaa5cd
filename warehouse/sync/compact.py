"""Compact rows read back: the JSON text columns a table declares ``compact`` (tables.Compact;
the chat's raw and badges, stored since issue 17 as zstd frames with a trained dictionary,
core/raw_codec.py) turned from frames into the text the lake keeps, one record batch at a
time, for the sync, the live overlay and forget-user alike.

A frame that does not read back (damaged bytes, or a dictionary missing from
raw_dictionary) never costs its neighbours: its value becomes a dead letter,
``{"undecodable": {"frame_base64": …, "dictionary": …, "error": …}}`` — valid JSON holding the
stored bytes, so nothing is lost and the lake stays readable — the row's other columns are
kept as stored, and one ERROR line per batch names the rows and what to do."""
from __future__ import annotations

import base64
import json
import logging
import threading
import time
from collections.abc import Mapping

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import zstandard

from core import raw_codec
from core.raw_codec import load_dictionaries  # noqa: F401  (the readers' name for it)
from warehouse.lake.tables import Table

log = logging.getLogger(__name__)
DEAD_LETTER_KEY = "undecodable"
IDS_LOGGED = 10  # row ids named per ERROR line
# The sync's writer threads decode at once: raw_codec gives each thread its own zstd
# contexts (one shared by two threads crashed them).

Dictionaries = Mapping[int, raw_codec.Dictionary]
_spent = threading.local()  # seconds this thread spent in decode(): the sync's phase timing


def decode_seconds() -> float:
    """Seconds the calling thread has spent in decode() so far (the sync reads it before
    and after each partition: decoding happens in the thread that consumes the batches)."""
    return getattr(_spent, "seconds", 0.0)


def dead_letter(frame: bytes, dict_id: int | None, error: str) -> str:
    """The JSON text kept in place of a frame that does not read back."""
    return json.dumps({DEAD_LETTER_KEY: {"frame_base64": base64.b64encode(frame).decode("ascii"),
                                         "dictionary": dict_id, "error": error}}, ensure_ascii=False)


def text(frame: bytes | memoryview | None, dict_id: int | None, dictionaries: Dictionaries) -> str | None:
    """One frame's text (None for None); raw_codec.CodecError when it does not read back."""
    if frame is None:
        return None
    return raw_codec.decompress(frame, raw_codec.lookup(dictionaries, dict_id))


def _one_pass(frames: pa.Array, ids: pa.Array, dictionaries: Dictionaries) -> pa.Array | None:
    """The frames' texts decompressed in one call (zstandard's multi_decompress_to_buffer:
    no Python object per frame; about 3.5x faster than raw_codec.decompress_array on
    realistic rows), when every frame names the same loaded dictionary and claims at most
    raw_codec.MAX_OUTPUT bytes; else None. zstandard.ZstdError or pa.ArrowInvalid (not
    UTF-8) when one does not read back: the caller then goes the careful way."""
    frames = frames.combine_chunks() if isinstance(frames, pa.ChunkedArray) else frames
    ids = ids.combine_chunks() if isinstance(ids, pa.ChunkedArray) else ids
    if not (pa.types.is_binary(frames.type) or pa.types.is_large_binary(frames.type)):
        return None
    valid = frames.is_valid()
    named = pc.unique(ids.filter(valid))
    if len(named) != 1 or not named[0].is_valid or named[0].as_py() not in dictionaries:
        return None  # no dictionary (a deployment's first rows), several, or one missing
    width = np.int32 if pa.types.is_binary(frames.type) else np.int64
    bounds = np.frombuffer(frames.buffers()[1], width)[frames.offset:frames.offset + len(frames) + 1]
    at = np.flatnonzero(valid.to_numpy(zero_copy_only=False))
    starts = bounds[at].astype(np.uint64)
    segments = np.column_stack([starts, bounds[at + 1].astype(np.uint64) - starts])
    data = memoryview(frames.buffers()[2] or b"")
    for start, size in segments.tolist():  # the header's claim, before zstd allocates it
        claimed = zstandard.frame_content_size(data[start:start + size])
        if claimed < 0 or claimed > raw_codec.MAX_OUTPUT:
            return None
    out = dictionaries[named[0].as_py()].decompressor.multi_decompress_to_buffer(
        zstandard.BufferWithSegments(data, np.ascontiguousarray(segments).tobytes()), threads=0)
    pieces = [out[i] for i in range(len(out))]
    lengths = np.zeros(len(frames), np.int64)
    lengths[at] = np.fromiter((len(p) for p in pieces), np.int64, len(pieces))
    offsets = np.zeros(len(frames) + 1, np.int64)
    np.cumsum(lengths, out=offsets[1:])
    mask = valid.buffers()[1] if frames.null_count else None
    texts = pa.Array.from_buffers(pa.large_binary(), len(frames), [mask, pa.py_buffer(offsets),
                                                                    pa.py_buffer(b"".join(pieces))],
                                  null_count=frames.null_count, offset=valid.offset if mask else 0)
    return texts.cast(pa.large_string()).cast(pa.string())


def _texts(frames: pa.Array, ids: pa.Array, dictionaries: Dictionaries) -> tuple[pa.Array, list[tuple[int, str]]]:
    """The frames' texts, and (index, error) of those that do not read back (dead letters)."""
    try:
        texts = _one_pass(frames, ids, dictionaries)
        if texts is not None:
            return texts, []
    except (zstandard.ZstdError, pa.ArrowInvalid):
        pass  # one (or more) bad frames: found below
    try:
        return raw_codec.decompress_array(frames, ids, dictionaries), []
    except raw_codec.CodecError:
        pass  # one (or more) bad frames: row by row, so only they are lost
    out: list[str | None] = []
    bad: list[tuple[int, str]] = []
    for i, (frame, dict_id) in enumerate(zip(frames.to_pylist(), ids.to_pylist(), strict=True)):
        try:
            out.append(text(frame, dict_id, dictionaries))
        except raw_codec.CodecError as exc:
            out.append(dead_letter(frame, dict_id, str(exc)))
            bad.append((i, str(exc)))
    return pa.array(out, pa.string()), bad


def decode(batch: pa.RecordBatch, table: Table, dictionaries: Dictionaries) -> pa.RecordBatch:
    """`batch` (columns of ``table.read_schema``) as ``table.schema``: each compact text
    column takes the frame's text where the row has a frame, its own value elsewhere."""
    spec = table.compact
    if spec is None:
        return batch
    t0 = time.monotonic()
    try:
        return _decode(batch, table, spec, dictionaries)
    finally:
        _spent.seconds = decode_seconds() + time.monotonic() - t0


def _decode(batch: pa.RecordBatch, table: Table, spec, dictionaries: Dictionaries) -> pa.RecordBatch:
    columns = dict(zip(batch.schema.names, batch.columns, strict=True))
    ids = columns[spec.dictionary]
    for name, frame in spec.frames:
        frames = columns[frame]
        if frames.null_count == len(frames):
            continue  # rows stored before compact rows existed: their text is already there
        texts, bad = _texts(frames, ids, dictionaries)
        if bad:
            _report(table, name, batch.column(0), bad)
        columns[name] = pc.coalesce(texts, columns[name])
    return pa.RecordBatch.from_arrays([columns[f.name] for f in table.schema], schema=table.schema)


def _report(table: Table, column: str, keys: pa.Array, bad: list[tuple[int, str]]) -> None:
    shown = [str(keys[i].as_py()) for i, _ in bad[:IDS_LOGGED]]
    log.error("%s: %d row(s) hold a compressed %s that does not read back (%s %s%s; %s): each is kept as"
              " {\"%s\": …} with its stored bytes, its other columns as they are. If the error names a"
              " dictionary missing from raw_dictionary, restore that row from a backup and sync the rows'"
              " days again (python -m warehouse sync --day YYYY-MM-DD); otherwise the bytes are damaged in"
              " PostgreSQL and only the parsed columns remain", table.source, len(bad), column,
              table.schema.names[0], ", ".join(shown), " …" if len(bad) > IDS_LOGGED else "", bad[0][1],
              DEAD_LETTER_KEY)
