"""이모티콘 (Emotes): the emote codes ``{:name:}`` of the channels and period picked — a
summary, a leaderboard per channel, per broadcast (with the top emotes over the broadcast)
and per user. An emote's image is shown from its URL only when warehouse's image_url admits
it (https, a CHZZK/Naver image host) through st.column_config.ImageColumn; codes, URLs and
nicknames are untrusted text in dataframes, never markup."""
import streamlit as st

import warehouse
from dashboard import data, summaries
from dashboard.app_pages import widgets
from dashboard.charts.emotes import emote_bar, emote_trend_figure, with_images
from dashboard.i18n import current_lang, t

f = widgets.require_filters()
lang = current_lang()
st.title(t("emo_page_title"))
summary = data.query(f, warehouse.emote_summary).row(0, named=True)
cols = st.columns(4)
cols[0].metric(t("emo_lines"), f"{summary['emote_lines']:,}")
cols[1].metric(t("emo_share"), f"{summary['emote_share']:.1%}")
cols[2].metric(t("emo_only"), f"{summary['emote_only']:,}")
cols[3].metric(t("emo_kinds"), f"{summary['emotes']:,}")
if summary["uses"] == 0:
    st.info(t("emo_none"))
    st.stop()
st.caption(t("emo_image_note"))


def ranking_table(ranking, stem: str, key: str) -> None:
    shown = with_images(ranking)
    widgets.table(shown, stem, key=key, column_config=summaries.headers(
        shown.columns, t, image=st.column_config.ImageColumn(t("col_a_image"), width="small"),
        url=st.column_config.TextColumn(t("col_a_url")),
        share=st.column_config.NumberColumn(t("col_a_share"), format="percent")))


def channel() -> None:
    ranking = data.query(f, warehouse.emote_ranking, limit=100)
    st.altair_chart(emote_bar(ranking, t("emo_chart_title"), t("emo_uses_axis"), lang), width="stretch",
                    key="emo_bar")
    ranking_table(ranking, widgets.stem("emote_ranking", f), "emo_ranking")


def broadcast() -> None:
    listing = data.query(f, warehouse.broadcast_list)
    if listing.is_empty():
        st.info(t("emo_no_broadcast"))
        return
    row = widgets.pick_broadcast(listing, t("emo_pick_broadcast"), "emo_broadcast_pick", f.tz, in_url=False)
    cid, bc = row["channel_id"], row["broadcast"]
    trend = data.query(f, warehouse.emote_trend, cid, bc, scoped=False, top=5)
    st.altair_chart(emote_trend_figure(trend, t("emo_trend_title"), t("emo_minutes_axis"), t("emo_uses_axis"),
                                       lang), width="stretch", key="emo_trend")
    ranking = data.query(f, warehouse.emote_ranking, scoped=False, broadcast=(cid, bc), limit=100)
    ranking_table(ranking, widgets.stem("emote_ranking_" + summaries.safe_stem(bc), f), "emo_bc_ranking")


def users() -> None:
    top = data.query(f, warehouse.emote_users, limit=100)
    widgets.table(top, widgets.stem("emote_users", f), key="emo_users", column_config=summaries.headers(
        top.columns, t, share=st.column_config.NumberColumn(t("col_a_share"), format="percent")))
    if top.is_empty():
        return
    names = {r["user_id"]: f"{r['nickname'] or r['user_id']} ({r['uses']:,})" for r in top.iter_rows(named=True)}
    user = st.selectbox(t("emo_pick_user"), options=list(names), key="emo_user_pick", format_func=names.get)
    st.subheader(t("emo_user_emotes"))
    ranking_table(data.query(f, warehouse.emote_ranking, user_id=user, limit=100),
                  widgets.stem("emote_ranking_user", f), "emo_user_ranking")


widgets.sections("emo_section", {"channel": (t("emo_tab_channel"), channel),
                                 "broadcast": (t("emo_tab_broadcast"), broadcast),
                                 "users": (t("emo_tab_users"), users)})
