"""방송 (Broadcasts): the broadcasts that started in the period (a table to download); one
report of the one picked — its coverage and figures, then one tab each for the timeline with
title and category changes, peaks, top chatters and donors; only the open tab is drawn and
queried (widgets.sections)."""
import polars as pl
import streamlit as st

import warehouse
from dashboard import charts, data, summaries
from dashboard.app_pages import viewer_parts, widgets
from dashboard.i18n import current_lang, t


def badge(cov: pl.DataFrame, text: str) -> None:
    """A coverage badge over broadcast_list rows (the same figures as widgets.coverage_badge,
    which would ask coverage() again for what the list already holds)."""
    figures = data.coverage_figures(cov)
    pct = figures["share"] * 100
    color = "green" if pct >= 99 else ("orange" if pct >= 90 else "red")
    icon = ":material/check_circle:" if figures["gaps"] == 0 else ":material/warning:"
    st.badge(f"{text} {pct:.1f}% · {figures['captured_minutes']:,.0f}/{figures['minutes']:,.0f} min", icon=icon,
             color=color)


f = widgets.require_filters()
st.title(t("page_broadcasts"))
listing = data.query(f, warehouse.broadcast_viewers)  # broadcast_list() with viewer columns
if listing.is_empty():
    st.info(t("broadcasts_none"))
    st.stop()
# the period's coverage is told beside the list, not in a second badge: the one badge is the
# picked broadcast's, so the page shows one coverage figure
period = data.coverage_figures(listing)
widgets.folded(f"{t('broadcasts_list')} ({listing.height:,}) · {t('broadcasts_list_coverage')} "
               f"{period['share'] * 100:.1f}% · {t('coverage_detail').format(n=listing.height, gaps=period['gaps'])}",
               "broadcast_list_open", lambda: widgets.table(
    listing, widgets.stem("broadcasts", f), key="broadcast_list", column_config=summaries.headers(
        listing.columns, t, title=t("broadcasts_title"), category=t("broadcasts_category"),
        minutes=t("broadcasts_minutes"), coverage=st.column_config.ProgressColumn(
            t("coverage_badge"), format="percent", min_value=0, max_value=1))))

row = widgets.pick_broadcast(listing, t("broadcasts_pick"), "broadcast_pick", f.tz)
cid, bc = row["channel_id"], row["broadcast"]
name = "broadcast_" + summaries.safe_stem(bc)

if row["live"]:  # a live broadcast's figures are of the minutes captured so far
    st.badge(t("broadcasts_live"), color="red")
    st.caption(t("broadcasts_live_note"))
badge(listing.filter((pl.col("channel_id") == cid) & (pl.col("broadcast") == bc)),
      f"{t('broadcasts_coverage_one')} ({t('broadcasts_source')}: {row['source']})")
st.text(f"{t('broadcasts_title')}: {row['title'] or t('broadcasts_untitled')}\n"
        f"{t('broadcasts_category')}: {row['category'] or '-'}\n"
        f"{t('broadcasts_when')}: {row['started']:%Y-%m-%d %H:%M} – "
        f"{t('broadcasts_live') if row['live'] else format(row['ended'], '%Y-%m-%d %H:%M')} ({f.tz})")
cols = st.columns(5)
cols[0].metric(t("broadcasts_minutes"), f"{row['minutes']:,.0f}")
cols[1].metric(t("broadcasts_messages"), f"{row['messages']:,}")
cols[2].metric(t("broadcasts_chatters"), f"{row['chatters']:,}")
cols[3].metric(t("broadcasts_donations"), f"{row['donations']:,}")
cols[4].metric(t("broadcasts_amount"), f"{row['amount']:,}")

window = st.selectbox(t("broadcasts_window"), (1, 5, 10), key="broadcast_window")


def timeline() -> None:
    activity = data.query(f, warehouse.broadcast_activity, cid, bc, scoped=False, window_minutes=window)
    events = data.query(f, warehouse.broadcast_timeline, cid, bc, scoped=False)
    st.altair_chart(charts.timeline_figure(
        activity, events, f.tz, title=t("broadcasts_timeline"), messages=t("broadcasts_messages"),
        viewers=t("broadcasts_viewers"), title_change=t("broadcasts_title_change"),
        category_change=t("broadcasts_category_change"), lang=current_lang()), width="stretch",
        key="timeline_chart")
    viewer_parts.curve(f, cid, bc, row)  # the viewer curve under the chat curve (issue 20 §1)
    st.markdown(f"**{t('broadcasts_changes')}**")
    if events.is_empty():
        st.caption(t("broadcasts_no_session"))
    else:
        if not (events["event"] == "poll").any():
            st.caption(t("broadcasts_no_history"))
        changes = summaries.with_offsets(summaries.timeline_changes(events), "offset_minutes")
        widgets.table(changes, f"{name}_timeline", key="timeline",
                      column_config=summaries.headers(changes.columns, t))
    per_window = summaries.with_offsets(activity, "offset_minutes")
    widgets.folded(t("broadcasts_per_window"), "activity_open", lambda: widgets.table(
        per_window, f"{name}_activity_{window}m", key="activity",
        column_config=summaries.headers(per_window.columns, t)))


def peaks() -> None:
    found = data.query(f, warehouse.broadcast_peaks, cid, bc, scoped=False, by="volume", window_minutes=window,
                       limit=10)
    found = summaries.with_offsets(found.drop("channel_id", "broadcast"), "offset_from_start")
    widgets.table(found, f"{name}_peaks_{window}m", key="peaks", column_config=summaries.headers(found.columns, t))


def top_chatters() -> None:
    top = data.query(f, warehouse.broadcast_top_chatters, cid, bc, scoped=False, limit=20)
    widgets.table(top, f"{name}_top_chatters", key="top_chatters", column_config=summaries.headers(
        top.columns, t, share=st.column_config.NumberColumn(t("col_a_share"), format="percent")))


def donors() -> None:
    found = data.query(f, warehouse.broadcast_donors, cid, bc, scoped=False, limit=20)
    if found.is_empty():
        st.info(t("broadcasts_no_donations"))
    else:
        widgets.table(found, f"{name}_donors", key="donors", column_config=summaries.headers(found.columns, t))


# the report's parts one tab each: only the open one is drawn and queried (widgets.sections)
widgets.sections("broadcast_section", {
    "timeline": (t("broadcasts_timeline"), timeline), "peaks": (t("broadcasts_peaks"), peaks),
    "top": (t("broadcasts_top_chatters"), top_chatters), "donors": (t("broadcasts_donors"), donors)})
