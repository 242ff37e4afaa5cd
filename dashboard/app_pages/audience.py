"""시청자층 (Audience, issue 20 §7): which channels share chatters (a matrix, the top pairs,
and a channel's closest channels week by week), broadcast-to-broadcast retention and the
cohort triangle of one channel; one tab each, and only the open tab is drawn and queried
(widgets.sections).

Overlap is asked only of the channels the account may see (the sidebar's, scoped once
more here): a streamer sees the overlap between their own channels and nothing of any
other channel — no name, no count (docs/DASHBOARD_ACCESS.md)."""
import streamlit as st

import warehouse
from dashboard import accounts, charts, data, summaries, urlpick
from dashboard.app_pages import widgets
from dashboard.i18n import current_lang, t

f = widgets.require_filters()
lang = current_lang()  # for the charts, and format_func, which Streamlit may call outside this run
st.title(t("page_audience"))
st.caption(t("aud_help"))
scope = accounts.visible_channels(f.account, list(f.channels))  # the sidebar's channels, never more
names = dict(f.names)
urlpick.seed("channel", "aud_channel", scope)
cid = st.selectbox(t("aud_channel"), options=scope, key="aud_channel", format_func=lambda c: names.get(c, c))
urlpick.remember("channel", cid)


def _headers(columns: list[str], **configs) -> dict:
    """Translated headers, shares (0..1) drawn as percent bars."""
    shares = {c: st.column_config.ProgressColumn(t(f"col_a_{c}"), format="percent", min_value=0, max_value=1)
              for c in ("jaccard", "share_of_a", "share_of_b", "share", "retention") if c in columns}
    return summaries.headers(columns, t, **shares, **configs)


def overlap() -> None:
    if not accounts.sees_lake_wide(f.account):
        st.caption(":material/lock: " + t("aud_own_only"))
    pairs = data.query(f, warehouse.audience_overlap, channels=scope)
    if pairs.is_empty():
        st.info(t("aud_overlap_none"))
        return
    metric = st.radio(t("aud_metric"), charts.OVERLAP_METRICS, horizontal=True, key="aud_metric",
                      format_func=lambda m: t(f"aud_metric_{m}", lang))
    st.altair_chart(charts.matrix_figure(pairs, names, metric, t("aud_matrix_title"), t(f"aud_metric_{metric}"),
                                         lang=lang), width="stretch", key="aud_matrix_chart")
    total = len(charts.biggest(pairs, n=None))
    if total > charts.MATRIX_CHANNELS:
        st.caption(t("aud_matrix_note").format(n=charts.MATRIX_CHANNELS, total=total))
    st.subheader(t("aud_pairs_title"))
    top = charts.top_pairs(pairs, names)
    widgets.table(top, widgets.stem("audience_overlap", f), key="aud_pairs",
                  column_config=_headers(top.columns))
    trend(pairs)


def trend(pairs) -> None:
    st.subheader(t("aud_trend_title"))
    closest = charts.partners(pairs, cid, n=None)
    if not closest:
        st.info(t("aud_trend_none"))
        return
    picked = st.multiselect(t("aud_partners"), closest, default=closest[:3], key="aud_partners",
                            format_func=lambda c: names.get(c, c))
    wanted = [c for c in picked if c in scope]
    if not wanted:
        return
    weeks = data.query(f, warehouse.audience_overlap_trend, channels=sorted([cid, *wanted]), every="week")
    rows = charts.channel_trend(weeks, cid, names)
    metric = st.radio(t("aud_metric"), ("shared", "jaccard", "share"), horizontal=True, key="aud_trend_metric",
                      format_func=lambda m: t(f"aud_metric_{m}", lang))
    st.altair_chart(charts.trend_figure(rows, metric, f.tz, f"{t('aud_trend_title')} · {names.get(cid, cid)}",
                                        t(f"aud_metric_{metric}"), t("aud_legend"), t("aud_week"), lang=lang),
                    width="stretch", key="aud_trend_chart")
    shown = rows.rename({"bucket": "week"})
    widgets.table(shown, widgets.stem("audience_overlap_weekly", f), key="aud_trend",
                  column_config=_headers(shown.columns))


def retention() -> None:
    ret = data.query(f, warehouse.broadcast_retention, channels=[cid])
    if ret.is_empty():
        st.info(t("aud_retention_none"))
        return
    st.altair_chart(charts.retention_figure(ret, f.tz, f"{t('aud_retention_title')} · {names.get(cid, cid)}",
                                            t("col_a_chatters"), t("col_a_retention"), t("aud_started"), lang=lang),
                    width="stretch", key="aud_retention_chart")
    widgets.table(ret, widgets.stem("broadcast_retention", f), key="aud_retention",
                  column_config=_headers(ret.columns))


def cohorts() -> None:
    st.caption(t("aud_cohort_help"))
    every = st.radio(t("aud_cohort_every"), ("month", "week"), horizontal=True, key="aud_cohort_every",
                     format_func=lambda e: t(f"aud_every_{e}", lang))
    got = data.query(f, warehouse.chatter_cohorts, channels=[cid], every=every)
    if got.is_empty():
        st.info(t("aud_cohort_none"))
        return
    st.altair_chart(charts.cohort_figure(got, every, f.tz, f"{t('aud_cohort_title')} · {names.get(cid, cid)}",
                                         t("aud_cohort_axis"), t(f"aud_after_{every}"), t("col_a_retention"),
                                         lang=lang), width="stretch", key="aud_cohort_chart")
    widgets.table(got, widgets.stem(f"chatter_cohorts_{every}", f), key="aud_cohorts",
                  column_config=_headers(got.columns))


widgets.sections("aud_section", {
    "overlap": (t("aud_overlap"), overlap), "retention": (t("aud_retention"), retention),
    "cohorts": (t("aud_cohorts"), cohorts)})
