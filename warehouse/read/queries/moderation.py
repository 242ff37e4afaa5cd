"""Moderation: blinded lines, temporary restrictions and notices, per broadcast and per user.

A line is *blinded* when its message_status is not NORMAL: ``CBOTBLIND`` (the clean bot
hid it as it arrived), ``HIDDEN``, or ``BLIND`` (a 94008 blind by the streamer or a
manager; any other status counts here too). Its text stays in the lake (CHZZK_PROTOCOL.md
§4); these functions count, they never show it. Restrictions are the events table's
``TEMPORARY_RESTRICT`` events (body: userIdHash, duration in seconds, times = the user's
how-manieth restriction), notices its ``NOTICE`` / ``NOTICE_CLEARED`` events (94010 and the
15101 notice: the pinned item, its text in ``content`` or ``msg``). Events lie in
``events/day=…`` partitions by the local day of their time; a lake without them has no
restrictions or notices (and ``live=True`` adds PostgreSQL's chat, not its events).

Lines count as everywhere (warehouse.read.queries.params: the SYSTEM_MESSAGE lines left
out); days are the chat's local days, events' the same. Who may see these answers is the
dashboard's business (dashboard.accounts.may_see_moderation): the functions answer for the
channels they are given.
"""
from __future__ import annotations

import json
import logging
from datetime import date

import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq

from warehouse.lake.tables import EVENTS
from warehouse.read.queries.params import FIRST_DAY, LAST_DAY, filter_params
from warehouse.read.warehouse import Warehouse

log = logging.getLogger(__name__)

RESTRICT = "TEMPORARY_RESTRICT"
NOTICE_TYPES = ("NOTICE", "NOTICE_CLEARED")
_EVENT_COLUMNS = ["channel_id", "chat_channel_id", "event_type", "event_time", "received_at", "body"]
_BLINDED = "coalesce(message_status, 'NORMAL') <> 'NORMAL'"

_PER_BROADCAST = """
    SELECT channel_id, chat_channel_id AS broadcast, min(chat_time) AS first_line, count(*) AS lines,
           count(*) FILTER (WHERE """ + _BLINDED + """) AS blinded,
           count(*) FILTER (WHERE message_status = 'CBOTBLIND') AS cbotblind,
           count(*) FILTER (WHERE message_status = 'HIDDEN') AS hidden,
           count(*) FILTER (WHERE """ + _BLINDED + """ AND message_status NOT IN ('CBOTBLIND', 'HIDDEN')) AS blind
    FROM chat_rows(?, ?, ?, ?::VARCHAR[]) GROUP BY ALL"""  # noqa: S608 - constant fragments
_BLINDED_USERS = """
    SELECT DISTINCT channel_id, user_id FROM chat_rows(?, ?, ?, ?::VARCHAR[])
    WHERE """ + _BLINDED + " AND is_chatter(user_id)"  # noqa: S608 - constant fragments
_PER_USER = """
    WITH who AS (SELECT unnest(?::VARCHAR[]) AS channel_id, unnest(?::VARCHAR[]) AS user_id)
    SELECT c.channel_id, c.user_id, arg_max(c.nickname, c.chat_time) AS nickname, count(*) AS lines,
           count(*) FILTER (WHERE """ + _BLINDED + """) AS blinded
    FROM chat_rows(?, ?, ?, ?::VARCHAR[]) c JOIN who ON c.channel_id = who.channel_id AND c.user_id = who.user_id
    GROUP BY ALL"""  # noqa: S608 - constant fragments


def moderation_broadcasts(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                          end: date | None = None) -> pl.DataFrame:
    """Per broadcast (chat_channel_id; null for lines without one) with a line or an event
    in the period: [channel_id, broadcast, first_line, lines, blinded, blinded_share
    (blinded / lines; null without lines), cbotblind, hidden, blind, restrictions,
    restricted_users, notices (NOTICE events; clearing ones not counted)], newest first.

    >>> moderation_broadcasts(wh, ["a1b2..."], date(2026, 10, 1), date(2026, 10, 7))
    """
    lines = wh.sql(_PER_BROADCAST, filter_params(channels, start, end))
    ev = _events(wh, channels, start, end)
    per = (ev.group_by("channel_id", "broadcast").agg(
        (pl.col("event_type") == RESTRICT).sum().cast(pl.Int64).alias("restrictions"),
        pl.col("user_id").filter(pl.col("event_type") == RESTRICT).n_unique().cast(pl.Int64).alias("restricted_users"),
        (pl.col("event_type") == "NOTICE").sum().cast(pl.Int64).alias("notices"),
        pl.col("time").min().alias("first_event")))
    out = lines.join(per, on=["channel_id", "broadcast"], how="full", coalesce=True, nulls_equal=True)
    counts = ("lines", "blinded", "cbotblind", "hidden", "blind", "restrictions", "restricted_users", "notices")
    return (out.with_columns(pl.col(c).fill_null(0).cast(pl.Int64) for c in counts)
            .with_columns(pl.coalesce("first_line", "first_event").alias("first_line"),
                          pl.when(pl.col("lines") > 0).then(pl.col("blinded") / pl.col("lines")).alias("blinded_share"))
            .sort(["first_line", "channel_id", "broadcast"], descending=[True, False, False], nulls_last=True)
            .select("channel_id", "broadcast", "first_line", "lines", "blinded", "blinded_share", "cbotblind",
                    "hidden", "blind", "restrictions", "restricted_users", "notices"))


def moderation_users(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                     end: date | None = None, limit: int = 100) -> pl.DataFrame:
    """The chatters with a blinded line or a restriction in the period, per channel:
    [channel_id, user_id, nickname (latest in the period's lines), lines, blinded,
    blinded_share, restrictions, restricted_seconds (their durations added), last_restricted],
    most restrictions first, then most blinded lines, then user_id; at most `limit`.

    >>> moderation_users(wh, ["a1b2..."], limit=20)
    """
    if int(limit) < 1:
        raise ValueError(f"limit={limit!r}: use 1 or more")
    params = filter_params(channels, start, end)
    flagged = wh.sql(_BLINDED_USERS, params)
    ev = _events(wh, channels, start, end).filter(pl.col("event_type") == RESTRICT)
    per_event = ev.group_by("channel_id", "user_id").agg(
        pl.len().cast(pl.Int64).alias("restrictions"),
        pl.col("duration").sum().cast(pl.Int64).alias("restricted_seconds"),
        pl.col("time").max().alias("last_restricted"))
    keys = pl.concat([flagged, per_event.select("channel_id", "user_id").drop_nulls()]).unique()
    counted = _per_user(wh, keys, params)
    out = (keys.join(counted, on=["channel_id", "user_id"], how="left")
           .join(per_event, on=["channel_id", "user_id"], how="left")
           .with_columns(pl.col(c).fill_null(0).cast(pl.Int64)
                         for c in ("lines", "blinded", "restrictions", "restricted_seconds"))
           .with_columns(pl.when(pl.col("lines") > 0).then(pl.col("blinded") / pl.col("lines")).alias("blinded_share")))
    return (out.sort(["restrictions", "blinded", "user_id", "channel_id"], descending=[True, True, False, False])
            .head(int(limit))
            .select("channel_id", "user_id", "nickname", "lines", "blinded", "blinded_share", "restrictions",
                    "restricted_seconds", "last_restricted"))


def restrictions(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                 end: date | None = None) -> pl.DataFrame:
    """Every temporary restriction in the period, newest first: [time, channel_id,
    broadcast, user_id, nickname (their latest in the period's lines of the channel; null
    without one), duration (seconds), times (the user's how-manieth)].

    >>> restrictions(wh, ["a1b2..."], date(2026, 10, 1), date(2026, 10, 7))
    """
    ev = _events(wh, channels, start, end).filter(pl.col("event_type") == RESTRICT).drop("nickname")
    keys = ev.select("channel_id", "user_id").drop_nulls().unique()
    names = _per_user(wh, keys, filter_params(channels, start, end)).select("channel_id", "user_id", "nickname")
    return (ev.join(names, on=["channel_id", "user_id"], how="left")
            .sort(["time", "channel_id"], descending=[True, False])
            .select("time", "channel_id", "broadcast", "user_id", "nickname", "duration", "times"))


def notices(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
            end: date | None = None) -> pl.DataFrame:
    """Every notice pinned (event NOTICE, with its text and who pinned it) or cleared
    (NOTICE_CLEARED) in the period, newest first: [time, channel_id, broadcast, event,
    text, user_id, nickname]. Text and nickname are untrusted chat text.

    >>> notices(wh, ["a1b2..."])
    """
    ev = _events(wh, channels, start, end).filter(pl.col("event_type").is_in(NOTICE_TYPES))
    return ev.sort(["time", "channel_id"], descending=[True, False]).select(
        "time", "channel_id", "broadcast", pl.col("event_type").alias("event"), "text",
        pl.col("user_id"), "nickname")


def _per_user(wh: Warehouse, keys: pl.DataFrame, params: list) -> pl.DataFrame:
    """[channel_id, user_id, nickname, lines, blinded] of the (channel_id, user_id) `keys` in
    the period (a hash join with them: one pass over the chat, none without keys)."""
    if keys.is_empty():
        return pl.DataFrame(schema={"channel_id": pl.Utf8, "user_id": pl.Utf8, "nickname": pl.Utf8,
                                    "lines": pl.Int64, "blinded": pl.Int64})
    return wh.sql(_PER_USER, [keys["channel_id"].to_list(), keys["user_id"].to_list(), *params])


# ---- the events partitions ----------------------------------------------------------------

_EVENT_SCHEMA = {"channel_id": pl.Utf8, "broadcast": pl.Utf8, "event_type": pl.Utf8, "time": None,
                 "user_id": pl.Utf8, "duration": pl.Int64, "times": pl.Int64, "text": pl.Utf8, "nickname": pl.Utf8}


def _events(wh: Warehouse, channels: list[str] | None, start: date | None, end: date | None) -> pl.DataFrame:
    """The period's restriction and notice events of `channels`, their bodies read:
    [channel_id, broadcast, event_type, time (event_time, else received_at; DISPLAY_TZ),
    user_id, duration, times, text, nickname]. A partition that cannot be read is left out
    with a warning (its day's events are then missing, never the neighbours')."""
    d0, d1 = start or FIRST_DAY, end or LAST_DAY
    wanted = [*NOTICE_TYPES, RESTRICT]
    tables = []
    for day in wh.lake.days(EVENTS):
        if not d0 <= day <= d1:
            continue
        filters = [("event_type", "in", wanted)]
        if channels is not None:
            filters.append(("channel_id", "in", list(channels) or [""]))
        try:
            with wh.lake.fs.open_input_file(wh.lake.part_path(EVENTS, day)) as f:
                tables.append(pq.read_table(f, columns=_EVENT_COLUMNS, filters=filters))
        except (OSError, pa.ArrowException) as exc:
            log.warning("events of %s left out: %s", day, exc)
    rows = []
    for t in tables:
        for e in t.to_pylist():
            rows.append({"channel_id": e["channel_id"], "broadcast": e["chat_channel_id"],
                         "event_type": e["event_type"], "time": e["event_time"] or e["received_at"], **_body(e)})
    schema = {k: v or pl.Datetime("us", wh.tz) for k, v in _EVENT_SCHEMA.items()}
    if not rows:
        return pl.DataFrame(schema=schema)
    df = pl.DataFrame(rows, schema={**schema, "time": pl.Datetime("us", "UTC")}, orient="row")
    return df.with_columns(pl.col("time").dt.convert_time_zone(wh.tz))


def _body(event: dict) -> dict:
    """What a restriction or notice body says (missing keys and bad JSON read as null)."""
    try:
        body = json.loads(event["body"] or "{}")
    except ValueError:
        body = {}
    if not isinstance(body, dict):
        body = {}
    if event["event_type"] == RESTRICT:
        return {"user_id": _text(body.get("userIdHash")), "duration": _int(body.get("duration")),
                "times": _int(body.get("times")), "text": None, "nickname": None}
    profile = body.get("profile")
    if isinstance(profile, str):
        try:
            profile = json.loads(profile)
        except ValueError:
            profile = None
    nickname = profile.get("nickname") if isinstance(profile, dict) else None
    return {"user_id": _text(body.get("userId") or body.get("uid")), "duration": None, "times": None,
            "text": _text(body.get("content") if body.get("content") is not None else body.get("msg")),
            "nickname": _text(nickname)}


def _text(value) -> str | None:
    return value if isinstance(value, str) else None


def _int(value) -> int | None:
    return int(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None
