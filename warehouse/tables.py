"""The tables the sync exports, declared as data: name, Arrow schema, the SELECT that
produces it (column order = schema order), and how it is partitioned and sorted.

Timestamps are selected as integer microseconds since the epoch (cheap to transfer and
exact); JSON columns as text. The SELECTs take only bound parameters, never values
formatted into the text."""
from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

UTC_US = pa.timestamp("us", tz="UTC")


@dataclass(frozen=True)
class Table:
    name: str                 # folder under the lake root
    schema: pa.Schema         # the Parquet file's columns, in order
    select: str               # SQL; %(start)s/%(end)s bound for day-partitioned tables
    by_day: bool              # True: <name>/day=YYYY-MM-DD/part-0.parquet, else <name>/part-0.parquet


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
])
TIMESTAMP_COLUMNS = frozenset(f.name for f in CHAT_SCHEMA if f.type == UTC_US) | {"updated_at"}

CHAT_SELECT = (
    "SELECT c.id, ch.channel_id, ch.channel_name, c.chat_channel_id, c.user_id, c.nickname,"
    " c.message, c.message_type, c.msg_type_code, c.message_status,"
    " (extract(epoch from c.chat_time) * 1000000)::bigint,"
    " (extract(epoch from c.created_at) * 1000000)::bigint,"
    " c.subscription_month, c.subscription_tier, c.os_type, c.user_role, c.pay_amount,"
    " c.pay_type, c.donation_type, c.donation_id, c.is_anonymous, c.gift_receiver_id,"
    " c.gift_receiver_nickname, c.gift_tier, c.color_code, c.badges::text, c.member_count,"
    " c.blind_type, (extract(epoch from c.blinded_at) * 1000000)::bigint, c.raw::text, c.dedupe_key"
    " FROM stream_chat c JOIN stream_channel ch ON ch.id = c.channel_fk"
    " WHERE c.chat_time >= %(start)s AND c.chat_time < %(end)s"
    " ORDER BY ch.channel_id, c.chat_time, c.id"
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

CHAT = Table("chat", CHAT_SCHEMA, CHAT_SELECT, by_day=True)
CHANNELS = Table("channels", CHANNELS_SCHEMA, CHANNELS_SELECT, by_day=False)
TABLES: tuple[Table, ...] = (CHAT, CHANNELS)
