"""The chatter days' columns beyond a read's channel, chatter and day
(warehouse/read/accelerators/chatter_days.py: Reader), read from the file when a question
first needs them, and the helpers that take a read apart. Pure but for Columns' reads."""
from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from warehouse.lake import health
from warehouse.lake.layout import Lake

# read as the file's dictionaries when asked (few values a row group, or the strings of a
# few rows): broadcast, nickname, user_id
_DICTIONARIES_LATER = ("broadcast", "nickname", "user_id")


def _encoded(column: pa.ChunkedArray) -> pa.DictionaryArray:
    """The column as one dictionary array (its dictionary one for every chunk). Pure."""
    col = column.combine_chunks()
    return col if pa.types.is_dictionary(col.type) else col.dictionary_encode()


def _codes(column: pa.ChunkedArray) -> np.ndarray:
    """A number per distinct value of the column, per row, -1 for NULL (int32). Pure."""
    return pc.fill_null(_encoded(column).indices, -1).to_numpy(zero_copy_only=False).astype(np.int32)


def _dictionary(column: pa.ChunkedArray) -> pa.Array:
    """The distinct values the column's codes (_codes) number, as strings. Pure."""
    return _encoded(column).dictionary.cast(pa.string())


def numpy_of(table: pa.Table, column: str) -> np.ndarray:
    """A column as numpy, dates as days since 1970. Pure."""
    col = table.column(column).combine_chunks()
    if pa.types.is_date32(col.type):
        col = col.view(pa.int32())
    return col.to_numpy(zero_copy_only=False)


class Columns:
    """The columns of the row groups one read took (`sizes`: their rows) beyond its channel,
    chatter and day: each read from the same file when first asked — only if it is still
    the file (`key`) those rows came from (else ValueError); the strings of user_id and
    nickname only at the rows asked (``values``: their row groups, each read once)."""

    def __init__(self, lake: Lake, path: str, key: tuple | None, groups: list[int], sizes: list[int]) -> None:
        self.lake, self.path, self.key, self.groups = lake, path, key, groups
        self.ends = np.cumsum(np.asarray(sizes, np.int64))
        self.rows = int(self.ends[-1]) if len(sizes) else 0
        self._got: dict[str, object] = {}
        self._parts: dict[str, dict[int, pa.Array]] = {}  # column -> {the read's row group: its values}

    def get(self, name: str) -> np.ndarray:
        """Column `name` (broadcast: a number per row into broadcasts(), -1 for NULL)."""
        if name not in self._got:
            column = self._column(name, self.groups, self.rows)
            if name == "broadcast":
                column = pa.table({name: column}).unify_dictionaries().column(0)
                names = _dictionary(column)
                self._got["broadcasts"] = names
                self._got["broadcast_codes"] = {b: i for i, b in enumerate(names.to_pylist())}
                self._got[name] = _codes(column)
            else:
                self._got[name] = numpy_of(pa.table({name: column}), name)
        return self._got[name]

    def broadcasts(self) -> pa.Array:
        self.get("broadcast")
        return self._got["broadcasts"]

    def broadcast_codes(self) -> dict[str, int]:
        self.get("broadcast")
        return self._got["broadcast_codes"]

    def values(self, name: str, rows: np.ndarray) -> list:
        """The values of column `name` at `rows` (of the read, in that order; NULL as None),
        reading only the row groups holding them (each once)."""
        rows = np.asarray(rows, np.int64)
        if not len(rows):
            return []
        part, parts = self.load((name,), rows)
        held = self._parts[name]
        starts = rows - np.concatenate([[0], self.ends[:-1]])[part]  # each row's place in its group
        if len(parts) == 1:
            return held[parts[0]].take(pa.array(starts)).to_pylist()
        out: list = [None] * len(rows)
        for g in parts:
            mine = np.flatnonzero(part == g)
            for i, v in zip(mine.tolist(), held[g].take(pa.array(starts[mine])).to_pylist(), strict=True):
                out[i] = v
        return out

    def load(self, names: tuple[str, ...], rows: np.ndarray) -> tuple[np.ndarray, list[int]]:
        """Read the row groups of columns `names` holding `rows` (of the read) that one of
        them lacks, in one read; (each row's group, the groups)."""
        rows = np.asarray(rows, np.int64)
        if len(rows) and (int(rows.min()) < 0 or int(rows.max()) >= self.rows):
            raise IndexError(f"rows outside the {self.rows} read")
        part = np.searchsorted(self.ends, rows, "right")
        parts = np.unique(part).tolist()
        wanted = [g for g in parts if any(g not in self._parts.get(n, {}) for n in names)]
        if wanted:
            sizes = [int(self.ends[g] - (self.ends[g - 1] if g else 0)) for g in wanted]
            table = self._columns(list(names), [self.groups[g] for g in wanted], sum(sizes))
            for name in names:
                held, at = self._parts.setdefault(name, {}), 0
                for g, m in zip(wanted, sizes, strict=True):
                    held[g] = table.column(name).slice(at, m).combine_chunks()
                    at += m
        return part, parts

    def _column(self, name: str, groups: list[int], rows: int) -> pa.ChunkedArray:
        return self._columns([name], groups, rows).column(0)

    def _columns(self, names: list[str], groups: list[int], rows: int) -> pa.Table:
        if self.key is None or health.file_key(self.lake, self.path) != self.key:
            raise ValueError(f"{self.path} changed since its rows were read")
        with self.lake.fs.open_input_file(self.path) as f:  # its footer read once (health.footer)
            file = pq.ParquetFile(f, metadata=health.footer(self.lake, self.path, self.key),
                                  read_dictionary=[n for n in names if n in _DICTIONARIES_LATER])
            table = (file.read_row_groups(groups, columns=names, use_threads=len(names) > 1) if groups
                     else file.schema_arrow.empty_table().select(names))
        if table.num_rows != rows:
            raise ValueError(f"{self.path} changed since its rows were read")
        return table.select(names)


def chatter_runs(code: np.ndarray, starts: list[int]) -> tuple[np.ndarray, np.ndarray]:
    """Of the chatter numbers of rows sorted within each channel (whose first rows are
    `starts`; -1: no chatter): whether each row starts a run of equal numbers (runs never
    cross a channel's start; rows without a chatter start none) and the number of each
    row's run (0, 1, ...; a row without a chatter carries the run before's). Pure."""
    new = np.ones(len(code), bool)
    new[1:] = code[1:] != code[:-1]
    new[starts] = True
    new &= code >= 0
    return new, np.cumsum(new, dtype=np.int32) - 1
