"""A fixture lake whose days do not all have the same columns, written through the real
partition writer: tests/lakefixture.py's three days, the first written as before migration
010 (without mission_id, donation_status, gift_id, gift_quantity), the later two with them,
and on the last day two mission donations per channel — one APPROVED (counts), one PENDING
(does not count: only a reader that sees donation_status on that day gets the totals right).

    facts = build_drift_lake(tmp_path / "lake")

What an engine outside the project must handle to read it: DuckDB's ``union_by_name``,
Spark's ``mergeSchema``."""
from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa

from tests.lakefixture import DAYS, KST, build_fixture_lake
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT, CHAT_SCHEMA

MIGRATION_010 = ("mission_id", "donation_status", "gift_id", "gift_quantity")
BEFORE_010 = pa.schema([f for f in CHAT_SCHEMA if f.name not in MIGRATION_010])
# (donation_status, amount) of the mission donations added to the last day, per channel
MISSIONS = (("APPROVED", 3_000), ("PENDING", 7_000))


def _mission_rows(channel_ids: list[str], names: dict[str, str]) -> list[dict]:
    noon = datetime(DAYS[-1].year, DAYS[-1].month, DAYS[-1].day, 21, tzinfo=KST).astimezone(UTC)
    out = []
    for ch, cid in enumerate(channel_ids):
        for k, (status, amount) in enumerate(MISSIONS):
            row = {f.name: None for f in CHAT_SCHEMA}
            rid = 100_000 + 10 * ch + k
            when = noon + timedelta(minutes=10 * k)
            row.update(id=rid, channel_id=cid, channel_name=names[cid], chat_channel_id="CH" + cid[:4],
                       user_id=f"mission-donor-{k}", nickname=f"미션{k}", message="미션 후원",
                       message_type="donation", msg_type_code=10, message_status="NORMAL", chat_time=when,
                       created_at=when, os_type="PC", user_role="common_user", pay_amount=amount,
                       pay_type="CURRENCY", donation_type="MISSION", mission_id=f"m{ch}{k}",
                       donation_status=status, raw="{}", dedupe_key=f"mission{rid}")
            out.append(row)
    return out


def build_drift_lake(root: Path | str) -> dict:
    """Write the lake under `root`; return tests/lakefixture.py's facts, its rows with the
    mission donations added."""
    facts = build_fixture_lake(root)
    lake = Lake(str(root))
    old = lake.read(CHAT, DAYS[0]).select(BEFORE_010.names)
    lake.write(replace(CHAT, schema=BEFORE_010), old, DAYS[0])  # as a sync before migration 010 wrote it
    missions = _mission_rows(facts["channel_ids"], facts["channel_names"])
    last = pa.concat_tables([lake.read(CHAT, DAYS[-1]), pa.Table.from_pylist(missions, schema=CHAT_SCHEMA)])
    lake.write(CHAT, last.sort_by([("channel_id", "ascending"), ("chat_time", "ascending"), ("id", "ascending")]),
               DAYS[-1])
    return dict(facts, rows=facts["rows"] + [dict(r, day=DAYS[-1]) for r in missions])
