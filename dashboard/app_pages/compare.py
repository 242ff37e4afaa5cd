"""비교 (Compare, issue 20 §3): 2–4 broadcasts overlaid by the minutes since their start
(messages, chatters, viewers, donations), 2–4 channels side by side for the period (their
headline figures and a daily series), and the Overview's figures against the previous period
of the same length; one tab each, only the open tab is drawn and queried (widgets.sections).
Only the sidebar's channels are offered, so a streamer compares their own."""
import streamlit as st

import warehouse
from dashboard import data, summaries
from dashboard.app_pages import widgets
from dashboard.charts import compare as figures
from dashboard.i18n import current_lang, t
from warehouse.read.queries.compare import MAX_COMPARED, OVERVIEW_METRICS

WINDOWS = (1, 5, 10)  # minutes: the widths the broadcast minutes store

f = widgets.require_filters()
lang = current_lang()
st.title(t("page_compare"))


def _percent(label: str) -> st.column_config.ProgressColumn:
    return st.column_config.ProgressColumn(t(label), format="percent", min_value=0, max_value=1)


def broadcasts() -> None:
    st.caption(t("compare_help"))
    listing = data.query(f, warehouse.broadcast_list)
    if listing.is_empty():
        st.info(t("compare_no_broadcasts"))
        return
    picked = widgets.pick_broadcasts(listing, t("compare_pick_broadcasts"), "compare_picks", f.tz,
                                     most=MAX_COMPARED)
    width = st.segmented_control(t("compare_window"), WINDOWS, default=5, key="compare_window") or 5
    if len(picked) < 2:
        st.info(t("compare_pick_more"))
        return
    pairs = tuple((r["channel_id"], r["broadcast"]) for r in picked)
    overlay = data.query(f, warehouse.compare_broadcasts, broadcasts=pairs, window_minutes=width)
    shown = figures.labelled(overlay, figures.broadcast_names(listing, f.tz))
    panels = {"messages": t("compare_panel_messages"), "chatters": t("compare_panel_chatters"),
              "viewers": t("compare_panel_viewers"), "amount": t("compare_panel_amount")}
    st.altair_chart(figures.overlay_figure(shown, width, t("compare_overlay_title"), panels,
                                           t("compare_minutes_axis"), t("compare_legend_broadcast"), lang=lang),
                    width="stretch", key="compare_overlay_chart")
    widgets.table(shown, widgets.stem("compare_broadcasts", f), key="compare_broadcast_table",
                  column_config=summaries.headers(shown.columns, t,
                                                  viewer_coverage=_percent("col_a_viewer_coverage")))


def channels() -> None:
    offered = list(f.channels)
    if "compare_channel_picks" not in st.session_state:
        st.session_state["compare_channel_picks"] = offered[:MAX_COMPARED]
    else:  # only channels the sidebar still offers (another account, other filters)
        st.session_state["compare_channel_picks"] = [
            c for c in st.session_state["compare_channel_picks"] if c in offered][:MAX_COMPARED]
    picked = st.multiselect(t("compare_pick_channels"), offered, key="compare_channel_picks",
                            max_selections=MAX_COMPARED, format_func=lambda c: f.names.get(c, c))
    if not picked:
        st.info(t("compare_no_channels"))
        return
    side = data.query(f, warehouse.compare_channels, channels=tuple(picked))
    widgets.table(side, widgets.stem("compare_channels", f), key="compare_channel_table",
                  column_config=summaries.headers(side.columns, t, viewer_coverage=_percent("col_a_viewer_coverage")))
    days = data.query(f, warehouse.compare_channels, channels=tuple(picked), every="day")
    panels = {"messages": t("compare_panel_messages"), "chatters": t("compare_panel_chatters"),
              "avg_viewers": t("compare_panel_avg_viewers"), "donation_amount": t("compare_panel_amount")}
    st.altair_chart(figures.days_figure(days, t("compare_days_title"), panels, t("compare_day_axis"),
                                        t("compare_legend_channel"), lang=lang),
                    width="stretch", key="compare_days_chart")
    widgets.table(days, widgets.stem("compare_channel_days", f), key="compare_day_table",
                  column_config=summaries.headers(days.columns, t))


def periods() -> None:
    change = data.query(f, warehouse.period_change)
    if change.is_empty():
        st.info(t("no_rows"))
        return
    first = change.row(0, named=True)
    st.caption(t("compare_periods_caption").format(**{k: first[k] for k in (
        "start", "end", "previous_start", "previous_end")}))
    shown = figures.named_metrics(change, {m: t(f"compare_metric_{m}") for m in OVERVIEW_METRICS})
    widgets.table(shown, widgets.stem("period_change", f), key="compare_period_table",
                  column_config=summaries.headers(shown.columns, t))


widgets.sections("compare_section", {
    "broadcasts": (t("compare_broadcasts"), broadcasts), "channels": (t("compare_channels"), channels),
    "periods": (t("compare_periods"), periods)})
