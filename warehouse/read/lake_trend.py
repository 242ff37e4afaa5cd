"""keyword_trend of every channel without SQL: each day file's messages read as the file's
own dictionaries (each row group holds about half as many distinct messages as lines) and
matched once per distinct message, on two threads; the lines' (channel, bucket) groups
kept per file version, so a question after the first reads the message column alone.

Why: DuckDB's scan of the whole lake decodes every message to a string, lowers it and
groups 10M lines by channel and date_trunc (1.6 s at 10M lines, PostgreSQL 4 s); here a
distinct message is matched once and a line's group is found by its position.

Exactness (the equivalence test compares with the scan): the lines counted are ``chat``'s,
every channel's: a file's lines whose user_id IS DISTINCT FROM 'SYSTEM_MESSAGE', of the
day files text_slices.day_files lists (those whose footers read, as the views read them).
Used only when text_slices.may_answer would be for the lake (the warehouse accelerates, no
type filter, no live day in the range). A file is sorted by channel_id, then chat_time (the
sync's order): a group of lines (channel, date_trunc(every, chat_time)) is then a run of
positions, its start kept (``_Groups``). A file not in that order, a line without a channel
or a time, or a zone whose offset changes (text_slices.buckets): None, and the caller
scans. Matching is text_match's (DuckDB's lower(), a byte substring test).
"""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from warehouse.lake import health
from warehouse.lake.layout import Lake
from warehouse.read import text_match, text_slices
from warehouse.read.queries.params import SYSTEM_USER, filter_params
from warehouse.read.warehouse import Warehouse

log = logging.getLogger(__name__)
THREADS = 2  # day files read at once (pyarrow and numpy let go of the GIL)
KEEP_GROUPS = 4_000_000  # groups kept in all (positions and counts, ~24 bytes each), least recently used dropped


class Unordered(Exception):
    """A day file is not in (channel_id, chat_time) order, or a line has no channel or time."""


@dataclass
class _Groups:
    """A day file's lines as groups (channel, bucket) of consecutive positions: where each
    starts, its channel (an index into ``channels``), bucket (UTC µs) and line count, and
    the positions of the system lines (left out of every count)."""
    starts: np.ndarray
    channel: np.ndarray
    bucket: np.ndarray
    lines: np.ndarray
    channels: list[str]
    system: np.ndarray


_LOCK = threading.Lock()
_GROUPS: OrderedDict[tuple, _Groups] = OrderedDict()
_HELD = [0]


def may_answer(wh: Warehouse, start: date | None, end: date | None) -> bool:
    """True when the day files give exactly ``chat``'s lines of every channel in [start,
    end]: a warehouse that may accelerate, no type filter, no live day in the range."""
    if not wh.accelerate or wh.types is not None:
        return False
    d0, d1, _, _ = filter_params(None, start, end)
    return not any(d0 <= d <= d1 for d in wh.overlay_days())


def trend(wh: Warehouse, files: list[tuple[date, str, tuple]], needle: str, lowered: bool,
          every: str) -> pl.DataFrame | None:
    """keyword_trend's frame for every channel of `files` ([channel_id, bucket, matches,
    share] by channel and bucket): `needle` matched in the messages (``lowered``: through
    DuckDB's lower()); None when a file cannot be answered here (the caller scans). A
    file that does not read raises text_slices.Unreadable."""
    t0 = time.monotonic()
    lake = wh.lake
    try:
        if len(files) > 1:
            with ThreadPoolExecutor(min(THREADS, len(files))) as pool:
                parts = list(pool.map(lambda f: _file(lake, f[1], f[2], needle, lowered, every, wh.tz), files))
        else:
            parts = [_file(lake, f[1], f[2], needle, lowered, every, wh.tz) for f in files]
    except Unordered as exc:
        log.info("keyword trend of the lake scanned: %s", exc)
        return None
    except (OSError, ValueError, KeyError, pa.ArrowException) as exc:
        raise text_slices.Unreadable(str(exc)) from exc
    names = sorted({ch for g, _ in parts for ch in g.channels})
    at = {ch: i for i, ch in enumerate(names)}
    channel = np.concatenate([np.array([at[c] for c in g.channels], np.int64)[g.channel] for g, _ in parts]
                             ) if parts else np.zeros(0, np.int64)
    bucket = np.concatenate([g.bucket for g, _ in parts]) if parts else np.zeros(0, np.int64)
    lines = np.concatenate([g.lines for g, _ in parts]) if parts else np.zeros(0, np.int64)
    hits = np.concatenate([m for _, m in parts]) if parts else np.zeros(0, np.int64)
    keep = lines > 0  # a group of system lines only is no bucket of ``chat``
    channel, bucket, lines, hits = channel[keep], bucket[keep], lines[keep], hits[keep]
    order = np.lexsort((bucket, channel))  # a bucket may span day files
    channel, bucket, lines, hits = channel[order], bucket[order], lines[order], hits[order]
    first = np.flatnonzero(np.r_[True, (channel[1:] != channel[:-1]) | (bucket[1:] != bucket[:-1])]) \
        if len(order) else np.zeros(0, np.int64)
    total = np.add.reduceat(lines, first) if len(first) else lines[:0]
    count = np.add.reduceat(hits, first) if len(first) else hits[:0]
    log.info("keyword trend of the lake: %d files, %d buckets in %.3fs", len(files), len(first),
             time.monotonic() - t0)
    start = pl.Series("bucket", bucket[first], dtype=pl.Int64)
    return pl.DataFrame([
        pl.Series("channel_id", np.array(names, dtype=object)[channel[first]] if len(first) else [], dtype=pl.String),
        start.cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(wh.tz),
        pl.Series("matches", count, dtype=pl.Int64),
        pl.Series("share", count / np.maximum(total, 1) if len(total) else [], dtype=pl.Float64)])


def _file(lake: Lake, path: str, key: tuple, needle: str, lowered: bool, every: str,
          tz: str) -> tuple[_Groups, np.ndarray]:
    """(the file's groups, the matching lines of each)."""
    groups = _groups(lake, path, key, every, tz)
    meta = health.footer(lake, path, key)
    with lake.fs.open_input_file(path) as f:
        column = pq.ParquetFile(f, metadata=meta, read_dictionary=["message"]).read(
            columns=["message"], use_threads=False).column(0)
    hit = _matching(column, needle, lowered)
    if len(groups.system):
        hit = hit[~np.isin(hit, groups.system, assume_unique=True)]
    which = np.searchsorted(groups.starts, hit, "right") - 1
    return groups, np.bincount(which, minlength=len(groups.starts)).astype(np.int64)


def _matching(column: pa.ChunkedArray, needle: str, lowered: bool) -> np.ndarray:
    """The positions of the lines whose message holds `needle`, each distinct message of a
    chunk (its dictionary) matched once."""
    out, at = [], 0
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            values = pa.chunked_array([chunk.dictionary])
            same = text_match.contains(text_match.lower(values) if lowered else values, needle)
            codes = pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False)
            hit = np.append(same, False)[codes]  # code -1 (no message) lands on the appended False
        else:
            values = pa.chunked_array([chunk])
            hit = text_match.contains(text_match.lower(values) if lowered else values, needle)
        out.append(np.flatnonzero(hit) + at)
        at += len(chunk)
    return np.concatenate(out) if out else np.zeros(0, np.int64)


def _groups(lake: Lake, path: str, key: tuple, every: str, tz: str) -> _Groups:
    """The file's groups for `every` in zone `tz`, made once per file version."""
    name = (path, key, every, tz)
    with _LOCK:
        got = _GROUPS.get(name)
        if got is not None:
            _GROUPS.move_to_end(name)
            return got
    meta = health.footer(lake, path, key)
    with lake.fs.open_input_file(path) as f:
        table = pq.ParquetFile(f, metadata=meta, read_dictionary=["channel_id", "user_id"]).read(
            columns=["channel_id", "user_id", "chat_time"], use_threads=False)
    channels, channel = _codes(table.column("channel_id"))
    system = np.flatnonzero(_is(table.column("user_id"), SYSTEM_USER))
    times = table.column("chat_time")
    if times.null_count or (channel < 0).any():
        raise Unordered(f"{path}: a line without a channel or a time")
    stamps = times.cast(pa.int64()).to_numpy() if times.num_chunks == 1 else \
        pc.cast(times.combine_chunks(), pa.int64()).to_numpy()
    bucket = text_slices.buckets(stamps, every, tz)
    if bucket is None:
        raise Unordered(f"{path}: the zone's offset changes")
    if len(channel) > 1:
        step = (channel[1:] != channel[:-1])
        if (np.diff(channel) < 0).any() or (~step & (bucket[1:] < bucket[:-1])).any():
            raise Unordered(f"{path}: not in (channel_id, chat_time) order")
        starts = np.flatnonzero(np.r_[True, step | (bucket[1:] != bucket[:-1])])
    else:
        starts = np.zeros(len(channel), np.int64)
    counted = np.ones(len(channel), np.int64)
    counted[system] = 0
    got = _Groups(starts=starts, channel=channel[starts].astype(np.int64), bucket=bucket[starts],
                  lines=np.add.reduceat(counted, starts) if len(starts) else counted[:0],
                  channels=channels, system=system)
    with _LOCK:
        if name not in _GROUPS:
            _GROUPS[name] = got
            _HELD[0] += len(starts)
        while _HELD[0] > KEEP_GROUPS and len(_GROUPS) > 1:
            _, old = _GROUPS.popitem(last=False)
            _HELD[0] -= len(old.starts)
    return got


def _codes(column: pa.ChunkedArray) -> tuple[list[str], np.ndarray]:
    """(the distinct channel ids, sorted; each line's index among them, -1 for NULL) of a
    dictionary column (a dictionary per chunk)."""
    names: set[str] = set()
    for chunk in column.chunks:
        names.update(v for v in chunk.dictionary.to_pylist() if v is not None)
    order = sorted(names)
    at = {ch: i for i, ch in enumerate(order)}
    out = []
    for chunk in column.chunks:
        local = np.array([at.get(v, -1) if v is not None else -1 for v in chunk.dictionary.to_pylist()] + [-1],
                         np.int64)
        out.append(local[pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False)])
    return order, np.concatenate(out) if out else np.zeros(0, np.int64)


def _is(column: pa.ChunkedArray, value: str) -> np.ndarray:
    """column == value per line (NULL: not), a dictionary column by its codes."""
    out = []
    for chunk in column.chunks:
        same = np.append(pc.fill_null(pc.equal(chunk.dictionary, value), False).to_numpy(zero_copy_only=False), False)
        out.append(same[pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False)])
    return np.concatenate(out) if out else np.zeros(0, bool)
