"""Highlights of one broadcast: its best moments, ranked, with their offset into the replay,
for clips and chapter files (warehouse/read/markers.py writes those).

A moment is one chat window (``window_minutes`` wide, clock-aligned as in peaks()), or a run
of adjacent ones, that stands out for at least one reason:

- ``volume``: among the broadcast's `limit` busiest windows (broadcast_peaks by volume),
  with at least VOLUME_MIN_X times the mean messages of its windows (quiet ones counted);
- ``surge``: among its `limit` windows of highest surge ratio (broadcast_peaks by surge:
  messages over the mean of the 5 windows before), at least SURGE_MIN;
- ``donations``: among its `limit` windows of most donated amount (donations, counted as
  everywhere: warehouse.read.queries.money);
- ``keyword``: among the `limit` windows with most lines holding one of `keywords` (at
  least KEYWORD_MIN_LINES; keyword_trend's matching: case-insensitive substring).

Each reason's strength is scaled to 0..1 by its best window in the broadcast (messages /
the busiest window's, surge ratio / the highest, amount / the largest, keyword lines / the
most); a moment's ``score`` is its best strength. Moments rank by score, then by more
reasons, more messages, earlier. Adjacent windows that both stand out merge into one moment
(their reasons together, the best score, the sums).

The replay starts when the broadcast opened (live_session's openDate, else its first poll)
when the lake has live_session, else at its first line; ``offset_seconds`` is the moment's
start from there (0 at least). With the replay's video number, ``replay_url`` opens the
CHZZK replay at that second (https://chzzk.naver.com/video/<videoNo>?currentTime=<s>).

A moment where one chatter wrote more than DOMINANT_SHARE of the lines is ``dominated``
(spam or a single fan, rarely a highlight): it stays listed, marked.
"""
from __future__ import annotations

from datetime import timedelta

import polars as pl

from warehouse.read.queries.broadcast import broadcast_activity, broadcast_peaks
from warehouse.read.queries.search import keyword_trend
from warehouse.read.queries.session_tables import table_file
from warehouse.read.queries.spans import broadcast_span
from warehouse.read.queries.time import check_peaks, session_rows
from warehouse.read.warehouse import Warehouse

REASONS = ("volume", "surge", "donations", "keyword")
DOMINANT_SHARE = 0.5        # one chatter above this share of a moment's lines: "dominated"
VOLUME_MIN_X = 1.5          # a volume moment has at least this many times the mean window's messages
SURGE_MIN = 2.0             # a surge moment has at least this surge ratio
KEYWORD_MIN_LINES = 3       # a keyword window needs at least this many matching lines
MAX_KEYWORDS = 5
REPLAY_URL = "https://chzzk.naver.com/video/{video_no}?currentTime={seconds}"

COLUMNS = {
    "rank": pl.Int64, "offset_seconds": pl.Int64, "duration_seconds": pl.Int64, "start": None, "end": None,
    "reason": pl.Utf8, "score": pl.Float64, "messages": pl.Int64, "surge_ratio": pl.Float64,
    "donations": pl.Int64, "amount": pl.Int64, "keyword": pl.Utf8, "keyword_lines": pl.Int64,
    "top_user_id": pl.Utf8, "top_nickname": pl.Utf8, "top_share": pl.Float64, "dominated": pl.Boolean,
    "top_line": pl.Utf8, "replay_url": pl.Utf8,
}


def highlights(wh: Warehouse, channel_id: str, broadcast: str, window_minutes: int = 1, limit: int = 10,
               keywords: tuple[str, ...] | list[str] = (), video_no: int | None = None) -> pl.DataFrame:
    """The broadcast's best moments, best first, at most `limit`: [rank, offset_seconds,
    duration_seconds, start, end, reason ("volume+surge", ...: REASONS joined by "+"), score,
    messages, surge_ratio (the best of the moment's windows; null without a baseline),
    donations, amount, keyword (the matched keyword with most lines; null if none),
    keyword_lines, top_user_id, top_nickname, top_share (the busiest chatter's share of the
    moment's lines), dominated (top_share > DOMINANT_SHARE), top_line (the moment's most
    repeated line, ties: the earliest), replay_url (null without `video_no`)].

    >>> highlights(wh, "a1b2...", "N1x2y3", keywords=["ㅋㅋ"], video_no=1234567)
    """
    width = check_peaks("volume", window_minutes)
    limit = int(limit)
    if limit < 1:
        raise ValueError(f"limit={limit!r}: use 1 or more")
    words = _keywords(keywords)
    if video_no is not None and (isinstance(video_no, bool) or not isinstance(video_no, int) or video_no < 1):
        raise ValueError(f"video_no={video_no!r}: use the replay's number (a positive whole number) or None")
    span = broadcast_span(wh, channel_id, broadcast)
    if span is None:
        return _empty(wh)
    activity = broadcast_activity(wh, channel_id, broadcast, window_minutes=width)
    if activity.is_empty():
        return _empty(wh)
    windows = _candidates(wh, channel_id, broadcast, span, activity, width, limit, words)
    if windows.is_empty():
        return _empty(wh)
    moments = _merged(windows, width).sort(
        ["score", "n_reasons", "messages", "start"], descending=[True, True, True, False]).head(limit)
    opened = _replay_start(wh, broadcast, span[2])
    details = _details(wh, channel_id, broadcast, span, moments, width)
    out = (moments.join(details, on="start", how="left")
           .with_columns(pl.int_range(1, pl.len() + 1, dtype=pl.Int64).alias("rank"),
                         ((pl.col("start") - pl.lit(opened)).dt.total_seconds().clip(0, None)
                          .cast(pl.Int64)).alias("offset_seconds"),
                         pl.col("top_share").fill_null(0.0),
                         pl.col("keyword_lines").fill_null(0)))
    out = out.with_columns(
        (pl.col("top_share") > DOMINANT_SHARE).alias("dominated"),
        (pl.lit(None, pl.Utf8) if video_no is None else
         pl.format(REPLAY_URL.replace("{video_no}", str(int(video_no))).replace("{seconds}", "{}"),
                   pl.col("offset_seconds"))).alias("replay_url"))
    return out.select(list(COLUMNS))


def _keywords(keywords) -> list[str]:
    if isinstance(keywords, str):
        keywords = [keywords]
    words = list(dict.fromkeys(w.strip() for w in keywords if isinstance(w, str) and w.strip()))
    if len(words) > MAX_KEYWORDS:
        raise ValueError(f"{len(words)} keywords: use at most {MAX_KEYWORDS}")
    return words


def _empty(wh: Warehouse) -> pl.DataFrame:
    return pl.DataFrame(schema={k: v or pl.Datetime("us", wh.tz) for k, v in COLUMNS.items()})


def _candidates(wh: Warehouse, channel_id: str, broadcast: str, span: tuple, activity: pl.DataFrame,
                width: int, limit: int, words: list[str]) -> pl.DataFrame:
    """One row per window that stands out: [start, messages, surge_ratio, donations, amount,
    keyword, keyword_lines, reasons (list), score]."""
    mean = activity["messages"].sum() / max(1, _windows_spanned(activity, width))
    volume = broadcast_peaks(wh, channel_id, broadcast, by="volume", window_minutes=width, limit=limit).filter(
        pl.col("messages") >= VOLUME_MIN_X * mean)
    ratios = broadcast_peaks(wh, channel_id, broadcast, by="surge", window_minutes=width, limit=1_000_000)
    surge = ratios.head(limit).filter(pl.col("surge_ratio") >= SURGE_MIN)  # best first, as broadcast_peaks ranks
    gifts = (activity.filter(pl.col("amount") > 0)
             .sort(["amount", "donations", "minute"], descending=[True, True, False]).head(limit))
    keyed = _keyword_windows(wh, channel_id, span, activity, width, limit, words)
    top_messages = max(int(activity["messages"].max() or 0), 1)
    top_surge = float(surge["surge_ratio"].max() or 0) or 1.0
    top_amount = max(int(activity["amount"].max() or 0), 1)
    top_keyword = max(int(keyed["keyword_lines"].max() or 0), 1) if not keyed.is_empty() else 1
    strengths = pl.concat([
        volume.select(pl.col("minute").alias("start"), pl.lit("volume").alias("why"),
                      (pl.col("messages") / top_messages).alias("strength")),
        surge.select(pl.col("minute").alias("start"), pl.lit("surge").alias("why"),
                     (pl.col("surge_ratio") / top_surge).alias("strength")),
        gifts.select(pl.col("minute").alias("start"), pl.lit("donations").alias("why"),
                     (pl.col("amount") / top_amount).alias("strength")),
        keyed.select("start", pl.lit("keyword").alias("why"), (pl.col("keyword_lines") / top_keyword).alias("strength")),
    ], how="vertical_relaxed")
    if strengths.is_empty():
        return strengths
    order = {r: i for i, r in enumerate(REASONS)}
    picked = (strengths.with_columns(pl.col("why").replace_strict(order, return_dtype=pl.Int64).alias("o"))
              .sort("o").group_by("start", maintain_order=True)
              .agg(pl.col("why").alias("reasons"), pl.col("strength").max().alias("score")))
    ratios = ratios.select(pl.col("minute").alias("start"), "surge_ratio")
    return (picked.join(activity.select(pl.col("minute").alias("start"), "messages", "donations", "amount"),
                        on="start", how="left")
            .join(ratios, on="start", how="left")
            .join(keyed, on="start", how="left"))


def _windows_spanned(activity: pl.DataFrame, width: int) -> int:
    """The windows from the broadcast's first to its last (quiet ones included)."""
    first, last = activity["minute"].min(), activity["minute"].max()
    return int((last - first) / timedelta(minutes=width)) + 1


def _keyword_windows(wh: Warehouse, channel_id: str, span: tuple, activity: pl.DataFrame, width: int,
                     limit: int, words: list[str]) -> pl.DataFrame:
    """[start, keyword, keyword_lines]: per window of the broadcast, the keyword with most
    matching lines (keyword_trend per minute over the broadcast's days, its windows only),
    the `limit` best with at least KEYWORD_MIN_LINES."""
    schema = {"start": pl.Datetime("us", wh.tz), "keyword": pl.Utf8, "keyword_lines": pl.Int64}
    if not words:
        return pl.DataFrame(schema=schema)
    width_us = width * 60_000_000
    mine = activity.select(pl.col("minute").alias("start"))
    parts = []
    for word in words:
        trend = keyword_trend(wh, word, [channel_id], span[0], span[1], every="minute")
        parts.append(trend.filter(pl.col("matches") > 0).select(
            ((pl.col("bucket").dt.epoch("us") // width_us) * width_us).alias("w"), pl.col("matches"))
            .group_by("w").agg(pl.col("matches").sum().alias("keyword_lines"))
            .with_columns(pl.lit(word).alias("keyword")))
    got = pl.concat(parts)
    if got.is_empty():
        return pl.DataFrame(schema=schema)
    order = {w: i for i, w in enumerate(words)}
    return (got.with_columns(pl.from_epoch("w", time_unit="us").dt.replace_time_zone("UTC")
                             .dt.convert_time_zone(wh.tz).alias("start"),
                             pl.col("keyword").replace_strict(order, return_dtype=pl.Int64).alias("o"))
            .join(mine, on="start", how="semi")
            .sort(["keyword_lines", "o"], descending=[True, False]).unique("start", keep="first")
            .filter(pl.col("keyword_lines") >= KEYWORD_MIN_LINES)
            .sort(["keyword_lines", "start"], descending=[True, False]).head(limit)
            .select(list(schema)).cast(schema))


def _merged(windows: pl.DataFrame, width: int) -> pl.DataFrame:
    """Adjacent standing-out windows as one moment: [start, end, duration_seconds, reason,
    n_reasons, score, messages, surge_ratio, donations, amount, keyword, keyword_lines]."""
    step = timedelta(minutes=width)
    w = windows.sort("start").with_columns(
        (pl.col("start").diff() != pl.lit(step)).fill_null(True).cum_sum().alias("run"))
    runs = w.group_by("run", maintain_order=True).agg(
        pl.col("start").min(), (pl.col("start").max() + pl.lit(step)).alias("end"),
        pl.col("reasons").list.explode(keep_nulls=False, empty_as_null=False).unique(maintain_order=True).alias("reasons"),
        pl.col("score").max(), pl.col("messages").sum(), pl.col("surge_ratio").max(),
        pl.col("donations").sum(), pl.col("amount").sum(),
        pl.col("keyword").sort_by("keyword_lines", descending=True, nulls_last=True).first(),
        pl.col("keyword_lines").sum())
    order = {r: i for i, r in enumerate(REASONS)}
    return runs.with_columns(
        pl.col("reasons").list.eval(pl.element().sort_by(pl.element().replace_strict(order, return_dtype=pl.Int64)))
        .list.join("+").alias("reason"),
        pl.col("reasons").list.len().cast(pl.Int64).alias("n_reasons"),
        ((pl.col("end") - pl.col("start")).dt.total_seconds()).cast(pl.Int64).alias("duration_seconds"),
    ).drop("run", "reasons")


def _replay_start(wh: Warehouse, broadcast: str, first_line):
    """When the replay starts: live_session's earliest open of the broadcast when the lake
    has it (and it is not after the first line), else the first line's time."""
    if session_rows(wh, "live_session") == 0:
        return first_line
    ls = table_file(wh, "live_session", ("chat_channel_id", "opened_at", "open_date"))
    if not ls:
        return first_line
    opened = wh.sql("""SELECT min(least(coalesce(open_date, opened_at), opened_at)) FROM read_parquet(?)
                       WHERE chat_channel_id = ?""", [ls, broadcast]).item()
    return first_line if opened is None or opened > first_line else opened


def _details(wh: Warehouse, channel_id: str, broadcast: str, span: tuple, moments: pl.DataFrame,
             width: int) -> pl.DataFrame:
    """Per moment (by start): its busiest chatter (ties: the smallest user id; their latest
    nickname), their share of its lines, and its most repeated line (ties: the earliest) —
    one scan of the broadcast's lines between the first moment's start and the last one's
    end, each line matched to its moment by its window (a hash join)."""
    width_us = width * 60_000_000
    windows = moments.select(
        pl.datetime_ranges("start", pl.col("end") - timedelta(minutes=width), interval=f"{width}m").alias("w"),
        pl.col("start").alias("s")).explode("w")
    lines = wh.sql("""
        WITH m AS (SELECT unnest(?::BIGINT[]) AS widx, unnest(?::TIMESTAMPTZ[]) AS s)
        SELECT m.s, c.user_id, c.nickname, c.message, c.chat_time
        FROM chat_rows(?, ?, false, ?::VARCHAR[]) c JOIN m ON epoch_us(c.chat_time) // ? = m.widx
        WHERE c.chat_channel_id = ? AND c.chat_time >= ? AND c.chat_time < ?""",
                   [(windows["w"].dt.epoch("us") // width_us).to_list(), windows["s"].to_list(), span[0], span[1],
                    [channel_id], width_us, broadcast, moments["start"].min(), moments["end"].max()])
    # the scan once, its aggregates in polars (a CTE read three times would scan three times)
    n = lines.group_by("s").agg(pl.len().alias("lines"))
    chatters = lines.filter(~pl.col("user_id").is_in(["anonymous", "SYSTEM_MESSAGE"]) & pl.col("user_id").is_not_null())
    top = (chatters.group_by("s", "user_id").agg(pl.len().alias("k"), pl.col("nickname").sort_by("chat_time").last())
           .sort(["s", "k", "user_id"], descending=[False, True, False]).group_by("s", maintain_order=True).first()
           .select("s", pl.col("user_id").alias("top_user_id"), pl.col("nickname").alias("top_nickname"), "k"))
    line = (lines.filter(pl.col("message").fill_null("") != "")
            .group_by("s", "message").agg(pl.len().alias("k"), pl.col("chat_time").min().alias("first"))
            .sort(["s", "k", "first"], descending=[False, True, False]).group_by("s", maintain_order=True).first()
            .select("s", pl.col("message").alias("top_line")))
    return (n.join(top, on="s", how="left").join(line, on="s", how="left")
            .select(pl.col("s").alias("start"), "top_user_id", "top_nickname",
                    (pl.col("k").fill_null(0) / pl.col("lines")).alias("top_share"), "top_line"))
