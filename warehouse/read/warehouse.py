"""The analyst API: DuckDB (in memory) over the Parquet lake, answers as polars DataFrames.

The dashboard and the notebooks call only these functions. Every function takes the
Warehouse first; filters are bound parameters, never text formatted into SQL.

Common conventions:
- ``channels``: a list of 32-hex channel ids, or None for all channels.
- ``start``/``end``: inclusive days in DISPLAY_TZ (the lake's day partitions), or None.
- "messages" count every line from a real user (all message types; the lines of
  user_id ``SYSTEM_MESSAGE`` are left out); "chatters" are distinct user ids other than
  ``anonymous`` and ``SYSTEM_MESSAGE``.
- Times come back tz-aware in DISPLAY_TZ.
"""
from __future__ import annotations

import logging
import os
from collections.abc import Callable
from datetime import date
from typing import TypeVar
from zoneinfo import ZoneInfo

import duckdb
import polars as pl
import pyarrow as pa
import pyarrow.dataset as pads

from core import settings
from warehouse.lake import health
from warehouse.lake.layout import STATE_PATH, Lake, is_uri
from warehouse.lake.tables import CHANNELS, CHANNELS_SCHEMA, CHAT, CHAT_SCHEMA
from warehouse.read import damage
from warehouse.read import live as live_data
from warehouse.read.accelerators import (
    ACCELERATORS,
    BROADCAST_SPANS,
    broadcast_spans,
)
from warehouse.read.accelerators.base import Accelerator, Need, Reader

log = logging.getLogger(__name__)
T = TypeVar("T")
_DAY_SCHEMA = pa.schema([("day", pa.date32())])

# Macros created on every connection, so each query below is one static SQL text.
# chat_rows(...) is the filtered chat every query starts from: `day` is the hive partition
# column, so the day filter prunes files.
_MACROS = (
    """CREATE OR REPLACE MACRO chat_rows(d0, d1, all_ch, chs) AS TABLE
       SELECT * FROM chat
       WHERE day BETWEEN d0 AND d1 AND (all_ch OR list_contains(chs, channel_id))
         AND user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'""",
    "CREATE OR REPLACE MACRO is_chatter(u) AS u NOT IN ('anonymous', 'SYSTEM_MESSAGE')",
    """CREATE OR REPLACE MACRO is_sub(tier, month) AS
       coalesce(tier, 0) > 0 OR coalesce(month, 0) > 0""",
    "CREATE OR REPLACE MACRO has_text(hay, needle) AS strpos(lower(hay), lower(needle)) > 0",
    "CREATE OR REPLACE MACRO is_anon(u, flag) AS coalesce(flag, false) OR u = 'anonymous'",
)


# For the query modules: a broadcast is one chat_channel_id of one channel, its span the
# first and last (non-system) line anywhere in the lake — from a scan of the channel's
# whole history, or from the broadcast spans (warehouse/read/accelerators/broadcast_spans.py)
# when they may answer (Warehouse._point_broadcasts).
_BROADCASTS_SCAN = """CREATE OR REPLACE MACRO broadcasts(all_ch, chs) AS TABLE
    SELECT channel_id, chat_channel_id AS broadcast, min(chat_time) AS started,
           max(chat_time) AS ended
    FROM chat_rows(DATE '0001-01-01', DATE '9999-12-31', all_ch, chs)
    WHERE chat_channel_id IS NOT NULL GROUP BY channel_id, chat_channel_id"""


class Warehouse:
    """An in-memory DuckDB connection with the views ``chat`` (hive-partitioned, with a
    ``day`` DATE column) and ``channels`` over the lake at ``root``.

    Use ``wh.sql(query, params)`` for your own SQL (a polars DataFrame back). Views follow
    the files: a local lake's new day partitions show up in the first query after the
    sync that wrote them (or once their folder is there), and a lake that was empty when
    opened is looked at again on every query until it has files.

    ``types``: None (all) or message types (collector.records.MESSAGE_TYPES values and
    "unknown"; others are a ValueError): ``chat`` — hence every function — sees only those
    lines, and the accelerators are not used (they count every type).
    ``live=True``: ``chat`` also holds PostgreSQL's rows the lake does not have yet — the
    days PostgreSQL touched since the last sync, taken whole from PostgreSQL as the next
    sync would write them, those days' partitions left out (warehouse/read/live.py,
    docs/LIVE_DATA.md) — and ``channels`` is PostgreSQL's. ``wh.live_info`` says what was
    read: {"enabled", "days", "rows", "read_at", "error", "cause"}; PostgreSQL out of reach
    leaves the lake alone answering, the reason in "error" (its kind in "cause", live.load). The overlay is read at open, by
    refresh(), and again after a sync changes the lake's state.

    Accelerators (warehouse/read/accelerators/__init__.py) answer some questions from small
    files; ``wh.accelerator(ACC)`` decides whether one may answer now, else the chat is
    scanned. ``accelerate=False``: none is used (every answer is a scan; the tests compare).

    A damaged file never fails a query: it is left out of the views, or a damaged
    accelerator is not used (warehouse/read/damage.py, ``wh.damage``); ``wh.damaged()`` lists
    what is left out."""

    def __init__(self, root: str | None = None, tz: str | None = None, *, live: bool = False,
                 types=None, accelerate: bool = True):
        self.root = str(root or settings.warehouse_dir())
        self.lake = Lake(self.root)  # read only: one filesystem handle, not one per question
        self.tz = tz or settings.get("DISPLAY_TZ") or "Asia/Seoul"
        ZoneInfo(self.tz)  # an unknown zone fails here, with its name, before any SQL
        self.live, self.types = bool(live), live_data.check_types(types)
        self.con = duckdb.connect(":memory:")
        # SET takes no bound parameters; the zone name was validated above and is quoted
        self.con.execute("SET TimeZone = '" + self.tz.replace("'", "''") + "'")
        # keep the Parquet footers read: a query then opens only the files it scans, not
        # their metadata again (100M-row lake: a channel's week in 128 ms, not 232). DuckDB
        # checks each file's version tag, so a partition a sync replaced is read afresh.
        self.con.execute("SET parquet_metadata_cache = true")
        self._stubs: list[pa.Table] = []
        self.accelerate = bool(accelerate)
        self._readers: dict[str, Reader] = {}  # per accelerator's name, made when first asked
        self._spans_in_use: tuple | None = None  # the spans file the broadcasts macro reads, if any
        self._live_days: pa.Table | None = None  # the overlay's days, for the spans macro
        self._overlay: live_data.Overlay | None = None
        self.live_info = live_data.off_info()
        self._state_key: tuple | None = None
        self.damage = damage.DamageBook(self.root)  # what the views leave out, what was logged
        self.refresh()

    def refresh(self) -> None:
        """(Re)create the views (re-reading the live overlay); a missing or empty lake
        gives empty views."""
        lake = self.lake
        self.partition_tz = lake.state(strict=False).timezone  # None: not known, no shortcut
        if self.live:
            self._state_key = live_data.state_key(lake)
            self._overlay, self.live_info = live_data.load(lake)
        skip = set(self._overlay.days) if self._overlay else set()
        self.files_key = files_key(lake)  # before the days are listed: a later change shows
        # with live or types, the lake side goes under *_lake and live.compose adds the views
        composed = self.live or self.types is not None
        chat, channels = ("chat_lake", "channels_lake") if composed else ("chat", "channels")
        self._stubs.clear()
        self._stub_names: set[str] = set()
        for name in ("chat", "channels", "chat_lake", "channels_lake"):
            self.con.execute("DROP VIEW IF EXISTS " + name)  # constant identifiers
        remote = is_uri(self.root)
        days, some_damaged = self.damage.check_chat(lake)  # a damaged day is left out
        kept = [d for d in days if d not in skip]  # the overlay's days come from PostgreSQL
        self.damage.views_read(lake, kept)
        if kept and remote:
            # no httpfs here: DuckDB scans a pyarrow dataset read through pyarrow's S3
            # filesystem (a snapshot of the file list: refresh() picks up new partitions)
            files = [lake.part_path(CHAT, d) for d in kept] if skip else lake.table_dir(CHAT)
            self._stub(chat, pads.dataset(files, filesystem=lake.fs, format="parquet",
                                          partitioning=pads.partitioning(_DAY_SCHEMA, flavor="hive"),
                                          partition_base_dir=lake.table_dir(CHAT)),
                       watch=None if self.live else "chat")  # live: state_key says when
        elif kept:
            # the day files by name, not a glob: DuckDB would list every day's folder on
            # every query (10M-row lake, 174 days: a channel's week counted in 2.4 ms, not
            # 5.6); _stale() says when the list may have changed
            files = [self._uri(lake.part_path(CHAT, d)) for d in kept]
            self.con.read_parquet(files, hive_partitioning=True,
                                  union_by_name=not self._same_columns(lake, files)).create_view(chat)
        else:
            empty = CHAT_SCHEMA.empty_table().append_column("day", pa.array([], pa.date32()))
            self._stub(chat, empty, watch="chat" if not days and not some_damaged else None)
        channels_file = lake.partition_dir(CHANNELS) + "/part-0.parquet"
        if self.damage.channels_damaged(lake):  # the chat's own names stand in (list_channels' coalesce)
            self._stub(channels, CHANNELS_SCHEMA.empty_table())
        elif lake.fs.get_file_info(channels_file).type.name == "File" and remote:
            self._stub(channels, pads.dataset(channels_file, filesystem=lake.fs, format="parquet"),
                       watch=None if self.live else "channels")
        elif lake.fs.get_file_info(channels_file).type.name == "File":
            self.con.read_parquet(self._uri(channels_file)).create_view(channels)
        else:
            self._stub(channels, CHANNELS_SCHEMA.empty_table(), watch="channels")
        if composed:
            live_data.compose(self.con, self._overlay, self.types, self._stubs)
        for macro in (*_MACROS, _BROADCASTS_SCAN):
            self.con.execute(macro)
        self._chat_columns: frozenset[str] | None = None  # asked of the new views when first needed
        self._spans_in_use = None  # the broadcasts macro scans until _point_broadcasts says otherwise

    def chat_columns(self) -> frozenset[str]:
        """The columns of the ``chat`` view as it is now (one DESCRIBE per making of the
        views: a question asks it for free), e.g. whether the lake has a migration's columns."""
        if self._stale():
            self.refresh()
        if self._chat_columns is None:
            self._chat_columns = frozenset(self.sql("SELECT column_name FROM (DESCRIBE chat)")["column_name"])
        return self._chat_columns

    def damaged(self) -> list[health.Damage]:
        """The lake's files that cannot be read now, each a health.Damage (table, day,
        file relative to the root, reason, ``repair`` command): chat day partitions (left
        out of ``chat``), then one-file tables (``channels`` and the broadcasts' tables:
        left out of the answers that use them; accelerators: the chat is scanned instead).
        The chat days are those the views left out when last made (made again first if the
        lake changed since): footers are checked once per file version, and damage a failed
        query found is remembered; the pages of a file no query has read yet are not.

        >>> [d.partition for d in wh.damaged()]
        """
        if self._stale():
            self.refresh()
        return self.damage.listed(self.lake)

    def _same_columns(self, lake: Lake, files: list[str]) -> bool:
        """True when every file has the same columns and types (what this version's sync
        writes). Only then is ``union_by_name`` left off: it costs each query ~2 ms, and
        it is what lets partitions written before a column was added be read (as null).
        The columns come from the footers the damage check read (health.columns_of,
        remembered per file version: a Warehouse opened again reads none)."""
        texts = {health.columns_of(lake, path) for path in files}
        return len(texts) == 1 and None not in texts

    def _uri(self, path: str) -> str:
        if is_uri(self.root):
            return self.root.split("://", 1)[0] + "://" + path
        return path

    def _stub(self, name: str, table: pa.Table, watch: str | None = None) -> None:
        """Register `table` as view `name`; `watch`: the lake table whose first file
        should make _stale() true (None: nothing to watch)."""
        self._stubs.append(table)  # keep the Arrow data alive as long as the view
        if watch:
            self._stub_names.add(watch)
        self.con.register(name, table)

    def _stale(self, hint: tuple | None = None) -> bool:
        """True when the views must be re-read; `hint`: files_key(self.lake), when the
        caller has just taken it."""
        lake = self.lake
        if self.live and live_data.state_key(lake) != self._state_key:
            return True  # a sync ran: re-read the overlay against the new state
        if self.files_key is not None and (hint or files_key(lake)) != self.files_key:
            return True  # a day folder came or went, or a sync (retention, forget-user) ended
        if not self._stub_names:
            return False
        if "chat" in self._stub_names and lake.days(CHAT):
            return True
        channels_file = lake.partition_dir(CHANNELS) + "/part-0.parquet"
        return "channels" in self._stub_names and lake.fs.get_file_info(channels_file).type.name == "File"

    def days_are_local(self) -> bool:
        """True when the lake's day partitions are days of this warehouse's zone (the
        last sync's ``timezone`` is ``tz``): a day bucket is then the ``day`` column."""
        return self.partition_tz == self.tz

    def lake_only(self) -> bool:
        """True when ``chat`` is exactly the lake's partitions: no type filter, no live
        rows (what an accelerator declaring base.LAKE_ONLY needs)."""
        return self.types is None and not (self._overlay is not None and self._overlay.days)

    def overlay_days(self) -> set[date]:
        """The days ``chat`` takes from PostgreSQL's live rows instead of the lake."""
        return set(self._overlay.days) if self._overlay is not None else set()

    def accelerator(self, acc: Accelerator, also: frozenset[Need] = frozenset()) -> Reader | None:
        """The reader of `acc` (one of warehouse.read.accelerators.ACCELERATORS) when it may
        answer now, else None (the caller scans the chat). The one place that decides:
        the conditions it declares (``acc.needs``) and the question's own (`also`, e.g.
        LOCAL_DAYS) hold — no type filter, no live rows, the same zone, a local lake, local
        days — and its file matches the chat partitions as they are now (the overlay
        re-read first if a sync changed them), is not known damaged and could be read."""
        if not self.accelerate:
            return None
        lake = self.lake
        hint = files_key(lake)
        if self._stale(hint):
            self.refresh()
            hint = files_key(lake)
        needs = acc.needs | also
        if Need.NO_TYPE_FILTER in needs and self.types is not None:
            return None
        if Need.NO_LIVE_ROWS in needs and self._overlay is not None and self._overlay.days:
            return None
        if Need.LOCAL_LAKE in needs and is_uri(self.root):
            return None
        if Need.LOCAL_DAYS in needs and not self.days_are_local():
            return None
        reader = self._readers.get(acc.name)
        if reader is None:
            reader = self._readers[acc.name] = acc.reader(self.con)
        if not reader.fresh.fresh(lake, hint):
            return None
        if Need.SAME_ZONE in needs and (reader.fresh.doc or {}).get("timezone") != self.tz:
            return None
        if self.damage.accelerator_damaged(lake, acc, reader.fresh.key) or not reader.usable(lake, hint):
            return None
        return reader

    def answer(self, acc: Accelerator, fast: Callable[[Reader], T | None], scan: Callable[[], T],
               also: frozenset[Need] = frozenset()) -> T:
        """``fast(reader)`` when `acc` may answer (accelerator()), else — or when it gave
        None, or failed on a damaged file (remembered, so `acc` is not asked again until
        the file is rewritten) — ``scan()``."""
        reader = self.accelerator(acc, also)
        if reader is not None:
            try:
                got = fast(reader)
            except health.LakeReadError:
                if self.accelerator(acc, also) is not None:
                    raise
                got = None
            if got is not None:
                return got
        return scan()

    def _point_broadcasts(self) -> None:
        """Point the ``broadcasts`` macro at the broadcast spans while they may answer — the
        live overlay's days taken from its own rows — and at the scan otherwise."""
        reader = self.accelerator(BROADCAST_SPANS)
        want = reader.fresh.key if reader is not None else None
        if want == self._spans_in_use:
            return
        live = sorted(self.overlay_days())
        if reader is not None:
            self.con.register("broadcast_spans", reader.table)
            if live:  # refresh() resets _spans_in_use, so a new overlay comes through here
                self._live_days = pa.table({"day": pa.array(live, pa.date32())})
                self.con.register("live_days", self._live_days)
        macro = (_BROADCASTS_SCAN if reader is None else broadcast_spans.SPANS_LIVE_MACRO if live
                 else broadcast_spans.SPANS_MACRO)
        self.con.execute(macro)
        self._spans_in_use = want

    # The per-accelerator questions of before the registry, for callers outside warehouse/read
    # (bench/query_bench.py, tests/warehouse/test_property.py, test_repair.py, test_s3.py):
    # remove once they ask accelerator() instead.
    def sql(self, query: str, params: list | None = None) -> pl.DataFrame:
        """Run SQL with bound parameters over the views; a polars DataFrame back."""
        if self._stale():
            self.refresh()
        for attempt in range(damage.READ_RETRIES + 1):
            if "broadcasts(" in query:
                self._point_broadcasts()
            try:
                return self.con.sql(query, params=params or None).pl()
            except Exception as exc:
                if attempt == damage.READ_RETRIES or not self._recover(exc, attempt, params):
                    if attempt and health.is_read_error(exc):  # no damaged file explains it
                        raise self.damage.read_error(self.lake, exc) from exc
                    raise
        raise AssertionError("unreachable")

    def _recover(self, exc: Exception, attempt: int, params: list | None) -> bool:
        """After a query failed: True when the views were made again so that a retry may
        answer. First, views over the files as they are now (a file of the list is gone, or
        was replaced by one with other columns: a sync still writing); then, without the
        damaged files among those the query read (DamageBook.locate)."""
        if not health.is_read_error(exc) and "schema mismatch" not in str(exc):
            return False
        if attempt == 0:
            log.info("lake %s: a read failed (%s); reopening the views", self.root, type(exc).__name__)
            self.refresh()
            return True
        lake = self.lake
        views = [a.path(lake) for a in ACCELERATORS if getattr(self._readers.get(a.name), "view", None)]
        if not self.damage.locate(lake, exc, params, views):
            return False
        self.refresh()
        return True

    def close(self) -> None:
        self.con.close()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def files_key(lake: Lake) -> tuple | None:
    """For a local lake: what changes when the chat view's file list may have — the chat
    folder (a day folder created or removed) and state.json (written after every sync,
    so a day whose file appeared after its folder is seen then). None for a remote lake
    (its views are a snapshot until refresh())."""
    if is_uri(lake.root):
        return None
    out = []
    for path in (lake.table_dir(CHAT), lake.base + "/" + STATE_PATH):
        try:
            out.append(os.stat(path).st_mtime_ns)
        except OSError:
            out.append(None)
    return tuple(out)


def open(root: str | None = None, *, tz: str | None = None, live: bool = False,  # noqa: A001
         types=None, accelerate: bool = True) -> Warehouse:
    """Open the lake at `root` (default: WAREHOUSE_DIR); `tz` (default DISPLAY_TZ), `live`
    (add PostgreSQL's rows since the last sync), `types` (message types to keep) and
    `accelerate` (False: no accelerator answers, every answer is a scan) as in Warehouse.

    >>> wh = warehouse.open("/data/warehouse")
    >>> warehouse.list_channels(wh)
    >>> today = warehouse.open(live=True, types=["chat", "donation"])
    """
    return Warehouse(root, tz, live=live, types=types, accelerate=accelerate)
