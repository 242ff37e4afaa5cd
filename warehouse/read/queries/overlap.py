"""Which channels share chatters: the overlap of every pair of channels over a period, and
the same week by week (or day, or month) for a trend.

Conventions are warehouse.read.queries.params' ("chatters" = distinct user ids other than
``anonymous``/``SYSTEM_MESSAGE``, start/end inclusive days in DISPLAY_TZ, buckets' times
tz-aware in DISPLAY_TZ). Both are answered from the chatter days
(warehouse/read/accelerators/chatter_days.py) when they may answer, else by a scan; every SQL
text is static, values are bound parameters.
"""
from __future__ import annotations

from datetime import date, timedelta

import polars as pl

from warehouse.lake.layout import Lake
from warehouse.read.accelerators import CHATTER_DAYS, chatter_frames
from warehouse.read.accelerators.base import Need
from warehouse.read.queries.params import check_bucket, filter_params
from warehouse.read.warehouse import Warehouse

TREND_BUCKETS = ("day", "week", "month")
# buckets of days, weeks and months are the partitions' days only when the lake was written
# in the warehouse's zone
_LOCAL = frozenset({Need.LOCAL_DAYS})
_EPOCH = date(1970, 1, 1)


def audience_overlap(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                     end: date | None = None) -> pl.DataFrame:
    """Shared chatters between every pair of channels with chatters in the period:
    [channel_a, channel_b (channel_a < channel_b), chatters_a, chatters_b, shared,
    jaccard (shared / chatters in either)]. Pairs with nobody in common are listed with 0.

    >>> audience_overlap(wh, start=date(2026, 9, 1)).sort("jaccard", descending=True)
    """
    return wh.answer(CHATTER_DAYS, lambda r: chatter_frames.audience_overlap(r, Lake(wh.root), channels, start, end),
                     lambda: wh.sql(_OVERLAP, filter_params(channels, start, end)))


_OVERLAP = """
        WITH f AS (FROM chat_rows(?, ?, ?, ?::VARCHAR[])),
        u AS (SELECT DISTINCT channel_id, user_id FROM f WHERE is_chatter(user_id)),
        n AS (SELECT channel_id, count(*) AS c FROM u GROUP BY channel_id),
        sh AS (SELECT a.channel_id AS channel_a, b.channel_id AS channel_b, count(*) AS s
               FROM u a JOIN u b ON a.user_id = b.user_id AND a.channel_id < b.channel_id
               GROUP BY ALL)
        SELECT na.channel_id AS channel_a, nb.channel_id AS channel_b,
               na.c AS chatters_a, nb.c AS chatters_b, coalesce(sh.s, 0) AS shared,
               coalesce(sh.s, 0) / (na.c + nb.c - coalesce(sh.s, 0)) AS jaccard
        FROM n na JOIN n nb ON na.channel_id < nb.channel_id
        LEFT JOIN sh ON sh.channel_a = na.channel_id AND sh.channel_b = nb.channel_id
        ORDER BY channel_a, channel_b"""


def audience_overlap_trend(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                           end: date | None = None, every: str = "week") -> pl.DataFrame:
    """audience_overlap() per bucket: [channel_a, channel_b (channel_a < channel_b), bucket
    (its start: local midnight in DISPLAY_TZ), chatters_a, chatters_b, shared, jaccard], a
    row for every pair of channels that both have chatters in the bucket (0 shared when
    nobody chats in both), ordered by pair and bucket. Only lines in [start, end] count, so
    the first and last buckets may be partial. `every`: day, week (from Monday) or month.

    Ask it for a few channels (a channel and its closest neighbours by audience_overlap):
    every pair of the channels asked is listed.

    >>> audience_overlap_trend(wh, ["a1b2...", "c3d4..."], date(2026, 9, 1), date(2026, 11, 30))
    """
    every = check_bucket(every, TREND_BUCKETS)

    def fast(reader) -> pl.DataFrame | None:
        # each bucket asked of the chatter days as its own period (audience_overlap's answer)
        lake = Lake(wh.root)
        lo, hi = ((start or date.min) - _EPOCH).days, ((end or date.max) - _EPOCH).days
        held = reader.channels(lake, channels)
        if held is None:
            return None
        days = [c.day[c.within(lo, hi)] for _, c in held]
        days = [d for d in days if len(d)]
        if len(days) < 2:
            return _empty(wh.tz)
        first = _EPOCH + timedelta(days=min(int(d.min()) for d in days))
        last = _EPOCH + timedelta(days=max(int(d.max()) for d in days))
        wanted = [ch for ch, _ in held]
        parts = []
        for b0, b1 in _buckets(first, last, every):
            got = chatter_frames.audience_overlap(reader, lake, wanted, b0, b1)
            if got is None:
                return None
            parts.append(got.with_columns(pl.lit(_bucket_start(b0, every)).alias("bucket")))
        out = pl.concat(parts)
        bucket = out["bucket"].cast(pl.Datetime("us")).dt.replace_time_zone(wh.tz, ambiguous="null",
                                                                            non_existent="null")
        if bucket.null_count():  # a local midnight skipped or repeated by a clock change: as DuckDB places it
            return None
        return (out.with_columns(bucket=bucket).select(_COLUMNS)
                .sort("channel_a", "channel_b", "bucket"))

    return wh.answer(CHATTER_DAYS, fast, lambda: wh.sql(_TREND, [every, *filter_params(channels, start, end)]),
                     also=_LOCAL)


_COLUMNS = ["channel_a", "channel_b", "bucket", "chatters_a", "chatters_b", "shared", "jaccard"]


def _empty(tz: str) -> pl.DataFrame:
    return pl.DataFrame(schema={"channel_a": pl.String, "channel_b": pl.String, "bucket": pl.Datetime("us", tz),
                                "chatters_a": pl.Int64, "chatters_b": pl.Int64, "shared": pl.Int64,
                                "jaccard": pl.Float64})


def _bucket_start(d: date, every: str) -> date:
    if every == "week":
        return d - timedelta(days=d.weekday())
    if every == "month":
        return d.replace(day=1)
    return d


def _buckets(first: date, last: date, every: str) -> list[tuple[date, date]]:
    """The buckets' days from `first` to `last`, each (its first day, its last day), clipped
    to [first, last]."""
    out, at = [], _bucket_start(first, every)
    while at <= last:
        if every == "month":
            nxt = (at.replace(day=28) + timedelta(days=4)).replace(day=1)
        else:
            nxt = at + timedelta(days=7 if every == "week" else 1)
        out.append((max(at, first), min(nxt - timedelta(days=1), last)))
        at = nxt
    return out


_TREND = """
        WITH u AS (SELECT DISTINCT date_trunc(?, chat_time) AS bucket, channel_id, user_id
                   FROM chat_rows(?, ?, ?, ?::VARCHAR[]) WHERE is_chatter(user_id)),
        n AS (SELECT bucket, channel_id, count(*) AS c FROM u GROUP BY ALL),
        sh AS (SELECT a.bucket, a.channel_id AS channel_a, b.channel_id AS channel_b, count(*) AS s
               FROM u a JOIN u b ON a.bucket = b.bucket AND a.user_id = b.user_id
                                AND a.channel_id < b.channel_id
               GROUP BY ALL)
        SELECT na.channel_id AS channel_a, nb.channel_id AS channel_b, na.bucket,
               na.c AS chatters_a, nb.c AS chatters_b, coalesce(sh.s, 0) AS shared,
               coalesce(sh.s, 0) / (na.c + nb.c - coalesce(sh.s, 0)) AS jaccard
        FROM n na JOIN n nb ON na.bucket = nb.bucket AND na.channel_id < nb.channel_id
        LEFT JOIN sh ON sh.bucket = na.bucket AND sh.channel_a = na.channel_id AND sh.channel_b = nb.channel_id
        ORDER BY channel_a, channel_b, na.bucket"""
