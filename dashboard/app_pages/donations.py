"""후원 (Donations): the totals, then one tab each for the amount over time, the donor
ranking, how big donations are, when in a broadcast they come, and the missions still
pending with the gifted subscriptions; only the open tab is drawn and queried
(widgets.sections). Totals count a mission only once settled (README, "How donations are
counted"); pending missions are shown apart."""
import streamlit as st

import warehouse
from dashboard import charts, data, summaries
from dashboard.app_pages import widgets
from dashboard.i18n import current_lang, t

EVERY = ("hour", "day", "week", "month")
SLOTS = (5, 10, 30, 60)

f = widgets.require_filters()
lang = current_lang()  # for the charts, and format_func, which Streamlit may call outside this run
st.title(t("don_title"))
widgets.coverage_badge(f)

days = (f.end - f.start).days + 1
every = st.radio(t("don_every"), EVERY, index=1 if days <= 62 else 2, horizontal=True, key="don_every",
                 format_func=lambda e: t(f"don_every_{e}", lang))


def missions_and_gifts() -> None:
    pending = data.query(f, warehouse.pending_missions)
    waiting = charts.pending_total(pending)
    gifts = data.query(f, warehouse.gifted_subscriptions)
    left, mid, right = st.columns(3)
    left.metric(t("don_pending_count"), f"{waiting['missions']:,}")
    mid.metric(t("don_pending_amount"), f"{waiting['amount']:,}")
    right.metric(t("don_gifted_subs"), f"{int(gifts['subscriptions'].sum()) if gifts.height else 0:,}")
    st.subheader(t("don_pending"))
    st.caption(t("don_pending_help"))
    if pending.is_empty():
        st.info(t("don_pending_none"))
    else:
        shown = charts.pending_shown(pending, f.names, f.tz)
        widgets.table(shown, widgets.stem("pending_missions", f), key="don_pending",
                      column_config=summaries.headers(shown.columns, t))
    st.subheader(t("don_gifts"))
    named = charts.with_names(gifts, f.names)
    widgets.table(named, widgets.stem("gifted_subscriptions", f), key="don_gifts",
                  column_config=summaries.headers(named.columns, t))


per_bucket = data.query(f, warehouse.donations, every=every)
if per_bucket.is_empty():
    st.info(t("don_none"))
    if not data.query(f, warehouse.pending_missions).is_empty():  # pending while nothing counts yet
        missions_and_gifts()
    st.stop()

totals = charts.donation_totals(per_bucket)
overall = charts.overall(totals)
left, mid, right = st.columns(3)
left.metric(t("don_count"), f"{overall['donations']:,}")
mid.metric(t("don_amount"), f"{overall['amount']:,}")
right.metric(t("don_anon_share"), f"{overall['anonymous_share']:.1%}")

st.caption(t("don_counting_rule"))
st.subheader(t("don_totals"))
named = charts.with_names(totals, f.names)
widgets.table(named, widgets.stem("donation_totals", f), key="don_totals",
              column_config=summaries.headers(named.columns, t))


def over_time() -> None:
    drawn = charts.busiest(per_bucket, "amount")
    st.altair_chart(charts.amount_figure(drawn, f.names, t("don_over_time"), f.tz, t("don_amount"),
                                         every, lang), width="stretch", key="don_time_chart")
    widgets.busiest_note(per_bucket, drawn)

    def buckets() -> None:
        named = charts.with_names(per_bucket, f.names)
        widgets.table(named, widgets.stem(f"donations_{every}", f), key="don_buckets",
                      column_config=summaries.headers(named.columns, t))
    widgets.folded(t("don_raw"), "don_buckets_open", buckets)


def ranking() -> None:
    st.caption(t("don_ranking_help"))
    limit = st.number_input(t("don_limit"), min_value=1, max_value=100, value=20, step=5, key="don_limit")
    ranks = data.query(f, warehouse.donation_ranking, limit=int(limit))
    shown = [c for c in f.channels if c in set(ranks["channel_id"].to_list())]
    if shown:
        channel = shown[0] if len(shown) == 1 else st.selectbox(
            t("don_channel"), shown, key="don_channel", format_func=lambda c: f.names.get(c, c))
        named, anonymous = charts.named_donors(ranks.filter(ranks["channel_id"] == channel))
        if anonymous["donations"]:
            st.caption(t("don_anonymous_line").format(n=f"{anonymous['donations']:,}",
                                                      amount=f"{anonymous['amount']:,}"))
        st.altair_chart(charts.ranking_figure(named, t("don_ranking_title"), t("don_amount"), lang),
                        width="stretch", key="don_rank_chart")
    named = charts.with_names(ranks, f.names)
    widgets.table(named, widgets.stem("donation_ranking", f), key="don_ranking",
                  column_config=summaries.headers(named.columns, t))


def sizes() -> None:
    dist = data.query(f, warehouse.donation_distribution)
    st.altair_chart(charts.distribution_figure(dist, t("don_distribution"), t("don_count"), t("don_amount"),
                                                     lang), width="stretch", key="don_dist_chart")
    widgets.table(dist, widgets.stem("donation_distribution", f), key="don_dist",
                  column_config=summaries.headers(dist.columns, t))


def in_broadcast() -> None:
    slot = st.radio(t("don_slot"), SLOTS, index=1, horizontal=True, key="don_slot")
    slots = data.query(f, warehouse.donations_over_broadcast, minutes=int(slot))
    choices = charts.broadcast_choices(slots, data.query(f, warehouse.coverage))
    if choices.is_empty():
        st.info(t("don_none"))
        return
    labels = {f"{c}:{b}": charts.broadcast_label(f.names.get(c, c), s, f.tz, n, a, t("don_unknown_start"))
              for c, b, s, n, a in choices.iter_rows()}
    picked = st.selectbox(t("don_pick_broadcast"), list(labels), key="don_broadcast_pick",
                          format_func=lambda k: labels.get(k, k))
    cid, bid = picked.split(":", 1)
    one = slots.filter((slots["channel_id"] == cid) & (slots["broadcast"] == bid))
    st.altair_chart(charts.broadcast_figure(one, t("don_broadcast_title"), t("don_minutes_axis"),
                                                  t("don_amount"), lang), width="stretch", key="don_broadcast_chart")
    named = charts.with_names(slots, f.names)
    widgets.table(named, widgets.stem(f"donations_over_broadcast_{slot}m", f), key="don_broadcast",
                  column_config=summaries.headers(named.columns, t))


widgets.sections("don_section", {
    "time": (t("don_over_time"), over_time), "ranking": (t("don_ranking"), ranking),
    "sizes": (t("don_distribution"), sizes), "broadcast": (t("don_broadcast"), in_broadcast),
    "missions": (t("don_missions"), missions_and_gifts)})
