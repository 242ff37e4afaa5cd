"""One user: finding them by name or id, and reading their lines."""
from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from warehouse.lake.layout import Lake, is_uri
from warehouse.read import text_slices
from warehouse.read.accelerators import USER_TAIL, USERS, user_tail
from warehouse.read.queries import user_search
from warehouse.read.queries.params import ANONYMOUS_USER, SYSTEM_USER, filter_params
from warehouse.read.warehouse import Warehouse


def search_users(wh: Warehouse, query: str, channels: list[str] | None = None,
                 start: date | None = None, end: date | None = None, limit: int = 100) -> pl.DataFrame:
    """Users whose nickname contains `query` (case-insensitive, any script: "김" finds
    "김치"; %, _, quotes and backslashes match literally) or whose user_id equals it:
    [user_id, nickname (latest), nicknames (all, in order of first use), messages,
    channels (channel names, sorted), first_seen, last_seen], most messages first.
    A blank query finds nobody.

    >>> search_users(wh, "김", limit=20)
    """
    query = (query or "").strip()
    if not query:
        query = "\x00no match\x00"
    params = filter_params(channels, start, end) + [query, query, int(limit)]
    if channels and int(limit) >= 0 and wh.accelerate:
        wh.chat_columns()  # the views as the lake is now
        if wh.lake_only() and not is_uri(wh.root):  # the lake's own lines, on this machine
            got = user_search.search(wh, query, list(channels), params[0], params[1], int(limit))
            if got is not None:
                return got
    return wh.answer(USERS, lambda _: wh.sql(_SEARCH_USERS_INDEXED, params), lambda: wh.sql(_SEARCH_USERS, params))


# search_users over the chat (always right, reads every day) ...
_SEARCH_USERS = """
    WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])),
    hit AS (
        SELECT DISTINCT user_id FROM f
        WHERE is_chatter(user_id) AND (strpos(lower(nickname), lower(?)) > 0 OR user_id = ?)),
    ur AS (SELECT f.* FROM f JOIN hit USING (user_id)),
    names AS (
        SELECT user_id, list(nickname ORDER BY first_t, nickname) AS nicknames
        FROM (SELECT user_id, nickname, min(chat_time) AS first_t FROM ur
              WHERE nickname IS NOT NULL GROUP BY user_id, nickname)
        GROUP BY user_id)
    SELECT r.user_id, arg_max(r.nickname, r.chat_time) AS nickname,
           any_value(names.nicknames) AS nicknames, count(*) AS messages,
           list_sort(list(DISTINCT r.channel_name)) AS channels,
           min(r.chat_time) AS first_seen, max(r.chat_time) AS last_seen
    FROM ur r LEFT JOIN names USING (user_id)
    GROUP BY r.user_id ORDER BY messages DESC, r.user_id LIMIT ?"""
# ... and the same answer from the users side table (one row per user, channel, day and
# nickname, chatters only): sums of the per-group counts, min/max of their spans.
_SEARCH_USERS_INDEXED = """
    WITH f AS (
        SELECT * FROM users_index
        WHERE day BETWEEN ? AND ? AND (? OR list_contains(?::VARCHAR[], channel_id))),
    hit AS (SELECT DISTINCT user_id FROM f WHERE strpos(lower(nickname), lower(?)) > 0 OR user_id = ?),
    ur AS (SELECT f.* FROM f JOIN hit USING (user_id)),
    names AS (
        SELECT user_id, list(nickname ORDER BY first_t, nickname) AS nicknames
        FROM (SELECT user_id, nickname, min(first_seen) AS first_t FROM ur
              WHERE nickname IS NOT NULL GROUP BY user_id, nickname)
        GROUP BY user_id)
    SELECT r.user_id, arg_max(r.nickname, r.last_seen) AS nickname,
           any_value(names.nicknames) AS nicknames, sum(r.messages)::BIGINT AS messages,
           list_sort(list(DISTINCT r.channel_name)) AS channels,
           min(r.first_seen) AS first_seen, max(r.last_seen) AS last_seen
    FROM ur r LEFT JOIN names USING (user_id)
    GROUP BY r.user_id ORDER BY messages DESC, r.user_id LIMIT ?"""


def user_messages(wh: Warehouse, user_id: str, channels: list[str] | None = None,
                  start: date | None = None, end: date | None = None,
                  limit: int = 1000, offset: int = 0) -> pl.DataFrame:
    """One user's lines, newest first: [chat_time, channel_id, channel_name, nickname,
    message_type, message, message_status, pay_amount, subscription_tier,
    subscription_month]. Page with limit/offset. A page the user tail holds is a slice of
    it (warehouse/read/accelerators/user_tail.py); for a few channels, others are the
    channels' own lines of the day files (warehouse/read/text_slices.py, no SQL); the rest
    read the day files holding the user's lines.

    >>> user_messages(wh, "7f3c...", limit=50, offset=50)
    """
    limit, offset = int(limit), int(offset)
    params = filter_params(channels, start, end)
    tail = [user_id, limit, offset]
    if user_id in (SYSTEM_USER, ANONYMOUS_USER):
        got = _from_slices(wh, user_id, channels, start, end, limit, offset)
        return got if got is not None else wh.sql(_USER_MESSAGES, params + tail)

    d0, d1 = params[0], params[1]
    lines_per_day: dict[date, int] | None = None  # the user's lines passing the filters, per day

    def per_day(reader) -> dict[date, int] | None:
        nonlocal lines_per_day
        if lines_per_day is None:
            rows = reader.user_rows(Lake(wh.root), user_id)
            if rows is None:
                return None
            lines_per_day = {}
            for i in rows.where(d0, d1, channels):
                day = _EPOCH + timedelta(days=rows.day[i])
                lines_per_day[day] = lines_per_day.get(day, 0) + rows.messages[i]
        return lines_per_day

    def indexed(reader) -> pl.DataFrame | None:
        # The side table tells which days hold the user's lines and how many: the newest
        # days holding offset + limit of them are all the page can come from (a later day's
        # lines are all newer), so only those day partitions are read.
        counts = per_day(reader)
        if counts is None:
            return None
        days, need = [], int(offset) + int(limit)
        for day in sorted(counts, reverse=True):
            if need <= 0:
                break
            days.append(day)
            need -= counts[day]
        return wh.sql(_USER_MESSAGES_IN_DAYS, params + [days] + tail)

    def days_read() -> pl.DataFrame:
        got = _from_slices(wh, user_id, channels, start, end, limit, offset)
        if got is not None:
            return got
        return wh.answer(USERS, indexed, lambda: wh.sql(_USER_MESSAGES, params + tail))

    def passing() -> int | None:
        # how many lines pass the filters, when the users side table may say: a full tail
        # holding that many holds them all
        users = wh.accelerator(USERS)
        counts = per_day(users) if users is not None else None
        return None if counts is None else sum(counts.values())

    def from_tail(reader) -> pl.DataFrame | None:
        # the count stands while this tail file answers: it is fresh only while the chat is
        # the chat it was built from, as it was when the count was taken
        key = (id(reader), reader.fresh.key, user_id, None if channels is None else tuple(sorted(set(channels))),
               start, end)

        def counted() -> int | None:
            got = _PASSING.get(key)
            if got is None:
                got = passing()
                if got is not None:
                    if len(_PASSING) >= _PASSING_KEPT:
                        _PASSING.clear()
                    _PASSING[key] = got
            return got
        return reader.page(user_id, channels, start, end, limit, offset, wh.tz, counted)

    if min(limit, offset) < 0:
        return days_read()
    # the user's newest lines, memory-mapped (warehouse/read/accelerators/user_tail.py)
    return wh.answer(USER_TAIL, from_tail, days_read)


def _from_slices(wh: Warehouse, user_id: str, channels: list[str] | None, start: date | None, end: date | None,
                 limit: int, offset: int) -> pl.DataFrame | None:
    """The page from the channels' own lines of the day files (warehouse/read/text_slices.py:
    no SQL, newest day first, stopping when the page is full) for a few channels — at most
    SLICE_LINES lines of row groups to decode; None when they may not answer (the caller reads the
    day files with SQL)."""
    if channels is None or limit < 0 or offset < 0 or not text_slices.may_answer(wh, channels, start, end):
        return None
    try:
        files = text_slices.day_files(wh, start, end) if limit else []
        if text_slices.lines(wh, files, channels) > SLICE_LINES:
            return None
        return text_slices.newest(wh, list(channels), files, text_slices.of_user(user_id), offset + limit, offset,
                                  user_tail.COLUMNS)
    except text_slices.Unreadable:
        return None  # the scan reads it, or finds and reports the damage


# lines of row groups (16,384 lines each) a page may decode from the slices at most: a
# small or median channel's week is one group a day; the biggest channel's (~40 groups at
# 10M lines) is read by SQL, only the days the users side table says hold the page
SLICE_LINES = 16 * 16_384
_EPOCH = date(1970, 1, 1)
# a user's count of lines passing a filter, per user tail file (user_messages' passing()):
# asking the users side table costs a freshness check and a pass over the user's rows
_PASSING: dict[tuple, int] = {}
_PASSING_KEPT = 256
_USER_MESSAGES = """
    WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]))
    SELECT chat_time, channel_id, channel_name, nickname, message_type, message,
           message_status, pay_amount, subscription_tier, subscription_month
    FROM f WHERE user_id = ?
    ORDER BY chat_time DESC, id DESC LIMIT ? OFFSET ?"""
# the day list is a bound parameter: DuckDB prunes the other day files
_USER_MESSAGES_IN_DAYS = """
    WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE list_contains(?::DATE[], day))
    SELECT chat_time, channel_id, channel_name, nickname, message_type, message,
           message_status, pay_amount, subscription_tier, subscription_month
    FROM f WHERE user_id = ?
    ORDER BY chat_time DESC, id DESC LIMIT ? OFFSET ?"""


