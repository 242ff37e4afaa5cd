"""Emotes: the emote codes ``{:name:}`` of CHZZK chat, counted per channel, broadcast and
chatter, with the image URL each line's ``extras.emojis`` gave the code.

Every question reduces the rows of ``emote_counts.AGGREGATE`` (warehouse/read/accelerators/
emote_counts.py: per channel, day, broadcast, chatter and minute) of the channels and days
asked: read from the emote counts while they may answer (Warehouse.answer), else made by the
same SQL over ``chat_rows``. A line counts wherever it holds a code, whatever its type; an
*emote-only* line holds nothing but codes and blanks. An emote's URL is the greatest one the
lines of the period gave it (CHZZK's URLs of one emote differ only by version); it is
untrusted text: ``image_url`` says whether a renderer may load it as an image.
Conventions (channels/start/end, chatters) are warehouse.read.queries.params'.
"""
from __future__ import annotations

from datetime import date
from urllib.parse import urlsplit

import polars as pl

from warehouse.read.accelerators import EMOTES
from warehouse.read.accelerators.emote_counts import AGGREGATE, SCHEMA
from warehouse.read.queries.params import ANONYMOUS_USER, SYSTEM_USER, filter_params
from warehouse.read.queries.search import user_profile
from warehouse.read.queries.spans import broadcast_span
from warehouse.read.warehouse import Warehouse

# the hosts CHZZK serves emote images from (Naver's image CDN)
IMAGE_HOSTS = ("pstatic.net", "naver.com", "naver.net")
_SCAN = AGGREGATE.replace("FROM src", "FROM chat_rows(?, ?, ?, ?::VARCHAR[])")
assert _SCAN != AGGREGATE
_RANKING = {"emote": pl.String, "url": pl.String, "uses": pl.Int64, "lines": pl.Int64, "share": pl.Float64,
            "chatters": pl.Int64, "emote_only": pl.Int64, "rank": pl.Int64}


def image_url(url: object) -> str | None:
    """`url` when a page may show it as an image: an https URL of a CHZZK/Naver image host
    (IMAGE_HOSTS or a subdomain), no user or port, no quotes, blanks, angle brackets or
    backslashes; else None (show the code as text)."""
    if not isinstance(url, str) or len(url) > 2048 or any(c in url for c in "\"'<>\\` \t\r\n") or \
            not url.isprintable():
        return None
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        return None
    host = (parts.hostname or "").lower()
    if parts.scheme != "https" or port is not None or "@" in parts.netloc or not host:
        return None
    return url if any(host == h or host.endswith("." + h) for h in IMAGE_HOSTS) else None


def emote_rows(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
               end: date | None = None) -> pl.DataFrame:
    """The emote counts' rows (emote_counts.SCHEMA) of `channels` on the days [start, end]:
    from the accelerator when it may answer, else the same aggregate over the chat."""
    return wh.answer(EMOTES, lambda r: r.rows(wh.lake, channels, start, end),
                     lambda: _scanned(wh, channels, start, end))


def _scanned(wh: Warehouse, channels, start, end) -> pl.DataFrame:
    got = wh.sql(_SCAN, filter_params(channels, start, end))
    return got.with_columns(pl.col("last_time", "minute").dt.convert_time_zone("UTC")).cast(
        {f.name: t for f, t in zip(SCHEMA, pl.from_arrow(SCHEMA.empty_table()).dtypes, strict=True)})


def _scope(wh: Warehouse, channels, start, end, broadcast: tuple[str, str] | None,
           user_id: str | None) -> pl.DataFrame:
    if broadcast is not None and user_id is not None:
        raise ValueError("give broadcast or user_id, not both: a user's emotes are asked of channels and a period")
    if broadcast is not None:
        channel_id, bc = broadcast
        span = broadcast_span(wh, channel_id, bc)
        if span is None:
            return pl.from_arrow(SCHEMA.empty_table())
        rows = emote_rows(wh, [channel_id], span[0], span[1]).filter(pl.col("chat_channel_id") == bc)
    else:
        rows = emote_rows(wh, channels, start, end)
    return rows if user_id is None else rows.filter((pl.col("kind") != "total") & (pl.col("user_id") == user_id))


def _chatter() -> pl.Expr:
    return pl.col("user_id").is_not_null() & ~pl.col("user_id").is_in([ANONYMOUS_USER, SYSTEM_USER])


def emote_ranking(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                  end: date | None = None, broadcast: tuple[str, str] | None = None,
                  user_id: str | None = None, limit: int = 50) -> pl.DataFrame:
    """The most used emotes: [emote, url (None: unknown), uses (codes), lines (holding it),
    share (lines / all lines of the scope, 0..1), chatters (using it), emote_only (lines of
    nothing but codes holding it), rank (1 = most uses; ties by emote)], at most `limit`.
    Scope: `channels` on [start, end], or one `broadcast` (channel_id, chat_channel_id); or
    one user's lines of `channels` on [start, end] with `user_id` (share of their lines).

    >>> emote_ranking(wh, ["a1b2..."], limit=20)
    """
    rows = _scope(wh, channels, start, end, broadcast, user_id)
    total = _lines(wh, rows, channels, start, end, user_id)
    got = (rows.filter(pl.col("kind") == "emote")
           .group_by("emote").agg(pl.col("url").max(), pl.col("uses").sum(), pl.col("lines").sum(),
                                  pl.col("user_id").filter(_chatter()).n_unique().alias("chatters"),
                                  pl.col("emote_only").sum())
           .with_columns(share=pl.col("lines") / total if total else pl.lit(0.0))
           .sort(["uses", "emote"], descending=[True, False])
           .with_row_index("rank", offset=1).head(int(limit)))
    return got.select(list(_RANKING)).cast(_RANKING)


def _lines(wh: Warehouse, rows: pl.DataFrame, channels, start, end, user_id: str | None) -> int:
    """The lines of the scope: the total rows' sum; a user's, from user_profile (the emote
    counts keep a user's lines only where they used an emote)."""
    if user_id is None:
        return int(rows.filter(pl.col("kind") == "total")["lines"].sum() or 0)
    profile = user_profile(wh, user_id, channels, start, end)
    return int(profile["messages"].sum() or 0)


def emote_summary(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                  end: date | None = None, broadcast: tuple[str, str] | None = None,
                  user_id: str | None = None) -> pl.DataFrame:
    """One row about the scope (as emote_ranking's): [lines, emote_lines (holding a code),
    emote_only (lines of nothing but codes), uses (codes), emotes (distinct), chatters
    (chatters who used one), emote_share (emote_lines / lines, 0..1)].

    >>> emote_summary(wh, broadcast=("a1b2...", "N1x2y3"))
    """
    rows = _scope(wh, channels, start, end, broadcast, user_id)
    per = rows.filter(pl.col("kind") == ("total" if user_id is None else "chatter"))
    used = rows.filter(pl.col("kind") == "emote")
    lines, emote_lines = _lines(wh, rows, channels, start, end, user_id), int(per["emote_lines"].sum() or 0)
    return pl.DataFrame({
        "lines": [lines], "emote_lines": [emote_lines], "emote_only": [int(per["emote_only"].sum() or 0)],
        "uses": [int(per["uses"].sum() or 0)], "emotes": [used["emote"].n_unique()],
        "chatters": [used.filter(_chatter())["user_id"].n_unique()],
        "emote_share": [emote_lines / lines if lines else 0.0]},
        schema={"lines": pl.Int64, "emote_lines": pl.Int64, "emote_only": pl.Int64, "uses": pl.Int64,
                "emotes": pl.Int64, "chatters": pl.Int64, "emote_share": pl.Float64})


def emote_users(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
                end: date | None = None, broadcast: tuple[str, str] | None = None,
                limit: int = 50) -> pl.DataFrame:
    """The chatters who use emotes most: [user_id, nickname (on their latest line of a
    broadcast day they used one), uses, emote_lines, share (their uses / all uses of the
    scope, 0..1), emote_only, favourite (their most used emote; ties by emote), rank (1 = most
    uses; ties by user_id)], at most `limit`.

    >>> emote_users(wh, ["a1b2..."], limit=20)
    """
    rows = _scope(wh, channels, start, end, broadcast, None)
    total = int(rows.filter(pl.col("kind") == "total")["uses"].sum() or 0)
    rows = rows.filter(_chatter())
    # rank the users first, then name and find favourites for the `limit` kept only
    top = (rows.filter(pl.col("kind") == "chatter")
           .group_by("user_id").agg(pl.col("uses").sum(), pl.col("emote_lines").sum(), pl.col("emote_only").sum())
           .sort(["uses", "user_id"], descending=[True, False]).head(int(limit))
           .with_row_index("rank", offset=1))
    mine = rows.filter(pl.col("user_id").is_in(top["user_id"].to_list()))
    names = (mine.filter(pl.col("kind") == "chatter").group_by("user_id")
             .agg(pl.col("nickname").sort_by("last_time").last()))
    fav = (mine.filter(pl.col("kind") == "emote").group_by("user_id", "emote").agg(pl.col("uses").sum())
           .sort(["user_id", "uses", "emote"], descending=[False, True, False])
           .group_by("user_id", maintain_order=True).first().select("user_id", favourite="emote"))
    got = (top.join(names, on="user_id", how="left").join(fav, on="user_id", how="left")
           .with_columns(share=pl.col("uses") / total if total else pl.lit(0.0)).sort("rank"))
    return got.select("user_id", "nickname", "uses", "emote_lines", "share", "emote_only", "favourite",
                      "rank").cast({"rank": pl.Int64, "uses": pl.Int64, "share": pl.Float64})


def emote_trend(wh: Warehouse, channel_id: str, broadcast: str, top: int = 5) -> pl.DataFrame:
    """The broadcast's `top` emotes minute by minute: [minute (in the warehouse's zone),
    offset_minutes (since the broadcast's first line's minute), emote, uses]; minutes in which
    an emote was not used are left out.

    >>> emote_trend(wh, "a1b2...", "N1x2y3", top=3)
    """
    ranking = emote_ranking(wh, broadcast=(channel_id, broadcast), limit=top)
    span = broadcast_span(wh, channel_id, broadcast)
    schema = {"minute": pl.Datetime("us", wh.tz), "offset_minutes": pl.Int64, "emote": pl.String,
              "uses": pl.Int64}
    if span is None or ranking.is_empty():
        return pl.DataFrame(schema=schema)
    first = pl.lit(span[2]).dt.convert_time_zone("UTC").dt.truncate("1m")
    rows = _scope(wh, None, None, None, (channel_id, broadcast), None)
    got = (rows.filter((pl.col("kind") == "emote") & pl.col("emote").is_in(ranking["emote"].to_list()))
           .group_by("minute", "emote").agg(pl.col("uses").sum())
           .with_columns(offset_minutes=((pl.col("minute") - first).dt.total_minutes()),
                         minute=pl.col("minute").dt.convert_time_zone(wh.tz))
           .sort(["minute", "emote"]))
    return got.select(list(schema)).cast(schema)
