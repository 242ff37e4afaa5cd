"""The zstd dictionaries compact chat rows are written with (core/raw_codec.py; table
``raw_dictionary``, migration 011), and the policy that trains them from THIS deployment's
own lines (docs/COLLECTOR_STORAGE.md):

- Until a dictionary exists, lines are compressed without one (~650 B a raw item instead
  of ~130) and the sink keeps a bounded sample of recent raw items (``SAMPLE_LINES``).
- Once it holds ``TRAIN_LINES`` lines, the store that got there trains a dictionary (after
  its commit, ~0.1-0.25 s, logged), inserts it and uses it from then on. Several collector
  processes may race: the new id is the current id + 1, inserted ``ON CONFLICT DO NOTHING``;
  the loser loads the winner's and uses it.
- Drift: when the last ``DRIFT_LINES`` lines compressed with the current dictionary shrink
  by less than its training lines did, by a factor ``DRIFT`` (e.g. 20 % of their size
  instead of 13 %), a new dictionary is trained from recent lines: a new id; old rows keep
  theirs. Dictionaries are never deleted (rows name them).
- Privacy: a dictionary holds strings frequent in its samples. Before training, each
  sample has its line's user id and nickname (and a gift receiver's) taken out, so no
  user's identity is copied into ``raw_dictionary``, which forget-user does not rewrite.
  Messages stay (the most repeated text of a chat: measured 130 B a raw item with them,
  ~190 without); a message that names someone can still leave words in a dictionary.

State is per database (the connection's dsn), in this process."""
from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field

from core import raw_codec

log = logging.getLogger(__name__)

TRAIN_LINES = 2_000     # lines sampled before a dictionary is trained (measured: 2,000-10,000 within 3 %)
SAMPLE_LINES = 5_000    # the sample kept (the most recent lines)
SAMPLE_EVERY = 8        # once a dictionary exists, one line in SAMPLE_EVERY is sampled (for a retrain)
DRIFT_LINES = 20_000    # lines the drift check averages over
DRIFT = 1.5             # retrain when those lines compress DRIFT times worse than the training lines
_NAMING = ("user_id", "nickname", "gift_receiver_id", "gift_receiver_nickname")


@dataclass
class _State:
    known: dict[int, raw_codec.Dictionary] = field(default_factory=dict)
    current: raw_codec.Dictionary | None = None
    ratio: float | None = None             # the current dictionary's compressed/raw on its samples
    samples: deque = field(default_factory=lambda: deque(maxlen=SAMPLE_LINES))
    window: deque = field(default_factory=deque)  # (lines, raw bytes, compressed bytes) per batch
    window_lines: int = 0
    loaded: bool = False


_states: dict[str, _State] = {}


def _newest(conn, state: _State) -> None:
    with conn.cursor() as cur:
        cur.execute("SELECT id, dict, trained_bytes::float8 / nullif(sample_bytes, 0) FROM raw_dictionary"
                    " ORDER BY id DESC LIMIT 1")
        row = cur.fetchone()
    state.loaded = True
    if row is not None and (state.current is None or row[0] != state.current.id):
        state.current = state.known.setdefault(row[0], raw_codec.Dictionary(row[0], bytes(row[1])))
        state.ratio = row[2]
        state.window.clear()
        state.window_lines = 0


def current(conn) -> raw_codec.Dictionary | None:
    """The dictionary new rows are written with (None: none yet). The first call per
    database reads the newest one, in the caller's transaction."""
    state = _states.setdefault(conn.dsn, _State())
    if not state.loaded:
        _newest(conn, state)
    return state.current


def observe(conn, dictionary: raw_codec.Dictionary | None, chats: list[dict], raw_texts: list,
            raw_sizes: tuple[int, int]) -> None:
    """After a committed store: sample its lines (raw JSON texts, parallel to `chats`) and
    count (raw bytes, compressed bytes) of those compressed with `dictionary`."""
    state = _states.setdefault(conn.dsn, _State())
    every = 1 if state.current is None else SAMPLE_EVERY
    for i in range(0, len(chats), every):
        text = raw_texts[i]
        if text is not None:
            state.samples.append((text, [chats[i].get(k) for k in _NAMING]))
    if dictionary is not None and dictionary is state.current and chats:
        state.window.append((len(chats), *raw_sizes))
        state.window_lines += len(chats)
        while state.window_lines - state.window[0][0] >= DRIFT_LINES:
            state.window_lines -= state.window.popleft()[0]


def _drifted(state: _State) -> float | None:
    if state.current is None or state.ratio is None or state.window_lines < DRIFT_LINES:
        return None
    raw = sum(w[1] for w in state.window)
    ratio = sum(w[2] for w in state.window) / raw if raw else 0.0
    return ratio if ratio > DRIFT * state.ratio else None


def _utf8(text: str | bytes) -> bytes:
    return text if isinstance(text, bytes) else text.encode("utf-8")


def _sanitized(data: bytes, names: list) -> bytes:
    for name in names:
        if isinstance(name, str) and len(name) >= 2:
            data = data.replace(name.encode("utf-8", "replace"), b"")
    return data


def due(conn) -> bool:
    """True when a (re)training is due for this database."""
    state = _states.get(conn.dsn)
    if state is None or len(state.samples) < min(TRAIN_LINES, SAMPLE_LINES):
        return False
    return state.current is None or _drifted(state) is not None


def train(conn) -> raw_codec.Dictionary | None:
    """Train a dictionary from the sample, insert it as the next id (its own transaction)
    and make it current; when another process inserted that id first, use theirs. Returns
    the dictionary now current. Logs counts, bytes before/after and seconds."""
    state = _states.setdefault(conn.dsn, _State())
    t0 = time.monotonic()
    drift = _drifted(state)
    reason = "first dictionary" if drift is None else (
        f"drift: recent lines compressed to {drift:.1%} of their size, dictionary {state.current.id}'s"
        f" samples to {state.ratio:.1%}")
    lines = [_utf8(text) for text, _ in state.samples]
    samples = [_sanitized(data, names) for data, (_, names) in zip(lines, state.samples, strict=True)]
    state.samples.clear()  # success or not, the next try waits for a new sample
    data = raw_codec.train(samples)
    dictionary = raw_codec.Dictionary(0, data)
    before = sum(map(len, lines))  # the lines as they are stored: what the drift check compares
    after = sum(map(len, raw_codec.compress_many(lines, dictionary)))
    new_id = (state.current.id if state.current else 0) + 1
    with conn, conn.cursor() as cur:
        cur.execute("""INSERT INTO raw_dictionary (id, samples, sample_bytes, trained_bytes, dict)
                       VALUES (%s, %s, %s, %s, %s) ON CONFLICT (id) DO NOTHING RETURNING id""",
                    (new_id, len(samples), before, after, data))
        won = cur.fetchone() is not None
        state.loaded = False
        _newest(conn, state)
    if won:
        log.info("trained raw dictionary %d (%s) from %d lines: %s -> %s bytes (%.1f%%) in %.2fs", new_id,
                 reason, len(samples), f"{before:,}", f"{after:,}", 100 * after / max(before, 1),
                 time.monotonic() - t0)
    else:
        log.info("raw dictionary %d was trained by another process first; using dictionary %s (ours discarded"
                 " after %.2fs)", new_id, state.current.id if state.current else None, time.monotonic() - t0)
    return state.current


def forget(conn) -> None:
    """Drop this process's state for the connection's database (tests; a re-created database)."""
    _states.pop(conn.dsn, None)
