"""A Warehouse's damage bookkeeping (warehouse/lake/health.py says what "damaged" means): which
damaged files its views leave out, each logged once with the command that repairs it, and
which file to leave out next after a query failed reading the lake.

A damaged file never fails a query: a chat day partition or the channels file that cannot
be read is left out of the views — found by its footer when the views are made, or by a
deep check after a query failed reading it, which then runs again without it — and damaged
accelerators are not used (the chat is scanned: Warehouse.accelerator and Warehouse.answer).
Used by warehouse/read/warehouse.py (Warehouse.refresh, sql, damaged, accelerator) and the
query modules."""
from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import date
from functools import partial

from warehouse.lake import health
from warehouse.lake.health import Damage
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHANNELS, CHAT, TABLES
from warehouse.read.accelerators import ACCELERATORS
from warehouse.read.accelerators.base import Accelerator

log = logging.getLogger(__name__)
READ_RETRIES = 4  # a failed read: views over the files as they are now, then without each damaged one found
# the one-file tables whose damage damaged() lists after the chat days
_ONE_FILE_TABLES = [t.name for t in TABLES if not t.by_day] + [a.name for a in ACCELERATORS if a.parquet]


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

    def locate(self, lake: Lake, exc: Exception, params: list | None, views: list[str]) -> bool:
        """After a query failed reading the lake (not its first attempt): True when a damaged
        file the views can leave out was found among those it read (the accelerator files
        registered as views first (`views`), then files given as parameters, the channels
        file, chat days newest first; health.locate), so that views made again may answer."""
        files = list(views) + [p for p in map(partial(health.lake_path, lake), params or ()) if p]
        files += [lake.partition_dir(CHANNELS) + "/part-0.parquet", *reversed(self.chat_files)]
        found = health.locate(lake, exc, files)
        return bool(set(found) - set(views))  # an accelerator is left out by Warehouse.answer, not the views

    def accelerator_damaged(self, lake: Lake, acc: Accelerator, key: tuple | None) -> bool:
        """True when `acc`'s file at version `key` is known damaged: its Parquet footer, or
        pages a failed query found (Warehouse.answer)."""
        path = acc.path(lake)
        if key is None:
            return False
        return bool(health.known_problem(path, key) or (acc.parquet and health.footer_problem(lake, path, key)))

    def read_error(self, lake: Lake, exc: Exception) -> health.LakeReadError:
        """The error a query raises when it failed reading the lake and no damaged file
        explains it: one line, no absolute path."""
        return health.LakeReadError(f"reading the lake failed: {health.one_line(lake, exc)}")
