"""``python -m collector backfill-vod --channel ID --video N [--from-ms MS]``: merge a past
broadcast's replay (VOD) chat into ``stream_chat`` (CHZZK_PROTOCOL.md §5).

It pages through ``GET {API}/service/v1/videos/{N}/chats?playerMessageTime=MS&
previousVideoChatSize=50`` from ``--from-ms`` (default 0) until ``nextPlayerMessageTime``
is null, parses every ``videoChats`` item with ``collector.protocol.parse_frame`` and stores
the records through ``collector.sink.store`` in batches. The dedupe key is the parser's
(chat channel id, user id, messageTime, type code, discriminator), the same as for the
line captured live, so lines already stored are skipped (``ON CONFLICT DO NOTHING``) and
only the gaps of a live capture are filled. Rerunning is harmless.

Accepted answer variants (no recorded sample of this endpoint exists): the item keys of
15101 (``userId``, ``content``, ``messageTime``, ``messageTypeCode``, ``channelId``, ...) or
the live ones; ``userIdHash`` for ``userId`` and ``chatChannelId`` for ``channelId``; an item
without a chat channel id gets the one named by the answer (``content.chatChannelId`` /
``videoChatChannelId``) or by ``--chat-channel-id``. ``previousVideoChats`` (lines before
``playerMessageTime``) are not stored: they belong to the part the user chose to skip.
A missing ``nextPlayerMessageTime`` counts as null; one that does not move forward is
moved past the page (with a warning) so paging always ends.

``find_video`` finds the replay of a broadcast for ``collector.gaps``: the channel's newest
videos (``GET {API}/service/v1/channels/{id}/videos?sortType=LATEST&pagingType=PAGE``, REPLAY
entries) and their details (``GET {API}/service/v2/videos/{N}``: ``videoChatChannelId``,
``liveOpenDate``, ``videoChatEnabled``); the video whose chat channel is the broadcast's, or
without one, whose liveOpenDate is the broadcast's openDate. These shapes come from public
clients' models (no recorded answer exists); unusable answers read as "not found".

Exit status: 0 done; 1 with a one-line reason: unknown video (the answer's code and
message), the API failing after its retries, or the database failing (the line says
where to resume with ``--from-ms``). The channel row is created (``enabled = false``, so
the collector does not start on it) if the channel is unknown.
"""
from __future__ import annotations

import argparse
import logging
import threading
import time
from dataclasses import dataclass, field
from datetime import datetime

from collector import protocol, sink
from collector.answers import kst_to_utc
from collector.api import Api, ApiError
from collector.wire import data_records
from core import db
from core.cli import one_line

log = logging.getLogger(__name__)

PAGE_SIZE = 50              # previousVideoChatSize asked for
VIDEO_LIST_PATH = "/service/v1/channels/{channel_id}/videos"   # a channel's videos, newest first
VIDEO_PATH = "/service/v2/videos/{video_no}"                   # one video: liveOpenDate, videoChatChannelId
VIDEO_LIST_SIZE = 20        # newest videos looked at when searching a broadcast's replay
VIDEO_DETAILS_MAX = 10      # replay details read per search at most
BATCH_RECORDS = 2_000       # records per sink.store call
SOURCE = "backfill-vod"


class VodError(RuntimeError):
    """A definitive failure (unknown video, unusable answer): the message is for a human."""


@dataclass(frozen=True)
class Page:
    """One answer: the items to store, the lines before the asked time, the next time."""
    next_ms: int | None
    items: list
    previous: list
    chat_channel_id: str | None = None


@dataclass(frozen=True)
class Video:
    """A replay video as its detail answer describes it."""
    video_no: int
    chat_channel_id: str | None
    live_open: datetime | None     # the broadcast's start (liveOpenDate, KST wall clock -> UTC)
    chat_enabled: bool


@dataclass
class Summary:
    pages: int = 0
    items: int = 0
    repeated: int = 0          # items already seen on an earlier page of this run
    inserted: int = 0
    duplicates: int = 0        # lines already in stream_chat (captured live or backfilled before)
    dead_letters: int = 0
    other_channel: int = 0     # items naming another streamer in extras.streamingChannelId
    last_ms: int | None = None
    next_ms: int | None = None  # where paging would go on (``max_pages`` reached); None: done
    seen: set = field(default_factory=set, repr=False)


# ---------------------------------------------------------------- pure
def read_page(answer, video_no: int) -> Page:
    """A decoded answer -> Page; raises VodError when the video is unknown or the answer
    unusable."""
    if not isinstance(answer, dict):
        raise VodError(f"video {video_no}: the answer is a {type(answer).__name__}, not a JSON object")
    code = answer.get("code")
    content = answer.get("content")
    if code != 200 or content is None:
        message = answer.get("message")
        raise VodError(f"video {video_no} not found or without replay chat "
                       f"(answer code {code!r}{': ' + str(message) if message else ''})")
    if not isinstance(content, dict):
        raise VodError(f"video {video_no}: content is a {type(content).__name__}, not an object")
    items = content.get("videoChats")
    previous = content.get("previousVideoChats")
    if items is None:
        items = []
    if not isinstance(items, list):
        raise VodError(f"video {video_no}: videoChats is a {type(items).__name__}, not a list")
    next_ms = content.get("nextPlayerMessageTime")
    if next_ms is not None:
        next_ms = protocol.as_int(next_ms, 0, protocol.MAX_EPOCH_MS)
        if next_ms is None:
            raise VodError(f"video {video_no}: nextPlayerMessageTime "
                           f"{str(content.get('nextPlayerMessageTime'))[:40]!r} is not a time in ms")
    cid = content.get("chatChannelId") or content.get("videoChatChannelId")
    return Page(next_ms, items, previous if isinstance(previous, list) else [],
                cid if isinstance(cid, str) and cid else None)


def normalize_item(item, chat_channel_id: str | None):
    """The item with the accepted key variants renamed to the 15101 names and the chat
    channel id filled in when it has none. Non-objects are returned as they are."""
    if not isinstance(item, dict):
        return item
    out = dict(item)
    if "userId" not in out and "uid" not in out and "userIdHash" in out:
        out["userId"] = out.pop("userIdHash")
    if "channelId" not in out and "cid" not in out and "chatChannelId" in out:
        out["channelId"] = out.pop("chatChannelId")
    if chat_channel_id and not out.get("channelId") and not out.get("cid"):
        out["channelId"] = chat_channel_id
    return out


def item_records(items: list, channel_id: str, chat_channel_id: str | None, video_no: int) -> list[dict]:
    """VOD items -> data records (control records dropped), ``channel_id`` filled in the
    way the live client does (the item's own streamer id wins)."""
    return [rec for item in items
            for rec in data_records(protocol.parse_frame(normalize_item(item, chat_channel_id)), channel_id,
                                    f"{SOURCE}:{video_no}")]


def read_video_list(answer) -> list[int]:
    """A channel's video list answer -> the videoNo of its REPLAY videos (in answer order,
    newest first); [] for anything unusable."""
    content = answer.get("content") if isinstance(answer, dict) else None
    data = content.get("data") if isinstance(content, dict) else None
    out = []
    for v in data if isinstance(data, list) else []:
        no = protocol.as_int(v.get("videoNo"), 1) if isinstance(v, dict) else None
        if no is not None and v.get("videoType", "REPLAY") == "REPLAY":
            out.append(no)
    return out


def read_video(answer, video_no: int) -> Video | None:
    """A video detail answer -> Video, None when unknown or unusable."""
    content = answer.get("content") if isinstance(answer, dict) else None
    if not isinstance(content, dict):
        return None
    cid = content.get("videoChatChannelId")
    return Video(video_no, cid if isinstance(cid, str) and cid else None, kst_to_utc(content.get("liveOpenDate")),
                 content.get("videoChatEnabled") is not False)


def find_video(api: Api, channel_id: str, chat_channel_id: str, opened: datetime | None) -> Video | None:
    """The replay video of the broadcast on ``chat_channel_id`` (or, when a detail names no
    chat channel, the one whose liveOpenDate is ``opened`` to the second) among the
    channel's newest VIDEO_LIST_SIZE videos; None when it is not published (yet)."""
    listed = read_video_list(api.get_json(api.api_base + VIDEO_LIST_PATH.format(channel_id=channel_id),
                                          params={"sortType": "LATEST", "pagingType": "PAGE", "page": 0,
                                                  "size": VIDEO_LIST_SIZE},
                                          what=f"videos of channel {channel_id}"))
    for no in listed[:VIDEO_DETAILS_MAX]:
        video = read_video(api.get_json(api.api_base + VIDEO_PATH.format(video_no=no), what=f"video {no}"), no)
        if video is None:
            continue
        if video.chat_channel_id == chat_channel_id:
            return video
        if video.chat_channel_id is None and opened is not None and video.live_open is not None \
                and abs((video.live_open - opened).total_seconds()) < 1:
            return video
    return None


def next_time(page: Page, asked_ms: int) -> int | None:
    """Where the next page starts: the answer's ``nextPlayerMessageTime``, moved forward
    when it does not advance (past the page's last line, or by 1 ms)."""
    if page.next_ms is None or page.next_ms > asked_ms:
        return page.next_ms
    times = [protocol.as_int(i.get("playerMessageTime"), 0, protocol.MAX_EPOCH_MS)
             for i in page.items if isinstance(i, dict)]
    latest = max((t for t in times if t is not None), default=asked_ms)
    moved = latest if latest > asked_ms else asked_ms + 1
    log.warning("nextPlayerMessageTime %d does not move past %d; going on at %d", page.next_ms, asked_ms, moved)
    return moved


def latest_time(items: list) -> int | None:
    """The newest ``messageTime`` among VOD items (ms since the epoch), None without one."""
    times = [protocol.as_int(i.get("messageTime"), 0, protocol.MAX_EPOCH_MS) for i in items if isinstance(i, dict)]
    return max((t for t in times if t is not None), default=None)


def time_base(items: list) -> int | None:
    """``messageTime - playerMessageTime`` (the broadcast start, in ms since the epoch) of
    the first item carrying both, None without one: turns a time into a video offset."""
    for item in items:
        if isinstance(item, dict):
            t = protocol.as_int(item.get("messageTime"), 0, protocol.MAX_EPOCH_MS)
            p = protocol.as_int(item.get("playerMessageTime"), 0, protocol.MAX_EPOCH_MS)
            if t is not None and p is not None:
                return t - p
    return None


# ---------------------------------------------------------------- I/O
def _ensure_channel(conn, channel_id: str) -> None:
    with conn, conn.cursor() as cur:
        cur.execute("INSERT INTO stream_channel (channel_id, enabled) VALUES (%s, false) "
                    "ON CONFLICT (channel_id) DO NOTHING", (channel_id,))


def backfill(api: Api, conn, channel_id: str, video_no: int, from_ms: int = 0,
             chat_channel_id: str | None = None, batch_records: int = BATCH_RECORDS,
             until_time_ms: int | None = None, max_pages: int | None = None,
             stop: threading.Event | None = None) -> Summary:
    """Page through video ``video_no`` from ``from_ms`` and store its chat for
    ``channel_id``; returns the counts. Paging ends at the end of the video, after the page
    holding a line at ``until_time_ms`` (ms since the epoch) or later, or after ``max_pages``
    pages or when ``stop`` is set (``Summary.next_ms`` then says where to go on). Raises VodError / ApiError /
    database errors (the records of the pages read so far are stored first when the
    database allows)."""
    t0 = time.monotonic()
    summary = Summary()
    batch: list[dict] = []
    _ensure_channel(conn, channel_id)

    def store() -> None:
        report = sink.store(conn, batch, log_level=logging.DEBUG)
        summary.inserted += report.chat_inserted
        summary.duplicates += report.chat_duplicates
        summary.dead_letters += report.dead_letters
        log.info("stored %d records: %d new rows, %d duplicates (%d new rows so far)", len(batch),
                 report.chat_inserted, report.chat_duplicates, summary.inserted)
        batch.clear()

    at: int | None = from_ms
    pending_from = from_ms       # where the pages of the unsaved batch began
    try:
        while at is not None:
            page = read_page(api.video_chats(video_no, at, PAGE_SIZE), video_no)
            summary.pages += 1
            summary.items += len(page.items)
            chat_channel_id = chat_channel_id or page.chat_channel_id
            fresh = _fresh(summary, item_records(page.items, channel_id, chat_channel_id, video_no), channel_id)
            if not batch:
                pending_from = at
            batch.extend(fresh)
            summary.last_ms = at
            log.info("page %d at %d ms: %d items (%d new to this run), next %s; %d items so far (%.1fs)",
                     summary.pages, at, len(page.items), len(fresh), page.next_ms, summary.items,
                     time.monotonic() - t0)
            at = next_time(page, at)
            if until_time_ms is not None and (latest_time(page.items) or 0) >= until_time_ms:
                at = None
            if at is not None and (max_pages is not None and summary.pages >= max_pages
                                   or stop is not None and stop.is_set()):
                summary.next_ms = at
                at = None
            if len(batch) >= batch_records:
                store()
        if batch:
            store()
    except (VodError, ApiError) as exc:
        if summary.pages == 0:
            raise
        try:
            if batch:
                store()
        except Exception as db_exc:
            raise RuntimeError(f"{exc}; then storing the pages read failed: {one_line(db_exc)} "
                               f"(resume with --from-ms {pending_from})") from exc
        raise type(exc)(f"{exc} (after {summary.pages} pages, {summary.inserted} new rows stored; "
                        f"resume with --from-ms {at})") from exc
    except Exception as exc:  # the database: the unsaved batch is lost, the stored ones stay
        raise RuntimeError(f"{one_line(exc)} (after {summary.pages} pages; "
                           f"resume with --from-ms {pending_from})") from exc
    if summary.other_channel:
        log.warning("%d lines name another streamer than --channel %s in extras.streamingChannelId (stored under "
                    "that streamer)", summary.other_channel, channel_id)
    return summary


def _fresh(summary: Summary, records: list[dict], channel_id: str) -> list[dict]:
    """The records not seen on an earlier page of this run (counted as repeated)."""
    fresh = []
    for rec in records:
        key = rec.get("dedupe_key") if rec.get("kind") == "chat" else None
        if key is not None:
            if key in summary.seen:
                summary.repeated += 1
                continue
            summary.seen.add(key)
            if rec.get("channel_id") != channel_id:
                summary.other_channel += 1
        fresh.append(rec)
    return fresh


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channel", required=True, metavar="ID", help="the streamer's channel id (32 hex)")
    parser.add_argument("--video", required=True, type=int, metavar="N",
                        help="the video number (videoNo; in the simulator: GET /_sim/videos?channel=ID)")
    parser.add_argument("--from-ms", type=int, default=0, metavar="MS",
                        help="start at this offset from the broadcast start (playerMessageTime; default 0)")
    parser.add_argument("--chat-channel-id", default=None, metavar="CID",
                        help="chat channel id for items that carry none (default: from the items/answer)")


def run(args: argparse.Namespace) -> int:
    channel = (args.channel or "").strip()
    if not channel:
        raise ValueError("--channel must not be empty")
    if args.from_ms < 0:
        raise ValueError("--from-ms must be 0 or more")
    t0 = time.monotonic()
    api = Api()
    conn = db.connect()
    try:
        s = backfill(api, conn, channel, args.video, args.from_ms, args.chat_channel_id)
    finally:
        conn.close()
        api.close()
    log.info("backfill-vod done: video %d of channel %s: %d pages, %d items (%d repeated across pages), "
             "%d new rows, %d duplicates, %d dead letters in %.1fs", args.video, channel, s.pages, s.items,
             s.repeated, s.inserted, s.duplicates, s.dead_letters, time.monotonic() - t0)
    return 0
