"""Time on the charts: drawn as wall-clock time in the display timezone. Vega-Lite would
show datetimes in the browser's zone, so the builders pass them as wall-clock text marked
UTC (wall_clock()) and read them on UTC scales and time units (time_x(), time_tip());
buckets become text labels (bucket_text()) where a bar per bucket is wanted."""
from __future__ import annotations

from datetime import datetime

import altair as alt
import polars as pl

from dashboard.i18n import DEFAULT_LANG, t


def local_time(df: pl.DataFrame, column: str, tz: str) -> pl.DataFrame:
    """`column` as naive wall-clock time in `tz` (unchanged if it is naive already)."""
    if df.is_empty() or column not in df.columns:
        return df
    dtype = df.schema[column]
    if isinstance(dtype, pl.Datetime) and dtype.time_zone is not None:
        return df.with_columns(pl.col(column).dt.convert_time_zone(tz).dt.replace_time_zone(None))
    return df


_STEP = {"minute": "1m", "hour": "1h", "day": "1d"}


def fill_gaps(df: pl.DataFrame, every: str) -> pl.DataFrame:
    """Add the buckets without messages (the warehouse leaves them out) as zeros, between each
    channel's first and last bucket, so a line drops to 0 instead of bridging a quiet spell."""
    if df.is_empty() or every not in _STEP:
        return df
    filled = df.sort("channel_id", "bucket").upsample(time_column="bucket", every=_STEP[every],
                                                      group_by="channel_id")
    counts = [c for c in ("messages", "chatters") if c in df.columns]
    return filled.with_columns(
        pl.col("channel_name").forward_fill().over("channel_id"),
        *(pl.col(c).fill_null(0) for c in counts),
    )


def wall_clock(df: pl.DataFrame, column: str, tz: str) -> pl.DataFrame:
    """`column` as wall-clock time in `tz`, written as ISO text marked UTC
    ("2026-09-02T00:00:00Z"). Vega-Lite shows datetimes in the browser's zone; read on the
    UTC scales and time units of time_x() and time_tip(), this text shows the `tz` wall
    clock whatever the browser's zone."""
    if df.is_empty() or column not in df.columns:
        return df
    if df.schema[column] == pl.Date:  # a calendar day: its midnight
        df = df.with_columns(pl.col(column).cast(pl.Datetime("us")))
    return local_time(df, column, tz).with_columns(pl.col(column).dt.strftime("%Y-%m-%dT%H:%M:%SZ"))


# Tick labels in digits, whatever the language: a day at midnight ("09-02"), a time of day
# otherwise ("14:30"). Vega's default labels are English words ("Sep 02", "Wed 02", "PM").
NUMERIC_TIME_LABELS = ("utchours(datum.value) == 0 && utcminutes(datum.value) == 0"
                       " ? utcFormat(datum.value, '%m-%d') : utcFormat(datum.value, '%H:%M')")


def time_x(column: str, title: str, fmt: str | None = None, tick: str | None = None) -> alt.X:
    """An x encoding of a wall_clock() column: a UTC scale, so no browser zone shifts it.
    `fmt`: the tick label format (numeric directives only; default NUMERIC_TIME_LABELS);
    `tick`: one tick per "day" or "month" at most."""
    axis = alt.Axis(labelOverlap=True, **({"format": fmt} if fmt else {"labelExpr": NUMERIC_TIME_LABELS}),
                    **({"tickCount": {"interval": tick, "step": 1}} if tick else {}))
    return alt.X(f"{column}:T", title=title, scale=alt.Scale(type="utc"), axis=axis)


def time_tip(column: str, title: str = "") -> alt.Tooltip:
    """A tooltip of a wall_clock() column, formatted in UTC (= the wall clock it holds)."""
    return alt.Tooltip(f"{column}:T", title=title or column, timeUnit="utcyearmonthdatehoursminutes",
                       format="%Y-%m-%d %H:%M")


def mark_time(chart: alt.VConcatChart | alt.Chart, when: datetime, tz: str,
              color: str = "#ff7f0e") -> alt.VConcatChart | alt.LayerChart:
    """`chart` (a time chart of dashboard.charts) with a dotted vertical line at `when` (a
    tz-aware datetime) on each panel."""
    at = local_time(pl.DataFrame({"at": [when]}), "at", tz)["at"][0].strftime("%Y-%m-%dT%H:%M:%SZ")
    rule = alt.Chart(alt.Data(values=[{"at": at}])).mark_rule(strokeDash=[4, 4], color=color).encode(
        x=alt.X("at:T", scale=alt.Scale(type="utc"), axis=None))  # the panel's axis labels it
    if isinstance(chart, alt.VConcatChart):
        return alt.vconcat(*(alt.layer(panel, rule) for panel in chart.vconcat),
                           title=chart.title).resolve_scale(color="shared")
    return alt.layer(chart, rule)


def time_axis(tz: str, lang: str = DEFAULT_LANG, word: str = "chart_time") -> str:
    """An axis title saying the times are wall-clock time in `tz`: "시간 (Asia/Seoul)"."""
    return f"{t(word, lang)} ({tz})"


BUCKET_FORMAT = {"minute": "%m-%d %H:%M", "hour": "%m-%d %H:00", "day": "%Y-%m-%d", "week": "%Y-%m-%d~",
                 "month": "%Y-%m"}


def bucket_text(df: pl.DataFrame, column: str, every: str, tz: str) -> pl.DataFrame:
    """`column` (bucket starts) as text labels in `tz` ("2026-09-05", "2026-09-01~" for a
    week, "2026-09" for a month): charts then show one bar per bucket, never a time axis
    stretched between two far-apart buckets."""
    if df.is_empty():
        return df
    return local_time(df, column, tz).with_columns(pl.col(column).dt.strftime(BUCKET_FORMAT.get(every, "%Y-%m-%d")))
