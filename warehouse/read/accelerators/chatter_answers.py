"""The audience answers over one channel's chatter days (warehouse/read/accelerators/
chatter_days.py), held in memory as numpy arrays: each function takes a Channel and a
period of days (days since 1970, inclusive) and returns plain rows or arrays, counted as
the chat scans of warehouse/read/queries/audience.py and activity.py count them (the
equivalence test, tests/warehouse/test_accelerators.py, compares the frames). Pure.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.compute as pc

EPOCH = date(1970, 1, 1)
TENURE = ("1", "2-3", "4-6", "7-12", "13-24", "25+")
_TENURE_TOPS = np.array([1, 3, 6, 12, 24])  # the highest month of each tenure bucket but the last


@dataclass
class Channel:
    """One channel's chatter days. Chatter rows (user not NULL), sorted by user id, day and
    then the order of their nicknames: user (a number per user id, in id order), day,
    broadcast (a number into ``broadcasts``, -1 for none), messages, tier, month, hours,
    nick (a number into ``nicknames``, -1 for none); ``ids`` the user id of each number,
    ``first`` their first day in the channel. ``o_*``: the rows of lines of no chatter.
    ``name_days``/``names``: the roll-ups' channel name per day (sorted by day)."""
    user: np.ndarray
    day: np.ndarray
    broadcast: np.ndarray
    messages: np.ndarray
    tier: np.ndarray
    month: np.ndarray
    hours: np.ndarray
    nick: np.ndarray
    ids: pa.Array
    first: np.ndarray
    o_day: np.ndarray
    o_broadcast: np.ndarray
    o_messages: np.ndarray
    broadcasts: pa.Array
    nicknames: pa.Array
    name_days: np.ndarray
    names: list[str | None] = field(default_factory=list)

    @property
    def rows(self) -> int:
        return len(self.user) + len(self.o_day)

    @classmethod
    def load(cls, cols: dict[str, np.ndarray], codes: dict[str, np.ndarray], values: dict[str, pa.Array],
             name_days: np.ndarray, names: list[str | None]) -> Channel:
        """A channel's rows as read (sorted by user id, NULLs last, day, seq; `codes`: a
        number per string into `values`, -1 for NULL) and its roll-ups' day names."""
        user = codes["user_id"]
        n = int(np.count_nonzero(user >= 0))
        new = np.r_[True, user[1:n] != user[:n - 1]] if n else np.zeros(0, bool)
        starts = np.flatnonzero(new)
        order = np.argsort(name_days, kind="stable")
        return cls(user=(np.cumsum(new) - 1).astype(np.int32), day=cols["day"][:n].astype(np.int32),
                   broadcast=codes["broadcast"][:n], messages=cols["messages"][:n].astype(np.int64),
                   tier=cols["tier"][:n].astype(np.int32), month=cols["month"][:n].astype(np.int32),
                   hours=cols["hours"][:n].astype(np.uint32), nick=codes["nickname"][:n],
                   ids=values["user_id"].take(pa.array(user[starts], pa.int32())), first=cols["day"][starts],
                   o_day=cols["day"][n:].astype(np.int32), o_broadcast=codes["broadcast"][n:],
                   o_messages=cols["messages"][n:].astype(np.int64), broadcasts=values["broadcast"],
                   nicknames=values["nickname"], name_days=name_days[order],
                   names=[names[i] for i in order.tolist()])

    def name(self, lo: int, hi: int) -> str | None:
        """The name on the period's last line (arg_max skips NULL names): the last named day's."""
        d0, d1 = np.searchsorted(self.name_days, lo, "left"), np.searchsorted(self.name_days, hi, "right")
        return next((n for n in reversed(self.names[d0:d1]) if n is not None), None)

    def within(self, lo: int, hi: int) -> np.ndarray:
        """The chatter rows of days lo..hi (indices, in order)."""
        return np.flatnonzero((self.day >= lo) & (self.day <= hi))

    def total(self, lo: int, hi: int) -> int:
        """Every line of days lo..hi (chatters' and others')."""
        return int(self.messages[self.within(lo, hi)].sum()
                   + self.o_messages[(self.o_day >= lo) & (self.o_day <= hi)].sum())

    def days_with_lines(self, lo: int, hi: int) -> tuple[int, int] | None:
        """(first, last) day of lo..hi with a line, None for none."""
        d = np.concatenate([self.day[self.within(lo, hi)], self.o_day[(self.o_day >= lo) & (self.o_day <= hi)]])
        return (int(d.min()), int(d.max())) if len(d) else None


def days(start: date | None, end: date | None) -> tuple[int, int]:
    """[start, end] as days since 1970, open ends far out."""
    return (-(1 << 30) if start is None else (start - EPOCH).days,
            1 << 30 if end is None else (end - EPOCH).days)


def trunc(d: np.ndarray, every: str) -> np.ndarray:
    """Days since 1970 truncated to the start of their day, week (Monday) or month."""
    if every == "week":
        return d - (d + 3) % 7  # 1970-01-01 was a Thursday
    if every == "month":
        return d.astype("datetime64[D]").astype("datetime64[M]").astype("datetime64[D]").astype(np.int32)
    return d


def months(d: np.ndarray) -> np.ndarray:
    """Months since 1970-01 of days since 1970."""
    return d.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)


def month_days(m: np.ndarray) -> np.ndarray:
    """The first day (days since 1970) of months since 1970-01."""
    return m.astype("datetime64[M]").astype("datetime64[D]").astype(np.int32)


def _groups(keys: np.ndarray) -> np.ndarray:
    """Where each run of equal values of a sorted array starts."""
    return np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]]) if len(keys) else np.zeros(0, np.int64)


def ranked(c: Channel, rows: np.ndarray, limit: int) -> tuple[list, list, np.ndarray]:
    """The `limit` chatters with the most lines among `rows` (chatter row indices in
    order): (user ids, latest nicknames, lines), most first, ties by user id."""
    if not len(rows) or limit <= 0:
        return [], [], np.zeros(0, np.int64)
    user = c.user[rows]
    starts = _groups(user)
    lines = np.add.reduceat(c.messages[rows], starts)
    nick = c.nick[rows]
    last = np.maximum.reduceat(np.where(nick >= 0, np.arange(len(rows)), -1), starts)  # the latest named row
    top = np.lexsort((user[starts], -lines))[:limit]  # user numbers are in id order
    names = np.where(last[top] >= 0, nick[np.maximum(last[top], 0)], -1)
    return (c.ids.take(pa.array(user[starts][top])).to_pylist(),
            [None if i < 0 else v for i, v in zip(names.tolist(), c.nicknames.take(
                pa.array(np.maximum(names, 0), pa.int32())).to_pylist(), strict=True)],
            lines[top])


def top_lines(c: Channel, rows: np.ndarray, n: int) -> int:
    """The lines of the `n` chatters with the most lines among `rows`."""
    if not len(rows) or n <= 0:
        return 0
    lines = np.add.reduceat(c.messages[rows], _groups(c.user[rows]))
    return int(np.sort(lines)[::-1][:n].sum())


def split(c: Channel, lo: int, hi: int) -> list[tuple]:
    """[(tier, chatters, messages)] of days lo..hi, each chatter at their highest tier,
    tiers ascending."""
    rows = c.within(lo, hi)
    if not len(rows):
        return []
    starts = _groups(c.user[rows])
    best = np.maximum.reduceat(c.tier[rows], starts)
    sent = np.add.reduceat(c.messages[rows], starts)
    tiers, inv = np.unique(best, return_inverse=True)
    chatters = np.bincount(inv, minlength=len(tiers))
    messages = np.bincount(inv, weights=sent, minlength=len(tiers)).astype(np.int64)
    return list(zip(tiers.tolist(), chatters.tolist(), messages.tolist(), strict=True))


def _pairs(a: np.ndarray, b: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The distinct (a, b) pairs of two int arrays (b >= 0), sorted by a then b."""
    if not len(a):
        return a.astype(np.int64), b.astype(np.int64)
    width = int(b.max()) + 1
    low = int(a.min())
    keys = np.unique((a.astype(np.int64) - low) * width + b)
    return keys // width + low, keys % width


def new_vs_returning(c: Channel, lo: int, hi: int, every: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bucket (days since 1970), new chatters, returning chatters) of days lo..hi, by
    bucket; new: the bucket holds the chatter's first day in the channel."""
    rows = c.within(lo, hi)
    if not len(rows):
        return np.array([], np.int32), np.array([], np.int64), np.array([], np.int64)
    bucket, who = _pairs(trunc(c.day[rows], every), c.user[rows])
    new = (trunc(c.first[who], every) == bucket).astype(np.int64)
    starts = _groups(bucket)
    fresh, total = np.add.reduceat(new, starts), np.diff(np.append(starts, len(bucket)))
    return bucket[starts].astype(np.int32), fresh, (total - fresh).astype(np.int64)


def cohorts(c: Channel, lo: int, hi: int, every: str) -> list[tuple]:
    """[(cohort, period (days since 1970), periods after, cohort size, chatters)] of the
    chatters whose first day is in lo..hi, by their lines in lo..hi."""
    member = (c.first >= lo) & (c.first <= hi)
    cohort = trunc(c.first, every)
    size = {int(k): int(v) for k, v in zip(*np.unique(cohort[member], return_counts=True), strict=True)}
    rows = c.within(lo, hi)
    rows = rows[member[c.user[rows]]]
    if not len(rows):
        return []
    period, who = _pairs(trunc(c.day[rows], every), c.user[rows])
    keys = np.unique(np.stack([cohort[who], period]), axis=1, return_counts=True)
    out = []
    for k, p, n in zip(keys[0][0].tolist(), keys[0][1].tolist(), keys[1].tolist(), strict=True):
        after = (int(months(np.array([p]))[0] - months(np.array([k]))[0]) if every == "month"
                 else (p - k) // 7 if every == "week" else p - k)
        out.append((k, p, after, size[k], n))
    return out


def tenure(c: Channel, lo: int, hi: int, every: str) -> list[tuple]:
    """[(bucket, tier, tenure bucket index, subscribers)] of days lo..hi, each subscriber
    once per bucket at their highest tier and month there; sorted."""
    rows = c.within(lo, hi)
    rows = rows[c.tier[rows] > 0]
    if not len(rows):
        return []
    bucket = trunc(c.day[rows], every).astype(np.int64)
    user = c.user[rows].astype(np.int64)
    order = np.lexsort((user, bucket))
    bucket, user, rows = bucket[order], user[order], rows[order]
    starts = np.flatnonzero(np.r_[True, (bucket[1:] != bucket[:-1]) | (user[1:] != user[:-1])])
    t = np.maximum.reduceat(c.tier[rows], starts)
    m = np.maximum.reduceat(c.month[rows], starts)
    label = np.searchsorted(_TENURE_TOPS, m, "left")  # m <= 1: 0, <= 3: 1, ... else 5
    keys, counts = np.unique(np.stack([bucket[starts], t, label]), axis=1, return_counts=True)
    return list(zip(keys[0].tolist(), keys[1].tolist(), keys[2].tolist(), counts.tolist(), strict=True))


def subscriber_change(c: Channel, lo: int, hi: int) -> list[tuple]:
    """[(month (its first day), subscribers, gained, lost)] from the first to the last month
    with lines in lo..hi; gained and lost None for the first."""
    span = c.days_with_lines(lo, hi)
    if span is None:
        return []
    rows = c.within(lo, hi)
    rows = rows[c.tier[rows] > 0]
    month, who = _pairs(months(c.day[rows]), c.user[rows])
    m0, m1 = (int(v) for v in months(np.array(span)))
    out = []
    held: set[int] = set()
    for m in range(m0, m1 + 1):
        now = set(who[month == m].tolist())
        out.append((int(month_days(np.array([m]))[0]), len(now), None if m == m0 else len(now - held),
                    None if m == m0 else len(held - now)))
        held = now
    return out


def chatters(c: Channel, lo: int, hi: int) -> tuple[int, int]:
    """(chatters, subscriber chatters) of days lo..hi."""
    rows = c.within(lo, hi)
    return len(np.unique(c.user[rows])), len(np.unique(c.user[rows[c.tier[rows] > 0]]))


def period_users(c: Channel, lo: int, hi: int) -> pa.Array:
    """The user ids with lines in days lo..hi."""
    return c.ids.take(pa.array(np.unique(c.user[c.within(lo, hi)]), pa.int32()))


def hour_chatters(c: Channel, lo: int, hi: int) -> dict[tuple[int, int], int]:
    """{(weekday (0 = Monday), hour): distinct chatters} of days lo..hi, from the hours
    each chatter chatted in on each day."""
    rows = c.within(lo, hi)
    if not len(rows):
        return {}
    key = c.user[rows].astype(np.int64) * 7 + (c.day[rows] + 3) % 7
    order = np.argsort(key, kind="stable")
    key = key[order]
    starts = _groups(key)
    masks = np.bitwise_or.reduceat(c.hours[rows][order], starts)
    weekday = key[starts] % 7
    out = {}
    for h in range(24):
        counts = np.bincount(weekday, weights=(masks >> np.uint32(h)) & np.uint32(1), minlength=7)
        out.update({(wd, h): int(n) for wd, n in enumerate(counts.tolist()) if n})
    return out


def broadcast_users(c: Channel, code: int) -> np.ndarray:
    """The user numbers with lines in broadcast `code` (sorted, distinct; none for -1)."""
    return np.unique(c.user[c.broadcast == code]) if code >= 0 else np.zeros(0, np.int32)


def broadcast_code(c: Channel, broadcast: str | None) -> int:
    """The number of `broadcast` in the channel's rows, -1 when it has none."""
    if broadcast is None:
        return -1
    return pc.index(c.broadcasts, broadcast).as_py()


def local_midnights(frame: pl.DataFrame, cols: tuple[str, ...], tz: str) -> pl.DataFrame | None:
    """`frame` with the day columns `cols` (days since 1970, Int32) as the local midnights
    of `tz` (Datetime us); None when one does not exist once there (a clock change)."""
    try:
        return frame.with_columns(pl.col(c).cast(pl.Date).cast(pl.Datetime("us")).dt.replace_time_zone(tz)
                                  for c in cols)
    except pl.exceptions.ComputeError:
        return None
