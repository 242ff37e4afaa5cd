"""A Warehouse's damage bookkeeping (warehouse/lake/health.py says what "damaged" means): which
damaged files its views leave out, each logged once with the command that repairs it, and
which file to leave out next after a query failed reading the lake.

A damaged file never fails a query: a chat day partition or the channels file that cannot
be read is left out of the views — found by its footer when the views are made, or by a
deep check after a query failed reading it, which then runs again without it — and damaged
side tables are not used (the chat is scanned: ``users_or_scan``). Used by
warehouse/read/warehouse.py (Warehouse.refresh, sql, damaged) and the queries_* modules."""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from datetime import date
from functools import partial
from typing import TypeVar

from warehouse.lake import health
from warehouse.lake.health import Damage
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHANNELS, CHAT, TABLES
from warehouse.read.accelerators import rollups, users_index

log = logging.getLogger(__name__)
READ_RETRIES = 4  # a failed read: views over the files as they are now, then without each damaged one found
# the one-file tables whose damage damaged() lists after the chat days
_ONE_FILE_TABLES = [t.name for t in TABLES if not t.by_day] + [
    users_index.NAME, rollups.ROLLUPS.name, rollups.BROADCAST_SPANS.name, rollups.CHATTER_DAYS.name]
T = TypeVar("T")


class DamageBook:
    """What one Warehouse (lake at `root`) leaves out of its views, and what it has logged."""

    def __init__(self, root: str):
        self.root = root
        self.days: list[Damage] = []  # the chat days the views left out when last made
        self.chat_files: list[str] = []  # the files the chat view reads (for locate), oldest day first
        self._told: set[Damage] = set()

    def check_chat(self, lake: Lake) -> tuple[list[date], bool]:
        """(the chat days that read, whether some were left out as damaged); remembers
        both for damaged() and locate()."""
        days, damaged = health.check_days(lake, CHAT)
        self.tell(damaged.values())
        self.days = list(damaged.values())
        return days, bool(damaged)

    def views_read(self, lake: Lake, days: Iterable[date]) -> None:
        """The chat days the views read now (a failed query looks for damage among them)."""
        self.chat_files = [lake.part_path(CHAT, d) for d in days]

    def channels_damaged(self, lake: Lake) -> bool:
        """True (and logged once) when the channels file is damaged: the views then leave it out."""
        bad = health.check_file(lake, CHANNELS.name)
        if bad is not None:
            self.tell([bad])
        return bad is not None

    def tell(self, damage: Iterable[Damage]) -> None:
        """Log each damaged file once per warehouse, with what repairs it."""
        for d in damage:
            if d not in self._told:
                self._told.add(d)
                log.warning("lake %s: %s is unreadable (%s): left out of every answer until `%s` rewrites it"
                            " (README, \"Damaged partitions\")", self.root, d.partition, d.reason, d.repair)

    def listed(self, lake: Lake) -> list[Damage]:
        """The chat days left out when the views were last made, then the damaged one-file
        tables (Warehouse.damaged)."""
        files = [d for d in (health.check_file(lake, n) for n in _ONE_FILE_TABLES) if d is not None]
        return self.days + files

    def locate(self, lake: Lake, exc: Exception, params: list | None, index_in_use: bool) -> bool:
        """After a query failed reading the lake (not its first attempt): True when a damaged
        file the views can leave out was found among those it read (the users index first
        when in use, then files given as parameters, the channels file, chat days newest
        first; health.locate), so that views made again may answer."""
        index = users_index.index_path(lake)
        files = ([index] if index_in_use else []) + [p for p in map(partial(health.lake_path, lake), params or ())
                                                      if p]
        files += [lake.partition_dir(CHANNELS) + "/part-0.parquet", *reversed(self.chat_files)]
        found = health.locate(lake, exc, files)
        return bool(set(found) - {index})  # the index is left out by users_or_scan, not the views

    def index_damaged(self, lake: Lake, key: tuple) -> bool:
        """True when the users index at version `key` is known damaged (its footer, or pages
        a failed query found: see users_or_scan)."""
        path = users_index.index_path(lake)
        return bool(health.footer_problem(lake, path, key) or health.known_problem(path, key))

    def read_error(self, lake: Lake, exc: Exception) -> health.LakeReadError:
        """The error a query raises when it failed reading the lake and no damaged file
        explains it: one line, no absolute path."""
        return health.LakeReadError(f"reading the lake failed: {health.one_line(lake, exc)}")


def users_or_scan(has_index: Callable[[], bool], indexed: Callable[[], T], scan: Callable[[], T]) -> T:
    """``indexed()`` (a query of the users side table) when has_index(), else — or when it
    failed on a damaged index (remembered, so has_index() says False from then on) —
    ``scan()``."""
    if has_index():
        try:
            return indexed()
        except health.LakeReadError:
            if has_index():
                raise
    return scan()
