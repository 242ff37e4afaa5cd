"""The collector's broadcast tables in the lake (live_session, live_session_poll,
capture_interval: one file each, ``<root>/<name>/part-0.parquet``) as the queries read them
beside the chat: coverage() and peaks' reports (warehouse/read/queries/time.py) and the
broadcast reports (warehouse/read/queries/broadcast.py)."""
from __future__ import annotations

import logging
import os
import shutil
import tempfile

import pyarrow.fs as pafs

from warehouse.lake import health
from warehouse.lake.layout import Lake, is_uri
from warehouse.read.warehouse import Warehouse

log = logging.getLogger(__name__)


def local_copy(wh: Warehouse, lake: Lake, path: str) -> str:
    """A small whole-table file of a remote (s3://) lake, copied to a local temporary file so
    DuckDB reads it without its httpfs extension (not installable here). Kept per Warehouse
    and fetched again when the object's size or mtime changes."""
    info = lake.fs.get_file_info(path)
    stamp = (info.size, info.mtime_ns)
    cache = wh.__dict__.setdefault("_side_copies", {})
    if path in cache and cache[path][0] == stamp:
        return cache[path][1]
    folder = wh.__dict__.setdefault("_side_dir", tempfile.TemporaryDirectory(prefix="chzzk-side-"))
    local = os.path.join(folder.name, path.replace("/", "_"))
    with lake.fs.open_input_stream(path) as src, open(local + ".tmp", "wb") as dst:
        shutil.copyfileobj(src, dst)
    os.replace(local + ".tmp", local)
    cache[path] = (stamp, local)
    return local


def table_file(wh: Warehouse, name: str, columns: tuple[str, ...]) -> str | None:
    """The lake's <name>/part-0.parquet when it exists, reads whole (warehouse/lake/health.py) and
    has `columns`, else None."""
    lake = Lake(wh.root)
    path = f"{lake.base}/{name}/part-0.parquet"
    if lake.fs.get_file_info(path).type != pafs.FileType.File:
        return None
    # every page read once per file version (these tables are small): a query given the file
    # cannot be retried without it, as one over the chat view can
    damage = health.check_file(lake, name, deep=True)
    if damage is not None:  # answered as without the table (wh.damaged() names it)
        wh.damage.tell([damage])
        return None
    uri = local_copy(wh, lake, path) if is_uri(wh.root) else wh._uri(path)
    have = set(wh.sql("SELECT name FROM parquet_schema(?)", [uri])["name"])
    missing = [c for c in columns if c not in have]
    if missing:
        log.warning("%s lacks %s; coverage falls back to chat", uri, ", ".join(missing))
        return None
    return uri
