"""구독자 (Subscribers): subscriber share of messages and chatters, the tier split, the tier
and tenure mix over time, and month-over-month gain and loss — one tab each, and only the
open tab is drawn and queried (widgets.sections)."""
import dataclasses

import streamlit as st

import warehouse
from dashboard import charts, data, summaries
from dashboard.app_pages import widgets
from dashboard.i18n import current_lang, t

EVERY = ("day", "week", "month")

f = widgets.require_filters()
lang = current_lang()  # for the charts, and format_func, which Streamlit may call outside this run
st.title(t("page_subscribers"))
widgets.coverage_badge(f)


def share() -> None:
    ratio = data.query(f, warehouse.subscriber_ratio, every="day")
    if ratio.is_empty():
        st.info(t("no_rows"))
        return
    drawn = charts.busiest(ratio, "messages")
    st.altair_chart(charts.subscriber_share_figure(drawn, f.tz, lang), width="stretch", key="share_chart")
    widgets.busiest_note(ratio, drawn)
    widgets.table(ratio, widgets.stem("subscriber_ratio", f), key="ratio",
                  column_config=summaries.headers(ratio.columns, t))


def tiers() -> None:
    split = data.query(f, warehouse.tier_split)
    drawn = charts.busiest(split, "chatters")
    st.altair_chart(charts.tier_split_figure(drawn, lang), width="stretch", key="tier_chart")
    widgets.busiest_note(split, drawn)
    widgets.table(split, widgets.stem("tier_split", f), key="tiers",
                  column_config=summaries.headers(split.columns, t))


def mix() -> None:
    """The tier and the tenure mix over time, one channel at a time."""
    st.caption(t("subs_mix_help"))
    days = (f.end - f.start).days + 1
    every = st.radio(t("subs_every"), EVERY, index=0 if days <= 31 else (1 if days <= 120 else 2),
                     horizontal=True, key="subs_every", format_func=lambda e: t(f"subs_every_{e}", lang))
    tenure = data.query(f, warehouse.subscriber_tenure, every=every)
    if tenure.is_empty():
        st.info(t("subs_no_subscribers"))
        return
    shown = [c for c in f.channels if c in set(tenure["channel_id"].to_list())]
    channel = shown[0] if len(shown) == 1 else st.selectbox(
        t("subs_channel"), shown, key="subs_channel", format_func=lambda c: f.names.get(c, c))
    by_tier = charts.group_shares(tenure, "tier")
    by_tenure = charts.group_shares(tenure, "tenure_bucket")
    left, right = st.columns(2)
    with left:
        st.altair_chart(charts.shares_figure(
            by_tier.filter(by_tier["channel_id"] == channel), t("subs_tier_title"), f.tz,
            charts.tier_colors(), t("subs_tier_legend"), every, charts.tier_names(lang), lang=lang),
            width="stretch", key="subs_tier_chart")
    with right:
        st.altair_chart(charts.shares_figure(
            by_tenure.filter(by_tenure["channel_id"] == channel), t("subs_tenure_title"), f.tz,
            charts.TENURE_COLORS, t("subs_tenure_legend"), every, lang=lang), width="stretch",
            key="subs_tenure_chart")
    st.caption(t("subs_mix_table"))
    widgets.table(tenure, widgets.stem(f"subscriber_tenure_{every}", f), key="subs_tenure",
                  column_config=summaries.headers(tenure.columns, t))

    def shares() -> None:
        widgets.table(by_tier, widgets.stem(f"subscriber_tier_share_{every}", f), key="subs_tier_share",
                      column_config=summaries.headers(by_tier.columns, t))
        widgets.table(by_tenure, widgets.stem(f"subscriber_tenure_share_{every}", f), key="subs_tenure_share",
                      column_config=summaries.headers(by_tenure.columns, t))
    widgets.folded(f"{t('subs_tier_title')} / {t('subs_tenure_title')}", "subs_shares_open", shares)


def change() -> None:
    """Month over month: the calendar months around the range, the month before included."""
    m0, m1 = charts.month_span(f.start, f.end)
    months = dataclasses.replace(f, start=m0, end=m1)
    # the months' coverage in words, not a second badge beside the page's (one badge, one figure)
    captured = data.coverage_figures(data.query(months, warehouse.coverage))
    st.caption(t("subs_change_help").format(m0=f"{m0:%Y-%m}", m1=f"{m1:%Y-%m}") + (" " + t(
        "subs_change_coverage").format(pct=f"{captured['share'] * 100:.1f}") if captured else ""))
    moves = data.query(months, warehouse.subscriber_change)
    if moves.is_empty():
        st.info(t("no_rows"))
        return
    shown = [c for c in f.channels if c in set(moves["channel_id"].to_list())]
    channel = shown[0] if len(shown) == 1 else st.selectbox(
        t("subs_channel"), shown, key="subs_change_channel", format_func=lambda c: f.names.get(c, c))
    st.altair_chart(charts.change_figure(
        moves.filter(moves["channel_id"] == channel), t("subs_change_title"), f.tz,
        (t("subs_subscribers"), t("subs_gained"), t("subs_lost")), lang=lang), width="stretch",
        key="subs_change_chart")
    widgets.table(moves, f"subscriber_change_{m0:%Y%m}-{m1:%Y%m}", key="subs_change",
                  column_config=summaries.headers(moves.columns, t))


widgets.sections("subs_section", {
    "share": (t("share_over_time"), share), "tiers": (t("tier_split"), tiers), "mix": (t("subs_mix"), mix),
    "change": (t("subs_change"), change)})
