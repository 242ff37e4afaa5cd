"""The local spool: every record the chat clients hand over is appended to a file on disk
before it counts as received, so a crash, a ``kill -9`` or a PostgreSQL outage loses
nothing. Flushes drain the spool into PostgreSQL; only stored records leave the disk.

Layout: ``SPOOL_DIR/<time_ns>-<pid>-<seq>.jsonl`` segment files, one entry per newline-
terminated line, named so that sorting by name is the order they were written. An entry is
either a record (a JSON object, ``{...}``) or a chat push kept exactly as received
(``collector.wire.Frame``): ``F<items>``, channel id, chat channel id and the frame bytes,
tab-separated, or ``E`` + a JSON array ``[items, channel id, chat channel id, frame text]``
when a field holds a tab or a newline. Frames are parsed when they are drained
(``expand``), so the receiving thread only writes; ``records`` counts chat lines (a frame's
``items``).

- The writer appends to its *current* segment with ``os.write`` (the bytes are in the
  kernel before ``append`` returns, so the death of the process loses nothing) and a
  background thread fsyncs every segment written to at least every FSYNC_SECONDS (so an
  OS crash or power cut loses at most the records of that window).
- A flush *seals* the current segment (the next append starts a new one) and stores the
  sealed segments in order, STORE_BATCH records per ``store`` call; a segment is deleted
  only after all its records were stored. A failed store leaves it on disk for the next
  flush, which resumes at the first record not yet stored.
- Every segment is held under an exclusive ``flock`` by its writer until it is deleted or
  the writer ends. On ``open``, segments whose lock can be taken (their writer is dead) are
  adopted and replayed first; live segments of other collectors on the host are left alone.
  Replaying a segment twice is harmless: the sink's dedupe keys absorb it.
- A torn last line (a crash mid-write) and any other unreadable line are skipped with a
  warning naming the file and byte offset; never fatal.
- Chat and its raw frames are the owner's only: the folder is 0700 (a looser one from
  before is set so at ``open``, with a warning) and segments are created 0600.
- ``oldest_age`` is the age of the oldest segment still holding unstored records (its first
  append, or its name's time for a segment adopted from a stopped collector): an upper
  bound of the oldest unstored record's age, tight because every flush seals a segment.

Sizing for a flood, measured (bench/flood_bench.py and a spool micro-benchmark on the
2-core machine shared with PostgreSQL, the simulator and other work; a 15,000 lines/s
channel in frames of 1-6 lines, 3.4 KB per frame, ~1.04 KB per line on disk):
- a frame line costs one ``os.write``: ~12 µs of CPU per frame, ~3.7 µs per line (spooling
  the parsed records cost ~20 µs per line with orjson, ~45 µs with json, besides the parse
  done in the receiving thread); reading it back costs ~1 µs per line before the parse;
- FSYNC_SECONDS = 1.0: one fsync of a second of that flood (15.6 MB) takes ~24 ms in the
  background thread, outside the GIL and the append lock (2.4 % of a thread; every 0.2 s it
  took ~8 ms each, 40 ms per second); a power cut loses at most that second;
- every flush seals the current segment, so in a flood a segment holds one drain's worth
  (10-60 MB at 1-4 s per drain); at SEGMENT_MAX_BYTES = 64 MiB (~4 s of the flood) it
  rotates, which bounds them while PostgreSQL is away too (no flush seals then:
  ``Buffer.flush``'s ready check), so a drain frees the disk segment by segment;
- STORE_BATCH = 5000 records per ``store``; the drain parses the next batch while one is
  stored, so memory holds at most 3 batches (~100 MB of parsed records). Peak RSS of the
  collector: 180-350 MB in a 15,000 lines/s flood beside 20 quiet channels, 434 MB beside
  500 (their threads and sockets), flat while a 3.3M-record backlog built up and drained.
"""
from __future__ import annotations

import fcntl
import logging
import os
import queue
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from collector.spool_lines import count_records, decode, encode, encode_frame, read_lines, read_segment
from collector.wire import Frame, records_of

__all__ = ["Spool", "Segment", "count_records", "decode", "encode", "encode_frame", "read_segment"]

log = logging.getLogger(__name__)

FSYNC_SECONDS = 1.0                  # max age of appended bytes not yet fsynced
STORE_BATCH = 5000                   # records per store call (bounds RAM during a drain)
SEGMENT_MAX_BYTES = 64 * 1024 * 1024  # a long outage rotates segments at this size
SUFFIX = ".jsonl"
NEW_SUFFIX = ".jsonl.new"            # a segment being created (locked, then renamed)
STALE_NEW_SECONDS = 60.0             # a .new file this old was left by a writer that died creating it
DIR_MODE, FILE_MODE = 0o700, 0o600   # owner only
CPU_SAMPLE = 16                      # one append_frame in this many is timed for the stage CPU metric


@dataclass
class Segment:
    """One spool file we hold locked: ``records``/``size`` written, ``stored``/``done``
    (records / byte offset) already stored by this process."""
    path: Path
    fd: int
    records: int = 0
    size: int = 0
    stored: int = 0
    done: int = 0
    dirty: bool = False
    first_at: float | None = None  # time.time() of its first append (adopted: its name's time)


def try_lock(fd: int) -> bool:
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return False
    return True


class Spool:
    """The segment files of one collector process in ``directory`` (thread-safe)."""

    def __init__(self, directory: str | os.PathLike):
        self.directory = Path(directory)
        self._lock = threading.Lock()
        self._current: Segment | None = None
        self._sealed: list[Segment] = []  # oldest first: adopted, then ours
        self._released: list[Segment] = []  # left on disk by close (still counted)
        self._seq = 0
        self._opened = False
        self._closing = threading.Event()
        self._syncer: threading.Thread | None = None
        # thread CPU seconds per stage (time.thread_time splits), for the metrics and the bench
        self.cpu = {"spool_append": 0.0, "spool_read": 0.0, "parse": 0.0, "store": 0.0}
        self.last_store_at: float | None = None  # time.time() of the last successful store
        self._appends = 0  # append_frame calls (from every client thread: a sampling count, races harmless)

    # ------------------------------------------------------------ lifecycle
    def open(self) -> int:
        """Create the directory, adopt the segments of dead writers (to be stored by the
        next ``drain``) and start the fsync thread; returns the records adopted."""
        with self._lock:
            if self._opened:
                return 0
            self._opened = True
            self._released = []
            self._private_directory()
            adopted, live = self._adopt()
            self._closing.clear()
            self._syncer = threading.Thread(target=self._sync_loop, name="spool-fsync", daemon=True)
            self._syncer.start()
        records = sum(s.records for s in adopted)
        if adopted or live:
            log.info("spool %s: %d segment(s) with %d records left by a stopped collector, replayed first; "
                     "%d live segment(s) of running collectors left alone",
                     self.directory, len(adopted), records, live)
        return records

    def _private_directory(self) -> None:
        self.directory.mkdir(mode=DIR_MODE, parents=True, exist_ok=True)
        had = self.directory.stat().st_mode & 0o777
        if had != DIR_MODE:
            try:
                os.chmod(self.directory, DIR_MODE)
                log.warning("spool %s: mode %04o set to %04o (owner only)", self.directory, had, DIR_MODE)
            except OSError as exc:
                log.warning("spool %s: mode %04o left as it is (%s)", self.directory, had, exc.strerror)

    def _adopt(self) -> tuple[list[Segment], int]:
        adopted, live = [], 0
        for path in sorted(self.directory.glob("*" + NEW_SUFFIX)):  # creations cut short long ago
            try:
                if time.time() - path.stat().st_mtime > STALE_NEW_SECONDS:
                    path.unlink()  # empty: a segment gets data only under its real name
            except FileNotFoundError:
                pass
        for path in sorted(self.directory.glob("*" + SUFFIX)):
            try:
                fd = os.open(path, os.O_RDONLY)
            except FileNotFoundError:  # stored and deleted by its writer meanwhile
                continue
            try:
                same = try_lock(fd) and os.fstat(fd).st_ino == os.stat(path).st_ino
            except FileNotFoundError:
                same = False
            if not same:  # locked by a live writer, or deleted between open and lock
                live += os.path.exists(path)
                os.close(fd)
                continue
            seg = Segment(path, fd, records=count_records(path), size=os.fstat(fd).st_size,
                          first_at=_name_time(path))
            adopted.append(seg)
        self._sealed[:0] = adopted
        return adopted, live

    def close(self) -> None:
        """fsync and release every segment (their records stay on disk for the next start);
        an empty current segment is deleted."""
        self._closing.set()
        if self._syncer is not None:
            self._syncer.join()
            self._syncer = None
        self.sync()
        with self._lock:
            cur, self._current = self._current, None
            if cur is not None and cur.records == 0:
                cur.path.unlink(missing_ok=True)
            kept = self._sealed + ([cur] if cur and cur.records else [])
            for seg in ([cur] if cur else []) + self._sealed:
                os.close(seg.fd)
            self._sealed, self._released = [], kept
            self._opened = False

    # ------------------------------------------------------------ writing
    def append(self, records: list[dict]) -> int:
        """Append records to the current segment; when this returns they survive the death
        of the process (and, FSYNC_SECONDS later, of the machine)."""
        if not records:
            return 0
        t0 = time.thread_time()
        self._write(encode(records), len(records))
        self.cpu["spool_append"] += time.thread_time() - t0
        return len(records)

    def append_frame(self, frame: Frame) -> int:
        """Append a received frame as it is (parsed when drained); same guarantee as ``append``.
        One call in CPU_SAMPLE is timed and counted CPU_SAMPLE times (``time.thread_time``
        is a system call of 3.5-5 µs on this VM: two per frame cost ~2 µs a line)."""
        self._appends += 1
        if self._appends % CPU_SAMPLE:
            self._write(encode_frame(frame), frame.items)
            return frame.items
        t0 = time.thread_time()
        self._write(encode_frame(frame), frame.items)
        self.cpu["spool_append"] += CPU_SAMPLE * (time.thread_time() - t0)
        return frame.items

    def _write(self, data: bytes, count: int) -> None:
        if not self._opened:
            self.open()
        with self._lock:
            seg = self._current or self._new_segment()
            view = memoryview(data)
            try:
                while view:
                    view = view[os.write(seg.fd, view):]
            except OSError:
                os.ftruncate(seg.fd, seg.size)  # no half line for the next append to glue onto
                log.exception("spool %s: cannot append %d records", seg.path, count)
                raise
            if seg.first_at is None:
                seg.first_at = time.time()
            seg.records += count
            seg.size += len(data)
            seg.dirty = True
            if seg.size >= SEGMENT_MAX_BYTES:
                self._seal_locked()

    def _new_segment(self) -> Segment:
        self._seq += 1
        name = f"{time.time_ns():020d}-{os.getpid()}-{self._seq:06d}"
        tmp = self.directory / (name + NEW_SUFFIX)
        fd = os.open(tmp, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_EXCL, FILE_MODE)
        fcntl.flock(fd, fcntl.LOCK_EX)  # ours before anyone can see it under its real name
        path = tmp.with_name(name + SUFFIX)
        os.rename(tmp, path)
        dir_fd = os.open(self.directory, os.O_RDONLY)
        try:
            os.fsync(dir_fd)  # the new name survives a crash
        finally:
            os.close(dir_fd)
        self._current = Segment(path, fd)
        return self._current

    def _seal_locked(self) -> None:
        if self._current is not None and self._current.records:
            self._sealed.append(self._current)
            self._current = None

    def seal(self) -> None:
        """End the current segment; the next append starts a new one."""
        with self._lock:
            self._seal_locked()

    def sync(self) -> None:
        """fsync every segment written since the last sync."""
        with self._lock:
            segs = [s for s in ([self._current] if self._current else []) + self._sealed if s.dirty]
            fds = []
            for s in segs:
                fds.append(os.dup(s.fd))  # a dup stays valid even if the segment is closed meanwhile
                s.dirty = False
        for fd in fds:
            try:
                os.fsync(fd)
            except OSError:
                log.exception("spool %s: fsync failed", self.directory)
            finally:
                os.close(fd)

    def _sync_loop(self) -> None:
        while not self._closing.wait(FSYNC_SECONDS):
            self.sync()

    # ------------------------------------------------------------ draining
    def drain(self, store: Callable[[list[dict]], object], batch_size: int = STORE_BATCH,
              expand: Callable[[Frame], list[dict]] | None = records_of) -> tuple[int, object]:
        """Seal the current segment and store every sealed segment, oldest first, in
        batches of about ``batch_size`` records (frames turned into records by ``expand``);
        delete each segment once all its records are stored. Returns (records stored, what
        the last ``store`` returned; ``expand`` None: ``store`` gets the spool's lines undecoded
        (bytes), and records count as their lines say: collector.drain_worker decodes them in its
        child process).
        When ``store`` raises, the progress so far is kept and
        the exception propagates. The next batch is read and parsed in a thread of its own
        while one is stored (PostgreSQL's share of a store overlaps the parse)."""
        self.seal()
        with self._lock:
            segments = list(self._sealed)
        stored, result = 0, None
        for batch, count, finished, partial in _prefetched(_batches(segments, batch_size, expand, self.cpu)):
            if batch:
                t0 = time.thread_time()
                result = store(batch)
                self.cpu["store"] += time.thread_time() - t0
                self.last_store_at = time.time()
                stored += len(batch) if expand is not None else count
            for seg in finished:
                self._remove(seg)
            if partial is not None:
                seg, end, count = partial
                seg.done, seg.stored = end, seg.stored + count
        return stored, result

    def _remove(self, seg: Segment) -> None:
        seg.path.unlink(missing_ok=True)
        with self._lock:
            self._sealed.remove(seg)
            os.close(seg.fd)

    # ------------------------------------------------------------ size
    def _segments(self) -> list[Segment]:
        return self._released + self._sealed + ([self._current] if self._current else [])

    @property
    def records(self) -> int:
        """Records on disk not stored yet."""
        with self._lock:
            return sum(s.records - s.stored for s in self._segments())

    @property
    def size(self) -> int:
        """Bytes on disk not stored yet."""
        with self._lock:
            return sum(s.size - s.done for s in self._segments())

    @property
    def segments(self) -> int:
        with self._lock:
            return len(self._segments())

    def oldest_age(self, now: float | None = None) -> float | None:
        """Seconds since the first append to the oldest segment with unstored records
        (None when everything is stored): an upper bound of the backlog's age."""
        with self._lock:
            times = [s.first_at for s in self._segments() if s.records > s.stored and s.first_at is not None]
        return max(0.0, (now or time.time()) - min(times)) if times else None


def _name_time(path: Path) -> float | None:
    """The creation time in a segment's name (``<time_ns>-<pid>-<seq>``), or None."""
    try:
        return int(path.name.split("-", 1)[0]) / 1e9
    except ValueError:
        return None


_DONE = object()


def _prefetched(items: Iterator, depth: int = 1) -> Iterator:
    """``items`` produced by a thread of their own, at most ``depth`` ahead of the consumer
    (so memory holds depth + 2 batches); the producer's exception is raised here, and the
    producer stops when the consumer does (a failed store)."""
    q: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while True:
                    if stop.is_set():
                        return
                    try:
                        q.put((True, item), timeout=0.1)
                        break
                    except queue.Full:
                        pass
            q.put((False, _DONE))
        except BaseException as exc:  # noqa: BLE001 - handed to the consumer
            q.put((False, exc))

    thread = threading.Thread(target=produce, name="spool-read", daemon=True)
    thread.start()
    try:
        while True:
            ok, item = q.get()
            if ok:
                yield item
            elif item is _DONE:
                return
            else:
                raise item
    finally:
        stop.set()
        while thread.is_alive():  # a producer blocked on a full queue
            try:
                q.get_nowait()
            except queue.Empty:
                pass
            thread.join(0.05)


def _batches(segments: list[Segment], n: int, expand: Callable[[Frame], list[dict]] | None, cpu: dict):
    """Yield (batch, spool records it counts, segments finished before or with it,
    (segment, end offset, spool records of it in this batch) for a segment the batch ends
    inside, or None). A batch is the entries read until they count ``n`` records (a frame
    counts its items), then expanded in one pass (``expand`` None: the lines as read, not
    decoded): the thread's CPU clock is read twice a batch, not around every
    frame (``time.thread_time`` is a system call, 3.5-5 µs on this VM: read around each
    frame it cost more than reading the frame's spool line)."""
    entries: list = []
    finished: list[Segment] = []
    count = 0
    t_read = time.thread_time()
    for seg in segments:
        in_seg = 0
        for entry, end, k in _entries(seg, expand is None):
            entries.append(entry)
            in_seg += k
            count += k
            if count >= n:
                batch, t_read = _expand(entries, expand, cpu, t_read)
                yield batch, count, finished, (seg, end, in_seg)
                entries, finished, in_seg, count = [], [], 0, 0
                t_read = time.thread_time()
        finished.append(seg)
    batch, _ = _expand(entries, expand, cpu, t_read)
    if batch or finished:
        yield batch, count, finished, None


def _entries(seg: Segment, undecoded: bool) -> Iterator[tuple]:
    """(entry, end offset, records it counts) of a segment's lines not stored yet: the
    lines as bytes (``undecoded``) or their records and frames."""
    if undecoded:
        yield from read_lines(seg.path, seg.done)
        return
    for entry, end in read_segment(seg.path, seg.done):
        yield entry, end, entry.items if entry.__class__ is Frame else 1


def _expand(entries: list, expand: Callable[[Frame], list[dict]] | None, cpu: dict, t_read: float) -> tuple[list[dict], float]:
    """The records of the spool entries read since ``t_read`` (frames expanded), with the
    CPU split into spool_read (until now) and parse."""
    t0 = time.thread_time()
    cpu["spool_read"] += t0 - t_read
    if expand is None:  # stored as read (collector.drain_worker parses them)
        t1 = time.thread_time()
        return entries, t1
    batch: list[dict] = []
    for entry in entries:
        if entry.__class__ is Frame:
            batch.extend(expand(entry))
        else:
            batch.append(entry)
    t1 = time.thread_time()
    cpu["parse"] += t1 - t0
    return batch, t1
