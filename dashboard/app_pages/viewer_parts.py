"""The viewer parts other pages draw (issue 20 §1): the Broadcasts page's viewer curve under
its chat timeline, with the broadcast's viewer figures and how much of it they rest on."""
import streamlit as st

import warehouse
from dashboard import charts, data
from dashboard.i18n import current_lang, t


def curve(f, channel_id: str, broadcast: str, row: dict) -> None:
    """The broadcast's concurrent viewers (gaps left open) and, from its broadcast_viewers()
    `row`, the average and peak viewers and the viewer coverage."""
    found = data.query(f, warehouse.viewer_curve, channel_id, broadcast, scoped=False)
    if found.filter(found["viewers"].is_not_null()).is_empty():
        st.caption(t("viewers_curve_none"))
        return
    st.altair_chart(charts.viewer_curve_figure(found, f.tz, t("viewers_curve_title"), t("viewers_axis"),
                                               lang=current_lang()), width="stretch", key="viewer_curve_chart")
    if row.get("avg_viewers") is not None:
        st.caption(f"{t('col_a_avg_viewers')} {row['avg_viewers']:,.0f} · {t('col_a_peak_viewers')} "
                   f"{row['peak_viewers']:,} · {t('col_a_hours_watched')} {row['hours_watched']:,.1f} · "
                   f"{t('viewers_curve_badge')} {row['viewer_coverage']:.0%}")
