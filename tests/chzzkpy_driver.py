"""The chzzkpy 2.2.0 driver of tests/collector/test_sim_conformance.py, and the one run of it that
module asserts on.

chzzkpy (PyPI; a public CHZZK client nobody here wrote) drives the simulator over loopback,
its base URLs (HTTP API, comm-api, websocket server pick) being the only thing changed.
Where chzzkpy itself is wrong about CHZZK, the driver works around it here, never in the
simulator; each workaround names the library line.

``ConformanceRun`` does the steps in one background thread, in the order the checks need:
(a) the channel lookups and (b) the chat access token, each with a client of its own, then
the chat session of at least SESSION_SECONDS (c-f), drained before it closes (``Session._drain``),
then it stops the simulator. (a) and
(b) come first because ahttp_client/session.py:70 (chzzkpy's HTTP layer) binds each request
method, a class attribute, to the last session created (``func.session = self``), so two
clients alive at once share one. tests/conftest.py starts the run as soon as the module's
tests are collected, so its minute of ping/pong overlaps the tests that run before them;
the module's fixture starts it itself when that did not happen.

No ``from __future__ import annotations`` here: ahttp_client reads the return annotations
of the request methods declared below at run time."""
import asyncio
import datetime
import json
import logging
import shutil
import tempfile
import threading
import time
from pathlib import Path as FilePath
from typing import Annotated, Any, Literal

import aiohttp
import pytest
from ahttp_client import Path, get
from ahttp_client.extension import get_pydantic_response_model
from chzzkpy.unofficial.base_model import Content
from chzzkpy.unofficial.channel import Channel
from chzzkpy.unofficial.chat import ChatClient
from chzzkpy.unofficial.chat.donation import BaseDonation, MissionParticipationDonation
from chzzkpy.unofficial.chat.enums import ChatCmd
from chzzkpy.unofficial.chat.gateway import ChzzkWebSocket
from chzzkpy.unofficial.chat.http import ChzzkAPIChatSession, NaverGameChatSession
from chzzkpy.unofficial.chat.message import (
    ChatDonationExtra,
    MessageDetail,
    MissionDonationExtra,
    VideoDonationExtra,
)
from chzzkpy.unofficial.chat.recent_chat import RecentChat
from chzzkpy.unofficial.chat.state import ConnectionState
from chzzkpy.unofficial.http import ChzzkSession
from chzzkpy.unofficial.live import LiveDetail

from collector.sim.server import SimServer

log = logging.getLogger(__name__)

SEED = 81            # channel 0 of seed 81 has a pinned notice and, at 50 lines/s, airs chat,
RATE = 50.0          # donations (missions, a participation, a party), subscriptions, a gift and a system line
SESSION_SECONDS = 62.0
PING_SECONDS = 5.0   # the simulator PINGs every 5 s: 12 ping/pong rounds in the session
PING_ROUNDS = int(60 / PING_SECONDS)
LATE_SECONDS = 30.0  # how much longer the session may run for its last PING while the machine is busy
DRAIN_SECONDS = 30.0  # at the end, how long the lines already sent may take to arrive (a busy machine)
CHAT_EVENTS = ("chat", "donation", "subscription", "subscription_gift", "system_message")


class LiveDetailAsServed(LiveDetail):
    """chzzkpy 2.2.0 bug (not a CHZZK difference): chzzkpy/unofficial/live.py:91
    ``close_date: datetime.datetime`` (LiveDetail) and live.py:62 ``live_image_url: str``
    (BaseLive) are required and non-null, but CHZZK sends ``closeDate: null`` while a broadcast is OPEN (yt-dlp PR 8887's
    recorded body) and ``liveImageUrl: null`` once it is CLOSE (Chzzk-Rekoda issue 53's
    log), so chzzkpy's own model rejects every real answer. Same model, those two optional."""
    close_date: datetime.datetime | None = None
    live_image_url: str | None = None


def _sessions(base: str):
    """chzzkpy's own HTTP sessions with only their base URL changed, plus two request
    declarations in chzzkpy's style (ahttp_client + its pydantic models)."""

    class Api(ChzzkAPIChatSession):
        def __init__(self, loop=None):
            ChzzkSession.__init__(self, base_url=base, loop=loop)

        # chzzkpy 2.2.0 bug: chzzkpy/unofficial/http.py:128 marks live_detail
        # ``configuration(login_able=True, login_required=True)``, so it raises LoginRequired
        # without cookies although CHZZK answers live-detail to anyone (yt-dlp, streamlink
        # call it without login). Same path, no login requirement, the fixed model.
        @get_pydantic_response_model()
        @get("/service/v2/channels/{channel_id}/live-detail", directly_response=True)
        async def live_detail_anonymous(self, channel_id: Annotated[str, Path]) -> Content[LiveDetailAsServed]:
            pass

        # chzzkpy 2.2.0 declares the Channel model (unofficial/channel.py) but no request
        # for /service/v1/channels/{id}: declared here the way chzzkpy declares its own.
        @get_pydantic_response_model()
        @get("/service/v1/channels/{channel_id}", directly_response=True)
        async def channel(self, channel_id: Annotated[str, Path]) -> Content[Channel]:
            pass

    class Game(NaverGameChatSession):
        def __init__(self, loop=None):
            ChzzkSession.__init__(self, base_url=base, loop=loop)

    return Api, Game


def _client_class(base: str):
    Api, Game = _sessions(base)

    class SimChatClient(ChatClient):
        """chzzkpy's ChatClient; only ``_session_initial_set`` differs (the same three
        sessions as chzzkpy/unofficial/chat/chat_client.py:97 builds, on the simulator's base)."""

        def _session_initial_set(self, loop=None):
            self._api_session = Api(loop=self.loop or loop)
            self._game_session = Game(loop=self.loop or loop)
            self.ws_session = aiohttp.ClientSession(loop=self.loop or loop)

    return SimChatClient


def _ws_pick(ws_template: str):
    """chzzkpy's server pick (chzzkpy/unofficial/chat/gateway.py:85, ``new_session``:
    ``abs(sum(ord)) % 9 + 1`` into ``wss://kr-ss{n}.chat.naver.com/chat``) into the
    simulator's ``ws://host:port/chat?ss={n}``."""

    @classmethod
    async def new_session(cls, loop, session, channel_id, session_id=None):
        server_id = abs(sum(ord(x) for x in channel_id)) % 9 + 1
        socket = await session.ws_connect(ws_template.format(n=server_id))
        websocket = cls(socket, loop)
        websocket.session_id = session_id
        return websocket

    return new_session


class PartyDonationExtra(BaseDonation):
    donation_type: Literal["PARTY"]


class DonationWithParty(MessageDetail[ChatDonationExtra | VideoDonationExtra | MissionDonationExtra
                                      | MissionParticipationDonation | PartyDonationExtra]):
    """chzzkpy 2.2.0 gap: chzzkpy/unofficial/chat/message.py:182 DonationMessage knows the
    donation types CHAT, VIDEO, MISSION and MISSION_PARTICIPATION; CHZZK also sends PARTY
    (shared/CHZZK_PROTOCOL.md §3), which fails chzzkpy's validation — and with it every later
    line of the same frame (chzzkpy validates a frame's lines in one try). Same model, PARTY
    added."""


def _per_line(state: ConnectionState):
    """chzzkpy's per-type dispatch (``_parse_all_type_of_chat``), one line at a time, with
    PARTY donations validated by DonationWithParty (see there)."""

    def parse(lines: list[dict[str, Any]]):
        for line in lines or []:
            code = line.get("msgTypeCode", line.get("messageTypeCode"))
            try:
                if code == 10 and json.loads(line.get("extras") or "{}").get("donationType") == "PARTY":
                    state.dispatch("donation", DonationWithParty.model_validate(line))
                else:
                    state._parse_all_type_of_chat([line])
            except Exception as exc:  # reported as chzzkpy's catch_exception does; the next line goes on
                state.dispatch("client_error", exc, line)

    return parse


def _recent_chat_typed(state: ConnectionState, per_line):
    """chzzkpy 2.2.0 bug: chzzkpy/unofficial/chat/recent_chat.py:31 types the replay as
    ``message_list: list[ChatMessage]``, so one donation, subscription or system line among
    the 50 (CHZZK replays them: the recorded 15101 items in shared/chzzk/samples.jsonl) fails
    the whole RecentChat. The driver validates the chat lines (and the notice) with
    chzzkpy's RecentChat and hands the other lines to chzzkpy's own per-type dispatch."""

    @ConnectionState.catch_exception
    def parse_recent_chat(self, body: dict[str, Any]):
        items = body.get("messageList") or []
        chats = [i for i in items if i.get("messageTypeCode") == 1]
        self.dispatch("recent_chat", RecentChat.model_validate({**body, "messageList": chats}))
        per_line([i for i in items if i.get("messageTypeCode") != 1])

    return lambda body: parse_recent_chat(state, body)


async def _with_client(sim: SimServer, use):
    client = _client_class(sim.env()["CHZZK_API_BASE"])(channel_id=sim.channels[0].channel_id)
    async with client:
        return await use(client)


async def _lookups(client, sim: SimServer):
    """Step (a): channel info, live status and live detail of every channel, an unknown
    channel's live status, and chzzkpy's channel/live search and auto-complete."""
    found = []
    for ch in sim.channels:
        found.append((ch, await client._api_session.channel(channel_id=ch.channel_id),
                      await client.live_status(ch.channel_id),
                      await client._api_session.live_detail_anonymous(channel_id=ch.channel_id)))
    unknown = await client.live_status("0" * 32)
    name = sim.channels[0].channel_name
    searched = (await client.search_channel(name), await client.search_live(name),
                await client.autocomplete(name[:2]))
    return found, unknown, searched


async def _token(client, sim: SimServer):
    """Step (b): chzzkpy's own request, GET ...?channelId= with body {"chatType": "STREAMING"}."""
    return (await client._game_session.chat_access_token(channel_id=sim.channels[0].chat_channel_id)).content


def truth_items(sim: SimServer, cid: str) -> list[dict]:
    """The chat items the simulator's truth file records as sent on chat channel ``cid``
    (complete lines only: the file may be read while it is written)."""
    text = FilePath(sim.truth_path).read_text(encoding="utf-8")
    lines = text.splitlines() if text.endswith("\n") else text.splitlines()[:-1]
    return [item for item in map(json.loads, lines) if item["cid"] == cid]


def truth_key(item: dict) -> tuple:
    """(user, time in ms, gift receiver) of a truth item: what identifies its line."""
    extras = json.loads(item["extras"]) if item["extras"] else {}
    return item["uid"], item["msgTime"], extras.get("receiverUserIdHash")


def event_key(event) -> tuple:
    """The same identity for chzzkpy's typed event."""
    return event.user_id, round(event.time.timestamp() * 1000), getattr(event.extras, "receiver_user_id", None)


class Session:
    """What one chzzkpy chat session on channel 0 saw: its events and when they came."""

    EVENTS = ("connect", "chat", "donation", "subscription", "subscription_gift", "system_message",
              "recent_chat", "blind", "client_error", "error", "disconnect")

    def __init__(self, server: SimServer):
        self.server = server
        self.channel = server.channels[0]
        self.events: dict[str, list] = {name: [] for name in self.EVENTS}
        self.times: dict[str, list[float]] = {name: [] for name in self.EVENTS}
        self.connected_at: float | None = None
        self.ended_at: float | None = None

    def chat_events(self) -> list:
        """Every chat line chzzkpy handed over: live events of each kind and the replayed lines."""
        events = [e for kind in CHAT_EVENTS for e in self.events[kind]]
        return events + [m for recent in self.events["recent_chat"] for m in recent.message_list]

    def missing(self) -> list[dict]:
        """The truth items of this session's chat channel that arrived as no event."""
        seen = {event_key(e) for e in self.chat_events()}
        cid = self.server._by_channel[self.channel.channel_id].cid
        return [item for item in truth_items(self.server, cid) if truth_key(item) not in seen]

    async def run(self) -> None:
        """Connect, ask for recent chat, and stay SESSION_SECONDS, longer (up to
        LATE_SECONDS) until the simulator has counted PING_ROUNDS pongs: on a busy machine its
        PINGs drift later than every PING_SECONDS. Then drain (``_drain``) and close."""
        client = _client_class(self.server.env()["CHZZK_API_BASE"])(channel_id=self.channel.channel_id)
        per_line = _per_line(client._connection)
        client._connection.parsers[ChatCmd.CHAT] = per_line
        client._connection.parsers[ChatCmd.SPECIAL_CHAT] = per_line
        client._connection.parsers[ChatCmd.RECENT_CHAT] = _recent_chat_typed(client._connection, per_line)
        for name in self.EVENTS:
            client.event(self._recorder(name))
        task = asyncio.create_task(client.connect())
        try:
            await asyncio.wait_for(client.wait_until_connected(), 15)
            self.connected_at = time.monotonic()
            await client.request_recent_chat(50)
            await asyncio.sleep(SESSION_SECONDS)
            late = time.monotonic() + LATE_SECONDS
            while self.server.pongs < PING_ROUNDS and time.monotonic() < late and not task.done():
                await asyncio.sleep(0.2)
            await self._drain(task)
            self.ended_at = time.monotonic()
            if task.done():
                task.result()  # the polling loop ended early: surface why
        finally:
            await client.close()
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)

    async def _drain(self, task: asyncio.Task) -> None:
        """End the session without losing the lines in flight. Closing while the simulator
        still sends loses them: chzzkpy's close (aiohttp's ``ClientWebSocketResponse.close``)
        reads and drops frames until the server's close frame comes back, and the simulator
        records a line as sent once its send succeeded (under load, 17 of 3,176 lines once;
        a 3 s session under 3 busy loops lost 5-7 lines in 2 of 4 runs). So: the simulator
        stops chatting (``pause``: nothing more is produced), every line already queued for
        this socket is written (``unsentBytes`` 0: then the truth file is final), and the
        session waits until each line the truth file holds has arrived as an event, or
        DRAIN_SECONDS pass (the test then names the lines that never came)."""
        await asyncio.to_thread(self.server.pause)
        deadline = time.monotonic() + DRAIN_SECONDS
        while time.monotonic() < deadline and not task.done():
            if self.server.health()["unsentBytes"] == 0 and not self.missing():
                return
            await asyncio.sleep(0.1)

    def _recorder(self, name: str):
        async def record(*args):
            self.events[name].append(args[0] if len(args) == 1 else args)
            self.times[name].append(time.monotonic())

        record.__name__ = "on_" + name  # chzzkpy registers handlers by function name
        return record


class ConformanceRun:
    """The simulator (3 channels: live, adult, offline) and chzzkpy's steps against it, in a
    background thread; ``step(name)`` waits for the run and gives that step's observation
    ("a", "b" or "session"), or raises what went wrong in it."""

    def __init__(self):
        self.folder = FilePath(tempfile.mkdtemp(prefix="conformance"))
        self.sim = SimServer(channels=3, seed=SEED, rate=RATE, truth_path=str(self.folder / "truth.jsonl"),
                             ping_seconds=PING_SECONDS, stats_seconds=120, offline=1, adult=1)
        self.observed: dict[str, Any] = {}
        self.failed: dict[str, BaseException] = {}
        self.started_at = time.monotonic()
        self.sim.start_in_thread(port=0)
        self.thread = threading.Thread(target=self._steps, name="chzzkpy-conformance", daemon=True)
        self.thread.start()

    def _do(self, name: str, work) -> None:
        try:
            self.observed[name] = work()
        except BaseException as exc:  # handed to the test of that step by step()
            self.failed[name] = exc

    def _steps(self) -> None:
        sim = self.sim
        self._do("a", lambda: asyncio.run(_with_client(sim, lambda client: _lookups(client, sim))))
        self._do("b", lambda: asyncio.run(_with_client(sim, lambda client: _token(client, sim))))
        deadline = time.monotonic() + 10
        while sim._lives[0].generated < 60 and time.monotonic() < deadline:
            time.sleep(0.05)  # lines aired before the join: the 15101 replay has some to carry
        mp = pytest.MonkeyPatch()
        mp.setattr(ChzzkWebSocket, "new_session", _ws_pick(sim.env()["CHZZK_CHAT_WS"]))
        session = Session(sim)

        def chat() -> Session:
            asyncio.run(session.run())
            return session

        try:
            self._do("session", chat)
        finally:
            mp.undo()
            sim.stop()  # the checks read its counters and truth file; nothing more is aired
            log.info("chzzkpy conformance run done in %.1fs (%s failed)", time.monotonic() - self.started_at,
                     ", ".join(self.failed) or "none")

    def step(self, name: str):
        self.thread.join(SESSION_SECONDS + LATE_SECONDS + 60)
        assert not self.thread.is_alive(), "the chzzkpy run did not end"
        if name in self.failed:
            raise self.failed[name]
        return self.observed[name]

    def close(self) -> None:
        """Stop the simulator (if the run is still going, the thread ends with it) and remove
        the truth file; safe to call twice."""
        self.sim.stop()
        shutil.rmtree(self.folder, ignore_errors=True)


RUN = pytest.StashKey[ConformanceRun]()


def start_early(config: pytest.Config) -> None:
    """Start the run now (tests/conftest.py, once the conformance tests are collected); a
    failure to start is left to those tests, which start it again and report it."""
    try:
        run = ConformanceRun()
    except Exception:
        log.exception("the chzzkpy conformance run did not start early; its tests start it")
        return
    config.stash[RUN] = run
    config.add_cleanup(run.close)


def conformance_run(config: pytest.Config) -> ConformanceRun:
    """The run started early, or a new one."""
    run = config.stash.get(RUN, None)
    if run is None:
        run = config.stash[RUN] = ConformanceRun()
        config.add_cleanup(run.close)
    return run
