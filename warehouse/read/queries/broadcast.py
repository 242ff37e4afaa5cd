"""One broadcast at a time: the list to pick from, and one report per broadcast — its chat
over time, title and category changes, peaks (its top chatters are warehouse.read.queries.audience's,
its donors warehouse.read.queries.money's).

A broadcast is one chat_channel_id of a channel (as in warehouse.read.queries.time). Its lines
are every line with that chat_channel_id anywhere in the lake; offsets (``offset_minutes``)
are whole minutes from the minute of its first line, as peaks() and
donations_over_broadcast() count them. Title and category history come from the lake's
``live_session`` (one row per broadcast: the latest title and category) and
``live_session_poll`` (the collector's timeline: a row on every change and every few
minutes, with the viewer count) when the lake has them. Conventions are
warehouse.read.queries.params'; SQL texts are static, values bound.
"""
from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from warehouse.read.accelerators import BROADCAST_MINUTES, broadcast_answers
from warehouse.read.accelerators.base import Need
from warehouse.read.queries.money import counted_donation
from warehouse.read.queries.params import FIRST_DAY, LAST_DAY, filter_params
from warehouse.read.queries.session_tables import table_file
from warehouse.read.queries.spans import broadcast_span
from warehouse.read.queries.time import check_peaks, coverage, peaks, session_rows
from warehouse.read.warehouse import Warehouse

_LIST_COLUMNS = {
    "channel_id": pl.Utf8, "channel_name": pl.Utf8, "broadcast": pl.Utf8,
    "started": None, "ended": None, "title": pl.Utf8,
    "category": pl.Utf8, "messages": pl.Int64, "chatters": pl.Int64, "donations": pl.Int64,
    "amount": pl.Int64, "minutes": pl.Float64, "captured_minutes": pl.Float64,
    "coverage": pl.Float64, "source": pl.Utf8,
}
_TIMELINE_COLUMNS = ("time", "offset_minutes", "event", "status", "live_title",
                     "live_category_value", "viewers", "title_changed", "category_changed")


def broadcast_list(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                   end: date | None = None) -> pl.DataFrame:
    """The broadcasts that started on a day in [start, end], newest first: [channel_id,
    channel_name, broadcast (chat_channel_id), started, ended, title, category (the latest
    known: live_session's live_title / live_category_value, null without it), messages,
    chatters, donations, amount (all the broadcast's lines, also those past `end`),
    minutes, captured_minutes, coverage, source]. started/ended and the coverage columns
    are coverage()'s for the broadcast, so a report's badge and its list agree.

    >>> broadcast_list(wh, ["a1b2..."], date(2026, 9, 1), date(2026, 9, 30)).head(5)
    """
    if session_rows(wh, "capture_interval") == 0:  # coverage's source is "chat": every line counted
        return wh.answer(BROADCAST_MINUTES, lambda r: _titled(wh, broadcast_answers.listed(
            r, channels, start or FIRST_DAY, end or LAST_DAY, wh.tz)),
                         lambda: _list_scan(wh, channels, start, end), also=frozenset({Need.LOCAL_DAYS}))
    return _list_scan(wh, channels, start, end)


def _list_scan(wh: Warehouse, channels: list[str] | None, start: date | None, end: date | None) -> pl.DataFrame:
    cov = coverage(wh, channels, start, end)
    if cov.is_empty():
        return _listed(wh, cov)
    d0, _, all_ch, chs = filter_params(channels, start, end)
    # a broadcast's lines lie between its first line's day and its end (a day of slack
    # for lines after live_session's close)
    last = cov["ended"].max()
    d1 = (last.date() if last is not None else d0) + timedelta(days=1)
    counted = counted_donation(wh)
    stats = wh.sql("""
        SELECT channel_id, chat_channel_id AS broadcast, arg_max(channel_name, chat_time) AS channel_name,
               count(*) AS messages, count(DISTINCT user_id) FILTER (WHERE is_chatter(user_id)) AS chatters,
               count(*) FILTER (WHERE """ + counted + """) AS donations,
               coalesce(sum(pay_amount) FILTER (WHERE """ + counted + """), 0)::BIGINT AS amount
        FROM chat_rows(?, ?, ?, ?::VARCHAR[])
        WHERE list_contains(?::VARCHAR[], chat_channel_id) GROUP BY ALL""",  # noqa: S608 - constant fragments
                   [d0, d1, all_ch, chs, cov["broadcast"].unique().to_list()])
    return _listed(wh, cov.join(stats, on=["channel_id", "broadcast"], how="left"))


def _titled(wh: Warehouse, listed: pl.DataFrame) -> pl.DataFrame:
    """The list from the broadcast minutes' rows (titles and categories null)."""
    if session_rows(wh, "live_session") != 0:
        return _listed(wh, listed.drop("title", "category"))
    return listed.sort(["started", "channel_id", "broadcast"], descending=[True, False, False])


def _listed(wh: Warehouse, cov: pl.DataFrame) -> pl.DataFrame:
    """The list from coverage()'s rows joined with each broadcast's figures, with the
    latest title and category of live_session."""
    if cov.is_empty():
        return pl.DataFrame(schema={k: v or pl.Datetime("us", wh.tz) for k, v in _LIST_COLUMNS.items()})
    ls = table_file(wh, "live_session", ("chat_channel_id", "live_title", "live_category_value")) \
        if session_rows(wh, "live_session") != 0 else None
    if ls:
        meta = wh.sql("""SELECT chat_channel_id AS broadcast, arg_max(live_title, opened_at) AS title,
                                arg_max(live_category_value, opened_at) AS category
                         FROM read_parquet(?) GROUP BY chat_channel_id""", [ls])
    else:
        meta = pl.DataFrame(schema={"broadcast": pl.Utf8, "title": pl.Utf8, "category": pl.Utf8})
    out = (cov.join(meta, on="broadcast", how="left")
           .with_columns(pl.col(c).fill_null(0) for c in ("messages", "chatters", "donations", "amount"))
           .sort(["started", "channel_id", "broadcast"], descending=[True, False, False]))
    return out.select(list(_LIST_COLUMNS))


def broadcast_activity(wh: Warehouse, channel_id: str, broadcast: str,
                       window_minutes: int = 1) -> pl.DataFrame:
    """The broadcast's chat per window: [minute (the window's start, clock-aligned as in
    peaks()), offset_minutes, messages, chatters, donations, amount]. Windows without a
    line are absent.

    >>> broadcast_activity(wh, "a1b2...", "N1x2y3", window_minutes=5)
    """
    width = int(window_minutes)
    if width < 1:
        raise ValueError(f"window_minutes={window_minutes!r}: use a whole number of minutes >= 1")
    return wh.answer(BROADCAST_MINUTES, lambda r: broadcast_answers.activity(r, channel_id, broadcast, width, wh.tz),
                     lambda: _activity_scan(wh, channel_id, broadcast, width))


def _activity_scan(wh: Warehouse, channel_id: str, broadcast: str, width: int) -> pl.DataFrame:
    span = broadcast_span(wh, channel_id, broadcast)
    d0, d1, _ = span or (date(1, 1, 1), date(1, 1, 1), None)
    width_us = width * 60_000_000
    counted = counted_donation(wh)
    return wh.sql("""
        WITH f AS (FROM chat_rows(?, ?, false, ?::VARCHAR[]) WHERE chat_channel_id = ?),
        s AS (SELECT epoch_us(date_trunc('minute', min(chat_time))) AS s0 FROM f),
        w AS (SELECT epoch_us(chat_time) // ? AS widx, count(*) AS messages,
                     count(DISTINCT user_id) FILTER (WHERE is_chatter(user_id)) AS chatters,
                     count(*) FILTER (WHERE """ + counted + """) AS donations,
                     coalesce(sum(pay_amount) FILTER (WHERE """ + counted + """), 0)::BIGINT AS amount
              FROM f GROUP BY widx)
        SELECT make_timestamptz(widx * ?) AS minute,
               greatest(0, (widx * ? - s0) // 60000000) AS offset_minutes,
               messages, chatters, donations, amount
        FROM w, s ORDER BY widx""",  # noqa: S608 - constant fragments
                  [d0, d1, [channel_id], broadcast, width_us, width_us, width_us])


def broadcast_peaks(wh: Warehouse, channel_id: str, broadcast: str, by: str = "volume",
                    window_minutes: int = 1, limit: int = 10) -> pl.DataFrame:
    """peaks() of this broadcast only: [channel_id, broadcast, minute, messages,
    surge_ratio, offset_from_start], best first, at most `limit`.

    >>> broadcast_peaks(wh, "a1b2...", "N1x2y3", by="surge", window_minutes=5)
    """
    width = check_peaks(by, window_minutes)
    return wh.answer(BROADCAST_MINUTES, lambda r: broadcast_answers.broadcast_peaks(
        r, channel_id, broadcast, by, width, limit, wh.tz),
                     lambda: _broadcast_peaks_scan(wh, channel_id, broadcast, by, window_minutes, limit))


def _broadcast_peaks_scan(wh: Warehouse, channel_id: str, broadcast: str, by: str, window_minutes: int,
                          limit: int) -> pl.DataFrame:
    span = broadcast_span(wh, channel_id, broadcast)
    if span is None:
        return peaks(wh, [channel_id], date(1, 1, 1), date(1, 1, 1), by=by, window_minutes=window_minutes)
    # every window of the broadcast's days, so no other broadcast crowds it out
    every = peaks(wh, [channel_id], span[0], span[1], by=by, window_minutes=window_minutes,
                  limit=1_000_000)
    return every.filter(pl.col("broadcast") == broadcast).head(int(limit))


def broadcast_timeline(wh: Warehouse, channel_id: str, broadcast: str) -> pl.DataFrame:
    """The broadcast's title, category and viewer timeline: [time, offset_minutes (from
    its first line's minute; negative before it), event ("open", "poll", "close"), status,
    live_title, live_category_value, viewers, title_changed, category_changed].

    "open" is live_session's start (the API's openDate, or the first poll that saw it);
    one "poll" row per live_session_poll row (title_changed / category_changed: differs
    from the previous poll's; the first poll's values count as changed when known);
    "close" is live_session's closed_at (status = close_reason). Without
    live_session_poll in the lake the "open" row carries live_session's latest title
    and category (the history is not known); without live_session the result is empty.

    >>> broadcast_timeline(wh, "a1b2...", "N1x2y3").filter(pl.col("title_changed"))
    """
    empty = pl.DataFrame(schema={"time": pl.Datetime("us", wh.tz), "offset_minutes": pl.Int64,
                                 "event": pl.Utf8, "status": pl.Utf8, "live_title": pl.Utf8,
                                 "live_category_value": pl.Utf8, "viewers": pl.Int64,
                                 "title_changed": pl.Boolean, "category_changed": pl.Boolean})
    if session_rows(wh, "live_session") == 0:  # no sessions: nothing to look up
        return empty
    ls = table_file(wh, "live_session", ("id", "chat_channel_id", "opened_at", "closed_at", "open_date",
                                          "live_title", "live_category_value", "close_reason"))
    span = broadcast_span(wh, channel_id, broadcast)
    if not ls or span is None:
        return empty
    sessions = wh.sql("""SELECT id, least(coalesce(open_date, opened_at), opened_at) AS opened, closed_at,
                                close_reason, live_title, live_category_value
                         FROM read_parquet(?) WHERE chat_channel_id = ? ORDER BY opened_at""", [ls, broadcast])
    if sessions.is_empty():
        return empty
    polls_file = table_file(wh, "live_session_poll", ("session_fk", "polled_at", "status", "live_title",
                                                       "live_category_value", "concurrent_user_count"))
    polls = None
    if polls_file:
        polls = wh.sql("""SELECT polled_at AS time, status, live_title, live_category_value,
                                 concurrent_user_count::BIGINT AS viewers
                          FROM read_parquet(?) WHERE list_contains(?::BIGINT[], session_fk)
                          ORDER BY polled_at""", [polls_file, sessions["id"].to_list()])
    first = sessions.row(0, named=True)
    last = sessions.row(-1, named=True)
    rows = []
    if polls is not None and not polls.is_empty():
        rows.append({"time": first["opened"], "event": "open", "status": "OPEN", "live_title": None,
                     "live_category_value": None, "viewers": None})
        rows += [{"event": "poll", **p} for p in polls.iter_rows(named=True)]
    else:
        rows.append({"time": first["opened"], "event": "open", "status": "OPEN", "live_title": first["live_title"],
                     "live_category_value": first["live_category_value"], "viewers": None})
    if last["closed_at"] is not None:
        rows.append({"time": last["closed_at"], "event": "close", "status": last["close_reason"],
                     "live_title": None, "live_category_value": None, "viewers": None})
    df = pl.DataFrame(rows, schema={k: v for k, v in empty.schema.items()
                                    if k not in ("offset_minutes", "title_changed", "category_changed")})
    first_minute = span[2].replace(second=0, microsecond=0)
    known = pl.col("event") != "close"
    return df.with_columns(
        ((pl.col("time") - pl.lit(first_minute)).dt.total_seconds() // 60).cast(pl.Int64).alias("offset_minutes"),
        _changed("live_title", known).alias("title_changed"),
        _changed("live_category_value", known).alias("category_changed"),
    ).select(_TIMELINE_COLUMNS)


def _changed(column: str, known: pl.Expr) -> pl.Expr:
    """True where `column` is known and differs from its last known value before."""
    previous = pl.col(column).shift(1).forward_fill()
    return (known & pl.col(column).is_not_null()
            & (previous.is_null() | (pl.col(column) != previous))).fill_null(False)
