"""Pure shaping and figure builders for the Donations page. Frames from the warehouse's
donation functions in, frames or Altair charts out. Titles are arguments (Korean by
default); donor and channel names are untrusted and drawn as typed (Vega draws text as text)."""
from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import altair as alt
import polars as pl

from dashboard.charts.clock import bucket_text, local_time
from dashboard.charts.style import channel_color, empty, number_axis
from dashboard.i18n import DEFAULT_LANG, t


def with_names(df: pl.DataFrame, names: dict[str, str]) -> pl.DataFrame:
    """`df` with channel_name (from `names`, the id itself when unknown) after channel_id."""
    if "channel_id" not in df.columns or "channel_name" in df.columns:
        return df
    named = df.with_columns(pl.col("channel_id").replace_strict(names, default=pl.col("channel_id"),
                                                                return_dtype=pl.Utf8).alias("channel_name"))
    cols = list(df.columns)
    cols.insert(cols.index("channel_id") + 1, "channel_name")
    return named.select(cols)


def donation_totals(df: pl.DataFrame) -> pl.DataFrame:
    """Per channel over a warehouse.donations() result: [channel_id, donations, amount,
    anonymous (donations), anonymous_share, average], most money first."""
    schema = {"channel_id": pl.Utf8, "donations": pl.Int64, "amount": pl.Int64, "anonymous": pl.Int64,
              "anonymous_share": pl.Float64, "average": pl.Float64}
    if df.is_empty():
        return pl.DataFrame(schema=schema)
    out = (df.group_by("channel_id")
           .agg(pl.col("donations").sum().cast(pl.Int64), pl.col("amount").sum().cast(pl.Int64),
                (pl.col("donations") * pl.col("anonymous_share")).sum().round(0).cast(pl.Int64)
                .alias("anonymous"))
           .with_columns((pl.col("anonymous") / pl.col("donations")).alias("anonymous_share"),
                         (pl.col("amount") / pl.col("donations")).alias("average")))
    return out.select(list(schema)).sort(["amount", "channel_id"], descending=[True, False])


def overall(totals: pl.DataFrame) -> dict:
    """The selected channels together: donations, amount, anonymous_share (0..1 or None)."""
    n = int(totals["donations"].sum()) if not totals.is_empty() else 0
    anon = int(totals["anonymous"].sum()) if n else 0
    return {"donations": n, "amount": int(totals["amount"].sum()) if n else 0,
            "anonymous_share": anon / n if n else None}


def pending_shown(pending: pl.DataFrame, names: dict[str, str], tz: str) -> pl.DataFrame:
    """warehouse.pending_missions() rows for the table: channel names added, the mission's
    time in `tz`; donor and mission text stay as typed (the table draws text as text)."""
    return with_names(local_time(pending, "chat_time", tz), names)


def pending_total(pending: pl.DataFrame) -> dict:
    """How many missions wait and how much money they hold (not in any total yet)."""
    return {"missions": pending.height, "amount": int(pending["amount"].sum()) if pending.height else 0}


_OFFSETS = {"hour": "1h", "day": "1d", "week": "1w", "month": "1mo"}


def amount_figure(df: pl.DataFrame, names: dict[str, str], title: str, tz: str = "Asia/Seoul",
                  yaxis: str = "금액 (치즈)", every: str = "day", lang: str = DEFAULT_LANG,
                  now: datetime | None = None) -> alt.Chart:
    """Donated amount per bucket, one bar series per channel side by side (warehouse.donations()).
    The bucket still running at `now` (default: the clock's; today's when by day) is partial:
    its bars are drawn lighter, with a "partial" tooltip, so it does not read as a drop."""
    if df.is_empty():
        return empty(title, lang)
    ends = local_time(df, "bucket", tz)["bucket"].dt.offset_by(_OFFSETS.get(every, "1d")).dt.convert_time_zone("UTC")
    df = df.with_columns((ends > (now or datetime.now(UTC))).alias("partial"))
    df = bucket_text(df.sort("bucket"), "bucket", every, tz).with_columns(
        pl.when(pl.col("partial")).then(pl.lit(t("chart_partial", lang))).otherwise(pl.lit("")).alias("note"))
    order = sorted(set(df["channel_id"].to_list()), key=lambda c: (names.get(c, c), c))
    shown = [names.get(c, c) for c in order]
    data = df.select("bucket", "channel_id", pl.col("channel_id").replace_strict(
        names, default=pl.col("channel_id"), return_dtype=pl.Utf8).alias("channel_name"), "amount", "donations",
        "partial", "note")
    legend = t("chart_channel", lang)
    return (alt.Chart(data, title=title, height=400).mark_bar()
            .encode(x=alt.X("bucket:O", title=f"({tz})", sort="ascending"),
                    xOffset=alt.XOffset("channel_id:N", sort=order),
                    y=alt.Y("amount:Q", title=yaxis, axis=number_axis(lang)), color=channel_color(shown, legend),
                    opacity=alt.condition("datum.partial", alt.value(0.4), alt.value(1.0)),
                    tooltip=[alt.Tooltip("channel_name:N", title=legend), alt.Tooltip("bucket:O", title=f"({tz})"),
                             alt.Tooltip("amount:Q", format=",", title=yaxis),
                             alt.Tooltip("donations:Q", format=",", title="#"), alt.Tooltip("note:N", title=" ")]))


def named_donors(ranking: pl.DataFrame) -> tuple[pl.DataFrame, dict]:
    """One channel's donation_ranking() rows split: the named donors (ranked as they were)
    and the anonymous donations summed ({"donations", "amount"}; zeros without any), which
    are one line apart rather than a bar that dwarfs every named donor's."""
    anon = ranking.filter(pl.col("user_id").is_null())
    return (ranking.filter(pl.col("user_id").is_not_null()),
            {"donations": int(anon["donations"].sum()) if anon.height else 0,
             "amount": int(anon["amount"].sum()) if anon.height else 0})


def ranking_figure(ranking: pl.DataFrame, title: str, xaxis: str = "금액 (치즈)",
                   lang: str = DEFAULT_LANG) -> alt.Chart:
    """Horizontal bars, largest donor on top (one channel's warehouse.donation_ranking()
    rows). Donors with the same nickname stay apart (the rank is part of the label)."""
    if ranking.is_empty():
        return empty(title, lang)
    df = ranking.sort("rank").select(pl.format("{}. {}", "rank", pl.col("donor").fill_null("")).alias("donor"),
                                     "amount", "donations")
    return (alt.Chart(df, title=title, height=80 + 30 * df.height).mark_bar(color="#00c73c")
            .encode(x=alt.X("amount:Q", title=xaxis, axis=number_axis(lang)), y=alt.Y("donor:N", title=None, sort=None, axis=alt.Axis(labelLimit=260, labelOverlap=False)),
                    tooltip=[alt.Tooltip("donor:N", title=" "), alt.Tooltip("amount:Q", format=",", title=xaxis),
                             alt.Tooltip("donations:Q", format=",", title="#")]))


def distribution_figure(dist: pl.DataFrame, title: str, counts: str = "후원 수",
                        amounts: str = "금액 (치즈)", lang: str = DEFAULT_LANG) -> alt.LayerChart | alt.Chart:
    """Donations (bars) and their amount (line, right axis) per amount bucket
    (warehouse.donation_distribution(), already in bucket order)."""
    if dist.is_empty():
        return empty(title, lang)
    data = dist.select("amount_bucket", "donations", "amount")
    x = alt.X("amount_bucket:N", title=None, sort=None, axis=alt.Axis(labelAngle=0))
    tips = [alt.Tooltip("amount_bucket:N", title=" "), alt.Tooltip("donations:Q", format=",", title=counts),
            alt.Tooltip("amount:Q", format=",", title=amounts)]
    bars = alt.Chart(data).mark_bar(color="#1f77b4").encode(x=x, y=alt.Y("donations:Q", title=counts, axis=number_axis(lang)), tooltip=tips)
    line = alt.Chart(data).mark_line(point=True, color="#00c73c").encode(
        x=x, y=alt.Y("amount:Q", title=amounts, axis=number_axis(lang, orient="right")), tooltip=tips)
    return alt.layer(bars, line, title=title, height=380).resolve_scale(y="independent")


def broadcast_figure(slots: pl.DataFrame, title: str, xaxis: str = "방송 시작 후 (분)",
                     yaxis: str = "금액 (치즈)", lang: str = DEFAULT_LANG) -> alt.Chart:
    """One broadcast's donations per slot (warehouse.donations_over_broadcast() rows of one
    broadcast): amount bars at each slot's offset in minutes."""
    if slots.is_empty():
        return empty(title, lang)
    df = slots.sort("offset_minutes").select("offset_minutes", "amount", "donations")
    return (alt.Chart(df, title=title, height=360).mark_bar(color="#7b3fe4")
            .encode(x=alt.X("offset_minutes:Q", title=xaxis, axis=number_axis(lang)), y=alt.Y("amount:Q", title=yaxis, axis=number_axis(lang)),
                    tooltip=[alt.Tooltip("offset_minutes:Q", title=xaxis),
                             alt.Tooltip("amount:Q", format=",", title=yaxis),
                             alt.Tooltip("donations:Q", format=",", title="#")]))


def broadcast_choices(slots: pl.DataFrame, coverage: pl.DataFrame) -> pl.DataFrame:
    """The broadcasts with donations, newest first: [channel_id, broadcast, started (from
    warehouse.coverage(), null when it did not list the broadcast), donations, amount]."""
    schema = {"channel_id": pl.Utf8, "broadcast": pl.Utf8, "started": pl.Datetime("us", "UTC"),
              "donations": pl.Int64, "amount": pl.Int64}
    if slots.is_empty():
        return pl.DataFrame(schema=schema)
    per = slots.group_by("channel_id", "broadcast").agg(pl.col("donations").sum().cast(pl.Int64),
                                                        pl.col("amount").sum().cast(pl.Int64))
    starts = (coverage.select("channel_id", "broadcast", "started") if not coverage.is_empty()
              else pl.DataFrame(schema={k: schema[k] for k in ("channel_id", "broadcast", "started")}))
    out = per.join(starts, on=["channel_id", "broadcast"], how="left")
    return out.select(list(schema)).sort(["started", "broadcast"], descending=True, nulls_last=True)


def broadcast_label(channel: str, started, tz: str, donations: int, amount: int, unknown: str) -> str:
    """Plain text naming a broadcast in a select box: channel · local start · count · amount."""
    when = started.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M") if started is not None else unknown
    return f"{channel} · {when} · {donations:,} · {amount:,}"
