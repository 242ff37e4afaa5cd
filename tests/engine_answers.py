"""Three dashboard questions asked of an engine outside the project (DuckDB through the lake
catalog, Spark) in plain SQL over a view ``chat`` of the lake, and the same questions
asked of the analyst API, both as sorted lists of plain tuples to compare.

The SQL spells out the API's conventions (warehouse/read/warehouse.py's macros): messages
are the lines not from SYSTEM_MESSAGE, chatters the distinct user ids other than
``anonymous`` and SYSTEM_MESSAGE, a donation counts unless it is a mission's that is not
APPROVED or COMPLETED (warehouse/read/queries/money.py, COUNTED_DONATION). It is written in
the SQL both DuckDB and Spark SQL take."""
from __future__ import annotations

from collections.abc import Callable

import warehouse

TOP = 3
QUESTIONS: dict[str, str] = {
    # messages and chatters per channel and day
    "activity": """
        SELECT channel_id, day, count(*) AS messages,
               count(DISTINCT CASE WHEN user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE') THEN user_id END) AS chatters
        FROM chat WHERE user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'
        GROUP BY channel_id, day""",
    # the TOP chatters per channel (ties by user id)
    "top_chatters": f"""
        SELECT channel_id, user_id, messages, place FROM (
            SELECT channel_id, user_id, count(*) AS messages,
                   row_number() OVER (PARTITION BY channel_id ORDER BY count(*) DESC, user_id) AS place
            FROM chat WHERE user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')
            GROUP BY channel_id, user_id) ranked
        WHERE place <= {TOP}""",
    # donations that count and their total per channel
    "donations": """
        SELECT channel_id, count(*) AS donations, sum(pay_amount) AS amount
        FROM chat
        WHERE user_id IS DISTINCT FROM 'SYSTEM_MESSAGE' AND message_type = 'donation'
          AND (coalesce(donation_type, '') NOT IN ('MISSION', 'MISSION_PARTICIPATION')
               OR coalesce(donation_status, '') IN ('APPROVED', 'COMPLETED'))
        GROUP BY channel_id""",
}


def engine_answers(run: Callable[[str], list[tuple]]) -> dict[str, list[tuple]]:
    """Each question's rows from `run` (SQL text -> rows as tuples), sorted."""
    return {name: sorted(tuple(row) for row in run(sql)) for name, sql in QUESTIONS.items()}


def api_answers(root: str) -> dict[str, list[tuple]]:
    """The same questions from the analyst API over the lake at `root`."""
    wh = warehouse.open(root)
    try:
        activity = warehouse.activity(wh, every="day")
        top = warehouse.top_chatters(wh, limit=TOP)
        money = warehouse.donations(wh, every="month")
        totals: dict[str, list[int]] = {}
        for channel, count, amount in money.select("channel_id", "donations", "amount").iter_rows():
            got = totals.setdefault(channel, [0, 0])
            got[0] += count
            got[1] += amount
        return {
            "activity": sorted((c, b.date(), m, u) for c, b, m, u in
                               activity.select("channel_id", "bucket", "messages", "chatters").iter_rows()),
            "top_chatters": sorted(top.select("channel_id", "user_id", "messages", "rank").iter_rows()),
            "donations": sorted((c, n, a) for c, (n, a) in totals.items()),
        }
    finally:
        wh.close()
