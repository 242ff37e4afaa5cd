"""Donations: totals over time, rankings, the size distribution, when in a broadcast the
money comes, missions still pending, and gifted subscriptions.

A donation is a line with message_type ``donation`` (CHZZK's msgTypeCode 10; msgTypeCode
13 party announcements and shop lines are not counted); its amount is pay_amount in cheese
(≈ KRW), a missing amount counting as 0. A mission line (donation_type MISSION or
MISSION_PARTICIPATION) counts only once its mission is settled (donation_status APPROVED
or COMPLETED): never while PENDING or of unknown status, never REJECTED or EXPIRED
(``pending_missions`` lists the pending ones apart). A party donation (donation_type
PARTY) is one line credited to the channel whose chat received it; the party's running
total (PARTY_DONATION_INFO events) is never added. A donation is anonymous when
is_anonymous is true or user_id is ``anonymous``. Conventions are warehouse.read.queries.params'
(channels, inclusive start/end days in DISPLAY_TZ, tz-aware times); SQL texts are static,
values bound. README, "How donations are counted".

Every question here is answered from the money lines held in memory (the MONEY accelerator,
warehouse/read/accelerators/money_lines.py, which applies these rules to the same lines)
when they may answer, and by the SQL below over the chat otherwise; both give equal frames
(tests/warehouse/test_accelerators.py, test_money_lines.py).
"""
from __future__ import annotations

from datetime import date

import polars as pl

from warehouse.read.accelerators import BROADCAST_SPANS, MONEY
from warehouse.read.accelerators.money_lines import ANONYMOUS_DONOR
from warehouse.read.queries.params import check_bucket, filter_params
from warehouse.read.queries.spans import broadcast_span
from warehouse.read.warehouse import Warehouse

BUCKETS = ("hour", "day", "week", "month")
# The donations every money query counts (a WHERE / FILTER condition over chat rows):
# mission lines only when settled (collector.items.SETTLED_STATUSES). Lakes whose every
# partition predates migration 010 have no donation_status column: their mission lines
# have no known status, so they are not counted either.
COUNTED_DONATION = """message_type = 'donation'
    AND (coalesce(donation_type, '') NOT IN ('MISSION', 'MISSION_PARTICIPATION')
         OR coalesce(donation_status, '') IN ('APPROVED', 'COMPLETED'))"""
COUNTED_DONATION_BEFORE_010 = """message_type = 'donation'
    AND coalesce(donation_type, '') NOT IN ('MISSION', 'MISSION_PARTICIPATION')"""
# (label, lowest amount) in order; a bucket holds amounts from its lowest to the next's
AMOUNT_BUCKETS = (("0", 0), ("1-999", 1), ("1,000-4,999", 1_000), ("5,000-9,999", 5_000),
                  ("10,000-49,999", 10_000), ("50,000-99,999", 50_000), ("100,000+", 100_000))


def _has_money_columns(wh: Warehouse) -> bool:
    """Whether ``chat`` has the columns of migration 010 (Warehouse.chat_columns: asked of
    DuckDB once per making of the views, not on every money question)."""
    return "donation_status" in wh.chat_columns()


def counted_donation(wh: Warehouse) -> str:
    """The condition a chat row meets when it is a donation that counts (one of two static
    texts: whether the lake has the money columns); for the other modules' SQL too."""
    return COUNTED_DONATION if _has_money_columns(wh) else COUNTED_DONATION_BEFORE_010


def _counted(wh: Warehouse) -> str:
    """The FROM … WHERE of the donations that count (binds d0, d1, all_ch, chs)."""
    return "FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE " + counted_donation(wh)


def donations(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
              end: date | None = None, every: str = "day") -> pl.DataFrame:
    """Donation totals per channel and bucket: [channel_id, bucket, donations (count),
    amount (sum), anonymous_share (share of the donations, by count, that are anonymous,
    0..1)]. `every`: hour, day, week or month. Buckets without donations are absent.

    >>> donations(wh, ["a1b2..."], date(2026, 9, 1), date(2026, 9, 30), every="week")
    """
    every = check_bucket(every, BUCKETS)
    return wh.answer(MONEY, lambda r: r.donations(channels, start, end, every, wh.tz), lambda: wh.sql("""
        WITH d AS (""" + _counted(wh) + """)
        SELECT channel_id, date_trunc(?, chat_time) AS bucket, count(*) AS donations,
               coalesce(sum(pay_amount), 0)::BIGINT AS amount,
               count(*) FILTER (WHERE is_anon(user_id, is_anonymous)) / count(*) AS anonymous_share
        FROM d GROUP BY ALL ORDER BY channel_id, bucket""",  # noqa: S608 - constant fragments only
                  filter_params(channels, start, end) + [every]))


def donation_ranking(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                     end: date | None = None, limit: int = 20) -> pl.DataFrame:
    """Donors by amount per channel: [channel_id, donor (latest nickname, else the user id;
    every anonymous donation together as one donor "익명" with user_id null), user_id,
    donations, amount, rank (1 = largest amount; ties: more donations first, then named
    before anonymous, then user_id)]. At most `limit` rows per channel.

    >>> donation_ranking(wh, ["a1b2..."], limit=10)
    """
    return wh.answer(MONEY, lambda r: r.ranking(channels, start, end, int(limit)), lambda: wh.sql("""
        WITH d AS (SELECT *, is_anon(user_id, is_anonymous) AS anon """ + _counted(wh) + """),
        g AS (SELECT channel_id, anon, CASE WHEN anon THEN NULL ELSE user_id END AS uid,
                     arg_max(nickname, chat_time) AS nick, count(*) AS donations,
                     coalesce(sum(pay_amount), 0)::BIGINT AS amount
              FROM d GROUP BY channel_id, anon, uid),
        r AS (SELECT channel_id, CASE WHEN anon THEN ? ELSE coalesce(nick, uid) END AS donor,
                     uid AS user_id, donations, amount,
                     row_number() OVER (PARTITION BY channel_id
                                        ORDER BY amount DESC, donations DESC, anon, uid) AS rank
              FROM g)
        SELECT * FROM r WHERE rank <= ? ORDER BY channel_id, rank""",  # noqa: S608 - constant fragments only
                  filter_params(channels, start, end) + [ANONYMOUS_DONOR, int(limit)]))


def donation_distribution(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                          end: date | None = None) -> pl.DataFrame:
    """How big donations are, over all the selected channels: [amount_bucket, donations,
    amount], buckets "0", "1-999", "1,000-4,999", "5,000-9,999", "10,000-49,999",
    "50,000-99,999", "100,000+" in that order (empty buckets absent).

    >>> donation_distribution(wh, start=date(2026, 9, 1))
    """
    labels = [label for label, _ in AMOUNT_BUCKETS]
    lows = [low for _, low in AMOUNT_BUCKETS]
    return wh.answer(MONEY, lambda r: r.distribution(channels, start, end, AMOUNT_BUCKETS), lambda: wh.sql("""
        WITH d AS (SELECT coalesce(pay_amount, 0) AS a """ + _counted(wh) + """),
        -- idx: the last bucket whose lowest amount is <= a (1-based, as DuckDB lists)
        b AS (SELECT a, (SELECT max(i) FROM range(1, len(?::BIGINT[]) + 1) t(i)
                         WHERE (?::BIGINT[])[i] <= greatest(a, 0)) AS idx FROM d)
        SELECT (?::VARCHAR[])[idx] AS amount_bucket, count(*) AS donations,
               sum(a)::BIGINT AS amount
        FROM b GROUP BY idx ORDER BY idx""",  # noqa: S608 - constant fragments only
                  filter_params(channels, start, end) + [lows, lows, labels]))


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
    d0, d1, all_ch, chs = filter_params(channels, start, end)

    def fast(reader):
        spans = wh.accelerator(BROADCAST_SPANS)  # where each broadcast started
        return None if spans is None else reader.over_broadcast(channels, start, end, int(minutes), spans.table,
                                                                 spans.fresh.key)
    return wh.answer(MONEY, fast, lambda: wh.sql("""
        WITH d AS (""" + _counted(wh) + """ AND chat_channel_id IS NOT NULL)
        SELECT d.channel_id, d.chat_channel_id AS broadcast,
               (epoch_us(d.chat_time) - epoch_us(b.started)) // (60000000::BIGINT * ?) * ? AS offset_minutes,
               count(*) AS donations, coalesce(sum(pay_amount), 0)::BIGINT AS amount
        FROM d JOIN broadcasts(?, ?::VARCHAR[]) b
             ON b.channel_id = d.channel_id AND b.broadcast = d.chat_channel_id
        GROUP BY ALL ORDER BY d.channel_id, min(b.started), broadcast, offset_minutes""",  # noqa: S608 - constant fragments only
                  [d0, d1, all_ch, chs, int(minutes), int(minutes), all_ch, chs]))


def pending_missions(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                     end: date | None = None) -> pl.DataFrame:
    """Mission donations not counted (yet) because their mission is not settled:
    [channel_id, mission_id, chat_time (the mission's line), donor (latest nickname, else
    the user id; "익명" for anonymous), amount, status (PENDING, or None when no status was
    seen), mission (its text)], newest first. REJECTED and EXPIRED missions are not listed:
    they will never count.

    >>> pending_missions(wh, ["a1b2..."])
    """
    if not _has_money_columns(wh):
        return pl.DataFrame(schema={"channel_id": pl.String, "mission_id": pl.String,
                                    "chat_time": pl.Datetime("us", "UTC"), "donor": pl.String,
                                    "amount": pl.Int64, "status": pl.String, "mission": pl.String})
    return wh.answer(MONEY, lambda r: r.pending_missions(channels, start, end, wh.tz), lambda: wh.sql("""
        SELECT channel_id, mission_id, chat_time,
               CASE WHEN is_anon(user_id, is_anonymous) THEN ? ELSE coalesce(nickname, user_id) END AS donor,
               coalesce(pay_amount, 0)::BIGINT AS amount, donation_status AS status, message AS mission
        FROM chat_rows(?, ?, ?, ?::VARCHAR[])
        WHERE message_type = 'donation' AND donation_type = 'MISSION'
          AND coalesce(donation_status, 'PENDING') = 'PENDING'
        ORDER BY chat_time DESC, channel_id, mission_id""",
                  [ANONYMOUS_DONOR] + filter_params(channels, start, end)))


def gifted_subscriptions(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                         end: date | None = None) -> pl.DataFrame:
    """Subscriptions given as gifts, per channel: [channel_id, gifts, subscriptions]. A gift
    is one giftId (a gift line without one is a gift of its own); it gave the quantity its
    sender's line or SUBSCRIPTION_GIFT event says (gift_quantity, which the collector puts
    on every line of the gift), or as many subscriptions as receiver lines were seen when
    that is more (or neither was captured), and at least one.
    Lines on days in [start, end] count; channels without gifts are absent.

    >>> gifted_subscriptions(wh, start=date(2026, 9, 1))
    """
    if not _has_money_columns(wh):
        return wh.sql("""
            SELECT channel_id, count(*) AS gifts, count(*) AS subscriptions
            FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE message_type = 'subscription_gift'
            GROUP BY channel_id ORDER BY channel_id""", filter_params(channels, start, end))
    return wh.answer(MONEY, lambda r: r.gifted(channels, start, end), lambda: wh.sql("""
        WITH g AS (SELECT channel_id, coalesce(gift_id, dedupe_key) AS gift,
                          greatest(coalesce(max(gift_quantity), 0),
                                   count(*) FILTER (WHERE gift_receiver_id IS NOT NULL), 1) AS n
                   FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE message_type = 'subscription_gift'
                   GROUP BY channel_id, gift)
        SELECT channel_id, count(*) AS gifts, sum(n)::BIGINT AS subscriptions
        FROM g GROUP BY channel_id ORDER BY channel_id""", filter_params(channels, start, end)))


def broadcast_donors(wh: Warehouse, channel_id: str, broadcast: str, limit: int = 20) -> pl.DataFrame:
    """The broadcast's donors by amount, as donation_ranking() ranks them: [donor (latest
    nickname, else the user id; every anonymous donation together as "익명", user_id
    null), user_id, donations, amount, rank].

    >>> broadcast_donors(wh, "a1b2...", "N1x2y3", limit=10)
    """
    return wh.answer(MONEY, lambda r: r.broadcast_donors(channel_id, broadcast, int(limit)),
                     lambda: _broadcast_donors_scan(wh, channel_id, broadcast, limit))


def _broadcast_donors_scan(wh: Warehouse, channel_id: str, broadcast: str, limit: int) -> pl.DataFrame:
    span = broadcast_span(wh, channel_id, broadcast)
    d0, d1, _ = span or (date(1, 1, 1), date(1, 1, 1), None)
    return wh.sql("""
        WITH d AS (SELECT *, is_anon(user_id, is_anonymous) AS anon
                   FROM chat_rows(?, ?, false, ?::VARCHAR[])
                   WHERE chat_channel_id = ? AND """ + counted_donation(wh) + """),
        g AS (SELECT anon, CASE WHEN anon THEN NULL ELSE user_id END AS uid,
                     arg_max(nickname, chat_time) AS nick, count(*) AS donations,
                     coalesce(sum(pay_amount), 0)::BIGINT AS amount
              FROM d GROUP BY anon, uid),
        r AS (SELECT CASE WHEN anon THEN ? ELSE coalesce(nick, uid) END AS donor, uid AS user_id,
                     donations, amount,
                     row_number() OVER (ORDER BY amount DESC, donations DESC, anon, uid) AS rank
              FROM g)
        SELECT * FROM r WHERE rank <= ? ORDER BY rank""",  # noqa: S608 - constant fragments
                  [d0, d1, [channel_id], broadcast, ANONYMOUS_DONOR, int(limit)])


def money_totals(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                 end: date | None = None, by_broadcast: bool = False) -> pl.DataFrame | None:
    """The donations that count and their amount, per channel ([channel_id, donations,
    amount]) or per broadcast (`by_broadcast`: [channel_id, broadcast (chat_channel_id, not
    null), donations, amount]) on days in [start, end], sorted by those keys, groups
    without donations absent — from the money lines in memory; None when they may not
    answer (type filter, live rows, stale: the caller counts them in its own scan). For
    channel_summary and broadcast_list, so their scans need not read the money columns.

    >>> money_totals(wh, ["a1b2..."], date(2026, 9, 1), date(2026, 9, 7))
    """
    reader = wh.accelerator(MONEY)
    return None if reader is None else reader.totals(channels, start, end, by_broadcast)
