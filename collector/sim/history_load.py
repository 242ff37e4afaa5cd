"""Write a generated history (collector.sim.history) into PostgreSQL with COPY, the rows
as the collector stores them since issue 17: ``raw`` and ``badges`` as zstd frames
(core/raw_codec.py: ``raw_z``/``badges_z``, ``zdict`` naming the dictionary) — the compact
form, not jsonb: it is what a database filled by today's collector holds (the sync reads
it that way) and it is also faster to write (10x fewer bytes through COPY).

The dictionary is raw_dictionary's newest when there is one, else one trained on a sample
of the history's own lines with each line's user id and nickname taken out (the policy of
collector/raw_dictionaries.py: no identity in a dictionary forget-user cannot rewrite) and
stored. Lines are
written in time order (ids rise with time, as a table grown day by day); with
``bulk=True`` the secondary indexes are dropped during the COPY and rebuilt after, then
VACUUM ANALYZE."""
from __future__ import annotations

import logging
import multiprocessing
import os
import signal
import time
from collections.abc import Iterator

import numpy as np

from collector import sink
from collector.chat_copy import Stream
from collector.sim import history_sessions
from collector.sim.history import History, Shape, lines
from collector.sim.history_rows import COLUMNS, Renderer, Texts, World
from core import raw_codec

log = logging.getLogger(__name__)
CHUNK_ROWS = 2_000           # rows built per COPY chunk (the server parses one while the next is built)
COMMIT_ROWS = 500_000        # rows per COPY statement / transaction
TRAIN_LINES = 5_000          # lines the dictionary is trained on when raw_dictionary has none
_SECONDARY = ("SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'stream_chat'"
              " AND indexname NOT IN (SELECT conname FROM pg_constraint)")


def prepare(shape: Shape, channels: list[tuple[str, str]] = ()) -> tuple[History, Renderer]:
    """The history of `shape` and the renderer of its rows; `channels` (channel id, name)
    name the first channels (the demo's: the simulator's live channels)."""
    t0 = time.monotonic()
    h = lines(shape)
    texts = Texts.make(shape.seed, max(1000, min(2_000_000, shape.rows // 4)))
    world = World.make(h)
    for i, (cid, name) in enumerate(channels[:shape.channels]):
        world.channel_ids[i], world.channel_names[i] = cid, name
    renderer = Renderer(h, world, texts)
    log.info("history: %d lines, %d chatters, %d broadcasts in %.1fs", len(h.time_ms), h.n_chatters,
             len(h.b_channel), time.monotonic() - t0)
    return h, renderer


def _dictionary(cur, renderer: Renderer) -> raw_codec.Dictionary:
    cur.execute("SELECT id, dict FROM raw_dictionary ORDER BY id DESC LIMIT 1")
    row = cur.fetchone()
    if row:
        return raw_codec.Dictionary(row[0], bytes(row[1]))
    n = len(renderer.h.time_ms)
    idx = np.linspace(0, n - 1, min(n, TRAIN_LINES)).astype(np.int64)
    heads, raws, _ = renderer.render(idx)
    samples = []
    for head, raw in zip(heads, raws, strict=True):
        data = raw.encode()
        for name in head.split("\t")[2:4]:  # COLUMNS: user_id, nickname
            if len(name) >= 2 and name != "\\N":
                data = data.replace(name.encode(), b"")
        samples.append(data)
    data = raw_codec.train(samples)
    cur.execute("INSERT INTO raw_dictionary (id, samples, sample_bytes, dict) VALUES (1, %s, %s, %s)",
                (len(samples), sum(map(len, samples)), data))
    return raw_codec.Dictionary(1, data)


def chunk_text(renderer: Renderer, start: int, stop: int, dictionary: raw_codec.Dictionary,
               badge_hex: dict[str, str]) -> bytes:
    """COPY text (NULL ``\\N``) of lines start..stop, COLUMNS order."""
    z = str(dictionary.id)
    heads, raws, badges = renderer.render(np.arange(start, stop))
    frames = raw_codec.compress_many([r.encode() for r in raws], dictionary)
    out = []
    for head, frame, badge in zip(heads, frames, badges, strict=True):
        if badge is None:
            bz = "\\N"
        else:
            bz = badge_hex.get(badge)
            if bz is None:
                bz = badge_hex[badge] = "\\\\x" + raw_codec.compress(badge, dictionary).hex()
                if len(badge_hex) > 200_000:
                    badge_hex.clear()
        out.append(f"{head}{bz}\t\\\\x{frame.hex()}\t{z}\n")
    return "".join(out).encode()


_WORKER: tuple = ()  # (renderer, dictionary, badge cache) in a forked worker


def _work(span: tuple[int, int]) -> bytes:
    renderer, dictionary, cache = _WORKER
    return chunk_text(renderer, span[0], span[1], dictionary, cache)


def copy_chunks(renderer: Renderer, lo: int, hi: int, dictionary: raw_codec.Dictionary,
                pool=None) -> Iterator[bytes]:
    """COPY text of lines lo..hi in chunks of CHUNK_ROWS, made by `pool`'s workers when given."""
    spans = [(s, min(hi, s + CHUNK_ROWS)) for s in range(lo, hi, CHUNK_ROWS)]
    if pool is None:
        cache: dict[str, str] = {}
        return (chunk_text(renderer, a, b, dictionary, cache) for a, b in spans)
    return pool.imap(_work, spans)


def _pool(renderer: Renderer, dictionary: raw_codec.Dictionary, workers: int):
    """Forked workers sharing the history (copy-on-write), or None for one process."""
    global _WORKER
    if workers <= 1 or "fork" not in multiprocessing.get_all_start_methods():
        return None
    _WORKER = (renderer, dictionary, {})
    # the pool ends its workers with SIGTERM: Python's default there (core.cli makes it
    # Ctrl-C's KeyboardInterrupt in the parent, which a fork would inherit)
    return multiprocessing.get_context("fork").Pool(workers, initializer=signal.signal,
                                                    initargs=(signal.SIGTERM, signal.SIG_DFL))


def load(conn, shape: Shape, *, bulk: bool = True, workers: int | None = None,
         channels: list[tuple[str, str]] = (), sessions: bool = False) -> dict:
    """Generate `shape`'s history and COPY it into stream_chat (channels upserted first),
    the rows' text built by `workers` forked processes (default: one a CPU); `channels`:
    see prepare; `sessions`: also its broadcasts' live-status timeline and follower days
    (collector.sim.history_sessions, for the demo). Returns counts and seconds."""
    t0 = time.monotonic()
    h, renderer = prepare(shape, channels)
    w = renderer.w
    with conn:
        fks = sink.upsert_channels(conn, [{"channel_id": cid, "channel_name": name, "follower_count": f}
                                          for cid, name, f in zip(w.channel_ids, w.channel_names, w.follower_counts,
                                                                  strict=True)])
    renderer.fks = [str(fks[cid]) for cid in w.channel_ids]
    gen_s = time.monotonic() - t0
    conn.autocommit = True
    with conn.cursor() as cur:
        dictionary = _dictionary(cur, renderer)
        indexes = []
        if bulk:
            cur.execute(_SECONDARY)
            indexes = cur.fetchall()
            for name, _ in indexes:
                cur.execute("DROP INDEX " + name)  # names read from pg_indexes, not input
        n = len(h.time_ms)
        sql = f"COPY stream_chat ({', '.join(COLUMNS)}) FROM STDIN"  # constants only
        pool = _pool(renderer, dictionary, (os.cpu_count() or 1) if workers is None else workers)
        try:
            for lo in range(0, n, COMMIT_ROWS):
                hi = min(n, lo + COMMIT_ROWS)
                cur.copy_expert(sql, Stream(copy_chunks(renderer, lo, hi, dictionary, pool)), size=8192)
                log.info("history: %d/%d lines written (%.0f lines/s)", hi, n, hi / (time.monotonic() - t0 - gen_s))
        finally:
            if pool is not None:
                pool.terminate()
        copy_s = time.monotonic() - t0 - gen_s
        for _, ddl in indexes:
            cur.execute(ddl)
        if bulk:
            cur.execute("VACUUM ANALYZE stream_chat")
            cur.execute("VACUUM ANALYZE stream_channel")
    conn.autocommit = False
    if sessions:
        history_sessions.load(conn, h, w, fks, shape.seed)
    info = {"rows": n, "channels": shape.channels, "chatters": h.n_chatters, "broadcasts": len(h.b_channel),
            "days": shape.days, "seed": shape.seed, "generate_seconds": round(gen_s, 1),
            "copy_seconds": round(copy_s, 1), "seconds": round(time.monotonic() - t0, 1)}
    log.info("history loaded: %s", info)
    return info
