"""What a channel report says, gathered from the analyst API: a Report holds values only
(polars frames and numbers), so rendering it is a pure function and a test can compare
each part with the API function it comes from.

Each part is one API answer for the channel and the days [start, end]:

- ``headline``: lines, chatters, donations and their amount (channel_summary); broadcasts,
  hours streamed (their ``minutes``), average and peak viewers, hours watched and the
  polled share (broadcast_viewers summed as channel_viewers sums them: viewers.summed);
- ``activity``: messages and chatters per hour (activity, every="hour");
- ``viewers``: each broadcast's viewer curve (viewer_curve; gaps stay null);
- ``broadcasts``: broadcast_viewers (the broadcasts that started in the period);
- ``chatters``, ``emotes``, ``donors``: top_chatters, emote_ranking, donation_ranking;
- ``moments``: each broadcast's highlights (its best MOMENTS_PER_BROADCAST), best first
  over the period — by score, then messages: a moment's score is relative to its own
  broadcast, so every broadcast's best scores 1 and the busier of them comes first.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

import polars as pl

from warehouse.read.queries.activity import activity
from warehouse.read.queries.audience import top_chatters
from warehouse.read.queries.channels import channel_directory
from warehouse.read.queries.emotes import emote_ranking
from warehouse.read.queries.highlights import highlights
from warehouse.read.queries.money import donation_ranking
from warehouse.read.queries.status import channel_summary
from warehouse.read.queries.viewers import broadcast_viewers, summed, viewer_curve

TOP = 10                    # rows of each top list
MOMENTS = 5                 # best moments shown
MOMENTS_PER_BROADCAST = 3   # highlights asked of each broadcast
HEADLINE = ("messages", "chatters", "broadcasts", "hours_streamed", "avg_viewers", "peak_viewers",
            "hours_watched", "viewer_coverage", "donations", "donation_amount")


class UnknownChannel(LookupError):
    """The channel id is not in the lake."""


@dataclass(frozen=True)
class Report:
    channel_id: str
    channel_name: str | None
    start: date
    end: date
    tz: str
    headline: dict = field(default_factory=dict)   # HEADLINE -> int | float | None
    activity: pl.DataFrame = field(default_factory=pl.DataFrame)
    viewers: pl.DataFrame = field(default_factory=pl.DataFrame)
    broadcasts: pl.DataFrame = field(default_factory=pl.DataFrame)
    chatters: pl.DataFrame = field(default_factory=pl.DataFrame)
    emotes: pl.DataFrame = field(default_factory=pl.DataFrame)
    donors: pl.DataFrame = field(default_factory=pl.DataFrame)
    moments: pl.DataFrame = field(default_factory=pl.DataFrame)


def week_of(day: date) -> tuple[date, date]:
    """The Monday–Sunday week holding `day`."""
    monday = day - timedelta(days=day.weekday())
    return monday, monday + timedelta(days=6)


def last_week(today: date) -> tuple[date, date]:
    """The last whole Monday–Sunday week before `today` (a Monday's cron digest: the week
    that just ended)."""
    return week_of(today - timedelta(days=7))


def channel_name(wh, channel_id: str) -> str | None:
    """The channel's latest name, an UnknownChannel error when the lake does not hold it."""
    listed = channel_directory(wh).filter(pl.col("channel_id") == channel_id)
    if listed.is_empty():
        raise UnknownChannel(f"channel {channel_id!r} is not in the lake at {wh.root}: "
                             "pick an id that `warehouse.channel_directory(wh)` lists (the dashboard's channel list)")
    return listed["channel_name"][0]


def channel_report(wh, channel_id: str, start: date, end: date) -> Report:
    """The report of `channel_id` for the days [start, end] (inclusive, the warehouse's zone).

    >>> channel_report(wh, "a1b2...", date(2026, 10, 5), date(2026, 10, 11)).headline["messages"]
    """
    if end < start:
        raise ValueError(f"the period ends ({end}) before it starts ({start}): give --from before --to")
    name = channel_name(wh, channel_id)
    one = [channel_id]
    summary = channel_summary(wh, one, start, end)
    broadcasts = broadcast_viewers(wh, one, start, end)
    curves = [viewer_curve(wh, channel_id, bc).with_columns(pl.lit(bc).alias("broadcast"))
              for bc in broadcasts.sort("started")["broadcast"]]
    return Report(
        channel_id=channel_id, channel_name=summary["channel_name"][0] if summary.height else name,
        start=start, end=end, tz=wh.tz, headline=headline(summary, broadcasts),
        activity=activity(wh, one, start, end, every="hour").select("bucket", "messages", "chatters"),
        viewers=pl.concat(curves) if curves else pl.DataFrame(
            schema={"time": pl.Datetime("us", wh.tz), "offset_minutes": pl.Int64, "viewers": pl.Int64,
                    "broadcast": pl.Utf8}),
        broadcasts=broadcasts,
        chatters=top_chatters(wh, one, start, end, limit=TOP),
        emotes=emote_ranking(wh, one, start, end, limit=TOP),
        donors=donation_ranking(wh, one, start, end, limit=TOP),
        moments=best_moments(wh, channel_id, broadcasts))


def headline(summary: pl.DataFrame, broadcasts: pl.DataFrame) -> dict:
    """The HEADLINE figures from channel_summary's row and broadcast_viewers' rows (pure)."""
    row = summary.row(0, named=True) if summary.height else {}
    out = {"messages": row.get("messages", 0), "chatters": row.get("chatters", 0),
           "donations": row.get("donations", 0), "donation_amount": row.get("donation_amount", 0),
           "broadcasts": broadcasts.height,
           "hours_streamed": float(broadcasts["minutes"].fill_null(0).sum()) / 60 if broadcasts.height else 0.0,
           "avg_viewers": None, "peak_viewers": None, "hours_watched": 0.0, "viewer_coverage": 0.0}
    if broadcasts.height:
        total = summed(broadcasts, ["channel_id"]).row(0, named=True)
        out.update({k: total[k] for k in ("avg_viewers", "peak_viewers", "hours_watched", "viewer_coverage")})
    return {k: out[k] for k in HEADLINE}


def best_moments(wh, channel_id: str, broadcasts: pl.DataFrame) -> pl.DataFrame:
    """Each broadcast's highlights (at most MOMENTS_PER_BROADCAST), the MOMENTS best over the
    period with the broadcast and its title beside them."""
    parts = []
    for bc, title in broadcasts.select("broadcast", "title").iter_rows():
        got = highlights(wh, channel_id, bc, limit=MOMENTS_PER_BROADCAST)
        if got.height:
            parts.append(got.with_columns(pl.lit(bc).alias("broadcast"), pl.lit(title, pl.Utf8).alias("title")))
    if not parts:
        return pl.DataFrame(schema={"broadcast": pl.Utf8, "title": pl.Utf8, "start": pl.Datetime("us", wh.tz),
                                    "offset_seconds": pl.Int64, "duration_seconds": pl.Int64, "reason": pl.Utf8,
                                    "score": pl.Float64, "messages": pl.Int64, "top_nickname": pl.Utf8,
                                    "dominated": pl.Boolean, "top_line": pl.Utf8})
    return (pl.concat(parts).sort(["score", "messages", "start"], descending=[True, True, False]).head(MOMENTS)
            .select("broadcast", "title", "start", "offset_seconds", "duration_seconds", "reason", "score",
                    "messages", "top_nickname", "dominated", "top_line"))
