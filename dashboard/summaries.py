"""Pure shaping helpers of the Overview, Channel and Broadcasts pages: analyst-API results
in, the tables those pages show out. No Streamlit, no I/O."""
from __future__ import annotations

import re
from datetime import date, timedelta

import polars as pl

OVERVIEW_COLUMNS = ("channel_name", "messages", "chatters", "chatter_share", "message_share",
                    "donations", "donation_amount", "trend", "broadcasts", "coverage", "channel_id")


def days_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def daily_trend(activity: pl.DataFrame, start: date, end: date) -> pl.DataFrame:
    """[channel_id, trend]: each channel's messages per day for every day of [start, end]
    (0 on a day without chat), from an activity(every="day") result."""
    days = days_between(start, end)
    per = {}
    for cid, bucket, n in activity.select("channel_id", "bucket", "messages").iter_rows():
        per.setdefault(cid, {})[bucket.date() if hasattr(bucket, "date") else bucket] = n
    return pl.DataFrame({"channel_id": list(per),
                         "trend": [[counts.get(d, 0) for d in days] for counts in per.values()]},
                        schema={"channel_id": pl.Utf8, "trend": pl.List(pl.Int64)})


def coverage_by_channel(cov: pl.DataFrame) -> pl.DataFrame:
    """[channel_id, broadcasts, minutes, captured_minutes, coverage (captured / minutes,
    at most 1)] from a coverage() result."""
    if cov.is_empty():
        return pl.DataFrame(schema={"channel_id": pl.Utf8, "broadcasts": pl.UInt32, "minutes": pl.Float64,
                                    "captured_minutes": pl.Float64, "coverage": pl.Float64})
    return (cov.group_by("channel_id")
            .agg(pl.len().alias("broadcasts"), pl.col("minutes").fill_null(0).sum(),
                 pl.col("captured_minutes").fill_null(0).sum())
            .with_columns(pl.when(pl.col("minutes") > 0)
                          .then(pl.min_horizontal(pl.col("captured_minutes") / pl.col("minutes"), pl.lit(1.0)))
                          .otherwise(1.0).alias("coverage")))


def overview_table(summary: pl.DataFrame, trend: pl.DataFrame, coverage: pl.DataFrame,
                   names: dict[str, str]) -> pl.DataFrame:
    """One row per channel of channel_summary(), with its daily trend, broadcasts and
    coverage (null: no broadcast started in the period); the channel's display name from
    `names` when the chat has none. Most messages first."""
    if summary.is_empty():
        return pl.DataFrame(schema={c: pl.Utf8 for c in OVERVIEW_COLUMNS})
    out = (summary.join(trend, on="channel_id", how="left")
           .join(coverage.select("channel_id", "broadcasts", "coverage"), on="channel_id", how="left")
           .with_columns(pl.col("broadcasts").fill_null(0).cast(pl.Int64),
                         pl.coalesce(pl.col("channel_name"),
                                     pl.col("channel_id").replace_strict(names, default=None),
                                     pl.col("channel_id")).alias("channel_name")))
    return out.select(OVERVIEW_COLUMNS).sort(["messages", "channel_id"], descending=[True, False])


def busiest_first(activity: pl.DataFrame) -> list[str]:
    """The channel ids of an activity() result, most messages over all its buckets first
    (ties by id): channel_summary's order, from the buckets."""
    if activity.is_empty():
        return []
    per = activity.group_by("channel_id").agg(pl.col("messages").sum())
    return per.sort(["messages", "channel_id"], descending=[True, False])["channel_id"].to_list()


def totals(summary: pl.DataFrame) -> dict:
    """Sums over channels of a channel_summary() result (chatters are not summed: one
    person in two channels would count twice)."""
    return {"channels": summary.height, "messages": int(summary["messages"].sum() or 0),
            "donations": int(summary["donations"].sum() or 0),
            "donation_amount": int(summary["donation_amount"].sum() or 0)}


def hhmm(minutes: int | None) -> str:
    """An offset in minutes as H:MM (negative as -H:MM); '' for None."""
    if minutes is None:
        return ""
    sign = "-" if minutes < 0 else ""
    m = abs(int(minutes))
    return f"{sign}{m // 60}:{m % 60:02d}"


def with_offsets(df: pl.DataFrame, column: str) -> pl.DataFrame:
    """`df` plus an `offset` text column (H:MM) beside the minutes in `column`."""
    return df.with_columns(pl.col(column).map_elements(hhmm, return_dtype=pl.Utf8).alias("offset"))


def timeline_changes(timeline: pl.DataFrame) -> pl.DataFrame:
    """The rows of a broadcast_timeline() worth a line in the report: open, close and every
    poll that changed the title or category."""
    return timeline.filter((pl.col("event") != "poll") | pl.col("title_changed") | pl.col("category_changed"))


def safe_stem(text: str) -> str:
    """`text` with every character but letters, digits, - and _ replaced by _ (file names)."""
    return re.sub(r"[^0-9A-Za-z_-]", "_", str(text))[:64]


def broadcast_key(channel_id: str, broadcast: str) -> str:
    return f"{channel_id}:{broadcast}"


def broadcast_label(row: dict, tz: str, untitled: str) -> str:
    """Plain text naming a broadcast (a select box's option): its start in `tz`, channel and
    title — not its chat channel id, which means nothing to a person."""
    started = row.get("started")
    when = started.astimezone(_zone(tz)).strftime("%Y-%m-%d %H:%M") if started is not None else "?"
    return f"{when} · {row.get('channel_name') or row.get('channel_id')} · {row.get('title') or untitled}"


def _zone(tz: str):
    from zoneinfo import ZoneInfo
    return ZoneInfo(tz)


def headers(columns, t, **configs) -> dict:
    """st.dataframe column_config for `columns`: each known column's translated header
    (labels col_a_<column>, via `t`), then `configs` (column → a ColumnConfig) on top."""
    from dashboard.i18n import LABELS
    out = {c: t(f"col_a_{c}") for c in columns if f"col_a_{c}" in LABELS}
    out.update(configs)
    return out
