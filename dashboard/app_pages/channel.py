"""채널 (Channel): one channel at a time (picked among the sidebar's channels) — activity,
the hour × weekday heatmap, top chatters and the top-10 share, new vs returning chatters,
chat peaks with their offset from the broadcast start, and the channel's one-page report for
the period (warehouse/report: HTML and PDF downloads); one tab each, and only the open tab is
drawn and queried (widgets.sections)."""
import streamlit as st

import warehouse
from dashboard import charts, data, summaries, urlpick
from dashboard.app_pages import widgets
from dashboard.i18n import current_lang, t
from warehouse.report import figures, page, pdf, text

f = widgets.require_filters()
lang = current_lang()  # for the charts, and format_func, which Streamlit may call outside this run
st.title(t("page_channel"))

# the busiest channel of the period first (and so picked by default): the messages per day
# the Overview asks too (the roll-ups answer them), not channel_summary's scan of every line
busiest = summaries.busiest_first(data.query(f, warehouse.activity, every="day"))
options = [c for c in busiest if c in f.channels] + [c for c in f.channels if c not in busiest]
urlpick.seed("channel", "channel_pick", options)
cid = st.selectbox(t("channel_pick"), options=options, key="channel_pick",
                   format_func=lambda c: f.names.get(c, c), help=t("channel_pick_help"))
urlpick.remember("channel", cid)
one = [cid]
every = st.radio(t("granularity"), data.EVERY, index=1, horizontal=True, key="every",
                 format_func=lambda e: t(f"every_{e}", lang))
df = data.query(f, warehouse.activity, channels=one, every=every)
if df.is_empty():
    st.info(t("no_rows"))
    st.stop()
widgets.coverage_badge(f, (cid,))


def activity() -> None:
    st.altair_chart(charts.activity_figure(df, f.tz, every, lang), width="stretch", key="activity_chart")
    summary = data.activity_summary(df)
    widgets.table(summary, widgets.stem("activity_summary", f), key="summary",
                  column_config=summaries.headers(summary.columns, t))
    widgets.folded(t("channel_raw_buckets"), "buckets_open", lambda: widgets.table(
        df, widgets.stem(f"activity_{every}", f), key="buckets", column_config=summaries.headers(df.columns, t)))


def heatmap() -> None:
    heat = data.query(f, warehouse.heatmap, channels=one)
    metric = st.radio(t("channel_heatmap_metric"), ("messages", "chatters"), horizontal=True, key="heat_metric",
                      format_func=lambda m: t(f"col_a_{m}", lang))
    st.altair_chart(charts.heatmap_figure(
        heat, metric, title=f"{t('channel_heatmap')} ({t(f'col_a_{metric}')})",
        weekdays=tuple(t("channel_weekdays").split(",")), hour_label=t("channel_hour"), lang=lang),
        width="stretch", key="heatmap_chart")
    widgets.folded(t("channel_heatmap_data"), "heatmap_open", lambda: widgets.table(
        heat, widgets.stem("heatmap", f), key="heatmap", column_config=summaries.headers(heat.columns, t)))


def top_chatters() -> None:
    share = data.query(f, warehouse.top_share, channels=one, n=10)
    if not share.is_empty():
        st.metric(t("channel_top10_share"), f"{share['share'][0] * 100:.1f}%")
    top = data.query(f, warehouse.top_chatters, channels=one, limit=20).drop("channel_id")
    widgets.table(top, widgets.stem("top_chatters", f), key="top_chatters", column_config=summaries.headers(
        top.columns, t, share=st.column_config.NumberColumn(t("col_a_share"), format="percent")))


def new_returning() -> None:
    nvr = data.query(f, warehouse.new_vs_returning, channels=one, every="day").drop("channel_id")
    st.altair_chart(charts.new_vs_returning_figure(
        nvr, f.tz, title=t("channel_new_returning"), new=t("channel_new"), returning=t("channel_returning"),
        y_label=t("channel_chatters_axis"), lang=lang), width="stretch", key="nvr_chart")
    widgets.table(nvr, widgets.stem("new_vs_returning", f), key="nvr",
                  column_config=summaries.headers(nvr.columns, t))


def peaks() -> None:
    left, right = st.columns(2)
    by = left.radio(t("channel_peaks_by"), ("volume", "surge"), horizontal=True, key="peaks_by",
                    format_func=lambda b: t(f"channel_by_{b}", lang))
    window = right.selectbox(t("channel_window"), (1, 5, 10, 30), key="peaks_window")
    found = data.query(f, warehouse.peaks, channels=one, by=by, window_minutes=window, limit=10)
    if found.is_empty():
        st.info(t("channel_no_peaks"))
        return
    found = summaries.with_offsets(found.drop("channel_id"), "offset_from_start")
    widgets.table(found, widgets.stem(f"peaks_{by}_{window}m", f), key="peaks",
                  column_config=summaries.headers(found.columns, t))


def report() -> None:
    st.caption(t("channel_report_help"))
    got = data.query(f, warehouse.channel_report, cid, f.start, f.end, scoped=False)
    cells = st.columns(5)
    for i, key in enumerate(figures.HEADLINE):
        cells[i % 5].metric(text.t(key, lang), text.figure(key, got.headline[key], lang))
    pick = st.radio(t("channel_report_lang"), text.LANGS, index=text.LANGS.index(lang), horizontal=True,
                    key="report_lang", format_func=lambda x: t(f"lang_{x}", lang))
    html = page.render_html(got, pick)
    stem = widgets.stem(f"report_{pick}_{cid[:12]}", f)
    left, right, _ = st.columns([1, 1, 3])
    left.download_button(t("channel_report_html"), html.encode("utf-8"), file_name=f"{stem}.html", mime="text/html",
                         key="report_html", on_click="ignore")
    if pdf.chromium() is None:
        right.caption(t("channel_report_no_pdf"))
    else:
        right.download_button(t("channel_report_pdf"), lambda: pdf.render_pdf(html), file_name=f"{stem}.pdf",
                              mime="application/pdf", key="report_pdf", on_click="ignore")


widgets.sections("channel_section", {
    "activity": (t("channel_activity"), activity), "heatmap": (t("channel_heatmap"), heatmap),
    "top": (t("channel_top_chatters"), top_chatters), "returning": (t("channel_new_returning"), new_returning),
    "peaks": (t("channel_peaks"), peaks), "report": (t("channel_report"), report)})
