"""Text matching as DuckDB does it, without DuckDB: its lower() and a byte substring test
(the keyword questions' ``has_text`` is ``strpos(lower(message), lower(needle)) > 0``; a
needle no lower() changes is matched with ``contains``). For text_slices.py.

``lower`` is Arrow's utf8_lower but for the few code points the two Unicode versions
disagree on (letters newer than DuckDB's tables, which DuckDB leaves as they are:
``_duck_only``, asked of DuckDB once per process). Both lower a code point to one code
point, with no context (no final sigma), as a test checks over every code point.
"""
from __future__ import annotations

import functools

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc


def contains(values: pa.ChunkedArray, needle: str) -> np.ndarray:
    """Which of `values` hold `needle` (a null holds nothing), a byte substring test as
    DuckDB's strpos and contains are: bytes.find over each chunk's UTF-8 bytes while the
    needle is rare there (one step per occurrence, the lines found with one searchsorted),
    Arrow's match_substring (a step per line) when it is common."""
    word = needle.encode("utf-8")
    out = []
    for chunk in values.chunks:
        _, offsets, data = chunk.buffers()
        ends = np.frombuffer(offsets, np.int32, len(chunk) + 1, chunk.offset * 4).astype(np.int64)
        blob = memoryview(data)[ends[0]:ends[-1]].tobytes() if data is not None else b""
        ends -= ends[0]
        count = blob.count(word)
        if count * 8 > len(chunk):
            out.append(pc.fill_null(pc.match_substring(chunk, needle), False).to_numpy(zero_copy_only=False))
            continue
        found, at = [], blob.find(word)
        while at >= 0:  # non-overlapping occurrences, as count() counted them
            found.append(at)
            at = blob.find(word, at + len(word))
        hit = np.zeros(len(chunk), bool)
        if found:
            at = np.array(found, np.int64)
            row = np.searchsorted(ends, at, "right") - 1
            inside = at + len(word) <= ends[row + 1]
            hit[row[inside]] = True
            # an occurrence running over a line's end hides none in its own line, but may
            # hide one that starts in the next line before it ends: look there again
            for r in row[~inside] + 1:
                if r < len(chunk) and word in blob[ends[r]:ends[r + 1]]:
                    hit[r] = True
        out.append(hit)
    return np.concatenate(out) if out else np.zeros(0, bool)


def lower(values: pa.ChunkedArray) -> pa.ChunkedArray:
    """`values` as DuckDB's lower() gives them (nulls stay null): Arrow's, the few lines
    holding a code point the two disagree on lowered again one by one."""
    low = pc.utf8_lower(values)
    odd = _duck_only()
    if not odd or not len(values):
        return low
    mask = pc.fill_null(pc.match_substring_regex(values, "[" + "".join(sorted(odd)) + "]"), False)
    if not pc.any(mask).as_py():
        return low
    fixed = pa.array([lower_text(v) for v in values.filter(mask).to_pylist()], pa.string())
    return pa.chunked_array([pc.replace_with_mask(low.combine_chunks(), mask.combine_chunks(), fixed)])


def lower_text(text: str) -> str:
    """One text as DuckDB's lower() gives it (both lower a code point to one code point)."""
    low = pc.utf8_lower(pa.scalar(text)).as_py()
    odd = _duck_only()
    if not any(c in odd for c in text):
        return low
    return "".join(c if c in odd else d for c, d in zip(text, low, strict=True))


_CASED_BELOW = 0x20000


@functools.cache
def _duck_only() -> frozenset[str]:
    """The code points whose lowercase DuckDB's lower() and Arrow's utf8_lower disagree on
    (letters newer than DuckDB's Unicode tables, which it leaves as they are): every code
    point below U+20000 either changes, compared once per process (~0.05 s). Above it lie
    ideographs and private use only: no letter there has a case."""
    points = np.concatenate([np.arange(0, 0xD800), np.arange(0xE000, _CASED_BELOW)]).astype(np.uint32)
    width = np.where(points < 0x80, 1, np.where(points < 0x800, 2, np.where(points < 0x10000, 3, 4)))
    offsets = np.concatenate([[0], np.cumsum(width)]).astype(np.int32)
    data = points.tobytes().decode("utf-32-le").encode("utf-8")
    every = pa.StringArray.from_buffers(len(points), pa.py_buffer(offsets.tobytes()), pa.py_buffer(data))
    arrow_low = pc.utf8_lower(every)
    changed = pc.indices_nonzero(pc.not_equal(every, arrow_low)).to_numpy()
    arrow = {chr(points[i]): arrow_low[int(i)].as_py() for i in changed}
    con = duckdb.connect(":memory:")
    try:
        duck = dict(con.execute("""SELECT chr(i::INTEGER), lower(chr(i::INTEGER)) FROM range(1, ?) t(i)
                                   WHERE (i < 55296 OR i > 57343) AND lower(chr(i::INTEGER)) <> chr(i::INTEGER)""",
                                [_CASED_BELOW]).fetchall())
    finally:
        con.close()
    return frozenset(c for c in set(arrow) | set(duck) if arrow.get(c, c) != duck.get(c, c))
