"""A small deterministic lake written through the real partition writer (no PostgreSQL).

    facts = build_fixture_lake(tmp_path / "lake")
    wh = warehouse.open(str(tmp_path / "lake"))

3 channels with Korean names, 3 days (2026-09-01..03 in Asia/Seoul), a few hundred rows
with known subscribers, tiers, donations, anonymous donations, system lines, rows a
minute either side of midnight KST, a nickname full of LIKE/quote metacharacters
(``%_'\\``), and one user who changes a Korean nickname. The returned dict carries the
rows themselves (``rows``: plain dicts, chat_time tz-aware UTC, plus ``day``) so tests can
compute expected answers in plain Python, and a few named facts.
"""
from __future__ import annotations

import atexit
import hashlib
import os
import random
import shutil
import tempfile
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa

from warehouse.lake.layout import Lake, modes
from warehouse.lake.tables import CHANNELS, CHANNELS_SCHEMA, CHAT, CHAT_SCHEMA

KST = ZoneInfo("Asia/Seoul")
DAYS = [date(2026, 9, 1), date(2026, 9, 2), date(2026, 9, 3)]
CHANNEL_NAMES = ["침착맨", "풍월량", "한동숙"]
SPECIAL_NICK = "100%_진짜'\\닉"          # % _ ' and a backslash
RENAMED_USER = "u" + hashlib.md5(b"rename").hexdigest()
OLD_NICK, NEW_NICK = "호랑이", "사자왕"    # RENAMED_USER's nickname before/after day 2


def _hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def channel_ids() -> list[str]:
    return [_hex("channel:" + name) for name in CHANNEL_NAMES]


# (user key, nickname, {channel index: (tier, month)}) — no entry = not a subscriber there
USERS = [
    ("kimchi", "김치", {0: (1, 3)}),
    ("kimcs", "김철수", {0: (2, 12), 1: (1, 1)}),
    ("park", "박영희", {}),
    ("lee", "Lee_Min", {2: (1, 5)}),
    ("mixed", "MixedCase", {}),
    ("special", SPECIAL_NICK, {1: (2, 24)}),
    ("choi", "최고다", {}),
    ("jung", "정글러", {2: (2, 2)}),
    ("han", "한강뷰", {}),
    ("yoon", "윤슬", {0: (1, 7), 2: (1, 7)}),
]


def _user_id(key: str) -> str:
    return RENAMED_USER if key == "rename" else _hex("user:" + key)


def _nick(key: str, nick: str, when: datetime) -> str:
    if key == "rename":
        return OLD_NICK if when.astimezone(KST).date() < DAYS[1] else NEW_NICK
    return nick


def _rows() -> list[dict]:
    rng = random.Random(20260901)
    cids = channel_ids()
    users = USERS + [("rename", OLD_NICK, {1: (1, 2)})]
    rows: list[dict] = []

    def add(ch: int, when: datetime, key: str | None, **extra) -> None:
        row = {f.name: None for f in CHAT_SCHEMA}
        if key is None:
            uid, nick, sub = extra.pop("user_id"), extra.pop("nickname", None), (None, None)
        else:
            uid = _user_id(key)
            nick = _nick(key, dict((k, n) for k, n, _ in users)[key], when)
            sub = dict((k, s) for k, _, s in users)[key].get(ch, (None, None))
        row.update(
            id=len(rows) + 1, channel_id=cids[ch], channel_name=CHANNEL_NAMES[ch],
            chat_channel_id="CH" + cids[ch][:4], user_id=uid, nickname=nick,
            message=f"메시지 {len(rows) + 1}", message_type="chat", msg_type_code=1,
            message_status="NORMAL", chat_time=when, created_at=when + timedelta(seconds=1),
            subscription_tier=sub[0], subscription_month=sub[1], os_type="PC",
            user_role="common_user", raw="{}", dedupe_key=f"k{len(rows) + 1}",
        )
        row.update(extra)
        row["day"] = when.astimezone(KST).date()
        rows.append(row)

    for day in DAYS:
        midnight = datetime(day.year, day.month, day.day, tzinfo=KST)
        for ch in range(3):
            for _ in range(25 + 10 * ch):
                key, _, _ = users[rng.randrange(len(users))]
                when = midnight + timedelta(hours=rng.randrange(10, 23), minutes=rng.randrange(60),
                                            seconds=rng.randrange(60))
                add(ch, when.astimezone(UTC), key)
            # either side of midnight KST: 23:59:30 belongs to `day`, 00:00:30 to the next
            add(ch, (midnight + timedelta(hours=23, minutes=59, seconds=30)).astimezone(UTC), "park")
            add(ch, (midnight + timedelta(seconds=30)).astimezone(UTC), "han")
            # a donation, an anonymous donation, a system line
            add(ch, (midnight + timedelta(hours=20)).astimezone(UTC), "kimchi", message_type="donation",
                msg_type_code=10, pay_amount=1000 * (ch + 1), pay_type="CURRENCY", donation_type="CHAT")
            add(ch, (midnight + timedelta(hours=20, minutes=5)).astimezone(UTC), None,
                user_id="anonymous", nickname="익명의 후원자", message_type="donation", msg_type_code=10,
                pay_amount=500, pay_type="CURRENCY", donation_type="CHAT", is_anonymous=True)
            add(ch, (midnight + timedelta(hours=20, minutes=6)).astimezone(UTC), None,
                user_id="SYSTEM_MESSAGE", message_type="system", msg_type_code=30, message="공지")
        # the renamed user speaks every day in channel 1
        add(1, (midnight + timedelta(hours=21)).astimezone(UTC), "rename")
    # the special nickname speaks at least once on every channel
    for ch in range(3):
        add(ch, datetime(2026, 9, 2, 22, 0, tzinfo=KST).astimezone(UTC), "special")
    return rows


def write_rows(lake: Lake, rows: list[dict], ids: list[str], names: list[str],
               followers: list[int]) -> None:
    """Write chat rows (dicts with every CHAT_SCHEMA field and a `day`) as day partitions,
    in the sync's row order, and the channels table, through the real partition writer."""
    by_day: dict[date, list[dict]] = {}
    for r in rows:
        by_day.setdefault(r["day"], []).append(r)
    for day, day_rows in sorted(by_day.items()):
        day_rows.sort(key=lambda r: (r["channel_id"], r["chat_time"], r["id"]))
        cols = {f.name: [r[f.name] for r in day_rows] for f in CHAT_SCHEMA}
        lake.write(CHAT, pa.table(cols, schema=CHAT_SCHEMA), day)
    created = datetime(2026, 8, 1, tzinfo=UTC)
    n = len(ids)
    lake.write(CHANNELS, pa.table({
        "channel_id": ids, "channel_name": names, "follower_count": followers,
        "channel_image_url": [None] * n, "enabled": [True] * n,
        "created_at": [created] * n, "updated_at": [created] * n,
    }, schema=CHANNELS_SCHEMA))


def build_fixture_lake(root: Path | str) -> dict:
    """Write the fixture lake under `root`; return the rows and the known facts:
    rows, channel_ids, channel_names ({id: name}), days, per_channel (user lines per
    channel id, SYSTEM_MESSAGE excluded), per_day_channel ({(day, channel_id): all rows}),
    special_nick, renamed_user, old_nick, new_nick."""
    rows = _rows()
    cids = channel_ids()
    write_rows(Lake(str(root)), rows, cids, CHANNEL_NAMES, [1000, 2000, 3000])
    return {
        "rows": rows,
        "channel_ids": cids,
        "channel_names": dict(zip(cids, CHANNEL_NAMES, strict=True)),
        "days": sorted({r["day"] for r in rows}),
        "per_channel": dict(Counter(r["channel_id"] for r in rows if r["user_id"] != "SYSTEM_MESSAGE")),
        "per_day_channel": dict(Counter((r["day"], r["channel_id"]) for r in rows)),
        "special_nick": SPECIAL_NICK,
        "renamed_user": RENAMED_USER,
        "old_nick": OLD_NICK,
        "new_nick": NEW_NICK,
    }


def build_accelerators(root: Path | str | Lake, *accs, tz: str | None = None, full: bool = False) -> None:
    """Build the accelerators `accs` (warehouse.read.accelerators declarations; none given:
    every one, in the registry's build order) for the lake at `root`, in zone `tz` (None:
    the last sync's)."""
    from warehouse.read.accelerators import ACCELERATORS
    lake = root if isinstance(root, Lake) else Lake(str(root))
    for acc in accs or ACCELERATORS:
        acc.build(lake, tz, full)


_TEMPLATES: dict[tuple, str] = {}


def written_once(root: Path | str, key: tuple, write) -> None:
    """`write(root)` the first time a process builds the lake `key` names; later builds copy
    that first lake's files (fresh files: own inodes and mtimes, the lake's modes) instead of
    writing the partitions again. A root on S3 or one that already holds files is written."""
    if "://" in str(root) or (os.path.isdir(root) and os.listdir(root)):
        write(root)
        return
    umask = os.umask(0)
    os.umask(umask)
    key = (*key, modes(), umask)  # the files' modes depend on both
    if key not in _TEMPLATES:
        write(root)
        if not _TEMPLATES:
            atexit.register(shutil.rmtree, _template_dir(), True)
        template = os.path.join(_template_dir(), str(len(_TEMPLATES)))
        shutil.copytree(root, template, copy_function=shutil.copy)
        _TEMPLATES[key] = template
        return
    shutil.copytree(_TEMPLATES[key], root, copy_function=shutil.copy, dirs_exist_ok=True)


def _template_dir() -> str:
    global _TEMPLATE_DIR
    if _TEMPLATE_DIR is None:
        _TEMPLATE_DIR = tempfile.mkdtemp(prefix="laketpl")
    return _TEMPLATE_DIR


_TEMPLATE_DIR: str | None = None
