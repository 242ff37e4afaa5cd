"""A richer deterministic lake for the analyst API, written through the real partition
writer (warehouse.lake.Lake.write; no PostgreSQL).

    facts = build_rich_lake(tmp_path / "lake")

3 channels, 11 broadcasts from 2026-08-20 to 2026-10-10 (Asia/Seoul), each with its own
chat_channel_id, two of them running past midnight; a chat burst in every broadcast;
named and anonymous donations (one without an amount), subscription gifts, system lines;
subscribers whose cumulative month grows month by month, some who start or stop
subscribing; a user renamed twice; a nickname and messages full of ``%_'\\``; Korean and
mixed-case keywords. For channel 0 the lake also holds ``capture_interval`` and
``live_session`` files shaped as the sync exports them (every PostgreSQL column), so
coverage has both sources. ``rows`` are plain dicts (chat_time tz-aware UTC, plus
``day``) so tests compute expected answers in plain Python.

    facts = build_rich_lake(tmp_path / "lake", hostile=True, without_broadcasts=(0,))

``hostile``: channel names, some nicknames, messages and the broadcast titles end in
tests/hostile_text.PAYLOADS (script break-outs, event handlers, javascript: links, U+2028);
ids and every order stay as without. ``without_broadcasts``: those channels' lines carry no
chat_channel_id, as lines imported from logs (channel 0 is the busiest).
"""
from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa

from tests.hostile_text import PAYLOADS
from tests.lakefixture import write_rows, written_once
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT_SCHEMA, Table

KST = ZoneInfo("Asia/Seoul")
CHANNEL_NAMES = ["우왁굳", "괴물쥐", "김도"]
SPECIAL_NICK = "100%_진짜'\\닉"
RENAMES = [(date(2000, 1, 1), "호랑이"), (date(2026, 9, 1), "사자왕"), (date(2026, 10, 1), "용왕")]
MESSAGES = ["ㅋㅋㅋ", "ㅋㅋ 대박", "대박", "안녕하세요", "GG", "gg wp", "Hello World", "hello",
            "100%_확실'\\해요", "50%_할인", "it's fine", "C:\\path", "하하", "와 미쳤다 ㅋㅋㅋㅋ",
            "좋아요", "100 percent"]
# (channel, local start, minutes)
BROADCASTS = [
    (0, datetime(2026, 8, 20, 20, 0), 120), (0, datetime(2026, 8, 28, 23, 0), 150),
    (0, datetime(2026, 9, 5, 19, 0), 90), (0, datetime(2026, 9, 20, 21, 0), 120),
    (0, datetime(2026, 10, 3, 20, 0), 100),
    (1, datetime(2026, 8, 21, 18, 0), 90), (1, datetime(2026, 9, 5, 20, 30), 120),
    (1, datetime(2026, 9, 25, 22, 30), 120), (1, datetime(2026, 10, 10, 19, 0), 60),
    (2, datetime(2026, 9, 6, 12, 0), 60), (2, datetime(2026, 10, 4, 13, 0), 90),
]
NICKS = ["김치", "김철수", "박영희", "Lee_Min", "MixedCase", "최고다", "정글러", "한강뷰", "윤슬",
         "달빛", "별빛", "bob", "Alice", "토끼", "거북이", "고양이", "강아지", "참새", "독수리",
         "펭귄", "여우", "곰돌이", "늑대", "사슴"]
# (user index, channel) -> (tier, months at 2026-08, first month index, last month index)
# month index 0 = 2026-08, 1 = 2026-09, 2 = 2026-10
SUBS = {
    (0, 0): (1, 1, 0, 2), (1, 0): (2, 11, 0, 2), (2, 0): (1, 5, 0, 1), (3, 0): (1, 1, 1, 2),
    (4, 0): (2, 23, 0, 2), (5, 0): (1, 30, 0, 0), (6, 1): (1, 2, 0, 2), (7, 1): (2, 6, 1, 2),
    (8, 1): (1, 12, 0, 1), (0, 1): (1, 3, 0, 2), (9, 2): (1, 1, 1, 2), (24, 0): (2, 24, 0, 2),
    (25, 1): (1, 7, 0, 2),
}


# hostile=True: what each channel name, nickname (by NICKS index), message and title becomes
HOSTILE_CHANNEL_NAMES = [CHANNEL_NAMES[0] + PAYLOADS[0], CHANNEL_NAMES[1] + PAYLOADS[1],
                         CHANNEL_NAMES[2] + PAYLOADS[5] + PAYLOADS[3]]
HOSTILE_NICKS = {1: "김철수" + PAYLOADS[6], 11: "bob" + PAYLOADS[4], 15: "고양이" + PAYLOADS[0]}
HOSTILE_MESSAGES = {"Hello World": "Hello World" + PAYLOADS[0], "hello": "hello" + PAYLOADS[2],
                    "하하": "하하" + PAYLOADS[7]}
HOSTILE_TITLE = "방송" + PAYLOADS[1]


def _hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def channel_ids() -> list[str]:
    return [_hex("rich-channel:" + name) for name in CHANNEL_NAMES]


def user_ids() -> list[str]:
    """NICKS' users, then the special nickname (24) and the renamed user (25)."""
    return [_hex(f"rich-user:{i}") for i in range(len(NICKS) + 2)]


def _nick(i: int, day: date, hostile: bool = False) -> str:
    if i < len(NICKS):
        return HOSTILE_NICKS.get(i, NICKS[i]) if hostile else NICKS[i]
    if i == len(NICKS):
        return SPECIAL_NICK
    return [n for d, n in RENAMES if d <= day][-1]


def _rows(hostile: bool = False, without_broadcasts: tuple[int, ...] = ()) -> tuple[list[dict], list[dict]]:
    rng = random.Random(20260820)
    cids, uids = channel_ids(), user_ids()
    names = HOSTILE_CHANNEL_NAMES if hostile else CHANNEL_NAMES
    messages = HOSTILE_MESSAGES if hostile else {}
    rows: list[dict] = []
    broadcasts: list[dict] = []

    def add(ch: int, cc: str, when: datetime, user: int | str, **extra) -> None:
        row = {f.name: None for f in CHAT_SCHEMA}
        day = when.astimezone(KST).date()
        sub = (None, None)
        if isinstance(user, int):
            uid, nick = uids[user], _nick(user, day, hostile)
            plan = SUBS.get((user, ch))
            idx = (day.year - 2026) * 12 + day.month - 8
            if plan and plan[2] <= idx <= plan[3]:
                sub = (plan[0], plan[1] + idx)
        else:
            uid, nick = user, extra.pop("nickname", None)
        n = len(rows) + 1
        text = rng.choice(MESSAGES)
        row.update(
            id=n, channel_id=cids[ch], channel_name=names[ch],
            chat_channel_id=None if ch in without_broadcasts else cc,
            user_id=uid, nickname=nick, message=messages.get(text, text), message_type="chat",
            msg_type_code=1, message_status="NORMAL", chat_time=when.astimezone(UTC),
            created_at=when.astimezone(UTC) + timedelta(seconds=1), subscription_tier=sub[0],
            subscription_month=sub[1], os_type="PC", user_role="common_user", raw="{}",
            dedupe_key=f"r{n}")
        row.update(extra)
        row["day"] = day
        rows.append(row)

    regulars = list(range(10)) + [24, 25]
    for b, (ch, local_start, minutes) in enumerate(BROADCASTS):
        cc = _hex(f"rich-cc:{b}")[:10]
        start = local_start.replace(tzinfo=KST)
        broadcasts.append({"channel_id": cids[ch], "broadcast": cc, "start": start, "minutes": minutes})
        people = sorted(set(rng.sample(regulars, 8) + rng.sample(range(10, 24), 6)))
        # the first line lands 30 s into the broadcast, so minute-level spans are not trivial
        add(ch, cc, start + timedelta(seconds=30), people[0], message="방송 시작 ㅋㅋ")
        for p in people:
            for _ in range(rng.randint(1, 7)):
                add(ch, cc, start + timedelta(seconds=rng.randrange(60, minutes * 60)), p)
        burst = start + timedelta(minutes=rng.randrange(30, minutes - 5))
        for k in range(12 + b):
            add(ch, cc, burst + timedelta(seconds=k * 4), rng.choice(people), message="대박 ㅋㅋㅋ")
        for k, amount in enumerate([1000, 5000, 10000, 500, 100000, 50000, 2000][: 3 + b % 4]):
            when = start + timedelta(minutes=5 + 11 * k, seconds=7)
            add(ch, cc, when, people[(b + k) % len(people)], message_type="donation",
                msg_type_code=10, pay_amount=amount, pay_type="CURRENCY", donation_type="CHAT",
                is_anonymous=False)
        for k in range(1 + b % 3):
            add(ch, cc, start + timedelta(minutes=7 + 13 * k), "anonymous", message_type="donation",
                msg_type_code=10, pay_amount=1000 * (k + 1), pay_type="CURRENCY",
                donation_type="CHAT", is_anonymous=True, message="익명 후원")
        add(ch, cc, start + timedelta(minutes=9), "anonymous", message_type="subscription_gift",
            msg_type_code=12, message="")
        add(ch, cc, start + timedelta(minutes=10), "SYSTEM_MESSAGE", message_type="system",
            msg_type_code=30, message="대박 공지 ㅋㅋ")
    # a donation without an amount, and one at the very last minute of channel 1's last broadcast
    last = broadcasts[8]
    add(1, last["broadcast"], last["start"] + timedelta(minutes=20), 3, message_type="donation",
        msg_type_code=10, pay_amount=None, donation_type="CHAT")
    return rows, broadcasts


def _capture_tables(broadcasts: list[dict], title: str = "방송") -> tuple[pa.Table, pa.Table]:
    """capture_interval and live_session for channel 0's first three broadcasts, shaped as
    warehouse.extract.resolve exports them (every column of the PostgreSQL table)."""
    us = pa.timestamp("us", tz="UTC")
    ci = {k: [] for k in ("id", "key", "channel_fk", "session_fk", "chat_channel_id", "connected_at",
                          "disconnected_at", "reason", "owner", "server", "last_seen_at")}
    ls = {k: [] for k in ("id", "channel_fk", "chat_channel_id", "opened_at", "closed_at", "live_title",
                          "category_type", "live_category", "live_category_value", "adult",
                          "open_date", "close_reason")}
    for b, bc in enumerate(broadcasts[:3]):
        s = bc["start"].astimezone(UTC)
        e = s + timedelta(minutes=bc["minutes"])
        # overlapping intervals (two processes), then a gap, then the rest
        for a, z in ((0, 40), (30, 50), (65, bc["minutes"] + 5))[: 3 - (b == 2)]:
            ci["id"].append(len(ci["id"]) + 1)
            ci["key"].append(f"k{b}-{a}")
            ci["channel_fk"].append(1)
            ci["session_fk"].append(b + 1)
            ci["chat_channel_id"].append(bc["broadcast"])
            ci["connected_at"].append(s + timedelta(minutes=a))
            ci["disconnected_at"].append(s + timedelta(minutes=z))
            ci["reason"].append("socket closed")
            ci["owner"].append("host:1:x")
            ci["server"].append(3)
            ci["last_seen_at"].append(s + timedelta(minutes=z))
        if b < 2:  # broadcast 2 has intervals but no live_session row
            ls["id"].append(b + 1)
            ls["channel_fk"].append(1)
            ls["chat_channel_id"].append(bc["broadcast"])
            ls["opened_at"].append(s + timedelta(minutes=1))
            ls["closed_at"].append(e)
            ls["live_title"].append(title)
            ls["category_type"].append("GAME")
            ls["live_category"].append("lol")
            ls["live_category_value"].append("리그 오브 레전드")
            ls["adult"].append(False)
            ls["open_date"].append(s - timedelta(minutes=2) if b == 0 else None)
            ls["close_reason"].append("broadcast closed")
    types = {"id": pa.int64(), "channel_fk": pa.int64(), "session_fk": pa.int64(), "server": pa.int32(),
             "adult": pa.bool_()}
    tables = []
    for cols in (ci, ls):
        fields = [pa.field(k, us if k.endswith(("_at", "open_date")) else types.get(k, pa.string()))
                  for k in cols]
        tables.append(pa.table(cols, schema=pa.schema(fields)))
    return tables[0], tables[1]


def build_rich_lake(root: Path | str, capture: bool = True, hostile: bool = False,
                    without_broadcasts: tuple[int, ...] = ()) -> dict:
    """Write the rich lake under `root`; return rows, broadcasts ([{channel_id, broadcast,
    start, minutes}], schedule order), channel_ids, channel_names, user_ids, special_nick,
    renamed_user, renames ([(from day, nickname)]), capture_interval and live_session
    (pyarrow tables, or None when `capture` is False)."""
    rows, broadcasts = _rows(hostile, without_broadcasts)
    names = HOSTILE_CHANNEL_NAMES if hostile else CHANNEL_NAMES
    cids = channel_ids()
    ci = ls = None
    if capture:
        ci, ls = _capture_tables(broadcasts, HOSTILE_TITLE if hostile else "방송")

    def write(root) -> None:
        lake = Lake(str(root))
        write_rows(lake, rows, cids, names, [10, 20, 30])
        if capture:
            lake.write(Table("capture_interval", ci.schema, "", False), ci)
            lake.write(Table("live_session", ls.schema, "", False), ls)

    # the rows and facts are made afresh each time (tests may change them); the files are
    # written once a process and copied after (~50 day partitions: 1.8 s under load)
    written_once(root, ("rich", capture, hostile, without_broadcasts), write)
    uids = user_ids()
    return {
        "rows": rows, "broadcasts": broadcasts, "channel_ids": cids,
        "channel_names": dict(zip(cids, names, strict=True)), "user_ids": uids,
        "special_nick": SPECIAL_NICK, "renamed_user": uids[-1], "renames": RENAMES,
        "capture_interval": ci, "live_session": ls,
    }


# -- plain-Python views of the rows, for computing expected answers -----------------------
def user_rows(facts: dict, channels=None, start=None, end=None) -> list[dict]:
    """The rows every API function starts from: SYSTEM_MESSAGE's left out, then filtered."""
    return [r for r in facts["rows"] if r["user_id"] != "SYSTEM_MESSAGE"
            and (channels is None or r["channel_id"] in channels)
            and (start is None or r["day"] >= start) and (end is None or r["day"] <= end)]


def is_chatter(r: dict) -> bool:
    return r["user_id"] not in ("anonymous", "SYSTEM_MESSAGE")


def is_sub(r: dict) -> bool:
    return (r["subscription_tier"] or 0) > 0 or (r["subscription_month"] or 0) > 0


def trunc(ts: datetime, every: str) -> datetime:
    """date_trunc in Asia/Seoul, by hand."""
    t = ts.astimezone(KST)
    if every == "minute":
        return t.replace(second=0, microsecond=0)
    if every == "hour":
        return t.replace(minute=0, second=0, microsecond=0)
    day = t.replace(hour=0, minute=0, second=0, microsecond=0)
    if every == "day":
        return day
    if every == "week":
        return day - timedelta(days=day.weekday())
    if every == "month":
        return day.replace(day=1)
    raise ValueError(every)


def epoch_us(ts: datetime) -> int:
    return (ts - datetime(1970, 1, 1, tzinfo=UTC)) // timedelta(microseconds=1)
