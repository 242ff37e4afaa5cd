"""사용자 검색 (User search): find users by nickname substring or id, then read their name
history, the channels they chat in and their messages, a page at a time. Every search and
every user opened is written to the audit log first. Accounts without cross-channel
search (streamers, analysts unless granted) search one channel at a time.
Nicknames and messages are untrusted: they appear only in dataframes, select boxes and st.text."""
import math

import streamlit as st

import warehouse
from dashboard import accounts, data, summaries
from dashboard.app_pages import widgets
from dashboard.i18n import t

PAGE_SIZE = 100

f = widgets.require_filters()
st.title(t("page_users"))

scope = f.channels
if not accounts.may_search_across(f.account) and len(f.channels) > 1:
    st.caption(t("users_one_channel"))
    one = st.selectbox(t("users_scope"), f.channels, format_func=lambda c: f.names.get(c, c), key="users_channel")
    scope = (one,)

query = st.text_input(t("search_prompt"), key="user_query").strip()
if not query:
    st.info(t("search_hint"))
    st.stop()

widgets.audited(f, "user_search", query, scope)
found = data.query(f, warehouse.search_users, query, channels=list(scope))
st.subheader(t("search_results"))
if found.is_empty():
    st.info(t("no_results"))
    st.stop()
widgets.coverage_badge(f, scope)  # the message counts below are of what was captured
widgets.table(found, widgets.stem("user_search", f), key="found",
              column_config=summaries.headers(found.columns, t))

count = t("users_label_messages")
labels = {row["user_id"]: data.user_label(row, count) for row in found.iter_rows(named=True)}
user_id = st.selectbox(t("pick_user"), list(labels), format_func=labels.get, key="picked_user")
widgets.audited(f, "user_view", user_id, scope)
st.text(labels[user_id])
short = user_id[:12]

st.subheader(t("users_name_history"))
names = data.query(f, warehouse.name_history, user_id, channels=list(scope))
widgets.table(names, widgets.stem(f"names_{short}", f), key="names",
              column_config=summaries.headers(names.columns, t))
st.subheader(t("users_channels"))
chans = data.query(f, warehouse.user_channels, user_id, channels=list(scope))
widgets.table(chans, widgets.stem(f"channels_{short}", f), key="user_channels",
              column_config=summaries.headers(chans.columns, t))

st.subheader(t("user_messages"))
total = int(found.filter(found["user_id"] == user_id)["messages"][0])
pages = max(1, math.ceil(total / PAGE_SIZE))
if st.session_state.get("_user_page_of") != (user_id, scope):  # another user: back to page 1
    st.session_state["_user_page_of"] = (user_id, scope)
    st.session_state["user_page"] = 1
st.session_state["user_page"] = min(max(1, st.session_state.get("user_page", 1)), pages)
page = st.number_input(t("users_page"), min_value=1, max_value=pages, step=1, key="user_page")
offset = (int(page) - 1) * PAGE_SIZE
messages = data.query(f, warehouse.user_messages, user_id, channels=list(scope), limit=PAGE_SIZE, offset=offset)
st.caption(t("users_page_of").format(first=min(total, offset + 1), last=min(total, offset + messages.height),
                                     total=total, size=PAGE_SIZE))
widgets.table(messages, widgets.stem(f"messages_{short}_p{int(page)}", f), key="messages",
              column_config=summaries.headers(messages.columns, t))
