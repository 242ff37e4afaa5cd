"""The simulator's HTTP answers, as CHZZK gives them to a reader that is not logged in (pure:
values in, JSON-ready dicts out; the server routes to them). Shapes follow the recorded
answers in shared/chzzk/samples.jsonl and public recordings: live-status (v1/v2/v3.1),
live-detail (v1/v2/v3/v3.3; yt-dlp PR 8887 has an OPEN body, Chzzk-Rekoda issue 53 a CLOSE
one), channel info, the channel ``/data`` fields, ``getUserStatus`` logged out, and the chat
access token. Tokens use CHZZK's base64 alphabet (``A-Za-z0-9+/``, ``=`` padding)."""
from __future__ import annotations

import json
import random
import re
import secrets

from collector.sim.generator import kst_wall

B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
_SID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_!"  # recorded sids

LIVE_STATUS = re.compile(r"^/polling/v(?:1|2|3|3\.1)/channels/([^/]+)/live-status$")
LIVE_DETAIL = re.compile(r"^/service/v(?:1|2|3|3\.3)/channels/([^/]+)/live-detail$")
CHANNEL = re.compile(r"^/service/v1/channels/([^/]+)$")
CHANNEL_DATA = re.compile(r"^/service/v1/channels/([^/]+)/data$")
ACCESS_TOKEN = "/nng_main/v1/chats/access-token"
USER_STATUS = "/nng_main/v1/user/getUserStatus"
THUMBS = "https://livecloud-thumb.akamaized.net/chzzk/livecloud/KR/stream"


def ok(content) -> dict:
    return {"code": 200, "message": None, "content": content}


def error(code: int, message: str) -> dict:
    return {"code": code, "message": message, "content": None}


def _b64(n: int, pad: str = "") -> str:
    return "".join(secrets.choice(B64) for _ in range(n)) + pad


def access_token() -> dict:
    """A fresh chat access token answer (content), as fetched without cookies."""
    return {"accessToken": _b64(64), "temporaryRestrict": {
        "temporaryRestrict": False, "times": 0, "duration": None, "createdTime": None},
        "realNameAuth": False, "extraToken": _b64(43, "="), "chatTime": None, "remainingChatTimeMs": None}


def session_id() -> str:
    """A CONNECTED ``sid``: 64 characters, like the recorded ones."""
    return "".join(secrets.choice(_SID_CHARS) for _ in range(64))


def live_ids(cid: str) -> tuple[int, int]:
    """(liveId, streamSeq) of the broadcast on chat channel ``cid`` (stable per broadcast)."""
    rng = random.Random(f"live:{cid}")
    return rng.randrange(10_000_000, 20_000_000), rng.randrange(30_000_000, 40_000_000)


def live_status(lv) -> dict:
    """The live-status content of the simulator's broadcast ``lv`` (server._Live)."""
    ch = lv.channel
    category_type, category, category_value = ch.category
    return {
        "liveTitle": ch.live_title, "status": lv.status,
        "concurrentUserCount": int(lv.stream.member_count * 1.05), "cvExposure": True,
        "accumulateCount": lv.stream.member_count * 3, "paidPromotion": False, "adult": lv.adult,
        "krOnlyViewing": False, "openDate": kst_wall(lv.open_ms),
        "closeDate": kst_wall(lv.close_ms) if lv.close_ms else None, "clipActive": True,
        "chatChannelId": None if lv.adult else lv.cid, "tags": [ch.channel_name, category_value],
        "categoryType": category_type, "liveCategory": category, "liveCategoryValue": category_value,
        "livePollingStatusJson": '{"status": "STARTED", "isPublishing": true, "playableStatus": "PLAYABLE", '
                                 '"trafficThrottling": -1, "callPeriodMilliSecond": 10000}',
        "faultStatus": None, "liveConnecting": False, "skipPreRollAd": False,
        "userAdultStatus": "NOT_LOGIN_USER", "abroadCountry": False, "blindType": None,
        "playerRecommendContent": {"categoryLives": [], "channelLatestVideos": []},
        "chatActive": True, "chatAvailableGroup": "ALL", "chatAvailableCondition": "NONE",
        "minFollowerMinute": 0, "allowSubscriberInFollowerMode": True, "chatSlowModeSec": 0,
        "chatEmojiMode": False, "chatDonationRankingExposure": True, "dropsCampaignNo": None,
        "liveTokenList": [], "watchPartyNo": None, "watchPartyTag": None, "watchPartyType": None,
        "adParameter": {"tag": "none"}, "timeMachineActive": False, "channelId": ch.channel_id,
        "lastAdultReleaseDate": None, "lastKrOnlyViewingReleaseDate": None, "lastTvAppAllowedDate": None,
        "tvAppViewingPolicyType": "ALLOWED", "logPowerActive": False, "logPowerRankingExposure": False,
        "donationCampaignId": None, "donationBoardNo": None, "sportsMatch": None,
        "streamerShopCatalogTagActive": False, "membershipBenefitType": "NONE"}


def _playback(lv, live_id: int, seq: int, media_base: str) -> str | None:
    """livePlaybackJson (a JSON string): media paths point at ``media_base`` (the simulator
    serves no video: they answer 404). None for an adult broadcast seen without login."""
    if lv.adult:
        return None
    opened = kst_wall(lv.open_ms, millis=True)[:19]
    live = lv.status == "OPEN"
    media = [{"mediaId": kind, "protocol": kind, "path": f"{media_base}/{live_id}/{kind.lower()}/playlist.m3u8",
              "encodingTrack": [{"encodingTrackId": "720p", "videoWidth": 1280, "videoHeight": 720,
                                 "videoFrameRate": "60.0", "videoBitRate": 5_000_000, "audioBitRate": 192_000,
                                 "audioOnly": False}]}
             for kind in ("HLS", "LLHLS")] if live else []
    return json.dumps({
        "meta": {"videoId": f"{live_id:036X}", "streamSeq": seq, "liveId": str(live_id), "paidLive": False,
                 "cdnInfo": {"cdnType": "GCDN", "zeroRating": False}, "p2p": False},
        "serviceMeta": {"contentType": "VIDEO"},
        "live": {"start": opened, "open": opened, "timeMachine": False, "status": "STARTED" if live else "ENDED"},
        "api": [], "media": media,
        "thumbnail": {"snapshotThumbnailTemplate": f"{THUMBS}/{seq}/live/{live_id}/record/0/snapshot_thumbnail/"
                                                   "{timeMillis}/{type}.jpg", "types": ["1080", "720", "480"]},
        "multiview": []}, separators=(",", ":"))


def live_detail(lv, media_base: str) -> dict:
    """The live-detail content: live-status plus liveId, images, livePlaybackJson, channel."""
    ch = lv.channel
    live_id, seq = live_ids(lv.cid)
    detail = {"liveId": live_id, "liveTitle": ch.live_title, "status": lv.status,
              "liveImageUrl": f"{THUMBS}/{seq}/live/{live_id}/record/0/thumbnail/image_{{type}}.jpg"
              if lv.status == "OPEN" else None,
              "defaultThumbnailImageUrl": None}
    detail |= {k: v for k, v in live_status(lv).items() if k not in detail and k != "livePollingStatusJson"}
    detail["livePlaybackJson"] = _playback(lv, live_id, seq, media_base)
    detail["livePollingStatusJson"] = live_status(lv)["livePollingStatusJson"]
    detail["p2pQuality"] = []
    detail["channel"] = {"channelId": ch.channel_id, "channelName": ch.channel_name, "channelImageUrl": None,
                         "verifiedMark": False, "activatedChannelBadgeIds": []}
    return detail


def channel_info(lv) -> dict:
    """Channel info; an unknown id (``lv`` None) answers as CHZZK does: channelId null."""
    ch = lv.channel if lv else None
    info = {
        "channelId": ch.channel_id if ch else None,
        "channelName": ch.channel_name if ch else "(알 수 없음)",
        "channelImageUrl": None, "verifiedMark": False, "verifiedMarkType": None, "officialChannel": False,
        "channelType": "STREAMING" if ch else "NORMAL", "channelDescription": "",
        "followerCount": ch.follower_count if ch else 0, "openLive": bool(lv and lv.status == "OPEN"),
        "subscriptionAvailability": bool(ch),
        "subscriptionPaymentAvailability": {"iapAvailability": False, "iabAvailability": False},
        "adMonetizationAvailability": False, "paidProductSaleAllowed": False}
    if ch:
        info["activatedChannelBadgeIds"] = []
    return info


_DATA_FIELDS = {"socialLinks": [], "donationRankingsExposure": True, "achievementBadgeExposure": False,
                "logPowerRankingExposure": False, "logPowerActive": False, "personalData": None,
                "channelHistory": None}


def channel_data(lv, fields: str | None) -> dict:
    """``/service/v1/channels/{id}/data?fields=a,b``: the requested fields, as a logged-out
    reader sees them (no personalData); unknown fields are null."""
    names = [f for f in (fields or "").split(",") if f] or list(_DATA_FIELDS)
    data = {name: _DATA_FIELDS.get(name) for name in names}
    if "channelHistory" in data and lv is not None:
        data["channelHistory"] = {"firstLiveDate": kst_wall(lv.open_ms - 400 * 86_400_000)[:10]}
    return data


def user_status_logged_out() -> dict:
    """``getUserStatus`` without cookies: a reader that is not logged in."""
    return {"hasProfile": False, "userIdHash": None, "nickname": None, "profileImageUrl": None,
            "penalties": [], "officialNotiAgree": False, "officialNotiAgreeUpdatedDate": None,
            "verifiedMark": False, "loggedIn": False}


SEARCH = re.compile(r"^/service/v1/search/(channels|lives|videos)$")
AUTO_COMPLETE = "/service/v1/search/channels/auto-complete"


def search(kind: str, keyword: str, lives: list, offset: int, size: int) -> dict:
    """``/service/v1/search/{channels,lives,videos}``: the simulated channels whose name
    contains ``keyword`` (lives: those on air). Videos are not searchable here (empty)."""
    found = [lv for lv in lives if keyword and keyword.lower() in lv.channel.channel_name.lower()]
    if kind == "lives":
        found = [lv for lv in found if lv.status == "OPEN"]
    page = found[offset:offset + size] if kind != "videos" else []
    data = []
    for lv in page:
        info = channel_info(lv)
        if kind == "channels":
            data.append({"channel": info, "content": {"live": None, "videos": []}})
        else:
            detail = live_detail(lv, "")
            live = {k: detail[k] for k in ("liveId", "liveTitle", "liveImageUrl", "defaultThumbnailImageUrl",
                                           "concurrentUserCount", "accumulateCount", "openDate", "adult", "tags",
                                           "chatChannelId", "categoryType", "liveCategory", "liveCategoryValue",
                                           "livePlaybackJson")}
            data.append({"live": dict(live, channelId=lv.channel.channel_id), "channel": {
                k: info[k] for k in ("channelId", "channelName", "channelImageUrl", "verifiedMark")}})
    return {"size": len(data), "page": {"next": {"offset": offset + len(data)}}, "data": data}


def auto_complete(keyword: str, lives: list, size: int) -> dict:
    names = [lv.channel.channel_name for lv in lives if keyword and keyword.lower() in lv.channel.channel_name.lower()]
    return {"size": len(names[:size]), "data": names[:size]}
