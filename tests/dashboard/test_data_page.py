"""The Data page in AppTest over a synced rich lake: tables, schema, partitions, state and
the preview; lake-wide figures kept from streamers; its pure helpers (dashboard.charts.data_tables)."""
from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import accounts, charts, data
from dashboard.i18n import t
from tests.lakefixture_rich import is_chatter
from tests.page_checks import (
    APP,
    FIRST,
    LAST,
    PREVIEW,
    day_of,
    frame_of,
    ok,
    open_page,
    start_app,
)
from tests.section_tabs import open_section as _tab
from warehouse.lake.tables import CHAT_SCHEMA, TABLES


@pytest.mark.e2e
def test_data_page_lists_tables_schema_partitions_and_state(synced_lake, monkeypatch):
    root, facts, off = synced_lake
    at = open_page(start_app(root, monkeypatch), "data_tables", FIRST, LAST)
    tables = frame_of(at, "table", "description")
    by_name = {r.table: r for r in tables.itertuples(index=False)}
    assert list(by_name) == [t_.name for t_ in TABLES] + ["users", "rollups", "broadcast_spans", "chatter_days", "money_lines",
                                                           "broadcast_minutes", "emote_counts", "word_counts"]
    # the registry, then the side tables
    assert not by_name["chatter_days"].present and "채팅 참여자" in by_name["chatter_days"].description  # not built here
    chat = by_name["chat"]
    assert chat.rows == len(facts["rows"]) and chat.partitions == len({r["day"] for r in facts["rows"]})
    assert chat.bytes == sum(p.stat().st_size for p in (Path(root) / "chat").glob("day=*/part-0.parquet"))
    assert not by_name["events"].present and by_name["events"].rows == 0
    assert by_name["channels"].rows == 3 and by_name["live_session"].rows == facts["live_session"].num_rows

    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("data_last_sync")] == "10-11 12:00"  # 03:00 UTC in Seoul
    assert metrics[t("data_rows")] == f"{len(facts['rows']) + 1:,}"  # the state's own count
    assert metrics[t("data_archived")] == "1"
    assert metrics[t("data_users_fresh")] == t("data_fresh")

    schema = frame_of(at, "column", "type")
    assert list(schema["column"]) == CHAT_SCHEMA.names + ["day"]
    assert schema["in_registry"].all() and list(schema["partition"]).count(True) == 1
    assert len(at.get("download_button")) == 2 * len(at.dataframe)

    _tab(at, "data_section", t("data_partitions"))
    parts = frame_of(at, "day", "rows", "bytes", "state_rows")
    assert {day_of(d).isoformat(): n for d, n in zip(parts["day"], parts["rows"], strict=True)} == Counter(
        r["day"].isoformat() for r in facts["rows"])
    assert any(t("data_mismatch").format(n=1) in w.value for w in at.warning)  # the day off by one
    assert len(at.get("download_button")) == 2 * len(at.dataframe)

    _tab(at, "data_section", PREVIEW)
    preview = frame_of(at, "id", "channel_id", "channel_name")
    want = sorted((r for r in facts["rows"]), key=lambda r: (r["day"], r["channel_id"], r["chat_time"], r["id"]))
    assert list(preview["id"]) == [r["id"] for r in want[:100]]
    assert len(at.get("download_button")) == 2 * len(at.dataframe)


@pytest.mark.e2e
def test_data_page_preview_follows_table_channels_and_days(synced_lake, monkeypatch):
    root, facts, _ = synced_lake
    cid, day = facts["channel_ids"][1], facts["broadcasts"][6]["start"].date()
    at = open_page(start_app(root, monkeypatch), "data_tables", day, day, channels=[cid])
    _tab(at, "data_section", PREVIEW)
    preview = frame_of(at, "id", "channel_id", "channel_name")
    want = [r["id"] for r in facts["rows"] if r["channel_id"] == cid and r["day"] == day]
    assert sorted(preview["id"]) == sorted(want[:100]) and len(preview) == min(100, len(want))

    at.selectbox(key="data_table").set_value("users").run(timeout=60)
    ok(at)
    users = frame_of(at, "user_id", "channel_id", "channel_name", "day")
    assert set(users["channel_id"]) == {cid} and {day_of(d) for d in users["day"]} == {day}
    assert int(users["messages"].sum()) == sum(1 for r in facts["rows"] if r["channel_id"] == cid
                                               and r["day"] == day and is_chatter(r) and r["user_id"])

    # capture_interval has no channel_id: rows come through the channel's broadcasts, so
    # channel 1 (no capture intervals in the fixture) sees none, channel 0 sees its own
    at.selectbox(key="data_table").set_value("capture_interval").run(timeout=60)
    ok(at)
    assert any(t("no_rows") in i.value for i in at.info)
    c0 = facts["channel_ids"][0]
    at.multiselect(key="f_channels").set_value([c0]).run(timeout=60)
    at.date_input(key="f_dates").set_value((FIRST, LAST)).run(timeout=60)
    ok(at)
    intervals = frame_of(at, "id", "key")
    assert len(intervals) == facts["capture_interval"].num_rows

    at.selectbox(key="data_table").set_value("events").run(timeout=60)
    ok(at)
    assert any(t("data_absent") in i.value for i in at.info)


@pytest.mark.e2e
@pytest.mark.parametrize("role", ["streamer", "analyst"])
def test_data_page_keeps_lake_wide_figures_from_streamers(synced_lake, monkeypatch, role):
    """The page alone, with the filters a signed-in account would get (a streamer: only
    their channel): dashboard.accounts.Account where that module exists, else a plain value
    with the same role and channels."""
    from types import SimpleNamespace

    from dashboard.app_pages import widgets
    root, facts, _ = synced_lake
    cid = facts["channel_ids"][2]
    try:
        from dashboard.accounts import Account
        account = Account(name="someone", role=role, channels=(cid,))
    except ImportError:
        account = SimpleNamespace(role=role, channels=(cid,))
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    at = AppTest.from_file(str(Path(APP).parent / "app_pages" / "data_tables.py"), default_timeout=60)
    at.session_state["_dashboard_filters"] = widgets.Filters(
        str(root), (cid,), FIRST, LAST, dict(facts["channel_names"]), "Asia/Seoul",
        account=account)
    at.run(timeout=60)
    ok(at)
    tables = frame_of(at, "table", "description")
    labels = {m.label for m in at.metric}
    _tab(at, "data_section", PREVIEW)
    preview = frame_of(at, "id", "channel_id", "channel_name")
    assert set(preview["channel_id"]) == {cid}
    _tab(at, "data_section", t("data_partitions"))
    if role == "streamer":
        assert "rows" not in tables.columns and "bytes" not in tables.columns
        assert t("data_rows") not in labels and t("data_last_sync") in labels
        assert not [d for d in at.dataframe if tuple(d.value.columns[:2]) == ("day", "rows")]
        assert any(t("data_lake_wide") in c.value for c in at.caption)
    else:
        assert int(tables["rows"].iloc[0]) == len(facts["rows"]) and t("data_rows") in labels
    hidden = set(accounts.MODERATION_COLUMNS)
    if role == "analyst":  # no moderation: neither the events table nor the chat's blind columns
        assert "events" not in set(tables["table"]) and not hidden & set(preview.columns)
    else:
        assert "events" in set(tables["table"]) and hidden <= set(preview.columns)


@pytest.mark.unit
@pytest.mark.parametrize(("n", "text"), [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KB"),
                                         (5 * 1024 ** 3, "5.0 GB"), (None, "")])
def test_human_bytes(n, text):
    assert charts.human_bytes(n) == text


@pytest.mark.unit
def test_sync_age_and_local_time():
    now = datetime(2026, 10, 11, 6, 0, tzinfo=UTC)
    assert charts.hours_since("2026-10-11T03:00:00+00:00", now) == 3.0
    assert charts.hours_since(None, now) is None
    assert charts.local_iso("2026-10-11T15:30:00+00:00", "Asia/Seoul") == "2026-10-12 00:30:00"
    assert charts.local_iso(None, "Asia/Seoul") == "-"
