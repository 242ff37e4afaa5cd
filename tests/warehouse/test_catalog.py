"""warehouse.queries_catalog (what the lake holds): on the rich fixture lake against the
files and rows it wrote, after a real sync from PostgreSQL against PostgreSQL's own
counts, and every bad input it refuses."""
from __future__ import annotations

import json
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import psycopg2.extras
import pyarrow as pa
import pyarrow.compute
import pyarrow.parquet as pq
import pytest

import warehouse
from tests.lakefixture_rich import KST, build_rich_lake
from tests.warehouse.test_s3 import s3_lake, s3_server  # noqa: F401 - fixtures
from warehouse.lake import health
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT, CHAT_SCHEMA, EVENTS_SCHEMA, TABLES
from warehouse.sync.export import sync


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    """A rich lake of this module's own, so adding files never touches the shared one."""
    root = tmp_path_factory.mktemp("catalog")
    facts = build_rich_lake(root)
    wh = warehouse.open(str(root))
    yield wh, facts, Path(root)
    wh.close()


@pytest.mark.unit
def test_lake_tables_match_the_files(lake):
    wh, facts, root = lake
    got = {r["table"]: r for r in warehouse.lake_tables(wh).to_dicts()}
    assert list(got) == [t.name for t in TABLES] + ["users", "rollups", "broadcast_spans", "chatter_days", "money_lines",
                          "broadcast_minutes", "emote_counts", "word_counts"]  # the registry, then the side tables
    files = sorted((root / "chat").glob("day=*/part-0.parquet"))
    days = sorted(date.fromisoformat(p.parent.name[4:]) for p in files)
    assert got["chat"] == {
        "table": "chat", "by_day": True, "present": True, "partitions": len(files),
        "first_day": days[0], "last_day": days[-1], "rows": len(facts["rows"]),
        "bytes": sum(p.stat().st_size for p in files), "columns": len(CHAT_SCHEMA)}
    assert got["events"]["present"] is False and got["events"]["rows"] == 0
    assert got["users"]["present"] is False and got["rollups"]["present"] is False  # no side tables built here
    ci = got["capture_interval"]
    assert (ci["rows"], ci["partitions"], ci["columns"]) == (facts["capture_interval"].num_rows, 1,
                                                              facts["capture_interval"].num_columns)


@pytest.mark.unit
def test_partitions_and_schema(lake):
    wh, facts, _ = lake
    parts = warehouse.table_partitions(wh, "chat")
    assert dict(zip(parts["day"], parts["rows"], strict=True)) == dict(Counter(r["day"] for r in facts["rows"]))
    assert parts["state_rows"].null_count() == parts.height  # no sync state in this lake
    single = warehouse.table_partitions(wh, "live_session")
    assert single.rows() == [(None, facts["live_session"].num_rows, single["bytes"][0], None)]
    assert warehouse.table_partitions(wh, "events").is_empty()

    chat = warehouse.table_schema(wh, "chat")
    assert chat["column"].to_list() == CHAT_SCHEMA.names + ["day"]
    assert chat.filter(chat["column"] == "chat_time")["type"].item() == "timestamp[us, tz=UTC]"
    assert chat["in_registry"].all() and chat["partition"].to_list() == [False] * len(CHAT_SCHEMA.names) + [True]
    ls = warehouse.table_schema(wh, "live_session")
    assert ls["column"].to_list() == facts["live_session"].schema.names
    assert ls["in_registry"].null_count() == ls.height  # its columns are PostgreSQL's, not declared
    events = warehouse.table_schema(wh, "events")  # no file: the registry's declaration
    assert events["column"].to_list() == EVENTS_SCHEMA.names + ["day"]


@pytest.mark.unit
@pytest.mark.parametrize(("channel", "start", "end"), [
    (None, None, None), (0, None, None), (1, date(2026, 9, 5), date(2026, 9, 6)),
    (2, date(2026, 10, 4), date(2026, 10, 4)), (0, date(2026, 9, 1), date(2026, 9, 1))])
def test_chat_preview_is_the_first_rows_of_the_range(lake, channel, start, end):
    wh, facts, _ = lake
    chans = None if channel is None else [facts["channel_ids"][channel]]
    got = warehouse.table_preview(wh, "chat", chans, start, end, limit=50)
    want = sorted((r for r in facts["rows"] if (chans is None or r["channel_id"] in chans)
                   and (start is None or r["day"] >= start) and (end is None or r["day"] <= end)),
                  key=lambda r: (r["day"], r["channel_id"], r["chat_time"], r["id"]))[:50]
    assert got["id"].to_list() == [r["id"] for r in want]
    if want:
        assert got["message"].to_list() == [r["message"] for r in want]  # text exactly as stored
        assert str(got.schema["chat_time"].time_zone) == "Asia/Seoul"
        assert got["chat_time"].to_list()[0] == want[0]["chat_time"]


def _preview_as_it_was(wh, table, channels, start, end, limit):
    """table_preview before issue 18: one dataset over every file of the range, head()."""
    import pyarrow.dataset as pads

    from warehouse.read.queries import catalog
    lake = Lake(wh.root)
    spec = catalog._table(lake, table)
    files = [f for f in catalog._files(lake, spec) if not spec.by_day
             or ((start is None or f[0] >= start) and (end is None or f[0] <= end))]
    schema = catalog._unified(lake, files)
    cond = catalog._day_filter(spec, schema, start, end, wh.tz) if not spec.by_day else None
    if channels is not None:
        by_channel = catalog._channel_filter(wh, lake, schema, list(channels))
        by_channel = by_channel[0] if by_channel is not None else None  # (filter, the values it keeps)
        cond = by_channel if cond is None else cond & by_channel
    day = pa.schema([("day", pa.date32())])
    options = {"partitioning": pads.partitioning(day, flavor="hive"),
               "partition_base_dir": lake.table_dir(spec)} if spec.by_day else {}
    if spec.by_day:
        schema = schema.append(day.field("day"))
    rows = pads.dataset([p for _, p, _ in files], schema=schema, filesystem=lake.fs, format="parquet",
                        **options).head(limit, filter=cond)
    return catalog._frame(rows, wh.tz)


@pytest.mark.unit
@pytest.mark.parametrize("table", ["chat", "capture_interval", "live_session", "channels"])
@pytest.mark.parametrize(("chans", "start", "end"), [
    (None, None, None), ((0,), None, None), ((2,), None, None), ((1, 2), date(2026, 9, 5), date(2026, 9, 26)),
    ((), None, None), (None, date(2026, 10, 4), None), ((0,), date(2026, 8, 28), date(2026, 8, 29))])
@pytest.mark.parametrize("limit", [1, 100, 10_000])
def test_preview_equals_the_dataset_head_it_replaced(lake, table, chans, start, end, limit):
    """Streaming file by file, stopping when full, gives the rows one dataset's head() gave."""
    wh, facts, _ = lake
    channels = None if chans is None else [facts["channel_ids"][i] for i in chans]
    got = warehouse.table_preview(wh, table, channels, start, end, limit=limit)
    want = _preview_as_it_was(wh, table, channels, start, end, limit)
    assert got.schema == want.schema
    assert got.rows() == want.rows()


@pytest.mark.unit
def test_preview_skips_row_groups_by_their_channel_statistics(tmp_path, monkeypatch):
    """Chat files in row groups of 4 rows (a channel's rows in a few of them): the preview
    reads no row group whose channel statistics rule the channels out, and gives the rows
    the dataset's head() gave."""
    facts = build_rich_lake(tmp_path)
    lake = Lake(str(tmp_path))
    for day in lake.days(CHAT):
        path = lake.part_path(CHAT, day)
        pq.write_table(pq.read_table(path), path, row_group_size=4)
    read = []
    real = pq.ParquetFile.read_row_group
    monkeypatch.setattr(pq.ParquetFile, "read_row_group",
                        lambda self, i, *a, **k: read.append(i) or real(self, i, *a, **k))
    with warehouse.open(str(tmp_path)) as wh:
        for chans in ([0], [2], [1, 2]):
            channels = [facts["channel_ids"][i] for i in chans]
            for limit in (1, 7, 10_000):
                read.clear()
                got = warehouse.table_preview(wh, "chat", channels, limit=limit)
                assert got.rows() == _preview_as_it_was(wh, "chat", channels, None, None, limit).rows()
                groups = sum(pq.ParquetFile(lake.part_path(CHAT, d)).metadata.num_row_groups for d in lake.days(CHAT))
                # one channel of three: its row groups, a third of them or so, not every one
                assert read and (len(chans) > 1 or len(read) < groups / 2), (chans, limit, len(read), groups)
    first = lake.part_path(CHAT, lake.days(CHAT)[0])  # a value past every channel_id: no row group may hold it
    assert health.groups_holding(health.ranges(lake, first, health.file_key(lake, first), "channel_id"),
                                 ["~" * 32]) == []


@pytest.mark.unit
def test_a_preview_asked_again_is_kept_until_its_files_change(tmp_path, monkeypatch):
    """The same preview again reads no file (kept per version of the files); a day file
    rewritten (a new version) is read afresh, and a kept frame changed by a caller does
    not change the next answer."""
    facts = build_rich_lake(tmp_path)
    lake = Lake(str(tmp_path))
    read = []
    real = pq.ParquetFile.iter_batches
    monkeypatch.setattr(pq.ParquetFile, "iter_batches", lambda self, *a, **k: read.append(1) or real(self, *a, **k))
    channels = facts["channel_ids"][:1]
    with warehouse.open(str(tmp_path)) as wh:
        first = warehouse.table_preview(wh, "chat", channels, limit=50)
        assert read and first.height == 50
        read.clear()
        first.insert_column(0, pl.Series("mine", [1] * 50))  # a caller's change stays the caller's
        again = warehouse.table_preview(wh, "chat", channels, limit=50)
        assert not read and again.columns == first.columns[1:] and again.equals(first.drop("mine"))
        day = lake.days(CHAT)[0]
        old = lake.read(CHAT, day)
        lake.write(CHAT, old.filter(pa.compute.not_equal(old.column("channel_id"), channels[0])), day)
        after = warehouse.table_preview(wh, "chat", channels, limit=50)
        assert read and day not in set(after["day"]) and day in set(first["day"])
        assert after.rows() == _preview_as_it_was(wh, "chat", channels, None, None, 50).rows()


@pytest.mark.unit
def test_small_table_previews_follow_channels_and_days(lake):
    wh, facts, _ = lake
    c0, c1 = facts["channel_ids"][:2]
    ci = facts["capture_interval"].to_pylist()
    assert warehouse.table_preview(wh, "capture_interval", [c0]).height == len(ci)
    assert warehouse.table_preview(wh, "capture_interval", [c1]).is_empty()  # none of its broadcasts
    first = facts["broadcasts"][0]["start"].date()
    got = warehouse.table_preview(wh, "capture_interval", [c0], first, first)
    assert got.height == sum(1 for r in ci if r["connected_at"].astimezone(KST).date() == first) > 0
    sessions = warehouse.table_preview(wh, "live_session", [c0], date(2026, 8, 28), date(2026, 8, 29))
    assert sessions["chat_channel_id"].to_list() == [facts["broadcasts"][1]["broadcast"]]
    channels = warehouse.table_preview(wh, "channels", [c1])
    assert channels.select("channel_id", "channel_name").rows() == [(c1, facts["channel_names"][c1])]


@pytest.mark.unit
def test_a_column_added_later_reads_as_null_in_older_partitions(tmp_path):
    facts = build_rich_lake(tmp_path)
    first, second = sorted((tmp_path / "chat").glob("day=*/part-0.parquet"))[:2]
    table = pq.read_table(second)
    pq.write_table(table.append_column("new_col", table.column("id")), second)
    wh = warehouse.open(str(tmp_path))
    got = warehouse.table_preview(wh, "chat", limit=1000)
    assert got.rows() == _preview_as_it_was(wh, "chat", None, None, None, 1000).rows()
    assert got.height == len(facts["rows"]) and "new_col" in got.columns
    old_day = date.fromisoformat(first.parent.name[4:])
    assert got.filter(got["day"] == old_day)["new_col"].null_count() == pq.read_metadata(first).num_rows
    wh.close()


@pytest.mark.unit
@pytest.mark.parametrize("name", ["nope", "../chat", "chat/../../etc", "", "CHAT", "_sync"])
def test_unknown_tables_are_refused_before_any_path(lake, name):
    wh, _, _ = lake
    for fn in (warehouse.table_schema, warehouse.table_partitions, warehouse.table_preview):
        with pytest.raises(ValueError, match="is not one of the lake's tables: use one of chat, events"):
            fn(wh, name)


@pytest.mark.unit
@pytest.mark.parametrize("limit", [0, -1, 10_001])
def test_preview_limit_is_bounded(lake, limit):
    wh, _, _ = lake
    with pytest.raises(ValueError, match="limit="):
        warehouse.table_preview(wh, "chat", limit=limit)


@pytest.mark.unit
def test_state_of_a_lake_never_synced(lake):
    wh, _, _ = lake
    state = warehouse.lake_state(wh)
    assert state["present"] is False and state["last_sync"] is None and state["days"] == 0
    assert state["raw"] == {} and state["archived_days"] == []


# ---- after a real sync ----------------------------------------------------------------------

def _seed(pg) -> dict[str, int]:
    """Two channels, chat on three local days (two rows either side of midnight KST), two
    events; returns {channel_id: fk}."""
    with pg.cursor() as cur:
        psycopg2.extras.execute_values(cur, "INSERT INTO stream_channel (channel_id, channel_name) VALUES %s",
                                       [("a" * 32, "침착맨"), ("b" * 32, "<b>풍월량</b>")])
        cur.execute("SELECT channel_id, id FROM stream_channel")
        fks = dict(cur.fetchall())
        values = []
        base = datetime(2026, 9, 1, 23, 0, tzinfo=KST)
        for n in range(40):
            when = base + timedelta(minutes=37 * n)
            ch = "a" * 32 if n % 3 else "b" * 32
            values.append((fks[ch], f"u{n % 5}", "**굵게**", f"메시지 {n}", "chat", when,
                           when + timedelta(seconds=1), json.dumps({}), f"k{n}"))
        psycopg2.extras.execute_values(cur, "INSERT INTO stream_chat (channel_fk, user_id, nickname, message,"
                                       " message_type, chat_time, created_at, raw, dedupe_key) VALUES %s", values)
        cur.execute("INSERT INTO events (channel_fk, cmd, event_type, event_time, received_at, body, dedupe_key)"
                    " VALUES (%s, 93006, 'NOTICE', %s, %s, '{}', 'e1'), (%s, 93006, 'NOTICE', %s, %s, '{}', 'e2')",
                    (fks["a" * 32], base, base, fks["b" * 32], base + timedelta(hours=2), base + timedelta(hours=2)))
    pg.commit()
    return fks


@pytest.mark.integration
def test_catalog_after_a_real_sync_agrees_with_postgres(pg, tmp_path):
    _seed(pg)
    report = sync(pg, str(tmp_path))
    with pg.cursor() as cur:
        cur.execute("SELECT (chat_time AT TIME ZONE 'Asia/Seoul')::date, count(*) FROM stream_chat GROUP BY 1")
        pg_days = dict(cur.fetchall())
        cur.execute("SELECT max(id) FROM stream_chat")
        max_id = cur.fetchone()[0]
    pg.rollback()
    wh = warehouse.open(str(tmp_path))
    state = warehouse.lake_state(wh)
    assert state["present"] and state["last_sync"] == report.state.last_sync.isoformat()
    assert state["days"] == len(pg_days) and state["rows"] == sum(pg_days.values())
    assert state["max_id"] == max_id and state["timezone"] == "Asia/Seoul"
    assert (state["first_day"], state["last_day"]) == (min(pg_days).isoformat(), max(pg_days).isoformat())
    assert state["tables"]["events"]["rows"] == 2
    assert state["users_index_fresh"] is True and state["rollups_fresh"] is True and state["chatter_days_fresh"] is True
    assert state["user_tail_fresh"] is True and state["broadcast_spans_fresh"] is True
    assert state["broadcast_minutes_fresh"] is True
    assert sorted(k for k in state if k.endswith("_fresh")) == [  # one per accelerator of the registry
        "broadcast_minutes_fresh", "broadcast_spans_fresh", "chatter_days_fresh", "emote_counts_fresh", "money_lines_fresh",
        "rollups_fresh", "user_tail_fresh", "users_index_fresh", "word_counts_fresh"]
    assert state["emote_counts_fresh"] is True and state["word_counts_fresh"] is True
    assert "user_tail" not in set(warehouse.lake_tables(wh)["table"])  # not a Parquet table: not listed

    parts = warehouse.table_partitions(wh, "chat")
    assert dict(zip(parts["day"], parts["rows"], strict=True)) == pg_days
    assert parts["state_rows"].to_list() == parts["rows"].to_list()  # the sync recorded what it wrote
    tables = {r["table"]: r for r in warehouse.lake_tables(wh).to_dicts()}
    assert tables["chat"]["rows"] == sum(pg_days.values()) and tables["events"]["rows"] == 2
    assert tables["users"]["present"] and tables["rollups"]["present"] and tables["broadcast_spans"]["present"]
    assert tables["chatter_days"]["present"]
    assert tables["channels"]["rows"] == 2

    events = warehouse.table_preview(wh, "events", ["b" * 32])
    assert events["dedupe_key"].to_list() == ["e2"]
    chat = warehouse.table_preview(wh, "chat", ["b" * 32], limit=100)
    assert set(chat["channel_name"]) == {"<b>풍월량</b>"} and set(chat["nickname"]) == {"**굵게**"}

    # forget-user style rewrite outside the sync: the partition's rows now differ from the state
    day = min(pg_days)
    path = Lake(str(tmp_path)).part_path(CHAT, day)
    table = pq.read_table(path)
    pq.write_table(table.slice(1), path)
    parts = warehouse.table_partitions(wh, "chat")
    row = parts.filter(parts["day"] == day).to_dicts()[0]
    assert (row["rows"], row["state_rows"]) == (pg_days[day] - 1, pg_days[day])
    state = warehouse.lake_state(wh)
    assert state["users_index_fresh"] is False and state["rollups_fresh"] is False
    assert state["chatter_days_fresh"] is False and state["user_tail_fresh"] is False
    assert state["broadcast_spans_fresh"] is False
    wh.close()


@pytest.mark.unit
def test_other_table_folders_are_found(tmp_path):
    """A side table another component writes (a single file, or day partitions) is listed
    and readable; _sync and hidden folders are not tables."""
    build_rich_lake(tmp_path)
    lake = Lake(str(tmp_path))
    lake.write_state({"version": 2})
    daily = pa.table({"day": pa.array([date(2026, 9, 5)], pa.date32()), "channel_id": ["c" * 32],
                      "lines": pa.array([7], pa.int64())})
    (tmp_path / "daily").mkdir()
    pq.write_table(daily, tmp_path / "daily" / "part-0.parquet")
    (tmp_path / "extra" / "day=2026-09-05").mkdir(parents=True)
    pq.write_table(pa.table({"channel_id": ["c" * 32, "d" * 32]}), tmp_path / "extra" / "day=2026-09-05" / "part-0.parquet")
    (tmp_path / ".hidden").mkdir()
    (tmp_path / "empty").mkdir()
    wh = warehouse.open(str(tmp_path))
    got = {r["table"]: r for r in warehouse.lake_tables(wh).to_dicts()}
    assert list(got)[-2:] == ["daily", "extra"] and "_sync" not in got and "empty" not in got
    assert (got["daily"]["rows"], got["daily"]["by_day"]) == (1, False)
    assert (got["extra"]["rows"], got["extra"]["by_day"], got["extra"]["first_day"]) == (2, True, date(2026, 9, 5))
    schema = warehouse.table_schema(wh, "daily")
    assert schema["column"].to_list() == ["day", "channel_id", "lines"] and schema["in_registry"].null_count() == 3
    assert warehouse.table_preview(wh, "daily", ["c" * 32], date(2026, 9, 5), date(2026, 9, 5))["lines"].to_list() == [7]
    assert warehouse.table_preview(wh, "daily", ["c" * 32], date(2026, 9, 6), date(2026, 9, 6)).is_empty()
    assert warehouse.table_preview(wh, "extra", ["d" * 32])["channel_id"].to_list() == ["d" * 32]
    for name in ("_sync", ".hidden", "empty"):
        with pytest.raises(ValueError, match="is not one of the lake's tables"):
            warehouse.table_preview(wh, name)
    wh.close()


@pytest.mark.unit
def test_session_rows_follow_their_broadcasts_channel(tmp_path):
    """live_session_poll knows its channel only through session_fk → live_session."""
    facts = build_rich_lake(tmp_path)
    sessions = facts["live_session"].to_pylist()  # channel 0's first two broadcasts
    polls = pa.table({
        "session_fk": pa.array([s["id"] for s in sessions for _ in range(3)] + [999], pa.int64()),
        "polled_at": pa.array([s["opened_at"] + timedelta(minutes=5 * k) for s in sessions for k in range(3)]
                              + [datetime(2026, 9, 1, tzinfo=UTC)], pa.timestamp("us", tz="UTC")),
        "status": ["OPEN"] * (3 * len(sessions) + 1)})
    (tmp_path / "live_session_poll").mkdir()
    pq.write_table(polls, tmp_path / "live_session_poll" / "part-0.parquet")
    wh = warehouse.open(str(tmp_path))
    c0, c1 = facts["channel_ids"][:2]
    got = warehouse.table_preview(wh, "live_session_poll", [c0])
    assert sorted(got["session_fk"].to_list()) == sorted(s["id"] for s in sessions for _ in range(3))
    assert warehouse.table_preview(wh, "live_session_poll", [c1]).is_empty()
    first = sessions[0]["opened_at"].astimezone(KST).date()
    assert warehouse.table_preview(wh, "live_session_poll", [c0], first, first)["session_fk"].to_list() == [
        sessions[0]["id"]] * 3
    assert warehouse.table_preview(wh, "live_session_poll").height == polls.num_rows  # no channel filter
    wh.close()


@pytest.mark.integration
def test_catalog_on_an_s3_lake(s3_lake):  # noqa: F811 - the imported fixture
    """The same answers from s3:// (local S3 server): listings, footers and previews all go
    through pyarrow's S3 filesystem."""
    root, _, _ = s3_lake
    facts = build_rich_lake(root)
    Lake(root).write_state({"version": 2, "last_sync": "2026-10-11T03:00:00+00:00",
                            "days": {"2026-08-20": 1}})
    with warehouse.open(root) as wh:
        got = {r["table"]: r for r in warehouse.lake_tables(wh).to_dicts()}
        assert got["chat"]["rows"] == len(facts["rows"]) and got["chat"]["bytes"] > 0
        assert got["capture_interval"]["rows"] == facts["capture_interval"].num_rows
        parts = warehouse.table_partitions(wh, "chat")
        assert dict(zip(parts["day"], parts["rows"], strict=True)) == dict(Counter(r["day"] for r in facts["rows"]))
        assert parts.filter(parts["day"] == date(2026, 8, 20))["state_rows"].item() == 1
        assert warehouse.table_schema(wh, "chat")["column"].to_list() == CHAT_SCHEMA.names + ["day"]
        c1 = facts["channel_ids"][1]
        preview = warehouse.table_preview(wh, "chat", [c1], date(2026, 9, 5), date(2026, 9, 5))
        want = sorted(r["id"] for r in facts["rows"] if r["channel_id"] == c1 and r["day"] == date(2026, 9, 5))
        assert sorted(preview["id"].to_list()) == want[:100]
        assert warehouse.table_preview(wh, "capture_interval", [facts["channel_ids"][0]]).height == \
            facts["capture_interval"].num_rows
        assert warehouse.lake_state(wh)["last_sync"] == "2026-10-11T03:00:00+00:00"
