"""The reader of a side table sorted by channel_id then day (the emote counts, the word
counts): the rows of some channels and days, read from the file's row groups that may hold
them (their channel_id and day statistics), never the whole file held in memory — a
channel's week is a few row groups of a file of millions of rows. The last KEPT_GROUPS row
groups read stay decoded (least recently used dropped first; all dropped when the file
changes): a page asks several questions of the same channel and week."""
from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from datetime import date

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.lake.layout import Lake
from warehouse.read.accelerators import side_tables
from warehouse.read.queries.params import filter_params

log = logging.getLogger(__name__)
KEPT_GROUPS = 24  # decoded row groups kept per reader (16,384 rows each: the biggest channel's week is ~5)


class RowsReader:
    """One warehouse's reader of `spec`: ``fresh`` (the side table rule) and ``rows``."""

    def __init__(self, spec: side_tables.SideTable) -> None:
        self.spec = spec
        self.fresh = side_tables.FreshnessCache(spec)
        self._file: tuple | None = None  # (freshness key, the open ParquetFile)
        self._kept: OrderedDict[int, pl.DataFrame] = OrderedDict()  # row group -> its rows, of _file
        self._stats: tuple | None = None  # (the ParquetFile, its row groups' ranges: _ranges)
        self._lock = threading.Lock()  # the dashboard's sessions share a warehouse

    def usable(self, lake: Lake, hint: tuple | None = None) -> bool:
        """True when the file matches the chat partitions now and its footer reads."""
        if not self.fresh.fresh(lake, hint):
            return False
        return self._parquet(lake) is not None

    def _parquet(self, lake: Lake) -> pq.ParquetFile | None:
        key = self.fresh.key
        if self._file is not None and self._file[0] == key:
            return self._file[1]
        try:
            source = lake.fs.open_input_file(side_tables.path(self.spec, lake))
            with self._lock:
                self._file = (key, pq.ParquetFile(source))
                self._kept.clear()
        except (OSError, ValueError, pa.ArrowException):
            log.warning("%s unreadable: the chat is scanned instead", self.spec.name, exc_info=True)
            return None
        return self._file[1]

    def rows(self, lake: Lake, channels: list[str] | None, start: date | None, end: date | None) -> pl.DataFrame | None:
        """The rows of `channels` (None: every channel) on the days [start, end] (None: open),
        in the file's order; None when the file does not read (the caller scans)."""
        t0 = time.monotonic()
        pf = self._parquet(lake)
        if pf is None:
            return None
        d0, d1, _, chs = filter_params(channels, start, end)
        groups = _groups(self._ranges(pf), None if channels is None else sorted(set(chs)), d0, d1)
        try:
            parts = [self._group(pf, g) for g in groups]
        except (OSError, ValueError, pa.ArrowException):
            log.warning("%s unreadable: the chat is scanned instead", self.spec.name, exc_info=True)
            self._file = None
            return None
        if channels is not None:  # a group is sorted by channel_id: each channel's rows are one slice
            wanted = sorted(set(chs))
            parts = [_slice(part, c) for part in parts for c in wanted]
        parts = [p for p in parts if p.height]
        frame = parts[0] if len(parts) == 1 else pl.concat(parts) if parts else \
            pl.from_arrow(self.spec.schema.empty_table())
        frame = frame.filter(pl.col("day").is_between(d0, d1))
        log.debug("%s: %d rows of %d row groups in %.3fs", self.spec.name, frame.height, len(groups),
                  time.monotonic() - t0)
        return frame

    def _ranges(self, pf: pq.ParquetFile) -> list[tuple]:
        """Each row group's (channel_id min, max, day min, max), None where it has no
        statistics; read from the footer once per file."""
        with self._lock:
            if self._stats is not None and self._stats[0] is pf:
                return self._stats[1]
        meta, names = pf.metadata, pf.schema_arrow.names
        ci, di = names.index("channel_id"), names.index("day")
        out = []
        for g in range(meta.num_row_groups):
            cs, ds = meta.row_group(g).column(ci).statistics, meta.row_group(g).column(di).statistics
            out.append(((cs.min, cs.max) if cs is not None and cs.has_min_max else None,
                        (ds.min, ds.max) if ds is not None and ds.has_min_max else None))
        with self._lock:
            self._stats = (pf, out)
        return out

    def _group(self, pf: pq.ParquetFile, g: int) -> pl.DataFrame:
        with self._lock:
            got = self._kept.get(g)
            if got is not None:
                self._kept.move_to_end(g)
                return got
        got = pl.from_arrow(pf.read_row_group(g).cast(self.spec.schema))
        with self._lock:
            if self._file is None or self._file[1] is not pf:  # the file changed meanwhile: not kept
                return got
            self._kept[g] = got
            while len(self._kept) > KEPT_GROUPS:
                self._kept.popitem(last=False)
        return got


def _slice(part: pl.DataFrame, channel: str) -> pl.DataFrame:
    """The rows of `channel` in `part` (sorted by channel_id)."""
    ids = part["channel_id"]
    lo, hi = ids.search_sorted(channel, side="left"), ids.search_sorted(channel, side="right")
    return part.slice(lo, hi - lo)


def _groups(ranges: list[tuple], channels: list[str] | None, d0: date, d1: date) -> list[int]:
    """The row groups whose channel_id range holds one of `channels` (None: any) and whose
    day range meets [d0, d1]; a group without statistics is read."""
    out = []
    for g, (cs, ds) in enumerate(ranges):
        if channels is not None and cs is not None and not any(cs[0] <= c <= cs[1] for c in channels):
            continue
        if ds is not None and (ds[1] < d0 or ds[0] > d1):
            continue
        out.append(g)
    return out
