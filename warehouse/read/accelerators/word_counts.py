"""The word counts: how often each word, two-word phrase and laugh/cry run came up per
channel, day and broadcast, and each broadcast's lines of the day (the share's
denominator), so top_words (warehouse/read/queries/words.py) sums a channel's rows of a few
days instead of splitting every line of its period.

How a line is cut (``AGGREGATE``; docs in warehouse/read/queries/words.py, where the plain
rule is written out): emote codes are taken out and the text lowered; runs of two or more
ㅋ or ㅎ are one *laugh* (ㅋㅋ, ㅎㅎ), of ㅠ/ㅜ one *cry* (ㅠㅠ); the rest is cut into runs
of letters and digits; a *word* is such a run of two characters or more not on the stop
list; a *phrase* is two words next to each other in the line, counted on a broadcast's day
only where it was said at least twice (PHRASE_MIN): at 10M lines, 5.7M of the 6.7M phrase
rows were said once, and a channel's week read 250,000 phrase rows to rank a few repeated ones.

Layout (part of the lake contract, see warehouse/lake/layout.py)::

    <root>/word_counts/part-0.parquet
        ``AGGREGATE``'s rows over every chat partition: channel_id, day, chat_channel_id,
        kind (word, phrase, laugh, cry; ``lines`` on the row counting the lines), token,
        uses, lines (lines holding it). Sorted by channel_id, day, chat_channel_id, kind,
        token; zstd.

Declared in warehouse/read/accelerators/__init__.py (WORDS); freshness follows
side_tables.py; it answers only for the lake's own lines (no type filter, no live rows).
"""
from __future__ import annotations

import pyarrow as pa

from warehouse.lake.layout import Lake
from warehouse.read.accelerators import side_tables
from warehouse.read.accelerators.counted_rows import RowsReader

# Function words and fillers that would top every channel's list and say nothing of it.
STOP_WORDS = ("그리고", "근데", "그냥", "이거", "그거", "저거", "이게", "그게", "저게", "여기", "거기", "저기",
              "the", "and", "you", "is", "to", "of", "it", "in", "that")
KINDS = ("word", "phrase", "laugh", "cry")
PHRASE_MIN = 2  # uses a phrase needs on one broadcast's day to be counted there (the HAVING below)
LINES = "lines"  # the kind of the row that counts a broadcast's lines of a day
SCHEMA = pa.schema([
    ("channel_id", pa.string()),
    ("day", pa.date32()),
    ("chat_channel_id", pa.string()),
    ("kind", pa.string()),
    ("token", pa.string()),
    ("uses", pa.int64()),
    ("lines", pa.int64()),
])
# Over ``src`` (chat lines with their hive ``day``); the scan puts chat_rows(...) in its place.
# The stop list is a constant list of the text (no caller's value reaches it).
_STOP = "[" + ", ".join(f"'{w}'" for w in STOP_WORDS) + "]"
AGGREGATE = r"""
    WITH l AS (
        SELECT channel_id, day, chat_channel_id, id,
               lower(regexp_replace(coalesce(message, ''), '\{:[^{}:]+:\}', ' ', 'g')) AS t
        FROM src WHERE user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'),
    c AS (
        SELECT channel_id, day, chat_channel_id, id,
               regexp_extract_all(t, 'ㅋ{2,}|ㅎ{2,}|[ㅠㅜ]{2,}') AS runs,
               regexp_extract_all(regexp_replace(t, 'ㅋ{2,}|ㅎ{2,}|[ㅠㅜ]{2,}', ' ', 'g'), '[\p{L}\p{N}]+') AS ws
        FROM l),
    k AS (
        SELECT *, list_transform(ws, lambda w: length(w) >= 2 AND NOT list_contains(""" + _STOP + """, w)) AS keep
        FROM c),
    t AS (
        SELECT channel_id, day, chat_channel_id, id, 'word' AS kind, unnest([ws[i] FOR i IN range(1, len(ws) + 1) IF keep[i]])
               AS token FROM k
        UNION ALL
        SELECT channel_id, day, chat_channel_id, id, 'phrase',
               unnest([ws[i] || ' ' || ws[i + 1] FOR i IN range(1, len(ws)) IF keep[i] AND keep[i + 1]]) FROM k
        UNION ALL
        SELECT channel_id, day, chat_channel_id, id,
               CASE WHEN r[1] IN ('ㅋ', 'ㅎ') THEN 'laugh' ELSE 'cry' END,
               CASE WHEN r[1] = 'ㅋ' THEN 'ㅋㅋ' WHEN r[1] = 'ㅎ' THEN 'ㅎㅎ' ELSE 'ㅠㅠ' END
        FROM (SELECT channel_id, day, chat_channel_id, id, unnest(runs) AS r FROM c))
    SELECT channel_id, day, chat_channel_id, kind, token, count(*) AS uses, count(DISTINCT id) AS lines
    FROM t GROUP BY channel_id, day, chat_channel_id, kind, token
    HAVING kind <> 'phrase' OR count(*) >= """ + str(PHRASE_MIN) + r"""
    UNION ALL
    SELECT channel_id, day, chat_channel_id, 'lines', '', count(*), count(*)
    FROM l GROUP BY channel_id, day, chat_channel_id"""  # noqa: S608 - constants only
SPEC = side_tables.SideTable("word_counts", SCHEMA, b"chzzk.word_counts", 2, aggregate=AGGREGATE,
                             order="channel_id, day, chat_channel_id, kind, token")
WORD_COUNTS = SPEC.table


def build(lake: Lake, tz: str | None = None, full: bool = False) -> int:
    """Bring the word counts up to date with the chat partitions (`tz` is not used: days are
    the partitions'); return their row count."""
    return side_tables.build(SPEC, lake, full)


def Reader(con=None) -> RowsReader:  # noqa: N802 - the Accelerator's reader factory
    return RowsReader(SPEC)
