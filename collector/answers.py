"""Pure readers of the CHZZK HTTP answers the collector needs: live status (polling v3.1
and v2 shapes), channel info and the chat access token. Each takes the decoded JSON
answer (``{"code", "message", "content"}``) and returns a small frozen dataclass, or raises
``ProtocolError`` saying what was wrong with the answer. No I/O.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone

KST = timezone(timedelta(hours=9))
ADULT_TOKEN_CODE = 42601
SERVER_ERROR_CODE = 50001
UNKNOWN_CHANNEL_NAME = "(알 수 없음)"


class ProtocolError(ValueError):
    """An HTTP answer that cannot be used; ``code`` is the answer's code when it had one."""

    def __init__(self, message: str, code: int | None = None):
        super().__init__(message)
        self.code = code


@dataclass(frozen=True)
class LiveStatus:
    status: str                      # OPEN or CLOSE
    chat_channel_id: str | None      # None: see reason
    reason: str | None               # why there is no chat channel: adult, abroad:<blindType>, no chat channel
    live_title: str | None
    concurrent_user_count: int | None
    category_type: str | None
    live_category: str | None
    live_category_value: str | None
    open_date: datetime | None       # UTC
    close_date: datetime | None      # UTC
    adult: bool


@dataclass(frozen=True)
class Channel:
    channel_id: str | None           # None: no such channel
    channel_name: str | None
    follower_count: int | None
    image_url: str | None
    verified_mark: bool
    open_live: bool
    exists: bool


@dataclass(frozen=True)
class AccessToken:
    access_token: str
    extra_token: str | None


def _content(answer, what: str) -> dict:
    if not isinstance(answer, dict):
        raise ProtocolError(f"{what} answer is a {type(answer).__name__}, not a JSON object")
    code = answer.get("code")
    if code != 200:
        raise ProtocolError(f"{what} answer has code {code!r}: {answer.get('message')!r}",
                            code if isinstance(code, int) else None)
    content = answer.get("content")
    if not isinstance(content, dict):
        raise ProtocolError(f"{what} answer has no content object (content={content!r})", 200)
    return content


def _str(value) -> str | None:
    return value if isinstance(value, str) and value else None


def _int(value) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def kst_to_utc(value) -> datetime | None:
    """A KST wall-clock string ("2026-09-30 17:53:13") -> an aware UTC datetime, else None."""
    if not isinstance(value, str) or not value.strip():
        return None
    try:
        dt = datetime.fromisoformat(value.strip())
    except ValueError:
        return None
    return (dt.replace(tzinfo=KST) if dt.tzinfo is None else dt).astimezone(UTC)


def parse_live_status(answer: dict) -> LiveStatus:
    """``GET polling/v3.1|v2/channels/{id}/live-status`` -> LiveStatus. A null
    ``chatChannelId`` is not an error: ``reason`` says why (adult, abroad:<type>, ...)."""
    content = _content(answer, "live-status")
    status = content.get("status")
    if not isinstance(status, str) or not status:
        raise ProtocolError(f"live-status answer has no status (status={status!r})", 200)
    chat_channel_id = _str(content.get("chatChannelId"))
    adult = content.get("adult") is True
    reason = None
    if chat_channel_id is None:
        if adult and content.get("userAdultStatus") != "ADULT":
            reason = "adult"
        elif content.get("abroadCountry") is True or _str(content.get("blindType")):
            reason = f"abroad:{_str(content.get('blindType')) or 'ABROAD'}"
        else:
            reason = "no chat channel"
    return LiveStatus(
        status=status.upper(), chat_channel_id=chat_channel_id, reason=reason,
        live_title=_str(content.get("liveTitle")),
        concurrent_user_count=_int(content.get("concurrentUserCount")),
        category_type=_str(content.get("categoryType")),
        live_category=_str(content.get("liveCategory")),
        live_category_value=_str(content.get("liveCategoryValue")),
        open_date=kst_to_utc(content.get("openDate")),
        close_date=kst_to_utc(content.get("closeDate")),
        adult=adult,
    )


def parse_channel(answer: dict) -> Channel:
    """``GET service/v1/channels/{id}`` -> Channel. An unknown id answers code 200 with
    ``channelId: null``: that gives ``channel_id=None, exists=False``. A bare content
    object (no envelope) is accepted too."""
    if isinstance(answer, dict) and "code" not in answer and "channelName" in answer:
        content = answer
    else:
        content = _content(answer, "channel")
    channel_id = _str(content.get("channelId"))
    return Channel(
        channel_id=channel_id,
        channel_name=_str(content.get("channelName")) if channel_id else None,
        follower_count=_int(content.get("followerCount")),
        image_url=_str(content.get("channelImageUrl")),
        verified_mark=content.get("verifiedMark") is True,
        open_live=content.get("openLive") is True,
        exists=channel_id is not None,
    )


def parse_access_token(answer: dict) -> AccessToken:
    """``GET nng_main/v1/chats/access-token`` -> AccessToken. Code 42601: adult channel
    (needs the NID cookies of an adult-verified account); 50001: server error or unknown
    chat channel."""
    if isinstance(answer, dict):
        code = answer.get("code")
        if code == ADULT_TOKEN_CODE:
            raise ProtocolError("access-token refused (code 42601): adult channel; set CHZZK_NID_AUT/"
                                "CHZZK_NID_SES of an adult-verified account", code)
        if code == SERVER_ERROR_CODE:
            raise ProtocolError(f"access-token server error (code 50001: {answer.get('message')!r}); "
                                "the chat channel may not exist, retry later", code)
    content = _content(answer, "access-token")
    token = _str(content.get("accessToken"))
    if token is None:
        raise ProtocolError("access-token answer has no accessToken", 200)
    return AccessToken(access_token=token, extra_token=_str(content.get("extraToken")))
