"""The money lines: every donation and subscription-gift line of the chat partitions with
the columns the money questions read, so donations, rankings, the size distribution,
donations over a broadcast, gifted subscriptions, pending missions and a broadcast's
donors are counted from a few thousand rows held in memory (about 0.5 % of the lines)
instead of every line of a channel's period.

Layout (part of the lake contract, see warehouse/lake/layout.py)::

    <root>/money_lines/part-0.parquet
        One row per chat line with message_type ``donation`` or ``subscription_gift``
        (``SYSTEM_MESSAGE`` lines left out): channel_id, day (its partition), chat_time,
        chat_channel_id, user_id, nickname, message_type, pay_amount, donation_type,
        donation_status, is_anonymous, mission_id, mission (the line's text, for
        donation_type MISSION only), gift (coalesce(gift_id, dedupe_key), gift lines only),
        gift_quantity, gift_received (gift_receiver_id is set). Partitions written before
        migration 010 give NULL money columns. Sorted by channel_id, day, chat_time; zstd.

Declared in warehouse/read/accelerators/__init__.py (MONEY); freshness follows
warehouse/read/accelerators/side_tables.py, and it answers only for the lake's own lines
(no type filter, no live rows). The questions' rules (which donations count, who is
anonymous, how gifts are counted) are warehouse/read/queries/money.py's: ``Reader``
applies them to the rows of the channels and days asked about, and its answers equal that
module's SQL over the chat, frame for frame.
"""
from __future__ import annotations

import logging
import time
from datetime import date

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

from warehouse.lake.layout import Lake
from warehouse.lake.tables import UTC_US
from warehouse.read.accelerators import side_tables
from warehouse.read.accelerators.channel_columns import (
    DAY,
    HOUR,
    Part,
    channel_index,
    codes,
    frame,
    one_offset,
    runs,
    sizes,
    sums,
    take,
)

log = logging.getLogger(__name__)
SCHEMA = pa.schema([
    ("channel_id", pa.string()),
    ("day", pa.date32()),
    ("chat_time", UTC_US),
    ("chat_channel_id", pa.string()),
    ("user_id", pa.string()),
    ("nickname", pa.string()),
    ("message_type", pa.string()),
    ("pay_amount", pa.int32()),
    ("donation_type", pa.string()),
    ("donation_status", pa.string()),
    ("is_anonymous", pa.bool_()),
    ("mission_id", pa.string()),
    ("mission", pa.string()),
    ("gift", pa.string()),
    ("gift_quantity", pa.int32()),
    ("gift_received", pa.bool_()),
])
# the columns of migration 010, NULL for partitions written before it (UNION ALL BY NAME
# adds those a chunk's files lack; the chat view reads them as NULL likewise)
_SINCE_010 = """SELECT NULL::VARCHAR AS mission_id, NULL::VARCHAR AS donation_status, NULL::VARCHAR AS gift_id,
                       NULL::INTEGER AS gift_quantity WHERE false"""
SPEC = side_tables.SideTable(
    "money_lines", SCHEMA, b"chzzk.money_lines", 1,
    aggregate="""
        SELECT channel_id, day, chat_time, chat_channel_id, user_id, nickname, message_type, pay_amount,
               donation_type, donation_status, is_anonymous, mission_id,
               CASE WHEN donation_type = 'MISSION' THEN message END AS mission,
               CASE WHEN message_type = 'subscription_gift' THEN coalesce(gift_id, dedupe_key) END AS gift,
               gift_quantity, gift_receiver_id IS NOT NULL AS gift_received
        FROM (SELECT * FROM src UNION ALL BY NAME """ + _SINCE_010 + """)
        WHERE message_type IN ('donation', 'subscription_gift') AND user_id IS DISTINCT FROM 'SYSTEM_MESSAGE'""",  # noqa: S608 - constants
    order="channel_id, day, chat_time")
MONEY_LINES = SPEC.table

ANONYMOUS_DONOR = "익명"
MISSION_TYPES = ("MISSION", "MISSION_PARTICIPATION")
SETTLED = ("APPROVED", "COMPLETED")
# what the reader turns into polars to tell the kinds of line apart (the text columns stay Arrow)
_FLAGS = ["message_type", "donation_type", "donation_status", "is_anonymous", "pay_amount", "chat_time", "day",
          "gift_quantity", "gift_received"]


def build(lake: Lake, tz: str | None = None, full: bool = False) -> int:
    """Bring the money lines up to date with the chat partitions (lines and partition days:
    no zone of their own, `tz` is not used); return their row count."""
    return side_tables.build(SPEC, lake, full)


_DONATIONS = {"channel_id": pl.String, "bucket": pl.Datetime("us", "UTC"), "donations": pl.Int64,
              "amount": pl.Int64, "anonymous_share": pl.Float64}
_RANKING = {"channel_id": pl.String, "donor": pl.String, "user_id": pl.String, "donations": pl.Int64,
            "amount": pl.Int64, "rank": pl.Int64}
_OVER = {"channel_id": pl.String, "broadcast": pl.String, "offset_minutes": pl.Int64, "donations": pl.Int64,
         "amount": pl.Int64}
_GIFTS = {"channel_id": pl.String, "gifts": pl.Int64, "subscriptions": pl.Int64}


class Reader:
    """A warehouse's in-memory copy of the money lines, read again when the file changes:
    the donations that count, the pending missions and the gift lines, each as numpy
    columns sorted by channel and day, with where each channel's rows are; text as numbers
    into sorted dictionaries (so ordering by the number orders by the text)."""

    def __init__(self, con=None) -> None:
        self.loaded = side_tables.Loaded(SPEC)
        self.fresh = self.loaded.fresh
        self._key: tuple | None = None  # the file the parts were made from
        self._started: tuple | None = None  # the spans file the counted rows' ``started`` comes from
        self._zones: dict[str, int | None] = {}  # zone -> its one UTC offset over the rows (us), None: it changes
        self._pending_tz: dict[str, pl.DataFrame] = {}

    def usable(self, lake: Lake, hint: tuple | None = None) -> bool:
        """True when the money lines describe the chat partitions as they are now and could
        be read; their parts are then up to date. `hint`: see side_tables.FreshnessCache.fresh."""
        table = self.loaded.get(lake, hint)
        if table is None:
            return False
        if self._key != self.loaded.key:
            self._load(table)
        return True

    def _load(self, table: pa.Table) -> None:
        t0 = time.monotonic()
        ch, self.channels = codes(table.column("channel_id"))
        users, self.users = codes(table.column("user_id"))
        nicks, self.nicks = codes(table.column("nickname"))
        bcs, self.broadcasts = codes(table.column("chat_channel_id"))
        self.broadcast_code = {b: i for i, b in enumerate(self.broadcasts[:-1])}
        # the columns the kinds of line are told by (not the text ones: polars would copy them)
        lines = pl.from_arrow(table.select(_FLAGS)).with_columns(
            named_anonymous=pl.Series(pc.equal(table.column("user_id"), "anonymous")),
            no_user=pl.Series(pc.is_null(table.column("user_id"))))
        donation = pl.col("message_type") == "donation"
        settled = (~pl.col("donation_type").fill_null("").is_in(MISSION_TYPES)
                   | pl.col("donation_status").fill_null("").is_in(SETTLED))
        # is_anon(user_id, is_anonymous) of the SQL: 0 false, 1 true, 2 NULL (user_id NULL, flag not true)
        anon = pl.col("is_anonymous").fill_null(False) | pl.col("named_anonymous")
        kinds = lines.select(
            counted=(donation & settled).fill_null(False),
            gift=(pl.col("message_type") == "subscription_gift").fill_null(False),
            pending=(donation & (pl.col("donation_type") == "MISSION")
                     & (pl.col("donation_status").fill_null("PENDING") == "PENDING")).fill_null(False),
            anon=anon.cast(pl.Int8).fill_null(2),
            amount=pl.col("pay_amount").fill_null(0).cast(pl.Int64),
            qty=pl.col("gift_quantity").fill_null(0).cast(pl.Int64),
            received=pl.col("gift_received").fill_null(False).cast(pl.Int64),
            t=pl.col("chat_time").dt.epoch("us"),
            day=pl.col("day").cast(pl.Int32))
        day, t, amount, anon_code, qty, received = (kinds[c].to_numpy() for c in
                                                    ("day", "t", "amount", "anon", "qty", "received"))
        self.times = (int(t.min()), int(t.max())) if len(t) else (0, 0)
        rows = np.flatnonzero(kinds["counted"].to_numpy())
        self.counted = Part({"ch": ch[rows], "t": t[rows], "amount": amount[rows], "anon": anon_code[rows],
                              "user": users[rows], "nick": nicks[rows], "bc": bcs[rows]},
                             channel_index(ch[rows], self.channels), day[rows])
        rows = np.flatnonzero(kinds["gift"].to_numpy())
        gift, self.gift_names = codes(table.column("gift").take(pa.array(rows)))
        self.gifts = Part({"ch": ch[rows], "gift": gift, "qty": qty[rows], "received": received[rows]},
                           channel_index(ch[rows], self.channels), day[rows])
        rows = np.flatnonzero(kinds["pending"].to_numpy())
        pending = (pl.from_arrow(table.take(pa.array(rows))).with_columns(anon=pl.Series(anon_code[rows]))
                   .sort(["channel_id", "chat_time", "mission_id"], descending=[False, True, False], nulls_last=True,
                         maintain_order=True))
        self.pending = pending.select(
            "channel_id", "mission_id", "chat_time",
            pl.when(pl.col("anon") == 1).then(pl.lit(ANONYMOUS_DONOR))
            .otherwise(pl.coalesce("nickname", "user_id")).alias("donor"),
            pl.col("pay_amount").fill_null(0).cast(pl.Int64).alias("amount"),
            pl.col("donation_status").alias("status"), "mission")
        self.pending_part = Part({}, channel_index(*codes(pending["channel_id"].to_arrow())),
                                  -pending["day"].cast(pl.Int32).to_numpy(), newest_first=True)
        self._started, self._zones, self._pending_tz, self._key = None, {}, {}, self.loaded.key
        log.info("money lines loaded: %d rows in %.3fs", table.num_rows, time.monotonic() - t0)

    # -- the questions (warehouse/read/queries/money.py documents their frames) --

    def donations(self, channels: list[str] | None, start: date | None, end: date | None, every: str,
                  tz: str) -> pl.DataFrame | None:
        """donations()' frame; None when a bucket's local start is not one instant in `tz`
        (a clock change: the caller scans)."""
        part = self.counted
        sel = part.select(channels, start, end)
        bucket = self._bucket(part.cols["t"][sel], every, tz)
        if bucket is None:
            return None
        ch = part.cols["ch"][sel]
        order, starts = runs(ch, bucket)
        n = sizes(starts, len(order))
        anon = (part.cols["anon"][sel] == 1).astype(np.int64)
        return frame({**_DONATIONS, "bucket": pl.Datetime("us", tz)}, {
            "channel_id": take(self.channels, ch[order][starts]), "bucket": bucket[order][starts], "donations": n,
            "amount": sums(part.cols["amount"][sel], order, starts), "anonymous_share": sums(anon, order, starts) / n})

    def ranking(self, channels: list[str] | None, start: date | None, end: date | None,
                limit: int) -> pl.DataFrame:
        """donation_ranking()'s frame."""
        return self._ranked(self.counted.select(channels, start, end), limit)

    def broadcast_donors(self, channel_id: str, broadcast: str, limit: int) -> pl.DataFrame:
        """broadcast_donors()' frame: the channel's donations in that broadcast (they lie on
        the days of its span, which is what the scan reads)."""
        part = self.counted
        at = part.channel(channel_id)
        code = self.broadcast_code.get(broadcast, -1)  # -1: no line has it
        rows = at.start + np.flatnonzero(part.cols["bc"][at] == code)
        return self._ranked(rows, limit).drop("channel_id")

    def _ranked(self, sel: slice | np.ndarray, limit: int) -> pl.DataFrame:
        """Donors by amount per channel, as donation_ranking ranks them."""
        c = {k: v[sel] for k, v in self.counted.cols.items()}
        anon = c["anon"]
        uid = np.where(anon == 1, len(self.users) - 1, c["user"])  # the anonymous have no user id
        order, starts = runs(c["ch"], anon, uid)  # stable: each run in time order
        n = sizes(starts, len(order))
        amount = sums(c["amount"], order, starts)
        # the latest nickname of each donor (arg_max skips NULL names)
        nick = c["nick"][order]
        seen = np.where(nick < len(self.nicks) - 1, np.arange(len(order)), -1)
        last = np.maximum.reduceat(seen, starts) if len(starts) else np.zeros(0, np.int64)
        g_ch, g_anon, g_uid = c["ch"][order][starts], anon[order][starts], uid[order][starts]
        g_nick = np.where(last >= 0, nick[np.maximum(last, 0)], len(self.nicks) - 1)
        rank_order = np.lexsort((g_uid, g_anon, -n, -amount, g_ch))
        g_ch = g_ch[rank_order]
        first = np.flatnonzero(np.concatenate([[True], g_ch[1:] != g_ch[:-1]])) if len(g_ch) else np.zeros(0, np.int64)
        rank = np.arange(len(g_ch)) - np.repeat(first, sizes(first, len(g_ch))) + 1
        keep = rank_order[rank <= limit]
        user_id = take(self.users, g_uid[keep])
        nick = take(self.nicks, g_nick[keep])
        donor = [ANONYMOUS_DONOR if a == 1 else name if name is not None else u
                 for a, name, u in zip(g_anon[keep].tolist(), nick, user_id, strict=True)]
        return frame(_RANKING, {"channel_id": take(self.channels, g_ch[rank <= limit]), "donor": donor,
                                 "user_id": user_id, "donations": n[keep], "amount": amount[keep],
                                 "rank": rank[rank <= limit]})

    def distribution(self, channels: list[str] | None, start: date | None, end: date | None,
                     buckets: tuple[tuple[str, int], ...]) -> pl.DataFrame:
        """donation_distribution()'s frame for `buckets` ((label, lowest amount) in order)."""
        amount = self.counted.cols["amount"][self.counted.select(channels, start, end)]
        lows = np.array([low for _, low in buckets], np.int64)
        idx = np.searchsorted(lows, np.maximum(amount, 0), "right") - 1
        n = np.bincount(idx, minlength=len(buckets))
        total = np.zeros(len(buckets), np.int64)
        np.add.at(total, idx, amount)
        kept = np.flatnonzero(n)
        return frame({"amount_bucket": pl.String, "donations": pl.Int64, "amount": pl.Int64},
                      {"amount_bucket": [buckets[i][0] for i in kept.tolist()],
                       "donations": n[kept].astype(np.int64), "amount": total[kept]})

    def over_broadcast(self, channels: list[str] | None, start: date | None, end: date | None, minutes: int,
                       spans: pa.Table, spans_key: tuple | None) -> pl.DataFrame:
        """donations_over_broadcast()'s frame; `spans`: the broadcast spans (their file
        version `spans_key`), where each broadcast started."""
        part = self.counted
        if self._started != ("spans", spans_key):  # per counted donation, where its broadcast started
            part.cols["started"] = self._first_lines(spans)
            self._started = ("spans", spans_key)
        sel = part.select(channels, start, end)
        c = {k: part.cols[k][sel] for k in ("ch", "bc", "t", "started", "amount")}
        ok = (c["bc"] < len(self.broadcasts) - 1) & (c["started"] >= 0)
        c = {k: v[ok] for k, v in c.items()}
        m = int(minutes)
        offset = (c["t"] - c["started"]) // (60_000_000 * m) * m
        order, starts = runs(c["ch"], c["started"], c["bc"], offset)
        return frame(_OVER, {"channel_id": take(self.channels, c["ch"][order][starts]),
                              "broadcast": take(self.broadcasts, c["bc"][order][starts]),
                              "offset_minutes": offset[order][starts], "donations": sizes(starts, len(order)),
                              "amount": sums(c["amount"], order, starts)})

    def _first_lines(self, spans: pa.Table) -> np.ndarray:
        """Per counted donation, its broadcast's first line anywhere in the lake
        (microseconds since 1970; -1 without a span)."""
        first = (pl.from_arrow(spans).group_by("channel_id", "broadcast")
                 .agg(pl.col("started").min().dt.epoch("us").alias("started")))
        rows = pl.DataFrame({"channel_id": take(self.channels, self.counted.cols["ch"]),
                             "broadcast": take(self.broadcasts, self.counted.cols["bc"])},
                            schema={"channel_id": pl.String, "broadcast": pl.String})
        joined = rows.join(first, on=["channel_id", "broadcast"], how="left", maintain_order="left")
        return joined["started"].fill_null(-1).to_numpy()

    def gifted(self, channels: list[str] | None, start: date | None, end: date | None) -> pl.DataFrame:
        """gifted_subscriptions()' frame."""
        c = {k: v[self.gifts.select(channels, start, end)] for k, v in self.gifts.cols.items()}
        order, starts = runs(c["ch"], c["gift"])
        if not len(starts):
            return pl.DataFrame(schema=_GIFTS)
        most = np.maximum.reduceat(c["qty"][order], starts)
        n = np.maximum(np.maximum(most, sums(c["received"], order, starts)), 1)
        g_ch = c["ch"][order][starts]
        first = np.flatnonzero(np.concatenate([[True], g_ch[1:] != g_ch[:-1]]))
        return frame(_GIFTS, {"channel_id": take(self.channels, g_ch[first]), "gifts": sizes(first, len(g_ch)),
                               "subscriptions": np.add.reduceat(n, first)})

    def pending_missions(self, channels: list[str] | None, start: date | None, end: date | None,
                         tz: str) -> pl.DataFrame:
        """pending_missions()' frame, `tz` the warehouse's zone."""
        held = self._pending_tz.get(tz)
        if held is None:
            held = self._pending_tz[tz] = self.pending.with_columns(pl.col("chat_time").dt.convert_time_zone(tz))
        sel = self.pending_part.select(channels, start, end)
        rows = held[sel] if isinstance(sel, slice) else held[pl.Series(sel)]
        if channels is None or len(set(channels).intersection(self.pending_part.index)) > 1:
            rows = rows.sort(["chat_time", "channel_id", "mission_id"], descending=[True, False, False],
                             nulls_last=True, maintain_order=True)
        return rows

    def totals(self, channels: list[str] | None, start: date | None, end: date | None,
               by_broadcast: bool = False) -> pl.DataFrame:
        """money_totals()' frame: [channel_id, (broadcast,) donations, amount]."""
        part = self.counted
        sel = part.select(channels, start, end)
        ch, bc, amount = part.cols["ch"][sel], part.cols["bc"][sel], part.cols["amount"][sel]
        if by_broadcast:
            ok = bc < len(self.broadcasts) - 1
            ch, bc, amount = ch[ok], bc[ok], amount[ok]
        order, starts = runs(ch, bc) if by_broadcast else runs(ch)
        out = {"channel_id": take(self.channels, ch[order][starts]),
               "broadcast": take(self.broadcasts, bc[order][starts]),
               "donations": sizes(starts, len(order)), "amount": sums(amount, order, starts)}
        return frame({k: pl.Int64 if k in ("donations", "amount") else pl.String for k in out
                       if by_broadcast or k != "broadcast"}, out)

    def channel_totals(self, channels: list[str] | None, start: date | None,
                       end: date | None) -> dict[str, tuple[int, int]]:
        """{channel_id: (donations, amount)} of totals() per channel, without a frame (for
        channel_summary: a frame costs more than the sums for a small channel)."""
        part = self.counted
        sel = part.select(channels, start, end)
        ch, amount = part.cols["ch"][sel], part.cols["amount"][sel]
        if not len(ch):
            return {}
        order, starts = runs(ch)
        return dict(zip(take(self.channels, ch[order][starts]),
                        zip(sizes(starts, len(order)).tolist(), sums(amount, order, starts).tolist(), strict=True),
                        strict=True))

    def _bucket(self, t: np.ndarray, every: str, tz: str) -> np.ndarray | None:
        """The start of each time's `every` (hour, day, week from Monday, month) in zone `tz`
        (microseconds since 1970), as DuckDB's date_trunc in that session zone gives it;
        None when `tz` changes its offset around the lake's lines (a clock change: the
        caller scans)."""
        if tz not in self._zones:
            self._zones[tz] = one_offset(tz, *self.times)
        off = self._zones[tz]
        if off is None:
            return None
        local = t + off
        if every == "hour":
            start = local // HOUR * HOUR
        elif every == "month":
            start = local.astype("datetime64[us]").astype("datetime64[M]").astype("datetime64[us]").astype(np.int64)
        else:
            days = local // DAY
            if every == "week":
                days = days - (days + 3) % 7  # 1970-01-01 was a Thursday
            start = days * DAY
        return start - off
