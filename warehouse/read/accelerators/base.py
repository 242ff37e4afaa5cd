"""What an accelerator is, as data: the declaration every accelerator of the lake has
(warehouse/read/accelerators/__init__.py lists them, ACCELERATORS) and the conditions under
which one may answer for a Warehouse (Need). Warehouse.accelerator
(warehouse/read/warehouse.py) is the one place that checks them, once per question."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

import duckdb

from warehouse.lake.layout import Lake
from warehouse.lake.tables import Table
from warehouse.read.accelerators.side_tables import FreshnessCache


class Need(Enum):
    """A condition the warehouse must meet for an accelerator to answer."""
    NO_TYPE_FILTER = "no type filter"  # ``chat`` holds every message type (built from all of them)
    NO_LIVE_ROWS = "no live rows"  # ``chat`` holds no day of the live overlay (built from the lake only)
    SAME_ZONE = "same zone"  # built in the warehouse's zone (its hours and days are local)
    LOCAL_LAKE = "local lake"  # a folder on this machine, not s3:// (memory-mapped, or not worth a download)
    LOCAL_DAYS = "local days"  # the lake's day partitions are days of the warehouse's zone


# ``chat`` is exactly the lake's partitions: what an accelerator that cannot add live days needs
LAKE_ONLY = frozenset({Need.NO_TYPE_FILTER, Need.NO_LIVE_ROWS})


class Reader(Protocol):
    """What a Warehouse holds of one accelerator: ``fresh`` says whether the file matches
    the chat partitions now; ``usable`` (fresh, and read if need be) whether it can answer."""
    fresh: FreshnessCache

    def usable(self, lake: Lake, hint: tuple | None = None) -> bool: ...


@dataclass(frozen=True)
class Accelerator:
    """One accelerator of the lake.

    table: its layout as a lake table (``name``: its folder, ``<root>/<name>/<file>``);
    built_from: what the build reads ("chat", other accelerators' names); build(lake, tz, full): bring it up to date with the chat
    partitions, only the days whose partition changed unless `full` (tz: the zone the
    partitions are cut in, None: the last sync's); freshness: the rule in words (its
    reader's ``fresh`` applies it); needs: the conditions under which it may answer;
    answers: the analyst functions (warehouse.<name>) it answers, the chat scanned when it
    may not; reader(con): a new Reader for one Warehouse (`con`: its DuckDB connection);
    parquet: its file is Parquet (its footer is checked for damage); remove(lake): set when
    it holds the text of lines, so that a forget-user whose rebuild fails deletes it rather
    than leave a forgotten user's lines in it."""
    table: Table
    file: str
    built_from: tuple[str, ...]
    build: Callable[[Lake, str | None, bool], int | None]
    freshness: str
    needs: frozenset[Need]
    answers: tuple[str, ...]
    reader: Callable[[duckdb.DuckDBPyConnection], Reader]
    parquet: bool = True
    remove: Callable[[Lake], None] | None = None

    @property
    def name(self) -> str:
        return self.table.name

    def path(self, lake: Lake) -> str:
        """Where it lives in this lake."""
        return f"{lake.base}/{self.name}/{self.file}"
