"""Damaged lake files: finding them, remembering each verdict per file version, and saying
which command repairs them.

A lake file is *damaged* when it cannot be read as Parquet: truncated, emptied, overwritten
with other bytes, a garbled footer, or pages that no longer decode. One damaged file never
stops the rest of the lake from answering: readers leave it out (warehouse/read/damage.py), the
side-table builds skip it (warehouse/read/accelerators/side_tables.py), and the sync rewrites it from
PostgreSQL when PostgreSQL still holds its day, or says what repairs it
(warehouse/sync/export.py, ``python -m warehouse sync --drop-damaged``).

Two checks, each remembered per file version — (size, mtime_ns, inode) locally, (size,
mtime) on S3 — so a file is checked again only once it was rewritten:

- ``footer``: parses the Parquet footer (magic bytes, metadata): a truncated, zero-byte,
  random or garbled-footer file fails it. ~0.2 ms a file, done when a reader lists the
  partitions (at open, and after a sync changed them), never per query.
- ``deep``: reads every page with DuckDB and pyarrow, for a file whose footer is sound but
  whose pages are not. Run only after a read failed (a query, a side-table build), on the
  files not deep-checked at their version yet.

A damage's text never holds the lake's absolute path (pages show it): the file is named
relative to the lake root."""
from __future__ import annotations

import bisect
import logging
import os
import re
import threading
import time
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from warehouse.lake.layout import PART, Lake, is_uri
from warehouse.lake.tables import TABLES, Table

log = logging.getLogger(__name__)
_MEMO_MAX = 100_000  # verdicts remembered (one per file version); beyond, the memo starts over
DEEP_BATCH_ROWS = 65_536
# DuckDB errors that reading a damaged file raises (the bare Error carries the Parquet
# reader's own: "TProtocolException", "don't know what type", "Corrupted file?"); a query's
# own mistake (parser, binder, conversion...) never sends the reader looking for damage
_READS = (duckdb.Error, duckdb.IOException, duckdb.InternalException, duckdb.SerializationException)
# ... and an "Invalid Input Error" only when it is about a file (it is also a bad argument's)
_FILE_WORDS = re.compile(r"parquet|magic|file|thrift|decompress|corrupt|stats|encoding", re.IGNORECASE)
WHOLE_TABLES = frozenset(t.name for t in TABLES if not t.by_day)  # rewritten whole by every sync


class LakeReadError(RuntimeError):
    """A query failed reading the lake and no damaged file explains it (an I/O error, a lake
    changed mid-read): the message names no path; the cause is chained."""


@dataclass(frozen=True)
class Damage:
    """One unreadable lake file: its table, day (None for a one-file table), the file
    relative to the lake root, and why (one line)."""
    table: str
    day: date | None
    file: str
    reason: str

    @property
    def partition(self) -> str:
        """"chat day=2026-10-04", or the table's name for a one-file table."""
        return f"{self.table} day={self.day.isoformat()}" if self.day else self.table

    @property
    def repair(self) -> str:
        """The command that rewrites it when PostgreSQL still holds its rows."""
        if self.day is not None:
            return f"python -m warehouse sync --day {self.day.isoformat()}"
        return "python -m warehouse sync"


_memo: dict[tuple, str | None] = {}
_memo_lock = threading.Lock()


def _remember(key: tuple, verdict: str | None) -> str | None:
    with _memo_lock:
        if len(_memo) >= _MEMO_MAX:
            _memo.clear()
        _memo[key] = verdict
    return verdict


def _forget(key: tuple) -> None:
    with _memo_lock:
        _memo.pop(key, None)


def _recall(key: tuple) -> tuple[bool, str | None]:
    with _memo_lock:
        return (key in _memo), _memo.get(key)


def one_line(lake: Lake, exc: BaseException) -> str:
    """An error as one short line, the lake's own paths made relative to its root."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    text = text.replace(lake.base + "/", "").replace(lake.base, "")
    return text if len(text) <= 200 else text[:197] + "..."


def relative(lake: Lake, path: str) -> str:
    return path[len(lake.base) + 1:] if path.startswith(lake.base + "/") else path


def file_key(lake: Lake, path: str) -> tuple | None:
    """(size, mtime_ns, inode or None) of a file now; None when there is none."""
    if not is_uri(lake.root):
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns, st.st_ino
    info = lake.fs.get_file_info(path)
    return (info.size, info.mtime_ns, None) if info.type == pafs.FileType.File else None


def day_files(lake: Lake, table: Table, first: date = date.min, last: date = date.max
              ) -> dict[date, tuple[str, tuple]]:
    """{day: (path, file key)} of a day table's partitions now, days in order; only the days
    in [first, last] (a local lake stats only their files)."""
    out: dict[date, tuple[str, tuple]] = {}
    folder = lake.table_dir(table)
    if not is_uri(lake.root):
        listed = _day_folders(folder)
        for day, file in listed[bisect.bisect_left(listed, (first, "")):]:
            if day > last:
                break
            key = file_key(lake, file)
            if key is not None:
                out[day] = (file, key)
    else:
        selector = pafs.FileSelector(folder, recursive=True, allow_not_found=True)
        for info in lake.fs.get_file_info(selector):
            parent = info.path.rsplit("/", 2)
            day = _day(parent[-2]) if len(parent) == 3 else None
            if info.type == pafs.FileType.File and info.base_name == PART and day is not None and first <= day <= last:
                out[day] = (info.path, (info.size, info.mtime_ns, None))
    return dict(sorted(out.items()))


_FOLDERS: dict[str, tuple[int, list[tuple[date, str]]]] = {}
_FOLDERS_SETTLED_NS = 2_000_000_000  # a listing is kept only of a folder unchanged this long


def _day_folders(folder: str) -> list[tuple[date, str]]:
    """[(day, its file's path)] of a local day table's day=... folders, in day order. The
    listing is kept while the folder's mtime stays (a day folder made or removed changes
    it) — once that mtime is _FOLDERS_SETTLED_NS old, so a change in the same clock tick
    is never missed; the files themselves are stat-ed by the caller."""
    try:
        mtime = os.stat(folder).st_mtime_ns
    except FileNotFoundError:
        return []
    got = _FOLDERS.get(folder)
    if got is not None and got[0] == mtime:
        return got[1]
    listed = []
    try:
        entries = list(os.scandir(folder))
    except FileNotFoundError:
        return []
    for entry in entries:
        day = _day(entry.name)
        if day is not None and entry.is_dir():
            listed.append((day, os.path.join(entry.path, PART)))
    listed.sort()
    if time.time_ns() - mtime > _FOLDERS_SETTLED_NS:
        if len(_FOLDERS) >= 1_000:
            _FOLDERS.clear()
        _FOLDERS[folder] = (mtime, listed)
    return listed


_FOOTERS: dict[tuple, pq.FileMetaData] = {}
_FOOTERS_MAX = 50_000


def footer(lake: Lake, path: str, key: tuple | None = None) -> pq.FileMetaData:
    """The file's Parquet footer, read once per file version (`key`: its file_key, taken
    now when not given; a file with no key is read and not kept)."""
    key = key if key is not None else file_key(lake, path)
    meta = _FOOTERS.get((path, key)) if key is not None else None
    if meta is None:
        with lake.fs.open_input_file(path) as f:
            meta = pq.read_metadata(f)
        if key is not None:
            if len(_FOOTERS) >= _FOOTERS_MAX:
                _FOOTERS.clear()
            _FOOTERS[(path, key)] = meta
    return meta


_RANGES: dict[tuple, list[tuple]] = {}


def ranges(lake: Lake, path: str, key: tuple, column: str) -> list[tuple[int, object, object, int]]:
    """[(row group, min, max of `column`, rows)] of the file's non-empty row groups (min and
    max None when the group has no statistics of it, or there is no such column), from its
    footer; derived once per file version and column (kept beside ``footer``'s memory)."""
    got = _RANGES.get((path, key, column))
    if got is None:
        meta = footer(lake, path, key)
        at = meta.schema.to_arrow_schema().get_field_index(column)
        got = []
        for g in range(meta.num_row_groups):
            rg = meta.row_group(g)
            if not rg.num_rows:
                continue
            stats = rg.column(at).statistics if at >= 0 else None
            ok = stats is not None and stats.has_min_max
            got.append((g, stats.min if ok else None, stats.max if ok else None, rg.num_rows))
        if len(_RANGES) >= _FOOTERS_MAX:
            _RANGES.clear()
        _RANGES[(path, key, column)] = got
    return got


def groups_holding(ranges_: list[tuple[int, object, object, int]], values: list) -> list[int]:
    """The row groups of ``ranges`` whose [min, max] may hold one of `values` (sorted,
    distinct; none may be None): those without statistics always."""
    out = []
    for g, lo, hi, _ in ranges_:
        try:
            if lo is None or bisect.bisect_left(values, lo) < bisect.bisect_right(values, hi):
                out.append(g)
        except TypeError:  # statistics of another type than the values: not known
            out.append(g)
    return out


def _day(folder: str) -> date | None:
    try:
        return date.fromisoformat(folder[4:]) if folder.startswith("day=") else None
    except ValueError:
        return None


def footer_problem(lake: Lake, path: str, key: tuple | None = None) -> str | None:
    """Why the file's Parquet footer cannot be read, or None when it can (remembered per
    file version). A missing file is not damaged: None."""
    key = key or file_key(lake, path)
    if key is None:
        return None
    known, verdict = _recall(("footer", path, key))
    if known:
        return verdict
    try:
        with lake.fs.open_input_file(path) as f:
            schema = pq.read_metadata(f).schema.to_arrow_schema()
        _remember(("columns", path, key), ",".join(f"{f.name}:{f.type}" for f in schema))
        verdict = None
    except (OSError, ValueError, pa.ArrowException) as exc:
        verdict = one_line(lake, exc)
    return _remember(("footer", path, key), verdict)


def columns_of(lake: Lake, path: str, key: tuple | None = None) -> str | None:
    """The file's columns and their Arrow types as one text (read with its footer, so
    remembered per file version), None when the footer cannot be read or there is no
    file: files with equal texts have the same columns and types."""
    key = key or file_key(lake, path)
    if key is None or footer_problem(lake, path, key) is not None:
        return None
    known, text = _recall(("columns", path, key))
    if not known:  # the memo started over between the two calls: read the footer again
        _forget(("footer", path, key))
        footer_problem(lake, path, key)
        text = _recall(("columns", path, key))[1]
    return text


def deep_problem(lake: Lake, path: str, key: tuple | None = None) -> str | None:
    """Why some page of the file cannot be read by DuckDB or pyarrow, or None when every
    page reads (remembered per file version). Reads the whole file, a batch at a time."""
    key = key or file_key(lake, path)
    if key is None:
        return None
    known, verdict = _recall(("deep", path, key))
    if known:
        return verdict
    verdict = footer_problem(lake, path, key)
    if verdict is None:
        try:
            with lake.fs.open_input_file(path) as f:
                for _ in pq.ParquetFile(f).iter_batches(DEEP_BATCH_ROWS):
                    pass
            if not is_uri(lake.root):  # DuckDB reads local files itself, with its own decoder
                con = duckdb.connect(":memory:")
                try:
                    for _ in con.sql("SELECT * FROM read_parquet(?)", params=[path]).to_arrow_reader(
                            DEEP_BATCH_ROWS):
                        pass
                finally:
                    con.close()
        except (OSError, ValueError, pa.ArrowException, duckdb.Error) as exc:
            verdict = one_line(lake, exc)
    if verdict is not None:
        log.warning("%s is damaged: %s", relative(lake, path), verdict)
    return _remember(("deep", path, key), verdict)


def known_problem(path: str, key: tuple) -> str | None:
    """The damage already found in this version of the file (by either check), or None."""
    for kind in ("footer", "deep"):
        _, verdict = _recall((kind, path, key))
        if verdict is not None:
            return verdict
    return None


def unreadable(lake: Lake, path: str) -> str | None:
    """Why the file cannot be read (its footer, or damage a deep check found), None when
    it can as far as is known."""
    key = file_key(lake, path)
    if key is None:
        return None
    return footer_problem(lake, path, key) or known_problem(path, key)


def check_days(lake: Lake, table: Table, deep: bool = False) -> tuple[list[date], dict[date, Damage]]:
    """(readable days, {day: Damage}) of a day table's partitions now: each file's footer
    checked (``deep``: every page too), damage found before by a deep check remembered."""
    good: list[date] = []
    bad: dict[date, Damage] = {}
    for day, (path, key) in day_files(lake, table).items():
        why = (deep_problem if deep else footer_problem)(lake, path, key) or known_problem(path, key)
        if why is None:
            good.append(day)
        else:
            bad[day] = Damage(table.name, day, relative(lake, path), why)
    return good, bad


def check_file(lake: Lake, name: str, deep: bool = False) -> Damage | None:
    """The damage of one-file table `name` (``<root>/<name>/part-0.parquet``), None when it
    reads or is absent."""
    path = f"{lake.base}/{name}/{PART}"
    key = file_key(lake, path)
    if key is None:
        return None
    why = (deep_problem if deep else footer_problem)(lake, path, key) or known_problem(path, key)
    return Damage(name, None, relative(lake, path), why) if why else None


def is_read_error(exc: BaseException) -> bool:
    """True for errors that reading a lake file can raise (not a query's own mistake)."""
    if type(exc) in _READS or isinstance(exc, duckdb.IOException):
        return True
    if isinstance(exc, duckdb.InvalidInputException):
        return bool(_FILE_WORDS.search(str(exc)))
    return isinstance(exc, (OSError, pa.ArrowException))


def locate(lake: Lake, exc: BaseException, files: list[str]) -> list[str]:
    """Of `files` (paths a failed read used, likeliest first), those a deep check finds
    damaged: the files the error names, when it names some of them (a named file that
    reads whole was a passing failure: nothing else is read); else the first of `files`
    that does not read whole (each read once per version; the caller retries and asks
    again for the next). Their verdicts are remembered."""
    text = str(exc)
    named = [f for f in files if f in text]
    if named:
        return [path for path in named if deep_problem(lake, path)]
    return next(([path] for path in files if deep_problem(lake, path)), [])


def lake_path(lake: Lake, value) -> str | None:
    """`value` when it is the path of a file inside the lake (a query parameter), else None."""
    if isinstance(value, str) and value.startswith(lake.base + "/") and re.search(r"\.parquet$", value):
        return value
    return None
