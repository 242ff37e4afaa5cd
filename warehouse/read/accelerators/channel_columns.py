"""Rows held in memory as numpy columns sorted by channel and then by day, as the money
lines reader (warehouse/read/accelerators/money_lines.py) holds them: choosing a channel's
days by bisection, text as numbers into sorted dictionaries (so ordering by the number
orders as DuckDB orders the text, NULLs last), grouping runs of equal keys, and small
polars frames made cheaply. Pure, but for Part's rows."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

HOUR, DAY = 3_600_000_000, 86_400_000_000  # microseconds
MAX_YEARS = 20  # lines spanning more than this: one_offset does not check (None)
_EPOCH = date(1970, 1, 1)


@dataclass
class Part:
    """Rows of one kind as numpy columns (``cols``), sorted by channel and then by ``days``
    (days since 1970; negated for a part kept newest first): where each channel's rows are."""
    cols: dict[str, np.ndarray]
    index: dict[str, tuple[int, int]]
    days: np.ndarray
    newest_first: bool = False

    def select(self, channels: list[str] | None, start: date | None, end: date | None) -> slice | np.ndarray:
        """The rows of `channels` (None: all) on days in [start, end], in the part's order."""
        lo, hi = days_between(start, end)
        if self.newest_first:
            lo, hi = -hi, -lo
        if channels is None:
            if start is None and end is None:
                return slice(0, len(self.days))
            return np.flatnonzero((self.days >= lo) & (self.days <= hi))
        spans = []
        for ch in sorted(set(channels).intersection(self.index)):
            at, n = self.index[ch]
            days = self.days[at:at + n]
            a, b = at + int(np.searchsorted(days, lo, "left")), at + int(np.searchsorted(days, hi, "right"))
            if a < b:
                spans.append((a, b))
        if len(spans) == 1:
            return slice(*spans[0])
        return np.concatenate([np.arange(a, b) for a, b in spans]) if spans else np.arange(0)

    def channel(self, channel_id: str) -> slice:
        at, n = self.index.get(channel_id, (0, 0))
        return slice(at, at + n)


def days_between(start: date | None, end: date | None) -> tuple[int, int]:
    """[start, end] as days since 1970, open ends far out. Pure."""
    return (-(1 << 30) if start is None else (start - _EPOCH).days,
            1 << 30 if end is None else (end - _EPOCH).days)


def codes(values: pa.ChunkedArray) -> tuple[np.ndarray, list[str | None]]:
    """A number per row and the distinct values in text order (bytes, as DuckDB orders
    them), numbered in that order; a null row gets the number after the last value, whose
    entry is null (so it sorts last, as NULLS LAST). Pure."""
    encoded = pc.dictionary_encode(values.combine_chunks() if isinstance(values, pa.ChunkedArray) else values)
    order = pc.array_sort_indices(encoded.dictionary).to_numpy()
    rank = np.empty(len(order) + 1, np.int64)
    rank[order] = np.arange(len(order))
    rank[-1] = len(order)  # null
    indices = pc.fill_null(encoded.indices, len(order)).to_numpy()
    return rank[indices], [*encoded.dictionary.take(order).to_pylist(), None]


def channel_index(ch: np.ndarray, names: list[str | None]) -> dict[str, tuple[int, int]]:
    """{channel_id: (first row, rows)} of rows sorted by channel code `ch`. Pure."""
    if not len(ch):
        return {}
    starts = np.flatnonzero(np.concatenate([[True], ch[1:] != ch[:-1]]))
    ends = np.append(starts[1:], len(ch))
    return {names[int(c)]: (int(a), int(b - a)) for c, a, b in zip(ch[starts], starts, ends, strict=True)
            if names[int(c)] is not None}


def runs(*keys: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(order, starts): the rows ordered by `keys` (first the primary; stable), and where
    each run of equal keys starts in that order. Pure."""
    order = np.lexsort(keys[::-1])
    change = np.zeros(len(order), bool)
    if len(order):
        change[0] = True
        for k in keys:
            ks = k[order]
            change[1:] |= ks[1:] != ks[:-1]
    return order, np.flatnonzero(change)


def take(names: list[str | None], codes: np.ndarray) -> list[str | None]:
    return [names[i] for i in codes.tolist()]


def frame(schema: dict[str, pl.DataType], values: dict[str, object]) -> pl.DataFrame:
    """A frame of `schema` from columns of numpy arrays or lists (the cheapest way for a few
    rows: one Series each)."""
    return pl.DataFrame([pl.Series(name, values[name], dtype) for name, dtype in schema.items()])


def sizes(starts: np.ndarray, n: int) -> np.ndarray:
    return np.diff(np.append(starts, n)).astype(np.int64)


def sums(values: np.ndarray, order: np.ndarray, starts: np.ndarray) -> np.ndarray:
    """Per run, the sum of int64 `values` (exact). Pure."""
    return np.add.reduceat(values[order], starts) if len(starts) else np.zeros(0, np.int64)


def one_offset(tz: str, first: int, last: int) -> int | None:
    """The UTC offset (microseconds) `tz` keeps from a month before `first` to a day after
    `last` (microseconds since 1970), checked hour by hour; None when it changes, or when
    the lines span more than MAX_YEARS (a stray timestamp: not worth the check). Pure."""
    if last - first > MAX_YEARS * 366 * DAY:
        return None
    grid = pl.Series(np.arange(first - 32 * DAY, last + DAY + HOUR, HOUR, dtype=np.int64)).cast(
        pl.Datetime("us", "UTC"))
    local = grid.dt.convert_time_zone(tz).dt.replace_time_zone(None).dt.epoch("us")
    offsets = (local - grid.dt.epoch("us")).unique()
    return int(offsets[0]) if len(offsets) == 1 else None
