"""Broadcast lifecycle of many channels in one process: one poller thread polls every
channel's live status each POLL_SECONDS and drives a ``ChatClient`` per channel and the
bookkeeping (``collector.sessions``).

Design (scales to ≥ 500 channels):
- **Polling** is one scheduler thread with a heap of due times plus a small pool of
  POLL_WORKERS threads doing the HTTP calls. Newly added channels get their first poll at a
  random offset within the time FIRST_POLL_RATE requests/s need for them (capped at
  POLL_SECONDS: 5 channels start within 0.25 s, 500 within 25 s), and every later poll
  ±10 % jitter, so 500 channels at 30 s make an even ~17 requests/s, never a burst. A channel whose poll is still running (API retries)
  skips its turn instead of piling up.
- **Sockets**: a ``ChatClient`` holds a thread and a socket only while its channel is
  live with a chat channel; offline and unavailable channels cost a heap entry. Threads =
  live channels + POLL_WORKERS + a few (flush, bookkeeping writer, scheduler).
- **Decisions** per poll answer: OPEN with a new chatChannelId → a live_session row, then
  ``follow`` (joined within one poll period; the old session is closed 'new chat
  channel'); OPEN without one → channel_unavailable with the reason, leave, retried at the
  next poll; CLOSE → the session is closed ('broadcast closed') and the socket left. The
  title/category/viewer timeline gets a row on change and at least every TIMELINE_SECONDS.
- Bookkeeping goes through ``SessionStore``'s queue, so a slow database never delays a
  poll or a socket.
"""
from __future__ import annotations

import heapq
import logging
import random
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from requests.adapters import HTTPAdapter

from collector import sessions
from collector.api import Api, ApiError
from collector.client import ChatClient
from collector.protocol import LiveStatus, ProtocolError

log = logging.getLogger(__name__)

POLL_WORKERS = 8          # concurrent live-status requests
POLL_JITTER = 0.1         # +/- fraction of POLL_SECONDS between two polls of a channel
FIRST_POLL_RATE = 20.0    # requests/s at most when many channels are added at once
TIMELINE_SECONDS = 300.0  # a live_session_poll row at least this often while live
HTTP_POOL = 64            # pooled HTTP connections (pollers + token requests)


class _Channel:
    def __init__(self, channel_id: str, client: ChatClient):
        self.channel_id = channel_id
        self.client = client
        self.lock = threading.Lock()
        self.cid: str | None = None            # the chat channel of the open session we know of
        self.state: tuple | None = None        # ("live", cid) / ("offline",) / ("unavailable", reason)
        self.timeline_key: tuple | None = None
        self.timeline_at = 0.0
        self.in_flight = False
        self.polls = 0
        self.removed = False  # set_channels took it away: a poll in flight then changes nothing


class Lifecycle:
    """Polls the channels given to ``set_channels`` and keeps their chat clients following
    the live chat channel. ``start()``, then ``set_channels`` any time, ``stop()`` at the end."""

    def __init__(self, api: Api, add: Callable[[list[dict]], None], store: sessions.SessionStore,
                 poll_seconds: float, ws_url: str | None = None, workers: int = POLL_WORKERS,
                 rng: random.Random | None = None, add_frame: Callable | None = None):
        self.api = api
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=HTTP_POOL)
        api.session.mount("http://", adapter)
        api.session.mount("https://", adapter)
        self.add = add
        self.add_frame = add_frame  # chat pushes as received (collector.wire), when given
        self.store = store
        self.poll_seconds = float(poll_seconds)
        self.ws_url = ws_url
        self.rng = rng or random.Random()
        self._channels: dict[str, _Channel] = {}
        self._retired: list[ChatClient] = []
        self._heap: list[tuple[float, int, str]] = []
        self._seq = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="poll")
        self._thread = threading.Thread(target=self._schedule, name="poller", daemon=True)

    # ------------------------------------------------------------ channel set
    def set_channels(self, ids: set[str], reason: str = "channel removed") -> tuple[list[str], list[str]]:
        """Collect exactly ``ids`` from now on; returns (added, removed)."""
        now = time.monotonic()
        with self._lock:
            added = sorted(set(ids) - self._channels.keys())
            removed = sorted(self._channels.keys() - set(ids))
            for cid in removed:
                ch = self._channels.pop(cid)
                with ch.lock:  # a poll in flight cannot follow the chat channel again after this
                    ch.removed = True
                    ch.client.leave(reason)
                self._retired.append(ch.client)
            spread = min(self.poll_seconds, len(added) / FIRST_POLL_RATE)
            for cid in added:
                client = ChatClient(cid, self.api, self.add, ws_url=self.ws_url,
                                    rng=random.Random(self.rng.random()), captures=self.store,
                                    add_frame=self.add_frame)
                self._channels[cid] = _Channel(cid, client)
                self._push(now + self.rng.uniform(0, spread), cid)
        if added or removed:
            log.info("channel set: %d collected (+%d, -%d)", len(self._channels), len(added), len(removed))
            self._wake.set()
        return added, removed

    def clients(self) -> list[ChatClient]:
        """Every client this process ran (current and removed), for counters."""
        with self._lock:
            return [ch.client for ch in self._channels.values()] + list(self._retired)

    def channel_ids(self) -> set[str]:
        with self._lock:
            return set(self._channels)

    def _push(self, due: float, channel_id: str) -> None:
        self._seq += 1
        heapq.heappush(self._heap, (due, self._seq, channel_id))

    # ------------------------------------------------------------ run
    def start(self) -> None:
        self._thread.start()

    def stop(self, join_seconds: float) -> list[str]:
        """Stop polling, close every socket gracefully ('stopped'); returns the channel ids
        whose client did not end within ``join_seconds``."""
        self._stop.set()
        self._wake.set()
        self._thread.join(5)
        self._pool.shutdown(wait=False, cancel_futures=True)
        clients = self.clients()
        for client in clients:
            client.stop()
        deadline = time.monotonic() + join_seconds
        return [c.channel_id for c in clients if not c.join(max(0.0, deadline - time.monotonic()))]

    def _schedule(self) -> None:
        while not self._stop.is_set():
            now = time.monotonic()
            due = []
            with self._lock:
                while self._heap and self._heap[0][0] <= now:
                    _, _, cid = heapq.heappop(self._heap)
                    ch = self._channels.get(cid)
                    if ch is None:
                        continue  # removed
                    due.append(ch)
                    self._push(now + self.poll_seconds * (1 + self.rng.uniform(-POLL_JITTER, POLL_JITTER)), cid)
                wait = (self._heap[0][0] - now) if self._heap else 1.0
            for ch in due:
                if ch.in_flight:
                    log.debug("poll of %s still running; skipping a turn", ch.channel_id)
                    continue
                ch.in_flight = True
                try:
                    self._pool.submit(self._poll, ch)
                except RuntimeError:  # pool shut down: stopping
                    return
            self._wake.wait(min(max(wait, 0.01), 1.0))
            self._wake.clear()

    def _poll(self, ch: _Channel) -> None:
        try:
            st = self.api.live_status(ch.channel_id)
        except (ApiError, ProtocolError) as exc:
            log.warning("live status of %s unavailable: %s", ch.channel_id, exc)
            return
        except Exception:  # noqa: BLE001 - a poll must never kill the poller
            log.exception("live status of %s failed", ch.channel_id)
            return
        finally:
            ch.in_flight = False
        if self._stop.is_set():
            return
        with ch.lock:
            if ch.removed:  # its lease was given up (or it was removed) while the poll ran
                return
            ch.polls += 1
            self.on_status(ch, st)

    def on_status(self, ch: _Channel, st: LiveStatus) -> None:
        """Apply one live-status answer to a channel (see the module docstring)."""
        at = sessions.utcnow()
        client, store = ch.client, self.store
        if st.status == "OPEN" and st.chat_channel_id:
            if ch.state != ("live", st.chat_channel_id):
                log.info("channel %s is live on chat channel %s%s", ch.channel_id, st.chat_channel_id,
                         f" (was {ch.cid})" if ch.cid else "")
                store.put(sessions.op_open_session(ch.channel_id, st, at))
                ch.state, ch.cid = ("live", st.chat_channel_id), st.chat_channel_id
            client.follow(st.chat_channel_id)
            key = (st.chat_channel_id, st.live_title, st.live_category_value, st.category_type)
            mono = time.monotonic()
            if key != ch.timeline_key or mono - ch.timeline_at >= TIMELINE_SECONDS:
                store.put(sessions.op_poll(ch.channel_id, st, at))
                ch.timeline_key, ch.timeline_at = key, mono
            return
        ch.cid, ch.timeline_key = None, None
        if st.status == "OPEN":  # live, but no chat channel for us: record why, retry next poll
            state = ("unavailable", st.reason)
            mono = time.monotonic()
            if ch.state != state or mono - ch.timeline_at >= TIMELINE_SECONDS:
                if ch.state != state:
                    log.warning("channel %s is live without a chat channel (%s); retrying every poll",
                                ch.channel_id, st.reason)
                store.put(sessions.op_unavailable(ch.channel_id, st, at))
                ch.timeline_at = mono
            ch.state = state
            client.leave(f"unavailable: {st.reason}")
            return
        if ch.state != ("offline",):
            if ch.state is not None:
                log.info("broadcast of %s closed", ch.channel_id)
            closed = st.close_date if st.close_date and st.close_date <= at else at
            store.put(sessions.op_close_sessions(ch.channel_id, "broadcast closed", closed))
            ch.state = ("offline",)
        client.leave("broadcast closed")
