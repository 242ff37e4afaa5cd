"""The chat client (I/O): one ``ChatClient`` per collected channel joins the chat websocket
of the chat channel it is told to follow, answers PINGs, keeps the socket alive,
reconnects with backoff, and hands every data record (chat, blind, event, dead letter) to
a callback, usually ``Buffer.add``. With ``add_frame`` (``Buffer.add_frame``), chat pushes
(93101/93102, nearly all the traffic) are handed over as received, unparsed
(``collector.wire``): they are parsed when the spool drains, so a flood costs this thread
only its socket reads and one file write per frame. Parsing is ``collector.protocol.parse_frame``'s job;
polling the live status is ``collector.lifecycle``'s, which calls ``follow(cid)`` /
``leave(reason)``.

The client holds a thread only while it follows a chat channel: an offline channel costs
no thread and no socket. Lifecycle of one followed chat channel: token → connect (kr-ssN)
→ CONNECT → CONNECTED (a capture interval opens) → REQUEST_RECENT_CHAT → read frames; every
end of the socket closes the interval with its reason ('socket closed', 'ping timeout',
'session ended 90102', 'new chat channel', 'broadcast closed', 'stopped', ...). Lost
sockets and refused joins (retCode ≠ 0, no token) reconnect after an exponential backoff
with jitter, on the next server of kr-ss1..9 and with a fresh token; 90102 waits at least
SESSION_ENDED_BACKOFF. Records are handed over only in the thread that read them, and count
as received once ``add`` returns (the spool has them on disk). Once a join's replay is
handed over, a replay that does not reach back to the newest line handed over before is
reported as a restart gap (``collector.gaps``). ``stop()`` closes gracefully: a close frame
is sent and data frames still in flight are read and kept until the server's close frame
(or CLOSE_GRACE seconds)."""
from __future__ import annotations

import logging
import os
import random
import select
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import websocket

from collector import protocol
from collector.api import USER_AGENT, Api, ApiError
from collector.gaps import replay_gap
from collector.wire import Frame, count_items, data_records, is_chat_push
from core import settings

log = logging.getLogger(__name__)

SERVER_COUNT = 9            # kr-ss1 .. kr-ss9 all serve every channel
RECV_TICK = 0.5             # seconds per socket wait while joining and closing
IDLE_TICK = 5.0             # seconds a followed socket waits for a frame: stop, leave and a new target ring
                            # its bell (``_ring``) at once, so the tick only paces the keep-alive checks
                            # (PING_AFTER, DEAD_AFTER); 500 quiet channels woke 1,000 times a second at 0.5
CONNECT_TIMEOUT = 10.0      # seconds to open the websocket
CONNECTED_TIMEOUT = 10.0    # seconds to wait for CONNECTED after CONNECT
PING_AFTER = 20.0           # seconds of silence before we send our own PING
DEAD_AFTER = 30.0           # seconds of silence after which the socket counts as dead
BACKOFF_FIRST = 1.0         # seconds before the first reconnect, doubled per failure
BACKOFF_MAX = 60.0
BACKOFF_JITTER = 0.25       # +/- fraction of the delay, so channels do not reconnect in step
SESSION_ENDED_BACKOFF = 30.0  # after 90102: do not hammer the server
HEALTHY_SESSION = 30.0      # a session lost after this long restarts the backoff at BACKOFF_FIRST
CLOSE_GRACE = 2.0           # seconds to drain in-flight frames after our close frame
RECENT_COUNT = 50
CPU_SAMPLE = 16             # one socket read in this many is timed (time.thread_time is a system call, 3.5-5 µs
                            # on this VM: two per frame cost ~2 µs a line) and counted this many times
NEWEST_KEPT = 4             # chat channels whose newest line is remembered (past broadcasts: not needed)

# outcomes of one chat session
STOPPED, CLOSED, SWITCH, LOST, FAILED, ENDED = "stopped", "closed", "switch", "lost", "failed", "ended"


@dataclass
class ClientStats:
    """Counters of one channel's client (written by its thread only)."""
    connects: int = 0       # sessions that reached CONNECTED
    reconnects: int = 0     # connects after the first
    failures: int = 0       # sessions that failed before or after CONNECTED
    frames: int = 0
    records: int = 0        # data records handed over (a push's lines counted from its text)
    cpu_receive: float = 0.0  # thread CPU seconds in socket reads (frame decoding included; sampled: CPU_SAMPLE)


class Captures:
    """Where capture intervals go (``collector.sessions.SessionStore`` in the collector);
    this default keeps nothing."""

    def capture_opened(self, channel_id: str, chat_channel_id: str, server: int | None = None) -> str:
        return ""

    def capture_closed(self, key: str, reason: str) -> None:
        pass

    def capture_gap(self, key: str, channel_id: str, chat_channel_id: str, gap_from: str | None,
                    gap_to: str) -> None:
        """A rejoin's replay did not reach back to the last line collected before (``gap_from``
        None: the first join of this process, the previous line is looked up when filling)."""


class ChatClient:
    """Collects one channel (32-hex ``channel_id``): follows the chat channel it is given."""

    def __init__(self, channel_id: str, api: Api, add: Callable[[list[dict]], None],
                 ws_url: str | None = None, rng: random.Random | None = None,
                 captures: Captures | None = None, add_frame: Callable[[Frame], None] | None = None):
        self.channel_id = channel_id
        self.api = api
        self.add = add
        self.add_frame = add_frame
        self.ws_url = ws_url or settings.get("CHZZK_CHAT_WS") or ""
        self.rng = rng or random.Random()
        self.server = self.rng.randint(1, SERVER_COUNT)
        self.captures = captures or Captures()
        self.stats = ClientStats()
        self.joined_at: dict[str, float] = {}   # chat channel id -> time.time() of its first CONNECTED
        self.newest: dict[str, str] = {}        # chat channel id -> chat_time of the newest line spooled
        self._last_push: dict[str, bytes] = {}  # chat channel id -> last push spooled unparsed (see newest_of)
        self._replay_due: tuple | None = None   # (capture key, newest line before the join, join time)
        self._target: str | None = None
        self._leave_reason = "broadcast closed"
        self._end_reason = ""
        self._lock = threading.Lock()
        self._wake = threading.Event()          # target changed or stop: cut a backoff short
        self._stop = threading.Event()
        self._bell: int | None = None           # write end of the pipe a reading socket also waits on
        self._thread: threading.Thread | None = None
        self._running = False                   # a thread is (about to be) in _run

    # ------------------------------------------------------------ lifecycle
    def follow(self, chat_channel_id: str) -> None:
        """Join ``chat_channel_id`` (leaving the current one), starting the thread if needed."""
        with self._lock:
            if self._stop.is_set() or self._target == chat_channel_id:
                return
            self._target = chat_channel_id
            self._wake.set()
            self._ring()
            if not self._running:
                self._running = True
                self._thread = threading.Thread(target=self._run, name=f"chat-{self.channel_id[:8]}", daemon=True)
                self._thread.start()

    def leave(self, reason: str) -> None:
        """Leave the chat channel (the capture interval closes with ``reason``); the thread ends."""
        with self._lock:
            if self._target is not None:
                self._leave_reason = reason
                self._target = None
                self._wake.set()
                self._ring()

    @property
    def following(self) -> str | None:
        return self._target

    def stop(self) -> None:
        """Ask the thread to close its session gracefully and end (see ``join``)."""
        self._stop.set()
        self._wake.set()
        with self._lock:
            self._ring()

    def _ring(self) -> None:
        """Wake a thread waiting on its socket (call under ``_lock``)."""
        if self._bell is not None:
            try:
                os.write(self._bell, b"!")
            except BlockingIOError:  # rung already, not read yet
                pass

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread; True when it has ended (or never ran)."""
        thread = self._thread
        if thread is None:
            return True
        thread.join(timeout)
        return not thread.is_alive()

    def _run(self) -> None:
        try:
            self._follow_loop()
        finally:
            with self._lock:
                self._running = False
                if self._target is not None and not self._stop.is_set():  # followed again meanwhile
                    self._running = True
                    self._thread = threading.Thread(target=self._run, name=self._thread.name, daemon=True)
                    self._thread.start()

    def _follow_loop(self) -> None:
        failures = 0
        while not self._stop.is_set():
            with self._lock:
                cid = self._target
                self._wake.clear()
                if cid is None:
                    return  # left: follow() starts a new thread
            started = time.monotonic()
            try:
                outcome = self._session(cid)
            except Exception:  # noqa: BLE001 - a bug or an odd HTTP failure must not end the channel
                log.exception("chat session of %s (chat channel %s) failed", self.channel_id, cid)
                outcome = FAILED
            if outcome in (FAILED, LOST, ENDED):
                self.stats.failures += 1
                healthy = outcome == LOST and time.monotonic() - started > HEALTHY_SESSION
                failures = 1 if healthy else failures + 1  # a flapping server backs off further
                self.server = self.server % SERVER_COUNT + 1  # move to another server
                delay = self._backoff(failures)
                if outcome == ENDED:
                    delay = max(delay, SESSION_ENDED_BACKOFF)
                self._wake.wait(delay)  # a new target or stop cuts it short
            else:
                failures = 0
        log.info("channel %s client stopped: %d connects, %d reconnects, %d frames, %d records",
                 self.channel_id, self.stats.connects, self.stats.reconnects, self.stats.frames,
                 self.stats.records)

    def _backoff(self, failures: int) -> float:
        delay = min(BACKOFF_MAX, BACKOFF_FIRST * 2 ** max(0, failures - 1))
        return delay * (1 + self.rng.uniform(-BACKOFF_JITTER, BACKOFF_JITTER))

    # ------------------------------------------------------------ one session
    def _session(self, cid: str) -> str:
        try:
            token = self.api.access_token(cid).access_token
        except (ApiError, protocol.ProtocolError) as exc:
            log.warning("no chat token for %s (chat channel %s): %s", self.channel_id, cid, exc)
            return FAILED
        url = self.ws_url.replace("{n}", str(self.server))
        try:
            # websocket-client checks UTF-8 in pure Python (~0.3 ms per 3 KB frame: 80 % of the
            # collector's CPU in a flood); the parser decodes in C and keeps a bad frame as a
            # dead letter instead (collector.wire)
            ws = websocket.create_connection(url, timeout=CONNECT_TIMEOUT, skip_utf8_validation=True,
                                             header=[f"User-Agent: {USER_AGENT}"])
            _read_ahead(ws)
        except (OSError, websocket.WebSocketException) as exc:
            log.warning("cannot open chat socket %s for %s: %s", url, self.channel_id, exc)
            return FAILED
        try:
            return self._converse(ws, cid, token)
        except (OSError, websocket.WebSocketException) as exc:
            log.warning("chat socket of %s (chat channel %s) lost: %s", self.channel_id, cid, exc)
            return LOST
        finally:
            try:
                ws.shutdown()
            except Exception:  # noqa: BLE001 - already closed
                pass

    def _converse(self, ws: websocket.WebSocket, cid: str, token: str) -> str:
        ws.settimeout(RECV_TICK)
        ws.send(protocol.connect_frame(cid, token))
        deadline = time.monotonic() + CONNECTED_TIMEOUT
        connected = None
        while connected is None:
            if self._stop.is_set():
                return STOPPED
            if time.monotonic() > deadline:
                log.warning("no CONNECTED from chat channel %s within %.0fs", cid, CONNECTED_TIMEOUT)
                return FAILED
            text = self._recv_text(ws)
            if text is None:
                continue
            for rec in self._handle(ws, text, cid):
                if rec.get("kind") == "control" and rec.get("cmd") == protocol.CONNECTED:
                    connected = rec
        if connected.get("ret_code") not in (0, None):
            log.warning("chat channel %s refused the join: retCode %s %s", cid,
                        connected.get("ret_code"), connected.get("ret_msg"))
            return FAILED
        self.stats.connects += 1
        if self.stats.connects > 1:
            self.stats.reconnects += 1
        log.info("joined chat of %s (chat channel %s, server %d, connect #%d)",
                 self.channel_id, cid, self.server, self.stats.connects)
        self.joined_at.setdefault(cid, time.time())
        key = self.captures.capture_opened(self.channel_id, cid, self.server)
        self._replay_due = (key, self.newest_of(cid), protocol.ms_to_iso(int(time.time() * 1000)))
        self._end_reason = "socket error"  # unless _read says otherwise
        try:
            ws.send(protocol.recent_chat_frame(cid, connected.get("sid") or "", count=RECENT_COUNT))
            return self._read(ws, cid)
        finally:
            self.captures.capture_closed(key, self._end_reason)

    def _read(self, ws: websocket.WebSocket, cid: str) -> str:
        """Read until the socket ends or we leave; sets ``_end_reason`` for the capture interval."""
        bell, ring = os.pipe()
        os.set_blocking(bell, False)
        os.set_blocking(ring, False)
        with self._lock:
            self._bell = ring
        try:
            return self._read_frames(ws, cid, bell)
        finally:
            with self._lock:
                self._bell = None
            os.close(bell)
            os.close(ring)

    def _read_frames(self, ws: websocket.WebSocket, cid: str, bell: int) -> str:
        last_rx = time.monotonic()
        pinged = False
        readable = select.poll()
        readable.register(ws.sock, select.POLLIN)
        readable.register(bell, select.POLLIN)
        wait_ms = int(IDLE_TICK * 1000)
        while True:
            if self._stop.is_set():
                self._end_reason = "stopped"
                self._close_gracefully(ws, cid)
                return STOPPED
            target = self._target
            if target != cid:
                if target is None:
                    self._end_reason = self._leave_reason
                    log.info("channel %s: leaving chat channel %s (%s)", self.channel_id, cid, self._end_reason)
                else:
                    self._end_reason = "new chat channel"
                    log.info("channel %s switched chat channel %s -> %s", self.channel_id, cid, target)
                self._close_gracefully(ws, cid)
                return CLOSED if target is None else SWITCH
            idle = False
            if not _buffered(ws):
                ready = readable.poll(wait_ms)
                if not ready or ready[-1][0] == bell or ready[0][0] == bell:  # a tick, or the bell rang
                    idle = all(fd == bell for fd, _ in ready)
                    if ready:
                        _drain(bell)
            timed = not idle and self.stats.frames % CPU_SAMPLE == 0  # one frame in CPU_SAMPLE: see the constant
            t0 = time.thread_time() if timed else 0.0
            data = None if idle else _whole_text(ws)  # a text frame read whole already: no websocket-client
            try:  # a quiet socket's tick skips websocket-client's timeout exception (26-64 µs a tick)
                opcode, frame = (None, None) if idle or data is not None else ws.recv_data_frame(True)
            except websocket.WebSocketTimeoutException:
                idle = True
            if idle:
                silent = time.monotonic() - last_rx
                if silent > DEAD_AFTER:
                    log.warning("chat socket of %s silent for %.0fs; reconnecting", self.channel_id, silent)
                    self._end_reason = "ping timeout"
                    return LOST
                if silent > PING_AFTER and not pinged:
                    ws.send(protocol.ping_frame())
                    pinged = True
                continue
            last_rx, pinged = time.monotonic(), False
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                log.warning("chat server closed the socket of %s (chat channel %s)", self.channel_id, cid)
                self._end_reason = "socket closed"
                return LOST
            if timed:
                self.stats.cpu_receive += CPU_SAMPLE * (time.thread_time() - t0)
            if data is None:
                if opcode != websocket.ABNF.OPCODE_TEXT:
                    continue
                data = frame.data
            if self.add_frame is not None and is_chat_push(data):
                self._spool_push(data, cid)
                continue
            for rec in self._handle(ws, _text(data), cid):
                if rec.get("cmd") == protocol.SESSION_ENDED:
                    log.warning("chat server ended the session of %s (90102); rejoining in %.0fs or more",
                                self.channel_id, SESSION_ENDED_BACKOFF)
                    self._end_reason = "session ended 90102"
                    return ENDED

    def _recv_text(self, ws: websocket.WebSocket) -> str | None:
        """One text frame, or None on a tick without one; raises when the socket ends."""
        try:
            opcode, frame = ws.recv_data_frame(True)
        except websocket.WebSocketTimeoutException:
            return None
        if opcode == websocket.ABNF.OPCODE_CLOSE:
            raise websocket.WebSocketConnectionClosedException("server sent a close frame")
        return _text(frame.data) if opcode == websocket.ABNF.OPCODE_TEXT else None

    def _close_gracefully(self, ws: websocket.WebSocket, cid: str) -> None:
        """Send our close frame, then keep reading (and keeping) data frames until the
        server's close frame arrives or CLOSE_GRACE passes."""
        try:
            ws.send_close(reason=b"collector stopping")
        except (OSError, websocket.WebSocketException):
            return
        deadline = time.monotonic() + CLOSE_GRACE
        kept = 0
        while time.monotonic() < deadline:
            try:
                opcode, frame = ws.recv_data_frame(True)
            except websocket.WebSocketTimeoutException:
                continue
            except (OSError, websocket.WebSocketException):
                break
            if opcode == websocket.ABNF.OPCODE_CLOSE:
                break
            if opcode == websocket.ABNF.OPCODE_TEXT:
                kept += len(self._handle(ws, _text(frame.data), cid, answer=False))
        log.info("closed chat socket of %s (chat channel %s); %d records read while closing",
                 self.channel_id, cid, kept)

    # ------------------------------------------------------------ frames
    def _spool_push(self, data: bytes, cid: str) -> None:
        """Hand a chat push over unparsed; it counts as received once ``add_frame`` returns."""
        self.stats.frames += 1
        frame = Frame(self.channel_id, cid, bytes(data), count_items(data))
        self.add_frame(frame)
        self.stats.records += frame.items
        if cid not in self._last_push and len(self._last_push) >= NEWEST_KEPT:
            self._last_push.pop(next(iter(self._last_push)))
        self._last_push[cid] = frame.data

    def newest_of(self, cid: str) -> str | None:
        """chat_time of the newest line spooled from ``cid`` (a push spooled unparsed is
        parsed here, when a rejoin needs it, not for every frame)."""
        data = self._last_push.pop(cid, None)
        if data is not None:
            self._note_newest(cid, [r["chat_time"] for r in protocol.parse_frame(data)
                                    if r.get("kind") == "chat" and r.get("chat_time")])
        return self.newest.get(cid)

    def _note_newest(self, cid: str, times: list[str]) -> None:
        if times:
            if cid not in self.newest and len(self.newest) >= NEWEST_KEPT:  # past broadcasts: not needed any more
                self.newest.pop(next(iter(self.newest)))
            self.newest[cid] = max(max(times), self.newest.get(cid, ""))

    def _handle(self, ws: websocket.WebSocket, text: str, cid: str, answer: bool = True) -> list[dict]:
        """Parse one frame, answer PING, buffer the data records; returns all records."""
        self.stats.frames += 1
        records = protocol.parse_frame(text)
        if answer and any(r.get("kind") == "control" and r.get("cmd") == protocol.PING for r in records):
            ws.send(protocol.pong_frame())
        data = data_records(records, self.channel_id, f"chat:{cid}")
        if data:
            self.add(data)  # on disk (the spool) when it returns: only then counted as received
            self.stats.records += len(data)
        times = [r["chat_time"] for r in data if r.get("kind") == "chat" and r.get("chat_time")]
        if self._replay_due is not None and any(r.get("name") == "RECENT_CHAT" for r in records):
            self._check_replay(cid, times)
        if times:
            self.newest_of(cid)  # a push spooled unparsed before this frame
            self._note_newest(cid, times)
        return records

    def _check_replay(self, cid: str, times: list[str]) -> None:
        """The join's 15101 replay has been spooled: report a gap when it does not reach back
        to the newest line spooled before the join (``collector.gaps.replay_gap``)."""
        key, known, joined = self._replay_due
        self._replay_due = None
        gap = replay_gap(known, min(times, default=None), len(times), joined, RECENT_COUNT)
        if gap is None:
            return
        if gap[0] is not None:
            log.warning("channel %s (chat channel %s): the rejoin's replay of %d lines does not reach back to the "
                        "last line collected before (%s): lines up to %s are missing; recorded, to be filled from "
                        "the replay (VOD) after the broadcast", self.channel_id, cid, len(times), gap[0], gap[1])
        self.captures.capture_gap(key, self.channel_id, cid, *gap)  # first join: only after an earlier capture


READ_AHEAD = 65536  # bytes asked of the socket at once


class _ReadAhead:
    """websocket-client asks the socket for each frame's header, length and payload in
    turn (3 system calls per frame); this hands it those bytes from one large read instead
    (receive CPU ~16 -> ~9 µs per 3 KB frame in a flood). Same errors as the socket's
    ``recv`` (timeout, closed), raised only when nothing is buffered."""

    def __init__(self, recv: Callable[[int], bytes]):
        self.recv, self.buf, self.pos = recv, b"", 0

    def whole_text(self) -> bytes | None:
        """The payload of the next frame when it is a complete, final, unmasked text frame
        (no reserved bits) inside the bytes read already, consumed; else None (nothing
        consumed: websocket-client reads it, and every other kind of frame)."""
        buf, pos = self.buf, self.pos
        if len(buf) - pos < 2 or buf[pos] != 0x81:  # FIN, opcode 1 (text), RSV 0
            return None
        n = buf[pos + 1]  # mask bit (a server never masks) and length
        if n < 126:
            start = pos + 2
        elif n == 126:
            start = pos + 4
            n = int.from_bytes(buf[pos + 2:start], "big")
        elif n == 127:
            start = pos + 10
            n = int.from_bytes(buf[pos + 2:start], "big")
        else:
            return None
        end = start + n
        if end > len(buf):
            return None
        self.pos = end
        return buf[start:end]

    def __call__(self, n: int) -> bytes:
        if self.pos >= len(self.buf):
            self.buf, self.pos = self.recv(READ_AHEAD), 0
        out = self.buf[self.pos:self.pos + n]
        self.pos += len(out)
        return out


def _whole_text(ws: websocket.WebSocket) -> bytes | None:
    """``_ReadAhead.whole_text`` when websocket-client holds no part of a frame (between
    frames, no fragmented message open), else None. A flood's 3 KB frame: ~1 µs instead of
    websocket-client's ~5 (header, length and mask steps, a lock, an ABNF object, its checks)."""
    frames = getattr(ws, "frame_buffer", None)
    ahead = getattr(frames, "recv", None)
    if (ahead.__class__ is not _ReadAhead or frames.header is not None or frames.recv_buffer
            or getattr(ws.cont_frame, "recving_frames", True) is not None):
        return None
    return ahead.whole_text()


def _buffered(ws: websocket.WebSocket) -> bool:
    """Bytes read from the socket and not parsed yet (ours, websocket-client's, or TLS's
    decrypted ones): then a frame may be ready though the socket has nothing to read."""
    frames = getattr(ws, "frame_buffer", None)
    ahead = getattr(frames, "recv", None)
    if frames is None or frames.recv_buffer or (isinstance(ahead, _ReadAhead) and ahead.pos < len(ahead.buf)):
        return True
    pending = getattr(ws.sock, "pending", None)  # ssl.SSLSocket
    return bool(pending and pending())


def _read_ahead(ws: websocket.WebSocket) -> None:
    frames = getattr(ws, "frame_buffer", None)
    if frames is not None and callable(getattr(frames, "recv", None)):  # websocket-client >= 1.0
        frames.recv = _ReadAhead(frames.recv)


def _drain(fd: int) -> None:
    try:
        while os.read(fd, 64):
            pass
    except BlockingIOError:
        pass


def _text(data) -> str:
    return data.decode("utf-8", "replace") if isinstance(data, bytes | bytearray) else data
