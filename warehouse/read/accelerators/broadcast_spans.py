"""The broadcast spans: each broadcast's first and last line per day, so where a broadcast
started anywhere in the lake (peaks' offsets, coverage, donations over a broadcast,
broadcast retention) is a lookup instead of a scan of its channel's whole history.

Layout (part of the lake contract, see warehouse/lake/layout.py)::

    <root>/broadcast_spans/part-0.parquet
        One row per (channel_id, broadcast, day): the first and last line's chat_time
        (``started``, ``ended``) of that broadcast (chat_channel_id) on that day, system
        lines left out. Sorted by channel_id, broadcast, day. A broadcast's span in the
        lake is the min and max over its days.

Declared in warehouse/read/accelerators/__init__.py (BROADCAST_SPANS); freshness follows
warehouse/read/accelerators/side_tables.py. A Warehouse points its ``broadcasts`` macro at
the spans (SPANS_MACRO) while they may answer, the live overlay's days taken from its own
lines (SPANS_LIVE_MACRO), and at a scan of the chat otherwise.
"""
from __future__ import annotations

from datetime import date, datetime

import pyarrow as pa

from warehouse.lake.layout import Lake
from warehouse.lake.tables import UTC_US
from warehouse.read.accelerators import side_tables

SPANS_SCHEMA = pa.schema([
    ("channel_id", pa.string()),
    ("broadcast", pa.string()),
    ("day", pa.date32()),
    ("started", UTC_US),
    ("ended", UTC_US),
])
SPANS = side_tables.SideTable(
    "broadcast_spans", SPANS_SCHEMA, b"chzzk.broadcast_spans", 1,
    aggregate="""
        SELECT channel_id, chat_channel_id AS broadcast, day, min(chat_time) AS started, max(chat_time) AS ended
        FROM src WHERE user_id IS DISTINCT FROM 'SYSTEM_MESSAGE' AND chat_channel_id IS NOT NULL
        GROUP BY channel_id, chat_channel_id, day""",
    order="channel_id, broadcast, day")
BROADCAST_SPANS = SPANS.table

# The ``broadcasts(all_ch, chs)`` macro over the spans (registered as ``broadcast_spans``) ...
SPANS_MACRO = """CREATE OR REPLACE MACRO broadcasts(all_ch, chs) AS TABLE
    SELECT channel_id, broadcast, min(started) AS started, max(ended) AS ended
    FROM broadcast_spans WHERE all_ch OR list_contains(chs, channel_id)
    GROUP BY channel_id, broadcast"""
# ... and with live rows: the spans of the days the overlay does not hold, and the overlay's
# own lines (the table live.compose made of them; ``live_days`` lists its days, rows or not)
SPANS_LIVE_MACRO = """CREATE OR REPLACE MACRO broadcasts(all_ch, chs) AS TABLE
    SELECT channel_id, broadcast, min(started) AS started, max(ended) AS ended FROM (
        SELECT channel_id, broadcast, started, ended FROM broadcast_spans
        WHERE (all_ch OR list_contains(chs, channel_id)) AND day NOT IN (SELECT day FROM live_days)
        UNION ALL
        SELECT channel_id, chat_channel_id, chat_time, chat_time FROM chat_live
        WHERE (all_ch OR list_contains(chs, channel_id)) AND chat_channel_id IS NOT NULL
          AND user_id IS DISTINCT FROM 'SYSTEM_MESSAGE')
    GROUP BY channel_id, broadcast"""


def build(lake: Lake, tz: str | None = None, full: bool = False) -> int:
    """Bring the spans up to date with the chat partitions (instants and partition days:
    no zone of their own, `tz` is not used); return their row count."""
    return side_tables.build(SPANS, lake, full)


class Reader:
    """A warehouse's in-memory copy of the spans (``table``), read again when the file changes."""

    def __init__(self, con=None) -> None:
        self.loaded = side_tables.Loaded(SPANS)
        self.fresh = self.loaded.fresh
        self.table: pa.Table | None = None
        self._spans: dict[tuple[str, str], tuple] | None = None  # of `table`, made when first asked

    def usable(self, lake: Lake, hint: tuple | None = None) -> bool:
        """True when the spans describe the chat partitions as they are now and could be read."""
        table = self.loaded.get(lake, hint)
        if table is not self.table:
            self.table, self._spans = table, None
        return self.table is not None

    def span(self, channel_id: str, broadcast: str) -> tuple[date, date, datetime] | None:
        """(first day, last day, first line's time (UTC)) of the broadcast's lines, or None."""
        if self._spans is None:
            out: dict[tuple[str, str], tuple] = {}
            cols = [self.table.column(c).to_pylist() for c in ("channel_id", "broadcast", "day", "started")]
            for ch, b, day, started in zip(*cols, strict=True):  # sorted by channel, broadcast, day
                have = out.get((ch, b))
                out[(ch, b)] = (day, day, started) if have is None else (have[0], day, min(have[2], started))
            self._spans = out
        return self._spans.get((channel_id, broadcast))
