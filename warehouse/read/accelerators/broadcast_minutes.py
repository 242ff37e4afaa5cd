"""The broadcast minutes: per broadcast, its chat per minute (and per 5 and 10 minutes) and
its totals, so the broadcast questions (peaks, coverage, broadcast_list, broadcast_activity,
broadcast_peaks) slice a few hundred rows held in memory instead of scanning its chat.

Layout (part of the lake contract, see warehouse/lake/layout.py)::

    <root>/broadcast_minutes/part-0.parquet
        Every broadcast (a channel_id and chat_channel_id with lines other than system
        lines) has a number ``b``, in channel and broadcast order. Two kinds of rows, by
        ``grain``:
        - grain 0: one row per broadcast over all its lines in the lake: ``channel_id``,
          ``broadcast``, ``day`` / ``last_day`` its first and last line's partition days,
          ``started`` / ``ended`` their times, ``channel_name`` the name on its last line
          (arg_max), messages, chatters (distinct user ids other than ``anonymous``),
          donations and amount (counted as warehouse.read.queries.money counts them) and
          ``captured`` (clock minutes with a line).
        - grain 1, 5, 10: one row per (b, day, window): ``window`` = the lines' epoch
          minute // grain (clock-aligned windows, as peaks() cuts them), ``day`` the
          partition's; messages, chatters, donations and amount of that window and day
          (the text columns null).
        Sorted by grain, b, window (row groups of 16,384 rows: a channel's windows of a
        grain are a row group or two, found by their statistics); zstd.

Built from the chat partitions whose fingerprint changed (warehouse/read/accelerators/side_tables.py:
its freshness rule and build record): their windows are aggregated again, and the totals of
the broadcasts with a line on such a day (before or after) are computed again from every
day they have lines on; then every broadcast is numbered again. Declared in warehouse/read/accelerators/__init__.py
(BROADCAST_MINUTES); it answers only for the lake's own lines (no type filter, no live rows);
the questions check the rest (the days local for coverage and the list).
"""
from __future__ import annotations

import json
import logging
import os
import shutil
import tempfile
import time
from datetime import date

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from warehouse.lake.layout import Lake
from warehouse.lake.tables import UTC_US, Table
from warehouse.read.accelerators import side_tables

log = logging.getLogger(__name__)
GRAINS = (1, 5, 10)  # the window widths (minutes) stored; others are sums of minutes
SCHEMA = pa.schema([
    ("grain", pa.int8()),
    ("b", pa.int32()),
    ("day", pa.date32()),
    ("window", pa.int32()),
    ("messages", pa.int64()),
    ("chatters", pa.int64()),
    ("donations", pa.int64()),
    ("amount", pa.int64()),
    ("channel_id", pa.string()),
    ("broadcast", pa.string()),
    ("last_day", pa.date32()),
    ("started", UTC_US),
    ("ended", UTC_US),
    ("captured", pa.int64()),
    ("channel_name", pa.string()),
])
# the donations that count (warehouse.read.queries.money.COUNTED_DONATION); a chunk of
# partitions without donation_status reads it as NULL, which counts as money's older text does
_COUNTED = """message_type = 'donation'
    AND (coalesce(donation_type, '') NOT IN ('MISSION', 'MISSION_PARTICIPATION')
         OR coalesce(donation_status, '') IN ('APPROVED', 'COMPLETED'))"""
_LINES = """SELECT channel_id, chat_channel_id AS broadcast, day, chat_time, user_id, channel_name,
                   epoch_us(chat_time) // 60000000 AS minute, (""" + _COUNTED + """) AS counted, pay_amount
            FROM lines_src WHERE user_id IS DISTINCT FROM 'SYSTEM_MESSAGE' AND chat_channel_id IS NOT NULL"""  # noqa: S608
# a chunk of days' lines with their window of each grain (``minute // grain``, as DuckDB
# divides), counted into windows by ``windows``
_WINDOW_LINES = ("SELECT channel_id, broadcast, day, user_id, counted, pay_amount, "  # noqa: S608 - constant fragments
                 + ", ".join(f"(minute // {g})::INTEGER AS w{g}" for g in GRAINS) + " FROM (" + _LINES + ")")
_WINDOW_DTYPES = {"channel_id": pl.String, "broadcast": pl.String, "grain": pl.Int8, "day": pl.Date,
                  "window": pl.Int32, "messages": pl.Int64, "chatters": pl.Int64, "donations": pl.Int64,
                  "amount": pl.Int64}


def windows(lines: pl.DataFrame) -> pl.DataFrame:
    """The windows (_WINDOW_DTYPES' columns) of some lines (_WINDOW_LINES' rows) for every
    grain: messages, chatters (distinct user ids other than ``anonymous``), donations
    counted and their amount. Counted by polars (half the CPU of DuckDB's count(DISTINCT)
    per window, same numbers); a broadcast is a number while counting. Pure."""
    keys = lines.group_by("channel_id", "broadcast").agg().with_row_index("k")
    keyed = lines.lazy().join(keys.lazy(), on=["channel_id", "broadcast"])
    user = pl.col("user_id")
    per = [keyed.group_by("k", "day", pl.col(f"w{g}").alias("window")).agg(
        messages=pl.len(), chatters=user.filter(user != "anonymous").n_unique(),
        donations=pl.col("counted").sum(), amount=pl.col("pay_amount").filter(pl.col("counted")).sum(),
    ).with_columns(grain=pl.lit(g)) for g in GRAINS]
    got = pl.concat(per).join(keys.lazy(), on="k").select(list(_WINDOW_DTYPES)).cast(_WINDOW_DTYPES)
    return got.collect(engine="streaming")


# the totals of the broadcasts in ``todo`` over the days registered
_TOTALS = """
    WITH l AS (SELECT * FROM (""" + _LINES + """) SEMI JOIN todo USING (channel_id, broadcast))
    SELECT channel_id, broadcast, min(day) AS day, count(*)::BIGINT AS messages,
           count(DISTINCT user_id) FILTER (WHERE user_id <> 'anonymous')::BIGINT AS chatters,
           count(*) FILTER (WHERE counted)::BIGINT AS donations,
           coalesce(sum(pay_amount) FILTER (WHERE counted), 0)::BIGINT AS amount,
           max(day) AS last_day, min(chat_time) AS started, max(chat_time) AS ended,
           count(DISTINCT minute)::BIGINT AS captured, arg_max(channel_name, chat_time) AS channel_name
    FROM l GROUP BY channel_id, broadcast"""  # noqa: S608 - constant fragments
_TOTAL_COLUMNS = ("channel_id, broadcast, day, messages, chatters, donations, amount, last_day, started, ended, "
                  "captured, channel_name")
SPEC = side_tables.SideTable(
    "broadcast_minutes", SCHEMA, b"chzzk.broadcast_minutes", 1,
    aggregate=_WINDOW_LINES,  # the per-day part's lines (windows()); the totals and the numbering are build()'s
    order='grain, b, "window"')
BROADCAST_MINUTES = SPEC.table
CHUNK_BYTES = 128 * 1024 * 1024  # chat bytes aggregated at a time (the windows' distinct chatters)
CACHE_ROWS = 4_000_000  # windows a reader holds (7 numbers each) before it lets them all go


def build(lake: Lake, tz: str | None = None, full: bool = False) -> int:
    """Bring the broadcast minutes up to date with the chat partitions (epoch minutes and
    partition days: no zone of their own, `tz` is not used); return their row count."""
    t0 = time.monotonic()
    current = side_tables.jsonable(side_tables.chat_fingerprint(lake))
    doc = None if full else side_tables.read_doc(SPEC, lake)
    old = doc["parts"] if doc is not None else None
    if old == current:
        log.info("broadcast minutes up to date (%.2fs)", time.monotonic() - t0)
        return _rows(lake)
    changed = sorted(d for d in current if old is None or old.get(d) != current[d])
    gone = sorted(set(old or ()) - set(current))
    meta = {SPEC.meta_key: json.dumps({"version": SPEC.version, "timezone": "UTC", "parts": current},
                                      sort_keys=True).encode("utf-8")}
    table = Table(SPEC.name, SCHEMA.with_metadata(meta), None, by_day=False)
    spill = tempfile.mkdtemp(prefix="chzzk-broadcast-minutes-")
    con = side_tables.connect(spill, "UTC")
    try:
        if old is not None:
            side_tables.file_source(con, lake, side_tables.path(SPEC, lake), "old_table")
        else:
            con.register("old_table", SCHEMA.empty_table())
        keep = [date.fromisoformat(d) for d in current if d not in changed]
        con.register("keep_days", pa.table({"day": pa.array(keep, pa.date32())}))
        # the old file's windows of the days kept (their old numbers) and its broadcasts' keys
        con.execute("""CREATE VIEW old_windows AS SELECT * FROM old_table SEMI JOIN keep_days USING (day)
                       WHERE grain > 0""")
        con.execute("CREATE VIEW old_keys AS SELECT b AS old_b, channel_id, broadcast FROM old_table WHERE grain = 0")
        parts = []
        for i, days in enumerate(side_tables.chunks(changed, current, CHUNK_BYTES)):
            _source(con, lake, days)
            parts.append(os.path.join(spill, f"windows-{i:05d}.parquet"))
            pq.write_table(windows(pl.from_arrow(con.sql(_WINDOW_LINES).to_arrow_table())).to_arrow(), parts[-1],
                           compression="lz4")
        _view(con, "new_windows", parts, """SELECT k.channel_id, k.broadcast, w.grain, w.day, w."window", w.messages,
                                                   w.chatters, w.donations, w.amount
                                            FROM old_windows w, old_keys k LIMIT 0""")
        # the broadcasts whose totals change: a line on a changed day now, or before
        touched = [date.fromisoformat(d) for d in changed + gone]
        con.register("todo", con.sql("""
            SELECT DISTINCT channel_id, broadcast FROM new_windows WHERE grain = 1
            UNION SELECT channel_id, broadcast FROM old_table
                  WHERE grain = 0 AND EXISTS (SELECT 1 FROM unnest(?::DATE[]) t(d) WHERE d BETWEEN day AND last_day)""",
                                             params=[touched]).to_arrow_table())
        days = [r[0].isoformat() for r in con.execute("""
            SELECT DISTINCT day FROM (
                SELECT k.channel_id, k.broadcast, w.day FROM old_windows w JOIN old_keys k ON k.old_b = w.b
                WHERE w.grain = 1
                UNION ALL SELECT channel_id, broadcast, day FROM new_windows WHERE grain = 1)
            SEMI JOIN todo USING (channel_id, broadcast) ORDER BY day""").fetchall()]
        totals = os.path.join(spill, "totals.parquet")
        if days:
            _source(con, lake, days)
            con.sql(_TOTALS).write_parquet(totals)
        _view(con, "new_totals", [totals] if days else [],
              "SELECT " + _TOTAL_COLUMNS + " FROM old_table LIMIT 0")  # noqa: S608 - constant fragments
        # every broadcast numbered (b) in channel and broadcast order; the old numbers mapped
        con.register("numbered", con.sql("""
            SELECT (row_number() OVER (ORDER BY channel_id, broadcast) - 1)::INTEGER AS b, * FROM (
                SELECT """ + _TOTAL_COLUMNS + """ FROM old_table ANTI JOIN todo USING (channel_id, broadcast)
                WHERE grain = 0
                UNION ALL SELECT """ + _TOTAL_COLUMNS + """ FROM new_totals)""").to_arrow_table())  # noqa: S608
        con.register("renumbered", con.sql("""SELECT k.old_b, n.b FROM old_keys k
                                              JOIN numbered n USING (channel_id, broadcast)""").to_arrow_table())
        merged = con.sql("""
            SELECT w.grain, w.b, w.day, w."window", w.messages, w.chatters, w.donations, w.amount,
                   NULL AS channel_id, NULL AS broadcast, NULL AS last_day, NULL AS started, NULL AS ended,
                   NULL AS captured, NULL AS channel_name
            FROM (SELECT o.grain, m.b, o.day, o."window", o.messages, o.chatters, o.donations, o.amount
                  FROM old_windows o JOIN renumbered m ON m.old_b = o.b
                  UNION ALL
                  SELECT w.grain, n.b, w.day, w."window", w.messages, w.chatters, w.donations, w.amount
                  FROM new_windows w JOIN numbered n USING (channel_id, broadcast)) w
            UNION ALL
            SELECT 0, b, day, NULL, messages, chatters, donations, amount, channel_id, broadcast, last_day, started,
                   ended, captured, channel_name FROM numbered
            ORDER BY """ + SPEC.order).to_arrow_reader(side_tables.BATCH_ROWS)  # noqa: S608
        rows, size = lake.write(table, merged)
    finally:
        con.close()
        shutil.rmtree(spill, ignore_errors=True)
    log.info("broadcast minutes: %d rows, %d bytes, %d of %d day(s) aggregated, totals from %d day(s)%s in %.2fs",
             rows, size, len(changed), len(current), len(days), " (full)" if old is None else "",
             time.monotonic() - t0)
    return rows


def _source(con, lake: Lake, days: list[str]) -> None:
    """The chat partitions of `days` as ``lines_src``, with a donation_status column (NULL
    when none of them has one)."""
    side_tables.chat_source(con, lake, days)
    missing = "donation_status" not in {r[0] for r in con.execute("DESCRIBE src").fetchall()}
    con.execute(_NO_STATUS if missing else "CREATE OR REPLACE VIEW lines_src AS SELECT * FROM src")


_NO_STATUS = "CREATE OR REPLACE VIEW lines_src AS SELECT *, NULL::VARCHAR AS donation_status FROM src"


def _view(con, name: str, files: list[str], empty: str) -> None:
    """The spill files `files` as the view `name`; none: the query `empty` (no rows)."""
    if files:
        con.read_parquet(files).create_view(name)
    else:
        con.sql(empty).create_view(name)


def _rows(lake: Lake) -> int:
    with lake.fs.open_input_file(side_tables.path(SPEC, lake)) as f:
        return pq.read_metadata(f).num_rows



_EPOCH = date(1970, 1, 1)
_TOTALS_READ = ("b", "day", "last_day", "started", "ended", "channel_id", "broadcast", "channel_name", "messages",
                "chatters", "donations", "amount", "captured")
WINDOW_COLUMNS = ("b", "day", "window", "messages", "chatters", "donations", "amount")


class Reader:
    """A warehouse's in-memory copy of the broadcast minutes, read again when the file
    changes: the totals when first usable (a few thousand rows), the windows of a grain
    and a channel when first asked for — only the row groups that hold them (the file is
    sorted by grain and b) — kept while under CACHE_ROWS rows."""

    def __init__(self, con=None) -> None:
        self.fresh = side_tables.FreshnessCache(SPEC)
        self._key: tuple | None = None  # the file the held rows were read from
        self._bad: tuple | None = None
        self._lake: Lake | None = None
        self.totals = pl.DataFrame()  # per b: _TOTALS_READ, times UTC
        self.number: dict[tuple[str, str], int] = {}  # (channel_id, broadcast) -> b
        self.channels: dict[str, tuple[int, int]] = {}  # channel_id -> its b range
        self._groups: list[tuple] = []  # per row group: (lowest grain, highest, lowest b, highest)
        self._windows: dict[tuple, dict[str, np.ndarray]] = {}
        self._held = 0
        self.zoned: dict[str, tuple] = {}  # the answers' frames per zone (broadcast_answers._zoned)

    def usable(self, lake: Lake, hint: tuple | None = None) -> bool:
        """True when the file describes the chat partitions as they are now and its totals
        could be read. `hint`: see side_tables.FreshnessCache.fresh."""
        if not self.fresh.fresh(lake, hint):
            return False
        key = self.fresh.key
        if key == self._bad:
            return False
        if key != self._key:
            try:
                self._load_totals(lake)
            except (OSError, ValueError, KeyError, TypeError, pa.ArrowException):
                self._unreadable(lake, key)
                return False
            self._key, self._lake = key, lake
        return True

    def _unreadable(self, lake: Lake, key: tuple | None) -> None:
        log.warning("broadcast minutes %s unreadable: the chat is scanned instead", side_tables.path(SPEC, lake),
                    exc_info=True)
        self._bad = key

    def _read(self, lake: Lake, groups: list[int], columns: tuple[str, ...]) -> pa.Table:
        with lake.fs.open_input_file(side_tables.path(SPEC, lake)) as f:
            table = pq.ParquetFile(f).read_row_groups(groups, columns=["grain", *columns])
        return table.cast(pa.schema([SCHEMA.field(c) for c in ("grain", *columns)]))

    def _load_totals(self, lake: Lake) -> None:
        t0 = time.monotonic()
        with lake.fs.open_input_file(side_tables.path(SPEC, lake)) as f:
            meta = pq.read_metadata(f)
        names = meta.schema.names
        groups = []
        for i in range(meta.num_row_groups):
            rg = meta.row_group(i)
            stats = [rg.column(names.index(c)).statistics for c in ("grain", "b")]
            if all(st is not None and st.has_min_max for st in stats):
                groups.append((stats[0].min, stats[0].max, stats[1].min, stats[1].max))
            else:
                groups.append((0, max(GRAINS), 0, 1 << 31))
        table = self._read(lake, [i for i, g in enumerate(groups) if g[0] == 0], _TOTALS_READ)
        totals = pl.from_arrow(table).filter(pl.col("grain") == 0).drop("grain")
        if not totals.is_empty() and totals["b"].to_list() != list(range(totals.height)):
            raise ValueError("broadcast minutes: the totals are not numbered 0..n-1")
        ids, names = totals["channel_id"].to_list(), totals["broadcast"].to_list()
        self.number = {k: i for i, k in enumerate(zip(ids, names, strict=True))}
        per = totals.group_by("channel_id", maintain_order=True).agg(pl.col("b").min().alias("lo"),
                                                                     pl.col("b").max().alias("hi"))
        self.channels = {c: (lo, hi + 1) for c, lo, hi in per.iter_rows()}
        self.channel_of = np.repeat(np.arange(per.height), [hi - lo for lo, hi in self.channels.values()])
        self.channel_ids, self.broadcasts = np.array(ids, dtype=object), np.array(names, dtype=object)
        self.started_us = totals["started"].dt.epoch("us").to_numpy()
        self.totals, self._groups, self._windows, self._held, self.zoned = totals, groups, {}, 0, {}
        log.info("broadcast minutes: %d broadcasts loaded in %.3fs", totals.height, time.monotonic() - t0)

    def windows(self, grain: int, lo: int, hi: int, columns: tuple[str, ...] = WINDOW_COLUMNS
                ) -> dict[str, np.ndarray] | None:
        """The windows of `grain` (1, 5 or 10) of the broadcasts b in [lo, hi), sorted by b and
        window, as arrays of `columns` (b, day as days since 1970, window, messages, chatters,
        donations, amount; b always); None when they cannot be read (reported once)."""
        columns = ("b", *(c for c in columns if c != "b"))
        key = (grain, lo, hi, columns)
        if key not in self._windows:
            t0 = time.monotonic()
            groups = [i for i, (g0, g1, b0, b1) in enumerate(self._groups) if g0 <= grain <= g1 and b0 < hi
                      and b1 >= lo]
            try:
                table = self._read(self._lake, groups, columns)
            except (OSError, ValueError, KeyError, pa.ArrowException):
                self._unreadable(self._lake, self._key)
                return None
            # the totals' rows (no window) in the same row groups are dropped below: nulls as 0
            cols = {n: pc.fill_null(table.column(n).combine_chunks(), 0) for n in ("grain", *columns)}
            arrays = {n: (c.view(pa.int32()) if n == "day" else c).to_numpy(zero_copy_only=False)
                      for n, c in cols.items()}
            # searched with Python ints and shifted: an int32 array would be cast whole each time
            for name in ("b", "window"):
                if name in arrays:
                    arrays[name] = arrays[name].astype(np.int64)
            keep = (arrays.pop("grain") == grain) & (arrays["b"] >= lo) & (arrays["b"] < hi)
            out = arrays if keep.all() else {n: a[keep] for n, a in arrays.items()}
            if self._held + len(out["b"]) > CACHE_ROWS:
                self._windows, self._held = {}, 0
            self._windows[key] = out
            self._held += len(out["b"])
            log.debug("broadcast minutes: %d windows of %d minute(s) read in %.3fs", len(out["b"]), grain,
                      time.monotonic() - t0)
        return self._windows[key]

    def chosen(self, channels: list[str] | None) -> list[tuple[int, int]]:
        """The b ranges of `channels` (None: all), in channel order."""
        if channels is None:
            return [(0, self.totals.height)]
        return [self.channels[c] for c in sorted(set(channels) & self.channels.keys())]

    def channel_range(self, b: int) -> tuple[int, int]:
        """The b range of the channel of broadcast b."""
        return self.channels[self.channel_ids[b]]


def days_since_epoch(day: date) -> int:
    return (day - _EPOCH).days
