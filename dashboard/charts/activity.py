"""Chat activity: messages and chatters over time per channel (Overview, Channel), the
weekday × hour heatmap and new vs returning chatters (Channel)."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import altair as alt
import polars as pl

from dashboard.charts.clock import fill_gaps, local_time, time_axis, time_tip, time_x, wall_clock
from dashboard.charts.style import channel_color, channel_pairs, empty, named, number_axis, panel
from dashboard.i18n import DEFAULT_LANG, t

_STEPS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def activity_figure(df: pl.DataFrame, tz: str = "Asia/Seoul", every: str | None = None,
                    lang: str = DEFAULT_LANG, now: datetime | None = None) -> alt.VConcatChart | alt.Chart:
    """Messages (top) and unique chatters (bottom) per bucket, one line per channel.

    `df`: warehouse.activity() output (channel_id, channel_name, bucket, messages, chatters).
    With `every` ("minute", "hour", "day"): quiet minutes and hours are drawn as zeros, a day
    without chat (no broadcast) as a gap in the line, not a dip to zero; the bucket still
    running at `now` (default: the clock's), today's when by day, is partial: drawn dashed
    from the last whole bucket, with a hollow point and a "partial" tooltip, not as a plunge."""
    title = t("chart_activity", lang)
    if df.is_empty():
        return empty(title, lang)
    df = local_time(df, "bucket", tz)
    df = named(_with_gaps(df, every) if every else df).sort("channel_id", "bucket")
    step = _STEPS.get(every or "")
    # a bucket that began after this still runs; buckets are wall-clock times in `tz` (or dates) here
    since = ((now or datetime.now(UTC)) - step).astimezone(ZoneInfo(tz)).replace(tzinfo=None) if step else None
    df = df.with_columns((pl.col("bucket").cast(pl.Datetime("us")) > since if since else pl.lit(False))
                         .alias("partial"))
    df = wall_clock(df, "bucket", tz).with_columns(
        pl.when(pl.col("partial")).then(pl.lit(t("chart_partial", lang))).otherwise(pl.lit("")).alias("note"))
    data = df.select("channel_id", "channel_name", "bucket", "messages", "chatters", "partial", "note")
    legend = t("chart_channel", lang)
    color = channel_color([name for _, name in channel_pairs(df)], legend)
    tips = [time_tip("bucket", time_axis(tz, lang)), alt.Tooltip("note:N", title=" ")]
    points = every == "day" or df.group_by("channel_id").len()["len"].max() < 40  # a day between gaps shows
    whole = data.filter(~pl.col("partial"))
    # the running bucket's segment: each channel's last whole bucket and the running one
    tail = pl.concat([whole.group_by("channel_id").tail(1), data.filter(pl.col("partial"))]).filter(
        pl.col("channel_id").is_in(data.filter(pl.col("partial"))["channel_id"].implode()))

    def part(value: str, label: str, x: alt.X) -> alt.Chart | alt.LayerChart:
        solid = panel(whole, value, label, x, color, legend, tips=tips, points=points, lang=lang)
        if tail.is_empty():
            return solid
        dashed = alt.Chart(tail).mark_line(strokeDash=[4, 4], point=alt.OverlayMarkDef(filled=False)).encode(
            x=x, y=alt.Y(f"{value}:Q", axis=number_axis(lang)), color=color, detail="channel_id:N",
            tooltip=[alt.Tooltip("channel_name:N", title=legend), *tips,
                     alt.Tooltip(f"{value}:Q", format=",", title=label)])
        return alt.layer(solid, dashed)

    top = part("messages", t("chart_messages", lang), time_x("bucket", ""))
    bottom = part("chatters", t("chart_chatters", lang), time_x("bucket", time_axis(tz, lang)))
    # the legend above: a panel with the partial segment is a layer, which Streamlit stretches to
    # the page's width, and a legend on the right would then be cut off
    return alt.vconcat(top, bottom, title=title).resolve_scale(x="shared").configure_legend(orient="top")


def _with_gaps(df: pl.DataFrame, every: str) -> pl.DataFrame:
    """The buckets between each channel's first and last: quiet minutes and hours as zeros
    (clock.fill_gaps), days without chat as nulls (a gap: the channel did not broadcast)."""
    if every != "day":
        return fill_gaps(df, every)
    return df.sort("channel_id", "bucket").upsample(time_column="bucket", every="1d", group_by="channel_id") \
        .with_columns(pl.col("channel_name").forward_fill().over("channel_id"))


WEEKDAYS_KO = ("월", "화", "수", "목", "금", "토", "일")


def heatmap_grid(df: pl.DataFrame, metric: str = "messages") -> list[list[int]]:
    """7 × 24 counts (rows Monday..Sunday, columns hour 0..23; 0 for absent cells) of one
    channel's heatmap() result."""
    grid = [[0] * 24 for _ in range(7)]
    for weekday, hour, value in df.select("weekday", "hour", metric).iter_rows():
        grid[weekday][hour] = int(value)
    return grid


def heatmap_figure(df: pl.DataFrame, metric: str = "messages", title: str = "요일 × 시간",
                   weekdays: tuple[str, ...] = WEEKDAYS_KO, hour_label: str = "시",
                   lang: str = DEFAULT_LANG) -> alt.Chart:
    """Hour × weekday heatmap of one channel's heatmap() result (`metric`: messages or
    chatters), weekday rows from Monday at the top."""
    if df.is_empty():
        return empty(title, lang)
    cells = pl.DataFrame([{"weekday": weekdays[wd], "hour": hour, "value": value}
                          for wd, row in enumerate(heatmap_grid(df, metric)) for hour, value in enumerate(row)])
    return (alt.Chart(cells, title=title, height=300).mark_rect()
            .encode(x=alt.X("hour:O", title=hour_label, axis=alt.Axis(labelAngle=0)),
                    y=alt.Y("weekday:O", title=None, sort=list(weekdays)),
                    color=alt.Color("value:Q", title=None, scale=alt.Scale(scheme="greens")),
                    tooltip=[alt.Tooltip("weekday:O", title=" "), alt.Tooltip("hour:O", title=hour_label),
                             alt.Tooltip("value:Q", format=",", title=title)]))


def new_vs_returning_figure(df: pl.DataFrame, tz: str = "Asia/Seoul", title: str = "신규 vs 재방문",
                            new: str = "신규", returning: str = "재방문", y_label: str = "참여자",
                            lang: str = DEFAULT_LANG) -> alt.Chart:
    """Stacked bars of one channel's new_vs_returning() result per bucket (returning below)."""
    if df.is_empty():
        return empty(title, lang)
    df = wall_clock(df, "bucket", tz).sort("bucket")
    long = pl.concat([df.select("bucket", pl.lit(label).alias("kind"), pl.lit(i).alias("order"),
                                pl.col(col).alias("chatters"))
                      for i, (label, col) in enumerate(((returning, "returning_chatters"), (new, "new_chatters")))])
    axis = time_axis(tz, lang)
    return (alt.Chart(long, title=title, height=360).mark_bar()
            .encode(x=time_x("bucket", axis), y=alt.Y("chatters:Q", title=y_label, stack="zero", axis=number_axis(lang)),
                    color=alt.Color("kind:N", title=None, sort=[returning, new],
                                    scale=alt.Scale(domain=[returning, new], range=["#1f77b4", "#00c73c"])),
                    order=alt.Order("order:Q"),
                    tooltip=[time_tip("bucket", axis), alt.Tooltip("kind:N", title=" "),
                             alt.Tooltip("chatters:Q", format=",", title=y_label)]))
