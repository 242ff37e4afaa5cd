"""The lake's catalog for outside tools: views over every exported table (tables.py), written
by the sync and by forget-user beside the data, so `duckdb`, DBeaver or Metabase open the
lake as it is.

    <root>/lake.duckdb   a small DuckDB database holding only views, absolute paths:
                         ``duckdb -readonly /srv/chzzk/lake/lake.duckdb`` from any folder
    <root>/lake.sql      the same views, paths relative to the lake folder:
                         ``cd /srv/chzzk/lake && duckdb -c '.read lake.sql'``

Each view reads its table's files with ``read_parquet``: a day table through the
``day=*`` folders with hive partitioning (``day`` a DATE) and ``union_by_name`` (schema
drift: a day written before a migration lacks that migration's columns, read as NULL; a
newer day may carry a column the older ones do not). A view is a glob, not a list of files,
so days the sync adds or replaces (and columns they bring) are seen by the next query
without a new catalog. Each sync and forget-user works out the views again and rewrites
both files only when they changed (a table got its first file or lost its last, the lake
moved): lake.sql names the folder lake.duckdb was written for, so comparing its text is the
whole check (1-40 ms; writing both took 0.07-0.2 s for a 3-day lake, 0.3-2.4 s for the
10M-line one, on a loaded machine). A declared table with no
file yet is an empty view of its declared columns (a view over no files would fail to
open); a table whose columns come from PostgreSQL (``schema=None``) and has no file is left
out until it has one.

Paths (README, "Other engines"): DuckDB resolves a relative path in a view against the working
directory of the process that queries it (or ``SET file_search_path``), never against the
database file, and a view's path cannot be computed from the database's own location. So
the ``.duckdb`` file, opened by tools whose working directory nobody chooses, holds absolute
paths (a moved lake is right again after its next sync, or ``python -m
warehouse.lake.catalog_file <root>``), and ``lake.sql`` holds relative ones, for a copied or
moved lake read from its own folder. An s3:// lake gets ``lake.sql`` only, with s3:// URLs:
a view is bound when it is created, which would need DuckDB's httpfs extension (a download)
where the sync runs.

Both files are replaced atomically (a temporary name in the lake root, then a rename): a
tool that has the old one open keeps reading it. The ``.duckdb`` file is written in
DuckDB's v1.0.0 storage format so the DuckDB inside an older DBeaver or Metabase driver
opens it too."""
from __future__ import annotations

import logging
import os
import sys
import time
from dataclasses import dataclass

import pyarrow as pa

from core import files
from warehouse.lake.layout import PART, Lake, is_uri, modes
from warehouse.lake.tables import TABLES, UTC_US, Table

log = logging.getLogger(__name__)
CATALOG_FILE = "lake.duckdb"
SCRIPT_FILE = "lake.sql"
STORAGE_VERSION = "v1.0.0"  # the oldest DuckDB that opens the file (views only: nothing newer is needed)
DAY_COLUMN = "day"  # the hive partition column of a day table, from the folder name
# The DuckDB type of each Arrow type the declared schemas use (an empty view's columns).
DUCKDB_TYPES: dict[pa.DataType, str] = {
    pa.int16(): "SMALLINT", pa.int32(): "INTEGER", pa.int64(): "BIGINT", pa.float64(): "DOUBLE",
    pa.bool_(): "BOOLEAN", pa.string(): "VARCHAR", pa.binary(): "BLOB", pa.date32(): "DATE",
    UTC_US: "TIMESTAMP WITH TIME ZONE",
}


@dataclass(frozen=True)
class CatalogReport:
    views: tuple[str, ...]   # every view, in the registry's order
    empty: tuple[str, ...]   # of those, the declared tables with no file yet (empty views)
    left_out: tuple[str, ...]  # tables with no file and no declared columns
    files: tuple[str, ...]   # the files written, relative to the lake root (none: both were up to date)
    seconds: float


def _literal(text: str) -> str:
    """A SQL string literal. DDL takes no bound parameters (a view keeps its text), so a
    path is quoted here; tables' names are constants of the registry."""
    return "'" + text.replace("'", "''") + "'"


def _ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def present(lake: Lake, table: Table) -> bool:
    """Whether `table` has at least one data file in the lake."""
    return bool(lake.days(table)) if table.by_day else lake.exists(table)


def view_sql(table: Table, location: str | None) -> str:
    """CREATE VIEW for `table` whose files lie under `location` (the lake root as a path or
    URL, "" for paths relative to the lake root); ``None``: the table has no file, an empty
    view of its declared columns."""
    if location is None:
        columns = [f"CAST(NULL AS {DUCKDB_TYPES[f.type]}) AS {_ident(f.name)}" for f in table.schema]
        if table.by_day:
            columns.append(f"CAST(NULL AS DATE) AS {_ident(DAY_COLUMN)}")
        body = "SELECT " + ", ".join(columns) + " WHERE false"
    elif table.by_day:
        pattern = f"{location}{table.name}/{DAY_COLUMN}=*/*.parquet"
        options = f"hive_partitioning = true, hive_types = {{{_literal(DAY_COLUMN)}: DATE}}, union_by_name = true"
        body = f"SELECT * FROM read_parquet({_literal(pattern)}, {options})"  # noqa: S608 - quoted
    else:
        body = f"SELECT * FROM read_parquet({_literal(f'{location}{table.name}/{PART}')})"  # noqa: S608 - quoted
    return f"CREATE OR REPLACE VIEW {_ident(table.name)} AS {body};"


def plan(lake: Lake) -> tuple[list[tuple[Table, bool]], list[str]]:
    """([(table, has files)] of the tables that get a view, [names left out])."""
    views, left_out = [], []
    for table in TABLES:
        has = present(lake, table)
        if has or table.schema is not None:
            views.append((table, has))
        else:
            left_out.append(table.name)
    return views, left_out


def script(views: list[tuple[Table, bool]], location: str, header: str = "") -> str:
    """The views as one SQL script (`location`: the prefix of every data path)."""
    return header + "".join(view_sql(t, location if has else None) + "\n" for t, has in views)


_SCRIPT_HEADER = """\
-- Views over this lake's exported tables, written by every `python -m warehouse sync`
-- (warehouse/lake/catalog_file.py). Paths are relative to this folder: run it from here,
--   duckdb -c '.read lake.sql'          (or: duckdb mine.duckdb, then .read lake.sql)
-- or from anywhere after SET file_search_path = '<this folder>'.
-- Day tables: hive partitioning (day DATE), union_by_name (older days lack newer columns).
"""
_FOR_FOLDER = "-- lake.duckdb beside it holds the same views with absolute paths, for {folder}\n"
_S3_HEADER = """\
-- Views over this lake's exported tables, written by every `python -m warehouse sync`
-- (warehouse/lake/catalog_file.py). Needs DuckDB's httpfs extension and an S3 secret:
--   CREATE SECRET (TYPE s3, PROVIDER credential_chain);   then .read this file
-- Day tables: hive partitioning (day DATE), union_by_name (older days lack newer columns).
"""


def write(lake: Lake) -> CatalogReport:
    """Write lake.sql (and, for a local lake, lake.duckdb) for the lake's files as they are
    now; each replaces the old one atomically. Raises OSError or duckdb.Error."""
    t0 = time.monotonic()
    views, left_out = plan(lake)
    written: list[str] = []
    if is_uri(lake.root):
        text = script(views, lake.root.rstrip("/") + "/", _S3_HEADER)
        if _read_text(lake, SCRIPT_FILE) != text:
            with lake.fs.open_output_stream(f"{lake.base}/{SCRIPT_FILE}") as f:  # one PUT: whole or absent
                f.write(text.encode())
            written.append(SCRIPT_FILE)
    else:
        text = script(views, "", _SCRIPT_HEADER + _FOR_FOLDER.format(folder=lake.base))
        database = os.path.join(lake.base, CATALOG_FILE)
        if _read_text(lake, SCRIPT_FILE) != text or not os.path.isfile(database):
            os.makedirs(lake.base, mode=modes()[0], exist_ok=True)
            _replace_database(database, script(views, lake.base + "/"))
            _replace_text(os.path.join(lake.base, SCRIPT_FILE), text)  # last: it says lake.duckdb is done
            written += [CATALOG_FILE, SCRIPT_FILE]
    return CatalogReport(tuple(t.name for t, _ in views), tuple(t.name for t, has in views if not has),
                         tuple(left_out), tuple(written), time.monotonic() - t0)


def _read_text(lake: Lake, name: str) -> str | None:
    """The text of the lake root's file `name` (None: none, or unreadable)."""
    try:
        with lake.fs.open_input_stream(f"{lake.base}/{name}") as f:
            return f.read().decode("utf-8", "replace")
    except (OSError, ValueError):
        return None


def _temporary(final: str) -> str:
    folder, name = os.path.split(final)
    return os.path.join(folder, f".{name}.tmp-{os.getpid()}")


def _remove_stale(final: str) -> None:
    """Remove the temporary files of `final` an interrupted run left (any pid: the sync and
    forget-user, the writers, take the same lock)."""
    folder, name = os.path.split(final)
    for entry in os.listdir(folder):
        if entry.startswith(f".{name}.tmp-"):
            log.warning("removing %s left by an interrupted catalog write", entry)
            _remove(os.path.join(folder, entry))


def _remove(*paths: str) -> None:
    for path in paths:
        try:
            os.remove(path)
        except FileNotFoundError:
            pass


def _replace_text(final: str, text: str) -> None:
    _remove_stale(final)
    files.replace_text(final, text, mode=modes()[1])


def _replace_database(final: str, statements: str) -> None:
    import duckdb  # the sync imports this module; DuckDB only when it writes

    _remove_stale(final)  # and their .wal
    tmp = _temporary(final)
    try:
        con = duckdb.connect()
        try:
            con.execute(f"ATTACH {_literal(tmp)} AS lake_catalog (STORAGE_VERSION {_literal(STORAGE_VERSION)})")
            con.execute("USE lake_catalog")
            con.execute(statements)
            con.execute("USE memory")
            con.execute("DETACH lake_catalog")  # checkpointed: the file is whole, no .wal beside it
        finally:
            con.close()
        os.chmod(tmp, modes()[1])
        os.replace(tmp, final)
    except BaseException:
        _remove(tmp, tmp + ".wal")
        raise


def refresh(lake: Lake) -> CatalogReport | None:
    """write(), for the sync and forget-user: their work is done and stays done when the
    catalog cannot be written, so a failure is a WARNING (the next run writes it), not an
    error. Returns the report, or None when it failed."""
    try:
        report = write(lake)
    except Exception as exc:  # noqa: BLE001 - OSError, duckdb.Error: any failure here is only the catalog's
        log.warning("lake catalog not written (%s: %s); the data is synced, the next sync writes it again",
                    type(exc).__name__, exc)
        return None
    if not report.files:
        log.info("lake catalog up to date (%d views): nothing written", len(report.views))
        return report
    log.info("lake catalog: %d view(s) in %s%s%s in %.3fs", len(report.views), " and ".join(report.files),
             f"; empty (no file yet): {', '.join(report.empty)}" if report.empty else "",
             f"; left out (no file, columns unknown): {', '.join(report.left_out)}" if report.left_out else "",
             report.seconds)
    return report


def main(argv: list[str] | None = None) -> int:
    """``python -m warehouse.lake.catalog_file ROOT``: write the catalog of a lake without a
    sync (a lake copied or moved to another folder or machine)."""
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or args[0].startswith("-"):
        print("usage: python -m warehouse.lake.catalog_file LAKE_ROOT", file=sys.stderr)
        return 2
    if not is_uri(args[0]) and not os.path.isdir(args[0]):
        print(f"no lake at {args[0]}: give the folder WAREHOUSE_DIR names", file=sys.stderr)
        return 2
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    return 0 if refresh(Lake(args[0])) is not None else 1


if __name__ == "__main__":
    sys.exit(main())
