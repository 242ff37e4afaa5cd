"""The audience answers over one channel's chatter days (warehouse/read/accelerators/
chatter_days.py), held in memory as numpy arrays: each function takes a Channel and a
period of days (days since 1970, inclusive) and returns plain rows or arrays, counted as
the chat scans of warehouse/read/queries/audience.py and activity.py count them (the
equivalence test, tests/warehouse/test_accelerators.py, compares the frames). Pure.
"""
from __future__ import annotations

import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

EPOCH = date(1970, 1, 1)
TENURE = ("1", "2-3", "4-6", "7-12", "13-24", "25+")
_TENURE_TOPS = np.array([1, 3, 6, 12, 24])  # the highest month of each tenure bucket but the last


class Chatters:
    """The chatters of every channel read together, a run of rows each: ``codes()``, each
    run's number in the file's ``chatter`` column (the same number is the same chatter in
    any channel of the file: what audience overlap compares), and ``ids_of(runs)``, their
    user ids — strings read only for the runs asked about (a question's top rows), from the
    row groups holding them (`strings(rows)`: the user ids at rows of the read)."""

    def __init__(self, codes: np.ndarray, rows: np.ndarray, strings: Callable[[np.ndarray], list]) -> None:
        self._codes, self._rows, self._strings = codes, rows, strings

    def codes(self) -> np.ndarray:
        return self._codes

    def ids_of(self, runs: np.ndarray) -> list[str | None]:
        return self._strings(self._rows[np.asarray(runs, np.int64)]) if len(runs) else []

    def first_rows(self, runs: np.ndarray) -> np.ndarray:
        """The read's row where each run starts."""
        return self._rows[runs]


@dataclass
class Channel:
    """One channel's chatter days. Chatter rows (user not NULL), sorted by user id, day and
    then the order of their nicknames: user (a number per user id, in id order), day,
    broadcast (a number into ``broadcasts``, -1 for none), messages, tier, month, hours;
    ``ids_of`` the user id of numbers, ``first`` their first day in the channel. ``o_*``:
    the rows of lines of no chatter. ``name_days``/``names``: the roll-ups' channel name per
    day (sorted by day). broadcast, messages, tier, month and hours are rows at..at+n
    (chatters) and at+n..end (others) of the columns ``source`` gives
    (``source.get(name)``; ``source.broadcasts()``/``broadcast_codes()``): read from the
    file when a question first needs them (a whole lake's first question reads only its
    own columns); the nicknames of a few rows by ``nicknames_at`` (``source.values``)."""
    user: np.ndarray
    day: np.ndarray
    runs: int  # chatters (runs of a user's rows): runs run0..run0 + runs of ``chatters``
    first: np.ndarray
    o_day: np.ndarray
    name_days: np.ndarray
    source: Any
    at: int
    end: int
    names: list[str | None] = field(default_factory=list)
    chatters: Chatters | None = None  # the chatters of every channel read with this one; ours from ``run0``
    run0: int = 0
    _by_broadcast: tuple[np.ndarray, np.ndarray] | None = None  # rows by broadcast, where each one's start

    @property
    def rows(self) -> int:
        return self.end - self.at

    def ids_of(self, users: np.ndarray) -> list[str | None]:
        """The user ids of numbers of ``user``."""
        assert self.chatters is not None
        return self.chatters.ids_of(self.run0 + np.asarray(users, np.int64))

    def nicknames_at(self, rows: np.ndarray) -> list[str | None]:
        """The nicknames of chatter rows (indices, as ``within`` gives)."""
        return self.source.values("nickname", self.at + np.asarray(rows, np.int64))

    def _mine(self, name: str) -> np.ndarray:
        return self.source.get(name)[self.at:self.at + len(self.user)]

    def _others(self, name: str) -> np.ndarray:
        return self.source.get(name)[self.at + len(self.user):self.end]

    broadcast = property(lambda self: self._mine("broadcast"))
    messages = property(lambda self: self._mine("messages"))
    tier = property(lambda self: self._mine("tier"))
    month = property(lambda self: self._mine("month"))
    hours = property(lambda self: self._mine("hours"))
    o_broadcast = property(lambda self: self._others("broadcast"))
    o_messages = property(lambda self: self._others("messages"))
    broadcasts = property(lambda self: self.source.broadcasts())
    broadcast_codes = property(lambda self: self.source.broadcast_codes())  # the number of each of ``broadcasts``

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


@dataclass
class Top:
    """The `limit` chatters with the most lines among some rows of a channel (``top``):
    their numbers (``users``), lines, and their rows among those (``first``..``last``), whose
    strings ``named`` reads."""
    c: Channel
    rows: np.ndarray
    users: np.ndarray
    lines: np.ndarray
    first: np.ndarray
    last: np.ndarray

    def wanted(self) -> tuple[np.ndarray, np.ndarray]:
        """(the read's rows whose user ids ``named`` needs, those whose nicknames it reads first)."""
        c = self.c
        assert c.chatters is not None
        return (c.chatters.first_rows(c.run0 + self.users.astype(np.int64)),
                c.at + self.rows[self.last - 1].astype(np.int64))


def top(c: Channel, rows: np.ndarray, limit: int) -> Top:
    """The `limit` chatters with the most lines among `rows` (chatter row indices in
    order), most first, ties by user id (numbers only: ``named`` gives their strings)."""
    if not len(rows) or limit <= 0:
        none = np.zeros(0, np.int64)
        return Top(c, rows, none, none, none, none)
    user = c.user[rows]
    starts = _groups(user)
    lines = np.add.reduceat(c.messages[rows], starts)
    at = np.lexsort((user[starts], -lines))[:limit]  # user numbers are in id order
    ends = np.append(starts[1:], len(rows))
    return Top(c, rows, user[starts][at], lines[at], starts[at], ends[at])


def named(t: Top) -> tuple[list, list, np.ndarray]:
    """(user ids, latest nicknames, lines) of the top chatters. The name on each one's
    latest row that has one (arg_max skips NULLs): their last rows first, the rows before
    only for those whose last row has none (few)."""
    if not len(t.users):
        return [], [], t.lines
    c = t.c
    nicks = c.nicknames_at(t.rows[t.last - 1])
    for k in [k for k, n in enumerate(nicks) if n is None]:
        names = c.nicknames_at(t.rows[t.first[k]:t.last[k] - 1])
        nicks[k] = next((n for n in reversed(names) if n is not None), None)
    return c.ids_of(t.users), nicks, t.lines


def ranked(c: Channel, rows: np.ndarray, limit: int) -> tuple[list, list, np.ndarray]:
    """(user ids, latest nicknames, lines) of the `limit` chatters with the most lines among
    `rows` (``top``, then ``named``): only their ids and nicknames are read as strings."""
    return named(top(c, rows, limit))


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


def _runs(user: np.ndarray, key: np.ndarray) -> np.ndarray:
    """Where each run of equal (user, key) starts, rows sorted by user and `key` never
    decreasing within a user (a day, or its week or month): the distinct pairs without a sort."""
    new = np.ones(len(user), bool)
    new[1:] = (user[1:] != user[:-1]) | (key[1:] != key[:-1])
    return np.flatnonzero(new)


def new_vs_returning(c: Channel, lo: int, hi: int, every: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(bucket (days since 1970), new chatters, returning chatters) of days lo..hi, by
    bucket; new: the bucket holds the chatter's first day in the channel."""
    rows = c.within(lo, hi)
    if not len(rows):
        return np.array([], np.int32), np.array([], np.int64), np.array([], np.int64)
    bucket, who = trunc(c.day[rows], every), c.user[rows]
    at = _runs(who, bucket)
    bucket, who = bucket[at], who[at]
    low = int(bucket.min())
    total = np.bincount(bucket - low)
    fresh = np.bincount(bucket - low, weights=trunc(c.first[who], every) == bucket, minlength=len(total))
    has = np.flatnonzero(total)
    return (has + low).astype(np.int32), fresh[has].astype(np.int64), (total[has] - fresh[has]).astype(np.int64)


def cohorts(c: Channel, lo: int, hi: int, every: str) -> list[tuple]:
    """[(cohort, period (days since 1970), periods after, cohort size, chatters)] of the
    chatters whose first day is in lo..hi, by their lines in lo..hi."""
    member = (c.first >= lo) & (c.first <= hi)
    cohort = trunc(c.first, every)
    rows = c.within(lo, hi)
    rows = rows[member[c.user[rows]]]
    if not len(rows):
        return []
    period, who = trunc(c.day[rows], every), c.user[rows]
    at = _runs(who, period)
    period, group = period[at], cohort[who[at]]
    p0, k0 = int(period.min()), int(group.min())
    width = int(period.max()) - p0 + 1
    counts = np.bincount((group - k0).astype(np.int64) * width + (period - p0))
    keys = np.flatnonzero(counts)
    k, p = keys // width + k0, keys % width + p0
    sizes = np.bincount(cohort[member] - k0)
    after = (months(p) - months(k) if every == "month" else (p - k) // 7 if every == "week" else p - k)
    return list(zip(k.tolist(), p.tolist(), after.tolist(), sizes[k - k0].tolist(), counts[keys].tolist(),
                    strict=True))


def tenure(c: Channel, lo: int, hi: int, every: str) -> list[tuple]:
    """[(bucket, tier, tenure bucket index, subscribers)] of days lo..hi, each subscriber
    once per bucket at their highest tier and month there; sorted."""
    rows = c.within(lo, hi)
    rows = rows[c.tier[rows] > 0]
    if not len(rows):
        return []
    bucket = trunc(c.day[rows], every)
    at = _runs(c.user[rows], bucket)
    t = np.maximum.reduceat(c.tier[rows], at).astype(np.int64)
    label = np.searchsorted(_TENURE_TOPS, np.maximum.reduceat(c.month[rows], at), "left")  # <= 1: 0, ... else 5
    b = bucket[at].astype(np.int64)
    tiers = int(t.max()) + 1
    keys, counts = np.unique((b * tiers + t) * len(TENURE) + label, return_counts=True)
    bt, lab = np.divmod(keys, len(TENURE))
    b, t = np.divmod(bt, tiers)
    return list(zip(b.tolist(), t.tolist(), lab.tolist(), counts.tolist(), strict=True))


def subscriber_change(c: Channel, lo: int, hi: int) -> list[tuple]:
    """[(month (its first day), subscribers, gained, lost)] from the first to the last month
    with lines in lo..hi; gained and lost None for the first."""
    span = c.days_with_lines(lo, hi)
    if span is None:
        return []
    rows = c.within(lo, hi)
    rows = rows[c.tier[rows] > 0]
    month = months(c.day[rows])
    at = _runs(c.user[rows], month)
    month, who = month[at], c.user[rows][at]
    m0, m1 = (int(v) for v in months(np.array(span)))
    out = []
    held = np.zeros(0, np.int32)
    for m in range(m0, m1 + 1):
        now = who[month == m]  # sorted, distinct: the rows are by user
        both = len(np.intersect1d(now, held, assume_unique=True))
        out.append((int(month_days(np.array([m]))[0]), len(now), None if m == m0 else len(now) - both,
                    None if m == m0 else len(held) - both))
        held = now
    return out


def chatters(c: Channel, lo: int, hi: int) -> tuple[int, int]:
    """(chatters, subscriber chatters) of days lo..hi."""
    rows = c.within(lo, hi)
    subs = rows[c.tier[rows] > 0]
    return len(_groups(c.user[rows])), len(_groups(c.user[subs]))


def period_codes(c: Channel, lo: int, hi: int) -> np.ndarray:
    """The numbers (Chatters.codes) of the chatters with lines in days lo..hi."""
    who = c.user[c.within(lo, hi)]
    return c.chatters.codes()[c.run0 + who[_groups(who)]]


def shared_pairs(users: np.ndarray, sizes: list[int]) -> np.ndarray:
    """[a, b]: the chatters sets a and b share (a < b; a set: `sizes[a]` distinct
    numbers of `users`, the sets one after the other). Only chatters of two sets or more
    are looked at; each pair of their sets counted by walking their sorted rows."""
    k = len(sizes)
    which = np.repeat(np.arange(k, dtype=np.int64), sizes)
    several = np.bincount(users)[users] > 1
    order = np.argsort(users[several], kind="stable")  # by chatter, their sets ascending
    u, c = users[several][order], which[several][order]
    counts = np.zeros(k * k, np.int64)
    at, d = np.arange(len(u) - 1), 1
    while len(at):
        at = at[at + d < len(u)]
        at = at[u[at + d] == u[at]]  # the chatter's d-th set after this row's
        counts += np.bincount(c[at] * k + c[at + d], minlength=k * k)
        d += 1
    return counts.reshape(k, k)


def hour_chatters(c: Channel, lo: int, hi: int) -> dict[tuple[int, int], int]:
    """{(weekday (0 = Monday), hour): distinct chatters} of days lo..hi, from the hours
    each chatter chatted in on each day: the hours of each chatter's rows of a weekday
    OR-ed (the rows are by chatter and day), then each weekday's hour bits counted."""
    rows = c.within(lo, hi)
    if not len(rows):
        return {}
    who, day, hours = c.user[rows], c.day[rows], c.hours[rows]
    weekday = (day + 3) % 7  # 1970-01-01 was a Thursday
    if int(day.max()) - int(day.min()) < 7:
        at = _runs(who, day)  # a weekday is one day: a chatter's rows of it are adjacent
        ored, wd = np.bitwise_or.reduceat(hours, at), weekday[at]
    else:  # the rows by weekday (a stable radix sort keeps them by chatter within each)
        order = np.argsort(weekday.astype(np.int8), kind="stable")
        weekday, who = weekday[order], who[order]
        at = _runs(weekday, who)
        ored, wd = np.bitwise_or.reduceat(hours[order], at), weekday[at]
    counts = _bit_counts(ored, wd)
    return {(d, h): int(counts[d, h]) for d, h in zip(*np.nonzero(counts), strict=True)}


_BYTE_BITS = np.unpackbits(np.arange(256, dtype=np.uint8)[:, None], axis=1, bitorder="little").astype(np.int64)


def _bit_counts(words: np.ndarray, weekday: np.ndarray) -> np.ndarray:
    """[weekday, bit]: how many of `words` (24-bit masks, uint32) of each weekday have the
    bit set — a histogram of each of their three low bytes (not a byte per bit: 5x faster)."""
    low = np.ascontiguousarray(words, dtype="<u4").view(np.uint8).reshape(-1, 4)
    key = weekday.astype(np.int64) * 256
    out = np.empty((7, 24), np.int64)
    for k in range(3):
        out[:, 8 * k:8 * k + 8] = np.bincount(key + low[:, k], minlength=7 * 256).reshape(7, 256) @ _BYTE_BITS
    return out


def broadcast_users(c: Channel, code: int) -> np.ndarray:
    """The user numbers with lines in broadcast `code` (sorted, distinct; none for -1)."""
    if code < 0:
        return np.zeros(0, np.int32)
    if c._by_broadcast is None:  # once per channel held: the rows grouped by broadcast, by user within each
        order = np.argsort(c.broadcast, kind="stable")
        c._by_broadcast = (order, np.searchsorted(c.broadcast[order], np.arange(len(c.broadcasts) + 1)))
    order, at = c._by_broadcast
    who = c.user[order[at[code]:at[code + 1]]]
    return who[_groups(who)]


def broadcast_code(c: Channel, broadcast: str | None) -> int:
    """The number of `broadcast` in the channel's rows, -1 when it has none."""
    return c.broadcast_codes.get(broadcast, -1)


def local_midnights(days: list[int], tz: str) -> dict[int, datetime] | None:
    """{day (days since 1970): its local midnight in `tz`}; None when one does not exist
    once there (a clock change skips or repeats it: the caller scans, as DuckDB places it)."""
    out = {}
    for d in set(days):
        got = _midnight(d, tz)
        if got is None:
            return None
        out[d] = got
    return out


@functools.lru_cache(maxsize=65_536)
def _midnight(d: int, tz: str) -> datetime | None:
    zone = ZoneInfo(tz)
    wall = datetime.combine(EPOCH + timedelta(days=d), datetime.min.time())
    first, second = wall.replace(tzinfo=zone), wall.replace(tzinfo=zone, fold=1)
    if first.utcoffset() != second.utcoffset():  # skipped or repeated
        return None
    return first
