"""Pure figure builders of the Compare page (issue 20 §3): broadcasts overlaid by the minutes
since their start (messages, chatters, viewers with their poll gaps left open, donations),
channels side by side per day, and the Overview's changes against the previous period as
st.metric deltas."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import altair as alt
import polars as pl

from dashboard.charts.clock import time_x
from dashboard.charts.style import channel_color, empty, number_axis
from dashboard.charts.style import color as palette
from dashboard.i18n import DEFAULT_LANG


def broadcast_names(listing: pl.DataFrame, tz: str) -> dict[tuple[str, str], str]:
    """(channel_id, broadcast) -> a short legend label: its start (MM-DD HH:MM in `tz`) and
    channel name (pure; broadcast_list() rows in)."""
    zone = ZoneInfo(tz)
    out = {}
    for r in listing.iter_rows(named=True):
        started: datetime | None = r["started"]
        when = started.astimezone(zone).strftime("%m-%d %H:%M") if started is not None else "?"
        out[r["channel_id"], r["broadcast"]] = f"{when} · {r['channel_name'] or r['channel_id']}"
    return out


def labelled(overlay: pl.DataFrame, names: dict[tuple[str, str], str]) -> pl.DataFrame:
    """compare_broadcasts() rows with ``label`` first: the broadcast's legend label, its id
    where `names` lacks it (pure)."""
    keys = [names.get((c, b), b) for c, b in zip(overlay["channel_id"], overlay["broadcast"], strict=True)]
    return overlay.select(pl.Series("label", keys, pl.Utf8), pl.all())


def viewer_segments(overlay: pl.DataFrame, window_minutes: int) -> pl.DataFrame:
    """The labelled overlay's rows with a viewer count, each with ``segment``: the gaps before
    it in its broadcast (a window without a count, or windows missing between two rows), so a
    line drawn per segment stops at every gap instead of bridging it (pure)."""
    if overlay.is_empty():
        return overlay.with_columns(pl.lit(0, pl.Int64).alias("segment"))
    step = pl.duration(minutes=int(window_minutes))
    broken = pl.col("viewers").is_null() | ((pl.col("minute") - pl.col("minute").shift(1)) > step).fill_null(False)
    return (overlay.sort("label", "minute")
            .with_columns(broken.over("label").cast(pl.Int64).cum_sum().over("label").alias("segment"))
            .filter(pl.col("viewers").is_not_null()))


def overlay_figure(overlay: pl.DataFrame, window_minutes: int, title: str, panels: dict[str, str],
                   minutes_axis: str, legend: str, lang: str = DEFAULT_LANG) -> alt.VConcatChart | alt.Chart:
    """labelled(compare_broadcasts()): one panel per figure of `panels` ({column: panel title}:
    messages, chatters, viewers, amount), a line per broadcast over the minutes since its
    start; the viewer line breaks at every window without a count."""
    if overlay.is_empty():
        return empty(title, lang)
    drawn = overlay.select("label", "offset_minutes", "minute", "messages", "chatters", "amount", "viewers")
    order = list(dict.fromkeys(drawn["label"].to_list()))
    color = alt.Color("label:N", title=legend,  # the domain orders it: no sort list (see style.channel_color)
                      scale=alt.Scale(domain=order, range=[palette(i) for i in range(len(order))]))
    x = alt.X("offset_minutes:Q", title=minutes_axis, axis=number_axis(lang))

    def panel(column: str, data: pl.DataFrame, detail: str) -> alt.Chart:
        return (alt.Chart(data, title=alt.TitleParams(panels[column], fontSize=13), height=160)
                .mark_line(point=column == "viewers")
                .encode(x=x, y=alt.Y(f"{column}:Q", title=None, axis=number_axis(lang)), color=color,
                        detail=detail, tooltip=[alt.Tooltip("label:N", title=legend),
                                                alt.Tooltip("offset_minutes:Q", title=minutes_axis),
                                                alt.Tooltip(f"{column}:Q", format=",.0f", title=panels[column])]))

    charts = []
    for column in panels:
        if column == "viewers":
            segments = viewer_segments(drawn, window_minutes).drop("minute")
            if not segments.is_empty():
                charts.append(panel(column, segments, "segment:N"))
        else:
            charts.append(panel(column, drawn.drop("minute", "viewers"), "label:N"))
    return alt.vconcat(*charts, title=title).resolve_scale(color="shared", x="shared")


def days_figure(days: pl.DataFrame, title: str, panels: dict[str, str], day_title: str, legend: str,
                lang: str = DEFAULT_LANG) -> alt.VConcatChart | alt.Chart:
    """compare_channels(every="day"): one panel per figure of `panels` ({column: panel title}),
    a line per channel over the period's days (0 on a day without lines; average viewers only
    where a broadcast with a count started)."""
    if days.is_empty():
        return empty(title, lang)
    drawn = days.with_columns(pl.coalesce("channel_name", "channel_id").alias("channel_name"),
                              pl.col("day").cast(pl.Datetime("us")).dt.strftime("%Y-%m-%dT00:00:00Z"))
    names = list(dict.fromkeys(drawn["channel_name"].to_list()))
    color = channel_color(names, legend)
    x = time_x("day", day_title, fmt="%m-%d")
    charts = []
    for column, name in panels.items():
        shown = drawn.filter(pl.col(column).is_not_null())
        if shown.is_empty():
            continue
        charts.append(alt.Chart(shown, title=alt.TitleParams(name, fontSize=13), height=160)
                      .mark_line(point=True)
                      .encode(x=x, y=alt.Y(f"{column}:Q", title=None, axis=number_axis(lang)), color=color,
                              detail="channel_id:N",
                              tooltip=[alt.Tooltip("channel_name:N", title=legend),
                                       alt.Tooltip("day:T", format="%Y-%m-%d", title=day_title),
                                       alt.Tooltip(f"{column}:Q", format=",.0f", title=name)]))
    return alt.vconcat(*charts, title=title).resolve_scale(color="shared", x="shared")


def deltas(change: pl.DataFrame) -> dict[str, str]:
    """period_change() as st.metric deltas: {metric: "+1,234 (+12.3%)"} ("−" for a fall, the
    share left out when the previous period had none; pure)."""
    out = {}
    for r in change.iter_rows(named=True):
        text = f"{r['change']:+,}"
        if r["change_ratio"] is not None:
            text += f" ({r['change_ratio']:+.1%})"
        out[r["metric"]] = text
    return out


def named_metrics(change: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """period_change() with ``figure`` first: each metric's name from `names` (pure)."""
    return change.select(pl.col("metric").replace_strict(names, default=pl.col("metric")).alias("figure"), pl.all())
