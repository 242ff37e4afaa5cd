"""A channel's lines of the chat's day files, with their text, read without SQL: what the
keyword questions (warehouse/read/queries/search.py) answer from for one or a few channels.

Why: a channel's week is one 16,384-line row group per day file; DuckDB decodes the
message column of each and spends 2-12 ms planning the query, where PostgreSQL reads the
channel's few hundred lines from its (channel, chat_time) index in 1-2 ms. Here the row
groups that may hold a channel are found by their channel_id statistics (footers read once
per file version), only the columns the questions read are decoded (pyarrow), and the
channel's lines of a file version are kept in memory (SLICE_BYTES in all, least recently
used dropped first): a file is never changed in place, a sync writes a new one (a new
version: size, mtime, inode), so a kept slice is the file's as long as it is there.

Exactness, for the callers: ``chat``'s rows of a channel are exactly the file's rows of
that channel whose user_id IS DISTINCT FROM 'SYSTEM_MESSAGE' (chat_rows), of the days the
views read (a file whose footer does not read is left out, as the views leave it out).
``may_answer`` says when that holds: the warehouse may accelerate (``accelerate=False``
always scans), no live day in the range. A type filter is applied here as the view applies
it. A file that fails to read raises ``Unreadable``: the caller scans (which finds and
reports the damage).

Matching: ``lower`` is DuckDB's lower() (the keyword questions' has_text is
``strpos(lower(message), lower(needle)) > 0``): Arrow's utf8_lower, but for the few code
points the two Unicode versions disagree on (letters newer than DuckDB's tables), which
DuckDB leaves as they are (``_duck_only``, asked of DuckDB once per process).
"""
from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from warehouse.lake import health
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read.queries.params import SYSTEM_USER, filter_params
from warehouse.read.warehouse import Warehouse

log = logging.getLogger(__name__)
# the columns kept of a channel's lines (what keyword_search and keyword_trend read)
COLUMNS = ("id", "channel_id", "channel_name", "user_id", "nickname", "message", "message_type", "chat_time")
SLICE_BYTES = 256 << 20  # memory the kept slices may take together (the biggest channel's week: ~40 MB)
_FOOTERS_MAX = 10_000


class Unreadable(Exception):
    """A day file's pages did not read: the caller answers by the scan."""


@dataclass
class Slice:
    """One channel's lines of one day file (COLUMNS, file order: chat_time, id), the system
    lines left out; ``lowered()``: the messages through DuckDB's lower(), made when first asked."""
    rows: pa.Table
    _low: pa.ChunkedArray | None = field(default=None, repr=False)

    def lowered(self) -> pa.ChunkedArray:
        if self._low is None:
            self._low = lower(self.rows.column("message"))
        return self._low

    @property
    def nbytes(self) -> int:
        return self.rows.nbytes * 2  # the lowered messages, when made, about as much again


_LOCK = threading.Lock()
_SLICES: OrderedDict[tuple, Slice] = OrderedDict()
_HELD = [0]
_FOOTERS: dict[tuple, pq.FileMetaData] = {}


def may_answer(wh: Warehouse, channels: list[str] | None, start: date | None, end: date | None) -> bool:
    """True when the channels' slices give exactly ``chat``'s rows of them in [start, end]:
    a warehouse that may accelerate, a list of channels (the whole lake is the scan's), and
    no day of the live overlay in the range (its rows are PostgreSQL's, not the files')."""
    if not wh.accelerate or channels is None:
        return False
    d0, d1, _, _ = filter_params(channels, start, end)
    return not any(d0 <= d <= d1 for d in wh.overlay_days())


def day_files(wh: Warehouse, start: date | None, end: date | None) -> list[tuple[date, str, tuple]]:
    """(day, path, file version) of the chat's readable day files in [start, end], in day order."""
    lake = Lake(wh.root)
    d0, d1, _, _ = filter_params(None, start, end)
    out = []
    for day, (path, key) in sorted(health.day_files(lake, CHAT).items()):
        if d0 <= day <= d1 and not health.unreadable(lake, path):
            out.append((day, path, key))
    return out


def slices(wh: Warehouse, path: str, key: tuple, channels: list[str]) -> list[Slice]:
    """The slices of `channels` (distinct, sorted: the file's order) in one day file, the
    warehouse's type filter applied; a channel without lines there gives none."""
    wanted = sorted(set(channels))
    got: dict[str, Slice] = {}
    with _LOCK:
        for ch in wanted:
            hit = _SLICES.get((path, key, ch))
            if hit is not None:
                _SLICES.move_to_end((path, key, ch))
                got[ch] = hit
    missing = [ch for ch in wanted if ch not in got]
    if missing:
        got.update(_read(Lake(wh.root), path, key, missing))
    out = [got[ch] for ch in wanted if got[ch].rows.num_rows]
    if wh.types is not None:
        out = [Slice(s.rows.filter(pc.is_in(s.rows.column("message_type"), pa.array(wh.types, pa.string()))))
               for s in out]
        out = [s for s in out if s.rows.num_rows]
    return out


def _read(lake: Lake, path: str, key: tuple, channels: list[str]) -> dict[str, Slice]:
    """Read `channels`' lines of the file (only the row groups whose statistics may hold
    them) and keep them."""
    try:
        meta = _footer(lake, path, key)
        names = meta.schema.to_arrow_schema().names
        if any(c not in names for c in COLUMNS):
            raise Unreadable(f"{path}: a column of {COLUMNS} is missing")
        col = names.index("channel_id")
        groups = [g for g in range(meta.num_row_groups) if _may_hold(meta.row_group(g), col, channels)]
        with lake.fs.open_input_file(path) as f:
            table = pq.ParquetFile(f, metadata=meta).read_row_groups(groups, columns=list(COLUMNS),
                                                                     use_threads=False)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise Unreadable(f"{path}: {exc}") from exc
    table = table.cast(pa.schema([_TYPES[c] for c in COLUMNS]))
    user = table.column("user_id")
    keep = pc.or_kleene(pc.is_null(user), pc.not_equal(user, SYSTEM_USER))  # IS DISTINCT FROM
    ids = table.column("channel_id")
    out = {}
    for ch in channels:
        rows = table.filter(pc.and_(pc.fill_null(pc.equal(ids, ch), False), pc.fill_null(keep, True)))
        out[ch] = Slice(rows.combine_chunks())
    with _LOCK:
        for ch, s in out.items():
            if (path, key, ch) not in _SLICES:
                _SLICES[(path, key, ch)] = s
                _HELD[0] += s.nbytes
        while _HELD[0] > SLICE_BYTES and len(_SLICES) > 1:
            _, old = _SLICES.popitem(last=False)
            _HELD[0] -= old.nbytes
    return out


_TYPES = {f.name: f for f in CHAT.schema}


def empty() -> pa.Table:
    """No lines, with a slice's columns."""
    return pa.schema([_TYPES[c] for c in COLUMNS]).empty_table()


def _footer(lake: Lake, path: str, key: tuple) -> pq.FileMetaData:
    meta = _FOOTERS.get((path, key))
    if meta is None:
        with lake.fs.open_input_file(path) as f:
            meta = pq.read_metadata(f)
        if len(_FOOTERS) >= _FOOTERS_MAX:
            _FOOTERS.clear()
        _FOOTERS[(path, key)] = meta
    return meta


def _may_hold(group: pq.RowGroupMetaData, column: int, values: list[str]) -> bool:
    """False when the row group's channel_id statistics show none of `values` is there."""
    stats = group.column(column).statistics
    if stats is None or not stats.has_min_max:
        return True
    try:
        return any(stats.min <= v <= stats.max for v in values)
    except TypeError:
        return True


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


# ---- DuckDB's lower() -------------------------------------------------------------------

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


# ---- buckets as DuckDB's date_trunc(every, chat_time) in a zone -------------------------

_DAY_US = 86_400_000_000
_STEP_US = {"minute": 60_000_000, "hour": 3_600_000_000, "day": _DAY_US}


def buckets(times_us: np.ndarray, every: str, tz: str) -> np.ndarray | None:
    """date_trunc(every, t) of UTC microseconds in zone `tz`, as UTC microseconds; None
    when the zone's offset is not one over the times and the buckets' starts (a DST
    change, a zone's new offset): the caller then asks DuckDB."""
    if not len(times_us):
        return times_us.astype(np.int64)
    lo = datetime.fromtimestamp(int(times_us.min()) / 1e6, UTC) - timedelta(days=32)
    hi = datetime.fromtimestamp(int(times_us.max()) / 1e6, UTC) + timedelta(days=1)
    offset = _fixed_offset(tz, lo.date(), hi.date())
    if offset is None:
        return None
    local = times_us + offset
    if every == "month":
        start = local.astype("datetime64[us]").astype("datetime64[M]").astype("datetime64[us]").astype(np.int64)
    elif every == "week":  # ISO weeks start on Monday; day 0 (1970-01-01) was a Thursday
        start = (local // _DAY_US - (local // _DAY_US + 3) % 7) * _DAY_US
    else:
        start = local // _STEP_US[every] * _STEP_US[every]
    return start - offset


@functools.lru_cache(maxsize=256)
def _fixed_offset(tz: str, first: date, last: date) -> int | None:
    """The zone's UTC offset (µs) when it is the same at every day's 00:00 UTC of
    [first, last] (so at every instant between: an offset lasts months), else None."""
    zone = ZoneInfo(tz)
    seen = set()
    day = first
    while day <= last:
        seen.add(datetime(day.year, day.month, day.day, tzinfo=UTC).astimezone(zone).utcoffset())
        if len(seen) > 1:
            return None
        day += timedelta(days=1)
    return int(next(iter(seen)).total_seconds() * 1_000_000)
