"""Audience questions: when a channel's chat is busy, who carries it, who comes back, who
subscribes for how long (which channels share chatters: overlap.py).

Conventions are warehouse.read.queries.params' (channels list|None, start/end inclusive days in
DISPLAY_TZ, "messages" = every line but SYSTEM_MESSAGE's, "chatters" = distinct user ids
other than ``anonymous``/``SYSTEM_MESSAGE``, times tz-aware in DISPLAY_TZ). Every SQL text
is static; values are bound parameters.
"""
from __future__ import annotations

from datetime import date

import polars as pl

from warehouse.lake.layout import Lake
from warehouse.read.accelerators import BROADCAST_SPANS, CHATTER_DAYS, ROLLUPS, USERS, chatter_frames
from warehouse.read.accelerators.base import LAKE_ONLY, Need
from warehouse.read.queries.params import FIRST_DAY, check_bucket, filter_params
from warehouse.read.queries.spans import broadcast_span
from warehouse.read.warehouse import Warehouse

BUCKETS = ("hour", "day", "week", "month")
TENURE_BUCKETS = ("1", "2-3", "4-6", "7-12", "13-24", "25+")
COHORT_BUCKETS = ("day", "week", "month")
# the chatter days (warehouse/read/accelerators/chatter_days.py) answer buckets of days, weeks
# and months only when they are the partitions' days; hours only in the zone they were taken in
_LOCAL = frozenset({Need.LOCAL_DAYS})
_LOCAL_HOURS = frozenset({Need.LOCAL_DAYS, Need.SAME_ZONE})


def heatmap(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
            end: date | None = None) -> pl.DataFrame:
    """Hour × weekday activity: [channel_id, weekday (0 = Monday), hour (0-23), messages,
    chatters], both in DISPLAY_TZ. Chatters are distinct over the whole period within the
    cell (a regular of every Monday 21:00 counts once). Empty cells are absent.

    >>> heatmap(wh, ["a1b2..."], date(2026, 9, 1), date(2026, 9, 30))
    """
    def fast(reader) -> pl.DataFrame | None:
        # the lines per hour from the roll-ups, the chatters from each chatter's hours of each day
        cells = wh.answer(ROLLUPS, lambda r: r.hour_cells(channels, start, end), lambda: None)
        return None if cells is None else chatter_frames.heatmap(reader, Lake(wh.root), channels, start, end, cells)

    return wh.answer(CHATTER_DAYS, fast, lambda: _heatmap_scan(wh, channels, start, end), also=_LOCAL_HOURS)


def _heatmap_scan(wh: Warehouse, channels: list[str] | None, start: date | None, end: date | None) -> pl.DataFrame:
    return wh.sql("""
        WITH f AS (SELECT channel_id, user_id, chat_time::TIMESTAMP AS local_time  -- one zone conversion a row
                   FROM chat_rows(?, ?, ?, ?::VARCHAR[]))
        SELECT channel_id, (isodow(local_time) - 1)::INTEGER AS weekday,
               hour(local_time)::INTEGER AS hour, count(*) AS messages,
               count(DISTINCT user_id) FILTER (WHERE is_chatter(user_id)) AS chatters
        FROM f GROUP BY ALL ORDER BY channel_id, weekday, hour""",
                  filter_params(channels, start, end))


def top_chatters(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                 end: date | None = None, limit: int = 20) -> pl.DataFrame:
    """The `limit` chatters with the most lines per channel: [channel_id, user_id,
    nickname (latest), messages, share (of the channel's messages, 0..1), rank (1 = most;
    ties broken by user_id)].

    >>> top_chatters(wh, ["a1b2..."], limit=10)
    """
    return wh.answer(CHATTER_DAYS, lambda r: chatter_frames.top_chatters(r, Lake(wh.root), channels, start, end, limit),
                     lambda: wh.sql(_TOP_CHATTERS, filter_params(channels, start, end) + [int(limit)]))


_TOP_CHATTERS = """
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])),
        tot AS (SELECT channel_id, count(*) AS total FROM f GROUP BY channel_id),
        u AS (SELECT channel_id, user_id, arg_max(nickname, chat_time) AS nickname,
                     count(*) AS messages
              FROM f WHERE is_chatter(user_id) GROUP BY channel_id, user_id),
        r AS (SELECT u.channel_id, user_id, nickname, messages, messages / total AS share,
                     row_number() OVER (PARTITION BY u.channel_id ORDER BY messages DESC, user_id) AS rank
              FROM u JOIN tot USING (channel_id))
        SELECT * FROM r WHERE rank <= ? ORDER BY channel_id, rank"""


def top_share(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
              end: date | None = None, n: int = 10) -> pl.DataFrame:
    """How much of a channel's chat its `n` busiest chatters write: [channel_id, messages
    (all the channel's lines), top_messages (the top n chatters' lines), share (0..1)].

    >>> top_share(wh, start=date(2026, 9, 1), n=10)
    """
    return wh.answer(CHATTER_DAYS, lambda r: chatter_frames.top_share(r, Lake(wh.root), channels, start, end, n),
                     lambda: wh.sql(_TOP_SHARE, filter_params(channels, start, end) + [int(n)]))


_TOP_SHARE = """
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])),
        tot AS (SELECT channel_id, count(*) AS messages FROM f GROUP BY channel_id),
        u AS (SELECT channel_id, count(*) AS m,
                     row_number() OVER (PARTITION BY channel_id ORDER BY count(*) DESC, user_id) AS rk
              FROM f WHERE is_chatter(user_id) GROUP BY channel_id, user_id),
        t AS (SELECT channel_id, sum(m)::BIGINT AS top_messages FROM u WHERE rk <= ? GROUP BY channel_id)
        SELECT tot.channel_id, messages, coalesce(top_messages, 0)::BIGINT AS top_messages,
               coalesce(top_messages, 0) / messages AS share
        FROM tot LEFT JOIN t USING (channel_id) ORDER BY channel_id"""


def new_vs_returning(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                     end: date | None = None, every: str = "day") -> pl.DataFrame:
    """Chatters per bucket split by whether the bucket holds their first line ever in that
    channel (anywhere in the lake, not only in the period): [channel_id, bucket,
    new_chatters, returning_chatters]. `every`: hour, day, week (from Monday) or month.

    >>> new_vs_returning(wh, ["a1b2..."], date(2026, 9, 1), date(2026, 9, 30), every="week")
    """
    every = check_bucket(every, BUCKETS)
    d0, d1, all_ch, chs = filter_params(channels, start, end)
    # a chatter's first line: from the users side table when it may answer (one row per
    # user, channel and day, with first_seen), else from every line up to `end`
    params = [d0, d1, all_ch, chs, every, every, FIRST_DAY, d1, all_ch, chs]

    def lines() -> pl.DataFrame:
        return wh.answer(USERS, lambda _: wh.sql(_NEW_VS_RETURNING_INDEXED, params),
                         lambda: wh.sql(_NEW_VS_RETURNING, params))

    if every == "hour":
        return lines()
    # days, weeks and months of the partitions' zone: from the chatter days held in memory
    # (warehouse/read/accelerators/chatter_days.py), each chatter's first day among them
    return wh.answer(CHATTER_DAYS, lambda r: chatter_frames.new_vs_returning(r, Lake(wh.root), channels, start, end,
                                                                             every, wh.tz),
                     lines, also=_LOCAL)


_NEW_VS_RETURNING = """
    WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE is_chatter(user_id)),
    b AS (SELECT DISTINCT channel_id, user_id, date_trunc(?, chat_time) AS bucket FROM f),
    firsts AS (SELECT channel_id, user_id, date_trunc(?, min(chat_time)) AS first_bucket
               FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE is_chatter(user_id)
               GROUP BY channel_id, user_id)
    SELECT b.channel_id, b.bucket,
           count(*) FILTER (WHERE first_bucket = b.bucket) AS new_chatters,
           count(*) FILTER (WHERE first_bucket < b.bucket) AS returning_chatters
    FROM b JOIN firsts USING (channel_id, user_id)
    GROUP BY b.channel_id, b.bucket ORDER BY b.channel_id, b.bucket"""
_NEW_VS_RETURNING_INDEXED = _NEW_VS_RETURNING.replace(
    """FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE is_chatter(user_id)
               GROUP BY""",
    """FROM users_index WHERE day BETWEEN ? AND ? AND (? OR list_contains(?::VARCHAR[], channel_id))
               GROUP BY""").replace("min(chat_time)) AS first_bucket", "min(first_seen)) AS first_bucket")
assert _NEW_VS_RETURNING_INDEXED != _NEW_VS_RETURNING


def broadcast_retention(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                        end: date | None = None) -> pl.DataFrame:
    """Broadcast-to-broadcast retention: [channel_id, broadcast (its chat_channel_id),
    started (first line), chatters, returning_from_previous (chatters of the channel's
    previous broadcast who chat in this one; null for the first broadcast in the lake),
    retention (returning_from_previous / the previous broadcast's chatters)].

    A broadcast is in the period when it *started* on a day in [start, end]; its previous
    broadcast is the one started before it in the whole lake, and all lines of both count,
    even those past `end`. Lines without a chat_channel_id belong to no broadcast.

    >>> broadcast_retention(wh, ["a1b2..."], date(2026, 9, 1), date(2026, 9, 30))
    """
    d0, d1, all_ch, chs = filter_params(channels, start, end)

    def in_days(_) -> pl.DataFrame:
        # the spans say on which days the wanted broadcasts and their predecessors have
        # lines: only those day files are read for their chatters, not the channels' whole
        # history (the day list is a bound parameter, so DuckDB prunes the other files)
        days = wh.sql(_RETENTION_DAYS, [all_ch, chs, d0, d1])["day"].to_list()
        return wh.sql(_RETENTION_IN_DAYS, [all_ch, chs, d0, d1, all_ch, chs, days])

    def scan() -> pl.DataFrame:
        # the spans' days are the lake's: with live rows the overlay's days would be missed
        return wh.answer(BROADCAST_SPANS, in_days, lambda: wh.sql(_RETENTION, [all_ch, chs, d0, d1, all_ch, chs]),
                         also=LAKE_ONLY)

    def fast(reader) -> pl.DataFrame | None:
        # the broadcasts and their predecessors from the spans (or a scan), their chatters
        # from the chatter days' broadcast column
        want = wh.sql(_RETENTION_WANT, [all_ch, chs, d0, d1])
        got = chatter_frames.retention_chatters(reader, Lake(wh.root), want)
        return None if got is None else pl.concat([want.select("channel_id", "broadcast", "started"), got],
                                                  how="horizontal")

    return wh.answer(CHATTER_DAYS, fast, scan)


_RETENTION_SEQ = """
        WITH seq AS (
            SELECT channel_id, broadcast, started,
                   lag(broadcast) OVER (PARTITION BY channel_id ORDER BY started, broadcast) AS prev
            FROM broadcasts(?, ?::VARCHAR[])),
        want AS (SELECT * FROM seq WHERE started::DATE BETWEEN ? AND ?),"""
# {in_days}: nothing, or the day list of _RETENTION_IN_DAYS (a bound parameter)
_RETENTION_TEMPLATE = _RETENTION_SEQ + """
        bu AS (SELECT DISTINCT channel_id, chat_channel_id AS broadcast, user_id
               FROM chat_rows(DATE '0001-01-01', DATE '9999-12-31', ?, ?::VARCHAR[])
               WHERE is_chatter(user_id) AND chat_channel_id IS NOT NULL{in_days}),
        cnt AS (SELECT channel_id, broadcast, count(*) AS chatters FROM bu GROUP BY ALL),
        ret AS (SELECT w.channel_id, w.broadcast, count(*) AS n
                FROM want w
                JOIN bu cur ON cur.channel_id = w.channel_id AND cur.broadcast = w.broadcast
                JOIN bu p ON p.channel_id = w.channel_id AND p.broadcast = w.prev
                         AND p.user_id = cur.user_id
                GROUP BY ALL)
        SELECT w.channel_id, w.broadcast, w.started, coalesce(c.chatters, 0) AS chatters,
               CASE WHEN w.prev IS NOT NULL THEN coalesce(ret.n, 0) END AS returning_from_previous,
               CASE WHEN w.prev IS NOT NULL THEN coalesce(ret.n, 0) / nullif(pc.chatters, 0) END
                   AS retention
        FROM want w
        LEFT JOIN cnt c ON c.channel_id = w.channel_id AND c.broadcast = w.broadcast
        LEFT JOIN cnt pc ON pc.channel_id = w.channel_id AND pc.broadcast = w.prev
        LEFT JOIN ret ON ret.channel_id = w.channel_id AND ret.broadcast = w.broadcast
        ORDER BY w.channel_id, w.started, w.broadcast"""  # noqa: S608 - constant SQL fragments only
_RETENTION = _RETENTION_TEMPLATE.replace("{in_days}", "")
# the same, the chatters read only from the days of a bound list (every day on which a
# wanted broadcast or its predecessor has a line: _RETENTION_DAYS, from the spans)
_RETENTION_IN_DAYS = _RETENTION_TEMPLATE.replace("{in_days}", " AND list_contains(?::DATE[], day)")
_RETENTION_WANT = _RETENTION_SEQ.rstrip().rstrip(",") + """
        SELECT channel_id, broadcast, started, prev FROM want ORDER BY channel_id, started, broadcast"""  # noqa: S608
_RETENTION_DAYS = _RETENTION_SEQ + """
        b AS (SELECT channel_id, broadcast FROM want
              UNION SELECT channel_id, prev FROM want WHERE prev IS NOT NULL)
        SELECT DISTINCT s.day FROM broadcast_spans s JOIN b USING (channel_id, broadcast) ORDER BY s.day"""  # noqa: S608


def chatter_cohorts(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                    end: date | None = None, every: str = "month") -> pl.DataFrame:
    """Chatter cohorts: chatters grouped by the bucket of their first line ever in a channel
    (anywhere in the lake, as in `new_vs_returning`), and how many of each cohort chat in
    each later bucket: [channel_id, cohort, period, periods_after (0 = the cohort's own
    bucket), cohort_size, chatters, retention (chatters / cohort_size, 0..1)].

    Only cohorts whose first line falls on a day in [start, end] are listed, and only their
    lines in [start, end] count; a period in which no member chats has no row. `every`:
    day, week (from Monday) or month.

    >>> chatter_cohorts(wh, ["a1b2..."], date(2026, 8, 1), date(2026, 10, 31), every="month")
    """
    every = check_bucket(every, COHORT_BUCKETS)
    d0, d1, all_ch, chs = filter_params(channels, start, end)
    return wh.answer(CHATTER_DAYS,
                     lambda r: chatter_frames.chatter_cohorts(r, Lake(wh.root), channels, start, end, every, wh.tz),
                     lambda: wh.sql(_COHORTS, [every, all_ch, chs, d0, d1, every, d0, d1, all_ch, chs, every]),
                     also=_LOCAL)


_COHORTS = """
        WITH firsts AS (
            SELECT channel_id, user_id, min(day) AS first_day, date_trunc(?, min(chat_time)) AS cohort
            FROM chat_rows(DATE '0001-01-01', DATE '9999-12-31', ?, ?::VARCHAR[])
            WHERE is_chatter(user_id) GROUP BY channel_id, user_id),
        members AS (SELECT channel_id, user_id, cohort FROM firsts WHERE first_day BETWEEN ? AND ?),
        size AS (SELECT channel_id, cohort, count(*) AS cohort_size FROM members GROUP BY ALL),
        active AS (SELECT DISTINCT channel_id, user_id, date_trunc(?, chat_time) AS period
                   FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE is_chatter(user_id))
        SELECT m.channel_id, m.cohort, a.period, date_diff(?, m.cohort, a.period)::INTEGER AS periods_after,
               any_value(s.cohort_size) AS cohort_size, count(*) AS chatters,
               count(*) / any_value(s.cohort_size) AS retention
        FROM members m
        JOIN active a USING (channel_id, user_id)
        JOIN size s USING (channel_id, cohort)
        GROUP BY m.channel_id, m.cohort, a.period ORDER BY m.channel_id, m.cohort, a.period"""


def subscriber_tenure(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                      end: date | None = None, every: str = "month") -> pl.DataFrame:
    """Subscribers seen chatting per bucket, by tier and tenure: [channel_id, bucket, tier
    ("tier 1", "tier 2"), tenure_bucket ("1", "2-3", "4-6", "7-12", "13-24", "25+" months),
    subscribers]. A subscriber (a line with a tier or a month > 0) counts once per bucket,
    at the highest tier and the highest cumulative month seen on their lines in it (a month
    of 0 or none counts as "1"; a month without a tier as tier 1). `every`: day, week or
    month.

    >>> subscriber_tenure(wh, ["a1b2..."], every="month")
    """
    every = check_bucket(every, ("day", "week", "month"))
    return wh.answer(CHATTER_DAYS,
                     lambda r: chatter_frames.subscriber_tenure(r, Lake(wh.root), channels, start, end, every, wh.tz),
                     lambda: wh.sql(_TENURE, filter_params(channels, start, end) + [every]), also=_LOCAL)


_TENURE = """
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])
                   WHERE is_chatter(user_id) AND is_sub(subscription_tier, subscription_month)),
        s AS (SELECT channel_id, date_trunc(?, chat_time) AS bucket, user_id,
                     max(greatest(coalesce(subscription_tier, 0), 1)) AS t,
                     max(coalesce(subscription_month, 0)) AS m
              FROM f GROUP BY ALL),
        l AS (SELECT channel_id, bucket, t,
                     CASE WHEN m <= 1 THEN '1' WHEN m <= 3 THEN '2-3' WHEN m <= 6 THEN '4-6'
                          WHEN m <= 12 THEN '7-12' WHEN m <= 24 THEN '13-24' ELSE '25+' END
                         AS tenure_bucket
              FROM s)
        SELECT channel_id, bucket, 'tier ' || t AS tier, tenure_bucket, count(*) AS subscribers
        FROM l GROUP BY channel_id, bucket, t, tenure_bucket
        ORDER BY channel_id, bucket, t,
                 list_position(['1', '2-3', '4-6', '7-12', '13-24', '25+'], tenure_bucket)"""


def subscriber_change(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                      end: date | None = None) -> pl.DataFrame:
    """Month-over-month subscribers: [channel_id, month (its first day, DISPLAY_TZ),
    subscribers, gained, lost]. subscribers = distinct subscribers seen chatting in the
    month; gained = in this month but not the previous one; lost = in the previous month
    but not this one. Every month from the channel's first to last month with lines in the
    period is listed (a quiet month shows 0); the first month has gained/lost null, since
    there is nothing in the period to compare it with.

    This is what the chat shows, not the platform's subscriber count: a subscriber who
    does not chat in a month is "lost" for it.

    >>> subscriber_change(wh, ["a1b2..."], date(2026, 1, 1), date(2026, 12, 31))
    """
    return wh.answer(CHATTER_DAYS, lambda r: chatter_frames.subscriber_change(r, Lake(wh.root), channels, start, end,
                                                                              wh.tz),
                     lambda: wh.sql(_CHANGE, filter_params(channels, start, end)), also=_LOCAL)


_CHANGE = """
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])),
        s AS (SELECT DISTINCT channel_id, date_trunc('month', chat_time) AS month, user_id FROM f
              WHERE is_chatter(user_id) AND is_sub(subscription_tier, subscription_month)),
        span AS (SELECT channel_id, date_trunc('month', min(chat_time)) AS m0,
                        date_trunc('month', max(chat_time)) AS m1
                 FROM f GROUP BY channel_id),
        months AS (SELECT channel_id, m0, unnest(generate_series(m0, m1, INTERVAL 1 MONTH)) AS month
                   FROM span),
        cnt AS (SELECT channel_id, month, count(*) AS n FROM s GROUP BY ALL),
        gained AS (SELECT c.channel_id, c.month, count(*) AS n FROM s c
                   ANTI JOIN s p ON p.channel_id = c.channel_id AND p.user_id = c.user_id
                                AND p.month = c.month - INTERVAL 1 MONTH
                   GROUP BY ALL),
        lost AS (SELECT p.channel_id, p.month + INTERVAL 1 MONTH AS month, count(*) AS n FROM s p
                 ANTI JOIN s c ON c.channel_id = p.channel_id AND c.user_id = p.user_id
                              AND c.month = p.month + INTERVAL 1 MONTH
                 GROUP BY ALL)
        SELECT m.channel_id, m.month, coalesce(cnt.n, 0) AS subscribers,
               CASE WHEN m.month > m.m0 THEN coalesce(gained.n, 0) END AS gained,
               CASE WHEN m.month > m.m0 THEN coalesce(lost.n, 0) END AS lost
        FROM months m
        LEFT JOIN cnt USING (channel_id, month)
        LEFT JOIN gained USING (channel_id, month)
        LEFT JOIN lost USING (channel_id, month)
        ORDER BY m.channel_id, m.month"""


def broadcast_top_chatters(wh: Warehouse, channel_id: str, broadcast: str, limit: int = 20) -> pl.DataFrame:
    """The broadcast's `limit` busiest chatters: [user_id, nickname (latest), messages,
    share (of the broadcast's messages, 0..1), rank (1 = most; ties by user_id)].

    >>> broadcast_top_chatters(wh, "a1b2...", "N1x2y3", limit=10)
    """
    return wh.answer(CHATTER_DAYS, lambda r: chatter_frames.broadcast_top_chatters(r, Lake(wh.root), channel_id,
                                                                                   broadcast, limit),
                     lambda: _broadcast_top_scan(wh, channel_id, broadcast, limit))


def _broadcast_top_scan(wh: Warehouse, channel_id: str, broadcast: str, limit: int) -> pl.DataFrame:
    span = broadcast_span(wh, channel_id, broadcast)
    d0, d1, _ = span or (date(1, 1, 1), date(1, 1, 1), None)
    return wh.sql("""
        WITH f AS (FROM chat_rows(?, ?, false, ?::VARCHAR[]) WHERE chat_channel_id = ?),
        u AS (SELECT user_id, arg_max(nickname, chat_time) AS nickname, count(*) AS messages
              FROM f WHERE is_chatter(user_id) GROUP BY user_id),
        r AS (SELECT *, messages / (SELECT count(*) FROM f) AS share,
                     row_number() OVER (ORDER BY messages DESC, user_id) AS rank FROM u)
        SELECT * FROM r WHERE rank <= ? ORDER BY rank""",
                  [d0, d1, [channel_id], broadcast, int(limit)])
