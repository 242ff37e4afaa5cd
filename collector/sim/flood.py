"""Flood mode of the simulator: a few channels at thousands of lines/s (a big event's chat)
beside many quiet ones, cheap enough to leave the CPU to the collector and PostgreSQL.

Each channel's lines come from a pool pre-rendered once (``ChatStream`` lines: chat,
donations, subscriptions, system lines; no missions, parties or gifts, whose ids must not
repeat): a line is its pool entry's JSON text with the time put in (one ``str.join``), and a
frame is 1-6 consecutive lines of one kind (93101 or 93102) joined into the wire envelope.
Sending 15,000 lines/s costs the simulator ~0.1 core.

Identity: a line is told apart by (uid, msgTime). The pool is ordered so that any WINDOW
consecutive entries have distinct uids, at most WINDOW lines share a millisecond and never
across the pool's end, so no two lines of a chat channel ever share both: every line sent is a
distinct line for the sink (its dedupe key mixes in both), and msgTime keeps up with the
clock (15,000 lines/s = 15 per ms).

Truth (``Tally``): per chat channel, the lines sent at least once (live push or 15101
replay; a line sent again on another socket counts once), and a digest of their identities,
``sum_h`` = Σ h(uid) and ``sum_t`` = Σ msgTime, where h(uid) is the first 15 hex digits of
md5(uid) as an integer. PostgreSQL computes the same from ``stream_chat.user_id`` and
``chat_time`` (``TRUTH_SQL``), so a test or the bench compares count and digest: equal means
0 lost and 0 duplicated."""
from __future__ import annotations

import dataclasses
import hashlib
import random
from collections import deque

from collector.sim.generator import ChatStream, to_recent
from collector.sim.population import SimChannel, chat_channel_id, dumps, hex32, make_channels

WINDOW = 32            # lines that may share one millisecond (and distinct uids in any WINDOW in a row)
POOL_FLOOD = 8192      # pre-rendered lines of a flood channel
POOL_QUIET = 64        # ... of a quiet channel
TEMPLATES = 2          # channels whose people the quiet channels borrow (making 500 real ones takes 25 s)
FRAME_SIZES = (1, 2, 2, 3, 3, 3, 4, 4, 5, 6)  # lines per frame at high rates (1-6)
KEPT_TYPES = (1, 10, 11, 30)
_SENTINEL = "4102444800123"  # msgTime placeholder (2100-01-01): never a real time in the pool
_KEEP_DONATIONS = ("CHAT", "VIDEO")

# PostgreSQL's side of the truth: per chat channel, lines and the identity digest
TRUTH_SQL = """
    SELECT chat_channel_id, count(*),
           coalesce(sum(('x' || substr(md5(user_id), 1, 15))::bit(60)::bigint::numeric), 0),
           coalesce(sum(round(extract(epoch FROM chat_time) * 1000)), 0)
      FROM stream_chat GROUP BY chat_channel_id"""


def compare(truth: list[dict], rows: list[tuple]) -> dict:
    """The simulator's truth beside PostgreSQL's ``TRUTH_SQL`` rows: lines sent and stored,
    ``lost`` (sent, not stored) and ``extra`` (stored beyond what was sent: duplicates or
    lines never sent) per the counts, and whether every channel's identity digest matches
    (equal counts and digests: 0 lost, 0 duplicated)."""
    stored = {cid: (int(n), int(h), int(t)) for cid, n, h, t in rows}
    out = {"sent": 0, "stored": 0, "lost": 0, "extra": 0, "channels": 0, "channels_differing": []}
    for tally in truth:
        if not tally["lines"]:
            continue
        n, h, t = stored.pop(tally["chat_channel_id"], (0, 0, 0))
        out["channels"] += 1
        out["sent"] += tally["lines"]
        out["stored"] += n
        out["lost"] += max(0, tally["lines"] - n)
        out["extra"] += max(0, n - tally["lines"])
        if (n, h, t) != (tally["lines"], tally["sum_h"], tally["sum_t"]):
            out["channels_differing"].append(tally["chat_channel_id"])
    for cid, (n, _, _) in stored.items():  # rows of chat channels the simulator never sent on
        out["stored"] += n
        out["extra"] += n
        out["channels_differing"].append(cid)
    out["exact"] = not out["channels_differing"]
    return out


def uid_hash(uid: str) -> int:
    return int(hashlib.md5(uid.encode("utf-8")).hexdigest()[:15], 16)


@dataclasses.dataclass
class Tally:
    """The truth of one chat channel: lines sent at least once and their identity digest."""
    channel_id: str
    chat_channel_id: str
    lines: int = 0
    sum_h: int = 0
    sum_t: int = 0

    def as_dict(self) -> dict:
        return dataclasses.asdict(self)


class Pool:
    """Pre-rendered lines of one chat channel, re-timed as they are sent."""

    def __init__(self, entries: list[tuple[list[str], str, int, dict]]):
        # (text parts around the time, uid, h(uid), the item for 15101 replays)
        self.parts = [e[0] for e in entries]
        self.hashes = [e[2] for e in entries]
        self.cmds = [93101 if e[3]["msgTypeCode"] == 1 else 93102 for e in entries]
        self.items = [e[3] for e in entries]

    def __len__(self) -> int:
        return len(self.parts)

    def renamed(self, old: tuple[str, str], new: tuple[str, str]) -> Pool:
        """The same lines for another channel: its channel id and chat channel id put in."""
        pool = Pool.__new__(Pool)
        (oid, ocid), (nid, ncid) = old, new
        pool.parts = [[p.replace(oid, nid).replace(f'"cid":"{ocid}"', f'"cid":"{ncid}"') for p in parts]
                      for parts in self.parts]
        pool.hashes, pool.cmds = self.hashes, self.cmds
        pool.items = [{**it, "cid": ncid, "extras": it["extras"].replace(oid, nid),
                       "profile": it["profile"].replace(oid, nid) if it["profile"] else it["profile"]}
                      for it in self.items]
        return pool


def build_pool(channel: SimChannel, seed, size: int) -> Pool:
    """``size`` lines (about) of ``channel`` ordered so any WINDOW in a row have distinct uids."""
    stream = ChatStream(channel, f"flood:{seed}", channel.chat_channel_id)
    ordered: list[dict] = []
    last: dict[str, int] = {}  # uid -> its latest position in ``ordered``
    while len(ordered) < size:
        for item in stream.next_items(0, size):
            code, extras = item["msgTypeCode"], item["extras"]
            if code not in KEPT_TYPES or (code == 10 and not any(f'"donationType":"{k}"' in extras
                                                                  for k in _KEEP_DONATIONS)):
                continue
            if last.get(item["uid"], -WINDOW) > len(ordered) - WINDOW:
                continue  # its uid is among the last WINDOW-1 lines: a heavy chatter loses this line
            last[item["uid"]] = len(ordered)
            ordered.append(item)
            if len(ordered) == size:
                break
        stream.pop_side_frames()
    entries = []
    for item in ordered:
        timed = dict(item, msgTime=int(_SENTINEL), ctime=int(_SENTINEL), utime=int(_SENTINEL))
        parts = dumps(timed).split(_SENTINEL)
        if len(parts) == 4:
            entries.append((parts, item["uid"], uid_hash(item["uid"]), item))
    return Pool(entries)


class FloodLine:
    """The flood state of one live broadcast: its pool, clock and truth (``Tally``)."""

    RECENT = 50

    def __init__(self, pool: Pool, tally: Tally, rng: random.Random):
        self.pool, self.tally = pool, tally
        self.i = rng.randrange(len(pool))  # where in the pool this broadcast starts
        self.t = 0          # msgTime of the last line
        self.same = 0       # lines at msgTime t so far
        self.seq = 0        # lines generated
        self.sent = bytearray(1)  # sent[seq] = 1 once the line reached a socket (seq from 1)
        self.recent: deque[tuple[int, int, int]] = deque(maxlen=self.RECENT)  # (seq, pool index, t)
        self.sizes = [rng.choice(FRAME_SIZES) for _ in range(997)]
        self.k = 0

    def frames(self, n: int, start_ms: int, end_ms: int, cid: str, tid: str) -> list[tuple[str, tuple]]:
        """``n`` new lines spread over [start_ms, end_ms), as (wire text, span) frames; the
        span is what ``record`` needs once the frame was sent."""
        if n <= 0:
            return []
        pool, size = self.pool, len(self.pool)
        parts, hashes, cmds = pool.parts, pool.hashes, pool.cmds
        span_ms = max(1, end_ms - start_ms)
        out, texts, hs, ts, cmd = [], [], [], [], None
        want = self.sizes[self.k % 997]
        for j in range(n):
            idx = self.i % size
            self.i += 1
            if idx == 0:
                self.same = WINDOW  # lines never share a millisecond across the pool's wrap
            t = start_ms + j * span_ms // n
            if t > self.t:
                self.t, self.same = t, 1
            elif self.same >= WINDOW:
                self.t, self.same = self.t + 1, 1
            else:
                self.same += 1
            t = self.t
            c = cmds[idx]
            if texts and (c != cmd or len(texts) >= want):
                out.append(self._frame(texts, hs, ts, cmd, cid, tid))
                texts, hs, ts = [], [], []
                self.k += 1
                want = self.sizes[self.k % 997]
            cmd = c
            self.seq += 1
            texts.append(str(t).join(parts[idx]))
            hs.append(hashes[idx])
            ts.append(t)
            self.recent.append((self.seq, idx, t))
        out.append(self._frame(texts, hs, ts, cmd, cid, tid))
        self.k += 1
        self.sent.extend(bytes(n))
        return out

    def _frame(self, texts, hs, ts, cmd, cid, tid) -> tuple[str, tuple]:
        head = '{"svcid":"game","ver":"1","bdy":['
        tail = f'],"cmd":{cmd},"tid":{dumps(tid) if cmd == 93101 else "null"},"cid":"{cid}"}}'
        return head + ",".join(texts) + tail, (self.seq - len(texts) + 1, hs, ts)

    def record(self, span: tuple) -> None:
        """A frame with these lines was sent: count the lines sent for the first time."""
        lo, hs, ts = span
        hi = lo + len(hs)
        seen = self.sent[lo:hi]
        fresh = seen.count(0)
        if not fresh:
            return
        tally = self.tally
        if fresh == len(hs):
            tally.lines += fresh
            tally.sum_h += sum(hs)
            tally.sum_t += sum(ts)
        else:
            for k in range(len(hs)):
                if not seen[k]:
                    tally.lines += 1
                    tally.sum_h += hs[k]
                    tally.sum_t += ts[k]
        self.sent[lo:hi] = b"\x01" * len(hs)

    def replay(self, want: int) -> tuple[list[dict], list[tuple]]:
        """The last ``want`` lines under the 15101 key names, and their spans for ``record``."""
        lines = list(self.recent)[-want:] if want else []
        items, spans = [], []
        for seq, idx, t in lines:
            items.append(to_recent(dict(self.pool.items[idx], msgTime=t, ctime=t, utime=t)))
            spans.append((seq, [self.pool.hashes[idx]], [t]))
        return items, spans


def flood_channels(flood: int, quiet: int, seed: int) -> tuple[list[SimChannel], list[Pool]]:
    """``flood`` channels of their own and ``quiet`` channels borrowing the people of a few
    template channels (same lines, their own ids), with a pool each."""
    own = make_channels(flood + min(TEMPLATES, quiet), seed)
    channels, pools = own[:flood], [build_pool(c, seed, POOL_FLOOD) for c in own[:flood]]
    templates = [(c, build_pool(c, seed, POOL_QUIET * 4)) for c in own[flood:]]
    rng = random.Random(f"{seed}:quiet")
    taken = {c.chat_channel_id for c in own}
    for i in range(quiet):
        tpl, tpl_pool = templates[i % len(templates)]
        clone = dataclasses.replace(tpl, channel_id=hex32(rng), channel_name=f"{tpl.channel_name} {i + 1}",
                                    chat_channel_id=chat_channel_id(rng, taken))
        start = rng.randrange(len(tpl_pool))
        pool = tpl_pool.renamed((tpl.channel_id, tpl.chat_channel_id), (clone.channel_id, clone.chat_channel_id))
        for attr in ("parts", "hashes", "cmds", "items"):  # each quiet channel starts elsewhere in the pool
            values = getattr(pool, attr)
            setattr(pool, attr, (values[start:] + values[:start])[:POOL_QUIET])
        channels.append(clone)
        pools.append(pool)
    return channels, pools
