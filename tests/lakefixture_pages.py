"""The rich fixture lake (tests/lakefixture_rich.py) plus what the Overview, Channel and
Broadcasts pages need on top, written into a lake of its own (the session-wide rich lake
stays as it is):

- a fourth channel whose name is markup (``<script>alert(1)</script>``) with one broadcast
  on 2026-10-09 (inside the dashboard's default last-7-days range), chatters nicknamed
  ``**bold**`` and ``<script>alert(1)</script>``, markup messages and a donation;
- ``live_session_poll`` (the collector's title / category / viewer timeline, shaped as the
  sync exports it) for channel 0's first broadcast — a title change at +60 min and a
  category change at +90 min — and for the markup channel's broadcast, whose titles are
  markup too; live_session gets the markup broadcast's row and each session's latest
  title and category, as the collector keeps them.

    facts = build_pages_lake(tmp_path / "lake")
"""
from __future__ import annotations

import hashlib
from datetime import UTC, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pyarrow as pa

from tests.lakefixture import write_rows
from tests.lakefixture_rich import CHANNEL_NAMES, build_rich_lake
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT_SCHEMA, Table

KST = ZoneInfo("Asia/Seoul")
ADV_NAME = "<script>alert(1)</script>"
ADV_NICKS = ("**bold**", "<script>alert(1)</script>")
ADV_TITLES = ("**제목** <b>x</b>", "<script>alert(2)</script>")
ADV_CATEGORY = "<i>cat</i>"
ADV_BROADCAST = "advcc00001"
ADV_START = datetime(2026, 10, 9, 21, 0, tzinfo=KST)
# channel 0's first broadcast: (minutes after its start, title, category, viewers)
POLLS_0 = [(0, "방송", "리그 오브 레전드", 100), (30, "방송", "리그 오브 레전드", 150),
           (60, "2부 방송", "리그 오브 레전드", 200), (90, "2부 방송", "저스트 채팅", 180)]


def _hex(text: str) -> str:
    return hashlib.md5(text.encode()).hexdigest()


def _adversarial_rows(first_id: int, cid: str) -> list[dict]:
    users = [(_hex("adv-user:0"), ADV_NICKS[0]), (_hex("adv-user:1"), ADV_NICKS[1])]
    rows = []
    for k in range(30):
        uid, nick = users[k % 2]
        when = ADV_START + timedelta(minutes=k, seconds=15)
        row = {f.name: None for f in CHAT_SCHEMA}
        row.update(id=first_id + k, channel_id=cid, channel_name=ADV_NAME, chat_channel_id=ADV_BROADCAST,
                   user_id=uid, nickname=nick, message=("**굵게**", "<b>x</b>")[k % 2], message_type="chat",
                   msg_type_code=1, message_status="NORMAL", chat_time=when.astimezone(UTC),
                   created_at=when.astimezone(UTC), subscription_tier=1 if k % 2 == 0 else None,
                   subscription_month=3 if k % 2 == 0 else None, os_type="PC", user_role="common_user",
                   raw="{}", dedupe_key=f"adv{k}", day=when.date())
        if k == 10:
            row.update(message_type="donation", msg_type_code=10, pay_amount=3000, pay_type="CURRENCY",
                       donation_type="CHAT", is_anonymous=False)
        rows.append(row)
    return rows


def build_pages_lake(root: Path | str) -> dict:
    """Write the lake; return the rich facts with rows, channel_ids and channel_names
    extended by the markup channel, plus adv_channel, adv_broadcast, live_session_poll."""
    facts = build_rich_lake(root)
    lake = Lake(str(root))
    adv = _hex("adv-channel")
    rows = facts["rows"] + _adversarial_rows(len(facts["rows"]) + 1, adv)
    cids = facts["channel_ids"] + [adv]
    write_rows(lake, rows, cids, CHANNEL_NAMES + [ADV_NAME], [10, 20, 30, 40])

    ls = facts["live_session"].to_pylist()
    ls[0].update(live_title=POLLS_0[-1][1], live_category_value=POLLS_0[-1][2])
    ls.append({**ls[0], "id": 3, "channel_fk": 4, "chat_channel_id": ADV_BROADCAST,
               "opened_at": ADV_START.astimezone(UTC), "open_date": None, "closed_at": None,
               "live_title": ADV_TITLES[1], "live_category_value": ADV_CATEGORY, "close_reason": None})
    live_session = pa.Table.from_pylist(ls, schema=facts["live_session"].schema)
    lake.write(Table("live_session", live_session.schema, "", False), live_session)

    start0 = facts["broadcasts"][0]["start"].astimezone(UTC)
    polls = [(1, start0 + timedelta(minutes=m), "OPEN", title, cat, n) for m, title, cat, n in POLLS_0]
    polls += [(3, ADV_START.astimezone(UTC), "OPEN", ADV_TITLES[0], ADV_CATEGORY, 7),
              (3, ADV_START.astimezone(UTC) + timedelta(minutes=10), "OPEN", ADV_TITLES[1], ADV_CATEGORY, 9)]
    schema = pa.schema([("session_fk", pa.int64()), ("polled_at", pa.timestamp("us", tz="UTC")),
                        ("status", pa.string()), ("live_title", pa.string()),
                        ("live_category_value", pa.string()), ("concurrent_user_count", pa.int32())])
    poll_table = pa.table(list(zip(*polls, strict=True)), schema=schema)
    lake.write(Table("live_session_poll", schema, "", False), poll_table)
    names = dict(facts["channel_names"], **{adv: ADV_NAME})
    return {**facts, "rows": rows, "channel_ids": cids, "channel_names": names, "adv_channel": adv,
            "adv_broadcast": ADV_BROADCAST, "live_session": live_session, "live_session_poll": poll_table}
