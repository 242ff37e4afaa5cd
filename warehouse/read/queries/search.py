"""Users and words: one user's profile, name history and channels; keyword search and
keyword trends in messages.

Matching is a plain substring test, ``strpos(lower(text), lower(needle))``: it works for
Hangul (DuckDB's fts extension is unavailable and drops Hangul anyway), ignores case for
Latin letters, and takes %, _, quotes and backslashes literally (no LIKE, no regex). A
blank keyword matches nothing. Conventions are warehouse.read.queries.params'; the user functions
also take channels/start/end, so a caller can restrict them (e.g. to a streamer's own
channels). SQL texts are static, values bound.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import polars as pl

from warehouse.read.queries.params import check_bucket, filter_params
from warehouse.read.warehouse import Warehouse

BUCKETS = ("minute", "hour", "day", "week", "month")
_NO_MATCH = "\x00no match\x00"  # what a blank keyword searches for: nothing contains it


def _needle(keyword: str | None) -> str:
    keyword = (keyword or "").strip()
    return keyword or _NO_MATCH


def user_profile(wh: Warehouse, user_id: str, channels: list[str] | None = None,
                 start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """One row about a user (none when unknown): [user_id, nickname (latest), first_seen,
    last_seen, messages, channels (how many channels they chat in)].

    >>> user_profile(wh, "7f3c...")
    """
    return wh.sql("""
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE user_id = ?)
        SELECT user_id, arg_max(nickname, chat_time) AS nickname, min(chat_time) AS first_seen,
               max(chat_time) AS last_seen, count(*) AS messages,
               count(DISTINCT channel_id) AS channels
        FROM f GROUP BY user_id""",
                  filter_params(channels, start, end) + [user_id])


def name_history(wh: Warehouse, user_id: str, channels: list[str] | None = None,
                 start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Every nickname a user chatted under: [nickname, first_seen, last_seen, messages],
    in order of first use. A name used, dropped and taken again is one row spanning both.

    >>> name_history(wh, "7f3c...")
    """
    return wh.sql("""
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE user_id = ? AND nickname IS NOT NULL)
        SELECT nickname, min(chat_time) AS first_seen, max(chat_time) AS last_seen,
               count(*) AS messages
        FROM f GROUP BY nickname ORDER BY first_seen, nickname""",
                  filter_params(channels, start, end) + [user_id])


def user_channels(wh: Warehouse, user_id: str, channels: list[str] | None = None,
                  start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """The channels a user chats in: [channel_id, channel_name, messages, first_seen,
    last_seen], most messages first (then channel_id).

    >>> user_channels(wh, "7f3c...")
    """
    return wh.sql("""
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE user_id = ?),
        c AS (SELECT channel_id, arg_max(channel_name, chat_time) AS chat_name,
                     count(*) AS messages, min(chat_time) AS first_seen, max(chat_time) AS last_seen
              FROM f GROUP BY channel_id)
        SELECT c.channel_id, coalesce(ch.channel_name, c.chat_name) AS channel_name,
               messages, first_seen, last_seen
        FROM c LEFT JOIN channels ch USING (channel_id)
        ORDER BY messages DESC, c.channel_id""",
                  filter_params(channels, start, end) + [user_id])


def keyword_search(wh: Warehouse, keyword: str, channels: list[str] | None = None,
                   start: date | None = None, end: date | None = None,
                   limit: int = 200, offset: int = 0) -> pl.DataFrame:
    """Lines whose message contains `keyword`, newest first: [chat_time, channel_id,
    channel_name, user_id, nickname, message]. Page with limit/offset. The keyword is
    stripped of surrounding blanks; "ㅋㅋ" finds "ㅋㅋㅋ", "gg" finds "GG", "100%" finds
    only a literal "100%".

    The newest day partitions are searched first and the walk stops once the page is full
    and no older day can hold a newer line (_newest_first); the answer is the one a scan of
    every day gives (_search_scan), ties included.

    >>> keyword_search(wh, "대박", ["a1b2..."], limit=50)
    """
    params = filter_params(channels, start, end)
    needle, limit, offset = _needle(keyword), int(limit), int(offset)
    if limit < 0 or offset < 0:  # DuckDB's own error for a bad page, as before
        return _search_scan(wh, params, needle, limit, offset)
    days = wh.sql(_DAYS_DESC, params[:2])["day"].to_list()
    if not days or needle == _NO_MATCH or limit == 0:
        return _search_scan(wh, params, needle, limit, offset)
    return _newest_first(wh, params, needle, limit, offset, days)


_SEARCH = """
    WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]))
    SELECT chat_time, channel_id, channel_name, user_id, nickname, message{id}
    FROM f WHERE has_text(message, ?)
    ORDER BY chat_time DESC, id DESC LIMIT ? OFFSET ?"""
_DAYS_DESC = "SELECT DISTINCT day FROM chat WHERE day BETWEEN ? AND ? ORDER BY day DESC"
_COLUMNS = ["chat_time", "channel_id", "channel_name", "user_id", "nickname", "message"]


def _search_scan(wh: Warehouse, params: list, needle: str, limit: int, offset: int) -> pl.DataFrame:
    """The page from one query over every day of the range."""
    return wh.sql(_SEARCH.format(id=""), params + [needle, limit, offset])


def _newest_first(wh: Warehouse, params: list, needle: str, limit: int, offset: int,
                  days: list[date]) -> pl.DataFrame:
    """The page from windows of days, newest first (one day, then as many days as read so
    far): each window gives its newest offset+limit hits; the walk stops when it holds that
    many and the next older day cannot hold a line as new as the last of them.

    A day partition holds the lines of one local day in the zone its sync used, and no
    zone is more than 12 hours behind UTC, so no line of day d is as late as (d+1) 12:00
    UTC (_after_day) — whatever zone each partition was cut in."""
    need = offset + limit
    query = _SEARCH.format(id=", id")
    found: pl.DataFrame | None = None
    i = 0
    while i < len(days):
        width = max(1, i)
        newest, oldest = days[i], days[min(i + width, len(days)) - 1]
        part = wh.sql(query, [oldest, newest, *params[2:], needle, need, 0])
        found = part if found is None else pl.concat([found, part]).sort(
            ["chat_time", "id"], descending=True).head(need)
        i += width
        if i < len(days) and found.height >= need and found["chat_time"][need - 1] >= _after_day(days[i]):
            break
    return found.slice(offset, limit).select(_COLUMNS)


def _after_day(day: date) -> datetime:
    """A time no line of the day partition `day` reaches, in any zone: (day+1) 12:00 UTC."""
    return datetime(day.year, day.month, day.day, 12, tzinfo=UTC) + timedelta(days=1)


def keyword_trend(wh: Warehouse, keyword: str, channels: list[str] | None = None,
                  start: date | None = None, end: date | None = None,
                  every: str = "day") -> pl.DataFrame:
    """How often `keyword` comes up: [channel_id, bucket, matches (lines containing it),
    share (matches / all the bucket's messages, 0..1)]. Every bucket with messages is
    listed, matches 0 included, so the trend has its zeros; a blank keyword gives no rows.
    `every`: minute, hour, day, week or month.

    >>> keyword_trend(wh, "ㅋㅋ", ["a1b2..."], every="hour")
    """
    every = check_bucket(every, BUCKETS)
    needle = _needle(keyword)
    return wh.sql("""
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE ? <> ?)
        SELECT channel_id, date_trunc(?, chat_time) AS bucket,
               count(*) FILTER (WHERE has_text(message, ?)) AS matches,
               count(*) FILTER (WHERE has_text(message, ?)) / count(*) AS share
        FROM f GROUP BY ALL ORDER BY channel_id, bucket""",
                  filter_params(channels, start, end) + [needle, _NO_MATCH, every, needle, needle])
