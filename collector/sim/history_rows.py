"""The rows of a generated history (collector.sim.history) as the collector stores them:
stream_chat columns, ``raw`` the item exactly as received (live key names, ``profile`` and
``extras`` JSON strings inside it: collector/records.py), ``badges`` from the profile. Pure
and seeded; the JSON texts are built from templates (no json.dumps per line) so 10M lines
take about a minute.

Text: Korean chat drawn from collector.sim.corpus (short common lines, laughter, questions)
and composed lines over a Zipf vocabulary (most lines of a big history are unique, as in
real chat: a corpus of 74 lines would compress like no real chat does), 5 % with an emoji
code ``{:name:}`` that extras.emojis names."""
from __future__ import annotations

import base64
import hashlib
from dataclasses import dataclass, field

import numpy as np
import orjson

from collector.sim import corpus as C
from collector.sim.history import (
    CHAT,
    DONATION,
    DONATION_TYPE_SHARES,
    DONATION_TYPES,
    GIFT,
    MISSION_STATUS_SHARES,
    MISSION_STATUSES,
    STATUSES,
    SUBSCRIPTION,
    SYSTEM,
    History,
)

_ALNUM = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"
_SYLLABLES = ("가나다라마바사아자차카타파하거너더러머버서어저처커터퍼허고노도로모보소오조초코토포호구누두루무부"
              "수우주추쿠투푸후기니디리미비시이지치키티피히개내대래매배새애재채캐태패해게네데레메베세에제체케테페헤"
              "강낭당랑망방상앙장창캉탕팡항건넌던런먼번선언전천컨턴펀헌곤논돈론몬본손온존촌콘톤폰혼")
_WORDS = ("오늘", "방송", "진짜", "완전", "그냥", "근데", "아니", "이거", "저거", "지금", "내일", "어제", "게임",
          "보스", "한판", "다음", "레전드", "미쳤다", "대박", "ㄹㅇ", "ㅋㅋ", "ㅎㅎ", "ㄷㄷ", "헐", "와", "오", "굿",
          "나이스", "가즈아", "화이팅", "감사", "축하", "구독", "도네", "채팅", "노래", "합방", "클립", "하이라이트",
          "아이템", "스킬", "레벨", "랭크", "티어", "골드", "실버", "다이아", "마스터", "챌린저", "팀", "적", "킬",
          "데스", "어시", "캐리", "트롤", "버스", "각", "타이밍", "실수", "운", "실력", "컨트롤", "판단", "선택",
          "배고파", "치킨", "피자", "라면", "커피", "졸려", "퇴근", "출근", "학교", "회사", "주말", "평일", "새벽",
          "스트리머", "시청자", "매니저", "공지", "분탕", "뉴비", "고인물", "형", "누나", "님", "언니", "오빠",
          "좋아요", "싫어요", "몰라", "알아", "그래", "맞아", "아냐", "제발", "빨리", "천천히", "조심", "뒤에", "앞에",
          "왼쪽", "오른쪽", "위에", "아래", "여기", "저기", "거기", "언제", "어디", "누가", "뭐", "왜", "어떻게")
_ENDINGS = ("", "", "", "", "ㅋㅋ", "ㅋㅋㅋㅋ", "ㅠㅠ", "!!", "?", "~", "ㄷㄷ", ";;")
EMOJI_SHARE = 50          # per mille of chat lines with an emoji code


def _syllable_words(rng: np.random.Generator, n: int) -> list[str]:
    lengths = rng.integers(1, 4, n)
    picks = rng.integers(0, len(_SYLLABLES), (n, 3))
    return ["".join(_SYLLABLES[j] for j in picks[i, :lengths[i]]) for i in range(n)]


@dataclass
class Texts:
    """The text pools a history's lines index (made once per history, seeded)."""
    composed: list[str]
    vocabulary: list[str] = field(repr=False)

    @classmethod
    def make(cls, seed: int, size: int) -> Texts:
        rng = np.random.default_rng([seed, 1])
        vocab = list(_WORDS) + _syllable_words(rng, 4000)
        ranks = np.arange(1, len(vocab) + 1, dtype=np.float64) ** -1.1
        cum = np.cumsum(ranks / ranks.sum())
        n_words = rng.integers(1, 9, size)
        words = np.minimum(np.searchsorted(cum, rng.random((size, 8))), len(vocab) - 1)
        ends = rng.integers(0, len(_ENDINGS), size)
        composed = [" ".join([vocab[w] for w in words[i, :n_words[i]]]) + _ENDINGS[ends[i]] for i in range(size)]
        return cls(composed, vocab)


def _hexes(rng: np.random.Generator, n: int, width: int = 32) -> list[str]:
    text = rng.bytes(n * width // 2).hex()
    return [text[i:i + width] for i in range(0, len(text), width)]


def _token(key: str, n: int) -> str:
    """A deterministic token of n letters and digits (ids CHZZK writes in base62)."""
    text = base64.b64encode(hashlib.sha512(key.encode()).digest() * (1 + n // 60), b"xy").decode()
    return text[:n]


def _nickname(seed: int, user: int, version: int) -> str:
    h = int.from_bytes(hashlib.blake2b(f"{seed}:{user}:{version}".encode(), digest_size=8).digest(), "big")
    if h % 100 < 45:
        return f"{C.NICK_ADJ[(h >> 8) % len(C.NICK_ADJ)]} {C.NICK_NOUN[(h >> 16) % len(C.NICK_NOUN)]} {1000 + (h >> 24) % 9000}"
    name = C.NICK_SHORT[(h >> 8) % len(C.NICK_SHORT)]
    return name if h % 100 < 60 else f"{name}{(h >> 16) % 100_000}"


def _esc(text: str) -> str:
    """`text` as the inside of a JSON string (quotes and backslashes escaped)."""
    return orjson.dumps(text).decode()[1:-1]


def _json(value) -> str:
    """Compact JSON, Korean kept as-is (as CHZZK writes profile and extras)."""
    return orjson.dumps(value).decode()


@dataclass
class World:
    """Names and ids of a history's channels, chatters and broadcasts."""
    seed: int
    channel_ids: list[str]
    channel_names: list[str]
    follower_counts: list[int]
    tier_names: list[tuple[str, str]]
    user_ids: list[str]
    chat_channel_ids: list[str]
    streamers: int                      # chatters >= this index are the channels' streamers
    os_types: np.ndarray = field(repr=False)
    colors: np.ndarray = field(repr=False)
    badged: np.ndarray = field(repr=False)

    @classmethod
    def make(cls, h: History) -> World:
        seed, n_ch = h.shape.seed, h.shape.channels
        rng = np.random.default_rng([seed, 2])
        names = list(C.STREAMER_NAMES)
        rng.shuffle(names)
        ch_names = [names[i] if i < len(names) else f"{names[i % len(names)]}{i}" for i in range(n_ch)]
        followers = (1000 + 900_000 * (h.channel_volume / h.channel_volume.max()) * rng.uniform(0.5, 1.5, n_ch))
        tiers = [(f"{n[:2]}{C.TIER_NAMES[i % len(C.TIER_NAMES)]}", f"{n[:2]}{C.TIER_NAMES[i % len(C.TIER_NAMES)]} 2")
                 for i, n in enumerate(ch_names)]
        n_users = len(h.home)
        cids = set()
        chat_ids = []
        for b in range(len(h.b_channel)):
            k = 0
            while (cid := "N" + _token(f"{seed}:cid:{b}:{k}", 5)) in cids:
                k += 1
            cids.add(cid)
            chat_ids.append(cid)
        return cls(seed, _hexes(rng, n_ch), ch_names, followers.astype(int).tolist(), tiers, _hexes(rng, n_users),
                   chat_ids, h.n_chatters, rng.integers(0, len(C.OS_TYPES), n_users),
                   rng.integers(0, len(C.COLOR_CODES), n_users), rng.random(n_users) < 0.2)


class Renderer:
    """Builds each line's columns and raw JSON; per-chatter texts cached for chatters with
    several lines (the profile and badges of a line depend on the chatter, its nickname
    version and whether it is subscribed to the line's channel)."""

    def __init__(self, h: History, world: World, texts: Texts):
        self.h, self.w, self.t = h, world, texts
        self._cache: dict[tuple[int, bool, bool], tuple] = {}
        self.fks = [str(i + 1) for i in range(h.shape.channels)]  # stream_channel.id of each channel (loader sets)

    def nickname(self, user: int, renamed: bool) -> str:
        if user >= self.w.streamers:
            return self.w.channel_names[user - self.w.streamers]
        return _nickname(self.w.seed, user, int(renamed))

    def person(self, user: int, renamed: bool, subscribed: bool) -> tuple:
        """(nickname, role, os, color, escaped profile JSON, badges JSON or None, extras head)."""
        key = (user, renamed, subscribed)
        got = self._cache.get(key)
        if got is not None:
            return got
        h, w = self.h, self.w
        streamer = user >= w.streamers
        nick = self.nickname(user, renamed)
        role = "streamer" if streamer else "common_user"
        os_type = C.OS_TYPES[w.os_types[user]]
        color = "CC000" if streamer else C.COLOR_CODES[w.colors[user]]
        badge = title = None
        if streamer:
            badge = {"imageUrl": f"{C.BADGE_BASE}/icon/streamer.png"}
            title = {"name": "스트리머", "color": "#D9B04F"}
        activity, viewer = [], []
        if w.badged[user]:
            badge_id, url = C.ACTIVITY_BADGES[user % len(C.ACTIVITY_BADGES)]
            activity.append({"badgeNo": 10_000 + user, "badgeId": badge_id, "imageUrl": url, "activated": True})
            viewer.append({"type": "STANDARD", "badge": {"badgeId": badge_id, "scope": "CHANNEL", "imageUrl": url}})
        prop: dict = {}
        home = int(h.home[user])
        if subscribed:
            tier, month = int(h.sub_tier[user]), int(h.sub_month[user])
            prop["subscription"] = {
                "accumulativeMonth": month, "tier": tier, "tierName": w.tier_names[home][tier - 1],
                "badge": {"imageUrl": f"https://nng-phinf.pstatic.net/glive/subscription/badge/"
                                      f"{w.channel_ids[home]}/{tier}/{min(month, 60)}.png"}}
        prop["nicknameColor"] = {"colorCode": color}
        prop["activatedAchievementBadgeIds"] = []
        profile = _json({"userIdHash": w.user_ids[user], "nickname": nick, "profileImageUrl": "",
                         "userRoleCode": role, "badge": badge, "title": title, "verifiedMark": streamer,
                         "verifiedMarkType": None, "activityBadges": activity, "streamingProperty": prop,
                         "viewerBadges": viewer})
        found = ([badge] if badge else []) + activity + viewer
        badges = _json(found) if found else None
        extras_head = _esc('{"chatType":"STREAMING","osType":"' + os_type + '","streamingChannelId":"')
        token = _token(f"{w.seed}:tok:{user}", 86) + "=="
        got = (nick, role, os_type, color, _esc(profile), badges, extras_head, token)
        if h.lines_per_chatter[user] > 1:
            self._cache[key] = got
        return got

    def _message(self, d: int) -> str:
        r = d % 1000
        if r < 150:
            return "ㅋ" * (2 + (d >> 10) % 15)
        if r < 180:
            return C.CHAT_QUESTIONS[(d >> 10) % len(C.CHAT_QUESTIONS)]
        if r < 450:
            k = (d >> 10) % 4096  # the corpus' lines, a few far more often than the rest
            return C.CHAT_LINES[int(len(C.CHAT_LINES) * (k / 4096) ** 3)]
        pool = self.t.composed
        return pool[(d >> 10) % len(pool)]

    def render(self, idx: np.ndarray) -> tuple[list[str], list[str], list[str | None]]:
        """Lines `idx` of the history: (COPY text of each line's columns up to but not
        including badges_z/raw_z/zdict, tab-terminated; raw JSON; badges JSON or None)."""
        h, w = self.h, self.w
        t = h.time_ms[idx]
        stamps = np.datetime_as_string(t.astype("datetime64[ms]"), unit="ms", timezone="UTC").tolist()
        created = np.datetime_as_string((t + 50 + h.draw[idx] % 900).astype("datetime64[ms]"), unit="ms",
                                        timezone="UTC").tolist()
        keys = _hexes(np.random.default_rng([w.seed, 3, int(idx[0]) if len(idx) else 0]), len(idx))
        heads, raws, badges = [], [], []
        bs = h.broadcast[idx]
        member_counts = (h.b_viewers[bs] + (h.draw[idx] >> 7) % 41 - 20).tolist()
        for j, (ms, ch, b, u, kind, st, anon, ren, subd, d) in enumerate(zip(
                t.tolist(), h.channel[idx].tolist(), bs.tolist(), h.user[idx].tolist(),
                h.kind[idx].tolist(), h.status[idx].tolist(), h.anonymous[idx].tolist(), h.renamed[idx].tolist(),
                h.subscribed[idx].tolist(), h.draw[idx].tolist(), strict=True)):
            cid, chid = w.chat_channel_ids[b], w.channel_ids[ch]
            members = member_counts[j]
            if kind == CHAT:
                nick, role, os_type, color, profile, badge, head, token = self.person(u, ren, subd)
                msg = self._message(d)
                if (d >> 22) % 1000 < EMOJI_SHARE:
                    name = C.EMOJI_NAMES[(d >> 12) % len(C.EMOJI_NAMES)]
                    msg = f"{msg} {{:{name}:}}"
                    emojis = (f'{{\\"{name}\\":\\"https://nng-phinf.pstatic.net/glive/subscription/emoji/'
                              f'{chid}/1/{name}.png\\"}}')
                else:
                    emojis = "{}"
                status = STATUSES[st]
                said = "NORMAL" if status == "BLIND" else status    # a BLIND comes later (94008)
                raws.append(f'{{"svcid":"game","cid":"{cid}","mbrCnt":{members},"uid":"{w.user_ids[u]}",'
                            f'"profile":"{profile}","msg":"{msg}","msgTypeCode":1,"msgStatusType":"{said}",'
                            f'"extras":"{head}{chid}\\",\\"emojis\\":{emojis},\\"extraToken\\":\\"{token}\\"}}",'
                            f'"ctime":{ms},"utime":{ms},"msgTid":null,"cuid":null,"msgTime":{ms}}}')
                blind = status if status in ("CBOTBLIND", "BLIND") else None
                sub = (str(h.sub_month[u]), str(h.sub_tier[u])) if subd else ("\\N", "\\N")
                heads.append("\t".join((
                    self.fks[ch], cid, w.user_ids[u], nick, msg, "chat", "1", status, stamps[j], created[j], *sub, os_type, role,
                    "\\N", "\\N", "\\N", "\\N", "f", "\\N", "\\N", "\\N", color, str(members), blind or "\\N",
                    stamps[j] if blind == "BLIND" else "\\N", keys[j], "\\N", "\\N", "\\N", "\\N", "")))
                badges.append(badge)
                continue
            head, raw, badge = self._other(kind, ms, u, anon, ren, subd, d, ch, cid, members, stamps[j],
                                           created[j], keys[j])
            heads.append(head)
            raws.append(raw)
            badges.append(badge)
        return heads, raws, badges

    def _other(self, kind, ms, u, anon, ren, subd, d, ch, cid, members, stamp, created, key):
        """A donation, subscription, gift or system line: (COPY head, raw, badges)."""
        w = self.w
        chid = w.channel_ids[ch]
        nick, role, os_type, color, profile, badge, _, _ = self.person(u, ren, subd)
        uid, sub = w.user_ids[u], ((str(self.h.sub_month[u]), str(self.h.sub_tier[u])) if subd else ("\\N", "\\N"))
        n = "\\N"
        cols = dict.fromkeys(("pay_amount", "pay_type", "donation_type", "donation_id", "gift_receiver_id",
                              "gift_receiver_nickname", "gift_tier", "mission_id", "donation_status", "gift_id",
                              "gift_quantity"), n)
        if kind == DONATION:
            code, mtype = 10, "donation"
            dtype = DONATION_TYPES[int(np.searchsorted(np.cumsum(DONATION_TYPE_SHARES), (d % 1000) / 1000))]
            amount = C.PAY_AMOUNTS[(d >> 10) % len(C.PAY_AMOUNTS)]
            did = _token(f"{w.seed}:don:{ms}:{d}", 29)
            msg = (C.VIDEO_TITLES[(d >> 12) % len(C.VIDEO_TITLES)] if dtype == "VIDEO"
                   else "" if dtype == "MISSION_PARTICIPATION" else C.DONATION_LINES[(d >> 12) % len(C.DONATION_LINES)])
            extras = {"emojis": {}, "streamingChannelId": chid, "donationId": did, "donationType": dtype,
                      "weeklyRankList": [], "isAnonymous": anon, "payType": "CURRENCY", "payAmount": amount}
            cols.update(pay_amount=str(amount), pay_type="CURRENCY", donation_type=dtype, donation_id=did)
            if dtype.startswith("MISSION"):
                mission = _token(f"{w.seed}:mission:{ms}:{d // 3}", 29)
                status = MISSION_STATUSES[int(np.searchsorted(np.cumsum(MISSION_STATUS_SHARES), ((d >> 16) % 1000) / 1000))]
                extras.update(missionDonationId=mission, status=status, missionText=msg or "미션")
                if dtype == "MISSION_PARTICIPATION":
                    extras["relatedMissionDonationId"] = mission
                cols.update(mission_id=mission, donation_status=status)
            if not anon:
                extras["nickname"] = nick
            extras.update(osType=os_type, continuousDonationDays=(d >> 20) % 5, chatType="STREAMING")
        elif kind == SUBSCRIPTION:
            code, mtype = 11, "subscription"
            tier, month = (int(self.h.sub_tier[u]), int(self.h.sub_month[u])) if subd else (1, 1)
            msg = C.SUBSCRIPTION_LINES[(d >> 10) % len(C.SUBSCRIPTION_LINES)]
            extras = {"month": month, "tierName": w.tier_names[int(self.h.home[u])][tier - 1], "nickname": nick,
                      "tierNo": tier}
            sub = (str(month), str(tier))
        elif kind == GIFT:
            code, mtype, msg = 12, "subscription_gift", ""
            gift = _token(f"{w.seed}:gift:{ms}:{d}", 29)
            extras = {"giftId": gift, "receiverUserIdHash": uid, "selectionType": "MANUAL", "giftTierNo": 1,
                      "receiverVerifiedMark": False, "giftType": "SUBSCRIPTION_GIFT_RECEIVER",
                      "receiverNickname": nick, "giftTierName": w.tier_names[0][0]}
            cols.update(gift_receiver_id=uid, gift_receiver_nickname=nick, gift_tier="1", gift_id=gift,
                        gift_quantity="1")
        else:  # SYSTEM
            code, mtype, msg = 30, "system", "채팅 참여가 제한되었습니다."
            extras = {"description": f"매니저님이 {nick}님을 임시 제한 처리했습니다.", "styleType": 3,
                      "visibleRoles": ["STREAMING_CHANNEL_MANAGER", "STREAMING_CHAT_MANAGER", "STREAMER", "MANAGER"],
                      "params": {"targetNickname": nick}}
        shown = kind in (DONATION, SUBSCRIPTION) and not anon
        if not shown:
            uid_line = "SYSTEM_MESSAGE" if kind == SYSTEM else "anonymous"
            profile_json = "{}" if kind == SYSTEM else None
            badge, nick_col, role_col, color_col, sub = None, n, n, n, (n, n)
        else:
            uid_line, profile_json, nick_col, role_col, color_col = uid, profile, nick, role, color
        ex = _esc(_json(extras))
        prof = "null" if profile_json is None else f'"{profile_json}"'
        raw = (f'{{"svcid":"game","cid":"{cid}","mbrCnt":{members},"uid":"{uid_line}","profile":{prof},'
               f'"msg":"{_esc(msg)}","msgTypeCode":{code},"msgStatusType":"NORMAL","extras":"{ex}",'
               f'"ctime":{ms},"utime":{ms},"msgTid":null,"cuid":null,"msgTime":{ms}}}')
        os_col = os_type if kind == DONATION else n  # extras.osType: donations only
        head = "\t".join((self.fks[ch], cid, uid_line, nick_col, msg or "", mtype, str(code), "NORMAL", stamp, created, *sub,
                          os_col, role_col, cols["pay_amount"], cols["pay_type"], cols["donation_type"],
                          cols["donation_id"], "t" if uid_line == "anonymous" else "f", cols["gift_receiver_id"],
                          cols["gift_receiver_nickname"], cols["gift_tier"], color_col, str(members), n, n, key,
                          cols["mission_id"], cols["donation_status"], cols["gift_id"], cols["gift_quantity"], ""))
        return head, raw, badge


# the stream_chat columns of Renderer.render's COPY text, in order (then the frames)
COLUMNS = ("channel_fk", "chat_channel_id", "user_id", "nickname", "message", "message_type", "msg_type_code",
           "message_status", "chat_time", "created_at", "subscription_month", "subscription_tier", "os_type",
           "user_role", "pay_amount", "pay_type", "donation_type", "donation_id", "is_anonymous",
           "gift_receiver_id", "gift_receiver_nickname", "gift_tier", "color_code", "member_count", "blind_type",
           "blinded_at", "dedupe_key", "mission_id", "donation_status", "gift_id", "gift_quantity",
           "badges_z", "raw_z", "zdict")
