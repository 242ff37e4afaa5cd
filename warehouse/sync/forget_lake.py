"""forget-user's side of the lake: every Parquet file under the root, found by listing (a
table added later is covered without a change here), with every string column read.

- ``chat`` partitions lose the user's own rows; ``events`` partitions lose the events that
  name their id (at any depth of the body).
- Every other row naming them (a gifter's line with them as receiver, a system line, a
  message addressing them, a broadcast title...) stays, scrubbed (core/scrub.py).
- The side tables derived from the chat (users, roll-ups, broadcast spans, chatter days,
  the user tail) are not edited but rebuilt afterwards from the rewritten partitions.

A file is replaced atomically (``Lake.write``: temporary name, then rename)."""
from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from core.scrub import Forgetting, Target, names_id, scrub_row
from warehouse.lake.layout import DAMAGED_DIR, PART, Lake
from warehouse.lake.tables import CHAT, EVENTS, Table
from warehouse.read import accelerators

log = logging.getLogger(__name__)
DERIVED = accelerators.folders()


@dataclass
class LakeReport:
    rewritten: int = 0  # files replaced
    removed: int = 0    # rows dropped (their chat lines, events about them)
    scrubbed: int = 0   # other rows with them taken out
    counts: dict[str, dict[date, int]] = field(default_factory=dict)  # day table -> day -> rows now


@dataclass(frozen=True)
class LakeFile:
    path: str
    table: str
    day: date | None


def parquet_files(lake: Lake) -> list[LakeFile]:
    """Every ``<table>/part-0.parquet`` and ``<table>/day=YYYY-MM-DD/part-0.parquet``."""
    out = []
    for info in lake.fs.get_file_info(pafs.FileSelector(lake.base, recursive=True, allow_not_found=True)):
        if info.type != pafs.FileType.File or info.base_name != PART:
            continue
        parts = info.path[len(lake.base) + 1:].split("/")
        if len(parts) == 2:
            out.append(LakeFile(info.path, parts[0], None))
        elif len(parts) == 3 and parts[1].startswith("day="):
            try:
                out.append(LakeFile(info.path, parts[0], date.fromisoformat(parts[1][4:])))
            except ValueError:
                log.warning("forget-user: %s is not a day partition; scanned as a whole table", info.path)
                out.append(LakeFile(info.path, "/".join(parts[:2]), None))
    return sorted(out, key=lambda f: f.path)


def _read(lake: Lake, file: LakeFile, columns: list[str] | None = None, schema_only: bool = False):
    """The file's rows (or only its schema); an unreadable file stops forget-user, saying
    what repairs it (nothing is written by then: PostgreSQL rolls back too)."""
    try:
        with lake.fs.open_input_file(file.path) as f:
            return pq.read_schema(f) if schema_only else pq.read_table(f, columns=columns)
    except (OSError, pa.ArrowException) as exc:
        day = f" --day {file.day}" if file.day else ""
        raise RuntimeError(f"forget-user: {file.path} cannot be read ({type(exc).__name__}: {exc}); nothing was "
                           f"changed. Repair it first (`python -m warehouse sync{day}`, or `--drop-damaged`), "
                           "then run forget-user again") from None


def quarantined(lake: Lake) -> list[str]:
    """Files moved aside to ``_damaged/`` as unreadable: forget-user cannot check them."""
    selector = pafs.FileSelector(f"{lake.base}/{DAMAGED_DIR}", recursive=True, allow_not_found=True)
    return sorted(i.path[len(lake.base) + 1:] for i in lake.fs.get_file_info(selector) if i.type == pafs.FileType.File)


def _string_columns(lake: Lake, file: LakeFile) -> list[str]:
    schema = _read(lake, file, schema_only=True)
    return [x.name for x in schema if pa.types.is_string(x.type) or pa.types.is_large_string(x.type)]


def _hits(table: pa.Table, terms: list[str]) -> pa.Array:
    """Indices of the rows where any string column holds any of `terms`."""
    mask = None
    for name in table.column_names:
        for term in terms:
            m = pc.fill_null(pc.match_substring(table.column(name), term), False)
            mask = m if mask is None else pc.or_(mask, m)
    return pc.indices_nonzero(mask) if mask is not None else pa.array([], pa.uint64())


def own_nicknames(lake: Lake, user_id: str) -> set[str]:
    """The nicknames of the user's own lines in the lake (days PostgreSQL may no longer hold)."""
    found: set[str] = set()
    for file in parquet_files(lake):
        if file.table != CHAT.name or file.day is None:
            continue
        part = _read(lake, file, ["user_id", "nickname"])
        mine = part.filter(pc.fill_null(pc.equal(part.column("user_id"), user_id), False))
        found.update(n for n in pc.unique(mine.column("nickname")).to_pylist() if n)
    return found


def _spec(file: LakeFile, schema: pa.Schema) -> Table:
    for known in (CHAT, EVENTS):
        if file.table == known.name:
            return known
    return Table(file.table, schema, None, by_day=file.day is not None)


def _without_them(lake: Lake, file: LakeFile, forgetting: Forgetting,
                  hits: pa.Array) -> tuple[pa.Table, int, int]:
    """The file's rows without the user: (table, rows dropped, rows scrubbed). Only the rows
    in `hits` become Python values; the columns change through masks."""
    table = _read(lake, file)
    drop = np.zeros(table.num_rows, dtype=bool)
    if file.table == CHAT.name:  # their own lines (their nicknames are known: own_nicknames)
        drop = np.array(pc.fill_null(pc.equal(table.column("user_id"), forgetting.target.user_id), False))
        hits = pa.array([i for i in hits.to_pylist() if not drop[i]], pa.uint64())
    strings = [x.name for x in table.schema if pa.types.is_string(x.type) or pa.types.is_large_string(x.type)]
    new_values: dict[str, dict[int, str | None]] = {}
    scrubbed = 0
    for i, row in zip(hits.to_pylist(), table.select(strings).take(hits).to_pylist(), strict=True):
        target = forgetting.learn(row)
        if file.table == EVENTS.name and names_id(row.get("body") or "", target.user_id):
            drop[i] = True
            continue
        changes = scrub_row(row, target)  # JSON text is recognised as such
        for name, new in changes.items():
            new_values.setdefault(name, {})[i] = new
        scrubbed += bool(changes)
    for name, by_row in new_values.items():
        mask = np.zeros(table.num_rows, dtype=bool)
        mask[list(by_row)] = True
        field = table.schema.field(name)
        column = pc.replace_with_mask(table.column(name).combine_chunks(), pa.array(mask),
                                      pa.array([by_row[i] for i in sorted(by_row)], field.type))
        table = table.set_column(table.schema.get_field_index(name), field, column)
    if drop.any():
        table = table.filter(pa.array(~drop))
    return table, int(drop.sum()), scrubbed


def scrub_lake(lake: Lake, forgetting: Forgetting | str) -> LakeReport:
    """Rewrite every Parquet file naming the target without them (see the module docstring);
    the report's ``counts`` are the rewritten partitions' rows, for the state's day counts
    (SyncState.counted). The side tables are the caller's to rebuild."""
    forgetting = Forgetting(Target(forgetting)) if isinstance(forgetting, str) else forgetting
    report = LakeReport()
    for file in parquet_files(lake):
        if file.table in DERIVED:
            continue
        cols = _string_columns(lake, file)
        hits = _hits(_read(lake, file, cols), forgetting.target.terms()) if cols else pa.array([], pa.uint64())
        if not len(hits):
            continue
        table, dropped, scrubbed = _without_them(lake, file, forgetting, hits)
        if not (dropped or scrubbed):
            continue
        rows, _ = lake.write(_spec(file, table.schema), table, file.day)
        report.rewritten += 1
        report.removed += dropped
        report.scrubbed += scrubbed
        log.info("forget-user: %s rewritten: %d row(s) removed, %d scrubbed", file.path, dropped, scrubbed)
        if file.day is not None:
            report.counts.setdefault(file.table, {})[file.day] = rows
    return report
