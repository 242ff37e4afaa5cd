"""A tiny lake for the highlights and moderation questions (tests/warehouse/test_highlights.py,
test_moderation.py and the pages' tests): two channels, one broadcast each on 2026-10-01 KST,
with a chat burst (keyword ``ㅋㅋ``), a window one chatter dominates, a donation burst,
blinded lines of every kind (CBOTBLIND, HIDDEN, BLIND) and an events day partition with
temporary restrictions, notices (one cleared) and an unrelated chat-mode event. Nicknames,
lines and the notice hold hostile text (tests/hostile_text.py). live_session opens channel
A's broadcast 90 s before its first line (the replay's zero).

The rows are returned beside the facts so the tests count their answers in plain Python."""
from __future__ import annotations

import hashlib
import json
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa

from tests.hostile_text import PAYLOADS
from tests.lakefixture import write_rows
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT_SCHEMA, EVENTS, EVENTS_SCHEMA, Table

KST = ZoneInfo("Asia/Seoul")
DAY = date(2026, 10, 1)
START = datetime(2026, 10, 1, 20, 0, tzinfo=KST)   # channel A's first line
OPENED = START - timedelta(seconds=90)              # live_session's open_date: the replay's zero
NAMES = ["하이라이트채널", "모더레이션채널"]
BROADCASTS = ["BCA1", "BCB1"]
SPAMMER_NICK = PAYLOADS[0] + "\n|도배|"            # hostile: markup, a newline and EDL's separator
NOTICE_TEXT = PAYLOADS[2] + "\r\n공지 " + PAYLOADS[5]
KEYWORD = "ㅋㅋ"


def _hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def channel_ids() -> list[str]:
    return [_hex("moments-a"), _hex("moments-b")]


def user_id(n: int | str) -> str:
    return _hex(f"moments-user-{n}")


def _rows() -> list[dict]:
    cids = channel_ids()
    rows: list[dict] = []

    def add(ch: int, when: datetime, uid: str, nick: str, message: str, **extra) -> None:
        row = {f.name: None for f in CHAT_SCHEMA}
        row.update(id=len(rows) + 1, channel_id=cids[ch], channel_name=NAMES[ch], chat_channel_id=BROADCASTS[ch],
                   user_id=uid, nickname=nick, message=message, message_type="chat", msg_type_code=1,
                   message_status="NORMAL", chat_time=when.astimezone(UTC), created_at=when.astimezone(UTC),
                   os_type="PC", user_role="common_user", raw="{}", dedupe_key=f"m{len(rows) + 1}")
        row.update(extra)
        row["day"] = when.astimezone(KST).date()
        rows.append(row)

    spam = user_id("spam")
    for minute in range(30):  # channel A: 2 lines a minute from 10 regulars
        for k in range(2):
            n = (minute * 2 + k) % 10
            add(0, START + timedelta(minutes=minute, seconds=10 + 20 * k), user_id(n), f"시청자{n}", f"안녕 {minute}")
    for k in range(30):  # minute 10: a burst of laughter from everyone
        n = k % 10
        add(0, START + timedelta(minutes=10, seconds=k), user_id(n), f"시청자{n}", "ㅋㅋㅋㅋ 대박")
    for k in range(20):  # minute 11: still going (merged with minute 10)
        add(0, START + timedelta(minutes=11, seconds=k * 2), user_id(k % 10), f"시청자{k % 10}", "ㅋㅋ")
    for k in range(20):  # minute 20: one chatter floods (dominated); three lines blinded by the clean bot
        add(0, START + timedelta(minutes=20, seconds=k * 2), spam, SPAMMER_NICK, PAYLOADS[1] + " 도배",
            **({"message_status": "CBOTBLIND", "blind_type": "CBOTBLIND"} if k < 3 else {}))
    add(0, START + timedelta(minutes=20, seconds=50), user_id(1), "시청자1", "그만", message_status="HIDDEN")
    add(0, START + timedelta(minutes=21, seconds=5), user_id(2), "시청자2", "욕설", message_status="BLIND",
        blind_type="BLIND", blinded_at=(START + timedelta(minutes=21, seconds=9)).astimezone(UTC))
    add(0, START + timedelta(minutes=21, seconds=6), spam, SPAMMER_NICK, "또", message_status="BLIND",
        blind_type="BLIND")
    for k, amount in enumerate((10_000, 5_000, 15_000)):  # minute 25: a donation burst
        add(0, START + timedelta(minutes=25, seconds=10 * k), user_id(k), f"시청자{k}", "후원!",
            message_type="donation", msg_type_code=10, pay_amount=amount, pay_type="CURRENCY", donation_type="CHAT")
    add(0, START + timedelta(minutes=5), "SYSTEM_MESSAGE", None, "시스템", message_type="system", msg_type_code=30)
    b0 = START + timedelta(hours=1)
    for k in range(10):  # channel B: a short broadcast, one line blinded
        add(1, b0 + timedelta(minutes=k), user_id(k % 3), f"B시청자{k % 3}", f"b {k}",
            **({"message_status": "BLIND", "blind_type": "BLIND"} if k == 4 else {}))
    return rows


def _events() -> list[dict]:
    cids = channel_ids()
    spam = user_id("spam")
    rows: list[dict] = []

    def add(ch: int, when: datetime, cmd: int, event_type: str, body: dict) -> None:
        rows.append({"id": len(rows) + 1, "channel_id": cids[ch], "chat_channel_id": BROADCASTS[ch], "cmd": cmd,
                     "event_type": event_type, "event_time": when.astimezone(UTC), "received_at": when.astimezone(UTC),
                     "body": json.dumps(body, ensure_ascii=False), "dedupe_key": f"e{len(rows) + 1}"})

    def restrict(ch: int, when: datetime, uid: str, duration: int, times: int) -> None:
        add(ch, when, 93006, "TEMPORARY_RESTRICT", {"duration": duration, "times": times, "userIdHash": uid,
                                                     "createdTime": f"{when:%Y-%m-%dT%H:%M:%S}.000",
                                                     "type": "TEMPORARY_RESTRICT"})

    add(0, START + timedelta(minutes=5), 94010, "NOTICE", {
        "content": NOTICE_TEXT, "userId": user_id("mgr"), "messageTime": 0,
        "profile": json.dumps({"nickname": "매니저<b>", "userRoleCode": "streaming_chat_manager"})})
    add(0, START + timedelta(minutes=15), 94010, "NOTICE_CLEARED", {})
    restrict(0, START + timedelta(minutes=21), spam, 30, 1)
    restrict(0, START + timedelta(minutes=24), spam, 60, 2)
    add(0, START + timedelta(minutes=26), 93006, "CHANGE_CHAT_MODE", {"type": "CHANGE_CHAT_MODE"})
    restrict(1, START + timedelta(hours=1, minutes=5), user_id(1), 30, 1)
    return rows


def _live_session() -> pa.Table:
    us = pa.timestamp("us", tz="UTC")
    schema = pa.schema([("id", pa.int64()), ("chat_channel_id", pa.string()), ("opened_at", us),
                        ("closed_at", us), ("open_date", us), ("live_title", pa.string()),
                        ("live_category_value", pa.string()), ("close_reason", pa.string())])
    return pa.Table.from_pylist([{"id": 1, "chat_channel_id": BROADCASTS[0], "opened_at": START.astimezone(UTC),
                                  "closed_at": (START + timedelta(minutes=31)).astimezone(UTC),
                                  "open_date": OPENED.astimezone(UTC), "live_title": PAYLOADS[3] + "하이라이트",
                                  "live_category_value": "talk", "close_reason": "broadcast closed"}], schema=schema)


def build_moments_lake(root: Path | str) -> dict:
    """Write the lake under `root`: {rows, events, channel_ids, channel_names, broadcasts,
    spammer (user id), opened (the replay's zero), start (channel A's first line)}."""
    lake = Lake(str(root))
    rows, events, cids = _rows(), _events(), channel_ids()
    write_rows(lake, rows, cids, NAMES, [100, 200])
    lake.write(EVENTS, pa.Table.from_pylist(
        sorted(events, key=lambda e: (e["channel_id"], e["event_time"], e["id"])), schema=EVENTS_SCHEMA), DAY)
    ls = _live_session()
    lake.write(Table("live_session", ls.schema, "", False), ls)
    return {"rows": rows, "events": events, "channel_ids": cids, "channel_names": dict(zip(cids, NAMES, strict=True)),
            "broadcasts": dict(zip(cids, BROADCASTS, strict=True)), "spammer": user_id("spam"),
            "opened": OPENED, "start": START}
