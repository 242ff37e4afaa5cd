"""데이터 (Data): every table the lake holds — schema, partitions, size, a preview of the
filter's range (one tab each, only the open one drawn and queried) — and the last sync's
state. Lake-wide figures (all channels' rows and sizes, state.json) are hidden from
streamers, who see only their own channels; moderation (the events table, the chat's blind
columns) from those who may not see the Moderation page (analysts)."""
import streamlit as st

import warehouse
from dashboard import accounts, charts, data, summaries
from dashboard.app_pages import widgets
from dashboard.i18n import LABELS, current_lang, t
from warehouse.read.queries.catalog import PREVIEW_LIMIT

f = widgets.require_filters()
st.title(t("data_title"))
account = getattr(f, "account", None)
lake_wide = accounts.sees_lake_wide(account)
moderation = accounts.may_see_moderation(account)  # else no restrictions, notices or blind columns

# -- sync status -----------------------------------------------------------------------
st.subheader(t("data_sync"))
state = data.query(f, warehouse.lake_state, scoped=False)
if not state["present"]:
    st.info(t("data_never"))
else:
    ago = charts.hours_since(state["last_sync"])
    cols = st.columns(5 if lake_wide else 2)
    cols[0].metric(t("data_last_sync"), charts.local_iso(state["last_sync"], f.tz, "%m-%d %H:%M"),
                   t("data_ago").format(h=ago) if ago is not None else None, delta_color="off", delta_arrow="off",
                   help=f"{charts.local_iso(state['last_sync'], f.tz)} ({f.tz})")
    cols[1].metric(t("data_users_fresh"), t("data_fresh") if state["users_index_fresh"] else t("data_stale"))
    if lake_wide:
        cols[2].metric(t("data_days"), f"{state['days']:,}",
                       f"{state['first_day']} ~ {state['last_day']}" if state["days"] else None, delta_color="off",
                       delta_arrow="off")
        cols[3].metric(t("data_rows"), f"{state['rows']:,}")
        cols[4].metric(t("data_archived"), f"{len(state['archived_days']):,}", help=t("data_archived_help"))
        widgets.folded(t("data_state_json"), "state_json_open", lambda: st.json(state["raw"], expanded=False))

# -- the tables ------------------------------------------------------------------------
st.subheader(t("data_tables"))
tables = data.query(f, warehouse.lake_tables, scoped=False)
if not moderation:
    tables = tables.filter(~tables["table"].is_in(accounts.MODERATION_TABLES))
names = tables["table"].to_list()
descriptions = {n: t(f"data_desc_{n}") if f"data_desc_{n}" in LABELS else "" for n in names}
view = charts.tables_view(tables, descriptions)
if not lake_wide:
    st.caption(t("data_lake_wide"))
    view = view.select("table", "description", "by_day", "present", "columns")
widgets.table(view, widgets.stem("lake_tables", f), key="data_tables",
              column_config=summaries.headers(view.columns, t))

table = st.selectbox(t("data_pick_table"), names, key="data_table",
                     format_func=lambda n: f"{n} — {descriptions.get(n, '')}".rstrip(" —"))
present = bool(tables.filter(tables["table"] == table)["present"].item())
if not present:
    st.info(t("data_absent"))


def schema() -> None:
    columns = data.query(f, warehouse.table_schema, table, scoped=False)
    widgets.table(columns, f"schema_{table}", key="data_schema",
                  column_config=summaries.headers(columns.columns, t))


def partitions() -> None:
    if not lake_wide:
        st.caption(t("data_lake_wide"))
        return
    if not present:
        return
    parts = data.query(f, warehouse.table_partitions, table, scoped=False)
    bad = charts.mismatched(parts)
    if not bad.is_empty():
        st.warning(t("data_mismatch").format(n=bad.height))
    if parts["day"].is_not_null().any():
        st.altair_chart(charts.partitions_figure(parts, t("data_partitions_title"), t("col_a_rows"),
                                                      current_lang()), width="stretch", key="data_parts_chart")
    sized = charts.with_size(parts)
    widgets.table(sized, f"partitions_{table}", key="data_parts",
                  column_config=summaries.headers(sized.columns, t))


def preview() -> None:
    rows = data.query(f, warehouse.table_preview, table)
    if not moderation:
        rows = rows.drop([c for c in accounts.MODERATION_COLUMNS if c in rows.columns])
    if rows.is_empty():
        st.info(t("no_rows"))
    # the preview keeps the stored column names: it shows the table as the lake holds it,
    # under the names its schema tab lists (docs/DASHBOARD_LANGUAGE.md)
    widgets.table(rows, widgets.stem(f"{table}_preview", f), key="data_preview", stored_names=True)


widgets.sections("data_section", {
    "schema": (t("data_schema"), schema), "partitions": (t("data_partitions"), partitions),
    "preview": (t("data_preview").format(n=PREVIEW_LIMIT), preview)})
