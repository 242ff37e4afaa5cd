"""Top words: the most frequent words, two-word phrases and laugh/cry runs of a channel or
broadcast, Korean-aware without a dictionary.

A line is cut as warehouse/read/accelerators/word_counts.py says (``LINES_SQL``, ``count``), in words:
emote codes ``{:name:}`` out, text lowered; every run of two or more ㅋ is the laugh
``ㅋㅋ``, of ㅎ the laugh ``ㅎㅎ``, of ㅠ/ㅜ the cry ``ㅠㅠ`` (ㅋㅋㅋㅋㅋ and ㅋㅋ are one
token, ㅜㅜ and ㅠㅠㅠ too); what is left is cut into runs of letters and digits (Hangul
syllables and jamo, Latin, ...); a *word* is a run of two characters or more not in
STOP_WORDS, a *phrase* two words next to each other, counted on a broadcast's day (one
chat_channel_id, one partition day) only where it was said at least twice there. Every line of the scope counts
(system lines aside), whatever its type. Korean particles stay on their word ("방송이",
"방송을" are two words): a morphological analyser (kiwipiepy) would join them, but it takes
seconds to load, ~0.5 GB, and cuts about 3,000 lines a second on one core — hours for a lake
the counts here are built for in seconds (README, "Top words").

Counts come from the word counts (per channel, day, broadcast) while they may answer, else
from the same cut and count of the lines of ``chat_rows``; either way one reduction answers.
"""
from __future__ import annotations

from datetime import date

import polars as pl

from warehouse.read.accelerators import WORDS
from warehouse.read.accelerators.word_counts import KINDS, LINES, LINES_SQL, STOP_WORDS, count
from warehouse.read.queries.params import filter_params
from warehouse.read.queries.spans import broadcast_span
from warehouse.read.warehouse import Warehouse

__all__ = ["KINDS", "STOP_WORDS", "top_words", "word_rows"]
_SCAN = LINES_SQL.replace("FROM src", "FROM chat_rows(?, ?, ?, ?::VARCHAR[])")
assert _SCAN != LINES_SQL
_FRAME = {"kind": pl.String, "token": pl.String, "uses": pl.Int64, "lines": pl.Int64, "share": pl.Float64,
          "rank": pl.Int64}


def word_rows(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
              end: date | None = None) -> pl.DataFrame:
    """The word counts' rows (word_counts.SCHEMA) of `channels` on the days [start, end]:
    from the accelerator when it may answer, else the same count of the chat's lines."""
    return wh.answer(WORDS, lambda r: r.rows(wh.lake, channels, start, end),
                     lambda: count(wh.sql(_SCAN, filter_params(channels, start, end))))


def top_words(wh: Warehouse, channels: list[str] | None = None, start: date | None = None,
              end: date | None = None, broadcast: tuple[str, str] | None = None,
              kinds: tuple[str, ...] = KINDS, limit: int = 30) -> pl.DataFrame:
    """The most used tokens of each kind in `kinds` (word, phrase, laugh, cry): [kind, token,
    uses (times said), lines (lines saying it), share (lines / all lines of the scope, 0..1),
    rank (1 = most uses within its kind; ties by token)], at most `limit` per kind, kinds in
    KINDS order. Scope: `channels` on [start, end], or one `broadcast` (channel_id,
    chat_channel_id).

    >>> top_words(wh, ["a1b2..."], kinds=("word", "laugh"), limit=20)
    """
    bad = [k for k in kinds if k not in KINDS]
    if bad:
        raise ValueError(f"kinds={bad!r}: use some of {', '.join(KINDS)}")
    if broadcast is not None:
        channel_id, bc = broadcast
        span = broadcast_span(wh, channel_id, bc)
        if span is None:
            return pl.DataFrame(schema=_FRAME)
        rows = word_rows(wh, [channel_id], span[0], span[1]).filter(pl.col("chat_channel_id") == bc)
    else:
        rows = word_rows(wh, channels, start, end)
    total = int(rows.filter(pl.col("kind") == LINES)["lines"].sum() or 0)
    order = {k: i for i, k in enumerate(KINDS)}
    got = (rows.filter(pl.col("kind").is_in(list(kinds)))
           .group_by("kind", "token").agg(pl.col("uses").sum(), pl.col("lines").sum())
           .with_columns(share=pl.col("lines") / total if total else pl.lit(0.0),
                         k=pl.col("kind").replace_strict(order, return_dtype=pl.Int32))
           .sort(["k", "uses", "token"], descending=[False, True, False])
           .with_columns(rank=pl.int_range(1, pl.len() + 1).over("k"))
           .filter(pl.col("rank") <= int(limit)))
    return got.select(list(_FRAME)).cast(_FRAME)
