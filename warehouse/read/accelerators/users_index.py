"""The users side table: a small, user-sorted summary of the chat partitions that makes
user lookups (``search_users``, ``user_messages``) read one small file instead of every
day of chat.

Layout (part of the lake contract, see warehouse/lake/layout.py)::

    <root>/users/part-0.parquet
        One row per (user_id, channel_id, channel_name, day, nickname) of the chat lines of
        real chatters (user_id not NULL, ``anonymous`` or ``SYSTEM_MESSAGE``), with
        messages (lines), first_seen and last_seen (min/max chat_time). Sorted by user_id,
        channel_id, day, nickname; zstd. ``nickname`` is NULL for lines without one.

A chatter's profile, name history, channels and lines per day are read without SQL: the
row groups whose user_id statistics hold theirs (``Reader.user_rows``; a 16,384-row group
decodes in ~3 ms, the footer is read once per file version). search_users over all
channels (or most of the lake) and new_vs_returning read the table with SQL (the view
``users_index``); search_users over a few channels reads their lines of the chat instead
(warehouse/read/queries/user_search.py: the table is sorted by user, a channel's week
lies in all of its row groups).

Declared in warehouse/read/accelerators/__init__.py (USERS). Freshness rule
(warehouse/read/accelerators/side_tables.py): the file's Parquet key-value metadata (key
``chzzk.users_index``) records the fingerprint of every chat partition it was built from.
A reader uses the index only while the chat partitions have exactly that fingerprint; any
partition rewritten, added or removed since (a sync, forget-user, retention, a hand edit)
makes it stale and the reader falls back to scanning the chat. ``build_users_index``
brings it up to date incrementally: only the days whose fingerprint changed are
aggregated again. The sync calls it after writing its partitions, so after every sync the
index is fresh. The file is written to a temporary name and renamed.
"""
from __future__ import annotations

import bisect
import logging
from collections import OrderedDict
from dataclasses import dataclass
from datetime import date

import duckdb
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from warehouse.lake.layout import Lake, is_uri
from warehouse.lake.tables import UTC_US
from warehouse.read.accelerators import side_tables
from warehouse.read.accelerators.side_tables import FreshnessCache as _Freshness
from warehouse.read.accelerators.side_tables import chat_fingerprint  # noqa: F401 - part of this module's API

log = logging.getLogger(__name__)
NAME = "users"
RECENT_USERS = 16  # users whose rows a reader keeps (a user's page asks four questions of them)
META_KEY = b"chzzk.users_index"
VERSION = 1
USERS_SCHEMA = pa.schema([
    ("user_id", pa.string()),
    ("channel_id", pa.string()),
    ("channel_name", pa.string()),
    ("day", pa.date32()),
    ("nickname", pa.string()),
    ("messages", pa.int64()),
    ("first_seen", UTC_US),
    ("last_seen", UTC_US),
])
SPEC = side_tables.SideTable(
    NAME, USERS_SCHEMA, META_KEY, VERSION,
    # every group holds one day, so chunks of days aggregate apart
    aggregate="""
        SELECT user_id, channel_id, channel_name, day, nickname, count(*)::BIGINT AS messages,
               min(chat_time) AS first_seen, max(chat_time) AS last_seen
        FROM src
        WHERE user_id IS NOT NULL AND user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')
        GROUP BY user_id, channel_id, channel_name, day, nickname""",
    order="user_id, channel_id, day, nickname NULLS FIRST, channel_name NULLS FIRST")
USERS = SPEC.table


def index_path(lake: Lake) -> str:
    """Where the side table lives in this lake."""
    return side_tables.path(SPEC, lake)


def read_fingerprint(lake: Lake) -> side_tables.Fingerprint | None:
    """The chat fingerprint the index was built from; None when there is no index (or one
    of another version, or an unreadable one)."""
    doc = side_tables.read_doc(SPEC, lake)
    return None if doc is None else doc["parts"]


class FreshnessCache(_Freshness):
    """side_tables.FreshnessCache for the users index."""

    def __init__(self) -> None:
        super().__init__(SPEC)


def is_fresh(lake: Lake | str) -> bool:
    """True when `lake` has a users index that matches its chat partitions."""
    return side_tables.is_fresh(SPEC, lake)


def build_users_index(root: str | Lake, full: bool = False) -> int:
    """Bring ``<root>/users/part-0.parquet`` up to date with the chat partitions; return
    its row count. Only days whose partition changed since the last build are aggregated
    again (``full``: every day); nothing is written when no partition changed."""
    return side_tables.build(SPEC, root, full)


def build(lake: Lake, tz: str | None = None, full: bool = False) -> int:
    """build_users_index as the registry calls it (the table has no zone: `tz` is not used)."""
    return side_tables.build(SPEC, lake, full)


@dataclass(frozen=True)
class UserRows:
    """One user's rows of the side table, in its order, as Python lists: day as days since
    1970-01-01, first/last_seen as microseconds since the epoch (UTC)."""
    channel_id: list
    channel_name: list
    day: list
    nickname: list
    messages: list
    first_seen: list
    last_seen: list

    def where(self, start: date, end: date, channels: list[str] | None) -> list[int]:
        """The positions of the rows on days [start, end] (and of `channels`, None: all)."""
        d0, d1 = (start - _EPOCH).days, (end - _EPOCH).days
        keep = None if channels is None else set(channels)
        return [i for i, d in enumerate(self.day)
                if d0 <= d <= d1 and (keep is None or self.channel_id[i] in keep)]


_EPOCH = date(1970, 1, 1)


class Reader:
    """The users side table as the view ``users_index`` of one warehouse's connection `con`
    (the queries read it with SQL), made again for a new file of a remote lake; and one
    user's rows without SQL (``user_rows``): the file is sorted by user, so the row groups
    whose user_id statistics hold theirs are all that is read (the footer once per file
    version), and the last RECENT_USERS users' rows are kept."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.fresh = FreshnessCache()
        self.view: tuple | None = None  # the file version the view was made for
        self._file: tuple | None = None  # (file version, ParquetFile, row groups' first users, last users)
        self._recent: OrderedDict[str, UserRows] = OrderedDict()

    def user_rows(self, lake: Lake, user_id: str) -> UserRows | None:
        """`user_id`'s rows of the table as it is now (call after ``usable``); None when the
        file cannot be read that way (no statistics, or a read failed: logged; the caller
        asks SQL, which reports damage)."""
        key = self.fresh.key
        try:
            if self._file is None or self._file[0] != key:
                self._recent.clear()
                self._file = (key, *_open_sorted(lake))
            _, pf, firsts, lasts = self._file
            if pf is None:
                return None
            got = self._recent.pop(user_id, None)
            if got is None:
                got = _read_user(pf, firsts, lasts, user_id)
            self._recent[user_id] = got
            if len(self._recent) > RECENT_USERS:
                self._recent.popitem(last=False)
            return got
        except (OSError, ValueError, pa.ArrowException):
            log.warning("users side table %s: a user's rows could not be read directly", index_path(lake),
                        exc_info=True)
            self._file = (key, None, [], ())
            return None

    def usable(self, lake: Lake, hint: tuple | None = None) -> bool:
        """True when the table matches the chat partitions now; the view is then there."""
        if not self.fresh.fresh(lake, hint):
            return False
        remote = is_uri(lake.root)
        if self.view is None or (remote and self.view != self.fresh.key):
            if remote:  # a dataset pins the object's size: make a new one for a new file
                self.con.register("users_index", pads.dataset(index_path(lake), filesystem=lake.fs, format="parquet"))
            else:
                self.con.read_parquet(index_path(lake)).create_view("users_index")
            self.view = self.fresh.key
        return True


def _open_sorted(lake: Lake) -> tuple[pq.ParquetFile | None, list, tuple]:
    """The file, its non-empty row groups' first user_id and (their last user_id, their
    numbers), from the footer's statistics in the file's order; (None, [], ()) when a row
    group lacks them."""
    file = index_path(lake)
    source = pa.memory_map(file) if not is_uri(lake.root) else lake.fs.open_input_file(file)
    pf = pq.ParquetFile(source)
    meta, col = pf.metadata, pf.schema_arrow.get_field_index("user_id")
    firsts, lasts, groups = [], [], []
    for i in range(meta.num_row_groups):
        if not meta.row_group(i).num_rows:
            continue
        stats = meta.row_group(i).column(col).statistics
        if stats is None or not stats.has_min_max:
            return None, [], ()
        firsts.append(stats.min)
        lasts.append(stats.max)
        groups.append(i)
    return pf, firsts, (lasts, groups)


def _read_user(pf: pq.ParquetFile, firsts: list, lasts: tuple, user_id: str) -> UserRows:
    """The user's rows: those of the row groups from the first whose last user is not
    before theirs to the last whose first user is not after it (the file is sorted by
    user_id, so its row groups are too)."""
    lasts, numbers = lasts
    groups = numbers[bisect.bisect_left(lasts, user_id):bisect.bisect_right(firsts, user_id)]
    table = pf.read_row_groups(groups, use_threads=False) if groups else USERS_SCHEMA.empty_table()
    table = table.filter(pc.equal(table.column("user_id"), user_id))
    us = pa.int64()
    return UserRows(table.column("channel_id").to_pylist(), table.column("channel_name").to_pylist(),
                    table.column("day").cast(pa.int32()).to_pylist(), table.column("nickname").to_pylist(),
                    table.column("messages").to_pylist(), table.column("first_seen").cast(us).to_pylist(),
                    table.column("last_seen").cast(us).to_pylist())
