"""The users side table: a small, user-sorted summary of the chat partitions that makes
user lookups (``search_users``, ``user_messages``) read one small file instead of every
day of chat.

Layout (part of the lake contract, see warehouse/lake/layout.py)::

    <root>/users/part-0.parquet
        One row per (user_id, channel_id, channel_name, day, nickname) of the chat lines of
        real chatters (user_id not NULL, ``anonymous`` or ``SYSTEM_MESSAGE``), with
        messages (lines), first_seen and last_seen (min/max chat_time). Sorted by user_id,
        channel_id, day, nickname; zstd. ``nickname`` is NULL for lines without one.

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

import duckdb
import pyarrow as pa
import pyarrow.dataset as pads

from warehouse.lake.layout import Lake, is_uri
from warehouse.lake.tables import UTC_US
from warehouse.read.accelerators import side_tables
from warehouse.read.accelerators.side_tables import FreshnessCache as _Freshness
from warehouse.read.accelerators.side_tables import chat_fingerprint  # noqa: F401 - part of this module's API

NAME = "users"
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


class Reader:
    """The users side table as the view ``users_index`` of one warehouse's connection `con`
    (the queries read it with SQL), made again for a new file of a remote lake."""

    def __init__(self, con: duckdb.DuckDBPyConnection) -> None:
        self.con = con
        self.fresh = FreshnessCache()
        self.view: tuple | None = None  # the file version the view was made for

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
