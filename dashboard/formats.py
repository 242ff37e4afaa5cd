"""How the dashboard shows a value (issue 21 §1): each column's kind (declared in
dashboard/labels/columns.py, else from its type), and for each kind how a table cell, a CSV
cell and a chart axis read.

People read `97,361`, `85.3%`, `7,245.9`, `2026-12-05 21:00:00` in the zone they chose and, in
Korean, `1.2만` on an axis; not `97361`, `0.8533`, `7245.8678`, `2026-12-05 21:00:00+09:00`
or `1e+4`. Ids are for machines: they go last and narrow. Pure: names and polars types in;
Streamlit column configs, Vega expressions and polars frames out (nothing is drawn here)."""
from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import polars as pl

from dashboard.labels import columns

ID, TIME, DAY, FRACTION, MONEY, COUNT, DECIMAL, TEXT, LONG_TEXT = (
    columns.ID, columns.TIME, columns.DAY, columns.FRACTION, columns.MONEY, columns.COUNT, columns.DECIMAL,
    columns.TEXT, columns.LONG_TEXT)
NO_VALUE = "–"  # what an empty cell reads as, in every language
TABLE_TIME = "YYYY-MM-DD HH:mm:ss"  # moment.js, Streamlit's DatetimeColumn: no offset, no fraction
TABLE_DAY = "YYYY-MM-DD"
CSV_TIME = "%Y-%m-%d %H:%M:%S"      # what Excel and LibreOffice read as a date and time
NUMERIC = (FRACTION, MONEY, COUNT, DECIMAL)


def kind(name: str, dtype: pl.DataType) -> str:
    """The kind of column `name` of type `dtype`: a time or day by its type; else as
    declared (columns.KINDS; a number declared as text stays a number, a fraction that is an
    integer is a count); else by its name's _id suffix, then its type."""
    if isinstance(dtype, pl.Datetime):
        return TIME
    if dtype == pl.Date:
        return DAY
    declared = columns.KINDS.get(name)
    numeric = dtype.is_numeric()
    if declared in NUMERIC and numeric:
        return COUNT if declared == FRACTION and dtype.is_integer() else declared
    if declared in (TEXT, LONG_TEXT, ID) and not numeric:
        return declared
    if name.endswith(columns.ID_SUFFIX) and not numeric:
        return ID
    if numeric:
        return COUNT if dtype.is_integer() else DECIMAL
    return TEXT


def kinds(schema: pl.Schema | Mapping) -> dict[str, str]:
    return {name: kind(name, dtype) for name, dtype in schema.items()}


def order(schema: pl.Schema | Mapping) -> list[str]:
    """The columns as a table shows them: as they come, ids last (names and text first)."""
    found = kinds(schema)
    return [c for c in found if found[c] != ID] + [c for c in found if found[c] == ID]


def cell_config(kind_: str, label: str | None, tz: str | None):
    """The st.column_config for a column of `kind_` headed `label`, times shown in `tz`
    (None: the times are already local, as they come)."""
    import streamlit as st  # only the dashboard draws; the rest of this module is pure

    if kind_ == COUNT:
        return st.column_config.NumberColumn(label, format="localized")
    if kind_ == MONEY:
        return st.column_config.NumberColumn(label, format="localized", step=1)  # whole won
    if kind_ == DECIMAL:
        return st.column_config.NumberColumn(label, format="localized", step=0.1)  # 7,245.9
    if kind_ == FRACTION:
        return st.column_config.NumberColumn(label, format="percent", step=0.001)  # 85.3%
    if kind_ == TIME:
        return st.column_config.DatetimeColumn(label, format=TABLE_TIME, timezone=tz)
    if kind_ == DAY:
        return st.column_config.DateColumn(label, format=TABLE_DAY)
    if kind_ == ID:
        return st.column_config.TextColumn(label, width="small")
    if kind_ == LONG_TEXT:
        return st.column_config.TextColumn(label, width="large")
    return st.column_config.TextColumn(label)


def table_config(schema: pl.Schema | Mapping, header: Callable[[str], str | None], tz: str,
                 given: Mapping | None = None) -> dict:
    """st.dataframe's column_config for a frame of `schema`: each column's kind's format headed
    `header(column)` (None: its name), with what a page gave for it (`given`: a header, or a column config
    such as a progress bar or a link) on top."""
    out = {}
    for name, dtype in schema.items():
        page = (given or {}).get(name)
        label = page if isinstance(page, str) else (page or {}).get("label") or header(name)
        zone = tz if isinstance(dtype, pl.Datetime) and dtype.time_zone else None
        config = dict(cell_config(kind(name, dtype), label, zone))
        if isinstance(page, Mapping):
            config = _over(config, page)
        out[name] = config
    return out


def _over(ours: dict, page: Mapping) -> dict:
    """A page's column config over ours: its set fields win; its type config replaces ours
    when it is another type (a progress bar, a link), else fills in what it leaves unset."""
    merged = {**ours, **{k: v for k, v in page.items() if v is not None and k != "type_config"}}
    theirs = page.get("type_config") or {}
    mine = ours.get("type_config") or {}
    if theirs.get("type") != mine.get("type"):
        merged["type_config"] = dict(theirs)
    else:
        merged["type_config"] = {**mine, **{k: v for k, v in theirs.items() if v is not None}}
    return merged


def for_table(df: pl.DataFrame, value: Callable[[str, str], str | None]) -> pl.DataFrame:
    """`df` as a table shows it: coded values (columns.VALUES) as `value(column, code)` reads
    them (the page's language; None keeps the code), NaN as no value. Column order and types
    stay (table_config and order say how they read)."""
    exprs = []
    for name, dtype in df.schema.items():
        codes = columns.VALUES.get(name)
        if codes and dtype == pl.Utf8:
            mapping = {code: value(name, code) or code for code in codes}
            exprs.append(pl.col(name).replace(mapping))
        elif dtype.is_float():
            exprs.append(pl.col(name).fill_nan(None))
    return df.with_columns(exprs) if exprs else df


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


def local_time(value, tz: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """A moment (a datetime, or ISO text; naive means UTC) as wall-clock time in `tz`,
    without offset or fraction: how a caption names a time. NO_VALUE for None."""
    if value is None or value == "":
        return NO_VALUE
    then = datetime.fromisoformat(value) if isinstance(value, str) else value
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return then.astimezone(ZoneInfo(tz)).strftime(fmt)


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
