"""사용자 검색 (User search): find users by nickname substring or id, then read their chat.
Nicknames and messages are untrusted: they appear only in dataframes, select boxes and st.text."""
import streamlit as st

from dashboard import data
from dashboard.app_pages import widgets
from dashboard.i18n import t

f = widgets.require_filters()
st.title(t("page_users"))

query = st.text_input(t("search_prompt"), key="user_query").strip()
if not query:
    st.info(t("search_hint"))
    st.stop()

found = data.search_users(f.root, query, f.channels, f.start, f.end)
st.subheader(t("search_results"))
if found.is_empty():
    st.info(t("no_results"))
    st.stop()
widgets.table(found, widgets.stem("user_search", f), key="found")

labels = {row["user_id"]: data.user_label(row) for row in found.iter_rows(named=True)}
user_id = st.selectbox(t("pick_user"), list(labels), format_func=labels.get, key="picked_user")

st.subheader(t("user_messages"))
st.text(labels[user_id])
messages = data.user_messages(f.root, user_id, f.channels, f.start, f.end)
widgets.table(messages, widgets.stem(f"messages_{user_id[:12]}", f), key="messages")
