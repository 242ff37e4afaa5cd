"""채팅 관리 (Moderation): blinded lines, temporary restrictions and notices of the selected
channels and period, per broadcast and per user (warehouse.moderation_*), each table with its
downloads. Shown only to those who may see moderation (dashboard.accounts.may_see_moderation:
admins, the local user, a streamer for their own channels); the page is not listed for the
others and stops here if opened by its URL. Notice text and nicknames are untrusted:
dataframes only."""
import streamlit as st

import warehouse
from dashboard import accounts, data, summaries
from dashboard.app_pages import widgets
from dashboard.i18n import t

f = widgets.require_filters()
channels = [c for c in f.channels if accounts.may_see_moderation(f.account, c)]
if not accounts.may_see_moderation(f.account) or not channels:  # not listed for them either
    st.error(t("mod_denied"))
    st.stop()
st.title(t("mod_page_title"))
st.caption(t("mod_intro"))
scope = {"channels": tuple(channels), "start": f.start, "end": f.end}

per_broadcast = data.query(f, warehouse.moderation_broadcasts, scoped=False, **scope)
if per_broadcast.is_empty():
    st.info(t("mod_none"))
    st.stop()
lines, blinded = int(per_broadcast["lines"].sum()), int(per_broadcast["blinded"].sum())
restricted = data.query(f, warehouse.restrictions, scoped=False, **scope)
cols = st.columns(5)
cols[0].metric(t("mod_lines"), f"{lines:,}")
cols[1].metric(t("mod_blinded"), f"{blinded:,}")
cols[2].metric(t("mod_blinded_share"), f"{blinded / lines * 100:.2f}%" if lines else "-")
cols[3].metric(t("mod_restrictions"), f"{restricted.height:,}")
cols[4].metric(t("mod_restricted_users"), f"{restricted['user_id'].n_unique():,}")
if per_broadcast["restrictions"].sum() == 0 and per_broadcast["notices"].sum() == 0:
    st.caption(":material/info: " + t("mod_no_events"))
share = st.column_config.NumberColumn(t("col_a_blinded_share"), format="percent")


def broadcasts() -> None:
    widgets.table(per_broadcast, widgets.stem("moderation_broadcasts", f), key="mod_broadcasts",
                  column_config=summaries.headers(per_broadcast.columns, t, blinded_share=share))


def users() -> None:
    found = data.query(f, warehouse.moderation_users, scoped=False, **scope, limit=500)
    widgets.table(found, widgets.stem("moderation_users", f), key="mod_users",
                  column_config=summaries.headers(found.columns, t, blinded_share=share))


def restriction_list() -> None:
    widgets.table(restricted, widgets.stem("restrictions", f), key="mod_restrictions",
                  column_config=summaries.headers(restricted.columns, t))


def notice_list() -> None:
    found = data.query(f, warehouse.notices, scoped=False, **scope)
    widgets.table(found, widgets.stem("notices", f), key="mod_notices",
                  column_config=summaries.headers(found.columns, t))


widgets.sections("mod_section", {
    "broadcasts": (t("mod_broadcasts"), broadcasts), "users": (t("mod_users"), users),
    "restrictions": (t("mod_restriction_list"), restriction_list), "notices": (t("mod_notice_list"), notice_list)})
