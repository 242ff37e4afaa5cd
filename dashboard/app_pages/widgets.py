"""Widgets every page shares: the sidebar filters and a table with its downloads.
Not a page itself (streamlit_app.py lists the pages explicitly)."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

import polars as pl
import streamlit as st

from dashboard import data
from dashboard.i18n import t

_STATE_KEY = "_dashboard_filters"


@dataclass(frozen=True)
class Filters:
    """What the sidebar selected; passed to every data.* call."""
    root: str
    channels: tuple[str, ...]
    start: date
    end: date
    names: dict[str, str]
    tz: str
    lang: str = "ko"
    live: bool = False  # add PostgreSQL's rows collected since the last sync
    types: tuple[str, ...] | None = None  # message types to keep (None: all)
    account: object | None = None  # the signed-in account (None: no accounts configured)


def sidebar_filters() -> Filters | None:
    """Render the shared sidebar (channels, date range). None when the lake is empty."""
    root = data.root()
    try:
        chans = data.channels(root)
        first, last = data.bounds(root)
    except FileNotFoundError:
        chans, first, last = None, None, None
    if chans is None or chans.is_empty() or first is None or last is None:
        st.session_state[_STATE_KEY] = None
        return None
    names = data.channel_names(chans)
    with st.sidebar:
        st.header(t("filters"))
        picked = st.multiselect(t("channels"), options=list(names), default=list(names),
                                format_func=lambda cid: names.get(cid, cid), key="f_channels")
        value = st.date_input(t("date_range"), value=data.default_range(first, last),
                              min_value=first, max_value=last, key="f_dates")
    start, end = data.normalize_range(value, first, last)
    filters = Filters(root, tuple(picked), start, end, names, data.display_tz())
    st.session_state[_STATE_KEY] = filters
    return filters


def require_filters() -> Filters:
    """The current filters, or stop the page with a friendly message."""
    filters = st.session_state.get(_STATE_KEY)  # set by streamlit_app.py on every run
    if filters is None:
        st.info(t("empty_lake"))
        st.stop()
    if not filters.channels:
        st.warning(t("no_channel"))
        st.stop()
    return filters


def table(df: pl.DataFrame, stem: str, key: str, **kwargs) -> None:
    """st.dataframe (cells are plain text, never HTML/markdown) plus CSV and Parquet downloads."""
    st.dataframe(df, width="stretch", hide_index=True, **kwargs)
    left, right, _ = st.columns([1, 1, 4])
    with left:
        st.download_button(t("download_csv"), data.to_csv_bytes(df), file_name=f"{stem}.csv",
                           mime="text/csv", key=f"{key}_csv", on_click="ignore")
    with right:
        st.download_button(t("download_parquet"), data.to_parquet_bytes(df), file_name=f"{stem}.parquet",
                           mime="application/vnd.apache.parquet", key=f"{key}_parquet", on_click="ignore")


def stem(name: str, filters: Filters) -> str:
    """A download file name: what, and the date range."""
    return f"{name}_{filters.start:%Y%m%d}-{filters.end:%Y%m%d}"


def coverage_badge(f: Filters, channels: tuple[str, ...] | None = None) -> dict | None:
    """A badge saying how much of the broadcasts in the filter's period (or of `channels`)
    was captured, from warehouse.coverage; returns the figures shown (None when the period
    has no known broadcast). Put one next to every metric over a period."""
    scope = tuple(channels) if channels is not None else f.channels
    cov = data.query(f, "coverage", channels=list(scope))
    figures = data.coverage_figures(cov)
    if figures is None:
        st.caption(":material/help: " + t("coverage_none"))
        return None
    pct = figures["share"] * 100
    icon = ":material/check_circle:" if figures["gaps"] == 0 else ":material/warning:"
    color = "green" if pct >= 99 else ("orange" if pct >= 90 else "red")
    detail = t("coverage_detail").format(n=figures["broadcasts"], gaps=figures["gaps"])
    st.badge(f"{t('coverage_badge')} {pct:.1f}% · {detail}", icon=icon, color=color)
    return figures
