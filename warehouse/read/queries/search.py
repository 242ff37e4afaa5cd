"""Users and words: one user's profile, name history and channels; keyword search and
keyword trends in messages.

Matching is a plain substring test, ``strpos(lower(text), lower(needle))``: it works for
Hangul (DuckDB's fts extension is unavailable and drops Hangul anyway), ignores case for
Latin letters, and takes %, _, quotes and backslashes literally (no LIKE, no regex). A
keyword of only Hangul, jamo, digits and spaces is matched with ``contains`` (the same
lines, without lowering every message: _uncased). A blank keyword matches nothing. Conventions are warehouse.read.queries.params'; the user functions
also take channels/start/end, so a caller can restrict them (e.g. to a streamer's own
channels). SQL texts are static (constant fragments joined), values bound.

Every question reads the chat as ``chat_rows`` does, with the channel list as a condition
of its own (_texts): DuckDB then pushes it into the Parquet scan, where ``all OR
list_contains(...)`` is evaluated row by row (a median channel over a 3M-line lake: 62 ms
instead of 612). A chatter's questions are answered from their rows of the users side
table while it may (Warehouse.answer; user_rows.py), else from the chat.

Why the keyword questions stay slower than PostgreSQL for a median or small channel: a
channel's week is 7 day files whose rows are in row groups of 16,384 lines sorted by
channel, so the scan decodes the message column of at least one whole row group per day
(a median channel at 10M lines: 1,153 lines in 7 of 125 row groups), plus DuckDB's 2-12 ms
of planning per query; PostgreSQL reads the channel's rows alone through its index
(1-2 ms).
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime

import numpy as np
import polars as pl
import pyarrow.fs as pafs

from warehouse.lake import health
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read import lake_trend, text_match, text_slices
from warehouse.read.accelerators import USERS
from warehouse.read.accelerators.users_index import UserRows
from warehouse.read.queries import user_rows
from warehouse.read.queries.params import ANONYMOUS_USER, SYSTEM_USER, check_bucket, filter_params
from warehouse.read.warehouse import Warehouse

BUCKETS = ("minute", "hour", "day", "week", "month")
_NO_MATCH = "\x00no match\x00"  # what a blank keyword searches for: nothing contains it
# the chat lines a question reads (chat_rows' rows): every channel, or those of a list
_ALL_CHANNELS = "SELECT * FROM chat WHERE day BETWEEN ? AND ? AND user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'"
_SOME_CHANNELS = ("SELECT * FROM chat WHERE day BETWEEN ? AND ? AND list_contains(?::VARCHAR[], channel_id)"
                  " AND user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'")


def _needle(keyword: str | None) -> str:
    keyword = (keyword or "").strip()
    return keyword or _NO_MATCH


def _texts(template: str, rows: tuple[str, str] = (_ALL_CHANNELS, _SOME_CHANNELS)) -> tuple[str, str]:
    """A question's two SQL texts, `template` with ``{rows}`` made the rows of every
    channel and of a list (constant fragments: nothing of a caller's reaches the text)."""
    return template.replace("{rows}", rows[0]), template.replace("{rows}", rows[1])


def _pick(texts: tuple[str, str], channels: list[str] | None, start: date | None,
          end: date | None) -> tuple[str, list]:
    """(the text for `channels`, the parameters of its rows)."""
    d0, d1, _, chs = filter_params(channels, start, end)
    return (texts[0], [d0, d1]) if channels is None else (texts[1], [d0, d1, chs])


def _of_user(wh: Warehouse, user_id: str, channels, start, end, scan: tuple[str, str],
             fast: Callable[[Warehouse, str, UserRows, list[int]], pl.DataFrame]) -> pl.DataFrame:
    """A user's question: `fast` over the user's rows of the users side table (those on the
    filter's days and channels, by position) for a chatter while it may answer, else `scan`
    over the chat."""
    text, params = _pick(scan, channels, start, end)
    by_scan = lambda: wh.sql(text, params + [user_id])  # noqa: E731
    if user_id in (ANONYMOUS_USER, SYSTEM_USER):  # not in the side table: only chatters are
        return by_scan()
    d0, d1, _, _ = filter_params(channels, start, end)

    def indexed(reader) -> pl.DataFrame | None:
        rows = reader.user_rows(user_rows.lake(wh.root), user_id)
        return None if rows is None else fast(wh, user_id, rows, rows.where(d0, d1, channels))

    return wh.answer(USERS, indexed, by_scan)


def user_profile(wh: Warehouse, user_id: str, channels: list[str] | None = None,
                 start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """One row about a user (none when unknown): [user_id, nickname (latest), first_seen,
    last_seen, messages, channels (how many channels they chat in)].

    >>> user_profile(wh, "7f3c...")
    """
    return _of_user(wh, user_id, channels, start, end, *_PROFILE)


_PROFILE = (_texts("""
    WITH f AS ({rows} AND user_id = ?)
    SELECT user_id, arg_max(nickname, chat_time) AS nickname, min(chat_time) AS first_seen,
           max(chat_time) AS last_seen, count(*) AS messages, count(DISTINCT channel_id) AS channels
    FROM f GROUP BY user_id"""), user_rows.profile)


def name_history(wh: Warehouse, user_id: str, channels: list[str] | None = None,
                 start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Every nickname a user chatted under: [nickname, first_seen, last_seen, messages],
    in order of first use. A name used, dropped and taken again is one row spanning both.

    >>> name_history(wh, "7f3c...")
    """
    return _of_user(wh, user_id, channels, start, end, *_NAMES)


_NAMES = (_texts("""
    WITH f AS ({rows} AND user_id = ? AND nickname IS NOT NULL)
    SELECT nickname, min(chat_time) AS first_seen, max(chat_time) AS last_seen, count(*) AS messages
    FROM f GROUP BY nickname ORDER BY first_seen, nickname"""), user_rows.names)


def user_channels(wh: Warehouse, user_id: str, channels: list[str] | None = None,
                  start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """The channels a user chats in: [channel_id, channel_name, messages, first_seen,
    last_seen], most messages first (then channel_id).

    >>> user_channels(wh, "7f3c...")
    """
    return _of_user(wh, user_id, channels, start, end, *_CHANNELS)


_CHANNELS = (_texts("""
    WITH f AS ({rows} AND user_id = ?),
    c AS (SELECT channel_id, arg_max(channel_name, chat_time) AS chat_name,
                 count(*) AS messages, min(chat_time) AS first_seen, max(chat_time) AS last_seen
          FROM f GROUP BY channel_id)
    SELECT c.channel_id, coalesce(ch.channel_name, c.chat_name) AS channel_name,
           messages, first_seen, last_seen
    FROM c LEFT JOIN channels ch USING (channel_id)
    ORDER BY messages DESC, c.channel_id"""), user_rows.channels)


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
    needle, limit, offset = _needle(keyword), int(limit), int(offset)
    if limit < 0 or offset < 0:  # DuckDB's own error for a bad page, as before
        return _search_scan(wh, channels, start, end, needle, limit, offset)
    if text_slices.may_answer(wh, channels, start, end):
        files = text_slices.day_files(wh, start, end) if needle != _NO_MATCH and limit else []
        try:  # the newest day first, stopping as _newest_first does
            return text_slices.newest(wh, channels, files, _matcher(needle), offset + limit, offset, _COLUMNS)
        except text_slices.Unreadable:
            pass  # the scan reads it, or finds and reports the damage
    days = _days_desc(wh, start, end)
    if not days or needle == _NO_MATCH or limit == 0:
        return _search_scan(wh, channels, start, end, needle, limit, offset)
    return _newest_first(wh, channels, needle, limit, offset, days)


_SEARCH_TEMPLATE = """
    WITH f AS ({rows})
    SELECT chat_time, channel_id, channel_name, user_id, nickname, message{id}
    FROM f WHERE has_text(message, ?)
    ORDER BY chat_time DESC, id DESC LIMIT ? OFFSET ?"""
_SEARCH = _texts(_SEARCH_TEMPLATE.replace("{id}", ""))
_SEARCH_IDS = _texts(_SEARCH_TEMPLATE.replace("{id}", ", id"))  # the walk merges its windows by id


def _uncased(needle: str) -> bool:
    """True when `needle` is only Hangul (syllables, jamo), digits and spaces: characters
    no lower() changes and none lowercases to, so ``has_text(message, needle)`` is a plain
    ``contains`` — without lower() copying every message (the biggest channel's trend at
    10M lines: about half the time)."""
    return all(c.isdigit() and c.isascii() or c == " " or "\uac00" <= c <= "\ud7a3" or "\u3131" <= c <= "\u318e"
               or "\u1100" <= c <= "\u11ff" for c in needle)


def _plain(texts: tuple[str, str]) -> tuple[str, str]:
    """`texts` with has_text(message, ?) made contains(message, ?) (for _uncased needles)."""
    out = tuple(t.replace("has_text(message, ?)", "contains(message, ?)") for t in texts)
    assert out != texts
    return out  # type: ignore[return-value]


def _matching(texts: tuple[str, str], plain: tuple[str, str], needle: str) -> tuple[str, str]:
    return plain if _uncased(needle) else texts


def _matcher(needle: str) -> Callable[[text_slices.Slice], np.ndarray]:
    """has_text(message, needle) — or contains, for an _uncased needle — of a slice's lines."""
    if _uncased(needle):
        return lambda s: s.holding(needle, lowered=False)
    low = text_match.lower_text(needle)
    return lambda s: s.holding(low, lowered=True)


_SEARCH_PLAIN, _SEARCH_IDS_PLAIN = _plain(_SEARCH), _plain(_SEARCH_IDS)
_COLUMNS = ["chat_time", "channel_id", "channel_name", "user_id", "nickname", "message"]


def _search_scan(wh: Warehouse, channels: list[str] | None, start: date | None, end: date | None,
                 needle: str, limit: int, offset: int) -> pl.DataFrame:
    """The page from one query over every day of the range."""
    text, params = _pick(_matching(_SEARCH, _SEARCH_PLAIN, needle), channels, start, end)
    return wh.sql(text, params + [needle, limit, offset])


def _days_desc(wh: Warehouse, start: date | None, end: date | None) -> list[date]:
    """The days ``chat`` may hold in [start, end], newest first: the lake's day folders (one
    listing; a folder without a readable file only adds a day without lines) and the live
    overlay's days."""
    lake = Lake(wh.root)
    days = set(wh.overlay_days())
    for info in lake.fs.get_file_info(pafs.FileSelector(lake.table_dir(CHAT), allow_not_found=True)):
        if info.type == pafs.FileType.Directory and info.base_name.startswith("day="):
            try:
                days.add(date.fromisoformat(info.base_name[4:]))
            except ValueError:
                continue  # not a partition: the views do not read it either
    d0, d1, _, _ = filter_params(None, start, end)
    return sorted((d for d in days if d0 <= d <= d1), reverse=True)


def _newest_first(wh: Warehouse, channels: list[str] | None, needle: str, limit: int, offset: int,
                  days: list[date]) -> pl.DataFrame:
    """The page from windows of days, newest first (one day, then as many as the hits so
    far say the page needs, _width): each window gives its newest offset+limit hits; the walk stops when it holds that
    many and the next older day cannot hold a line as new as the last of them.

    A day partition holds the lines of one local day in the zone its sync used, and no
    zone is more than 12 hours behind UTC, so no line of day d is as late as (d+1) 12:00
    UTC (text_slices.after_day) — whatever zone each partition was cut in."""
    need = offset + limit
    found: pl.DataFrame | None = None
    bounds = _bounds(wh, days)
    i = 0
    while i < len(days):
        width = _width(i, 0 if found is None else found.height, need, len(days) - i)
        newest, oldest = days[i], days[min(i + width, len(days)) - 1]
        text, params = _pick(_matching(_SEARCH_IDS, _SEARCH_IDS_PLAIN, needle), channels, oldest, newest)
        part = wh.sql(text, params + [needle, need, 0])
        found = part if found is None else pl.concat([found, part]).sort(
            ["chat_time", "id"], descending=True).head(need)
        i += width
        if i < len(days) and found.height >= need and found["chat_time"][need - 1] > bounds(i):
            break
    return found.slice(offset, limit).select(_COLUMNS)


def _width(read: int, held: int, need: int, left: int) -> int:
    """How many days the next window takes: the newest day first; one more when the page
    is full (its last hit may be older than the next day's newest line); as many as read
    so far while none hit (today's partition is often short of lines: the biggest
    channel's week at 10M lines had none on its last day, and every day left was one query
    of 2.7 s under load where the day before alone fills the page); else the days the hits
    so far say the rest of the page needs, a fifth more (one query where a sparse
    channel's walk would take one per doubling)."""
    if read == 0 or held >= need:
        return 1
    if held == 0:
        return min(left, read)
    return max(1, min(left, -(-read * (need - held) * 6 // (held * 5))))


def _bounds(wh: Warehouse, days: list[date]) -> text_slices.Bound:
    """For the walk over `days` (newest first): a time no line of days[i:] passes
    (``bounds(i)``), from each day file's chat_time statistics (its footer, kept per file
    version: health.ranges) where there is one, else text_slices.after_day (a day of the
    live overlay, a file without statistics or one that does not read: damage is the
    views' to report)."""
    lake, live = user_rows.lake(wh.root), wh.overlay_days()

    def newest_of(i: int) -> datetime:
        day = days[i]
        path = lake.part_path(CHAT, day)
        key = None if day in live else health.file_key(lake, path)
        return text_slices.after_day(day) if key is None else text_slices.file_bound(lake, path, key, day)

    return text_slices.Bound(len(days), newest_of)


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
    if text_slices.may_answer(wh, channels, start, end):
        files = text_slices.day_files(wh, start, end) if needle != _NO_MATCH else []  # blank: no rows
        try:
            got = text_slices.trend(wh, channels, files, _matcher(needle), every)
        except text_slices.Unreadable:
            got = None  # the scan reads it, or finds and reports the damage
        if got is not None:
            return got
    elif channels is None and lake_trend.may_answer(wh, start, end):
        plain = _uncased(needle)
        files = text_slices.day_files(wh, start, end) if needle != _NO_MATCH else []  # blank: no rows
        try:  # every channel: the messages matched once per distinct message of a row group
            got = lake_trend.trend(wh, files, needle if plain else text_match.lower_text(needle), not plain, every)
        except text_slices.Unreadable:
            got = None  # the scan reads it, or finds and reports the damage
        if got is not None:
            return got
    text, params = _pick(_matching(_TREND, _TREND_PLAIN, needle), channels, start, end)
    return wh.sql(text, params + [needle, _NO_MATCH, every, needle, needle])


_TREND = _texts("""
    WITH f AS ({rows} AND ? <> ?)
    SELECT channel_id, date_trunc(?, chat_time) AS bucket,
           count(*) FILTER (WHERE has_text(message, ?)) AS matches,
           count(*) FILTER (WHERE has_text(message, ?)) / count(*) AS share
    FROM f GROUP BY ALL ORDER BY channel_id, bucket""")
_TREND_PLAIN = _plain(_TREND)

