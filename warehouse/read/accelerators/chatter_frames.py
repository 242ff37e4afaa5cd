"""The audience questions' frames (columns, dtypes, order: those of the chat scans in
warehouse/read/queries/audience.py and activity.py) from the chatter days a Reader holds
(warehouse/read/accelerators/chatter_days.py), each channel counted by chatter_answers.py.
Each function returns None when the reader cannot answer (a file unreadable, a local
midnight that does not exist once in the zone): the caller scans."""
from __future__ import annotations

from datetime import date

import numpy as np
import polars as pl

from warehouse.lake.layout import Lake
from warehouse.read.accelerators import chatter_answers as A
from warehouse.read.accelerators.chatter_days import Reader

_S, _I, _I32, _F = pl.String, pl.Int64, pl.Int32, pl.Float64
_TZ = pl.Int32  # days since 1970, made local midnights by _local
TOP = {"channel_id": _S, "user_id": _S, "nickname": _S, "messages": _I, "share": _F, "rank": _I}
BROADCAST_TOP = {k: v for k, v in TOP.items() if k != "channel_id"}
SHARE = {"channel_id": _S, "messages": _I, "top_messages": _I, "share": _F}
SPLIT = {"channel_id": _S, "channel_name": _S, "tier": _S, "chatters": _I, "messages": _I}
NEW = {"channel_id": _S, "bucket": _TZ, "new_chatters": _I, "returning_chatters": _I}
COHORTS = {"channel_id": _S, "cohort": _TZ, "period": _TZ, "periods_after": _I32, "cohort_size": _I,
           "chatters": _I, "retention": _F}
TENURE = {"channel_id": _S, "bucket": _TZ, "tier": _S, "tenure_bucket": _S, "subscribers": _I}
CHANGE = {"channel_id": _S, "month": _TZ, "subscribers": _I, "gained": _I, "lost": _I}
OVERLAP = {"channel_a": _S, "channel_b": _S, "chatters_a": _I, "chatters_b": _I, "shared": _I, "jaccard": _F}
HEATMAP = {"channel_id": _S, "weekday": _I32, "hour": _I32, "messages": _I, "chatters": _I}


def _frame(rows: list | None, schema: dict) -> pl.DataFrame | None:
    return None if rows is None else pl.DataFrame(rows, schema=schema, orient="row")


def _local(rows: list | None, schema: dict, cols: tuple[str, ...], tz: str) -> pl.DataFrame | None:
    """The frame of `rows` whose columns `cols` hold days since 1970, made their local
    midnights in `tz` (Datetime us, tz); None when one does not exist once there."""
    if rows is None:
        return None
    at = [i for i, name in enumerate(schema) if name in cols]
    midnights = A.local_midnights([r[i] for r in rows for i in at], tz)
    if midnights is None:
        return None
    rows = [tuple(midnights[v] if i in at else v for i, v in enumerate(r)) for r in rows]
    return _frame(rows, {k: pl.Datetime("us", tz) if k in cols else v for k, v in schema.items()})


def top_chatters(r: Reader, lake: Lake, channels, start, end, limit: int) -> pl.DataFrame | None:
    lo, hi = A.days(start, end)

    # every channel's top chatters first, then their strings, each column's row groups read at once
    tops = r.each(lake, channels, lambda ch, c: [(ch, c.total(lo, hi), A.top(c, c.within(lo, hi), int(limit)))],
                  ("messages",))
    if tops is None or not r.load_strings(lake, [t for _, _, t in tops]):
        return None

    def one(ch, got):
        total, t = got
        ids, nicks, lines = A.named(t)
        return [(ch, u, n, m, m / total, i + 1) for i, (u, n, m) in enumerate(zip(ids, nicks, lines.tolist(), strict=True))]
    return _frame(r.answers(lake, [(ch, (total, t)) for ch, total, t in tops], one), TOP)


def top_share(r: Reader, lake: Lake, channels, start, end, n: int) -> pl.DataFrame | None:
    lo, hi = A.days(start, end)

    def one(ch, c):
        total = c.total(lo, hi)
        top = A.top_lines(c, c.within(lo, hi), int(n))
        return [(ch, total, top, top / total)] if total else []
    return _frame(r.each(lake, channels, one, ("messages",)), SHARE)


def broadcast_top_chatters(r: Reader, lake: Lake, channel_id: str, broadcast: str,
                           limit: int) -> pl.DataFrame | None:
    def one(ch, c):
        code = A.broadcast_code(c, broadcast)
        if code < 0:
            return []
        total = int(c.messages[c.broadcast == code].sum() + c.o_messages[c.o_broadcast == code].sum())
        ids, nicks, lines = A.ranked(c, np.flatnonzero(c.broadcast == code), int(limit))
        return [(u, n, m, m / total, i + 1) for i, (u, n, m) in enumerate(zip(ids, nicks, lines.tolist(), strict=True))]
    return _frame(r.each(lake, [channel_id], one, ("broadcast", "messages")), BROADCAST_TOP)


def tier_split(r: Reader, lake: Lake, channels, start, end) -> pl.DataFrame | None:
    lo, hi = A.days(start, end)

    def one(ch, c):
        name = c.name(lo, hi)
        return [(ch, name, "none" if t == 0 else f"tier {t}", n, m) for t, n, m in A.split(c, lo, hi)]
    return _frame(r.each(lake, channels, one, ("tier", "messages")), SPLIT)


def new_vs_returning(r: Reader, lake: Lake, channels, start, end, every: str, tz: str) -> pl.DataFrame | None:
    lo, hi = A.days(start, end)

    def one(ch, c):
        bucket, new, old = A.new_vs_returning(c, lo, hi, every)
        return list(zip([ch] * len(bucket), bucket.tolist(), new.tolist(), old.tolist(), strict=True))
    return _local(r.each(lake, channels, one), NEW, ("bucket",), tz)


def chatter_cohorts(r: Reader, lake: Lake, channels, start, end, every: str, tz: str) -> pl.DataFrame | None:
    lo, hi = A.days(start, end)

    def one(ch, c):
        return [(ch, k, p, after, size, n, n / size) for k, p, after, size, n in A.cohorts(c, lo, hi, every)]
    return _local(r.each(lake, channels, one), COHORTS, ("cohort", "period"), tz)


def subscriber_tenure(r: Reader, lake: Lake, channels, start, end, every: str, tz: str) -> pl.DataFrame | None:
    lo, hi = A.days(start, end)

    def one(ch, c):
        return [(ch, b, f"tier {t}", A.TENURE[k], n) for b, t, k, n in A.tenure(c, lo, hi, every)]
    return _local(r.each(lake, channels, one, ("tier", "month")), TENURE, ("bucket",), tz)


def subscriber_change(r: Reader, lake: Lake, channels, start, end, tz: str) -> pl.DataFrame | None:
    lo, hi = A.days(start, end)
    return _local(r.each(lake, channels, lambda ch, c: [(ch, *row) for row in A.subscriber_change(c, lo, hi)], ("tier",)),
                  CHANGE, ("month",), tz)


def chatters(r: Reader, lake: Lake, channels: list[str] | None, start: date | None,
             end: date | None) -> dict[str, tuple[int, int]] | None:
    """{channel_id: (chatters, subscriber chatters)} of the period, for the channels with
    chatters in it (channel_summary's counts); None when the reader cannot answer."""
    lo, hi = A.days(start, end)
    got = r.each(lake, channels, lambda ch, c: [(ch, A.chatters(c, lo, hi))], ("tier",))
    return None if got is None else {ch: n for ch, n in got if n[0]}


def audience_overlap(r: Reader, lake: Lake, channels, start, end) -> pl.DataFrame | None:
    lo, hi = A.days(start, end)
    held = r.channels(lake, channels)
    if held is None:
        return None
    held = [(ch, c) for ch, c in held if len(c.within(lo, hi))]
    if len(held) < 2:
        return _frame([], OVERLAP)
    got = [A.period_codes(c, lo, hi) for _, c in held]  # the file's chatter numbers: one for all channels
    users = np.concatenate(got).astype(np.int64)
    sizes = [len(ids) for ids in got]
    counts = A.shared_pairs(users, sizes)
    a, b = np.triu_indices(len(got), 1)  # every pair, a before b
    names, n = pl.Series([ch for ch, _ in held], dtype=_S), np.asarray(sizes, np.int64)
    both = counts[a, b]
    return pl.DataFrame({"channel_a": names.gather(a), "channel_b": names.gather(b), "chatters_a": n[a],
                         "chatters_b": n[b], "shared": both, "jaccard": both / (n[a] + n[b] - both)},
                        schema=OVERLAP)


def heatmap(r: Reader, lake: Lake, channels, start, end, cells: list[tuple[str, np.ndarray]]) -> pl.DataFrame | None:
    """`cells`: the roll-ups' lines per weekday x hour cell of each channel with lines in
    the period (rollups.Reader.hour_cells)."""
    lo, hi = A.days(start, end)
    got = r.each(lake, [ch for ch, _ in cells], lambda ch, c: [(ch, A.hour_chatters(c, lo, hi))], ("hours",))
    if got is None:
        return None
    counts = dict(got)
    rows = []
    for ch, lines in cells:
        seen = counts.get(ch, {})
        rows.extend((ch, i // 24, i % 24, int(lines[i]), seen.get((i // 24, i % 24), 0))
                    for i in np.flatnonzero(lines).tolist())
    return _frame(rows, HEATMAP)


def retention_chatters(r: Reader, lake: Lake, wanted: pl.DataFrame) -> pl.DataFrame | None:
    """[chatters, returning_from_previous, retention] of each row of `wanted` [channel_id,
    broadcast, prev] (prev null: the channel's first broadcast), in its order."""
    held = r.channels(lake, sorted(set(wanted["channel_id"].to_list())), ("broadcast",))
    if held is None:
        return None
    by = dict(held)
    rows = []
    for ch, b, p in wanted.select("channel_id", "broadcast", "prev").iter_rows():
        c = by.get(ch)
        cur = A.broadcast_users(c, A.broadcast_code(c, b)) if c is not None else np.zeros(0, np.int32)
        if p is None:
            rows.append((len(cur), None, None))
            continue
        before = A.broadcast_users(c, A.broadcast_code(c, p)) if c is not None else np.zeros(0, np.int32)
        back = len(np.intersect1d(cur, before, assume_unique=True))
        rows.append((len(cur), back, back / len(before) if len(before) else None))
    return _frame(rows, {"chatters": _I, "returning_from_previous": _I, "retention": _F})
