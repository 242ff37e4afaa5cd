"""A small lake of every kind of money line (README, "How donations are counted"): plain,
mission (each status, participations), party, and gifts with and without their sender's
quantity. ``build_money_lake(root)`` writes it; ``WANT`` is what the money queries must
answer, worked out by hand from the rows below."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from tests.lakefixture import write_rows
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT, CHAT_SCHEMA

A, B = "a" * 32, "b" * 32
T0 = datetime(2026, 9, 10, 12, 0, tzinfo=UTC)  # 21:00 KST: every row is on 2026-09-10

# (channel, minute, user, donation_type, amount, mission_id, status, extra)
DONATIONS = [
    (A, 1, "u1", "CHAT", 1000, None, None, {}),
    (A, 2, "u2", "MISSION", 5000, "m-pending", "PENDING", {"message": "춤 춰주세요"}),
    (A, 3, "u3", "MISSION", 7000, "m-done", "COMPLETED", {}),
    (A, 4, "anonymous", "MISSION_PARTICIPATION", 3000, "m-done", "COMPLETED", {}),
    (A, 4, "anonymous", "MISSION_PARTICIPATION", 4000, "m-done", "COMPLETED", {}),  # same ms
    (A, 5, "u4", "MISSION", 6000, "m-rejected", "REJECTED", {}),
    (A, 6, "u5", "MISSION", 8000, "m-expired", "EXPIRED", {}),
    (A, 7, "u6", "MISSION", 9000, "m-unknown", None, {}),
    (A, 8, "u7", "PARTY", 2000, None, None, {}),
    (B, 1, "u1", "CHAT", 500, None, None, {}),
    (B, 2, "u8", "MISSION", 10000, "m-approved", "APPROVED", {}),
]
# (channel, minute, gift_id, gift_quantity, receiver)
GIFTS = [
    (A, 10, "g1", 3, None), (A, 10, "g1", 3, "r1"), (A, 10, "g1", 3, "r2"),  # sender + 2 of its 3
    (A, 11, "g2", None, "r3"), (A, 11, "g2", None, "r4"),                         # receivers only
    (B, 12, None, None, None),                                                     # an old line
]
WANT = {
    "donations": {A: (5, 17000), B: (2, 10500)},  # counted lines and their amount per channel
    "pending": [(A, "m-unknown", 9000, None), (A, "m-pending", 5000, "PENDING")],
    "gifts": {A: (2, 5), B: (1, 1)},              # gifts, subscriptions
}


def rows() -> list[dict]:
    out = []

    def add(channel: str, when: datetime, **values) -> None:
        row = {f.name: None for f in CHAT_SCHEMA}
        row.update(id=len(out) + 1, channel_id=channel, channel_name=channel[:1].upper(),
                   chat_channel_id="CC" + channel[:4], message="", msg_type_code=10,
                   message_status="NORMAL", chat_time=when, created_at=when, os_type="PC",
                   raw="{}", dedupe_key=f"m{len(out) + 1}")
        row.update(values)
        row["day"] = when.date()
        out.append(row)

    for ch, minute, user, kind, amount, mission, status, extra in DONATIONS:
        add(ch, T0 + timedelta(minutes=minute), user_id=user, nickname=None if user == "anonymous" else user,
            message_type="donation", pay_amount=amount, pay_type="CURRENCY", donation_type=kind,
            is_anonymous=user == "anonymous", mission_id=mission, donation_status=status, **extra)
    for ch, minute, gift, quantity, receiver in GIFTS:
        add(ch, T0 + timedelta(minutes=minute), user_id="anonymous", message_type="subscription_gift",
            msg_type_code=12, gift_id=gift, gift_quantity=quantity, gift_receiver_id=receiver, is_anonymous=True)
    return out


def build_money_lake(root: str, schema: pa.Schema = CHAT_SCHEMA, keep=lambda row: True) -> None:
    """Write the rows (those `keep` keeps) and a channels table; ``schema``: the chat columns
    written (an older one makes a lake whose every partition predates migration 010)."""
    lake = Lake(root)
    write_rows(lake, [], [A, B], ["A", "B"], [1, 2])  # the channels table
    by_day: dict = {}
    for r in sorted(filter(keep, rows()), key=lambda r: (r["channel_id"], r["chat_time"], r["id"])):
        by_day.setdefault(r["day"], []).append(r)
    for day, day_rows in by_day.items():
        table = pa.table({f.name: [r[f.name] for r in day_rows] for f in schema}, schema=schema)
        if schema is CHAT_SCHEMA:
            lake.write(CHAT, table, day)
        else:  # Lake.write would add the missing columns: an old file as an old sync wrote it
            Path(lake.partition_dir(CHAT, day)).mkdir(parents=True)
            pq.write_table(table, lake.part_path(CHAT, day))
