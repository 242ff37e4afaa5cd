"""Synthetic CHZZK chat (pure and deterministic: ``random.Random`` seeded, no wall clock —
times are passed in). Items use the LIVE key names exactly as on the wire; ``to_recent``
renames them for 15101 replays. Used by the simulator server and by ``backfill-sim``.

Message mix per item: ~99 % chat (type 1, incl. streamer and manager lines), ~0.5 %
donations (10, 85 % anonymous), subscriptions (11), subscription gifts (12, one line per
receiver sharing one msgTime) and system lines (30). ``msgTime`` rises by at least 1 ms per
line, except that the receiver lines of one gift share theirs (they differ by receiver).

Among donations (drawn from a second seeded stream, so the other lines are as before):
~8 % missions (donationType MISSION, a PENDING line with its 93006
DONATION_MISSION_IN_PROGRESS events: some stay pending, some are REJECTED or EXPIRED, the
rest APPROVED, joined by up to two MISSION_PARTICIPATION lines and then COMPLETED), ~4 %
party donations (donationType PARTY with a PARTY_DONATION_INFO event holding the party's
running total). Shapes: tests/data/frames/mission_*.json and party_*.json."""
from __future__ import annotations

import bisect
import json
import math
import random
from collections import deque
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone

from collector.sim import corpus as C
from collector.sim.population import (
    SimChannel,
    SimUser,
    chat_channel_id,
    dumps,
    hex32,
    make_channels,
    make_title,
    token,
)

__all__ = ["SimChannel", "SimUser", "make_channels", "ChatStream", "SimBroadcast",
           "broadcasts", "history", "to_recent", "KST", "CMD_EVENT", "CMD_BLIND"]

KST = timezone(timedelta(hours=9))
CMD_EVENT = 93006
CMD_BLIND = 94008

# Per-line probabilities (cumulative thresholds are built below).
P_DONATION, P_SUBSCRIPTION, P_GIFT, P_SYSTEM = 0.005, 0.0005, 0.0002, 0.0003
P_STREAMER, P_MANAGER = 0.007, 0.005
GROUP_MAX = 10  # most lines one draw brings (a gift's receivers, a mission and its participations)
P_MISSION, P_PARTY = 0.08, 0.04  # shares of donations (the money stream's draws)
MISSION_EVENT = "DONATION_MISSION_IN_PROGRESS"
MISSION_TEXTS = ("노래 한 곡 불러주세요", "다음 판 1등 하기", "10분 동안 존댓말 쓰기", "애교 한 번만", "춤 춰주세요")
P_BLIND, P_CBOT_LINE, P_CHAT_MODE = 1 / 500, 0.001, 1 / 3000
_VISIBLE_TO_MANAGERS = ["STREAMING_CHANNEL_MANAGER", "STREAMING_CHAT_MANAGER", "STREAMER", "MANAGER"]

LIVE_TO_RECENT = {
    "svcid": "serviceId", "cid": "channelId", "msgTime": "messageTime", "uid": "userId",
    "profile": "profile", "msg": "content", "extras": "extras", "mbrCnt": "memberCount",
    "msgTypeCode": "messageTypeCode", "msgStatusType": "messageStatusType",
    "ctime": "createTime", "utime": "updateTime", "msgTid": "msgTid",
}


def to_recent(item: dict) -> dict:
    """The same line under the 15101 RECENT_CHAT key names (``cuid`` is not replayed)."""
    return {LIVE_TO_RECENT[k]: item[k] for k in LIVE_TO_RECENT if k in item}


def kst_wall(ms: int, millis: bool = False) -> str:
    """KST wall-clock text without zone, as CHZZK writes openDate/createdTime."""
    dt = datetime.fromtimestamp(ms / 1000, KST)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] if millis else dt.strftime("%Y-%m-%d %H:%M:%S")


class ChatStream:
    """The chat of one broadcast. ``next_items`` returns new lines; the 93006 events and
    94008 blinds produced along the way are collected by ``pop_side_frames``."""

    def __init__(self, channel: SimChannel, seed, chat_channel_id: str | None = None):
        self.channel = channel
        self.cid = chat_channel_id or channel.chat_channel_id
        self.rng = random.Random(f"{seed}:{channel.channel_id}:{self.cid}")
        self.last_ms = 0
        self.member_count = max(50, int(channel.base_viewers * self.rng.uniform(0.8, 1.1)))
        self._total = channel.cum_weights[-1]
        self._recent_chat: deque[tuple[str, int]] = deque(maxlen=50)
        self._side: list[tuple[int, dict]] = []
        self._emoji_base = f"https://nng-phinf.pstatic.net/glive/subscription/emoji/{channel.channel_id}/1/"
        # missions and parties draw from their own stream: the other lines stay as they were
        self._money = random.Random(f"{seed}:{channel.channel_id}:{self.cid}:money")
        self._party_total = self._money.randrange(50, 500) * 1000  # the other members' share

    # -- public -------------------------------------------------------------------------
    def next_items(self, now_ms: int, count: int, spread_ms: int = 0) -> list[dict]:
        """``count`` new lines at ``now_ms`` (or spread over ``[now_ms, now_ms+spread_ms)``),
        or a few more when the last one brings its group along (a gift's receiver lines, a
        mission's participations). Without ``spread_ms`` (the live server) the lines never
        depend on how the stream is cut into calls: the same seed airs the same lines at any
        rate and tick (a gift is not cut short by the end of a 100 ms tick)."""
        rng = self.rng
        if spread_ms > 0 and count > 0:
            times = sorted(now_ms + rng.randrange(spread_ms) for _ in range(count))
        else:
            times = [now_ms] * count
        out: list[dict] = []
        i = 0
        while len(out) < count:
            t = max(self.last_ms + 1, times[min(i, count - 1)])
            i += 1
            if rng.random() < 0.02:
                self._drift()
            r = rng.random()
            if r < P_DONATION:
                out.extend(self._donations(t, GROUP_MAX))
            elif r < P_DONATION + P_SUBSCRIPTION:
                out.append(self._subscription(t))
            elif r < P_DONATION + P_SUBSCRIPTION + P_GIFT:
                out.extend(self._gift(t, GROUP_MAX))
            elif r < P_DONATION + P_SUBSCRIPTION + P_GIFT + P_SYSTEM:
                out.append(self._restrict(t))
            else:
                out.append(self._chat(t))
            self.last_ms = max(t, out[-1]["msgTime"])  # a mission's participations come later
            self._maybe_side(t)
        return out

    def pop_side_frames(self) -> list[tuple[int, dict]]:
        """(cmd, bdy) of the 93006 events and 94008 blinds produced since the last call."""
        side, self._side = self._side, []
        return side

    # -- lines --------------------------------------------------------------------------
    def _item(self, t: int, uid: str, profile, msg: str, code: int, extras: str,
              status: str = "NORMAL", delay: int = 0) -> dict:
        c = t + delay
        return {"svcid": "game", "cid": self.cid, "mbrCnt": self.member_count, "uid": uid,
                "profile": profile, "msg": msg, "msgTypeCode": code, "msgStatusType": status,
                "extras": extras, "ctime": c, "utime": c, "msgTid": None, "cuid": None, "msgTime": t}

    def _viewer(self) -> SimUser:
        v = self.channel.viewers
        return v[min(bisect.bisect_left(self.channel.cum_weights, self.rng.random() * self._total), len(v) - 1)]

    def _chat(self, t: int) -> dict:
        rng = self.rng
        r = rng.random()
        if r < P_STREAMER:
            user, text = self.channel.streamer, rng.choice(C.STREAMER_LINES)
        elif r < P_STREAMER + P_MANAGER:
            user, text = rng.choice(self.channel.managers), rng.choice(C.MANAGER_LINES)
        else:
            user = self._viewer()
            r = rng.random()
            if r < 0.15:
                text = "ㅋ" * rng.randint(2, 16)
            elif r < 0.22:
                text = rng.choice(C.CHAT_QUESTIONS)
            else:
                text = rng.choice(C.CHAT_LINES)
        extras = user.chat_extras
        if rng.random() < 0.05:
            name = rng.choice(C.EMOJI_NAMES)
            text = f"{text} {{:{name}:}}"
            extras = extras.replace('"emojis":{}', f'"emojis":{dumps({name: self._emoji_base + name + ".png"})}')
        status = "CBOTBLIND" if rng.random() < P_CBOT_LINE else "NORMAL"
        self._recent_chat.append((user.user_id, t))
        return self._item(t, user.user_id, user.profile, text, 1, extras, status)

    def _donation(self, t: int) -> dict:
        rng = self.rng
        video = rng.random() < 0.1
        text = rng.choice(C.VIDEO_TITLES) if video else rng.choice(C.DONATION_LINES)
        anonymous = rng.random() < 0.85
        ex: dict = {"emojis": {}, "streamingChannelId": self.channel.channel_id,
                    "donationId": token(rng, 29, C_ALNUM), "donationType": "VIDEO" if video else "CHAT",
                    "weeklyRankList": [], "isAnonymous": anonymous, "payType": "CURRENCY",
                    "payAmount": rng.choice(C.PAY_AMOUNTS)}
        if anonymous:
            uid, profile = "anonymous", None
            ex["osType"] = rng.choice(C.OS_TYPES)
            if rng.random() < 0.1:  # some anonymous items lack these keys altogether
                for key in ("emojis", "streamingChannelId", "osType"):
                    ex.pop(key)
        else:
            user = self._viewer()
            uid, profile = user.user_id, user.profile
            ex["nickname"] = user.nickname
            ex["osType"] = user.os_type
        ex["continuousDonationDays"] = rng.choice((0, 0, 0, 1, 2, 4))
        ex["chatType"] = "STREAMING"
        return self._item(t, uid, profile, text, 10, dumps(ex), delay=rng.randint(3, 40))

    def _donations(self, t: int, room: int) -> list[dict]:
        """A donation line; some become a mission (with its events and participations, at
        most ``room`` lines) or a party donation."""
        item = self._donation(t)
        r = self._money.random()
        if r < P_MISSION:
            return self._mission(item, room)
        if r < P_MISSION + P_PARTY:
            return [self._party(item)]
        return [item]

    def _mission(self, item: dict, room: int) -> list[dict]:
        """``item`` as a mission's PENDING line, then its life: events, participations."""
        rng, t = self._money, item["msgTime"]
        ex = json.loads(item["extras"])
        mission_id = token(rng, 29, C_ALNUM)
        text = rng.choice(MISSION_TEXTS)
        ex.update(donationType="MISSION", durationTime=rng.choice((180, 300, 600)), missionDonationId=mission_id,
                  missionDonationType="ALONE", missionCreatedTime=kst_wall(t), missionStartTime=None,
                  missionEndTime=None, missionText=text, totalPayAmount=ex["payAmount"], participationCount=0,
                  status="PENDING", success=False)
        lines = [dict(item, msg=text, extras=dumps(ex))]
        # the event repeats the line's donation fields (payType, donationType, donationId):
        # clients read it as a donation (chzzkpy's MissionDonation requires them, chzzk4j
        # parses the event body as the line's extras)
        event = {k: ex.get(k) for k in ("missionDonationId", "missionDonationType", "missionText", "payType",
                                         "payAmount", "donationType", "donationId", "totalPayAmount",
                                         "participationCount", "durationTime", "missionCreatedTime",
                                         "isAnonymous", "nickname")}
        event.update(userIdHash=None if item["uid"] == "anonymous" else item["uid"], type=MISSION_EVENT)
        self._side.append((CMD_EVENT, dict(event, status="PENDING", success=False)))
        r = rng.random()
        if r < 0.3:
            return lines  # the streamer has not answered yet
        if r < 0.5:
            self._side.append((CMD_EVENT, dict(event, status="REJECTED" if r < 0.4 else "EXPIRED", success=False)))
            return lines
        self._side.append((CMD_EVENT, dict(event, status="APPROVED", missionStartTime=kst_wall(t), success=False)))
        total, joined = ex["payAmount"], 0
        for k in range(min(rng.choice((0, 1, 2)), room - 1)):
            amount = rng.choice(C.PAY_AMOUNTS)
            total, joined = total + amount, joined + 1
            anonymous = rng.random() < 0.7
            user = None if anonymous else self._viewer()
            part = {"emojis": {}, "streamingChannelId": self.channel.channel_id,
                    "donationId": token(rng, 29, C_ALNUM), "donationType": "MISSION_PARTICIPATION",
                    "weeklyRankList": [], "isAnonymous": anonymous, "payType": "CURRENCY", "payAmount": amount,
                    "missionDonationId": token(rng, 29, C_ALNUM), "relatedMissionDonationId": mission_id,
                    "missionDonationType": "PARTICIPATION", "missionText": text, "totalPayAmount": total,
                    "participationCount": joined, "status": "APPROVED", "success": False,
                    "osType": user.os_type if user else "PC", "continuousDonationDays": 0, "chatType": "STREAMING"}
            if user:
                part["nickname"] = user.nickname
            lines.append(self._item(t + 1 + k, user.user_id if user else "anonymous", user.profile if user else None,
                                    "", 10, dumps(part), delay=5))
        self._side.append((CMD_EVENT, dict(event, status="COMPLETED", success=rng.random() < 0.7,
                                           totalPayAmount=total, participationCount=joined)))
        return lines

    def _party(self, item: dict) -> dict:
        """``item`` as a party donation, and the party's running total (an event)."""
        ex = json.loads(item["extras"])
        ex.update(donationType="PARTY", partyDonationId=f"party-{self.channel.channel_id[:8]}",
                  partyName=f"{self.channel.channel_name} 파티", partyNo=int(self.channel.channel_id[:6], 16) % 10000)
        self._party_total += ex["payAmount"]
        self._side.append((CMD_EVENT, {
            "hostChannelVerifiedMark": False, "hostChannelNickname": self.channel.channel_name, "memberCount": 3,
            "partyName": ex["partyName"], "profileImageUrlList": [], "totalDonationAmount": self._party_total,
            "status": "OPEN", "type": "PARTY_DONATION_INFO"}))
        return dict(item, extras=dumps(ex))

    def _subscription(self, t: int) -> dict:
        subs = [u for u in self.channel.viewers[:400] if u.sub_tier] or [self.channel.viewers[0]]
        user = self.rng.choice(subs)
        tier = user.sub_tier or 1
        ex = {"month": user.sub_month or 1, "tierName": self.channel.tier_names[tier - 1],
              "nickname": user.nickname, "tierNo": tier}
        return self._item(t, user.user_id, user.profile, self.rng.choice(C.SUBSCRIPTION_LINES), 11,
                          dumps(ex), delay=self.rng.randint(1, 10))

    def _gift(self, t: int, room: int) -> list[dict]:
        rng = self.rng
        quantity = max(1, min(room, rng.choice((1, 1, 1, 2, 3, 5, 10))))
        gift_id = token(rng, 29, C_ALNUM)
        tier = 2 if rng.random() < 0.1 else 1
        tier_name = self.channel.tier_names[tier - 1]
        selection = rng.choice(("MANUAL", "RANDOM"))
        receivers = rng.sample(self.channel.viewers, min(quantity, len(self.channel.viewers)))
        self._side.append((CMD_EVENT, {
            "giftId": gift_id, "selectionType": selection, "quantity": len(receivers),
            "partialRefundedQuantity": 0, "giftTierNo": tier, "anonymousToken": f"{rng.getrandbits(160):040x}",
            "senderTierNo": rng.choice((1, 2)), "giftType": "SUBSCRIPTION_GIFT", "failedUsers": None,
            "completedQuantity": len(receivers), "type": "SUBSCRIPTION_GIFT", "giftTierName": tier_name}))
        lines = []
        for user in receivers:
            ex = {"giftId": gift_id, "receiverUserIdHash": user.user_id, "selectionType": selection,
                  "giftTierNo": tier, "receiverVerifiedMark": False, "giftType": "SUBSCRIPTION_GIFT_RECEIVER",
                  "receiverNickname": user.nickname, "giftTierName": tier_name}
            lines.append(self._item(t, "anonymous", None, "", 12, dumps(ex), delay=3))
            self._side.append((CMD_EVENT, {
                "giftId": gift_id, "receiverUserIdHash": user.user_id, "selectionType": selection,
                "giftTierNo": tier, "userIdHash": None, "receiverVerifiedMarkType": None,
                "receiverVerifiedMark": False, "giftType": "SUBSCRIPTION_GIFT_RECEIVER",
                "receiverNickname": user.nickname, "type": "SUBSCRIPTION_GIFT_RECEIVER",
                "giftTierName": tier_name}))
        return lines

    def _restrict(self, t: int) -> dict:
        """A manager restricts a viewer: a manager-only system line plus a 93006 event."""
        rng = self.rng
        manager, target = rng.choice(self.channel.managers), self._viewer()
        ex = {"description": f"{manager.nickname}님이 {target.nickname}님을 임시 제한 처리했습니다.",
              "styleType": 3, "visibleRoles": _VISIBLE_TO_MANAGERS,
              "params": {"registerNickname": manager.nickname, "registerChatProfileJson": manager.profile,
                         "targetNickname": target.nickname, "targetChatProfileJson": target.profile}}
        self._side.append((CMD_EVENT, {"duration": 30, "times": 1, "userIdHash": target.user_id,
                                       "createdTime": kst_wall(t, millis=True), "type": "TEMPORARY_RESTRICT"}))
        return self._item(t, "SYSTEM_MESSAGE", "{}", "채팅 참여가 제한되었습니다.", 30, dumps(ex))

    # -- background ---------------------------------------------------------------------
    def _drift(self) -> None:
        step = max(3, self.member_count // 100)
        self.member_count = max(20, self.member_count + self.rng.randint(-step, step))

    def _maybe_side(self, t: int) -> None:
        rng = self.rng
        r = rng.random()
        if r < P_BLIND and self._recent_chat:
            uid, msg_time = rng.choice(self._recent_chat)
            self._side.append((CMD_BLIND, {
                "messageTime": msg_time, "blindType": "BLIND" if rng.random() < 0.7 else "CBOTBLIND",
                "blindUserId": None, "serviceId": "game", "message": None, "userId": uid,
                "channelId": self.cid}))
        elif r < P_BLIND + P_CHAT_MODE:
            self._side.append((CMD_EVENT, {
                "minFollowerMinute": rng.choice((0, 1440, 43200)), "chatEmojiMode": rng.random() < 0.3,
                "chatSlowModeSec": rng.choice((0, 0, 3, 10)), "allowSubscriberInFollowerMode": True,
                "chatAvailableGroup": rng.choice(("ALL", "FOLLOWER")), "chatDonationRankingExposure": False,
                "type": "CHANGE_CHAT_MODE", "chatAvailableCondition": rng.choice(("NONE", "REAL_NAME"))}))


C_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"


@dataclass
class SimBroadcast:
    """One past broadcast of a channel (times in ms since epoch, UTC)."""
    channel: SimChannel
    chat_channel_id: str
    open_ms: int
    close_ms: int
    title: str
    category: tuple[str, str, str]


def broadcasts(channels: list[SimChannel], days: int, end: datetime, seed) -> list[SimBroadcast]:
    """The broadcast schedule of the last ``days`` days before ``end``: most evenings (KST),
    opening 18:00–22:30, lasting 1.5–5 h, each with a new chat channel id. Sorted by open."""
    rng = random.Random(f"schedule:{seed}")
    end_ms = int(end.timestamp() * 1000)
    start_ms = end_ms - days * 86_400_000
    end_kst = end.astimezone(KST)
    taken = {c.chat_channel_id for c in channels}
    out = []
    for ch in channels:
        for back in range(days, -1, -1):
            day = (end_kst - timedelta(days=back)).replace(hour=18, minute=0, second=0, microsecond=0)
            if rng.random() > 0.8:
                continue
            open_ms = int(day.timestamp() * 1000) + rng.randrange(0, 270) * 60_000 + rng.randrange(60_000)
            close_ms = open_ms + rng.randrange(90, 300) * 60_000 + rng.randrange(60_000)
            if open_ms < start_ms or close_ms > end_ms:
                continue
            category = ch.category if rng.random() < 0.7 else C.CATEGORIES[rng.randrange(len(C.CATEGORIES))]
            out.append(SimBroadcast(ch, chat_channel_id(rng, taken), open_ms, close_ms,
                                    make_title(rng, ch.channel_name), category))
    out.sort(key=lambda b: (b.open_ms, b.channel.channel_id))
    return out


def history(channels: list[SimChannel], days: int, end: datetime, seed,
            rate_per_min: float = 60.0) -> Iterator[tuple[SimChannel, str, list[dict]]]:
    """Synthetic past broadcasts (see ``broadcasts``), one (channel, chat_channel_id, items)
    per broadcast, items in live key names with past msgTimes. Chat activity rises after the
    opening, falls before the end and has a few peaks; ``rate_per_min`` scales it (default:
    a few thousand to ~20k lines per broadcast). Blinds are applied to the lines they hit."""
    for b in broadcasts(channels, days, end, seed):
        yield b.channel, b.chat_channel_id, broadcast_items(b, seed, rate_per_min)


def broadcast_items(b: SimBroadcast, seed, rate_per_min: float = 60.0) -> list[dict]:
    """All chat lines of one past broadcast."""
    stream = ChatStream(b.channel, f"history:{seed}", chat_channel_id=b.chat_channel_id)
    rng = random.Random(f"curve:{seed}:{b.chat_channel_id}")
    minutes = max(1, (b.close_ms - b.open_ms) // 60_000)
    peaks = [(rng.uniform(0.1, 0.95) * minutes, rng.uniform(3, 15), rng.uniform(0.5, 2.0))
             for _ in range(rng.randint(2, 4))]
    items: list[dict] = []
    by_key: dict[tuple[str, int], dict] = {}
    for m in range(minutes):
        x = (m + 0.5) / minutes
        shape = math.sin(math.pi * x) ** 0.5 * (1 + sum(a * math.exp(-((m - c) / w) ** 2) for c, w, a in peaks))
        lam = rate_per_min * b.channel.activity * shape
        n = max(0, int(lam + rng.gauss(0, math.sqrt(lam) if lam > 0 else 0)))
        start = len(items)
        items.extend(stream.next_items(b.open_ms + m * 60_000, n, spread_ms=60_000))
        for it in items[start:]:
            if it["msgTypeCode"] == 1:
                by_key[(it["uid"], it["msgTime"])] = it
        for cmd, body in stream.pop_side_frames():
            if cmd == CMD_BLIND:
                hit = by_key.get((body["userId"], body["messageTime"]))
                if hit is not None:
                    hit["msgStatusType"] = body["blindType"]
        if len(by_key) > 2000:
            by_key.clear()
    return items


def utc_ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


__all__ += ["broadcast_items", "kst_wall", "utc_ms", "hex32"]
