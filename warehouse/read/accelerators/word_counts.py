"""The word counts: how often each word, two-word phrase and laugh/cry run came up per
channel, day and broadcast, and each broadcast's lines of the day (the share's
denominator), so top_words (warehouse/read/queries/words.py) sums a channel's rows of a few
days instead of splitting every line of its period.

How a line is cut (declared once here: ``LINES_SQL`` picks and lowers the lines, ``count``
cuts and counts them; the scan of warehouse/read/queries/words.py runs the same two over
``chat_rows``, where the plain rule is written out): emote codes are taken out and the
text lowered (DuckDB's ``lower``); runs of two or more ㅋ or ㅎ are one *laugh* (ㅋㅋ, ㅎㅎ),
of ㅠ/ㅜ one *cry* (ㅠㅠ); the rest is cut into runs of letters and digits; a *word* is
such a run of two characters or more not on the stop list; a *phrase* is two words next
to each other in the line, counted on a broadcast's day only where it was said at least
twice (PHRASE_MIN): at 10M lines, 5.7M of the 6.7M phrase rows were said once, and a
channel's week read 250,000 phrase rows to rank a few repeated ones.

``count`` cuts each line once and counts in polars: the SQL it replaced (three regex
passes, list lambdas, count(DISTINCT id), spilling) took several times the CPU
(docs/BENCHMARKS.md, 2026-12-08).

Layout (part of the lake contract, see warehouse/lake/layout.py)::

    <root>/word_counts/part-0.parquet
        ``count``'s rows over every chat partition: channel_id, day, chat_channel_id,
        kind (word, phrase, laugh, cry; ``lines`` on the row counting the lines), token,
        uses, lines (lines holding it). Sorted by channel_id, day, chat_channel_id, kind,
        token; zstd.

Declared in warehouse/read/accelerators/__init__.py (WORDS); freshness follows
side_tables.py, the build frame_build.py; it answers only for the lake's own lines (no
type filter, no live rows).
"""
from __future__ import annotations

import polars as pl
import pyarrow as pa

from warehouse.lake.layout import Lake
from warehouse.read.accelerators import frame_build, side_tables
from warehouse.read.accelerators.counted_rows import RowsReader
from warehouse.read.accelerators.emote_counts import CODE_ONLY

# Function words and fillers that would top every channel's list and say nothing of it.
STOP_WORDS = ("그리고", "근데", "그냥", "이거", "그거", "저거", "이게", "그게", "저게", "여기", "거기", "저기",
              "the", "and", "you", "is", "to", "of", "it", "in", "that")
KINDS = ("word", "phrase", "laugh", "cry")
PHRASE_MIN = 2  # uses a phrase needs on one broadcast's day to be counted there
LINES = "lines"  # the kind of the row that counts a broadcast's lines of a day
SCHEMA = pa.schema([
    ("channel_id", pa.string()),
    ("day", pa.date32()),
    ("chat_channel_id", pa.string()),
    ("kind", pa.string()),
    ("token", pa.string()),
    ("uses", pa.int64()),
    ("lines", pa.int64()),
])
KEYS = ("channel_id", "day", "chat_channel_id")
# The lines counted (system lines aside), lowered, over ``src`` (chat lines with their hive
# ``day``); the scan puts chat_rows(...) in its place. Lowered by DuckDB: polars lowers some
# letters differently (İ to i + a combining dot, a final Σ to ς).
LINES_SQL = """SELECT channel_id, day, chat_channel_id, lower(message) AS text
               FROM src WHERE user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'"""
# every run of two or more ㅋ is the laugh ㅋㅋ, of ㅎ the laugh ㅎㅎ, of ㅠ/ㅜ the cry ㅠㅠ
RUNS = (("ㅋ{2,}", "ㅋㅋ", "laugh"), ("ㅎ{2,}", "ㅎㅎ", "laugh"), ("[ㅠㅜ]{2,}", "ㅠㅠ", "cry"))
WORD = r"[\p{L}\p{N}]+"  # a run of letters and digits


def count(lines: pl.DataFrame) -> pl.DataFrame:
    """The word counts' rows (SCHEMA) of some lines (LINES_SQL's rows; the lines of a
    broadcast's day all there). Each line is cut once: its emote codes blanked, each run
    replaced by its token between blanks (so no word holds one), then one pass takes the
    runs of letters and digits. Counted by polars' streaming engine (memory bounded by
    its batches, not by the tokens of every line). Pure."""
    keys = lines.group_by(KEYS, maintain_order=True).agg(n=pl.len()).with_row_index("g")
    text = pl.col("text").fill_null("")
    text = pl.when(text.str.contains("{:", literal=True)).then(text.str.replace_all(CODE_ONLY, " ")).otherwise(text)
    for pattern, token, _ in RUNS:
        text = text.str.replace_all(pattern, f" {token} ")
    per = (lines.lazy().join(keys.lazy().drop("n"), on=KEYS, how="left", maintain_order="left",
                             nulls_equal=True)  # a line of no known broadcast: chat_channel_id null
           .select("g", tok=text.str.extract_all(WORD)).with_row_index("line"))
    tok = per.explode("tok").drop_nulls("tok")
    run = pl.col("tok").is_in([t for _, t, _ in RUNS])
    word = (pl.col("tok").str.len_chars() >= 2) & ~pl.col("tok").is_in(STOP_WORDS)
    # null: a letter alone or a stop word (counted nowhere; it breaks a phrase)
    tok = tok.with_columns(run=run, token=pl.when(run | word).then(pl.col("tok")))
    # in line order: a phrase is a word and the next word of its line (runs left out)
    nxt = pl.col("token").shift(-1)
    phrases = tok.filter(~pl.col("run")).select(
        "g", "line", token=pl.when(pl.col("line").shift(-1) == pl.col("line")).then(pl.col("token") + " " + nxt))
    counted = (pl.concat([tok.select("g", "line", "token"), phrases]).drop_nulls("token")
               .group_by("g", "token").agg(uses=pl.len(), lines=pl.col("line").n_unique()))
    totals = keys.lazy().select("g", token=pl.lit(""), uses="n", lines="n")
    t = pl.col("token")
    kind = pl.when(t == "").then(pl.lit(LINES)).when(t.str.contains(" ", literal=True)).then(pl.lit("phrase"))
    for _, token, name in RUNS:
        kind = kind.when(t == token).then(pl.lit(name))
    rows = (pl.concat([counted, totals])
            .with_columns(kind=kind.otherwise(pl.lit("word")))
            .filter((pl.col("kind") != "phrase") | (pl.col("uses") >= PHRASE_MIN))
            .join(keys.lazy().drop("n"), on="g"))
    return rows.select(SCHEMA.names).cast(_DTYPES).collect(engine="streaming")


_DTYPES = dict(zip(SCHEMA.names, pl.from_arrow(SCHEMA.empty_table()).dtypes, strict=True))
# aggregate: the lines count() reads (frame_build.py gives them to it); chunks of 48 MB of chat
# files (~400k realistic lines) bound what polars holds: the build peaked at 0.73 GiB RSS with
# 128 MB chunks, 0.5 with 48 (as the SQL build did), for the same CPU (1M realistic lines)
# version 3: the build of 2026-12-08 (version 2's number) left out the lines of channels without a
# known broadcast (chat_channel_id null); a lake it built is rebuilt whole at the next sync
SPEC = side_tables.SideTable("word_counts", SCHEMA, b"chzzk.word_counts", 3, aggregate=LINES_SQL,
                             order="channel_id, day, chat_channel_id, kind, token", chunk_bytes=48 << 20)
WORD_COUNTS = SPEC.table


def build(lake: Lake, tz: str | None = None, full: bool = False) -> int:
    """Bring the word counts up to date with the chat partitions (`tz` is not used: days are
    the partitions'); return their row count."""
    return frame_build.build(SPEC, lake, count, full)


def Reader(con=None) -> RowsReader:  # noqa: N802 - the Accelerator's reader factory
    return RowsReader(SPEC)
