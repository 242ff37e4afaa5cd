"""Where one broadcast lies in the lake: the days of its first and last line and the time
of its first, for the per-broadcast reports (warehouse.read.queries.broadcast, audience's
broadcast_top_chatters, money's broadcast_donors)."""
from __future__ import annotations

from datetime import date

from warehouse.read.warehouse import Warehouse


def broadcast_span(wh: Warehouse, channel_id: str, broadcast: str) -> tuple[date, date, object] | None:
    """(first day, last day, first line's time) of the broadcast's lines, or None."""
    row = wh.sql("""SELECT min(day), max(day), min(chat_time) FROM chat
                    WHERE channel_id = ? AND chat_channel_id = ?
                      AND user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'""", [channel_id, broadcast]).row(0)
    return None if row[0] is None else row
