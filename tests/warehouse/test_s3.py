"""The lake on S3: a real PostgreSQL synced to s3://bucket/lake on a local S3 server (moto's
server mode on 127.0.0.1), read back with warehouse.open() through pyarrow's S3 filesystem."""
from __future__ import annotations

import pyarrow.parquet as pq
import pytest

import warehouse
from tests.pghistory import D1, D2, D3, delete_one_add_one_late, history, insert, pg_counts
from tests.s3lake import BUCKET, s3_lake, s3_server  # noqa: F401 - fixtures
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read.accelerators import ROLLUPS, USERS
from warehouse.sync.export import sync


def _lake_day_counts(root: str) -> dict:
    out: dict = {}
    with warehouse.open(root) as wh:
        for day, _, n in warehouse.daily_counts(wh).iter_rows():
            out[day] = out.get(day, 0) + n
    return out


@pytest.mark.integration
def test_sync_to_s3_and_read_back(pg, s3_lake):  # noqa: F811 - the imported fixture
    root, client, prefix = s3_lake
    insert(pg, history())
    report = sync(pg, root)
    assert [d.day for d in report.days] == [D1, D2, D3]

    keys = {o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix)["Contents"]}
    assert f"{prefix}/chat/day=2026-09-01/part-0.parquet" in keys
    assert f"{prefix}/channels/part-0.parquet" in keys and f"{prefix}/_sync/state.json" in keys
    assert not [k for k in keys if ".tmp-" in k], "no temporary object is left behind"

    expected = pg_counts(pg)
    assert _lake_day_counts(root) == expected
    with warehouse.open(root) as wh:
        channels = warehouse.list_channels(wh)
        assert set(channels["channel_name"]) == {"침착맨", "풍월량"}
        assert wh.sql("SELECT count(*) AS n FROM chat WHERE day = ?", [D2])["n"][0] == expected[D2]

    lake = Lake(root)
    first = {d: lake.read(CHAT, d) for d in (D1, D2, D3)}
    again = sync(pg, root, all_days=True)
    assert [d.day for d in again.days] == [D1, D2, D3]
    for d in (D1, D2, D3):
        assert lake.read(CHAT, d).equals(first[d]), "a second sync gives the same rows"
    assert sync(pg, root).days == [], "nothing new: nothing rewritten"
    assert _lake_day_counts(root) == expected
    delete_one_add_one_late(pg)  # two days change: the side tables keep D3's rows, read from S3
    assert [d.day for d in sync(pg, root).days] == [D1, D2]
    with warehouse.open(root) as wh:
        assert wh.accelerator(USERS) is not None and wh.accelerator(ROLLUPS) is not None
        lines = wh.sql("SELECT count(*) AS n FROM chat WHERE user_id NOT IN ('anonymous', 'SYSTEM_MESSAGE')")["n"][0]
        assert wh.sql("SELECT sum(messages) AS n FROM users_index")["n"][0] == lines
        per_day = wh.sql("SELECT day, sum(messages) AS n FROM users_index GROUP BY day ORDER BY day")
        assert dict(per_day.iter_rows()) == _lake_day_counts(root)  # every line is a chatter's here


@pytest.mark.integration
def test_s3_lake_files_are_plain_parquet(pg, s3_lake):  # noqa: F811 - the imported fixture
    root, client, prefix = s3_lake
    insert(pg, history()[:5])
    sync(pg, root)
    lake = Lake(root)
    with lake.fs.open_input_file(lake.part_path(CHAT, D1)) as f:
        meta = pq.ParquetFile(f).metadata
    assert meta.num_rows == pg_counts(pg)[D1]
    assert meta.row_group(0).column(0).compression == "ZSTD"
