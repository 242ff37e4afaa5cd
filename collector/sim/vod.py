"""The simulator's replay (VOD) chat: one "video" per past broadcast of each simulated
channel, plus one per broadcast the simulator is airing now, served the way CHZZK serves a
video's chat (CHZZK_PROTOCOL.md §5)::

    GET /service/v1/videos/{videoNo}/chats?playerMessageTime={ms}&previousVideoChatSize=50
    -> {"code": 200, "message": null, "content": {"nextPlayerMessageTime": ms | null,
        "previousVideoChats": [...], "videoChats": [...]}}

Items use the 15101 (recent) key names (``userId``, ``content``, ``messageTime``, ``channelId``
= the chat channel id, ...) plus ``playerMessageTime``, the offset in ms from the broadcast
start. A page holds the ``PAGE_ITEMS`` lines from ``playerMessageTime`` on (plus any further
lines sharing the last line's time, so a page never splits one millisecond);
``nextPlayerMessageTime`` is the offset of the line after the page, null at the end (for the
current broadcast: at the end *so far*). ``previousVideoChats``: up to
``previousVideoChatSize`` (at most 50) lines before ``playerMessageTime``. An unknown video
answers HTTP 404 ``{"code": 404, "message": "...", "content": null}``.

Finding video numbers: ``GET /_sim/videos?channel={channelId}`` (or without ``channel``: all)
lists ``videoNo``, ``channelId``, ``chatChannelId``, ``title``, ``openMs``/``closeMs``
(``closeMs`` null while live) and ``live``. Numbers are deterministic:
``VIDEO_BASE + channel_index * PER_CHANNEL + k`` with ``k`` = the index of the past broadcast
(oldest first) or ``LIVE_OFFSET + n`` for the n-th broadcast aired since the simulator started
(``n`` = 0 for the broadcast running at start). Channel 0 of ``--seed 1`` thus has its current
broadcast as video 1009000.

Published replays, as CHZZK lists them (``collector.vod.find_video`` reads these)::

    GET /service/v1/channels/{channelId}/videos?sortType=LATEST&pagingType=PAGE&page=P&size=N
    -> {"code": 200, "content": {"page", "size", "totalCount", "totalPages", "data": [
        {"videoNo", "videoId", "videoTitle", "videoType": "REPLAY", "publishDate", "publishDateAt",
         "duration", "channel": {...}}, ...]}}                       (newest first)
    GET /service/v2/videos/{videoNo}
    -> {"code": 200, "content": {"videoNo", ..., "liveOpenDate", "videoChatEnabled": true,
        "videoChatChannelId"}}

A broadcast is published ``replay_delay`` seconds after it ended (the past ones at once); a
live one is not listed yet (its chat pages above are still served, for tests). With
``replays=False`` the streamer has disabled replays: the list is empty and every detail 404.

Past broadcasts: ``VOD_DAYS`` days of evenings before today 00:00 KST (when the simulator
started), generated per channel by ``collector.sim.generator`` at ``VOD_RATE_PER_MIN`` lines
per minute and cached (a few at a time). The current broadcast's video holds every line the
simulator generated for it, heard or not, up to ``LIVE_KEEP_TOTAL`` lines shared among the
channels (at least ``LIVE_KEEP_MIN`` each; the oldest are forgotten past that, so a 500-channel
benchmark keeps ~200 MB at most; nothing the tests use comes near it).
"""
from __future__ import annotations

import asyncio
import bisect
import re
import threading
import time
from collections import OrderedDict
from datetime import datetime
from urllib.parse import unquote

from collector.sim.generator import (
    KST,
    SimBroadcast,
    SimChannel,
    broadcast_items,
    broadcasts,
    kst_wall,
    to_recent,
)

VIDEO_BASE = 1_000_000
PER_CHANNEL = 10_000
LIVE_OFFSET = 9_000
VOD_DAYS = 3
VOD_RATE_PER_MIN = 20.0
PAGE_ITEMS = 50
PREVIOUS_MAX = 50
LIVE_KEEP_TOTAL = 200_000     # lines kept for the current broadcasts, shared among the channels
LIVE_KEEP_MIN = 200
CACHED_VIDEOS = 4
_CHATS = re.compile(r"^/service/v1/videos/(\d{1,12})/chats$")
_CHANNEL_VIDEOS = re.compile(r"^/service/v1/channels/([^/]+)/videos$")
_DETAIL = re.compile(r"^/service/v2/videos/(\d{1,12})$")
LIST_PATH = "/_sim/videos"


def video_no(channel_index: int, k: int) -> int:
    """The number of a channel's k-th video (see the module docstring)."""
    return VIDEO_BASE + channel_index * PER_CHANNEL + k


class _Video:
    """One video: its metadata and (lazily) its lines as (playerMessageTime, live item)."""

    def __init__(self, no: int, channel: SimChannel, cid: str, open_ms: int, close_ms: int | None,
                 title: str, broadcast: SimBroadcast | None = None):
        self.no, self.channel, self.cid = no, channel, cid
        self.open_ms, self.close_ms, self.title = open_ms, close_ms, title
        self.broadcast = broadcast           # past broadcasts: generated on demand
        self.times: list[int] = []           # live broadcasts: filled as the simulator airs
        self.items: list[dict] = []

    def describe(self) -> dict:
        return {"videoNo": self.no, "channelId": self.channel.channel_id, "channelName": self.channel.channel_name,
                "chatChannelId": self.cid, "title": self.title, "openMs": self.open_ms,
                "closeMs": self.close_ms, "live": self.broadcast is None and self.close_ms is None}


class SimVideos:
    """The videos of a simulator's channels. ``record`` is called from the simulator's
    production loop for every batch of new lines; ``route`` answers the HTTP paths above
    (None for any other path)."""

    def __init__(self, channels: list[SimChannel], seed, end: datetime | None = None,
                 replays: bool = True, replay_delay: float = 0.0):
        self.channels = list(channels)
        self.seed = seed
        self.replays, self.replay_delay = replays, replay_delay
        self.end = end or datetime.now(KST).replace(hour=0, minute=0, second=0, microsecond=0)
        self._index = {c.channel_id: i for i, c in enumerate(self.channels)}
        self._past: dict[int, _Video] | None = None
        self._live: dict[str, _Video] = {}           # chat channel id -> video
        self._live_count: dict[str, int] = {}        # channel id -> broadcasts aired
        self._cache: OrderedDict[int, tuple[list[int], list[dict]]] = OrderedDict()
        self._lock = threading.Lock()                # past catalogue and cache
        self._live_lock = threading.Lock()           # live videos (the loop writes, workers read)

    # -- what the simulator tells us ------------------------------------------------------
    def record(self, channel: SimChannel, cid: str, open_ms: int, items: list[dict]) -> None:
        """New lines (live key names) of the broadcast on chat channel ``cid``."""
        with self._live_lock:
            self._record(channel, cid, open_ms, items)

    def _record(self, channel: SimChannel, cid: str, open_ms: int, items: list[dict]) -> None:
        video = self._live.get(cid)
        if video is None:
            n = self._live_count.get(channel.channel_id, 0)
            self._live_count[channel.channel_id] = n + 1
            index = self._index.get(channel.channel_id, len(self._index))
            video = _Video(video_no(index, LIVE_OFFSET + n), channel, cid, open_ms, None, channel.live_title)
            self._live[cid] = video
        for item in items:
            video.times.append(item["msgTime"] - video.open_ms)
            video.items.append(item)
        keep = max(LIVE_KEEP_MIN, LIVE_KEEP_TOTAL // max(1, len(self.channels)))
        if len(video.items) > keep + keep // 10:
            del video.times[:len(video.items) - keep]
            del video.items[:len(video.items) - keep]

    def close(self, cid: str, close_ms: int) -> None:
        """The broadcast on ``cid`` ended: its video stops growing."""
        with self._live_lock:
            if cid in self._live:
                self._live[cid].close_ms = close_ms

    # -- catalogue -------------------------------------------------------------------------
    def past(self) -> dict[int, _Video]:
        with self._lock:
            if self._past is None:
                found = {}
                for i, ch in enumerate(self.channels):
                    for k, b in enumerate(broadcasts([ch], VOD_DAYS, self.end, f"{self.seed}:vod:{i}")):
                        no = video_no(i, k)
                        found[no] = _Video(no, ch, b.chat_channel_id, b.open_ms, b.close_ms, b.title, b)
                self._past = found
            return self._past

    def videos(self, channel_id: str | None = None) -> list[dict]:
        """Every video (of one channel), oldest first."""
        with self._live_lock:
            live = list(self._live.values())
        found = list(self.past().values()) + live
        if channel_id is not None:
            found = [v for v in found if v.channel.channel_id == channel_id]
        return [v.describe() for v in sorted(found, key=lambda v: (v.open_ms, v.no))]

    def published(self, channel_id: str, now_ms: int | None = None) -> list[_Video]:
        """The channel's replay videos listed now, newest first (see the module docstring)."""
        if not self.replays:
            return []
        now_ms = int(time.time() * 1000) if now_ms is None else now_ms
        with self._live_lock:
            ended = [v for v in self._live.values()
                     if v.close_ms is not None and v.close_ms + self.replay_delay * 1000 <= now_ms]
        found = [v for v in list(self.past().values()) + ended if v.channel.channel_id == channel_id]
        return sorted(found, key=lambda v: (v.open_ms, v.no), reverse=True)

    def listing(self, channel_id: str, page: int, size: int) -> dict:
        videos = self.published(channel_id)
        size = max(1, min(size, 50))
        return {"page": page, "size": size, "totalCount": len(videos), "totalPages": -(-len(videos) // size),
                "data": [_summary(v) for v in videos[page * size:(page + 1) * size]]}

    def detail(self, no: int) -> dict | None:
        video = self.find(no)
        if video is None or video not in self.published(video.channel.channel_id):
            return None
        return dict(_summary(video), liveOpenDate=kst_wall(video.open_ms), videoChatEnabled=True,
                    videoChatChannelId=video.cid)

    def find(self, no: int) -> _Video | None:
        with self._live_lock:
            for video in self._live.values():
                if video.no == no:
                    return video
        return self.past().get(no)

    # -- pages -----------------------------------------------------------------------------
    def _lines(self, video: _Video) -> tuple[list[int], list[dict]]:
        if video.broadcast is None:
            with self._live_lock:  # a snapshot: the lists keep growing
                return list(video.times), list(video.items)
        with self._lock:
            if video.no in self._cache:
                self._cache.move_to_end(video.no)
                return self._cache[video.no]
        items = sorted(broadcast_items(video.broadcast, f"{self.seed}:vod", VOD_RATE_PER_MIN),
                       key=lambda it: it["msgTime"])
        lines = ([it["msgTime"] - video.open_ms for it in items], items)
        with self._lock:
            self._cache[video.no] = lines
            while len(self._cache) > CACHED_VIDEOS:
                self._cache.popitem(last=False)
        return lines

    def page(self, no: int, player_ms: int, previous: int = PREVIOUS_MAX) -> dict | None:
        """The answer content for one page, or None for an unknown video."""
        video = self.find(no)
        if video is None:
            return None
        times, items = self._lines(video)
        start = bisect.bisect_left(times, player_ms)
        end = min(len(items), start + PAGE_ITEMS)
        while 0 < end < len(items) and times[end] == times[end - 1]:
            end += 1
        first = max(0, start - max(0, min(previous, PREVIOUS_MAX)))
        return {"nextPlayerMessageTime": times[end] if end < len(items) else None,
                "previousVideoChats": [_vod_item(times[i], items[i]) for i in range(first, start)],
                "videoChats": [_vod_item(times[i], items[i]) for i in range(start, end)]}

    # -- HTTP --------------------------------------------------------------------------------
    async def route(self, path: str, query: dict) -> tuple[int, dict] | None:
        """(HTTP status, JSON body) for the VOD paths, None for any other path."""
        if path == LIST_PATH:
            channel = query.get("channel")
            videos = await asyncio.to_thread(self.videos, unquote(channel) if channel else None)
            return 200, _ok({"videos": videos})
        if m := _CHANNEL_VIDEOS.match(path):
            try:
                page, size = int(query.get("page") or 0), int(query.get("size") or 18)
            except ValueError:
                return 400, {"code": 400, "message": "page and size must be integers", "content": None}
            return 200, _ok(await asyncio.to_thread(self.listing, unquote(m.group(1)), max(0, page), size))
        if m := _DETAIL.match(path):
            found = await asyncio.to_thread(self.detail, int(m.group(1)))
            if found is None:
                return 404, {"code": 404, "message": f"존재하지 않는 영상입니다. (video {m.group(1)})", "content": None}
            return 200, _ok(found)
        m = _CHATS.match(path)
        if not m:
            return None
        try:
            player_ms = int(query.get("playerMessageTime") or 0)
            previous = int(query.get("previousVideoChatSize") or PREVIOUS_MAX)
        except ValueError:
            return 400, {"code": 400, "message": "playerMessageTime and previousVideoChatSize must be integers",
                         "content": None}
        content = await asyncio.to_thread(self.page, int(m.group(1)), player_ms, previous)
        if content is None:
            return 404, {"code": 404, "message": f"존재하지 않는 영상입니다. (video {m.group(1)})", "content": None}
        return 200, _ok(content)


def _summary(video: _Video) -> dict:
    """A video as the channel's video list shows it (published at the broadcast's end)."""
    published = video.close_ms if video.close_ms is not None else video.open_ms
    return {"videoNo": video.no, "videoId": f"SIM{video.no:012d}", "videoTitle": video.title, "videoType": "REPLAY",
            "publishDate": kst_wall(published), "publishDateAt": published,
            "duration": max(0, (published - video.open_ms) // 1000), "adult": False,
            "channel": {"channelId": video.channel.channel_id, "channelName": video.channel.channel_name}}


def _vod_item(player_ms: int, item: dict) -> dict:
    """A line as a VOD chat item: recent key names plus playerMessageTime."""
    out = to_recent(item)
    out["playerMessageTime"] = player_ms
    return out


def _ok(content) -> dict:
    return {"code": 200, "message": None, "content": content}
