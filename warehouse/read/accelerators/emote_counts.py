"""The emote counts: how often each emote code ``{:name:}`` was used, per channel, day,
broadcast, user and minute, with the image URL the line's ``extras.emojis`` gave it, and
the lines per channel, day and broadcast (the share's denominator), so the emote
questions (warehouse/read/queries/emotes.py) read a channel's rows of a few days instead of
parsing every line's text and raw JSON.

Layout (part of the lake contract, see warehouse/lake/layout.py)::

    <root>/emote_counts/part-0.parquet
        ``AGGREGATE``'s rows over every chat partition, sorted by channel_id, day,
        chat_channel_id, kind, user_id, emote, minute; zstd. Three kinds of row: *emote*:
        one emote's uses in one minute by one user, the lines holding it, those that are
        only emotes, the greatest URL ``extras.emojis`` named it with; *chatter*: a user's
        lines of that channel, day and broadcast, those holding an emote, those only of
        emotes, their codes — only for users who used one there (a row per chatter and day
        would be most of the table); *total*: the same of every line of the broadcast's day.

Declared in warehouse/read/accelerators/__init__.py (EMOTES); freshness follows
side_tables.py; it answers only for the lake's own lines (no type filter, no live rows).
The scan (queries/emotes.py) runs the same ``AGGREGATE`` over ``chat_rows``, so both give
the same rows and one reduction answers from either.
"""
from __future__ import annotations

import pyarrow as pa

from warehouse.lake.layout import Lake
from warehouse.lake.tables import UTC_US
from warehouse.read.accelerators import side_tables
from warehouse.read.accelerators.counted_rows import RowsReader

# An emote code: ``{:`` name ``:}``, the name without braces or colons (CHZZK's are like d_47).
CODE = r"\{:([^{}:]+):\}"
CODE_ONLY = r"\{:[^{}:]+:\}"
SCHEMA = pa.schema([
    ("kind", pa.string()),            # emote, chatter or total (KINDS)
    ("channel_id", pa.string()),
    ("day", pa.date32()),
    ("chat_channel_id", pa.string()),
    ("user_id", pa.string()),
    ("nickname", pa.string()),        # the chatter's name on their latest line of the group
    ("last_time", UTC_US),            # the group's latest line
    ("minute", UTC_US),               # an emote row's minute
    ("emote", pa.string()),           # an emote row's code
    ("url", pa.string()),             # the greatest URL extras.emojis gave the emote (NULL: none)
    ("uses", pa.int64()),             # codes (a line may hold one several times)
    ("lines", pa.int64()),            # emote row: lines holding it; else all the lines
    ("emote_lines", pa.int64()),      # lines holding any emote
    ("emote_only", pa.int64()),       # lines of nothing but emote codes and blanks
])
KINDS = ("emote", "chatter", "total")
# Over ``src`` (chat lines with their hive ``day``); the scan puts chat_rows(...) in its place.
# extras is a JSON string inside raw (or an object); a raw, extras or emojis that is not
# JSON, not an object or missing gives no URL (try), never an error. ``s`` is read twice,
# not materialized: raw (~1 kB a line) is read only by ``e``, for the lines holding "{:"
# (materialized for every line, it was two thirds of the build); each line's chatter
# numbers are summed per chatter once (``u``) and the totals summed from those; only a line
# holding a code is searched for text besides its codes (CASE: AND evaluates both sides).
AGGREGATE = r"""
    WITH s AS NOT MATERIALIZED (SELECT * FROM src WHERE user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'),
    f AS (
        SELECT channel_id, day, chat_channel_id, user_id, nickname, chat_time, len(codes) AS uses,
               len(codes) > 0 AS has_code,
               CASE WHEN len(codes) > 0 THEN regexp_replace(message, '""" + CODE_ONLY + r"""|[ \t\r\n]', '', 'g') = ''
                    ELSE false END AS bare
        FROM (SELECT *, CASE WHEN contains(message, '{:') THEN regexp_extract_all(message, '""" + CODE + r"""', 1)
                             ELSE []::VARCHAR[] END AS codes FROM s)),
    u AS (
        SELECT channel_id, day, chat_channel_id, user_id, arg_max(nickname, chat_time) AS nickname,
               max(chat_time) AS last_time, sum(uses)::BIGINT AS uses, count(*) AS lines,
               count(*) FILTER (WHERE has_code) AS emote_lines, count(*) FILTER (WHERE bare) AS emote_only
        FROM f GROUP BY channel_id, day, chat_channel_id, user_id),
    e AS (
        SELECT channel_id, day, chat_channel_id, user_id, nickname, chat_time, id,
               regexp_replace(message, '""" + CODE_ONLY + r"""|[ \t\r\n]', '', 'g') = '' AS bare,
               try(json_transform(json_extract_string(json_extract_string(raw, '$.extras'), '$.emojis'),
                                  '"MAP(VARCHAR, VARCHAR)"')) AS urls,
               unnest(regexp_extract_all(message, '""" + CODE + r"""', 1)) AS emote
        FROM s WHERE contains(message, '{:')),
    per_line AS (
        SELECT channel_id, day, chat_channel_id, user_id, id, emote, any_value(nickname) AS nickname,
               any_value(chat_time) AS chat_time, bool_or(bare) AS bare, count(*) AS uses,
               max(urls[emote]) AS url
        FROM e GROUP BY channel_id, day, chat_channel_id, user_id, id, emote)
    SELECT 'emote' AS kind, channel_id, day, chat_channel_id, user_id, arg_max(nickname, chat_time) AS nickname,
           max(chat_time) AS last_time, date_trunc('minute', chat_time) AS minute, emote, max(url) AS url,
           sum(uses)::BIGINT AS uses, count(*) AS lines, count(*) AS emote_lines,
           count(*) FILTER (WHERE bare) AS emote_only
    FROM per_line GROUP BY channel_id, day, chat_channel_id, user_id, date_trunc('minute', chat_time), emote
    UNION ALL
    SELECT 'chatter', channel_id, day, chat_channel_id, user_id, nickname, last_time, NULL, NULL, NULL, uses, lines,
           emote_lines, emote_only
    FROM u WHERE emote_lines > 0
    UNION ALL
    SELECT 'total', channel_id, day, chat_channel_id, NULL, NULL, max(last_time), NULL, NULL, NULL,
           sum(uses)::BIGINT, sum(lines)::BIGINT, sum(emote_lines)::BIGINT, sum(emote_only)::BIGINT
    FROM u GROUP BY channel_id, day, chat_channel_id"""  # noqa: S608 - constants only
SPEC = side_tables.SideTable("emote_counts", SCHEMA, b"chzzk.emote_counts", 2, aggregate=AGGREGATE,
                             order="channel_id, day, chat_channel_id, kind, user_id, emote, minute")
EMOTE_COUNTS = SPEC.table


def build(lake: Lake, tz: str | None = None, full: bool = False) -> int:
    """Bring the emote counts up to date with the chat partitions (minutes are instants and
    days the partitions': `tz` is not used); return their row count."""
    return side_tables.build(SPEC, lake, full)


def Reader(con=None) -> RowsReader:  # noqa: N802 - the Accelerator's reader factory
    return RowsReader(SPEC)
