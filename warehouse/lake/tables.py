"""The tables the sync exports, declared as data: name, Arrow schema, the SELECT that
produces it (column order = schema order), and how it is partitioned and sorted.

Timestamps of the day tables are selected as ``ts AT TIME ZONE 'UTC'`` (a UTC wall-clock
timestamp: exact to the microsecond, independent of the session's TimeZone, and cheaper for
PostgreSQL than numeric epoch arithmetic); the small tables' as integer microseconds since
the epoch (extract.PG_TYPES). JSON columns as text. The SELECTs take only bound parameters, never values
formatted into the text.

A table whose PostgreSQL rows may hold JSON compressed (``compact``: core/raw_codec.py,
migration 011) selects each such column twice: as text (NULL for a compact row) among the
schema's columns, and its zstd frame and dictionary id after them (``read_schema``); the
extract turns each batch into ``schema`` (warehouse/sync/compact.py) before anything else sees it."""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

UTC_US = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Compact:
    """JSON text columns that a row may hold compressed instead (the compact chat rows of issue
    17): ``frames`` pairs each text column of the schema with the bytea column holding its
    zstd frame, ``dictionary`` names the column holding the raw_dictionary id the frames were
    compressed with (NULL: none). A row whose frame is set takes its text from the frame."""
    frames: tuple[tuple[str, str], ...]   # (text column in the schema, bytea column in PostgreSQL)
    dictionary: str

    @property
    def fields(self) -> list[pa.Field]:
        """The columns the SELECT gives after the schema's: the frames, then the dictionary id."""
        return [*(pa.field(frame, pa.binary()) for _, frame in self.frames), pa.field(self.dictionary, pa.int16())]

    def select(self, alias: str) -> str:
        """Those columns as a SELECT list fragment (constant names, with `alias`)."""
        return "".join(f", {alias}.{f.name}" for f in self.fields)


@dataclass(frozen=True)
class Table:
    """One exported table. Day-partitioned tables carry the SQL that lists their days:
    ``days_all`` (every day, binds %(tz)s) and ``days_touched`` (days of rows changed
    since the last sync, binds %(tz)s, %(max_id)s, %(since)s). ``schema=None`` means
    "every column of ``source`` as PostgreSQL has it", resolved at sync time
    (extract.resolve), for small tables whose columns another component owns."""
    name: str                 # folder under the lake root
    schema: pa.Schema | None  # the Parquet file's columns, in order (None: from the catalog)
    select: str | None        # SQL; %(start)s/%(end)s bound for day-partitioned tables
    by_day: bool              # True: <name>/day=YYYY-MM-DD/part-0.parquet, else <name>/part-0.parquet
    source: str = ""          # the PostgreSQL table read; a missing one is skipped
    days_all: str | None = None
    days_touched: str | None = None
    max_id: str | None = None  # SQL: the high-water mark of the source's ids
    # Optional speed-up for day tables: ``split`` lists keys (no parameters) and
    # ``select_split`` returns the rows of one key (binds %(key)s too); the concatenation
    # over the keys, in the order listed, is exactly ``select``'s result, in its order.
    split: str | None = None
    select_split: str | None = None
    # Faster still, for the binary reader (extract_arrow.day_batches): ``split_sizes`` lists
    # the keys that have rows in [%(start)s, %(end)s) with their order value and row count,
    # in output order; ``select_keys`` returns the rows of a list of keys (binds %(keys)s),
    # in no particular order, with the key (as text) in ``group_order``'s first column, which
    # the reader sorts by the key's place in ``split_sizes`` (the others ascending) and then
    # fills, with the rest of ``group_fill``, from the values ``split_sizes`` gives after the
    # key (its second value, then its fourth on; the third is the row count). Consecutive
    # keys are read together up to a row cap, so a day is a few heap-order scans instead of
    # one index-order scan per key.
    split_sizes: str | None = None
    select_keys: str | None = None
    group_order: tuple[str, ...] = ()
    group_fill: tuple[str, ...] = ()
    compact: Compact | None = None  # columns that may come compressed (see the module docstring)

    @property
    def read_schema(self) -> pa.Schema:
        """The columns the SELECTs give: ``schema``, then the compact columns' frames and dictionary."""
        if self.compact is None:
            return self.schema
        return pa.schema([*self.schema, *self.compact.fields])


CHAT_SCHEMA = pa.schema([
    ("id", pa.int64()),
    ("channel_id", pa.string()),
    ("channel_name", pa.string()),
    ("chat_channel_id", pa.string()),
    ("user_id", pa.string()),
    ("nickname", pa.string()),
    ("message", pa.string()),
    ("message_type", pa.string()),
    ("msg_type_code", pa.int32()),
    ("message_status", pa.string()),
    ("chat_time", UTC_US),
    ("created_at", UTC_US),
    ("subscription_month", pa.int32()),
    ("subscription_tier", pa.int32()),
    ("os_type", pa.string()),
    ("user_role", pa.string()),
    ("pay_amount", pa.int32()),
    ("pay_type", pa.string()),
    ("donation_type", pa.string()),
    ("donation_id", pa.string()),
    ("is_anonymous", pa.bool_()),
    ("gift_receiver_id", pa.string()),
    ("gift_receiver_nickname", pa.string()),
    ("gift_tier", pa.int32()),
    ("color_code", pa.string()),
    ("badges", pa.string()),          # JSON text
    ("member_count", pa.int32()),
    ("blind_type", pa.string()),
    ("blinded_at", UTC_US),
    ("raw", pa.string()),             # JSON text
    ("dedupe_key", pa.string()),
    ("mission_id", pa.string()),      # migration 010 (README, "How donations are counted")
    ("donation_status", pa.string()),
    ("gift_id", pa.string()),
    ("gift_quantity", pa.int32()),
])
TIMESTAMP_COLUMNS = frozenset(f.name for f in CHAT_SCHEMA if f.type == UTC_US) | {"updated_at"}

# raw and badges: jsonb, or zstd frames for the rows stored since issue 17 (migration 011)
CHAT_COMPACT = Compact(frames=(("badges", "badges_z"), ("raw", "raw_z")), dictionary="zdict")
_CHAT_COLUMNS = (
    "SELECT c.id, ch.channel_id, ch.channel_name, c.chat_channel_id, c.user_id, c.nickname,"  # noqa: S608 - constants
    " c.message, c.message_type, c.msg_type_code, c.message_status,"
    " (c.chat_time AT TIME ZONE 'UTC') AS chat_time,"
    " (c.created_at AT TIME ZONE 'UTC') AS created_at,"
    " c.subscription_month, c.subscription_tier, c.os_type, c.user_role, c.pay_amount,"
    " c.pay_type, c.donation_type, c.donation_id, c.is_anonymous, c.gift_receiver_id,"
    " c.gift_receiver_nickname, c.gift_tier, c.color_code, c.badges::text, c.member_count,"
    " c.blind_type, (c.blinded_at AT TIME ZONE 'UTC') AS blinded_at, c.raw::text, c.dedupe_key,"
    " c.mission_id, c.donation_status, c.gift_id, c.gift_quantity" + CHAT_COMPACT.select("c")
    + " FROM stream_chat c JOIN stream_channel ch ON ch.id = c.channel_fk"
)
_NOT_OPTED_OUT = " AND NOT EXISTS (SELECT 1 FROM opt_out_user o WHERE o.user_id = c.user_id)"
# One day, all channels (the reference: what a partition holds, in its order).
CHAT_SELECT = (
    _CHAT_COLUMNS
    + " WHERE c.chat_time >= %(start)s AND c.chat_time < %(end)s" + _NOT_OPTED_OUT
    + " ORDER BY ch.channel_id, c.chat_time, c.id"
)
# The same day one channel at a time, channels in channel_id order: each query is a range of
# the index stream_chat (channel_fk, chat_time, id) read in order, so PostgreSQL neither
# scans the whole table nor sorts the day's wide rows (docs/BENCHMARKS.md).
CHAT_CHANNELS_ORDER = "SELECT id FROM stream_channel ORDER BY channel_id"
CHAT_SELECT_CHANNEL = (
    _CHAT_COLUMNS
    + " WHERE c.channel_fk = %(key)s AND c.chat_time >= %(start)s AND c.chat_time < %(end)s"
    + _NOT_OPTED_OUT + " ORDER BY c.chat_time, c.id"
)
# The day's channels with their row counts, in channel_id order (an index-only count), and
# the rows of a set of channels in heap order (a bitmap scan: no per-channel random access,
# no sort in PostgreSQL); the reader sorts each set by channel, chat_time, id.
CHAT_CHANNEL_SIZES = (
    "SELECT ch.id, ch.channel_id, count(*), ch.channel_name"
    " FROM stream_chat c JOIN stream_channel ch ON ch.id = c.channel_fk"
    " WHERE c.chat_time >= %(start)s AND c.chat_time < %(end)s"
    " GROUP BY ch.id, ch.channel_id, ch.channel_name ORDER BY ch.channel_id"
)
# No join: channel_id carries the channel's key (channel_fk as text) and channel_name is
# NULL; the reader fills both from CHAT_CHANNEL_SIZES (10 % less work for PostgreSQL).
CHAT_SELECT_CHANNELS = (
    _CHAT_COLUMNS.replace("ch.channel_id, ch.channel_name,", "c.channel_fk::text, NULL::text,")
    .replace(" JOIN stream_channel ch ON ch.id = c.channel_fk", "")
    + " WHERE c.channel_fk = ANY(%(keys)s) AND c.chat_time >= %(start)s AND c.chat_time < %(end)s"
    + _NOT_OPTED_OUT
)

CHANNELS_SCHEMA = pa.schema([
    ("channel_id", pa.string()),
    ("channel_name", pa.string()),
    ("follower_count", pa.int32()),
    ("channel_image_url", pa.string()),
    ("enabled", pa.bool_()),
    ("created_at", UTC_US),
    ("updated_at", UTC_US),
])

CHANNELS_SELECT = (
    "SELECT channel_id, channel_name, follower_count, channel_image_url, enabled,"
    " (extract(epoch from created_at) * 1000000)::bigint,"
    " (extract(epoch from updated_at) * 1000000)::bigint"
    " FROM stream_channel ORDER BY channel_id"
)

EVENTS_SCHEMA = pa.schema([
    ("id", pa.int64()),
    ("channel_id", pa.string()),
    ("chat_channel_id", pa.string()),
    ("cmd", pa.int32()),
    ("event_type", pa.string()),
    ("event_time", UTC_US),
    ("received_at", UTC_US),
    ("body", pa.string()),            # JSON text
    ("dedupe_key", pa.string()),
])

EVENTS_SELECT = (
    "SELECT e.id, ch.channel_id, e.chat_channel_id, e.cmd, e.event_type,"
    " (e.event_time AT TIME ZONE 'UTC') AS event_time,"
    " (e.received_at AT TIME ZONE 'UTC') AS received_at, e.body::text, e.dedupe_key"
    " FROM events e LEFT JOIN stream_channel ch ON ch.id = e.channel_fk"
    " WHERE coalesce(e.event_time, e.received_at) >= %(start)s"
    " AND coalesce(e.event_time, e.received_at) < %(end)s"
    " ORDER BY ch.channel_id, coalesce(e.event_time, e.received_at), e.id"
)

# Days touched since the last sync: new rows (id above the mark), rows created, blinded or
# updated since (a transaction that began before the last snapshot but committed after it
# is still caught: `since` is the last start minus the sync's overlap), and deleted rows
# (tombstones; forget-user and manual deletes).
CHAT = Table(
    "chat", CHAT_SCHEMA, CHAT_SELECT, by_day=True, source="stream_chat",
    days_all="SELECT DISTINCT (chat_time AT TIME ZONE %(tz)s)::date FROM stream_chat ORDER BY 1",
    days_touched=(
        "SELECT (chat_time AT TIME ZONE %(tz)s)::date FROM stream_chat"
        " WHERE id > %(max_id)s OR created_at > %(since)s OR blinded_at > %(since)s"
        " OR updated_at > %(since)s"
        " UNION SELECT (chat_time AT TIME ZONE %(tz)s)::date FROM stream_chat_tombstone"
        " WHERE deleted_at > %(since)s ORDER BY 1"),
    max_id="SELECT coalesce(max(id), 0) FROM stream_chat",
    split=CHAT_CHANNELS_ORDER, select_split=CHAT_SELECT_CHANNEL,
    split_sizes=CHAT_CHANNEL_SIZES, select_keys=CHAT_SELECT_CHANNELS, group_order=("channel_id", "chat_time", "id"),
    group_fill=("channel_id", "channel_name"), compact=CHAT_COMPACT,
)
EVENTS = Table(
    "events", EVENTS_SCHEMA, EVENTS_SELECT, by_day=True, source="events",
    days_all=("SELECT DISTINCT (coalesce(e.event_time, e.received_at) AT TIME ZONE %(tz)s)::date"
              " FROM events e ORDER BY 1"),
    days_touched=("SELECT DISTINCT (coalesce(e.event_time, e.received_at) AT TIME ZONE %(tz)s)::date"
                  " FROM events e"
                  " WHERE e.id > %(max_id)s OR e.received_at > %(since)s ORDER BY 1"),
    max_id="SELECT coalesce(max(id), 0) FROM events",
)
CHANNELS = Table("channels", CHANNELS_SCHEMA, CHANNELS_SELECT, by_day=False, source="stream_channel")
# Broadcasts and capture coverage (migration 003, the collector's): small, rewritten whole
# on every sync, columns as PostgreSQL has them.
LIVE_SESSION = Table("live_session", None, None, by_day=False, source="live_session")
CAPTURE_INTERVAL = Table("capture_interval", None, None, by_day=False, source="capture_interval")
# The title / category / viewer timeline of every broadcast (a row on each change and every
# few minutes while live; session_fk = live_session.id): small enough to rewrite whole.
LIVE_SESSION_POLL = Table("live_session_poll", None, None, by_day=False, source="live_session_poll")

# Each channel's follower count per day (migration 014, collector/followers.py): small.
CHANNEL_FOLLOWER_DAY = Table("channel_follower_day", None, None, by_day=False, source="channel_follower_day")

TABLES: tuple[Table, ...] = (CHAT, EVENTS, CHANNELS, LIVE_SESSION, CAPTURE_INTERVAL, LIVE_SESSION_POLL,
                             CHANNEL_FOLLOWER_DAY)
DAY_TABLES: tuple[Table, ...] = tuple(t for t in TABLES if t.by_day)
