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

Matching is text_match.py's (DuckDB's lower() and a byte substring test).
"""
from __future__ import annotations

import functools
import logging
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from warehouse.lake import health
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read import text_match
from warehouse.read.queries.params import SYSTEM_USER, filter_params
from warehouse.read.warehouse import Warehouse

log = logging.getLogger(__name__)
# the columns kept of a channel's lines (what keyword_search and keyword_trend read)
COLUMNS = ("id", "channel_id", "channel_name", "user_id", "nickname", "message", "message_type", "chat_time")
SLICE_BYTES = 256 << 20  # memory the kept slices may take together (the biggest channel's week: ~40 MB)


class Unreadable(Exception):
    """A day file's pages did not read: the caller answers by the scan."""


@dataclass
class Slice:
    """One channel's lines of one day file (COLUMNS, file order: chat_time, id) and which
    of them ``chat`` holds (``lines``: user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'; taking
    the system lines out would copy every column again); ``lowered()``: the messages
    through DuckDB's lower(), made when first asked."""
    rows: pa.Table
    lines: np.ndarray
    _low: pa.ChunkedArray | None = field(default=None, repr=False)

    def lowered(self) -> pa.ChunkedArray:
        if self._low is None:
            self._low = text_match.lower(self.rows.column("message"))
        return self._low

    @property
    def nbytes(self) -> int:
        return self.rows.nbytes * 2  # the lowered messages, when made, about as much again


_LOCK = threading.Lock()
_SLICES: OrderedDict[tuple, Slice] = OrderedDict()
_HELD = [0]


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
    lake = wh.lake
    d0, d1, _, _ = filter_params(None, start, end)
    out = []
    for day, (path, key) in health.day_files(lake, CHAT, d0, d1).items():
        if not health.unreadable(lake, path):
            out.append((day, path, key))
    return out


def slices(wh: Warehouse, path: str, key: tuple, channels: list[str]) -> list[tuple[Slice, np.ndarray]]:
    """(slice, which of its lines ``chat`` holds: the system lines out, the warehouse's type
    filter applied) of `channels` (distinct, sorted: the file's order) in one day file; a
    channel without such lines there gives none."""
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
    out = []
    for ch in wanted:
        s = got[ch]
        keep = s.lines
        if wh.types is not None:
            kinds = pc.is_in(s.rows.column("message_type"), pa.array(wh.types, pa.string()))
            keep = keep & pc.fill_null(kinds, False).to_numpy(zero_copy_only=False)
        if keep.any():
            out.append((s, keep))
    return out


def _read(lake: Lake, path: str, key: tuple, channels: list[str]) -> dict[str, Slice]:
    """Read `channels`' lines of the file (only the row groups whose statistics may hold
    them) and keep them."""
    try:
        meta = health.footer(lake, path, key)
        names = meta.schema.to_arrow_schema().names
        if any(c not in names for c in COLUMNS):
            raise Unreadable(f"{path}: a column of {COLUMNS} is missing")
        col = names.index("channel_id")
        groups = [g for g in range(meta.num_row_groups) if health.may_hold(meta.row_group(g), col, channels)]
        with lake.fs.open_input_file(path) as f:
            table = pq.ParquetFile(f, metadata=meta, read_dictionary=_BY_DICTIONARY).read_row_groups(
                groups, columns=list(COLUMNS), use_threads=False)
        system = _equal(table.column("user_id"), SYSTEM_USER)  # user_id IS DISTINCT FROM it: kept
        out = {}
        for ch in channels:
            mine = _equal(table.column("channel_id"), ch)
            at = np.flatnonzero(mine)
            lo, hi = (int(at[0]), int(at[-1]) + 1) if len(at) else (0, 0)
            if hi - lo == len(at):  # together, as the sync sorts a day: a slice of the table
                rows, lines = table.slice(lo, hi - lo), ~system[lo:hi]
            else:
                rows, lines = table.filter(pa.array(mine)), ~system[mine]
            out[ch] = Slice(rows.cast(pa.schema([_TYPES[c] for c in COLUMNS])).combine_chunks(), lines)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise Unreadable(f"{path}: {exc}") from exc
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
# read as dictionaries (the file's own encoding; a row group holds a few channels and the
# system user once): the lines are picked by comparing dictionary codes, not every string,
# and only the kept lines' strings are made
_BY_DICTIONARY = ["channel_id", "user_id"]


def _equal(column: pa.ChunkedArray, value: str) -> np.ndarray:
    """column == value per line (a null is not equal), dictionary chunks by their codes."""
    out = []
    for chunk in column.chunks:
        if pa.types.is_dictionary(chunk.type):
            same = np.append(pc.fill_null(pc.equal(chunk.dictionary, value), False).to_numpy(zero_copy_only=False),
                             False)  # code -1 (a null line) lands on the appended False
            codes = pc.fill_null(chunk.indices, -1).to_numpy(zero_copy_only=False)
            out.append(same[codes])
        else:
            out.append(pc.fill_null(pc.equal(chunk, value), False).to_numpy(zero_copy_only=False))
    return np.concatenate(out) if out else np.zeros(0, bool)


def empty() -> pa.Table:
    """No lines, with a slice's columns."""
    return pa.schema([_TYPES[c] for c in COLUMNS]).empty_table()


# ---- the keyword questions' answers from slices ------------------------------------

Match = Callable[[Slice], np.ndarray]  # which of a slice's lines the keyword matches


def newest(wh: Warehouse, channels: list[str], files: list[tuple[date, str, tuple]], match: Match, need: int,
           bound: Callable[[int], datetime], offset: int = 0, columns: list[str] | None = None) -> pl.DataFrame:
    """The `need` newest matching lines of the channels in `files` (day order), chat_time,
    then id, descending (nulls last, as DuckDB orders): the newest day first, stopping once
    `need` are held and ``bound(i)`` (a time no line of the i-th newest file on passes)
    says no older file can hold a line as new as the last of them; the rows from `offset`
    on, the `columns` asked (default: a slice's). Times in the warehouse's zone (a type
    change in Arrow: the instants stay, no polars plan is run)."""
    parts: list[pa.Table] = []
    for i, (_, path, key) in enumerate(reversed(files)):
        parts += [h for h in (s.rows.filter(pa.array(match(s) & keep)) for s, keep in slices(wh, path, key, channels))
                  if h.num_rows]
        if need and i + 1 < len(files) and sum(p.num_rows for p in parts) >= need:
            parts = [_newest(parts, need)]
            if parts[0].column("chat_time")[need - 1].as_py() > bound(i + 1):
                break
    page = (_newest(parts, need) if parts else empty()).slice(offset).select(columns or list(COLUMNS))
    at = page.schema.get_field_index("chat_time")
    if at >= 0:
        page = page.cast(page.schema.set(at, pa.field("chat_time", pa.timestamp("us", wh.tz))))
    return pl.from_arrow(page)


def _newest(parts: list[pa.Table], n: int) -> pa.Table:
    rows = pa.concat_tables(parts)
    order = pc.sort_indices(rows, [("chat_time", "descending", "at_end"), ("id", "descending", "at_end")])
    return rows.take(order[:n])


def trend(wh: Warehouse, channels: list[str], files: list[tuple[date, str, tuple]], match: Match,
          every: str) -> pl.DataFrame | None:
    """keyword_trend's frame from the channels' slices, counted per channel with numpy:
    [channel_id, bucket (date_trunc(every) in the warehouse's zone), matches, share], by
    channel and bucket; None when ``buckets`` cannot tell them (an offset change) or a line
    has no time: the caller scans."""
    times: dict[str, list] = {}
    hits: dict[str, list] = {}
    for _, path, key in files:
        for s, keep in slices(wh, path, key, channels):
            stamps = s.rows.column("chat_time")
            if pc.any(pc.is_null(stamps)).as_py():
                return None
            ch = s.rows.column("channel_id")[0].as_py()
            times.setdefault(ch, []).append(stamps.cast(pa.int64()).to_numpy()[keep])
            hits.setdefault(ch, []).append(match(s)[keep])
    names, starts, matches, lines = [], [], [], []
    for ch in sorted(times):
        cut = buckets(np.concatenate(times[ch]), every, wh.tz)
        if cut is None:
            return None
        hit = np.concatenate(hits[ch]).astype(np.int64)
        if len(cut) > 1 and (np.diff(cut) < 0).any():  # partitions cut in other zones overlap
            order = np.argsort(cut, kind="stable")
            cut, hit = cut[order], hit[order]
        first = np.flatnonzero(np.concatenate([[True], cut[1:] != cut[:-1]]))
        names += [ch] * len(first)
        starts.append(cut[first])
        matches.append(np.add.reduceat(hit, first))
        lines.append(np.diff(np.append(first, len(cut))))
    count = np.concatenate(matches) if matches else np.zeros(0, np.int64)
    total = np.concatenate(lines) if lines else np.zeros(0, np.int64)
    start = pl.Series("bucket", np.concatenate(starts) if starts else [], dtype=pl.Int64)
    return pl.DataFrame([  # Series built eagerly: no polars plan for a few rows
        pl.Series("channel_id", names, dtype=pl.String),
        start.cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(wh.tz),
        pl.Series("matches", count, dtype=pl.Int64),
        pl.Series("share", count / np.maximum(total, 1) if len(total) else [], dtype=pl.Float64)])


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
