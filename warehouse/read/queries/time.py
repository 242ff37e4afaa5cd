"""Broadcast timelines: chat peaks (by volume and by surge) with their offset from the
broadcast's start, and how much of each broadcast was captured.

A broadcast is one chat_channel_id of a channel (CHZZK issues a new one for every
broadcast); without the collector's live_session table its start and end are its first
and last line anywhere in the lake. Conventions are warehouse.read.queries.params'; SQL texts are
static (coverage picks between constant fragments), values bound.
"""
from __future__ import annotations

import os
from datetime import date, timedelta

import polars as pl
import pyarrow.parquet as pq

from warehouse.lake.layout import Lake, is_uri
from warehouse.read.accelerators import BROADCAST_MINUTES, broadcast_answers
from warehouse.read.accelerators.base import Need
from warehouse.read.queries.params import FIRST_DAY, LAST_DAY, filter_params
from warehouse.read.queries.session_tables import table_file
from warehouse.read.warehouse import Warehouse

PEAKS_BY = ("volume", "surge")
SURGE_WINDOWS = 5          # the surge baseline: the mean of this many preceding windows
MAX_WINDOW_MINUTES = 240   # so the baseline never reaches back more than a day


def peaks(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
          end: date | None = None, by: str = "volume", window_minutes: int = 1,
          limit: int = 10) -> pl.DataFrame:
    """The busiest chat windows per channel: [channel_id, broadcast (chat_channel_id),
    minute (the window's start, DISPLAY_TZ), messages, surge_ratio, offset_from_start].

    Windows are `window_minutes` wide, aligned to the clock (use a divisor of 60).
    surge_ratio = messages / max(1, mean messages of the 5 preceding windows of the same
    broadcast, empty ones counting 0); null in a broadcast's first 5 windows, which have
    no baseline. offset_from_start = whole minutes from the broadcast's first minute to
    the window's start (0 for its first window). by="volume" ranks by messages, by="surge"
    by surge_ratio (windows without a baseline left out); ties: more messages, then
    earlier. At most `limit` windows per channel, best first. Windows starting on a day in
    [start, end] count; lines without a chat_channel_id are left out.

    >>> peaks(wh, ["a1b2..."], date(2026, 9, 5), date(2026, 9, 5), by="surge", limit=5)
    """
    width = check_peaks(by, window_minutes)
    d0, d1, all_ch, chs = filter_params(channels, start, end)
    # one day earlier too, so the first windows of the period have their baseline
    d0_ext = d0 - timedelta(days=1) if d0 > FIRST_DAY else d0
    return wh.answer(BROADCAST_MINUTES, lambda r: broadcast_answers.peaks(
        r, channels, (d0_ext, d0, d1), by, width, int(limit), wh.tz),
                     lambda: _peaks_scan(wh, [d0_ext, d1, all_ch, chs], d0, d1, by, width, limit))


def check_peaks(by: str, window_minutes: int) -> int:
    """The window width in minutes, once `by` and `window_minutes` are known good (else a ValueError)."""
    if by not in PEAKS_BY:
        raise ValueError(f"by={by!r}: use one of {', '.join(PEAKS_BY)}")
    width = int(window_minutes)
    if not 1 <= width <= MAX_WINDOW_MINUTES:
        raise ValueError(f"window_minutes={window_minutes!r}: use 1..{MAX_WINDOW_MINUTES}")
    return width


def _peaks_scan(wh: Warehouse, rows: list, d0: date, d1: date, by: str, width: int, limit: int) -> pl.DataFrame:
    """peaks() from the chat: `rows` = chat_rows' parameters."""
    d0_ext, d1_ext, all_ch, chs = rows
    width_us = width * 60_000_000
    return wh.sql("""
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE chat_channel_id IS NOT NULL),
        w AS (SELECT channel_id, chat_channel_id AS broadcast, epoch_us(chat_time) // ? AS widx,
                     count(*) AS messages
              FROM f GROUP BY ALL),
        s AS (SELECT w.*, b.started, epoch_us(b.started) // ? AS start_widx,
                     sum(messages) OVER (PARTITION BY w.channel_id, w.broadcast ORDER BY widx
                                         RANGE BETWEEN 5 PRECEDING AND 1 PRECEDING) AS prev
              FROM w JOIN broadcasts(?, ?::VARCHAR[]) b
                   ON b.channel_id = w.channel_id AND b.broadcast = w.broadcast),
        x AS (SELECT channel_id, broadcast, make_timestamptz(widx * ?) AS minute, messages,
                     CASE WHEN widx - start_widx >= 5
                          THEN messages / greatest(coalesce(prev, 0) / 5, 1) END AS surge_ratio,
                     greatest(0, (widx * ? - epoch_us(date_trunc('minute', started))) // 60000000)
                         AS offset_from_start,
                     widx
              FROM s),
        y AS (SELECT * FROM x WHERE minute::DATE BETWEEN ? AND ?
                                AND (? = 'volume' OR surge_ratio IS NOT NULL)),
        r AS (SELECT *, row_number() OVER (
                         PARTITION BY channel_id
                         ORDER BY CASE WHEN ? = 'volume' THEN messages ELSE surge_ratio END DESC,
                                  messages DESC, widx, broadcast) AS rk
              FROM y)
        SELECT channel_id, broadcast, minute, messages, surge_ratio, offset_from_start
        FROM r WHERE rk <= ? ORDER BY channel_id, rk""",
                  [d0_ext, d1_ext, all_ch, chs, width_us, width_us, all_ch, chs, width_us, width_us,
                   d0, d1, by, by, int(limit)])


# coverage: the capture-interval part is built from one of two constant fragments each,
# depending on whether the lake holds the collector's tables
_CI_FILE = """SELECT chat_channel_id, connected_at AS c0, coalesce(disconnected_at, now()) AS c1
              FROM read_parquet(?)"""
_CI_NONE = """SELECT NULL::VARCHAR AS chat_channel_id, NULL::TIMESTAMPTZ AS c0,
                     NULL::TIMESTAMPTZ AS c1 WHERE false"""
_LS_FILE = """SELECT chat_channel_id, min(least(coalesce(open_date, opened_at), opened_at)) AS s0,
                     max(greatest(coalesce(closed_at, now()), opened_at)) AS s1
              FROM read_parquet(?) GROUP BY chat_channel_id"""
_LS_NONE = """SELECT NULL::VARCHAR AS chat_channel_id, NULL::TIMESTAMPTZ AS s0,
                     NULL::TIMESTAMPTZ AS s1 WHERE false"""
_COVERAGE = """
        WITH b AS (SELECT * FROM broadcasts(?, ?::VARCHAR[]) WHERE started::DATE BETWEEN ? AND ?),
        m AS (SELECT channel_id, chat_channel_id AS broadcast,
                     count(DISTINCT date_trunc('minute', chat_time)) AS captured
              FROM chat_rows(?, DATE '9999-12-31', ?, ?::VARCHAR[])
              WHERE chat_channel_id IS NOT NULL GROUP BY ALL),
        ci AS ({ci}),
        ls AS ({ls}),
        sp AS (SELECT b.channel_id, b.broadcast, coalesce(ls.s0, b.started) AS s0,
                      coalesce(ls.s1, b.ended) AS s1
               FROM b LEFT JOIN ls ON ls.chat_channel_id = b.broadcast
               WHERE b.broadcast IN (SELECT chat_channel_id FROM ci)),
        clip AS (SELECT sp.channel_id, sp.broadcast, greatest(c0, s0) AS a, least(c1, s1) AS z
                 FROM sp JOIN ci ON ci.chat_channel_id = sp.broadcast
                 WHERE least(c1, s1) > greatest(c0, s0)),
        o AS (SELECT *, max(z) OVER (PARTITION BY channel_id, broadcast ORDER BY a, z
                                     ROWS BETWEEN UNBOUNDED PRECEDING AND 1 PRECEDING) AS prev_end
              FROM clip),
        g AS (SELECT *, sum(CASE WHEN prev_end IS NULL OR a > prev_end THEN 1 ELSE 0 END)
                            OVER (PARTITION BY channel_id, broadcast ORDER BY a, z
                                  ROWS UNBOUNDED PRECEDING) AS island
              FROM o),
        isl AS (SELECT channel_id, broadcast, min(a) AS a, max(z) AS z FROM g GROUP BY channel_id, broadcast, island),
        cov AS (SELECT channel_id, broadcast, sum(epoch_us(z) - epoch_us(a)) / 60e6 AS captured
                FROM isl GROUP BY ALL),
        by_ci AS (SELECT sp.channel_id, sp.broadcast, sp.s0 AS started, sp.s1 AS ended,
                         (epoch_us(s1) - epoch_us(s0)) / 60e6 AS minutes,
                         coalesce(cov.captured, 0) AS captured_minutes
                  FROM sp LEFT JOIN cov USING (channel_id, broadcast)),
        by_chat AS (SELECT b.channel_id, b.broadcast, b.started, b.ended,
                           ((epoch_us(date_trunc('minute', ended)) - epoch_us(date_trunc('minute', started)))
                               // 60000000 + 1)::DOUBLE AS minutes,
                           m.captured::DOUBLE AS captured_minutes
                    FROM b JOIN m USING (channel_id, broadcast)
                    WHERE b.broadcast NOT IN (SELECT broadcast FROM sp))
        SELECT *, captured_minutes / nullif(minutes, 0) AS coverage, 'capture_interval' AS source
        FROM by_ci
        UNION ALL
        SELECT *, captured_minutes / nullif(minutes, 0) AS coverage, 'chat' AS source FROM by_chat
        ORDER BY channel_id, started, broadcast"""


def coverage(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
             end: date | None = None) -> pl.DataFrame:
    """How much of each broadcast was captured: [channel_id, broadcast (chat_channel_id),
    started, ended, minutes, captured_minutes, coverage (0..1), source].

    source "capture_interval": the broadcast has rows in the lake's capture_interval
    table (the collector's connected/disconnected times); its span is live_session's
    (openDate or first poll → close, as PostgreSQL's broadcast_coverage view) when the
    lake has it, else first → last line; captured_minutes is the union of the intervals
    inside the span (overlaps counted once), open intervals running to now.
    source "chat": no capture intervals for it (or no such table): minutes = the clock
    minutes from its first to its last line, captured_minutes = those with at least one
    line — a lower bound, since quiet minutes look like gaps.
    Broadcasts (chat_channel_ids seen in chat) that started on a day in [start, end].

    >>> coverage(wh, ["a1b2..."], date(2026, 9, 1), date(2026, 9, 30))
    """
    if session_rows(wh, "capture_interval") == 0:  # every broadcast's source is "chat"
        return wh.answer(BROADCAST_MINUTES, lambda r: broadcast_answers.coverage(
            r, channels, start or FIRST_DAY, end or LAST_DAY, wh.tz), lambda: _coverage_scan(wh, channels, start, end),
                         also=frozenset({Need.LOCAL_DAYS}))
    return _coverage_scan(wh, channels, start, end)


def _coverage_scan(wh: Warehouse, channels: list[str] | None, start: date | None, end: date | None) -> pl.DataFrame:
    d0, d1, all_ch, chs = filter_params(channels, start, end)
    params = [all_ch, chs, d0, d1, d0, all_ch, chs]
    ci = table_file(wh, "capture_interval", ("chat_channel_id", "connected_at", "disconnected_at"))
    ls = table_file(wh, "live_session", ("chat_channel_id", "opened_at", "closed_at", "open_date")) if ci else None
    params += [ci] if ci else []
    params += [ls] if ls else []
    query = _COVERAGE.format(ci=_CI_FILE if ci else _CI_NONE, ls=_LS_FILE if ls else _LS_NONE)
    return wh.sql(query, params)


def session_rows(wh: Warehouse, name: str) -> int | None:
    """The rows of the lake's collector table `name` (<name>/part-0.parquet): 0 when there is
    none, None when they are not known cheaply (a remote lake, an unreadable footer: the
    caller reads the table as before). Its footer is read once per file version."""
    if is_uri(wh.root):
        return None
    path = f"{Lake(wh.root).base}/{name}/part-0.parquet"
    try:
        st = os.stat(path)
    except FileNotFoundError:
        return 0
    except OSError:
        return None
    key = (st.st_size, st.st_mtime_ns, st.st_ino)
    cache = wh.__dict__.setdefault("_session_rows", {})
    if cache.get(name, (None,))[0] != key:
        try:
            rows = pq.read_metadata(path).num_rows
        except (OSError, ValueError):
            rows = None
        cache[name] = (key, rows)
    return cache[name][1]
