"""dashboard/formats.py: a column's kind from its name and type, the order a table shows,
empty and nested cells as text, CSV cells a spreadsheet reads as dates and numbers, and the
Korean axis units."""
from __future__ import annotations

from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard import formats

pytestmark = pytest.mark.unit

FRAME = pl.DataFrame({
    "user_id": ["a" * 32, None], "nickname": ["둘리", None], "messages": [97361, 5],
    "share": [0.8533, 0.1467], "messages_per_chatter": [7245.8678, 1.0], "amount": [1000, None],
    "time": [datetime(2026, 12, 5, 12, 0, 0, 123456, tzinfo=UTC), None], "day": [date(2026, 12, 5), None],
    "tiers": [["1", "2"], None], "broadcast": ["b1", "b2"],
})


def test_each_column_has_the_kind_a_reader_expects():
    assert formats.kinds(FRAME.schema) == {
        "user_id": "id", "nickname": "text", "messages": "count", "share": "fraction",
        "messages_per_chatter": "decimal", "amount": "money", "time": "time", "day": "day", "tiers": "text",
        "broadcast": "id"}
    assert formats.kind("subscriber_share", pl.Float64) == "fraction"
    assert formats.kind("shares", pl.Float64) == "decimal"  # a word's tail, not a suffix
    assert formats.kind("share", pl.Int64) == "count"


def test_a_table_puts_ids_last_and_reads_empty_cells_as_a_dash():
    shown = formats.for_table(FRAME)
    assert shown.columns[-2:] == ["user_id", "broadcast"] and shown.columns[0] == "nickname"
    assert shown["nickname"].to_list() == ["둘리", "–"] and shown["tiers"].to_list() == ["1, 2", "–"]
    assert shown["user_id"].to_list() == ["a" * 32, "–"]
    assert shown["messages"].dtype == pl.Int64 and shown["amount"].to_list() == [1000, None]  # numbers stay numbers


def test_every_kind_has_a_cell_format():
    got = {k: formats.cell_config(k, "x", "Asia/Seoul") for k in
           ("id", "time", "day", "fraction", "money", "count", "decimal", "text")}
    assert got["count"]["type_config"]["format"] == "localized"
    assert got["fraction"]["type_config"]["format"] == "percent"
    assert {k: got["time"]["type_config"][k] for k in ("format", "timezone")} == {
        "format": formats.TABLE_TIME, "timezone": "Asia/Seoul"}
    assert got["id"]["width"] == "small" and all(c["label"] == "x" for c in got.values())


def test_csv_cells_are_local_times_numbers_and_translated_headers():
    out = formats.for_csv(FRAME, {"messages": "메시지", "share": "비중", "time": "시각"}.get, "Asia/Seoul")
    assert out.columns[:4] == ["user_id", "nickname", "메시지", "비중"]  # unknown columns keep their names
    assert out["시각"].to_list() == ["2026-12-05 21:00:00", None]  # KST, no offset, no microseconds
    assert out["메시지"].dtype == pl.Int64 and out["비중"].to_list() == [0.8533, 0.1467]
    assert out["tiers"].to_list() == ["1, 2", None]
    same = formats.for_csv(pl.DataFrame({"a": [1], "b": [2]}), lambda c: "같음", "UTC")
    assert same.columns == ["같음 (a)", "같음 (b)"]


@pytest.mark.parametrize("value, text", [(0, "0"), (999, "999"), (8000, "8,000"), (10_000, "1만"),
                                         (12_345, "1.2만"), (16_000_000, "1,600만"), (250_000_000, "2.5억"),
                                         (-12_345, "-1.2만"), (0.25, "0.25")])
def test_korean_axis_units(value, text):
    assert formats.korean_units(value) == text


def test_axis_labels_never_use_scientific_notation():
    for lang in ("ko", "en"):
        expr = formats.axis_label_expr(lang)
        assert "format(datum.value, ',~r')" in expr and "e" not in expr.replace("datum", "").replace(
            "value", "").replace("format", "").replace("1e8", "").replace("1e4", "")
    assert "만" in formats.axis_label_expr("ko") and "만" not in formats.axis_label_expr("en")
