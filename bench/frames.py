"""Realistic CHZZK websocket frames for the collector benchmarks, deterministic from a seed.

What a collector receives during a busy broadcast (CHZZK_PROTOCOL.md): 93101 CHAT frames
carrying 1-6 items each (busy channels batch; 1.17 items per frame on average, as in
issue 17's reference: 170,530 chat frames for 200,000 lines), 93102 frames with one
donation / subscription / gift / system line each, 94008 blinds, 93006 events, and now and
then a server ping (0) or pong (10000). Korean text, ``profile``/``extras`` as JSON strings,
badges and emojis as the real service sends them.

Two styles, so nothing is tuned to one generator alone:

- ``"sim"``: the simulator's chat (``collector.sim.generator.ChatStream``) of 12 channels,
  one of them carrying half the lines, with its own 93006 events and 94008 blinds.
- ``"samples"``: built from the real frames in tests/data/samples.jsonl (the recorded
  wire shapes of chat lines, donations, subscriptions, gift and system lines, blinds and
  events, key order and escaping kept), with users, texts, amounts, ids and times varied.

    frames = frame_lines(200_000)            # list of bytes, one frame's JSON each, no newline
    frame_stats(frames)                      # {"frames": ..., "items": ..., "bytes": ...}

``lines`` is the number of chat lines (items of 93101/93102 frames) the frames carry; the
side frames (events, blinds, pings) come on top.
"""
from __future__ import annotations

import functools
import json
import random
from pathlib import Path

from collector.sim.generator import ChatStream, make_channels

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "samples.jsonl"
START_MS = 1_790_000_000_000
STYLES = ("sim", "samples")
# items per 93101 frame, 1..6: mean 1.173 (issue 17: 200,000 lines in 170,530 chat frames)
BATCH_WEIGHTS = (0.895, 0.068, 0.019, 0.009, 0.005, 0.004)
PING_EVERY = 2_000  # chat frames between two server pings (each answered by a pong)


def _dumps(obj) -> bytes:
    return json.dumps(obj, ensure_ascii=False, separators=(",", ":")).encode()


def _batch_sizes(rng: random.Random):
    sizes = range(1, len(BATCH_WEIGHTS) + 1)
    while True:
        yield from rng.choices(sizes, BATCH_WEIGHTS, k=1024)


def frame_lines(lines: int, seed: int = 7, style: str = "sim") -> list[bytes]:
    """Frames carrying ``lines`` chat lines (see the module docstring), each one frame's
    JSON text as UTF-8 bytes without a newline. Same arguments, same frames."""
    if style == "sim":
        return _sim_frames(lines, seed)
    if style == "samples":
        return _sample_frames(lines, seed)
    raise ValueError(f"style {style!r} is not one of {', '.join(STYLES)}")


def frame_stats(frames: list[bytes]) -> dict:
    """frames, items (chat lines + blinds + events: the records worth storing), chat_frames,
    chat_items, side (blind + event frames), control (ping/pong), bytes."""
    chat_frames = chat_items = side = control = 0
    for frame in frames:
        obj = json.loads(frame)
        cmd = obj.get("cmd")
        if cmd in (93101, 93102):
            chat_frames += 1
            body = obj.get("bdy")
            chat_items += len(body) if isinstance(body, list) else 1
        elif cmd in (0, 10000):
            control += 1
        else:
            side += 1
    return {"frames": len(frames), "items": chat_items + side, "chat_frames": chat_frames,
            "chat_items": chat_items, "side": side, "control": control,
            "bytes": sum(map(len, frames))}


def _chat_frame(items: list[dict], cmd: int, cid: str, tid) -> bytes:
    return _dumps({"svcid": "game", "ver": "1", "bdy": items, "cmd": cmd, "tid": tid, "cid": cid})


def _side_frame(cmd: int, body: dict, cid: str) -> bytes:
    return _dumps({"svcid": "game", "ver": "1", "bdy": body, "cmd": cmd, "tid": None, "cid": cid})


# ---------------------------------------------------------------- style "sim"
@functools.lru_cache(maxsize=4)
def _channels(seed: int) -> tuple:
    """The 12 simulated channels (~1.7 s to build; ChatStream only reads them)."""
    return tuple(make_channels(12, seed))


def _sim_frames(lines: int, seed: int) -> list[bytes]:
    rng = random.Random(f"frames:{seed}")
    channels = _channels(seed)
    streams = [ChatStream(ch, seed) for ch in channels]
    weights = [11] + [1] * (len(streams) - 1)  # the big event's channel carries half the lines
    sizes = _batch_sizes(rng)
    out: list[bytes] = []
    now, made, chat_frames = START_MS, 0, 0
    while made < lines:
        stream = rng.choices(streams, weights)[0]
        now += rng.randrange(0, 3)
        items = stream.next_items(now, min(next(sizes), lines - made))
        now = max(now, items[-1]["msgTime"])
        made += len(items)
        chat = [i for i in items if i["msgTypeCode"] == 1]
        if chat:
            chat_frames += 1
            out.append(_chat_frame(chat, 93101, stream.cid, f"{chat_frames % 10000}-{now}-{len(out)}"))
        out.extend(_chat_frame([i], 93102, stream.cid, None) for i in items if i["msgTypeCode"] != 1)
        out.extend(_side_frame(cmd, body, stream.cid) for cmd, body in stream.pop_side_frames())
        if chat and chat_frames % PING_EVERY == 0:
            out += [b'{"ver":"2","cmd":0}', b'{"ver":"2","cmd":10000}']
    return out


# ---------------------------------------------------------------- style "samples"
SAMPLE_TEXTS = (
    "어어 샌다", "EMS 도 한명 섭외?", "나이스한 아침이야", "그래서 계속 실수만 하는데 예술은 언제 보여주나요?",
    "이번 판은 진짜 이긴다", "와 방금 그거 뭐임??", "한타 각 나왔다", "오늘 컨디션 좋아보이네요", "gg",
    "ㄹㅇ 미쳤다", "이거 실화냐", "아 그걸 놓치네", "정글 어디감", "드래곤 챙겨야지", "침착하게 가자",
    "하이하이~", "방송 켜자마자 왔어요", "BGM 뭔가요?", "화질 좋네", "3세트 가나요", "레전드 경기다",
    "클립 따주세요", "?", "!!!!", "ㅠㅠㅠㅠ", "ㅎㅇㅎㅇ", "wow", "nice", "LET'S GO", "한국어 English 섞어서 씀",
)
DONATION_TEXTS = ("응원합니다! 오늘도 화이팅", "치킨 값 보탭니다", "노래 한 곡 부탁해요", "결승 가자!!!", "")
EMOJIS = ("d_47", "d_12", "d_33", "chzzk_smile", "d_88")
NICK_HEADS = ("관중", "시청자", "치즈", "야옹", "고양이", "멍멍", "달빛", "별빛", "观众", "viewer", "하늘", "바다")


class _SampleMaker:
    """Chat items, blinds and events shaped like the recorded ones, with varied content."""

    def __init__(self, seed: int):
        self.rng = random.Random(f"samples:{seed}")
        recorded = [json.loads(line) for line in SAMPLES.read_text(encoding="utf-8").splitlines() if line.strip()]
        self.items: dict[int, list[dict]] = {}  # msgTypeCode -> recorded live items
        self.events: list[dict] = []
        self.blinds: list[dict] = []
        for rec in recorded:
            raw = rec.get("_raw")
            frame = json.loads(raw) if isinstance(raw, str) else None
            if not isinstance(frame, dict):
                continue
            if frame.get("cmd") in (93101, 93102):
                for item in frame["bdy"]:
                    self.items.setdefault(item["msgTypeCode"], []).append(item)
            elif frame.get("cmd") == 93006:
                self.events.append(frame["bdy"])
            elif frame.get("cmd") == 94008:
                self.blinds.append(frame["bdy"])
            elif "messageTime" in frame and "userId" in frame:  # a recent-chat item: as a live one
                self.items.setdefault(frame["messageTypeCode"], []).append(_live_item(frame))
        self.channels = [(f"N2{self._token(4, 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_')}",
                          f"{self.rng.getrandbits(128):032x}", self.rng.randrange(300, 40_000)) for _ in range(8)]
        self.users = [(f"{self.rng.getrandbits(128):032x}", self._nickname()) for _ in range(4000)]
        self.recent: list[tuple[str, int]] = []

    def _token(self, n: int, alphabet: str) -> str:
        return "".join(self.rng.choice(alphabet) for _ in range(n))

    def _nickname(self) -> str:
        return f"{self.rng.choice(NICK_HEADS)}{self.rng.randrange(1, 100_000)}"

    def _text(self) -> str:
        rng = self.rng
        r = rng.random()
        if r < 0.2:
            text = rng.choice("ㅋㅎ") * rng.randint(2, 20)
        elif r < 0.3:
            text = " ".join(rng.choice(SAMPLE_TEXTS) for _ in range(rng.randint(2, 4)))
        else:
            text = rng.choice(SAMPLE_TEXTS)
        return text

    def item(self, cid: str, streamer: str, members: int, t: int) -> dict:
        rng = self.rng
        r = rng.random()
        code = 1 if r < 0.985 else 10 if r < 0.995 else 11 if r < 0.997 else 12 if r < 0.999 else 30
        template = rng.choice(self.items.get(code) or self.items[1])
        uid, nick = rng.choice(self.users)
        item = dict(template)
        item.update(cid=cid, mbrCnt=members, msgTime=t, ctime=t + rng.randrange(0, 40))
        item["utime"] = item["ctime"]
        old_uid, old_streamer = template["uid"], "17f0cfcba4ff608de5eabb5110d134d0"
        extras = template["extras"].replace(old_streamer, streamer).replace("18310fe936b08c9a92fa3f60bf209f0c", streamer)
        if code == 1:
            text = self._text()
            if rng.random() < 0.05:  # an emoji, as {:name:} in the text and its URL in extras
                name = rng.choice(EMOJIS)
                text += f" {{:{name}:}}"
                url = f"https://nng-phinf.pstatic.net/glive/subscription/emoji/{streamer}/1/{name}.png"
                extras = extras.replace('"emojis":{}', f'"emojis":{{"{name}":"{url}"}}')
            item["msg"] = text
        elif code == 10:
            item["msg"] = rng.choice(DONATION_TEXTS)
            extras = extras.replace(json.loads(template["extras"])["donationId"],
                                    self._token(29, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"))
            extras = extras.replace('"payAmount":1000', f'"payAmount":{rng.choice((1000, 1000, 2000, 5000, 10000))}')
        if old_uid not in ("anonymous", "SYSTEM_MESSAGE"):
            old_nick = json.loads(template["profile"])["nickname"]
            item["uid"] = uid
            item["profile"] = template["profile"].replace(old_uid, uid).replace(old_nick, nick)
            extras = extras.replace(old_nick, nick)
            if code == 1:
                self.recent = (self.recent + [(uid, t)])[-50:]
        item["extras"] = extras
        return item

    def side(self, cid: str, t: int) -> tuple[int, dict] | None:
        rng = self.rng
        r = rng.random()
        if r < 0.002 and self.recent:
            uid, msg_time = rng.choice(self.recent)
            body = dict(rng.choice(self.blinds), messageTime=msg_time, userId=uid, channelId=cid)
            return 94008, body
        if r < 0.004:
            body = dict(rng.choice(self.events))
            if "userIdHash" in body:
                body["userIdHash"] = rng.choice(self.users)[0]
            if "createdTime" in body:
                body["createdTime"] = f"2026-09-30 {rng.randrange(24):02d}:{rng.randrange(60):02d}:00.000"
            return 93006, body
        return None


def _live_item(recent: dict) -> dict:
    """A recorded 15101 item under the live key names and key order."""
    names = {"serviceId": "svcid", "channelId": "cid", "memberCount": "mbrCnt", "userId": "uid",
             "content": "msg", "messageTypeCode": "msgTypeCode", "messageStatusType": "msgStatusType",
             "createTime": "ctime", "updateTime": "utime", "messageTime": "msgTime"}
    live = {names.get(k, k): v for k, v in recent.items()}
    order = ("svcid", "cid", "mbrCnt", "uid", "profile", "msg", "msgTypeCode", "msgStatusType", "extras",
             "ctime", "utime", "msgTid", "cuid", "msgTime")
    return {k: live.get(k) for k in order}


def _sample_frames(lines: int, seed: int) -> list[bytes]:
    maker = _SampleMaker(seed)
    rng = maker.rng
    sizes = _batch_sizes(rng)
    weights = [8] + [1] * (len(maker.channels) - 1)
    out: list[bytes] = []
    now, made, chat_frames = START_MS, 0, 0
    while made < lines:
        cid, streamer, members = rng.choices(maker.channels, weights)[0]
        items = []
        for _ in range(min(next(sizes), lines - made)):
            now += rng.randrange(1, 4)
            items.append(maker.item(cid, streamer, members + rng.randrange(-50, 50), now))
        made += len(items)
        chat = [i for i in items if i["msgTypeCode"] == 1]
        if chat:
            chat_frames += 1
            out.append(_chat_frame(chat, 93101, cid, f"{chat_frames % 10000}-{now}-{rng.randrange(1000)}"))
        out.extend(_chat_frame([i], 93102, cid, None) for i in items if i["msgTypeCode"] != 1)
        side = maker.side(cid, now)
        if side:
            out.append(_side_frame(side[0], side[1], cid))
        if chat and chat_frames % PING_EVERY == 0:
            out += [b'{"ver":"2","cmd":0}', b'{"ver":"2","cmd":10000}']
    return out
