"""The Broadcasts page in AppTest over the pages fixture lake: the period's list and one
broadcast's report (numbers, title timeline, window), markup titles shown as typed."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.i18n import t
from tests import vega_checks as vega
from tests.lakefixture_pages import ADV_NAME, ADV_NICKS, ADV_TITLES, POLLS_0
from tests.lakefixture_rich import KST, is_chatter, user_rows
from tests.page_checks import (
    PAGES_WEEK,
    goto,
    minutes_coverage,
    no_adversarial_markup,
    ok,
    spec_of,
)
from tests.section_tabs import open_fold, open_section

SECTION = "broadcast_section"

pytestmark = pytest.mark.e2e


def _pick(at: AppTest, cid: str, bc: str) -> AppTest:
    at.selectbox(key="broadcast_pick").set_value(f"{cid}:{bc}").run(timeout=60)
    ok(at)
    return at


def test_broadcasts_page_lists_the_periods_broadcasts_newest_first(pages_app):
    at, facts = pages_app
    goto(at, "broadcasts")
    assert not at.dataframe  # the list's expander is drawn closed (widgets.folded): no table sent
    open_fold(at, "broadcast_list_open")
    options = at.selectbox(key="broadcast_pick").options
    expected = sorted((b for b in facts["broadcasts"] if PAGES_WEEK[0] <= b["start"].date() <= PAGES_WEEK[1]),
                      key=lambda b: b["start"], reverse=True)
    assert len(options) == len(expected) + 1  # and the markup channel's broadcast of 2026-10-09
    assert options[0].endswith(expected[0]["broadcast"])
    assert any(o.endswith(facts["adv_broadcast"]) and ADV_NAME in o for o in options)  # plain text label
    listing = at.dataframe[0].value  # the same broadcasts as a table, with its downloads
    assert list(listing["broadcast"]) == [o.rsplit(" · ", 1)[1] for o in options]
    assert ADV_TITLES[1] in set(listing["title"])  # as typed
    assert {b.key for b in at.get("download_button")} >= {"broadcast_list_csv", "broadcast_list_parquet"}
    # the period's badge: every broadcast of the default week is a "chat" source one
    by_bc = defaultdict(list)
    for r in user_rows(facts):
        by_bc[r["chat_channel_id"]].append(r)
    spans = [minutes_coverage(rows) for rows in by_bc.values()
             if PAGES_WEEK[0] <= min(r["chat_time"] for r in rows).astimezone(KST).date() <= PAGES_WEEK[1]]
    assert len(spans) == len(options)
    share = sum(c for _, c in spans) / sum(m for m, _ in spans)
    assert any(m.value.startswith(":") and f"{t('coverage_badge')}" in m.value and f"{share * 100:.1f}%" in m.value
               for m in at.markdown), [m.value for m in at.markdown]


def test_broadcast_report_numbers_and_title_timeline(pages_app):
    at, facts = pages_app
    open_fold(goto(at, "broadcasts"), "broadcast_list_open")
    b = facts["broadcasts"][0]
    at.date_input(key="f_dates").set_value((b["start"].date(), b["start"].date())).run(timeout=60)
    ok(_pick(at, b["channel_id"], b["broadcast"]))
    rows = [r for r in user_rows(facts, [b["channel_id"]]) if r["chat_channel_id"] == b["broadcast"]]
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("broadcasts_messages")] == f"{len(rows):,}"
    assert metrics[t("broadcasts_chatters")] == f"{len({r['user_id'] for r in rows if is_chatter(r)}):,}"
    donations = [r for r in rows if r["message_type"] == "donation"]
    assert metrics[t("broadcasts_amount")] == f"{sum(r['pay_amount'] or 0 for r in donations):,}"
    assert f"{t('broadcasts_title')}: {POLLS_0[-1][1]}" in at.text[0].value
    changes = at.dataframe[1].value
    assert list(changes["event"]) == ["open", "poll", "poll", "poll", "close"]  # the unchanged poll left out
    assert list(changes["live_title"])[1:4] == [POLLS_0[0][1], POLLS_0[2][1], POLLS_0[3][1]]
    assert list(changes["offset"])[2:4] == ["1:00", "1:30"]
    chart = spec_of(at, 0)
    assert vega.marks(chart)[:2] == ["bar", "line"]
    bars, polls = vega.view_rows(chart)[:2]
    assert sum(r["messages"] for r in bars) == len(rows)
    assert [p[3] for p in POLLS_0] == [r["viewers"] for r in polls]  # viewers
    assert any("capture_interval" in m.value and "%" in m.value for m in at.markdown)  # this broadcast's badge
    open_fold(at, "activity_open")
    assert len(at.dataframe) == 3  # the list, the changes and the windows: the timeline tab alone is drawn
    open_section(at, SECTION, t("broadcasts_top_chatters"))
    top = at.dataframe[1].value
    counts = Counter(r["user_id"] for r in rows if is_chatter(r))
    assert list(zip(top["user_id"], top["messages"], strict=True)) == sorted(
        counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    open_section(at, SECTION, t("broadcasts_donors"))
    donors = at.dataframe[1].value
    assert int(donors["amount"].sum()) == sum(r["pay_amount"] or 0 for r in donations)
    open_section(at, SECTION, t("broadcasts_peaks"))
    assert len(at.dataframe[1].value) > 0 and "offset" in at.dataframe[1].value.columns


def test_broadcast_window_changes_the_timeline(pages_app):
    at, facts = pages_app
    goto(at, "broadcasts")
    one = len(vega.view_rows(spec_of(at, 0))[0])
    at.selectbox(key="broadcast_window").set_value(10).run(timeout=60)
    ok(at)
    ten = [r["messages"] for r in vega.view_rows(spec_of(at, 0))[0]]
    assert len(ten) < one
    picked = at.selectbox(key="broadcast_pick").value.split(":")[1]
    assert sum(ten) == sum(1 for r in user_rows(facts) if r["chat_channel_id"] == picked)


def test_broadcast_markup_title_nicknames_show_as_typed(pages_app):
    at, facts = pages_app
    open_fold(goto(at, "broadcasts"), "broadcast_list_open")
    _pick(at, facts["adv_channel"], facts["adv_broadcast"])
    assert f"{t('broadcasts_title')}: {ADV_TITLES[1]}" in at.text[0].value
    changes = at.dataframe[1].value
    assert list(changes["live_title"])[1:3] == list(ADV_TITLES)
    chart = spec_of(at, 0)
    hover = [r["change"] for rule, rows in zip(vega.marks(chart), vega.view_rows(chart), strict=True)
             if rule == "rule" for r in rows]
    assert hover and all("&lt;" not in h for h in hover)  # as typed: Vega's tooltips escape it themselves
    assert any("<script>alert(2)</script>" in h for h in hover)
    no_adversarial_markup(at)
    open_section(at, SECTION, t("broadcasts_top_chatters"))
    assert set(at.dataframe[1].value["nickname"]) == set(ADV_NICKS)
    no_adversarial_markup(at)
    open_section(at, SECTION, t("broadcasts_donors"))
    assert at.dataframe[1].value["donor"].iloc[0] == ADV_NICKS[0]
    no_adversarial_markup(at)


def test_broadcasts_page_without_broadcasts_says_so(pages_app):
    at, _ = pages_app
    goto(at, "broadcasts")
    quiet = date(2026, 9, 10)
    at.date_input(key="f_dates").set_value((quiet, quiet)).run(timeout=60)
    ok(at)
    assert any(t("broadcasts_none") in i.value for i in at.info)
    assert len(at.dataframe) == 0
