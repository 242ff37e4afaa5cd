"""자주 쓰는 말 (Top words): the most used words, two-word phrases, laughs and cries of the
channels and period picked, or of one broadcast (warehouse.top_words: laugh/cry runs merged
and counted apart). Words are untrusted text: a chart drawn as typed and a dataframe."""
import streamlit as st

import warehouse
from dashboard import data, summaries
from dashboard.app_pages import widgets
from dashboard.charts.emotes import words_bar
from dashboard.i18n import current_lang, t

KINDS = ("word", "phrase", "laugh", "cry")
SCOPES = ("period", "broadcast")

f = widgets.require_filters()
lang = current_lang()
st.title(t("words_page_title"))
st.caption(t("words_note"))
kind = st.radio(t("words_kind"), KINDS, horizontal=True, key="words_kind",
                format_func=lambda k: t(f"words_kind_{k}", lang))
scope = st.radio(t("words_scope"), SCOPES, horizontal=True, key="words_scope",
                 format_func=lambda s: t(f"words_scope_{s}", lang))
stem = f"top_words_{kind}"
if scope == "broadcast":
    listing = data.query(f, warehouse.broadcast_list)
    if listing.is_empty():
        st.info(t("emo_no_broadcast"))
        st.stop()
    row = widgets.pick_broadcast(listing, t("emo_pick_broadcast"), "words_broadcast_pick", f.tz, in_url=False)
    cid, bc = row["channel_id"], row["broadcast"]
    top = data.query(f, warehouse.top_words, scoped=False, broadcast=(cid, bc), kinds=(kind,), limit=100)
    stem += "_" + summaries.safe_stem(bc)
else:
    top = data.query(f, warehouse.top_words, kinds=(kind,), limit=100)
if top.is_empty():
    st.info(t("words_none"))
    st.stop()
st.altair_chart(words_bar(top, t("words_chart_title"), t("emo_uses_axis"), lang), width="stretch", key="words_bar")
widgets.table(top, widgets.stem(stem, f), key="words_table", column_config=summaries.headers(
    top.columns, t, share=st.column_config.NumberColumn(t("col_a_share"), format="percent")))
