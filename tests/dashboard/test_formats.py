"""dashboard/formats.py: a column's kind from its name and type, the order a table shows,
empty and nested cells as text, CSV cells a spreadsheet reads as dates and numbers, and the
Korean axis units."""
from __future__ import annotations

import shutil
import subprocess
from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard import data, formats
from dashboard.i18n import LABELS
from dashboard.labels import columns
from tests.page_checks import raw_values

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
    assert formats.kind("chatter_share", pl.Float64) == "fraction"  # declared in labels/columns.py
    assert formats.kind("shares", pl.Float64) == "decimal"  # not declared: its type says
    assert formats.kind("share", pl.Int64) == "count"  # a fraction that is an integer is a count
    assert formats.kind("message", pl.Utf8) == "long_text" and formats.kind("message", pl.Int64) == "count"
    assert formats.kind("first_line", pl.Datetime("us", "UTC")) == "time"  # the type first


def test_every_declared_kind_and_coded_value_is_known():
    assert set(columns.KINDS.values()) <= {formats.ID, formats.FRACTION, formats.MONEY, formats.LONG_TEXT,
                                          formats.TEXT, formats.COUNT, formats.DECIMAL}
    for codes in columns.VALUES.values():
        for key in codes.values():
            assert key in LABELS and all(LABELS[key]), key


def test_a_table_puts_ids_last_and_reads_coded_values_in_the_language():
    assert formats.order(FRAME.schema)[-2:] == ["user_id", "broadcast"]
    assert formats.order(FRAME.schema)[0] == "nickname"
    coded = pl.DataFrame({"tier": ["tier 1", "none", "tier 9", None], "x": [0.5, float("nan"), None, 1.0]})
    shown = formats.for_table(coded, lambda column, code: {"tier 1": "티어 1", "none": "비구독"}.get(code))
    assert shown["tier"].to_list() == ["티어 1", "비구독", "tier 9", None]  # an unknown code as it is
    assert shown["x"].to_list() == [0.5, None, None, 1.0]  # NaN is no value
    assert formats.for_table(FRAME, lambda c, v: None).equals(FRAME)  # numbers and order stay


def test_every_kind_has_a_cell_format():
    got = {k: formats.cell_config(k, "x", "Asia/Seoul") for k in
           ("id", "time", "day", "fraction", "money", "count", "decimal", "text", "long_text")}
    assert got["count"]["type_config"]["format"] == "localized"
    assert got["fraction"]["type_config"]["format"] == "percent"
    assert got["money"]["type_config"]["step"] == 1  # whole won
    assert {k: got["time"]["type_config"][k] for k in ("format", "timezone")} == {
        "format": formats.TABLE_TIME, "timezone": "Asia/Seoul"}
    assert got["id"]["width"] == "small" and got["long_text"]["width"] == "large"
    assert all(c["label"] == "x" for c in got.values())


def test_a_table_config_heads_each_column_and_keeps_what_a_page_gave():
    import streamlit as st

    schema = {"messages": pl.Int64, "coverage": pl.Float64, "bucket": pl.Datetime("us", "UTC"),
              "minute": pl.Datetime("us"), "title": pl.Utf8}
    got = formats.table_config(schema, {"messages": "메시지"}.get, "Asia/Seoul", {
        "coverage": st.column_config.ProgressColumn("수집률", format="percent", min_value=0, max_value=1),
        "title": "제목"})
    assert got["messages"]["label"] == "메시지" and got["messages"]["type_config"]["format"] == "localized"
    assert got["coverage"]["type_config"]["type"] == "progress" and got["coverage"]["label"] == "수집률"
    assert got["title"]["label"] == "제목" and got["title"]["width"] == "large"
    assert got["bucket"]["type_config"]["timezone"] == "Asia/Seoul"
    assert got["minute"]["type_config"]["timezone"] is None  # a naive time is shown as it is
    assert got["bucket"]["label"] is None  # no header known: Streamlit shows the column's name
    number = formats.table_config({"n": pl.Int64}, lambda c: "n", "UTC", {"n": st.column_config.NumberColumn("N")})
    assert number["n"]["label"] == "N" and number["n"]["type_config"]["format"] == "localized"


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


@pytest.mark.parametrize("text", ["None", "NaN", "1e+4", "1.6e+3", "0.8533", "7245.8678", "97361",
                                  "2026-12-05 21:00:00+09:00", "21:00:00.123456"])
def test_the_page_text_check_finds_raw_values(text):
    """tests/page_checks.raw_values, which the browser page-text check applies to every page."""
    assert raw_values(f"메시지 {text} 개")


def test_the_page_text_check_passes_formatted_values_and_the_lakes_own_text():
    shown = ("97,361 · 85.3% · 7,245.9 · 2026-12-05 21:00:00 · 1.2만 · 0.25 · 127.0.0.1 · 1,600만 · "
             "a1b2c3d4e5f60718 · 2026-10-04 – 2026-10-10 · –")
    assert raw_values(shown) == []
    assert raw_values("닉네임 None 님", untrusted=["닉네임 None"]) == []  # a nickname may read 'None'


def test_a_spreadsheet_reads_the_csv_times_as_dates_and_numbers_as_numbers(tmp_path):
    """LibreOffice Calc (en-US, comma-separated, special numbers detected as Excel does) opens
    a table's CSV as the dashboard writes it
    (formats.for_csv then data.to_csv_bytes): the local time is a date-time cell, the count
    and the share are numbers, the list one text cell."""
    if shutil.which("soffice") is None:
        pytest.skip("LibreOffice not installed (apt-get install libreoffice-calc-nogui)")
    out = formats.for_csv(FRAME.head(1), {"messages": "메시지", "time": "시각"}.get, "Asia/Seoul")
    (tmp_path / "t.csv").write_bytes(data.to_csv_bytes(out))
    # comma, quote, UTF-8, en-US, and "detect special numbers" on: dates and times read as Excel reads them
    flt = "CSV:44,34,76,1,,1033,false,true,false,false,false,-1,true"
    subprocess.run(["soffice", f"-env:UserInstallation=file://{tmp_path / 'profile'}", "--headless", "--norestore",
                    f"--infilter={flt}", "--convert-to", "fods", "--outdir", str(tmp_path), str(tmp_path / "t.csv")],
                   check=True, capture_output=True, timeout=180)
    sheet = (tmp_path / "t.fods").read_text(encoding="utf-8")
    assert 'office:value-type="date" office:date-value="2026-12-05T21:00:00"' in sheet  # 12:00 UTC in Seoul
    assert 'office:value-type="float" office:value="97361"' in sheet
    assert 'office:value-type="float" office:value="0.8533"' in sheet
    assert "<text:p>1, 2</text:p>" in sheet and "<text:p>메시지</text:p>" in sheet
