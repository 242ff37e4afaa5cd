"""Realistic chat history at scale (pure, seeded, vectorised with numpy): a seed and a
shape in, the lines' columns out. Used by the bench (bench/realistic.py) and the demo.

What it models (issue 18, measured on real CHZZK chat by the issue's authors):
- channels with Zipf volume: the biggest writes ``top_share`` of the lines (~20 % of 300);
- chatters in the hundreds of thousands per million lines, with Zipf activity (a truncated
  Zipf law whose exponent is solved so the mean is rows/chatters: ~90 % write 1–5 lines,
  a few thousand write thousands), each with a home channel and up to three others (so
  audiences overlap), active over a window of the history (new and returning chatters);
- broadcasts: most days per channel, at KST afternoon, evening or late-night hours,
  1–12 h long, each with its own chat_channel_id; chat rises after the opening, falls
  before the end and has a few peaks;
- 25 % of chatters subscribed to their home channel (tier 1 or 2, months; each channel its
  own rate around that, 30 % of them subscribing during the history), renames (a
  nickname changes once, at a time), donations (0.5 %, mostly anonymous; CHAT, VIDEO,
  MISSION with its status, MISSION_PARTICIPATION), subscriptions, subscription gifts,
  SYSTEM_MESSAGE lines, streamer lines, blinds (CBOTBLIND, BLIND, HIDDEN statuses);
- the text (Korean, emoji codes ``{:name:}``) is drawn by collector.sim.history_rows.

``lines(shape)`` returns a ``History``: per line (sorted by time) numpy columns, and the
channel, chatter and broadcast tables they index. Same shape, same history."""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

import numpy as np

KST = timezone(timedelta(hours=9))
END = datetime(2026, 1, 1, tzinfo=UTC)   # default end of the history: fixed, same data on every run

# line kinds (History.kind)
CHAT, DONATION, SUBSCRIPTION, GIFT, SYSTEM = 0, 1, 2, 3, 4
KIND_SHARES = {DONATION: 0.005, SUBSCRIPTION: 0.0006, GIFT: 0.0002, SYSTEM: 0.0003}
P_STREAMER = 0.006          # share of a channel's lines its streamer writes
P_ANONYMOUS = 0.7           # share of donations made anonymously
DONATION_TYPES = ("CHAT", "VIDEO", "MISSION", "MISSION_PARTICIPATION")
DONATION_TYPE_SHARES = (0.85, 0.08, 0.05, 0.02)
MISSION_STATUSES = ("PENDING", "APPROVED", "COMPLETED", "REJECTED", "EXPIRED")
MISSION_STATUS_SHARES = (0.15, 0.15, 0.5, 0.1, 0.1)
# message_status: NORMAL, then the blinds
STATUSES = ("NORMAL", "CBOTBLIND", "BLIND", "HIDDEN")
STATUS_SHARES = (0.9965, 0.001, 0.002, 0.0005)
P_SUBSCRIBER = 0.25         # share of chatters subscribed to their home channel (over every channel)
SUB_RATE_SPREAD = 0.6       # lognormal sigma of a channel's subscriber rate around P_SUBSCRIBER
P_NEW_SUBSCRIBER = 0.3      # share of subscribers who subscribe during the history (a badge from then on)
P_RENAME = 0.05             # share of chatters with 2+ lines whose nickname changes once
P_HOME = 0.75               # share of a chatter's lines in its home channel (when it has others)
ZIPF_TRUNCATE = 50_000      # most lines one chatter writes (rows / 50 below 2.5M rows)
CASUAL = 0.9                # share of chatters who write 1-5 lines
CHATTERS_PER_LINE = 0.12    # default chatters: 1.2M per 10M lines


@dataclass(frozen=True)
class Shape:
    """What to generate. ``chatters`` None: CHATTERS_PER_LINE of rows (1.2M per 10M lines)."""
    rows: int = 1_000_000
    channels: int = 300
    chatters: int | None = None
    days: int = 30
    seed: int = 18
    top_share: float = 0.20         # the biggest channel's share of the lines
    end: datetime = END

    def chatter_count(self) -> int:
        return max(1, self.chatters if self.chatters is not None else int(self.rows * CHATTERS_PER_LINE))


@dataclass
class History:
    """The generated lines, sorted by time (columns of equal length), and what they index."""
    shape: Shape
    time_ms: np.ndarray        # int64, epoch ms (UTC)
    channel: np.ndarray        # int32 index into channel tables
    broadcast: np.ndarray      # int32 index into broadcast tables
    user: np.ndarray           # int32 chatter index; streamers are chatters >= n_chatters (one a channel)
    kind: np.ndarray           # int8: CHAT, DONATION, ...
    status: np.ndarray         # int8 index into STATUSES
    anonymous: np.ndarray      # bool (donations and gifts: no user shown)
    renamed: np.ndarray        # bool: the line is after its chatter's rename
    subscribed: np.ndarray     # bool: the chatter is subscribed to this line's channel
    draw: np.ndarray           # uint32: a random number per line (text, amounts, ...)
    # channels
    channel_volume: np.ndarray     # float64 share of the lines (Zipf)
    # chatters (n_chatters + channels streamers)
    home: np.ndarray           # int32 home channel
    lines_per_chatter: np.ndarray  # int64 lines drawn for each chatter (before kinds)
    sub_tier: np.ndarray       # int8 0 (none), 1, 2: subscription to the home channel
    sub_month: np.ndarray      # int16
    # broadcasts
    b_channel: np.ndarray      # int32
    b_open_ms: np.ndarray      # int64
    b_close_ms: np.ndarray     # int64
    b_viewers: np.ndarray      # int32 base member count

    @property
    def n_chatters(self) -> int:
        return len(self.home) - self.shape.channels


def zipf_exponent(n: int, top_share: float) -> float:
    """s such that 1 / H(n, s) = top_share (the first of n Zipf ranks holds that share)."""
    if n <= 1 or top_share <= 1.0 / n:
        return 0.0
    lo, hi = 0.0, 8.0
    ranks = np.arange(1, n + 1, dtype=np.float64)
    for _ in range(60):
        s = (lo + hi) / 2
        share = 1.0 / np.sum(ranks ** -s)
        lo, hi = (s, hi) if share < top_share else (lo, s)
    return (lo + hi) / 2


def _zipf_pmf(mean: float, lo: int, hi: int) -> np.ndarray:
    """P(k) ∝ k^-a over lo..hi, with a solved so the mean is `mean` (clamped to the range)."""
    k = np.arange(lo, hi + 1, dtype=np.float64)
    a_lo, a_hi = 0.0, 8.0
    for _ in range(60):
        a = (a_lo + a_hi) / 2
        p = k ** -a
        m = float(np.sum(k * p) / np.sum(p))
        a_lo, a_hi = (a, a_hi) if m > mean else (a_lo, a)
    p = k ** -((a_lo + a_hi) / 2)
    return p / p.sum()


def _lines_pmf(mean: float, kmax: int) -> np.ndarray:
    """Lines per chatter over 1..kmax: CASUAL of the chatters write 1-5 lines (Zipf, mostly
    one), the rest 6..kmax (Zipf with the exponent that makes the overall mean `mean`:
    their tail writes thousands)."""
    casual = np.arange(1, 6, dtype=np.float64) ** -1.6
    casual /= casual.sum()
    casual_mean = float(np.sum(np.arange(1, 6) * casual))
    rest_mean = (mean - CASUAL * casual_mean) / (1 - CASUAL)
    if rest_mean <= 8 or kmax <= 6:
        return _zipf_pmf(mean, 1, kmax)
    return np.concatenate([CASUAL * casual, (1 - CASUAL) * _zipf_pmf(rest_mean, 6, kmax)])


def _line_counts(rng: np.random.Generator, chatters: int, lines: int) -> np.ndarray:
    """Lines per chatter (each >= 1) summing to `lines`, Zipf-distributed."""
    kmax = int(np.clip(lines // 50, 10, ZIPF_TRUNCATE))
    if lines <= chatters:
        return np.ones(lines, dtype=np.int64)
    pmf = _lines_pmf(lines / chatters, kmax)
    counts = rng.choice(np.arange(1, kmax + 1), size=chatters, p=pmf).astype(np.int64)
    diff = lines - int(counts.sum())
    order = np.argsort(-counts, kind="stable")
    if diff > 0:  # the heaviest take the rest, in proportion
        top = order[: max(1, chatters // 100)]
        add = np.floor(diff * counts[top] / counts[top].sum()).astype(np.int64)
        add[0] += diff - add.sum()
        counts[top] += add
    elif diff < 0:  # the heaviest give back, never below 1
        need = -diff
        for i in order:
            take = min(need, int(counts[i]) - 1, max(1, int(counts[i]) // 2))
            counts[i] -= take
            need -= take
            if need == 0:
                break
    return counts


def _broadcasts(rng: np.random.Generator, shape: Shape, volume: np.ndarray):
    """Per channel and day: whether it broadcasts (bigger channels more regularly), when
    (KST afternoon 25 %, evening 60 %, late night 15 %) and how long (1-12 h)."""
    days, n = shape.days, shape.channels
    end_ms = int(shape.end.timestamp() * 1000)
    end_kst = shape.end.astimezone(KST).replace(hour=0, minute=0, second=0, microsecond=0)
    day0_ms = int((end_kst - timedelta(days=days)).timestamp() * 1000)
    rank = np.argsort(np.argsort(-volume))
    p_on = 0.45 + 0.45 * (1 - rank / max(1, n - 1))          # 0.9 for the biggest .. 0.45
    on = rng.random((n, days)) < p_on[:, None]
    on[:, -1] |= ~on.any(axis=1)                              # every channel broadcasts at least once
    ch, day = np.nonzero(on)
    slot = rng.choice(3, size=len(ch), p=(0.25, 0.6, 0.15))
    start_h = np.choose(slot, (rng.uniform(12, 17, len(ch)), rng.uniform(18, 22.5, len(ch)),
                               rng.uniform(23.5, 27, len(ch))))
    hours = np.clip(rng.lognormal(math.log(4), 0.45, len(ch)), 1, 12)
    open_ms = day0_ms + day * 86_400_000 + (start_h * 3_600_000).astype(np.int64)
    close_ms = open_ms + (hours * 3_600_000).astype(np.int64)
    keep = close_ms <= end_ms
    if len(np.unique(ch[keep])) < n:
        # a channel whose only broadcast runs past the end: move it a day back
        lone = ~np.isin(ch, ch[keep])
        open_ms[lone] -= 86_400_000
        close_ms[lone] -= 86_400_000
        keep = close_ms <= end_ms
    ch, open_ms, close_ms = ch[keep], open_ms[keep], close_ms[keep]
    order = np.lexsort((ch, open_ms))
    return ch[order].astype(np.int32), open_ms[order], close_ms[order]


def _minute_bins(rng: np.random.Generator, b_channel, b_open, b_close, n_channels: int):
    """Minute bins of every broadcast, grouped by channel in time order, and the key that
    maps a uniform draw to a bin: channel index + the channel's cumulative weight (0..1)."""
    minutes = np.maximum(1, (b_close - b_open) // 60_000)
    weight_b = rng.lognormal(0, 0.5, len(minutes))          # some broadcasts busier than others
    bin_b = np.repeat(np.arange(len(minutes)), minutes)
    first = np.repeat(np.cumsum(minutes) - minutes, minutes)
    m = np.arange(len(bin_b)) - first
    x = (m + 0.5) / minutes[bin_b]
    shape = np.sqrt(np.sin(np.pi * x))
    for _ in range(3):  # up to three peaks a broadcast (a raid, a win, a donation storm)
        c = rng.uniform(0.05, 0.95, len(minutes))[bin_b]
        w = rng.uniform(3, 15, len(minutes))[bin_b] / minutes[bin_b]
        a = (rng.random(len(minutes)) < 0.7) * rng.uniform(0.5, 2.5, len(minutes))
        shape = shape * (1 + a[bin_b] * np.exp(-(((x - c) / w) ** 2)))
    wbin = shape * weight_b[bin_b]
    ch = b_channel[bin_b]
    order = np.lexsort((b_open[bin_b] + m * 60_000, ch))      # by channel, then time
    bin_b, m, ch, wbin = bin_b[order], m[order], ch[order], wbin[order]
    cum = np.cumsum(wbin)
    starts = np.searchsorted(ch, np.arange(n_channels))
    ends = np.searchsorted(ch, np.arange(n_channels), side="right")
    base = np.where(starts > 0, cum[np.maximum(starts - 1, 0)], 0.0)
    total = cum[ends - 1] - base
    key = ch + (cum - base[ch]) / total[ch]
    return key, bin_b, m


def _subscriber_rates(rng: np.random.Generator, home: np.ndarray, n_channels: int) -> np.ndarray:
    """Each channel's share of subscribers among the chatters at home there: P_SUBSCRIBER
    times a lognormal factor, scaled so that over all chatters the share stays P_SUBSCRIBER."""
    factor = rng.lognormal(0, SUB_RATE_SPREAD, n_channels)
    at_home = np.bincount(home, minlength=n_channels)
    factor *= len(home) / max(1e-9, float(at_home @ factor))
    return np.clip(P_SUBSCRIBER * factor, 0.05, 0.8)


def _subscription_starts(rng: np.random.Generator, sub: np.ndarray, user: np.ndarray,
                         time_ms: np.ndarray) -> np.ndarray:
    """When each chatter's subscription shows (epoch ms; int64 min: from before the history):
    P_NEW_SUBSCRIBER of the subscribers subscribe at a time between their first and last line
    (`time_ms` sorted), so a channel's subscriber share moves from day to day."""
    first = np.full(len(sub), np.iinfo(np.int64).max, dtype=np.int64)
    last = np.zeros(len(sub), dtype=np.int64)
    users, at = np.unique(user, return_index=True)
    first[users] = time_ms[at]
    users, at = np.unique(user[::-1], return_index=True)
    last[users] = time_ms[::-1][at]
    new = sub & (rng.random(len(sub)) < P_NEW_SUBSCRIBER) & (last > first)
    start = first + (rng.random(len(sub)) * np.maximum(0, last - first)).astype(np.int64)
    return np.where(new, start, np.iinfo(np.int64).min)


def lines(shape: Shape) -> History:
    """The history of `shape` (see the module docstring)."""
    rng = np.random.default_rng(shape.seed)
    n_ch, rows = shape.channels, shape.rows
    s = zipf_exponent(n_ch, shape.top_share)
    volume = np.arange(1, n_ch + 1, dtype=np.float64) ** -s
    volume = volume / volume.sum()
    volume = volume[rng.permutation(n_ch)]                      # ranks not in id order
    cum_volume = np.cumsum(volume)
    streamer_lines = int(rows * P_STREAMER)
    chatters = min(shape.chatter_count(), max(1, rows - streamer_lines))
    counts = _line_counts(rng, chatters, rows - streamer_lines)
    # each chatter: a home channel and up to three others, drawn by volume
    others = rng.integers(0, 4, chatters) * (counts > 1)
    chans = np.minimum(np.searchsorted(cum_volume, rng.random((chatters, 4))), n_ch - 1).astype(np.int32)
    home = chans[:, 0]
    user = np.repeat(np.arange(chatters, dtype=np.int32), counts)
    n_chat = len(user)
    slot = np.where(rng.random(n_chat) < P_HOME, 0, 1 + (rng.random(n_chat) * np.maximum(others[user], 1)).astype(np.int64))
    slot = np.where(others[user] == 0, 0, slot)
    channel = chans[user, slot]
    # the streamers' own lines, in their channel by volume
    s_ch = np.minimum(np.searchsorted(cum_volume, rng.random(streamer_lines)), n_ch - 1).astype(np.int32)
    user = np.concatenate([user, chatters + s_ch])
    channel = np.concatenate([channel, s_ch])
    counts_all = np.concatenate([counts, np.bincount(s_ch, minlength=n_ch)])
    home_all = np.concatenate([home, np.arange(n_ch, dtype=np.int32)])
    n = len(user)
    # when: a window of the channel's broadcast time per chatter (wider for heavier chatters)
    b_channel, b_open, b_close = _broadcasts(rng, shape, volume)
    key, bin_b, minute = _minute_bins(rng, b_channel, b_open, b_close, n_ch)
    width = np.minimum(1.0, 0.08 + 0.3 * np.log10(1 + counts_all))
    start = rng.random(len(counts_all)) * (1 - width)
    u = start[user] + width[user] * rng.random(n)
    pos = np.minimum(np.searchsorted(key, channel + np.minimum(u, 1 - 1e-12)), len(key) - 1)
    # a draw past the channel's last bin falls into the next channel's: clamp to the channel
    pos = np.where(np.floor(key[pos]).astype(np.int32) > channel, pos - 1, pos)
    broadcast = bin_b[pos].astype(np.int32)
    time_ms = b_open[broadcast] + minute[pos] * 60_000 + rng.integers(0, 60_000, n)
    time_ms = np.minimum(time_ms, b_close[broadcast] - 1)
    order = np.argsort(time_ms, kind="stable")
    time_ms, channel, user, broadcast = time_ms[order], channel[order], user[order], broadcast[order]
    # kinds, statuses, subscriptions, renames
    r = rng.random(n)
    kind = np.zeros(n, dtype=np.int8)
    edge = 0.0
    for k, share in KIND_SHARES.items():
        kind[(r >= edge) & (r < edge + share)] = k
        edge += share
    streamer = user >= chatters
    kind[streamer] = CHAT
    anonymous = ((kind == DONATION) & (rng.random(n) < P_ANONYMOUS)) | (kind == GIFT)
    status = np.searchsorted(np.cumsum(STATUS_SHARES), rng.random(n)).astype(np.int8)
    status = np.minimum(status, len(STATUSES) - 1)
    status[kind != CHAT] = 0
    # subscribers: each channel its own rate, some subscribing during the history (drawn from
    # their own stream, so every other column is what it was before these were modelled)
    subs_rng = np.random.default_rng([shape.seed, 4])
    rate = _subscriber_rates(subs_rng, home, n_ch)
    sub = rng.random(len(counts_all)) < np.concatenate([rate[home], np.zeros(n_ch)])
    sub[chatters:] = False
    sub_tier = np.where(sub, np.where(rng.random(len(sub)) < 0.15, 2, 1), 0).astype(np.int8)
    sub_month = np.where(sub, np.minimum(80, 1 + rng.exponential(12, len(sub)).astype(np.int64)), 0).astype(np.int16)
    sub_from = _subscription_starts(subs_rng, sub, user, time_ms)
    sub_month[sub_from > np.iinfo(np.int64).min] = 1          # a new subscriber is in its first month
    subscribed = (sub_tier[user] > 0) & (home_all[user] == channel) & (time_ms >= sub_from[user])
    rename_at = np.where((rng.random(len(counts_all)) < P_RENAME) & (counts_all > 1),
                         rng.integers(int(b_open.min()), int(b_close.max()) + 1, len(counts_all)), np.iinfo(np.int64).max)
    renamed = time_ms >= rename_at[user]
    base = 30 + 30_000 * (volume / volume.max()) ** 0.9            # member count follows volume
    b_viewers = (base[b_channel] * rng.lognormal(0, 0.3, len(b_channel))).astype(np.int32)
    return History(shape=shape, time_ms=time_ms, channel=channel, broadcast=broadcast, user=user, kind=kind,
                   status=status, anonymous=anonymous, renamed=renamed, subscribed=subscribed,
                   draw=rng.integers(0, 2**32, n, dtype=np.uint32), channel_volume=volume, home=home_all,
                   lines_per_chatter=counts_all, sub_tier=sub_tier, sub_month=sub_month, b_channel=b_channel,
                   b_open_ms=b_open, b_close_ms=b_close, b_viewers=b_viewers)
