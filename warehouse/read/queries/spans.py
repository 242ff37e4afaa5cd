"""Where one broadcast lies in the lake: the days of its first and last line and the time
of its first, for the per-broadcast reports (warehouse.read.queries.broadcast, audience's
broadcast_top_chatters, money's broadcast_donors)."""
from __future__ import annotations

from datetime import date
from zoneinfo import ZoneInfo

from warehouse.read.accelerators import BROADCAST_SPANS
from warehouse.read.accelerators.base import Need
from warehouse.read.warehouse import Warehouse


def broadcast_span(wh: Warehouse, channel_id: str, broadcast: str) -> tuple[date, date, object] | None:
    """(first day, last day, first line's time) of the broadcast's lines, or None: from the
    broadcast spans while they describe ``chat`` exactly (no live rows), else a scan."""
    span = wh.answer(BROADCAST_SPANS, lambda r: _looked_up(wh, r.span(channel_id, broadcast)),
                     lambda: _scanned(wh, channel_id, broadcast), also=frozenset({Need.NO_LIVE_ROWS}))
    return span or None


def _looked_up(wh: Warehouse, span: tuple | None) -> tuple | bool:
    """The span with its time in the warehouse's zone (as the scan gives it); False (not
    None, which would make Warehouse.answer scan) when there is no such broadcast."""
    return False if span is None else (span[0], span[1], span[2].astimezone(ZoneInfo(wh.tz)))


def _scanned(wh: Warehouse, channel_id: str, broadcast: str) -> tuple | None:
    row = wh.sql("""SELECT min(day), max(day), min(chat_time) FROM chat
                    WHERE channel_id = ? AND chat_channel_id = ?
                      AND user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'""", [channel_id, broadcast]).row(0)
    return None if row[0] is None else row
