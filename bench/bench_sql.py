"""The dashboard's questions asked of PostgreSQL (bench/query_bench.py's twins): the same
filters (channels as stream_channel ids, the period's KST day bounds) and the same work
(the same groups, orders and limits) as the lake's functions, written the way one would
write them against stream_chat with its indexes (migrations + (user_id, chat_time)).
A question without a twin here is timed on the lake only.

The SQL is made of this module's constants only (f-strings over fixed fragments); every
value is a bound parameter."""
# ruff: noqa: S608
from __future__ import annotations

from datetime import datetime, timedelta
from datetime import time as dtime
from zoneinfo import ZoneInfo

_F = ("c.channel_fk = ANY(%(fks)s) AND c.chat_time >= %(t0)s AND c.chat_time < %(t1)s")
_CHATTER = "c.user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')"
_SUB = "(coalesce(c.subscription_tier, 0) > 0 OR coalesce(c.subscription_month, 0) > 0)"
_DON = ("c.message_type = 'donation' AND (c.donation_type IS DISTINCT FROM 'MISSION'"
        " OR c.donation_status IN ('APPROVED', 'COMPLETED'))")
_DAY = "(c.chat_time AT TIME ZONE %(tz)s)::date"


def _activity(unit: str) -> str:
    return f"""
    SELECT date_trunc('{unit}', c.chat_time AT TIME ZONE %(tz)s) AS bucket, count(*) AS messages,
           count(DISTINCT c.user_id) FILTER (WHERE {_CHATTER}) AS chatters
    FROM stream_chat c WHERE {_F} AND c.user_id IS DISTINCT FROM 'SYSTEM_MESSAGE' GROUP BY 1 ORDER BY 1"""


SQL: dict[str, str] = {
    "channel_summary": f"""
        WITH u AS (SELECT c.channel_fk, c.user_id, bool_or({_SUB}) AS sub FROM stream_chat c
                   WHERE {_F} AND {_CHATTER} GROUP BY 1, 2),
             uc AS (SELECT channel_fk, count(*) AS chatters, count(*) FILTER (WHERE sub) AS subs FROM u GROUP BY 1),
             m AS (SELECT c.channel_fk, count(*) AS messages, count(*) FILTER (WHERE {_SUB}) AS sub_messages,
                          count(*) FILTER (WHERE {_DON}) AS donations,
                          coalesce(sum(c.pay_amount) FILTER (WHERE {_DON}), 0) AS amount,
                          min(c.chat_time), max(c.chat_time) FROM stream_chat c WHERE {_F} GROUP BY 1)
        SELECT m.*, uc.chatters, uc.subs FROM m LEFT JOIN uc USING (channel_fk) ORDER BY messages DESC""",
    "activity_day": _activity("day"),
    "activity_hour": _activity("hour"),
    "coverage": f"""
        SELECT c.channel_fk, c.chat_channel_id, min(c.chat_time), max(c.chat_time),
               count(DISTINCT date_trunc('minute', c.chat_time)) AS captured_minutes
        FROM stream_chat c WHERE {_F} GROUP BY 1, 2""",
    "subscriber_ratio": f"""
        SELECT date_trunc('day', c.chat_time AT TIME ZONE %(tz)s) AS bucket, count(*) AS messages,
               count(*) FILTER (WHERE {_SUB}) AS subscriber_messages,
               count(DISTINCT c.user_id) FILTER (WHERE {_CHATTER}) AS chatters,
               count(DISTINCT c.user_id) FILTER (WHERE {_CHATTER} AND {_SUB}) AS subscriber_chatters
        FROM stream_chat c WHERE {_F} AND c.user_id IS DISTINCT FROM 'SYSTEM_MESSAGE' GROUP BY 1 ORDER BY 1""",
    "tier_split": f"""
        SELECT t, count(*) AS chatters, sum(n) AS messages FROM (
            SELECT c.user_id, count(*) AS n, max(CASE WHEN coalesce(c.subscription_tier, 0) > 0 THEN c.subscription_tier
                                                      WHEN coalesce(c.subscription_month, 0) > 0 THEN 1 ELSE 0 END) AS t
            FROM stream_chat c WHERE {_F} AND {_CHATTER} GROUP BY 1) u GROUP BY t ORDER BY t""",
    "heatmap": f"""
        SELECT extract(isodow FROM c.chat_time AT TIME ZONE %(tz)s) AS dow,
               extract(hour FROM c.chat_time AT TIME ZONE %(tz)s) AS hour, count(*)
        FROM stream_chat c WHERE {_F} GROUP BY 1, 2 ORDER BY 1, 2""",
    "top_chatters": f"""
        SELECT c.user_id, (array_agg(c.nickname ORDER BY c.chat_time DESC))[1], count(*) AS n
        FROM stream_chat c WHERE {_F} AND {_CHATTER} GROUP BY 1 ORDER BY n DESC, 1 LIMIT 20""",
    "top_share": f"""
        WITH u AS (SELECT c.channel_fk, c.user_id, count(*) AS n FROM stream_chat c WHERE {_F} AND {_CHATTER}
                   GROUP BY 1, 2),
             r AS (SELECT channel_fk, n, row_number() OVER (PARTITION BY channel_fk ORDER BY n DESC) AS k FROM u)
        SELECT channel_fk, sum(n) FILTER (WHERE k <= 10)::float / sum(n) FROM r GROUP BY 1""",
    "new_vs_returning": f"""
        WITH firsts AS (SELECT c.channel_fk, c.user_id, min(c.chat_time) AS first FROM stream_chat c
                        WHERE c.channel_fk = ANY(%(fks)s) AND c.chat_time < %(t1)s AND {_CHATTER} GROUP BY 1, 2),
             days AS (SELECT DISTINCT c.channel_fk, c.user_id, {_DAY} AS day FROM stream_chat c
                      WHERE {_F} AND {_CHATTER})
        SELECT d.channel_fk, d.day, count(*) FILTER (WHERE (f.first AT TIME ZONE %(tz)s)::date = d.day) AS new,
               count(*) FILTER (WHERE (f.first AT TIME ZONE %(tz)s)::date < d.day) AS returning
        FROM days d JOIN firsts f USING (channel_fk, user_id) GROUP BY 1, 2 ORDER BY 1, 2""",
    "chatter_cohorts": f"""
        WITH firsts AS (SELECT c.user_id, date_trunc('month', min(c.chat_time)) AS cohort FROM stream_chat c
                        WHERE c.channel_fk = ANY(%(fks)s) AND c.chat_time < %(t1)s AND {_CHATTER} GROUP BY 1),
             act AS (SELECT DISTINCT c.user_id, date_trunc('month', c.chat_time) AS month FROM stream_chat c
                     WHERE {_F} AND {_CHATTER})
        SELECT f.cohort, a.month, count(*) FROM act a JOIN firsts f USING (user_id) GROUP BY 1, 2 ORDER BY 1, 2""",
    "audience_overlap": f"""
        WITH u AS (SELECT DISTINCT c.channel_fk, c.user_id FROM stream_chat c WHERE {_F} AND {_CHATTER})
        SELECT a.channel_fk, b.channel_fk, count(*) FROM u a JOIN u b USING (user_id)
        WHERE a.channel_fk < b.channel_fk GROUP BY 1, 2""",
    "subscriber_tenure": f"""
        SELECT m, count(*) FROM (SELECT c.user_id, max(c.subscription_month) AS m FROM stream_chat c
                                 WHERE {_F} AND {_CHATTER} AND {_SUB} GROUP BY 1) s GROUP BY 1 ORDER BY 1""",
    "peaks": f"""
        SELECT c.channel_fk, date_trunc('minute', c.chat_time) AS minute, count(*) AS n
        FROM stream_chat c WHERE {_F} GROUP BY 1, 2 ORDER BY n DESC LIMIT 10""",
    "donations": f"""
        SELECT {_DAY} AS day, count(*), coalesce(sum(c.pay_amount), 0) FROM stream_chat c
        WHERE {_F} AND {_DON} GROUP BY 1 ORDER BY 1""",
    "donation_ranking": f"""
        SELECT c.user_id, (array_agg(c.nickname ORDER BY c.chat_time DESC))[1], sum(c.pay_amount) AS amount, count(*)
        FROM stream_chat c WHERE {_F} AND {_DON} AND NOT coalesce(c.is_anonymous, false)
        GROUP BY 1 ORDER BY amount DESC, 1 LIMIT 20""",
    "donation_distribution": f"""
        SELECT width_bucket(c.pay_amount, 0, 100000, 20), count(*), sum(c.pay_amount) FROM stream_chat c
        WHERE {_F} AND {_DON} GROUP BY 1 ORDER BY 1""",
    "donations_over_broadcast": f"""
        WITH b AS (SELECT c.chat_channel_id, min(c.chat_time) AS s FROM stream_chat c WHERE {_F} GROUP BY 1)
        SELECT c.chat_channel_id, floor(extract(epoch FROM c.chat_time - b.s) / 600) AS slot, count(*), sum(c.pay_amount)
        FROM stream_chat c JOIN b USING (chat_channel_id) WHERE {_F} AND {_DON} GROUP BY 1, 2""",
    "gifted_subscriptions": f"""
        SELECT c.gift_id, min(c.chat_time), count(*), max(c.gift_quantity) FROM stream_chat c
        WHERE {_F} AND c.message_type = 'subscription_gift' GROUP BY 1""",
    "pending_missions": f"""
        SELECT c.mission_id, (array_agg(c.donation_status ORDER BY c.chat_time DESC))[1], sum(c.pay_amount)
        FROM stream_chat c WHERE {_F} AND c.mission_id IS NOT NULL GROUP BY 1""",
    "broadcast_list": f"""
        SELECT c.channel_fk, c.chat_channel_id, min(c.chat_time), max(c.chat_time), count(*),
               count(DISTINCT c.user_id) FILTER (WHERE {_CHATTER}), count(*) FILTER (WHERE {_DON}),
               coalesce(sum(c.pay_amount) FILTER (WHERE {_DON}), 0),
               count(DISTINCT date_trunc('minute', c.chat_time))
        FROM stream_chat c WHERE {_F} GROUP BY 1, 2 ORDER BY 3 DESC""",
    "keyword_trend": f"""
        SELECT {_DAY} AS day, count(*) FROM stream_chat c WHERE {_F} AND c.message ILIKE %(kw)s GROUP BY 1 ORDER BY 1""",
    "keyword_search": f"""
        SELECT c.chat_time, c.channel_fk, c.user_id, c.nickname, c.message FROM stream_chat c
        WHERE {_F} AND c.message ILIKE %(kw)s ORDER BY c.chat_time DESC, c.id DESC LIMIT 200""",
    "table_preview": f"""
        SELECT c.* FROM stream_chat c WHERE {_F} ORDER BY c.chat_time DESC, c.id DESC LIMIT 100""",
    "search_users": f"""
        SELECT c.user_id, (array_agg(c.nickname ORDER BY c.chat_time DESC))[1], count(*) AS n,
               min(c.chat_time), max(c.chat_time)
        FROM stream_chat c
        WHERE {_F} AND c.user_id IN (SELECT DISTINCT user_id FROM stream_chat c WHERE {_F}
                                     AND strpos(lower(c.nickname), lower(%(needle)s)) > 0 AND {_CHATTER})
        GROUP BY 1 ORDER BY n DESC, 1 LIMIT 100""",
    "user_messages": f"""
        SELECT c.chat_time, ch.channel_id, ch.channel_name, c.nickname, c.message_type, c.message
        FROM stream_chat c JOIN stream_channel ch ON ch.id = c.channel_fk
        WHERE c.user_id = %(user)s AND {_F} ORDER BY c.chat_time DESC, c.id DESC LIMIT 1000""",
    "name_history": f"""
        SELECT c.nickname, min(c.chat_time), max(c.chat_time), count(*) FROM stream_chat c
        WHERE c.user_id = %(user)s AND {_F} GROUP BY 1 ORDER BY 2""",
    "user_channels": f"""
        SELECT c.channel_fk, count(*), min(c.chat_time), max(c.chat_time) FROM stream_chat c
        WHERE c.user_id = %(user)s AND {_F} GROUP BY 1 ORDER BY 2 DESC""",
    "user_profile": f"""
        SELECT count(*), count(DISTINCT c.channel_fk), min(c.chat_time), max(c.chat_time),
               coalesce(sum(c.pay_amount) FILTER (WHERE {_DON}), 0), max(c.subscription_month)
        FROM stream_chat c WHERE c.user_id = %(user)s AND {_F}""",
    "broadcast_activity": """
        SELECT date_trunc('minute', c.chat_time), count(*), max(c.member_count) FROM stream_chat c
        WHERE c.channel_fk = %(fk)s AND c.chat_channel_id = %(broadcast)s GROUP BY 1 ORDER BY 1""",
    "broadcast_timeline": """
        SELECT min(c.chat_time), max(c.chat_time), count(*) FROM stream_chat c
        WHERE c.channel_fk = %(fk)s AND c.chat_channel_id = %(broadcast)s""",
    "broadcast_peaks": """
        SELECT date_trunc('minute', c.chat_time) AS m, count(*) AS n FROM stream_chat c
        WHERE c.channel_fk = %(fk)s AND c.chat_channel_id = %(broadcast)s GROUP BY 1 ORDER BY n DESC LIMIT 10""",
    "broadcast_top_chatters": f"""
        SELECT c.user_id, (array_agg(c.nickname ORDER BY c.chat_time DESC))[1], count(*) AS n FROM stream_chat c
        WHERE c.channel_fk = %(fk)s AND c.chat_channel_id = %(broadcast)s AND {_CHATTER}
        GROUP BY 1 ORDER BY n DESC, 1 LIMIT 20""",
    "broadcast_donors": f"""
        SELECT c.user_id, sum(c.pay_amount) AS amount, count(*) FROM stream_chat c
        WHERE c.channel_fk = %(fk)s AND c.chat_channel_id = %(broadcast)s AND {_DON}
        GROUP BY 1 ORDER BY amount DESC LIMIT 20""",
    "date_bounds": "SELECT min(chat_time), max(chat_time) FROM stream_chat",
    "channel_directory": """
        SELECT ch.channel_id, ch.channel_name, count(c.id), max(c.chat_time) FROM stream_channel ch
        LEFT JOIN stream_chat c ON c.channel_fk = ch.id GROUP BY 1, 2""",
}


def params(scope, tz: str, keyword: str) -> dict:
    """The query parameters of a bench scope (query_bench.Scope)."""
    zone = ZoneInfo(tz)
    if scope.start is None:
        t0, t1 = datetime(1970, 1, 1, tzinfo=zone), datetime(2100, 1, 1, tzinfo=zone)
    else:
        t0 = datetime.combine(scope.start, dtime.min, zone)
        t1 = datetime.combine(scope.end + timedelta(days=1), dtime.min, zone)
    return {"fks": scope.fks, "t0": t0, "t1": t1, "tz": tz, "kw": f"%{keyword}%", "user": scope.user,
            "needle": scope.needle, "broadcast": scope.broadcast, "fk": scope.fks[0] if scope.fks else None}
