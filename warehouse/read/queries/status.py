"""Where things stand: one row per channel for a period (channel_summary) and the lake's
sync status (sync_status) — the Overview page's two questions.

Conventions are warehouse.read.queries.params' (channels list|None, inclusive start/end days in
DISPLAY_TZ, "messages" = every line but SYSTEM_MESSAGE's, "chatters" = distinct user ids
other than ``anonymous``/``SYSTEM_MESSAGE``). SQL texts are static, values bound.
"""
from __future__ import annotations

import logging
from datetime import date
from zoneinfo import ZoneInfo

import polars as pl
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from warehouse.lake import health
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT, TABLES
from warehouse.read.accelerators import CHATTER_DAYS, MONEY, ROLLUPS, chatter_frames
from warehouse.read.accelerators.base import LAKE_ONLY
from warehouse.read.queries.money import counted_donation
from warehouse.read.queries.params import filter_params
from warehouse.read.warehouse import Warehouse

log = logging.getLogger(__name__)


def channel_summary(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                    end: date | None = None) -> pl.DataFrame:
    """One row per channel with lines in the period: [channel_id, channel_name (latest),
    messages, chatters, subscriber_messages, message_share (subscriber lines / messages),
    subscriber_chatters, chatter_share (subscriber chatters / chatters, null without
    chatters), donations (the donation lines that count, as queries_money counts them),
    donation_amount (their pay_amount, a missing one counting 0), first_chat, last_chat], most messages first.
    A subscriber is as in subscriber_ratio (a tier or a month > 0 on a line); a chatter
    counts as a subscriber when any of their lines in the period says so.

    Answered in memory from the roll-ups (lines, names, first and last line), the chatter
    days (chatters) and the money lines (donations) when all three may answer (the lake's
    own lines in their zone), else from one scan of the chat.

    >>> channel_summary(wh, start=date(2026, 9, 1), end=date(2026, 9, 7))
    """
    return wh.answer(ROLLUPS, lambda r: _summary_in_memory(wh, r, channels, start, end),
                     lambda: _summary_scan(wh, channels, start, end), also=LAKE_ONLY)


_SUMMARY = {"channel_id": pl.String, "channel_name": pl.String, "messages": pl.Int64, "chatters": pl.Int64,
            "subscriber_messages": pl.Int64, "message_share": pl.Float64, "subscriber_chatters": pl.Int64,
            "chatter_share": pl.Float64, "donations": pl.Int64, "donation_amount": pl.Int64,
            "first_chat": pl.Int64, "last_chat": pl.Int64}  # µs since 1970 UTC, made times at the end


def _summary_in_memory(wh: Warehouse, rolled, channels: list[str] | None, start: date | None,
                       end: date | None) -> pl.DataFrame | None:
    """channel_summary from the accelerators, None when one of them may not answer. The
    frame is made from columns at the end (no polars plan: a small channel's whole answer
    costs less than one)."""
    reader = wh.accelerator(CHATTER_DAYS)
    counts = None if reader is None else chatter_frames.chatters(reader, Lake(wh.root), channels, start, end)
    money = wh.accelerator(MONEY) if counts is not None else None
    if money is None:
        return None
    paid = money.channel_totals(channels, start, end)
    rows = rolled.totals(channels, start, end)
    rows.sort(key=lambda r: (-r[2], r[0]))
    cols: dict[str, list] = {k: [] for k in _SUMMARY}
    for ch, name, msgs, subs, first, last in rows:
        chatters, sub_chatters = counts.get(ch, (0, 0))
        donations, amount = paid.get(ch, (0, 0))
        # the shares as DuckDB divides: one IEEE division each, null without chatters
        for k, v in zip(_SUMMARY, (ch, name, msgs, chatters, subs, subs / msgs, sub_chatters,
                                   sub_chatters / chatters if chatters else None, donations, amount, first, last),
                        strict=True):
            cols[k].append(v)
    # first_chat, last_chat: µs since 1970 UTC, a zoned time's physical value
    dtypes = {**_SUMMARY, "first_chat": pl.Datetime("us", wh.tz), "last_chat": pl.Datetime("us", wh.tz)}
    return pl.DataFrame([pl.Series(k, cols[k], pl.Int64).cast(t) if k in ("first_chat", "last_chat")
                         else pl.Series(k, cols[k], t) for k, t in dtypes.items()])


def _summary_scan(wh: Warehouse, channels: list[str] | None, start: date | None, end: date | None) -> pl.DataFrame:
    """channel_summary from one scan of the chat rows of the period."""
    counted = counted_donation(wh)
    return wh.sql("""
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])),
        u AS (SELECT channel_id, user_id, bool_or(is_sub(subscription_tier, subscription_month)) AS sub
              FROM f WHERE is_chatter(user_id) GROUP BY ALL),
        uc AS (SELECT channel_id, count(*) AS chatters, count(*) FILTER (WHERE sub) AS subscriber_chatters
               FROM u GROUP BY channel_id),
        m AS (SELECT channel_id, arg_max(channel_name, chat_time) AS channel_name, count(*) AS messages,
                     count(*) FILTER (WHERE is_sub(subscription_tier, subscription_month))
                         AS subscriber_messages,
                     count(*) FILTER (WHERE """ + counted + """) AS donations,
                     coalesce(sum(pay_amount) FILTER (WHERE """ + counted + """), 0)::BIGINT
                         AS donation_amount,
                     min(chat_time) AS first_chat, max(chat_time) AS last_chat
              FROM f GROUP BY channel_id)
        SELECT m.channel_id, m.channel_name, m.messages, coalesce(uc.chatters, 0) AS chatters,
               m.subscriber_messages, m.subscriber_messages / m.messages AS message_share,
               coalesce(uc.subscriber_chatters, 0) AS subscriber_chatters,
               uc.subscriber_chatters / nullif(uc.chatters, 0) AS chatter_share,
               m.donations, m.donation_amount, m.first_chat, m.last_chat
        FROM m LEFT JOIN uc USING (channel_id)
        ORDER BY m.messages DESC, m.channel_id""",  # noqa: S608 - constant fragments only
                  filter_params(channels, start, end))


def _rows(lake: Lake, path: str) -> int | None:
    if health.unreadable(lake, path):  # damaged: Warehouse.damaged() names it
        return None
    try:
        with lake.fs.open_input_file(path) as f:
            return pq.ParquetFile(f).metadata.num_rows
    except (OSError, ValueError):  # unreadable or not Parquet: say "unknown", not fail
        log.warning("cannot read the Parquet footer of %s", path, exc_info=True)
        return None


def sync_status(wh: Warehouse) -> dict:
    """The lake's state as the last sync left it, and what its files hold now:
    {"last_sync": tz-aware datetime in DISPLAY_TZ or None (no state.json: the lake was not
    written by a sync), "timezone": the sync's day zone or None, "days": chat day
    partitions, "first_day"/"last_day": date or None, "archived_days": days whose
    PostgreSQL rows retention dropped, "tables": {table: rows} for every registry table
    present in the lake (day tables summed over their partitions; from the Parquet
    footers, so nothing is scanned)}.

    >>> sync_status(wh)["last_sync"]
    """
    lake = Lake(wh.root)
    state = lake.state(strict=False)
    last_sync = state.last_sync.astimezone(ZoneInfo(wh.tz)) if state.last_sync else None
    tables: dict[str, int] = {}
    for table in TABLES:
        if table.by_day:
            days = lake.days(table)
            counts = [_rows(lake, lake.part_path(table, d)) for d in days]
            if days:
                tables[table.name] = sum(c or 0 for c in counts)
        elif lake.fs.get_file_info(lake.part_path(table)).type == pafs.FileType.File:
            tables[table.name] = _rows(lake, lake.part_path(table)) or 0
    chat_days = lake.days(CHAT)
    return {
        "last_sync": last_sync,
        "timezone": state.timezone,
        "days": len(chat_days),
        "first_day": chat_days[0] if chat_days else None,
        "last_day": chat_days[-1] if chat_days else None,
        "archived_days": len(state.archived_days),
        "tables": tables,
    }
