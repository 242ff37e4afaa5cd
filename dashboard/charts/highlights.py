"""Pure builders of the Highlights page (no Streamlit, no I/O): the chat curve with its
moments drawn as numbered bands, and the moments as markers for the chapter and marker
files (warehouse/read/markers.py). Imported as ``dashboard.charts.highlights``.

Marker names hold chat text (the moment's most repeated line) and the keyword typed:
untrusted, cleaned by the file writers; in the chart only the rank is drawn."""
from __future__ import annotations

import altair as alt
import polars as pl

from dashboard.charts.clock import time_axis, time_tip, time_x, wall_clock
from dashboard.charts.style import empty, number_axis
from dashboard.i18n import DEFAULT_LANG, t
from warehouse.read.markers import Marker, clean_name
from warehouse.read.queries.highlights import REASONS


def moments_figure(activity: pl.DataFrame, moments: pl.DataFrame, tz: str, title: str, messages: str,
                   lang: str = DEFAULT_LANG) -> alt.LayerChart | alt.Chart:
    """Messages per window (broadcast_activity) as a line, each moment (highlights) a
    shaded band from its start to its end with its rank above."""
    if activity.is_empty():
        return empty(title, lang)
    axis = time_axis(tz, lang)
    line_data = wall_clock(activity.select("minute", "messages"), "minute", tz)
    line = (alt.Chart(line_data, title=title, height=320).mark_line()
            .encode(x=time_x("minute", axis), y=alt.Y("messages:Q", title=messages, axis=number_axis(lang)),
                    tooltip=[time_tip("minute", axis), alt.Tooltip("messages:Q", title=messages, format=",")]))
    if moments.is_empty():
        return line
    bands = wall_clock(wall_clock(moments.select("rank", "start", "end", "reason"), "start", tz), "end", tz)
    band = alt.Chart(bands).mark_rect(opacity=0.18, color="#f58518").encode(
        x=alt.X("start:T"), x2="end:T", tooltip=[alt.Tooltip("rank:Q", title="#"),
                                                 alt.Tooltip("reason:N", title=t("col_a_reason", lang))])
    label = alt.Chart(bands).mark_text(dy=-6, baseline="bottom", color="#b3590b").encode(
        x=alt.X("start:T"), y=alt.value(12), text=alt.Text("rank:Q"))
    return alt.layer(band, line, label)


def reason_text(reason: str, lang: str = DEFAULT_LANG) -> str:
    """"volume+keyword" in words of `lang` ("채팅 폭주 + 키워드")."""
    return " + ".join(t(f"hl_reason_{r}", lang) for r in reason.split("+") if r in REASONS)


def markers(moments: pl.DataFrame, lang: str = DEFAULT_LANG) -> list[Marker]:
    """One marker per moment (rank order): name "#rank reasons · messages · keyword ·
    the most repeated line", the note its reason, top chatter's share and replay link."""
    out = []
    for m in moments.iter_rows(named=True):
        parts = [f"#{m['rank']} {reason_text(m['reason'], lang)}", t("hl_marker_messages", lang).format(n=f"{m['messages']:,}")]
        if m["amount"]:
            parts.append(t("hl_marker_amount", lang).format(n=f"{m['amount']:,}"))
        if m["keyword"]:
            parts.append(m["keyword"])
        if m["dominated"]:
            parts.append(t("hl_marker_dominated", lang))
        if m["top_line"]:
            parts.append(clean_name(m["top_line"], 40))
        note = f"{m['reason']}; top chatter {m['top_share']:.0%}" + (f"; {m['replay_url']}" if m["replay_url"] else "")
        out.append(Marker(int(m["offset_seconds"]), int(m["duration_seconds"]), " · ".join(parts), note))
    return out
