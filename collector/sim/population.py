"""Synthetic channels and their people (pure, deterministic under a seed): the streamer,
managers and a viewer population with Zipf-like chat activity. Profiles are rendered to
their wire JSON string once per user, so generating chat stays cheap."""
from __future__ import annotations

import json
import random
from dataclasses import dataclass, field

from collector.sim import corpus as C

_ID_CHARS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_"
_B64 = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"


def dumps(obj) -> str:
    """Compact JSON with Korean kept as-is, the way CHZZK writes profile/extras strings."""
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":"))


def hex32(rng: random.Random) -> str:
    return f"{rng.getrandbits(128):032x}"


def token(rng: random.Random, n: int, alphabet: str = _B64) -> str:
    return "".join(rng.choices(alphabet, k=n))


def chat_channel_id(rng: random.Random, taken: set[str] | None = None) -> str:
    """A fresh 6-char chat channel id like ``N2mCH5`` (unique within ``taken``)."""
    while True:
        cid = "N2" + token(rng, 4, _ID_CHARS)
        if taken is None or cid not in taken:
            if taken is not None:
                taken.add(cid)
            return cid


@dataclass
class SimUser:
    user_id: str                 # userIdHash, 32 hex
    nickname: str
    role: str                    # userRoleCode
    os_type: str
    color_code: str
    sub_month: int | None = None
    sub_tier: int | None = None
    profile: str = ""            # the wire JSON string, rendered once
    chat_extras: str = ""        # extras JSON string of a plain chat line without emojis


@dataclass
class SimChannel:
    channel_id: str
    channel_name: str
    chat_channel_id: str
    follower_count: int
    live_title: str
    category: tuple[str, str, str]          # (categoryType, liveCategory, liveCategoryValue)
    tier_names: tuple[str, str]
    streamer: SimUser
    managers: list[SimUser]
    viewers: list[SimUser]                  # sorted by activity, heaviest first
    cum_weights: list[float] = field(repr=False, default_factory=list)
    activity: float = 1.0                   # relative chat volume of this channel
    notice: str | None = None               # pinned notice text, if any
    base_viewers: int = 1000

    @property
    def subscribers(self) -> list[SimUser]:
        return [u for u in self.viewers if u.sub_tier]


def _profile(user: SimUser, channel_id: str, tier_names, rng: random.Random) -> str:
    badge = title = None
    if user.role == "streamer":
        badge = {"imageUrl": f"{C.BADGE_BASE}/icon/streamer.png"}
        title = {"name": "스트리머", "color": "#D9B04F"}
    elif user.role != "common_user":
        badge = {"imageUrl": f"{C.BADGE_BASE}/icon/manager.png"}
        title = {"name": "채팅 운영자", "color": "#749FFE"}
    activity, viewer = [], []
    if rng.random() < 0.2:
        badge_id, url = rng.choice(C.ACTIVITY_BADGES)
        activity.append({"badgeNo": rng.randrange(10_000, 5_000_000), "badgeId": badge_id,
                         "imageUrl": url, "activated": True})
        viewer.append({"type": "STANDARD", "badge": {"badgeId": badge_id, "scope": "CHANNEL", "imageUrl": url}})
    prop: dict = {}
    if user.sub_tier:
        bucket = min(user.sub_month or 1, 60)
        prop["subscription"] = {
            "accumulativeMonth": user.sub_month, "tier": user.sub_tier,
            "tierName": tier_names[user.sub_tier - 1],
            "badge": {"imageUrl": f"https://nng-phinf.pstatic.net/glive/subscription/badge/"
                                  f"{channel_id}/{user.sub_tier}/{bucket}.png"}}
    prop["nicknameColor"] = {"colorCode": user.color_code}
    prop["activatedAchievementBadgeIds"] = []
    return dumps({
        "userIdHash": user.user_id, "nickname": user.nickname, "profileImageUrl": "",
        "userRoleCode": user.role, "badge": badge, "title": title,
        "verifiedMark": user.role == "streamer", "verifiedMarkType": None,
        "activityBadges": activity, "streamingProperty": prop, "viewerBadges": viewer})


def _nickname(rng: random.Random) -> str:
    if rng.random() < 0.45:
        return f"{rng.choice(C.NICK_ADJ)} {rng.choice(C.NICK_NOUN)} {rng.randrange(1000, 10000)}"
    name = rng.choice(C.NICK_SHORT)
    return name if rng.random() < 0.5 else f"{name}{rng.randrange(1, 1000)}"


def _user(rng: random.Random, role: str, nickname: str, channel_id: str, tier_names,
          subscriber_share: float = 0.25) -> SimUser:
    user = SimUser(user_id=hex32(rng), nickname=nickname, role=role,
                   os_type=rng.choice(C.OS_TYPES), color_code=rng.choice(C.COLOR_CODES))
    if role == "streamer":
        user.color_code = "CC000"
    elif rng.random() < subscriber_share:
        user.sub_tier = 2 if rng.random() < 0.15 else 1
        user.sub_month = min(80, 1 + int(rng.expovariate(1 / 12)))
    user.profile = _profile(user, channel_id, tier_names, rng)
    user.chat_extras = dumps({"chatType": "STREAMING", "osType": user.os_type,
                              "streamingChannelId": channel_id, "emojis": {},
                              "extraToken": token(rng, 86) + "=="})
    return user


def make_channels(n: int, seed: int) -> list[SimChannel]:
    """``n`` synthetic channels, identical for the same ``seed``; channel ``i`` does not
    depend on ``n`` (``sim --channels 3`` and ``backfill-sim --channels 5`` share three)."""
    names = list(C.STREAMER_NAMES)
    random.Random(seed).shuffle(names)
    taken: set[str] = set()
    return [_channel(random.Random(f"{seed}:channel:{i}"),
                     names[i] if i < len(names) else f"{names[i % len(names)]}{i}", taken)
            for i in range(n)]


def _channel(rng: random.Random, name: str, taken: set[str]) -> SimChannel:
    channel_id = hex32(rng)
    tier_names = (f"{name[:2]}{rng.choice(C.TIER_NAMES)}", f"{name[:2]}{rng.choice(C.TIER_NAMES)} 2")
    streamer = _user(rng, "streamer", name, channel_id, tier_names)
    managers = [_user(rng, rng.choice(("streaming_chat_manager", "streaming_channel_manager")),
                      _nickname(rng), channel_id, tier_names)
                for _ in range(rng.randint(1, 3))]
    n_viewers = int(rng.uniform(300, 3000))
    viewers = [_user(rng, "common_user", _nickname(rng), channel_id, tier_names) for _ in range(n_viewers)]
    total, cum = 0.0, []
    for rank in range(n_viewers):
        total += 1.0 / (rank + 1) ** 1.05
        cum.append(total)
    category = C.CATEGORIES[rng.randrange(len(C.CATEGORIES))]
    return SimChannel(
        channel_id=channel_id, channel_name=name, chat_channel_id=chat_channel_id(rng, taken),
        follower_count=rng.randrange(2_000, 900_000), live_title=make_title(rng, name),
        category=category, tier_names=tier_names, streamer=streamer, managers=managers,
        viewers=viewers, cum_weights=cum, activity=rng.uniform(0.5, 1.5),
        notice=rng.choice(C.NOTICE_LINES) if rng.random() < 0.6 else None,
        base_viewers=rng.randrange(300, 20_000))


def make_title(rng: random.Random, name: str) -> str:
    return f"{name[:2]}) {rng.choice(C.TITLE_PARTS_A)} {rng.choice(C.TITLE_PARTS_B)}".rstrip()
