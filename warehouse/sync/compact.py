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


def _bulk(frames: pa.Array, ids: pa.Array, dictionaries: Dictionaries) -> pa.Array | None:
    """The frames' texts as one string array built without a Python object per text: the
    frames decompressed by C-level loops (map) and joined into one buffer, the offsets summed
    by numpy, the UTF-8 checked once (docs/BENCHMARKS.md: a per-text builder grew its buffer
    by doubling, copying and page-faulting the ~5x larger text). None when the batch needs
    the general path: frames of several dictionaries or of none, a frame whose header claims
    more than raw_codec.MAX_OUTPUT or no size, bytes that do not read back or are not UTF-8."""
    valid = frames.is_valid()
    some_null = frames.null_count > 0
    present = frames.filter(valid) if some_null else frames
    used = pc.unique(ids.filter(valid) if some_null else ids)
    if not len(present) or len(used) != 1 or not used[0].is_valid or used[0].as_py() not in dictionaries:
        return None
    blobs = present.to_pylist()
    claimed = list(map(zstandard.frame_content_size, blobs))
    if min(claimed) < 0 or max(claimed) > raw_codec.MAX_OUTPUT:
        return None
    try:
        texts = list(map(dictionaries[used[0].as_py()].decompressor.decompress, blobs))
    except zstandard.ZstdError:
        return None
    data = b"".join(texts)
    # each text's length is its header's claim: zstd checks a frame's output against its
    # content size, and none can be longer (its buffer is the claimed size), so equal sums
    # mean equal lengths
    lengths = np.array(claimed, np.int64)
    if len(data) >= 1 << 31 or len(data) != int(lengths.sum()):  # int32 offsets
        return None
    if some_null:
        full = np.zeros(len(frames), np.int64)
        full[np.flatnonzero(valid.to_numpy(zero_copy_only=False))] = lengths
        lengths = full
    offsets = np.zeros(len(frames) + 1, np.int32)
    np.cumsum(lengths, out=offsets[1:])
    bitmap = valid.buffers()[1] if some_null and valid.offset == 0 else None
    if some_null and bitmap is None:
        bitmap = pa.array(valid.to_numpy(zero_copy_only=False)).buffers()[1]
    out = pa.Array.from_buffers(pa.string(), len(frames), [bitmap, pa.py_buffer(offsets), pa.py_buffer(data)],
                                null_count=frames.null_count)
    try:
        out.validate(full=True)  # UTF-8
    except pa.ArrowInvalid:
        return None
    return out


def _texts(frames: pa.Array, ids: pa.Array, dictionaries: Dictionaries) -> tuple[pa.Array, list[tuple[int, str]]]:
    """The frames' texts, and (index, error) of those that do not read back (dead letters)."""
    if isinstance(frames, pa.ChunkedArray):
        frames, ids = frames.combine_chunks(), ids.combine_chunks()
    fast = _bulk(frames, ids, dictionaries)
    if fast is not None:
        return fast, []
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
        stored = columns[name]  # the text of rows stored before compact rows (all NULL once every row is)
        columns[name] = texts if stored.null_count == len(stored) else pc.coalesce(texts, stored)
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
