"""The CHZZK HTTP API client (I/O): live status, channel info and the chat access token.
Base URLs and the optional NID cookies come from settings; answers are read by the pure
``collector.answers`` functions. Transient failures (connection errors, timeouts, HTTP
5xx, bodies that are not JSON) are retried with exponential backoff, then raised as
``ApiError``. Cookies and tokens are never logged."""
from __future__ import annotations

import logging
import time

import requests

from collector import protocol
from core import settings

log = logging.getLogger(__name__)

USER_AGENT = ("Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 "
              "(KHTML, like Gecko) Chrome/126.0.0.0 Safari/537.36")
CONNECT_TIMEOUT = 5.0      # seconds to open a connection
READ_TIMEOUT = 10.0        # seconds to wait for an answer
MAX_ATTEMPTS = 4           # first try + retries
BACKOFF_FIRST = 0.5        # seconds before the first retry, doubled each time
BACKOFF_MAX = 8.0
LIVE_STATUS_PATH = "/polling/v3.1/channels/{channel_id}/live-status"
CHANNEL_PATH = "/service/v1/channels/{channel_id}"
ACCESS_TOKEN_PATH = "/nng_main/v1/chats/access-token"
VIDEO_CHATS_PATH = "/service/v1/videos/{video_no}/chats"


class ApiError(RuntimeError):
    """An HTTP call that failed after every retry, or answered something unusable."""


class Api:
    """One requests.Session against the configured CHZZK bases (thread-safe enough for
    our use: each chat client thread calls it for its own channel)."""

    def __init__(self, api_base: str | None = None, comm_base: str | None = None,
                 max_attempts: int = MAX_ATTEMPTS, backoff_first: float = BACKOFF_FIRST):
        self.api_base = (api_base or settings.get("CHZZK_API_BASE") or "").rstrip("/")
        self.comm_base = (comm_base or settings.get("CHZZK_COMM_API_BASE") or "").rstrip("/")
        self.max_attempts = max_attempts
        self.backoff_first = backoff_first
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json"})
        for name, setting in (("NID_AUT", "CHZZK_NID_AUT"), ("NID_SES", "CHZZK_NID_SES")):
            value = settings.get(setting)
            if value:
                self.session.cookies.set(name, value)

    def close(self) -> None:
        self.session.close()

    def get_json(self, url: str, params: dict | None = None, what: str = "request") -> dict:
        """GET url and decode its JSON body, retrying transient failures. Some CHZZK
        errors come back as HTTP 4xx/5xx with a JSON envelope: a 4xx envelope is returned
        (the answer parser reports its code), a 5xx is retried."""
        delay = self.backoff_first
        last: str = ""
        for attempt in range(1, self.max_attempts + 1):
            try:
                resp = self.session.get(url, params=params, timeout=(CONNECT_TIMEOUT, READ_TIMEOUT))
                if resp.status_code >= 500:
                    last = f"HTTP {resp.status_code}"
                else:
                    try:
                        body = resp.json()
                    except ValueError:
                        last = f"HTTP {resp.status_code} with a body that is not JSON"
                    else:
                        if isinstance(body, dict):
                            return body
                        last = f"HTTP {resp.status_code} with JSON that is not an object"
            except (requests.ConnectionError, requests.Timeout) as exc:
                last = f"{type(exc).__name__}"
            if attempt < self.max_attempts:
                log.warning("%s failed (%s), attempt %d/%d, retrying in %.1fs",
                            what, last, attempt, self.max_attempts, delay)
                time.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
        raise ApiError(f"{what} failed after {self.max_attempts} attempts: {last} ({_safe_url(url)})")

    def live_status(self, channel_id: str) -> protocol.LiveStatus:
        """The channel's live status (polling v3.1)."""
        answer = self.get_json(self.api_base + LIVE_STATUS_PATH.format(channel_id=channel_id),
                               what=f"live-status of {channel_id}")
        return protocol.parse_live_status(answer)

    def channel(self, channel_id: str) -> protocol.Channel:
        """The channel's name and public info; ``exists`` is False for an unknown id."""
        answer = self.get_json(self.api_base + CHANNEL_PATH.format(channel_id=channel_id),
                               what=f"channel {channel_id}")
        return protocol.parse_channel(answer)

    def access_token(self, chat_channel_id: str) -> protocol.AccessToken:
        """A chat access token for a chat channel (raises ProtocolError for adult channels)."""
        answer = self.get_json(self.comm_base + ACCESS_TOKEN_PATH,
                               params={"channelId": chat_channel_id, "chatType": "STREAMING"},
                               what=f"access-token for chat channel {chat_channel_id}")
        return protocol.parse_access_token(answer)

    def video_chats(self, video_no: int, player_message_time: int, size: int = 50) -> dict:
        """One page of a past broadcast's replay chat (CHZZK_PROTOCOL.md §5), the answer
        as decoded JSON (read by ``collector.vod.read_page``); 4xx envelopes are returned."""
        return self.get_json(self.api_base + VIDEO_CHATS_PATH.format(video_no=int(video_no)),
                             params={"playerMessageTime": int(player_message_time),
                                     "previousVideoChatSize": int(size)},
                             what=f"replay chat of video {video_no} at {player_message_time} ms")


def _safe_url(url: str) -> str:
    """The URL without its query (which may carry ids but never secrets; kept short)."""
    return url.split("?", 1)[0]
