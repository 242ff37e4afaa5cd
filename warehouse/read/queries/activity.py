"""Activity over time: messages and chatters per time bucket, subscriber shares, and the
tier split. Conventions are warehouse.read.queries.params'; SQL texts are static (a bucket picks between
constant fragments), values bound."""
from __future__ import annotations

from datetime import date

import polars as pl

from warehouse.lake.layout import Lake
from warehouse.read.accelerators import CHATTER_DAYS, ROLLUPS, chatter_days, chatter_frames, rollups
from warehouse.read.queries.params import check_every, filter_params
from warehouse.read.warehouse import Warehouse

# activity and subscriber_ratio group by a time bucket: {bucket} is date_trunc(?, chat_time)
# in general, and the hive `day` column when the buckets are days of the zone the lake's
# partitions are cut in (no per-row timezone arithmetic: 4x faster over the whole lake).
# Each distinct count is computed once (DuckDB does not share identical distinct aggregates).
_ACTIVITY = """
    WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])),
    b AS (SELECT channel_id, arg_max(channel_name, chat_time) AS channel_name, {bucket} AS bucket,
                 count(*) AS messages,
                 count(DISTINCT user_id) FILTER (WHERE is_chatter(user_id)) AS chatters
          FROM f GROUP BY channel_id, bucket)
    SELECT *, messages / nullif(chatters, 0) AS messages_per_chatter
    FROM b ORDER BY channel_id, bucket"""
_SUBSCRIBER_RATIO = """
    WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])),
    b AS (SELECT channel_id, arg_max(channel_name, chat_time) AS channel_name, {bucket} AS bucket,
                 count(*) AS messages,
                 count(*) FILTER (WHERE is_sub(subscription_tier, subscription_month)) AS subscriber_messages,
                 count(DISTINCT user_id) FILTER (WHERE is_chatter(user_id)) AS chatters,
                 count(DISTINCT user_id) FILTER (WHERE is_chatter(user_id)
                                                 AND is_sub(subscription_tier, subscription_month))
                     AS subscriber_chatters
          FROM f GROUP BY channel_id, bucket)
    SELECT channel_id, channel_name, bucket, messages, subscriber_messages,
           subscriber_messages / messages AS message_share, chatters, subscriber_chatters,
           subscriber_chatters / nullif(chatters, 0) AS chatter_share
    FROM b ORDER BY channel_id, bucket"""
_BUCKETS = {"trunc": "date_trunc(?, chat_time)", "day": "day::TIMESTAMPTZ"}
_ROWS = "FROM chat_rows(?, ?, ?, ?::VARCHAR[]))"
_ROWS_IN_DAYS = "FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE list_contains(?::DATE[], day))"
# (name, bucket kind, False) scans the range; (..., True) only the days of a bound list in it
_BUCKETED = {(name, kind, listed): text.replace("{bucket}", expr).replace(_ROWS, _ROWS_IN_DAYS if listed else _ROWS)
             for name, text in (("activity", _ACTIVITY), ("subscriber_ratio", _SUBSCRIBER_RATIO))
             for kind, expr in _BUCKETS.items() for listed in (False, True)}  # constant SQL fragments only


def _scan(wh: Warehouse, name: str, every: str, channels: list[str] | None, start: date | None,
          end: date | None, days: list[date] | None = None) -> pl.DataFrame:
    """The answer from the chat rows of [start, end] (of `days` only, when given)."""
    params = filter_params(channels, start, end) + ([days] if days is not None else [])
    if every == "day" and wh.days_are_local():
        return wh.sql(_BUCKETED[name, "day", days is not None], params)
    return wh.sql(_BUCKETED[name, "trunc", days is not None], params + [every])


def _bucketed(wh: Warehouse, name: str, every: str, channels: list[str] | None, start: date | None,
              end: date | None) -> pl.DataFrame:
    """Hours and days from the roll-ups (warehouse/read/accelerators/rollups.py) when they may
    answer, the live overlay's days scanned beside them; otherwise a scan of the chat."""
    every = check_every(every)

    def rolled(reader: rollups.Reader) -> pl.DataFrame:
        live = sorted(d for d in wh.overlay_days() if (start is None or d >= start) and (end is None or d <= end))
        got = reader.select(name, every, channels, start, end, set(live))
        if not live:
            return got
        return pl.concat([got, _scan(wh, name, every, channels, live[0], live[-1], live)]).sort("channel_id",
                                                                                               "bucket")

    def scan() -> pl.DataFrame:
        return _scan(wh, name, every, channels, start, end)

    return wh.answer(ROLLUPS, rolled, scan) if every in rollups.GRAINS else scan()


def activity(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
             end: date | None = None, every: str = "hour") -> pl.DataFrame:
    """Messages and chatters per channel and time bucket: [channel_id, channel_name,
    bucket, messages, chatters, messages_per_chatter]. `every` is minute, hour or day;
    `bucket` is the bucket's start in DISPLAY_TZ. Buckets without messages are absent.

    >>> activity(wh, ["a1b2..."], date(2026, 9, 1), date(2026, 9, 7), every="day")
    """
    return _bucketed(wh, "activity", every, channels, start, end)


def subscriber_ratio(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                     end: date | None = None, every: str = "day") -> pl.DataFrame:
    """Subscriber share per channel and bucket: [channel_id, channel_name, bucket,
    messages, subscriber_messages, message_share, chatters, subscriber_chatters,
    chatter_share]. A line is a subscriber's when it carries a subscription tier or a
    subscription month > 0; shares are 0..1 (null when the denominator is 0).

    >>> subscriber_ratio(wh, start=date(2026, 9, 1), every="day")
    """
    return _bucketed(wh, "subscriber_ratio", every, channels, start, end)


def tier_split(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
               end: date | None = None) -> pl.DataFrame:
    """Chatters and their messages by subscription tier: [channel_id, channel_name, tier,
    chatters, messages], tier in "none", "tier 1", "tier 2" (a higher tier shows as
    "tier N"). Each chatter counts once per channel, at the highest tier seen on their
    lines in the period (a month > 0 without a tier counts as tier 1). Sorted by
    channel_id and tier.

    >>> tier_split(wh, ["a1b2..."])
    """
    return wh.answer(CHATTER_DAYS, lambda r: chatter_frames.tier_split(r, Lake(wh.root), channels, start, end),
                     lambda: wh.sql(_TIER_SPLIT, filter_params(channels, start, end)))


_TIER_SPLIT = """
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])),
        u AS (
            SELECT channel_id, user_id, count(*) AS messages, max(""" + chatter_days.LINE_TIER + """) AS t
            FROM f WHERE is_chatter(user_id) GROUP BY channel_id, user_id),
        n AS (SELECT channel_id, arg_max(channel_name, chat_time) AS channel_name
              FROM f GROUP BY channel_id)
        SELECT u.channel_id, n.channel_name,
               CASE WHEN t = 0 THEN 'none' ELSE 'tier ' || t END AS tier,
               count(*) AS chatters, sum(messages)::BIGINT AS messages
        FROM u JOIN n USING (channel_id)
        GROUP BY u.channel_id, n.channel_name, t ORDER BY u.channel_id, t"""  # noqa: S608 - constant fragments
