"""A tiny lake of chat with emote codes, laugh/cry runs and words (no PostgreSQL): two
channels, two days (Asia/Seoul), two broadcasts on channel A, for the emote and top-word
questions (tests/warehouse/test_emotes.py, test_words.py) and their pages.

Edge lines: a code used twice in a line, emote-only lines (with blanks), codes that
extras.emojis does not name, hostile URLs (javascript:, data:, http, another host, a quote),
a raw that is not JSON, extras given as an object instead of a string, an anonymous
donation with a code, a system line with a code (never counted), a user who changes name.
``build_emote_lake(root)`` writes it and returns {"rows", "channel_ids", "days", "A", "B",
"broadcasts"} with the rows as plain dicts (chat_time tz-aware UTC, ``day``)."""
from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from tests.lakefixture import write_rows
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT_SCHEMA

KST = ZoneInfo("Asia/Seoul")
A, B = "a" * 31 + "1", "b" * 31 + "2"
IMG = "https://nng-phinf.pstatic.net/glive/subscription/emoji/{ch}/1/{name}.png"
HOSTILE = {
    "js": "javascript:alert(1)",
    "data": "data:image/png;base64,AAAA",
    "http": "http://nng-phinf.pstatic.net/x.png",
    "evil": "https://evil.example.com/pstatic.net/x.png",
    "quote": 'https://ssl.pstatic.net/x.png" onerror="alert(1)',
}
# (channel, broadcast, minutes after 20:00 KST of the day index, user, nickname, message, emojis (None: raw not JSON))
LINES = [
    (A, "NA1", 0, 0, "u1", "김치", "안녕 {:d_47:} 방송 시작", {"d_47": "img"}),
    (A, "NA1", 0, 0, "u2", "철수", "{:d_47:} {:d_47:}", {"d_47": "img"}),
    (A, "NA1", 0, 1, "u2", "철수", "ㅋㅋㅋㅋ 진짜 웃기다 ㅋㅋ", {}),
    (A, "NA1", 0, 1, "u3", "영희", "ㅠㅠㅠ 오늘 방송 재밌다", {}),
    (A, "NA1", 0, 2, "u1", "김치", " {:d_12:}{:d_47:} ", {"d_12": "img", "d_47": "img"}),
    (A, "NA1", 0, 2, "u3", "영희", "오늘 방송 재밌다 ㅜㅜ ㅎㅎㅎ", {}),
    (A, "NA1", 0, 3, "u4", "JS", "hack {:js:}", {"js": HOSTILE["js"]}),
    (A, "NA1", 0, 3, "u4", "JS", "{:data:} {:http:} {:evil:} {:quote:}", {k: HOSTILE[k] for k in
                                                                        ("data", "http", "evil", "quote")}),
    (A, "NA1", 0, 4, "u5", "무명", "{:nourl:} 그냥 그냥", {}),
    (A, "NA1", 0, 4, "u5", "무명", "{:d_47:} not json raw", None),
    (A, "NA1", 0, 5, "anonymous", "익명", "후원 {:d_12:}", {"d_12": "img"}),
    (A, "NA1", 0, 5, "SYSTEM_MESSAGE", None, "공지 {:d_47:}", {"d_47": "img"}),
    (A, "NA2", 1, 0, "u1", "김치2", "{:d_12:}", {"d_12": "img"}),
    (A, "NA2", 1, 1, "u2", "철수", "Hello World hello", {}),
    (A, "NA2", 1, 1, "u3", "영희", "오늘 방송 재밌다 {:d_12:}", {"d_12": "img2"}),
    (B, "NB1", 0, 0, "u1", "김치", "{:b_1:} ㅋㅋ", {"b_1": "img"}),
    (B, "NB1", 1, 0, "u6", "bob", "the game is on ㄷㄷ", {}),
]


def _raw(msg: str, emojis: dict | None, ch: str, n: int) -> str:
    if emojis is None:
        return "{not json"
    urls = {k: IMG.format(ch=ch, name=k) if v == "img" else IMG.format(ch=ch, name=k + "_v2") if v == "img2" else v
            for k, v in emojis.items()}
    extras = {"chatType": "STREAMING", "emojis": urls, "streamingChannelId": ch}
    # every third line keeps extras as an object (some clients), the others as a JSON string (CHZZK's)
    return json.dumps({"msg": msg, "extras": extras if n % 3 == 2 else json.dumps(extras)})


def rows() -> list[dict]:
    out = []
    start = [datetime(2026, 9, 1, 20, tzinfo=KST), datetime(2026, 9, 2, 20, tzinfo=KST)]
    for n, (ch, bc, d, minute, uid, nick, msg, emojis) in enumerate(LINES):
        when = (start[d] + timedelta(minutes=minute, seconds=n)).astimezone(UTC)
        row = {f.name: None for f in CHAT_SCHEMA}
        system = uid == "SYSTEM_MESSAGE"
        row.update(id=n + 1, channel_id=ch, channel_name="채널" + ch[0], chat_channel_id=bc, user_id=uid,
                   nickname=nick, message=msg, message_type="system" if system else
                   "donation" if uid == "anonymous" else "chat", msg_type_code=30 if system else 1,
                   message_status="NORMAL", chat_time=when, created_at=when, raw=_raw(msg, emojis, ch, n),
                   dedupe_key=f"e{n}", is_anonymous=uid == "anonymous")
        row["day"] = when.astimezone(KST).date()
        out.append(row)
    return out


def build_emote_lake(root: Path | str) -> dict:
    got = rows()
    write_rows(Lake(str(root)), got, [A, B], ["채널a", "채널b"], [10, 20])
    return {"rows": got, "channel_ids": [A, B], "days": sorted({r["day"] for r in got}), "A": A, "B": B,
            "broadcasts": [(A, "NA1"), (A, "NA2"), (B, "NB1")]}
