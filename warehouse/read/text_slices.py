"""A channel's lines of the chat's day files, with their text, read without SQL: what the
keyword questions (warehouse/read/queries/search.py) and a user's page of lines when the
user tail does not hold it (warehouse/read/queries/users.py) answer from for one or a few
channels.

Why: a channel's week is one 16,384-line row group per day file; DuckDB decodes the
message column of each and spends 2-12 ms planning the query, where PostgreSQL reads the
channel's few hundred lines from its (channel, chat_time) index in 1-2 ms. Here the row
groups that may hold a channel are found by their channel_id statistics (footers read once
per file version), only the columns the questions read are decoded (pyarrow), and the
channel's lines of a file version are kept in memory (TEXT_SLICES_MB in all, least recently
used dropped first): a file is never changed in place, a sync writes a new one (a new
version: size, mtime, inode), so a kept slice is the file's as long as it is there.

Exactness, for the callers: ``chat``'s rows of a channel are exactly the file's rows of
that channel whose user_id IS DISTINCT FROM 'SYSTEM_MESSAGE' (chat_rows), of the days the
views read (a file whose footer does not read is left out, as the views leave it out).
``may_answer`` says when that holds: the warehouse may accelerate (``accelerate=False``
always scans), no live day in the range. A type filter is applied here as the view applies
it. A file that fails to read raises ``Unreadable``: the caller scans (which finds and
reports the damage).

Matching is text_match.py's (DuckDB's lower() and a byte substring test). A page
(``newest``) is ordered by numpy keys each slice keeps (chat_time, id; NULLs last) and
taken from the slices in one take; day files come from health.day_files' listing (kept per
chat-folder mtime) and row groups from health.ranges (each footer's channel ranges, once
per file version).
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

from core import settings
from warehouse.lake import health
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read import text_match
from warehouse.read.queries.params import SYSTEM_USER, filter_params
from warehouse.read.warehouse import Warehouse

log = logging.getLogger(__name__)
# the columns kept of a channel's lines (what keyword_search, keyword_trend and
# user_messages read)
COLUMNS = ("id", "channel_id", "channel_name", "user_id", "nickname", "message", "message_type", "chat_time",
           "message_status", "pay_amount", "subscription_tier", "subscription_month")
# memory the kept slices may take together: settings TEXT_SLICES_MB (the biggest channel's week: ~40 MB)


PYTHON_LINES = 2_048  # a slice of up to this many lines is matched in Python (Slice.holding)


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
    _users: dict[str | None, np.ndarray] | None = field(default=None, repr=False)
    _keys: tuple[np.ndarray, np.ndarray] | None = field(default=None, repr=False)
    _texts: dict[bool, list] = field(default_factory=dict, repr=False)  # messages (lowered or not) as lists
    channel: str = ""  # the channel whose lines these are
    null_times: bool = False  # some line has no chat_time

    def lowered(self) -> pa.ChunkedArray:
        if self._low is None:
            self._low = text_match.lower(self.rows.column("message"))
        return self._low

    def holding(self, needle: str, lowered: bool) -> np.ndarray:
        """Which lines' messages (``lowered``: through DuckDB's lower()) hold `needle`, a
        substring test (text_match.contains); a slice of a few lines in Python over its
        messages as a list, made once (each Arrow call costs more than those lines' test)."""
        if self.rows.num_rows > PYTHON_LINES:
            return text_match.contains(self.lowered() if lowered else self.rows.column("message"), needle)
        got = self._texts.get(lowered)
        if got is None:
            got = self._texts[lowered] = (self.lowered() if lowered else self.rows.column("message")).to_pylist()
        return np.fromiter((t is not None and needle in t for t in got), bool, len(got))

    def keys(self) -> tuple[np.ndarray, np.ndarray]:
        """(chat_time as µs, id) per line as int64, NULL as the smallest int64 (made when
        first asked): the newest-first order's keys."""
        if self._keys is None:
            self._keys = tuple(pc.fill_null(self.rows.column(c).cast(pa.int64()), _NULL_LAST).to_numpy()
                               for c in ("chat_time", "id"))  # type: ignore[assignment]
        return self._keys  # type: ignore[return-value]

    def of_user(self, user_id: str) -> np.ndarray:
        """Which lines are `user_id`'s (an index of the slice's users, made when first asked)."""
        if self._users is None:
            codes = pc.dictionary_encode(self.rows.column("user_id")).combine_chunks()
            at = pc.fill_null(codes.indices, -1).to_numpy(zero_copy_only=False)
            order = np.argsort(at, kind="stable")
            cuts = np.flatnonzero(np.diff(at[order])) + 1
            names = codes.dictionary.to_pylist()
            self._users = {(names[at[run[0]]] if at[run[0]] >= 0 else None): run
                           for run in np.split(order, cuts) if len(run)}
        mine = np.zeros(self.rows.num_rows, bool)
        mine[self._users.get(user_id, _NONE)] = True
        return mine

    @property
    def nbytes(self) -> int:
        # the lowered messages, when made, about as much again; and the entry itself
        # (and a few lines' messages as Python lists, Slice.holding)
        return self.rows.nbytes * 2 + 1024 + (256 * self.rows.num_rows if self.rows.num_rows <= PYTHON_LINES else 0)


_NONE = np.zeros(0, np.int64)
_LOCK = threading.Lock()
_SLICES: OrderedDict[tuple, Slice] = OrderedDict()
_HELD = [0]


def may_answer(wh: Warehouse, channels: list[str] | None, start: date | None, end: date | None) -> bool:
    """True when the channels' slices give exactly ``chat``'s rows of them in [start, end]:
    a warehouse that may accelerate, a list of channels (every channel: the trend is
    lake_trend.py's, the search the scan's), and no day of the live overlay in the range
    (its rows are PostgreSQL's, not the files')."""
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
        if not (health.footer_problem(lake, path, key) or health.known_problem(path, key)):
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
        got.update(_read(wh.lake, path, key, missing))
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
        groups = health.groups_holding(health.ranges(lake, path, key, "channel_id"), channels)
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
            rows = rows.cast(pa.schema([_TYPES[c] for c in COLUMNS])).combine_chunks()
            out[ch] = Slice(rows, lines, channel=ch, null_times=rows.column("chat_time").null_count > 0)
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise Unreadable(f"{path}: {exc}") from exc
    with _LOCK:
        for ch, s in out.items():
            if (path, key, ch) not in _SLICES:
                _SLICES[(path, key, ch)] = s
                _HELD[0] += s.nbytes
        most = settings.get_int("TEXT_SLICES_MB") << 20
        while _HELD[0] > most and len(_SLICES) > 1:
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
           offset: int = 0, columns: list[str] | None = None) -> pl.DataFrame:
    """The `need` newest matching lines of the channels in `files` (day order), chat_time,
    then id, descending (nulls last, as DuckDB orders): the newest day first, stopping once
    `need` are held and no older file can hold a line as new as the last of them
    (``Bound``); the rows from `offset` on, the `columns` asked (default: a slice's).
    Times in the warehouse's zone (a type change in Arrow: the instants stay, no polars
    plan is run)."""
    columns = list(columns or COLUMNS)
    walk = files[::-1]
    bound = Bound(len(walk), lambda j: file_bound(wh.lake, walk[j][1], walk[j][2], walk[j][0]))
    held: list[tuple[Slice, np.ndarray]] = []  # (slice, positions of its matching lines)
    count = 0
    for i, (_, path, key) in enumerate(reversed(files)):
        for s, keep in slices(wh, path, key, channels):
            hit = np.flatnonzero(match(s) & keep)
            if len(hit):
                held.append((s, hit))
                count += len(hit)
        if need and i + 1 < len(files) and count >= need:
            held = _newest(held, need)
            count = need
            last = held[-1]
            if last[0].keys()[0][last[1][-1]] > _us(bound(i + 1)):
                break
    # the page's rows: one take over the held slices' rows, in the page's order
    held = _newest(held, need)
    tables: dict[int, tuple[int, pa.Table]] = {}  # slice -> (its first row in the concatenation, rows)
    rows = 0
    at: list[np.ndarray] = []
    for s, pos in held:
        got = tables.get(id(s))
        if got is None:
            got = tables[id(s)] = (rows, s.rows.select(columns))
            rows += s.rows.num_rows
        at.append(pos + got[0])
    if not at or sum(len(a) for a in at) <= offset:
        return _empty_frame(tuple(columns), wh.tz).clear()
    page = pa.concat_tables([t for _, t in tables.values()]).take(np.concatenate(at)[offset:]).combine_chunks()
    where = page.schema.get_field_index("chat_time")
    if where >= 0:
        page = page.set_column(where, _when(wh.tz), page.column(where).cast(_when(wh.tz).type))
    return pl.from_arrow(page, rechunk=False)  # one chunk already (combine_chunks): 130 -> 70 µs


_EPOCH_UTC = datetime(1970, 1, 1, tzinfo=UTC)
_NULL_LAST = np.iinfo(np.int64).min  # a NULL time or id, as a key ordered last when descending


def _us(t: datetime) -> int:
    return (t - _EPOCH_UTC) // timedelta(microseconds=1)


@functools.lru_cache(maxsize=64)
def _when(tz: str) -> pa.Field:
    return pa.field("chat_time", pa.timestamp("us", tz))


@functools.lru_cache(maxsize=64)
def _empty_frame(columns: tuple[str, ...], tz: str) -> pl.DataFrame:
    page = empty().select(list(columns))
    at = page.schema.get_field_index("chat_time")
    if at >= 0:
        page = page.set_column(at, _when(tz), page.column(at).cast(_when(tz).type))
    return pl.from_arrow(page, rechunk=False)


def _newest(held: list[tuple[Slice, np.ndarray]], n: int) -> list[tuple[Slice, np.ndarray]]:
    """The `n` newest of the held lines, chat_time then id descending (NULLs last), ties in
    the order held: [(slice, position)] runs in that order."""
    if not held:
        return held
    times = np.concatenate([s.keys()[0][pos] for s, pos in held])
    ids = np.concatenate([s.keys()[1][pos] for s, pos in held])
    which = np.concatenate([np.full(len(pos), j, np.int64) for j, (_, pos) in enumerate(held)])
    at = np.concatenate([pos for _, pos in held])
    order = np.lexsort((-np.arange(len(at)), ids, times))[::-1][:n]
    which, at = which[order], at[order]
    runs = np.flatnonzero(np.diff(which)) + 1
    return [(held[int(w[0])][0], a) for w, a in zip(np.split(which, runs), np.split(at, runs), strict=True)]


class Bound:
    """For a walk over `n` days newest first: ``bound(i)``, a time no line of the i-th day
    on passes — the greatest of ``newest_of(j)`` for j >= i (each asked once, when first
    needed; for a day file ``file_bound``)."""

    def __init__(self, n: int, newest_of: Callable[[int], datetime]) -> None:
        self.n, self.newest_of, self.suffix = n, newest_of, {}

    def __call__(self, i: int) -> datetime:
        if i not in self.suffix:
            here = self.newest_of(i)
            self.suffix[i] = here if i + 1 >= self.n else max(here, self(i + 1))
        return self.suffix[i]


def file_bound(lake: Lake, path: str, key: tuple, day: date) -> datetime:
    """A time no line of the day file passes: its greatest chat_time statistic, at most
    after_day(day) (a file without statistics: after_day)."""
    return min(newest_time(lake, path, key, day), after_day(day))


def newest_time(lake: Lake, path: str, key: tuple, day: date) -> datetime:
    """The file's greatest chat_time by its row groups' statistics (after_day(day) when
    one has none, or the footer does not read)."""
    try:
        spans = health.ranges(lake, path, key, "chat_time")
        if any(hi is None or getattr(hi, "tzinfo", None) is None for _, _, hi, _ in spans):
            return after_day(day)
        return max((hi for _, _, hi, _ in spans), default=after_day(day))
    except (OSError, ValueError, TypeError, pa.ArrowException):
        return after_day(day)


def after_day(day: date) -> datetime:
    """A time no line of the day partition `day` reaches, in any zone (none is more than
    12 hours behind UTC): (day+1) 12:00 UTC."""
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(days=1)


def lines(wh: Warehouse, files: list[tuple[date, str, tuple]], channels: list[str]) -> int:
    """How many lines the row groups of `files` that may hold `channels`' lines (by their
    statistics) have: what reading their slices would decode."""
    wanted = sorted(set(channels))
    lake = wh.lake
    try:
        out = 0
        for _, path, key in files:
            spans = health.ranges(lake, path, key, "channel_id")
            chosen = set(health.groups_holding(spans, wanted))
            out += sum(rows for g, _, _, rows in spans if g in chosen)
        return out
    except (OSError, ValueError, pa.ArrowException) as exc:
        raise Unreadable(str(exc)) from exc


def of_user(user_id: str) -> Match:
    """user_id = `user_id`, per line of a slice."""
    return lambda s: s.of_user(user_id)


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
            stamps = s.keys()[0]
            if s.null_times:
                return None
            times.setdefault(s.channel, []).append(stamps[keep])
            hits.setdefault(s.channel, []).append(match(s)[keep])
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
