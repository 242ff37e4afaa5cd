"""Donations: totals over time, rankings, the size distribution, and when in a broadcast
the money comes.

A donation is a line with message_type ``donation`` (CHZZK's msgTypeCode 10; party and
shop lines are not counted); its amount is pay_amount in cheese (≈ KRW), a missing
amount counting as 0. A donation is anonymous when is_anonymous is true or user_id is
``anonymous``. Conventions are warehouse.queries' (channels, inclusive start/end days in
DISPLAY_TZ, tz-aware times); SQL texts are static, values bound.
"""
from __future__ import annotations

from datetime import date

import polars as pl

from warehouse.queries import Warehouse, _check_bucket, _filter_params

BUCKETS = ("hour", "day", "week", "month")
ANONYMOUS_DONOR = "익명"
# (label, lowest amount) in order; a bucket holds amounts from its lowest to the next's
AMOUNT_BUCKETS = (("0", 0), ("1-999", 1), ("1,000-4,999", 1_000), ("5,000-9,999", 5_000),
                  ("10,000-49,999", 10_000), ("50,000-99,999", 50_000), ("100,000+", 100_000))


def donations(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
              end: date | None = None, every: str = "day") -> pl.DataFrame:
    """Donation totals per channel and bucket: [channel_id, bucket, donations (count),
    amount (sum), anonymous_share (share of the donations, by count, that are anonymous,
    0..1)]. `every`: hour, day, week or month. Buckets without donations are absent.

    >>> donations(wh, ["a1b2..."], date(2026, 9, 1), date(2026, 9, 30), every="week")
    """
    every = _check_bucket(every, BUCKETS)
    return wh.sql("""
        WITH d AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE message_type = 'donation')
        SELECT channel_id, date_trunc(?, chat_time) AS bucket, count(*) AS donations,
               coalesce(sum(pay_amount), 0)::BIGINT AS amount,
               count(*) FILTER (WHERE is_anon(user_id, is_anonymous)) / count(*) AS anonymous_share
        FROM d GROUP BY ALL ORDER BY channel_id, bucket""",
                  _filter_params(channels, start, end) + [every])


def donation_ranking(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                     end: date | None = None, limit: int = 20) -> pl.DataFrame:
    """Donors by amount per channel: [channel_id, donor (latest nickname, else the user id;
    every anonymous donation together as one donor "익명" with user_id null), user_id,
    donations, amount, rank (1 = largest amount; ties: more donations first, then named
    before anonymous, then user_id)]. At most `limit` rows per channel.

    >>> donation_ranking(wh, ["a1b2..."], limit=10)
    """
    return wh.sql("""
        WITH d AS (SELECT *, is_anon(user_id, is_anonymous) AS anon
                   FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE message_type = 'donation'),
        g AS (SELECT channel_id, anon, CASE WHEN anon THEN NULL ELSE user_id END AS uid,
                     arg_max(nickname, chat_time) AS nick, count(*) AS donations,
                     coalesce(sum(pay_amount), 0)::BIGINT AS amount
              FROM d GROUP BY channel_id, anon, uid),
        r AS (SELECT channel_id, CASE WHEN anon THEN ? ELSE coalesce(nick, uid) END AS donor,
                     uid AS user_id, donations, amount,
                     row_number() OVER (PARTITION BY channel_id
                                        ORDER BY amount DESC, donations DESC, anon, uid) AS rank
              FROM g)
        SELECT * FROM r WHERE rank <= ? ORDER BY channel_id, rank""",
                  _filter_params(channels, start, end) + [ANONYMOUS_DONOR, int(limit)])


def donation_distribution(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                          end: date | None = None) -> pl.DataFrame:
    """How big donations are, over all the selected channels: [amount_bucket, donations,
    amount], buckets "0", "1-999", "1,000-4,999", "5,000-9,999", "10,000-49,999",
    "50,000-99,999", "100,000+" in that order (empty buckets absent).

    >>> donation_distribution(wh, start=date(2026, 9, 1))
    """
    labels = [label for label, _ in AMOUNT_BUCKETS]
    lows = [low for _, low in AMOUNT_BUCKETS]
    return wh.sql("""
        WITH d AS (SELECT coalesce(pay_amount, 0) AS a
                   FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE message_type = 'donation'),
        -- idx: the last bucket whose lowest amount is <= a (1-based, as DuckDB lists)
        b AS (SELECT a, (SELECT max(i) FROM range(1, len(?::BIGINT[]) + 1) t(i)
                         WHERE (?::BIGINT[])[i] <= greatest(a, 0)) AS idx FROM d)
        SELECT (?::VARCHAR[])[idx] AS amount_bucket, count(*) AS donations,
               sum(a)::BIGINT AS amount
        FROM b GROUP BY idx ORDER BY idx""",
                  _filter_params(channels, start, end) + [lows, lows, labels])


def donations_over_broadcast(wh: Warehouse, channels: list[str] | None = None,
                             start: date | None = None, end: date | None = None,
                             minutes: int = 10) -> pl.DataFrame:
    """When in a broadcast donations arrive: [channel_id, broadcast (chat_channel_id),
    offset_minutes (start of a `minutes`-wide slot counted from the broadcast's first line
    anywhere in the lake: 0, 10, 20, …), donations, amount]. Donations on days in
    [start, end] count; slots without donations are absent.

    >>> donations_over_broadcast(wh, ["a1b2..."], date(2026, 9, 5), date(2026, 9, 5), minutes=5)
    """
    if int(minutes) < 1:
        raise ValueError(f"minutes={minutes!r}: use a whole number of minutes >= 1")
    d0, d1, all_ch, chs = _filter_params(channels, start, end)
    return wh.sql("""
        WITH d AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])
                   WHERE message_type = 'donation' AND chat_channel_id IS NOT NULL)
        SELECT d.channel_id, d.chat_channel_id AS broadcast,
               (epoch_us(d.chat_time) - epoch_us(b.started)) // (60000000::BIGINT * ?) * ? AS offset_minutes,
               count(*) AS donations, coalesce(sum(pay_amount), 0)::BIGINT AS amount
        FROM d JOIN broadcasts(?, ?::VARCHAR[]) b
             ON b.channel_id = d.channel_id AND b.broadcast = d.chat_channel_id
        GROUP BY ALL ORDER BY d.channel_id, min(b.started), broadcast, offset_minutes""",
                  [d0, d1, all_ch, chs, int(minutes), int(minutes), all_ch, chs])
