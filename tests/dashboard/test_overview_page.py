"""The Overview page (the default page) in AppTest over the pages fixture lake
(tests/lakefixture_pages.py), its numbers checked against plain Python over the fixture's rows."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest

from dashboard.i18n import t
from tests import compare_answers
from tests.lakefixture_pages import ADV_NAME
from tests.lakefixture_rich import KST, is_chatter, is_sub, user_rows
from tests.page_checks import (
    PAGES_WEEK,
    minutes_coverage,
    no_adversarial_markup,
    ok,
)

pytestmark = pytest.mark.e2e


def _expected_overview(facts, start, end, channels=None):
    rows = user_rows(facts, channels, start, end)
    out = {}
    for cid in {r["channel_id"] for r in rows}:
        mine = [r for r in rows if r["channel_id"] == cid]
        chatters = {r["user_id"] for r in mine if is_chatter(r)}
        donations = [r for r in mine if r["message_type"] == "donation"]
        per_day = Counter(r["day"] for r in mine)
        out[cid] = {"channel_name": facts["channel_names"][cid], "messages": len(mine), "chatters": len(chatters),
                    "chatter_share": len({r["user_id"] for r in mine if is_chatter(r) and is_sub(r)}) / len(chatters),
                    "donations": len(donations), "donation_amount": sum(r["pay_amount"] or 0 for r in donations),
                    "trend": [per_day.get(start + timedelta(days=i), 0) for i in range((end - start).days + 1)]}
    return out


def _deltas_match(at, facts, start, end, channels=None) -> None:
    """Each metric's delta is its change against the as long period before, in plain Python."""
    change = compare_answers.period_change(facts, start, end, channels)
    deltas = {m.label: m.delta for m in at.metric}
    for metric, label in (("channels", "overview_channels_n"), ("messages", "overview_messages"),
                          ("donations", "overview_donations"), ("donation_amount", "overview_amount")):
        now, then = change[metric]
        want = f"{now - then:+,}" + (f" ({(now - then) / then:+.1%})" if then else "")
        assert deltas[t(label)] == want, (metric, deltas[t(label)], want)
    assert sum(then for _, then in change.values())  # the previous period has lines: a real comparison


def test_overview_is_the_default_page_and_its_numbers_match_the_lake(pages_app):
    at, facts = pages_app
    assert at.title[0].value == t("page_overview")
    assert at.date_input(key="f_dates").value == PAGES_WEEK
    table = at.dataframe[0].value
    expected = _expected_overview(facts, *PAGES_WEEK)
    assert set(table["channel_id"]) == set(expected)
    for row in table.to_dict("records"):
        e = expected[row["channel_id"]]
        assert {k: row[k] for k in ("channel_name", "messages", "chatters", "donations", "donation_amount")} == {
            k: e[k] for k in ("channel_name", "messages", "chatters", "donations", "donation_amount")}
        assert row["chatter_share"] == pytest.approx(e["chatter_share"])
        assert list(row["trend"]) == e["trend"]
    assert list(table["messages"]) == sorted(table["messages"], reverse=True)
    # coverage per channel: every broadcast of the default week has no capture intervals,
    # so it is the share of its clock minutes with a line
    cov = dict(zip(table["channel_id"], table["coverage"], strict=True))
    for cid in expected:
        by_bc = defaultdict(list)
        for r in user_rows(facts, [cid]):
            by_bc[r["chat_channel_id"]].append(r)
        spans = [minutes_coverage(rows) for rows in by_bc.values()
                 if PAGES_WEEK[0] <= min(r["chat_time"] for r in rows).astimezone(KST).date() <= PAGES_WEEK[1]]
        assert cov[cid] == pytest.approx(sum(c for _, c in spans) / sum(m for m, _ in spans))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("overview_messages")] == f"{sum(e['messages'] for e in expected.values()):,}"
    assert metrics[t("overview_amount")] == f"{sum(e['donation_amount'] for e in expected.values()):,}"
    _deltas_match(at, facts, *PAGES_WEEK)
    days = len({r["day"] for r in facts["rows"]})
    assert any(c.value == t("overview_never_synced").format(days=days, rows=len(facts["rows"])) for c in at.caption)
    assert any(t("coverage_badge") in m.value for m in at.markdown)  # the coverage badge
    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    # the markup channel name is a cell, as typed, and nowhere in markdown
    assert ADV_NAME in set(table["channel_name"])
    no_adversarial_markup(at)


def test_overview_follows_the_date_and_channel_filters(pages_app):
    at, facts = pages_app
    sept = (date(2026, 9, 1), date(2026, 9, 30))
    at.date_input(key="f_dates").set_value(sept).run(timeout=60)
    ok(at)
    table = at.dataframe[0].value
    expected = _expected_overview(facts, *sept)
    assert dict(zip(table["channel_id"], table["messages"], strict=True)) == {
        c: e["messages"] for c, e in expected.items()}
    assert len(table["trend"].iloc[0]) == 30
    one = facts["channel_ids"][0]
    at.multiselect(key="f_channels").set_value([one]).run(timeout=60)
    ok(at)
    table = at.dataframe[0].value
    assert list(table["channel_id"]) == [one]
    assert list(table["messages"]) == [expected[one]["messages"]]
    _deltas_match(at, facts, *sept, [one])


def test_overview_says_so_when_the_period_is_empty(pages_app):
    at, facts = pages_app
    quiet = date(2026, 9, 10)  # no broadcast on that day
    assert not user_rows(facts, start=quiet, end=quiet)
    at.date_input(key="f_dates").set_value((quiet, quiet)).run(timeout=60)
    ok(at)
    assert any(t("no_rows") in i.value for i in at.info)
    assert len(at.dataframe) == 0
