"""How the dashboard shows a value, declared once (issue 21 §1): each column's kind from its
name and type, and for each kind how a table cell, a CSV cell and a chart axis read.

People read `97,361`, `85.3 %`, `7,245.9`, `2026-12-05 21:00` in the zone they chose and, in
Korean, `1.2만` on an axis; not `97361`, `0.8533`, `7245.8678`, `2026-12-05 21:00:00+09:00`
or `1e+4`. Ids are for machines: they go last and narrow. Pure: names and polars types in;
Streamlit column configs, Vega expressions and polars frames out (nothing is drawn here)."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import polars as pl

# A column's kind. The checks run in this order: type first, then the name.
ID, TIME, DAY, FRACTION, MONEY, COUNT, DECIMAL, TEXT = ("id", "time", "day", "fraction", "money", "count",
                                                        "decimal", "text")
ID_NAMES = ("broadcast", "chat_channel_id", "dedupe_key")       # besides every name ending in _id
FRACTION_NAMES = ("share", "ratio", "rate", "coverage", "engagement", "retention")  # whole name or _suffix
MONEY_NAMES = ("amount", "pay_amount", "won", "donated", "total_amount")
NO_VALUE = "–"  # what an empty cell reads as, in every language
TABLE_TIME = "YYYY-MM-DD HH:mm:ss"  # moment.js, Streamlit's DatetimeColumn: no offset, no fraction
CSV_TIME = "%Y-%m-%d %H:%M:%S"      # what Excel and LibreOffice read as a date and time


def kind(name: str, dtype: pl.DataType) -> str:
    """The kind of column `name` of type `dtype`."""
    if isinstance(dtype, pl.Datetime):
        return TIME
    if dtype == pl.Date:
        return DAY
    if name.endswith("_id") or name in ID_NAMES:
        return ID
    if dtype.is_numeric():
        if name in MONEY_NAMES:
            return MONEY
        if dtype.is_float():
            return FRACTION if _named(name, FRACTION_NAMES) else DECIMAL
        return COUNT
    return TEXT


def _named(name: str, words: Iterable[str]) -> bool:
    return any(name == w or name.endswith("_" + w) for w in words)


def kinds(schema: pl.Schema | dict) -> dict[str, str]:
    return {name: kind(name, dtype) for name, dtype in schema.items()}


def order(schema: pl.Schema | dict) -> list[str]:
    """The columns as a table shows them: as they come, ids last (names and text first)."""
    found = kinds(schema)
    return [c for c in found if found[c] != ID] + [c for c in found if found[c] == ID]


def cell_config(kind_: str, label: str, tz: str):
    """The st.column_config for a column of `kind_` headed `label`, times shown in `tz`."""
    import streamlit as st  # only the dashboard draws; the rest of this module is pure

    if kind_ == COUNT:
        return st.column_config.NumberColumn(label, format="localized")
    if kind_ == MONEY:
        return st.column_config.NumberColumn(label, format="localized", step=1)
    if kind_ == DECIMAL:
        return st.column_config.NumberColumn(label, format="localized", step=0.1)
    if kind_ == FRACTION:
        return st.column_config.NumberColumn(label, format="percent", step=0.1)
    if kind_ == TIME:
        return st.column_config.DatetimeColumn(label, format=TABLE_TIME, timezone=tz)
    if kind_ == DAY:
        return st.column_config.DateColumn(label, format="YYYY-MM-DD")
    if kind_ == ID:
        return st.column_config.TextColumn(label, width="small")
    return st.column_config.TextColumn(label)


def for_table(df: pl.DataFrame) -> pl.DataFrame:
    """`df` as a table shows it: ids last, empty text cells as NO_VALUE, lists as text."""
    exprs = []
    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.List) and dtype.inner == pl.Utf8:
            exprs.append(pl.col(name).list.join(", ").fill_null(NO_VALUE).alias(name))
        elif dtype == pl.Utf8:
            exprs.append(pl.col(name).fill_null(NO_VALUE))
    shown = df.with_columns(exprs) if exprs else df
    return shown.select(order(shown.schema))


def for_csv(df: pl.DataFrame, header: Callable[[str], str | None], tz: str) -> pl.DataFrame:
    """`df` as a spreadsheet reads it: headers from `header` (the page's language; None keeps
    the column's name), times in `tz` as `YYYY-MM-DD HH:MM:SS` without an offset (Excel reads
    that as a date and time; it has no time zones), numbers left numbers, string lists joined.
    Other nesting and the formula defusing stay with dashboard.data.to_csv_bytes."""
    exprs = []
    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.Datetime):
            value = pl.col(name).dt.convert_time_zone(tz) if dtype.time_zone else pl.col(name)
            exprs.append(value.dt.strftime(CSV_TIME).alias(name))
        elif isinstance(dtype, pl.List) and dtype.inner == pl.Utf8:
            exprs.append(pl.col(name).list.join(", ").alias(name))
    out = df.with_columns(exprs) if exprs else df
    return out.rename(_unique_headers(out.columns, header))


def _unique_headers(columns: list[str], header: Callable[[str], str | None]) -> dict[str, str]:
    """Each column's header, the column's own name added where two would read alike."""
    named = {c: header(c) or c for c in columns}
    seen: dict[str, int] = {}
    for h in named.values():
        seen[h] = seen.get(h, 0) + 1
    return {c: h if seen[h] == 1 else f"{h} ({c})" for c, h in named.items()}


def axis_label_expr(lang: str) -> str:
    """A Vega expression for a quantitative axis's labels: thousands separators, and in
    Korean 만 (10⁴) and 억 (10⁸) from ten thousand on; never `1e+4`."""
    plain = "format(datum.value, ',~r')"
    if lang != "ko":
        return plain
    return ("abs(datum.value) >= 1e8 ? format(datum.value / 1e8, ',.1~f') + '억' : "
            "abs(datum.value) >= 1e4 ? format(datum.value / 1e4, ',.1~f') + '만' : " + plain)


def korean_units(value: float) -> str:
    """axis_label_expr's Korean rule in Python (figures in text, tests): 12,345 -> 1.2만."""
    for size, unit in ((1e8, "억"), (1e4, "만")):
        if abs(value) >= size:
            return f"{value / size:,.1f}".rstrip("0").rstrip(".") + unit
    return f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"
