"""Pure shaping and figure builders for the Data page (what the lake holds, how fresh it is)."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import altair as alt
import polars as pl

from dashboard.charts.style import empty, number_axis
from dashboard.i18n import DEFAULT_LANG

_UNITS = ("B", "KB", "MB", "GB", "TB")


def human_bytes(n: int | None) -> str:
    """1536 → "1.5 KB" (powers of 1024)."""
    if n is None:
        return ""
    size, unit = float(n), 0
    while size >= 1024 and unit < len(_UNITS) - 1:
        size, unit = size / 1024, unit + 1
    return f"{int(size)} B" if unit == 0 else f"{size:.1f} {_UNITS[unit]}"


def tables_view(tables: pl.DataFrame, descriptions: dict[str, str]) -> pl.DataFrame:
    """warehouse.lake_tables() with a readable size and a description after the name."""
    return tables.with_columns(
        pl.col("table").replace_strict(descriptions, default="", return_dtype=pl.Utf8).alias("description"),
    ).pipe(with_size).select("table", "description", "present", "by_day", "partitions", "first_day", "last_day",
                             "rows", "size", "bytes", "columns")


def with_size(df: pl.DataFrame) -> pl.DataFrame:
    """`df` with a readable `size` column next to its `bytes`."""
    return df.with_columns(pl.col("bytes").map_elements(human_bytes, return_dtype=pl.Utf8).alias("size"))


def mismatched(partitions: pl.DataFrame) -> pl.DataFrame:
    """The partitions whose row count differs from the one state.json recorded."""
    return partitions.filter(pl.col("state_rows").is_not_null() & (pl.col("rows") != pl.col("state_rows")))


def hours_since(iso: str | None, now: datetime | None = None) -> float | None:
    """Hours from an ISO timestamp (state.json's last_sync) to `now` (default: now)."""
    if not iso:
        return None
    then = datetime.fromisoformat(iso)
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return ((now or datetime.now(UTC)) - then).total_seconds() / 3600


def local_iso(iso: str | None, tz: str, fmt: str = "%Y-%m-%d %H:%M:%S") -> str:
    """An ISO timestamp as wall-clock time in `tz` ("YYYY-MM-DD HH:MM:SS" by default)."""
    if not iso:
        return "-"
    then = datetime.fromisoformat(iso)
    if then.tzinfo is None:
        then = then.replace(tzinfo=UTC)
    return then.astimezone(ZoneInfo(tz)).strftime(fmt)


def partitions_figure(partitions: pl.DataFrame, title: str, yaxis: str = "행 수",
                      lang: str = DEFAULT_LANG) -> alt.Chart:
    """Rows per day partition (warehouse.table_partitions() of a day table)."""
    df = partitions.filter(pl.col("day").is_not_null()) if not partitions.is_empty() else partitions
    if df.is_empty():
        return empty(title, lang)
    # days as text: a calendar day, never shifted by the browser's zone
    data = df.select(pl.col("day").cast(pl.Utf8), "rows",
                     pl.col("bytes").map_elements(human_bytes, return_dtype=pl.Utf8).alias("size"))
    return (alt.Chart(data, title=title, height=320).mark_bar(color="#00c73c")
            .encode(x=alt.X("day:O", title=None, sort="ascending"), y=alt.Y("rows:Q", title=yaxis, axis=number_axis(lang)),
                    tooltip=[alt.Tooltip("day:O", title=" "), alt.Tooltip("rows:Q", format=",", title=yaxis),
                             alt.Tooltip("size:N", title=" ")]))
