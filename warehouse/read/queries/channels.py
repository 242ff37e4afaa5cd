"""The channels the lake holds and its days: pickers and bounds."""
from __future__ import annotations

import os
import time
import weakref
from datetime import date

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.lake.layout import is_uri
from warehouse.read.accelerators import ROLLUPS
from warehouse.read.queries import user_rows
from warehouse.read.queries.params import filter_params
from warehouse.read.warehouse import Warehouse


def list_channels(wh: Warehouse) -> pl.DataFrame:
    """One row per channel: [channel_id, channel_name, messages, chatters, first_chat,
    last_chat], most messages first. Channels without chat in the lake have 0 messages.

    >>> list_channels(wh).filter(pl.col("messages") > 0)
    """
    return wh.sql("""
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])),
        c AS (
            SELECT channel_id, arg_max(channel_name, chat_time) AS chat_name, count(*) AS messages,
                   count(DISTINCT user_id) FILTER (WHERE is_chatter(user_id)) AS chatters,
                   min(chat_time) AS first_chat, max(chat_time) AS last_chat
            FROM f GROUP BY channel_id)
        SELECT coalesce(c.channel_id, ch.channel_id) AS channel_id,
               coalesce(ch.channel_name, c.chat_name) AS channel_name,
               coalesce(c.messages, 0) AS messages, coalesce(c.chatters, 0) AS chatters,
               c.first_chat, c.last_chat
        FROM c FULL OUTER JOIN channels ch ON ch.channel_id = c.channel_id
        ORDER BY messages DESC, channel_id""", filter_params(None, None, None))


def channel_directory(wh: Warehouse) -> pl.DataFrame:
    """list_channels without the chatter counts and times: [channel_id, channel_name,
    messages], same rows, same order — what a channel picker needs, at about a third of
    the cost over a whole lake (no distinct count). From the roll-ups' day rows while they
    may answer (the lake's own lines), else from the chat.

    >>> names = dict(channel_directory(wh).select("channel_id", "channel_name").iter_rows())
    """
    def rolled(reader) -> pl.DataFrame | None:
        if not wh.lake_only():
            return None  # live rows or a type filter: the chat's own count
        chat = {}
        for ch, name, messages, *_ in reader.totals(None, None, None):
            if name is None:
                return None  # the latest name is then an earlier day's: the scan knows it
            chat[ch] = (name, messages)
        rows, listed = [], set()
        for cid, name in user_rows.channel_rows(wh):  # the SQL's FULL OUTER JOIN on channel_id
            if cid is None:
                return None
            listed.add(cid)
            chat_name, messages = chat.get(cid, (None, 0))
            rows.append((cid, name if name is not None else chat_name, messages))
        rows += [(cid, name, messages) for cid, (name, messages) in chat.items() if cid not in listed]
        rows.sort(key=lambda r: (-r[2], r[0]))
        return pl.DataFrame(rows, schema=_DIRECTORY, orient="row")

    return wh.answer(ROLLUPS, rolled, lambda: wh.sql("""
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])),
        c AS (
            SELECT channel_id, arg_max(channel_name, chat_time) AS chat_name, count(*) AS messages
            FROM f GROUP BY channel_id)
        SELECT coalesce(c.channel_id, ch.channel_id) AS channel_id,
               coalesce(ch.channel_name, c.chat_name) AS channel_name,
               coalesce(c.messages, 0) AS messages
        FROM c FULL OUTER JOIN channels ch ON ch.channel_id = c.channel_id
        ORDER BY messages DESC, channel_id""", filter_params(None, None, None)))


_DIRECTORY = {"channel_id": pl.Utf8, "channel_name": pl.Utf8, "messages": pl.Int64}


def date_bounds(wh: Warehouse) -> tuple[date | None, date | None]:
    """(first day, last day) in the lake, or (None, None) when it is empty. For the lake's
    own lines on local disk: the first and last day partition the chat view reads whose
    footer counts rows (read once per file version), no query.

    >>> first, last = date_bounds(wh)
    """
    wh.chat_columns()  # the views as the lake is now
    if wh.lake_only() and not is_uri(wh.root):
        got = _bounds(wh)
        if got is not None:
            return got
    row = wh.sql("SELECT min(day) AS first, max(day) AS last FROM chat").row(0)
    return row[0], row[1]


# per warehouse: (its files key, the chat files list its views read, when checked, the answer)
_BOUNDS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_ROWS: dict[tuple, int] = {}  # (file, size, mtime_ns, inode) -> rows in its footer
_RECHECK_SECONDS = 1.0  # a day file rewritten by hand (not through Lake.write) is seen within this


def _bounds(wh: Warehouse) -> tuple[date | None, date | None] | None:
    """date_bounds from the day files the chat view reads (wh.damage.chat_files, oldest day
    first): the answer stands while the lake's files key and that list are unchanged (a
    partition written through Lake.write changes the key) and for _RECHECK_SECONDS; then
    every file is looked at again (a stat, and its footer when it changed). None when a file
    cannot be read: the query answers (and reports it)."""
    files = wh.damage.chat_files
    now = time.monotonic()
    held = _BOUNDS.get(wh)
    if held is not None and held[0] == wh.files_key and held[1] is files and now - held[2] < _RECHECK_SECONDS:
        return held[3]
    days = []
    try:
        for path in files:
            st = os.stat(path)
            key = (path, st.st_size, st.st_mtime_ns, st.st_ino)
            rows = _ROWS.get(key)
            if rows is None:
                rows = pq.read_metadata(path).num_rows
                if len(_ROWS) > 100_000:
                    _ROWS.clear()
                _ROWS[key] = rows
            if rows:
                days.append(date.fromisoformat(os.path.basename(os.path.dirname(path))[len("day="):]))
    except (OSError, ValueError, pa.ArrowException):
        return None
    got = (min(days), max(days)) if days else (None, None)
    _BOUNDS[wh] = (wh.files_key, files, now, got)
    return got


def daily_counts(wh: Warehouse) -> pl.DataFrame:
    """Rows per day partition and channel: [day, channel_id, messages]. Unlike the other
    functions this counts every stored line, system lines included (it mirrors
    PostgreSQL's count(*) per day).

    >>> daily_counts(wh).group_by("day").agg(pl.col("messages").sum())
    """
    return wh.sql("""SELECT day, channel_id, count(*) AS messages FROM chat
                     GROUP BY day, channel_id ORDER BY day, channel_id""")
