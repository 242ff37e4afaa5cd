"""The simulator's I/O shell: one ``websockets`` server on one port answers the CHZZK HTTP
endpoints (through ``process_request``) and the chat websocket (any other path, e.g.
``/chat?ss=3``). Every channel is a live broadcast producing chat at ``rate`` lines/s on its
own clock, listened to or not; the last 50 lines are replayed on 5101.

HTTP answers (collector/sim/answers.py) are those CHZZK gives a reader that is not logged
in; a request with a body (chzzkpy's access-token GET) is read through
collector/sim/front.py, so the one port answers it. A READ join needs a known chat channel
id; its token is not checked (CHZZK accepts a token it did not issue, or ``accTkn: null``).

Choices where CHZZK's behaviour is unknown or irrelevant: an unknown channel's live-status
answers code 200 with ``content: null``; forced drops close with 1001 (a graceful close, so
that every frame already sent reaches the client before the close frame — an abort could
lose frames already recorded as sent).

Each chat socket has its own sender: a client that stops reading holds up only its own
chat (a frozen process must not silence the others); once BACKLOG_SECONDS of chat wait for
it, the server closes it with 1008 (``slow_closed`` counts them).

Truth file (``truth_path``): each chat item (live key names, exactly as sent), written the
first time a send containing it to an open socket succeeded (live push or 15101 replay),
flushed after every batch. Pinned notices and 93006/94008 frames are not chat items.

Broadcast lifecycle: ``restart_every`` ends every channel's broadcast (staggered) and
reopens it ``restart_pause`` seconds later with a NEW chatChannelId (``GET
/_sim/restart?channel=ID`` does it now for one channel); the last ``offline`` channels are
offline (CLOSE) and the ``adult`` channels before them are live with a null chatChannelId.

Flood mode (``flood_rate`` > 0, collector/sim/flood.py): ``flood_channels`` channels at
``flood_rate`` lines/s each come first, then ``channels`` quiet ones at ``rate``; lines come
from pre-rendered pools, and the truth is a count and an identity digest per chat channel
(``truth()``, ``GET /_sim/truth``, and the truth file written at stop) instead of every item."""
from __future__ import annotations

import asyncio
import json
import logging
import random
import signal
import threading
import time
import uuid
from collections import deque
from urllib.parse import parse_qs, urlsplit

from websockets.asyncio.server import ServerConnection, serve
from websockets.exceptions import ConnectionClosed
from websockets.protocol import State

from collector.sim import answers as A
from collector.sim.flood import FloodLine, Pool, Tally
from collector.sim.flood import flood_channels as flood_channels_of
from collector.sim.front import BodyTolerantConnection
from collector.sim.generator import ChatStream, SimChannel, make_channels, to_recent
from collector.sim.population import chat_channel_id, dumps
from collector.sim.vod import SimVideos

log = logging.getLogger("collector.sim")

PONG = '{"ver":"2","cmd":10000}'
PING = '{"ver":"2","cmd":0}'
RECENT_SIZE = 50
TICK_SECONDS = 0.1
# chat waiting for one socket that does not read (each socket has its own sender, so it
# holds up only its own chat); beyond this much, the socket is closed with 1008
BACKLOG_SECONDS = 60.0
_HTTP_PREFIXES = ("/polling/", "/service/", "/nng_main/", "/_sim/")
# flood mode writes a tick's frames to the socket at once; a reader this far behind is closed
FLOOD_BUFFER_BYTES = 256 * 1024 * 1024


class _Live:
    """Server-side state of one channel's current broadcast: ``status`` OPEN or CLOSE (an
    ended broadcast still accepts joins on its old chat channel, silently); ``adult``
    broadcasts show a null chatChannelId."""

    def __init__(self, channel: SimChannel, seed, open_ms: int, cid: str | None = None, rate: float = 0.0,
                 pool: Pool | None = None):
        self.channel = channel
        self.cid = cid or channel.chat_channel_id
        self.rate = rate
        self.flood: FloodLine | None = None
        if pool is not None:
            self.flood = FloodLine(pool, Tally(channel.channel_id, self.cid), random.Random(f"{seed}:{self.cid}"))
        self.stream = ChatStream(channel, seed, self.cid)
        self.open_ms = open_ms
        self.status = "OPEN"
        self.close_ms: int | None = None
        self.adult = False
        self.buffer: deque[tuple[int, dict]] = deque(maxlen=RECENT_SIZE)  # (seq, live item)
        self.seq = 0
        self.recorded: set[int] = set()
        self.conns: set[ServerConnection] = set()
        self.carry = 0.0
        self.generated = 0
        self.notice = None
        if channel.notice:
            author = channel.managers[0] if channel.managers else channel.streamer
            self.notice = {  # the keys of a recorded 15101 notice (no memberCount, status, updateTime)
                "serviceId": "game", "channelId": self.cid, "messageTime": open_ms - 60_000,
                "userId": author.user_id, "profile": author.profile, "content": channel.notice,
                "extras": author.chat_extras[:-1] + ',"registerProfile":' + author.profile + "}",
                "messageTypeCode": 1, "createTime": open_ms - 58_000}


def _frames(items: list[tuple[int, dict]], cid: str, now_ms: int, counter: int) -> list[tuple[str, list]]:
    """(wire text, its (seq, item) pairs) of 93101/93102 frames for consecutive runs of ``items``."""
    out, run, run_cmd = [], [], None
    for seq, item in items + [(None, None)]:
        cmd = None if item is None else (93101 if item["msgTypeCode"] == 1 else 93102)
        if run and cmd != run_cmd:
            tid = f"{counter % 10000}-{now_ms}-{len(out)}" if run_cmd == 93101 else None
            text = json.dumps({"svcid": "game", "ver": "1", "bdy": [i for _, i in run], "cmd": run_cmd,
                               "tid": tid, "cid": cid}, ensure_ascii=False, separators=(",", ":"))
            out.append((text, run))
            run = []
        if item is not None:
            run.append((seq, item))
            run_cmd = cmd
    return out


def _ws_text(payload: bytes) -> bytes:
    """One unmasked, final websocket text frame (RFC 6455 5.2), as a server sends it."""
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + payload
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + payload


class _Outbox:
    """The ticks of chat waiting for one socket, and the task that sends them. ``unsent``:
    bytes of chat text queued or being sent (``health()["unsentBytes"]`` counts them with
    the socket's write buffer, so 0 means every line recorded as sent is on its way)."""

    def __init__(self):
        self.queue: asyncio.Queue = asyncio.Queue()
        self.task: asyncio.Task | None = None
        self.unsent = 0


class SimServer:
    """A local CHZZK. ``start_in_thread(port)`` runs it on its own asyncio loop in a
    background thread (tests, demo); ``run(port, on_ready)`` runs it in the caller's thread
    until SIGINT/SIGTERM (CLI). ``env()`` gives the CHZZK_* settings pointing at it."""

    def __init__(self, channels: int | list[SimChannel] = 3, seed: int = 1, rate: float = 5.0,
                 truth_path: str | None = None, ping_seconds: float = 20.0, drop_every: float = 0.0,
                 host: str = "127.0.0.1", stats_seconds: float = 30.0, restart_every: float = 0.0,
                 restart_pause: float = 2.0, offline: int = 0, adult: int = 0, replays: bool = True,
                 replay_delay: float = 0.0, flood_rate: float = 0.0, flood_channels: int = 1):
        pools: list = []
        if flood_rate > 0:
            if not isinstance(channels, int):
                raise ValueError("flood mode makes its own channels: pass channels as a number")
            self.channels, pools = flood_channels_of(flood_channels, channels, seed)
        else:
            self.channels = make_channels(channels, seed) if isinstance(channels, int) else list(channels)
        self.seed, self.rate, self.host = seed, float(rate), host
        self.flood_rate, self.flood_channels = float(flood_rate), flood_channels if flood_rate > 0 else 0
        self.truth_path, self.ping_seconds, self.drop_every = truth_path, ping_seconds, drop_every
        self.stats_seconds = stats_seconds
        self.port: int | None = None
        now_ms = int(time.time() * 1000)
        self._lives = [_Live(c, seed, now_ms - (20 + 37 * i) * 60_000,
                             rate=self.flood_rate if i < self.flood_channels else self.rate,
                             pool=pools[i] if pools else None)
                       for i, c in enumerate(self.channels)]
        self._tallies = [lv.flood.tally for lv in self._lives if lv.flood]  # every broadcast's, restarts included
        self._by_channel = {lv.channel.channel_id: lv for lv in self._lives}
        self._by_cid = {lv.cid: lv for lv in self._lives}
        self.restart_every, self.restart_pause = restart_every, restart_pause
        self.restarts = 0
        n = len(self._lives)
        for i, lv in enumerate(self._lives):  # the last `offline` are offline, the `adult` before them adult
            if i >= n - offline:
                lv.status, lv.close_ms = "CLOSE", now_ms - 3_600_000
            elif i >= n - offline - adult:
                lv.adult = True
        # replay (VOD) chat, published replay_delay s after a broadcast ends: collector/sim/vod.py
        self.videos = SimVideos(self.channels, seed, replays=replays, replay_delay=replay_delay)
        self._conns: set[ServerConnection] = set()
        self._outboxes: dict[ServerConnection, _Outbox] = {}
        self.slow_closed = 0  # sockets closed for not reading (BACKLOG_SECONDS)
        self.joins = 0        # successful CONNECTs
        self.pongs = 0        # PONGs received from clients (answers to the server's PINGs)
        self.issued_tokens: list[str] = []  # every chat access token handed out (tests look for leaks)
        self._truth = None
        self.truth_count = 0
        self.frames_sent = 0
        self._tick = 0
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle ----------------------------------------------------------------------
    def env(self) -> dict[str, str]:
        base = f"http://{self.host}:{self.port}"
        return {"CHZZK_API_BASE": base, "CHZZK_COMM_API_BASE": base,
                "CHZZK_CHAT_WS": f"ws://{self.host}:{self.port}/chat?ss={{n}}",
                "CHZZK_CHANNELS": ",".join(c.channel_id for c in self.channels)}

    def start_in_thread(self, port: int = 0) -> tuple[str, int]:
        ready = threading.Event()
        errors: list[BaseException] = []

        def main():
            try:
                asyncio.run(self._main(port, ready.set))
            except BaseException as exc:  # surface start-up failures to the caller
                errors.append(exc)
                ready.set()

        self._thread = threading.Thread(target=main, name="chzzk-sim", daemon=True)
        self._thread.start()
        ready.wait(15)
        if errors or self.port is None:
            raise RuntimeError(f"simulator did not start on {self.host}:{port}: {errors[:1]}")
        return self.host, self.port

    def stop(self) -> None:
        if self._loop and self._stop and not self._loop.is_closed():
            self._loop.call_soon_threadsafe(self._stop.set)
        if self._thread:
            self._thread.join(15)

    def run(self, port: int, on_ready=None, stop_signals: bool = True) -> None:
        """Serve in this thread until SIGINT/SIGTERM."""
        asyncio.run(self._main(port, on_ready, stop_signals))

    async def _main(self, port: int, on_ready=None, stop_signals: bool = False) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        if stop_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._loop.add_signal_handler(sig, self._stop.set)
        if self.truth_path:
            self._truth = open(self.truth_path, "w", encoding="utf-8")  # closed in the finally below
        try:
            async with serve(self._handler, self.host, port, process_request=self._http,
                             create_connection=BodyTolerantConnection,
                             ping_interval=None, compression=None, close_timeout=2) as server:
                self.port = server.sockets[0].getsockname()[1]
                tasks = [asyncio.create_task(self._produce()), asyncio.create_task(self._stats())]
                if self.drop_every > 0:
                    tasks.append(asyncio.create_task(self._drop_loop()))
                if self.restart_every > 0:
                    tasks.append(asyncio.create_task(self._restart_loop()))
                log.info("simulator on %s:%s: %d channels, %.1f lines/s each", self.host, self.port,
                         len(self._lives), self.rate)
                if on_ready:
                    on_ready()
                await self._stop.wait()
                for t in tasks:
                    t.cancel()
                await asyncio.gather(*tasks, return_exceptions=True)
                await self._abort_stuck()
        finally:
            if self._truth:
                if self._tallies:
                    for tally in self.truth():
                        self._truth.write(json.dumps(tally) + "\n")
                self._truth.close()
            log.info("simulator stopped: %d frames sent, %d truth items", self.frames_sent,
                     self.truth_count + sum(t.lines for t in self._tallies))

    # -- chat production ----------------------------------------------------------------
    async def _produce(self) -> None:
        last = time.monotonic()
        last_ms = int(time.time() * 1000)
        while True:
            await asyncio.sleep(TICK_SECONDS)
            now = time.monotonic()
            elapsed, last = now - last, now
            now_ms, prev_ms = int(time.time() * 1000), last_ms
            last_ms = now_ms
            self._tick += 1
            for lv in self._lives:
                if lv.status != "OPEN":
                    continue  # an ended broadcast is silent
                due = lv.carry + lv.rate * elapsed
                n = int(due)
                lv.carry = due - n
                if lv.flood is not None:
                    frames = lv.flood.frames(n, prev_ms, now_ms, lv.cid, f"{self._tick % 10000}-{now_ms}")
                    lv.generated += n
                    if frames and lv.conns:
                        data = b"".join(_ws_text(text.encode("utf-8")) for text, _ in frames)
                        for conn in list(lv.conns):
                            self._write_flood(conn, lv, data, frames)
                    continue
                batch = []
                for item in lv.stream.next_items(now_ms, n) if n else []:
                    lv.seq += 1
                    lv.buffer.append((lv.seq, item))
                    batch.append((lv.seq, item))
                lv.generated += len(batch)
                self.videos.record(lv.channel, lv.cid, lv.open_ms, [item for _, item in batch])
                if lv.recorded and lv.buffer:
                    oldest = lv.buffer[0][0]
                    lv.recorded = {s for s in lv.recorded if s >= oldest}
                side = lv.stream.pop_side_frames()
                if not lv.conns:
                    continue  # the broadcast goes on unheard
                frames = _frames(batch, lv.cid, now_ms, self._tick)
                frames += [(dumps({"svcid": "game", "ver": "1", "bdy": body, "cmd": cmd, "tid": None, "cid": lv.cid}), [])
                           for cmd, body in side]
                if frames:
                    for conn in list(lv.conns):
                        self._enqueue(conn, lv, frames)

    async def _abort_stuck(self, grace: float = 2.0) -> None:
        """At stop: a socket whose reader left MBs of flood unread would hold the close
        handshake (and the process) forever; after ``grace`` seconds it is aborted."""
        deadline = time.monotonic() + grace
        while time.monotonic() < deadline and any(c.transport.get_write_buffer_size() for c in self._conns):
            await asyncio.sleep(0.1)
        for conn in list(self._conns):
            if conn.transport.get_write_buffer_size():
                log.warning("chat socket from %s still has %d bytes unread at stop: aborted", conn.remote_address,
                            conn.transport.get_write_buffer_size())
                conn.transport.abort()

    def _write_flood(self, conn: ServerConnection, lv: _Live, data: bytes, frames: list[tuple[str, tuple]]) -> None:
        """Flood mode: a tick's frames in one write to the socket (one ``send`` per frame
        cost the simulator a core at 15,000 lines/s); their lines count as sent once written,
        as after ``send``."""
        transport = conn.transport
        if conn.state is not State.OPEN or transport.is_closing():
            lv.conns.discard(conn)
            return
        if transport.get_write_buffer_size() > FLOOD_BUFFER_BYTES:
            lv.conns.discard(conn)
            self.slow_closed += 1
            log.warning("chat socket from %s is %d MB behind (cid %s): closing it (1008)", conn.remote_address,
                        FLOOD_BUFFER_BYTES >> 20, lv.cid)
            asyncio.create_task(conn.close(1008, "too slow"))
            return
        transport.write(data)
        self.frames_sent += len(frames)
        for _, span in frames:
            lv.flood.record(span)

    def _enqueue(self, conn: ServerConnection, lv: _Live, frames: list[tuple[str, list]]) -> None:
        """Hand a tick's frames to the socket's own sender; never waits for the socket."""
        box = self._outboxes.get(conn)
        if box is None:
            return
        if box.queue.qsize() * TICK_SECONDS < BACKLOG_SECONDS:
            box.queue.put_nowait((lv, frames))
            box.unsent += sum(len(text) for text, _ in frames)
            return
        lv.conns.discard(conn)  # nothing more is queued for it; what is queued is dropped unsent
        while not box.queue.empty():
            _, dropped = box.queue.get_nowait()
            box.unsent -= sum(len(text) for text, _ in dropped)
        self.slow_closed += 1
        log.warning("chat socket from %s read nothing for %.0fs of chat (cid %s): closing it (1008)",
                    conn.remote_address, BACKLOG_SECONDS, lv.cid)
        asyncio.create_task(conn.close(1008, "too slow"))

    async def _send_loop(self, conn: ServerConnection, box: _Outbox) -> None:
        while True:
            lv, frames = await box.queue.get()
            sent = await self._push(conn, lv, frames)
            box.unsent -= sum(len(text) for text, _ in frames)
            if not sent:
                return

    async def _push(self, conn: ServerConnection, lv: _Live, frames: list[tuple[str, list]]) -> bool:
        """Send frames in order, recording each one's items once its send succeeded;
        False when the socket is closed."""
        try:
            for text, pairs in frames:
                await conn.send(text)
                self.frames_sent += 1
                self._record(lv, pairs)
            return True
        except ConnectionClosed:
            lv.conns.discard(conn)
            return False
        finally:
            if self._truth:
                self._truth.flush()

    def _record(self, lv: _Live, pairs) -> None:
        """Write the (seq, item) pairs of a successful send to the truth file, once each
        (flood mode: count the frame's lines in the channel's tally)."""
        if lv.flood is not None:
            if pairs:
                lv.flood.record(pairs)
            return
        if not self._truth:
            return
        for seq, item in pairs:
            if seq not in lv.recorded:
                self._truth.write(json.dumps(item, ensure_ascii=False, separators=(",", ":")) + "\n")
                lv.recorded.add(seq)
                self.truth_count += 1

    # -- websocket ----------------------------------------------------------------------
    async def _handler(self, conn: ServerConnection) -> None:
        self._conns.add(conn)
        peer = conn.remote_address
        lv: _Live | None = None
        pinger = asyncio.create_task(self._ping_loop(conn))
        log.info("chat socket opened from %s (%s)", peer, conn.request.path if conn.request else "?")
        try:
            async for raw in conn:
                try:
                    msg = json.loads(raw)
                    cmd = msg.get("cmd")
                except (ValueError, AttributeError):
                    log.warning("unparseable client frame from %s: %.80r", peer, raw)
                    continue
                tid = None if msg.get("tid") is None else str(msg.get("tid"))
                if cmd == 0:
                    await conn.send(PONG)
                elif cmd == 10000:
                    self.pongs += 1
                elif cmd == 100:
                    lv = await self._connect(conn, msg, tid)
                    if lv is None:
                        return
                elif cmd == 5101 and lv is not None:
                    await self._recent(conn, lv, msg, tid)
        except ConnectionClosed:
            pass
        finally:
            pinger.cancel()
            box = self._outboxes.pop(conn, None)
            if box is not None:
                box.task.cancel()  # the socket is closed: its sends fail anyway
            self._conns.discard(conn)
            if lv is not None:
                lv.conns.discard(conn)
            log.info("chat socket closed from %s (cid %s, code %s)", peer, lv.cid if lv else None,
                     conn.close_code)

    async def _connect(self, conn: ServerConnection, msg: dict, tid) -> _Live | None:
        cid = msg.get("cid")
        lv = self._by_cid.get(cid)
        if lv is None:  # the token is not checked: CHZZK lets anyone READ (accTkn may be null)
            log.info("CONNECT refused: unknown chat channel %r", cid)
            await conn.send(dumps({"cmd": 10100, "retCode": 105, "retMsg": "Incorrect parameter", "tid": tid}))
            await conn.close(1000, "Bye")
            return None
        self.joins += 1
        await conn.send(dumps({"svcid": "game", "bdy": {"accTkn": None, "auth": "READ", "uuid": str(uuid.uuid4()),
                                                          "sid": A.session_id()},
                               "cmd": 10100, "retCode": 0, "retMsg": "SUCCESS", "tid": tid, "cid": cid}))
        if conn not in self._outboxes:
            box = self._outboxes[conn] = _Outbox()
            box.task = asyncio.create_task(self._send_loop(conn, box))
        lv.conns.add(conn)
        return lv

    async def _recent(self, conn: ServerConnection, lv: _Live, msg: dict, tid) -> None:
        want = (msg.get("bdy") or {}).get("recentMessageCount") or RECENT_SIZE
        want = max(0, min(int(want), RECENT_SIZE))
        if lv.flood is not None:
            items, spans = lv.flood.replay(want)
            body = {"messageList": items, "userCount": lv.stream.member_count, "notice": lv.notice}
            await conn.send(dumps({"svcid": "game", "ver": "1", "bdy": body, "cmd": 15101, "retCode": 0,
                                   "retMsg": "SUCCESS", "tid": tid, "cid": lv.cid}))
            self.frames_sent += 1
            for span in spans:
                lv.flood.record(span)
            return
        snapshot = list(lv.buffer)[-want:] if want else []
        body = {"messageList": [to_recent(item) for _, item in snapshot],
                "userCount": lv.stream.member_count, "notice": lv.notice}
        await conn.send(dumps({"svcid": "game", "ver": "1", "bdy": body, "cmd": 15101, "retCode": 0,
                               "retMsg": "SUCCESS", "tid": tid, "cid": lv.cid}))
        self.frames_sent += 1
        self._record(lv, snapshot)
        if self._truth:
            self._truth.flush()

    async def _ping_loop(self, conn: ServerConnection) -> None:
        if not self.ping_seconds or self.ping_seconds <= 0:
            return
        while True:
            await asyncio.sleep(self.ping_seconds)
            await conn.send(PING)

    async def drop_all(self) -> int:
        """Close every chat socket now (1001), forcing clients to reconnect."""
        conns = list(self._conns)
        for conn in conns:
            asyncio.create_task(conn.close(1001, "sim drop"))
        log.info("dropped %d chat sockets", len(conns))
        return len(conns)

    async def _drop_loop(self) -> None:
        while True:
            await asyncio.sleep(self.drop_every)
            await self.drop_all()

    async def restart(self, channel_id: str) -> str | None:
        """End the channel's broadcast now (CLOSE) and open a new one with a NEW
        chatChannelId after ``restart_pause`` seconds; returns the old chat channel id."""
        old = self._by_channel.get(channel_id)
        if old is None or old.status != "OPEN" or old.adult:
            return None
        old.status, old.close_ms = "CLOSE", int(time.time() * 1000)
        self.videos.close(old.cid, old.close_ms)  # its replay (VOD) stops growing
        self.restarts += 1
        log.info("broadcast of %s closed (chat channel %s); reopening in %.1fs", channel_id, old.cid,
                 self.restart_pause)
        asyncio.get_running_loop().call_later(self.restart_pause, self._reopen, old)
        return old.cid

    def _reopen(self, old: _Live) -> None:
        rng = random.Random(f"{self.seed}:{old.channel.channel_id}:{self.restarts}")
        cid = chat_channel_id(rng, set(self._by_cid))
        pool = None
        if old.flood is not None:
            pool = old.flood.pool.renamed((old.channel.channel_id, old.cid), (old.channel.channel_id, cid))
        new = _Live(old.channel, self.seed, int(time.time() * 1000), cid=cid, rate=old.rate, pool=pool)
        if new.flood is not None:
            self._tallies.append(new.flood.tally)
        self._lives[self._lives.index(old)] = new
        self._by_channel[old.channel.channel_id] = new
        self._by_cid[cid] = new
        log.info("broadcast of %s reopened on chat channel %s", old.channel.channel_id, cid)

    async def _restart_loop(self) -> None:
        """Every channel restarts every ``restart_every`` seconds, staggered across channels."""
        n = len(self._lives)
        due = {lv.channel.channel_id: time.monotonic() + self.restart_every * (i + 1) / n
               for i, lv in enumerate(self._lives)}
        while True:
            await asyncio.sleep(min(1.0, self.restart_every / max(n, 1)))
            now = time.monotonic()
            for channel_id, at in due.items():
                if now >= at:
                    due[channel_id] = at + self.restart_every
                    await self.restart(channel_id)

    async def _stats(self) -> None:
        while True:
            await asyncio.sleep(self.stats_seconds)
            log.info("stats: %d sockets, %d lines generated, %d frames sent, %d truth items, %d slow sockets closed",
                     len(self._conns), sum(lv.generated for lv in self._lives), self.frames_sent, self.truth_count,
                     self.slow_closed)

    # -- HTTP ---------------------------------------------------------------------------
    async def _http(self, conn: ServerConnection, request):
        url = urlsplit(request.path)
        if not url.path.startswith(_HTTP_PREFIXES):
            return None  # the chat websocket
        status, body = await self._route(url.path, {k: v[0] for k, v in parse_qs(url.query).items()})
        response = conn.respond(status, dumps(body))
        del response.headers["Content-Type"]
        response.headers["Content-Type"] = "application/json; charset=utf-8"
        return response

    async def _route(self, path: str, query: dict) -> tuple[int, dict]:
        if m := A.LIVE_STATUS.match(path):
            lv = self._by_channel.get(m.group(1))
            return 200, A.ok(A.live_status(lv) if lv else None)
        if m := A.LIVE_DETAIL.match(path):
            lv = self._by_channel.get(m.group(1))
            return 200, A.ok(A.live_detail(lv, f"http://{self.host}:{self.port}/_sim/media") if lv else None)
        if m := A.CHANNEL.match(path):
            return 200, A.ok(A.channel_info(self._by_channel.get(m.group(1))))
        if m := A.CHANNEL_DATA.match(path):
            return 200, A.ok(A.channel_data(self._by_channel.get(m.group(1)), query.get("fields")))
        if path == A.AUTO_COMPLETE or (m := A.SEARCH.match(path)):
            try:
                offset, size = max(0, int(query.get("offset") or 0)), max(1, min(int(query.get("size") or 13), 50))
            except ValueError:
                return 400, A.error(400, "offset and size must be integers")
            keyword = query.get("keyword", "")
            if path == A.AUTO_COMPLETE:
                return 200, A.ok(A.auto_complete(keyword, self._lives, size))
            return 200, A.ok(A.search(m.group(1), keyword, self._lives, offset, size))
        if path == A.USER_STATUS:
            return 200, A.ok(A.user_status_logged_out())
        if path == A.ACCESS_TOKEN:
            if query.get("channelId", "") not in self._by_cid:
                return 500, A.error(50001, "서버 오류입니다.")
            answer = A.access_token()
            self.issued_tokens.append(answer["accessToken"])
            return 200, A.ok(answer)
        if (vod_answer := await self.videos.route(path, query)) is not None:
            return vod_answer
        if path == "/_sim/restart":
            return 200, A.ok({"closed": await self.restart(query.get("channel", ""))})
        if path == "/_sim/drop":
            return 200, A.ok({"dropped": await self.drop_all()})
        if path == "/_sim/health":
            return 200, A.ok(self.health())
        if path == "/_sim/truth":
            return 200, A.ok(self.truth())
        if path == "/_sim/pause":
            self.pause()
            return 200, A.ok(self.health())
        return 404, A.error(404, "Not Found")

    def truth(self) -> list[dict]:
        """Flood mode: per chat channel, the lines sent at least once and their identity
        digest (collector/sim/flood.py; compare with flood.TRUTH_SQL)."""
        return [t.as_dict() for t in self._tallies]

    def pause(self) -> None:
        """Every channel stops chatting (the broadcasts stay open): a test pauses, waits for
        ``unsentBytes`` 0, and the truth then holds only lines the reader can still read.
        Called from another thread, it returns once the simulator's own loop has paused (a
        tick half produced when it was called is queued, and so counted, by then)."""
        loop = self._loop
        try:
            in_loop = asyncio.get_running_loop() is loop
        except RuntimeError:
            in_loop = False
        if loop is None or in_loop or loop.is_closed():
            for lv in self._lives:
                lv.rate = 0.0
            return
        done = threading.Event()
        loop.call_soon_threadsafe(lambda: (self.pause(), done.set()))
        done.wait(10)

    def health(self) -> dict:
        """Counters for tests and the demo (also ``GET /_sim/health``)."""
        return {"channels": len(self._lives), "sockets": len(self._conns),
                "unsentBytes": sum(c.transport.get_write_buffer_size() for c in list(self._conns))
                + sum(box.unsent for box in list(self._outboxes.values())),
                "floodLines": sum(t.lines for t in self._tallies),
                "generated": sum(lv.generated for lv in self._lives), "framesSent": self.frames_sent,
                "truthItems": self.truth_count, "slowClosed": self.slow_closed, "joins": self.joins,
                "pongs": self.pongs}
