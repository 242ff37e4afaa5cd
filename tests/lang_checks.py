"""What the language switch must reach on a page run with AppTest: every table's column
headers (st.dataframe's column_config labels) and the charts' titles. Shared by the page
tests (tests/dashboard/test_*_page.py, test_page_language.py, test_search.py)."""
from __future__ import annotations

import json
import re

from streamlit.testing.v1 import AppTest

from dashboard.i18n import LABELS, t
from tests import vega_checks as vega


def hangul(text: str | None) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text or "")


def headers(at: AppTest) -> list[dict[str, str | None]]:
    """Per table on the page: {data column name: its header (None: no label, the raw name shows)}."""
    out = []
    for frame in at.dataframe:
        config = json.loads(frame.proto.columns or "{}")
        out.append({c: (config.get(c) or {}).get("label") for c in frame.value.columns})
    return out


def chart_titles(at: AppTest) -> list[str]:
    return [vega.title(s) for s in vega.specs(at)]


def assert_headers_follow(at: AppTest, lang: str, raw_tables: int = 0, shared: bool = True) -> None:
    """Every table but the last `raw_tables` (shown under their stored names on purpose)
    has a header for each column, in `lang`: Hangul in each Korean one, none in English
    ones. With `shared`, each column shows its shared label (col_a_<name>) when it has one."""
    tables = headers(at)
    assert len(tables) > raw_tables, tables
    for table in tables[:len(tables) - raw_tables]:
        for column, label in table.items():
            assert label, (column, table)
            assert hangul(label) == (lang == "ko"), (lang, column, label)
            if shared and f"col_a_{column}" in LABELS:
                assert label == t(f"col_a_{column}", lang), (column, label)


NUMERIC_DIRECTIVES = {"%Y", "%m", "%d", "%H", "%M", "%-m", "%-d"}


def time_label_formats(at: AppTest) -> list[str]:
    """The tick label format (or label expression) of every temporal x axis on the page."""
    out = []
    for s in vega.specs(at):
        for v in vega.views(s):
            x = v.get("encoding", {}).get("x") or {}
            if x.get("type") == "temporal" and x.get("axis", {}) is not None:
                axis = x.get("axis") or {}
                out.append(axis.get("labelExpr") or axis.get("format") or "<Vega's default: English words>")
    return out


def assert_time_labels_numeric(at: AppTest) -> None:
    """Every temporal x axis labels its ticks in digits only (no month or weekday names,
    which Vega writes in English whatever the page's language)."""
    for fmt in time_label_formats(at):
        assert set(re.findall(r"%-?[a-zA-Z]", fmt)) <= NUMERIC_DIRECTIVES and "%" in fmt, fmt
