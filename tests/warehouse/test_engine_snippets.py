"""The README's snippets for engines outside the project (its "Other engines" part) against
the lake's declared schema (warehouse/lake/tables.py): every column of the Trino DDL has the
type Trino's Hive connector maps that column to (tests/engine_types.py), the partition
column comes last, and every read handles schema drift (union_by_name, mergeSchema)."""
from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.engine_types import TRINO_TYPES, lake_columns
from warehouse.lake.tables import CHAT

pytestmark = pytest.mark.unit
README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
SECTION = README.split("**Other engines.**", 1)[1].split("\n### ", 1)[0]


def _trino_ddl(text: str) -> str:
    return re.search(r"```sql\n(CREATE TABLE hive\.\S+ \(.*?)```", text, re.S).group(1)


def trino_columns(ddl: str) -> tuple[list[tuple[str, str]], str]:
    """([(column, type)] of a CREATE TABLE, its WITH options)."""
    body = re.search(r"\((.*)\)\s*WITH \((.*?)\);", ddl, re.S)
    columns = [tuple(c.strip().split(None, 1)) for c in body.group(1).replace("\n", " ").split(",") if c.strip()]
    return columns, body.group(2)


def trino_problems(ddl: str) -> list[str]:
    """What is wrong with a Trino CREATE TABLE over the chat folder: columns the lake does not
    have, types other than the connector's mapping of the lake's, a partition column that
    is not `day` or not last."""
    columns, options = trino_columns(ddl)
    lake = lake_columns(CHAT)
    problems = [f"{name}: not a column of the lake" for name, _ in columns if name not in lake]
    problems += [f"{name} {kind}: the connector maps the lake's {lake[name]} to {TRINO_TYPES[lake[name]]}"
                 for name, kind in columns if name in lake and kind.strip() != TRINO_TYPES[lake[name]]]
    if "partitioned_by = ARRAY['day']" not in options or columns[-1][0] != "day":
        problems.append("day must be the partition column, listed last")
    return problems


def test_the_trino_ddl_types_are_the_ones_the_hive_connector_maps_the_lake_to():
    ddl = _trino_ddl(SECTION)
    assert trino_problems(ddl) == []
    assert [name for name, _ in trino_columns(ddl)[0]] == list(lake_columns(CHAT))  # every column, in order
    assert "with time zone" not in ddl
    assert "hive.timestamp-precision=MICROSECONDS" in SECTION and "hive.timestamp_precision" in SECTION


@pytest.mark.parametrize(("wrong", "complaint"), [
    ("chat_time timestamp(6) with time zone", "chat_time timestamp(6) with time zone: the connector maps"),
    ("pay_amount bigint", "pay_amount bigint: the connector maps"),
    ("id bigint, tip integer", "tip: not a column of the lake"),
])
def test_the_type_check_finds_a_wrong_column(wrong, complaint):
    ddl = _trino_ddl(SECTION)
    right = wrong.split(",")[0].split()[0]
    changed = re.sub(rf"\b{right} [a-z]+(\(\d\))?", wrong, ddl, count=1)
    assert changed != ddl
    assert any(p.startswith(complaint) for p in trino_problems(changed))
    assert trino_problems(ddl.replace("gift_quantity integer, day date", "day date, gift_quantity integer"))


def test_every_read_of_the_chat_handles_schema_drift():
    reads = re.findall(r"read_parquet\([^)]*\)", SECTION)
    assert reads and all("union_by_name = true" in r and "hive_partitioning = true" in r for r in reads)
    sparks = re.findall(r"spark\.read\.[^\n]*", SECTION)
    assert sparks and all('option("mergeSchema", "true")' in s for s in sparks)
