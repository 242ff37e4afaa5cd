"""The Broadcasts page in AppTest over the pages fixture lake: the period's list and one
broadcast's report (numbers, title timeline, window), markup titles shown as typed."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.i18n import t
from tests import vega_checks as vega
from tests.lakefixture import write_rows
from tests.lakefixture_pages import ADV_NAME, ADV_NICKS, ADV_TITLES, POLLS_0
from tests.lakefixture_rich import KST, is_chatter, user_rows
from tests.page_checks import (
    PAGES_WEEK,
    goto,
    kst_time,
    minutes_coverage,
    no_adversarial_markup,
    ok,
    spec_of,
    start_app,
)
from tests.section_tabs import open_fold, open_section
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT_SCHEMA

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
    # named by start and title, not by chat channel id
    assert options[0].startswith(f"{expected[0]['start'].astimezone(KST):%Y-%m-%d %H:%M} · ")
    assert not any(b["broadcast"] in o for b in expected for o in options)
    assert any(ADV_NAME in o for o in options) and not any(facts["adv_broadcast"] in o for o in options)
    listing = at.dataframe[0].value  # the same broadcasts as a table, with its downloads
    assert [f"{kst_time(s):%Y-%m-%d %H:%M}" for s in listing["started"]] == [o.split(" · ", 1)[0] for o in options]
    assert ADV_TITLES[1] in set(listing["title"])  # as typed
    assert {b.key for b in at.get("download_button")} >= {"broadcast_list_csv", "broadcast_list_parquet"}
    # the period's coverage beside the list (not a second badge): every broadcast of the
    # default week is a "chat" source one
    by_bc = defaultdict(list)
    for r in user_rows(facts):
        by_bc[r["chat_channel_id"]].append(r)
    spans = [minutes_coverage(rows) for rows in by_bc.values()
             if PAGES_WEEK[0] <= min(r["chat_time"] for r in rows).astimezone(KST).date() <= PAGES_WEEK[1]]
    assert len(spans) == len(options)
    share = sum(c for _, c in spans) / sum(m for m, _ in spans)
    assert f"{t('broadcasts_list_coverage')} {share * 100:.1f}%" in at.expander[0].label
    assert not any(f"{share * 100:.1f}%" in m.value for m in at.markdown)  # the one badge is the broadcast's


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
    assert list(changes["event"]) == [t(f"val_event_{e}") for e in ("open", "poll", "poll", "poll", "close")]  # the unchanged poll left out
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


def _today_rows(cid: str, name: str, bc: str, start: datetime, minutes: int, first_id: int) -> list[dict]:
    """One line a minute of broadcast `bc` from `start` (two chatters)."""
    rows = []
    for k in range(minutes):
        when = start + timedelta(minutes=k)
        row = {f.name: None for f in CHAT_SCHEMA}
        row.update(id=first_id + k, channel_id=cid, channel_name=name, chat_channel_id=bc, user_id=f"u{k % 2}",
                   nickname=f"닉{k % 2}", message="ㅋㅋ", message_type="chat", msg_type_code=1,
                   message_status="NORMAL", chat_time=when, created_at=when, os_type="PC",
                   user_role="common_user", raw="{}", dedupe_key=f"{bc}{k}", day=when.astimezone(KST).date())
        rows.append(row)
    return rows


@pytest.fixture(scope="module")
def live_lake(tmp_path_factory):
    """Today: channel A's broadcast ended an hour ago, channel B's started later and is still
    live (its last line a minute ago)."""
    root = tmp_path_factory.mktemp("live")
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    ids, names = ["a" * 32, "b" * 32], ["끝난채널", "방송중채널"]
    rows = (_today_rows(ids[0], names[0], "FINISHED1", now - timedelta(minutes=150), 90, 1)
            + _today_rows(ids[1], names[1], "LIVE00001", now - timedelta(minutes=40), 40, 1000))
    write_rows(Lake(str(root)), rows, ids, names, [1, 2])
    return root, ids


def test_broadcasts_page_opens_on_the_newest_finished_broadcast_and_marks_the_live_one(live_lake, monkeypatch):
    root, ids = live_lake
    at = start_app(root, monkeypatch)
    at.run(timeout=60)
    at = goto(at, "broadcasts")
    box = at.selectbox(key="broadcast_pick")
    assert box.options[0].startswith(t("broadcasts_live")) and "LIVE00001" not in box.options[0]  # newest
    assert not box.options[1].startswith(t("broadcasts_live"))
    assert box.value == f"{ids[0]}:FINISHED1"  # not the live one with 40 minutes so far
    assert t("broadcasts_live") not in at.text[0].value
    badges = [m.value for m in at.markdown if "-badge[" in m.value]  # st.badge is markdown
    assert len([b for b in badges if "%" in b]) == 1, badges  # one coverage figure
    box.set_value(f"{ids[1]}:LIVE00001").run(timeout=60)
    ok(at)
    assert t("broadcasts_live") in at.text[0].value  # started – live
    assert any("red-badge[" in m.value and t("broadcasts_live") in m.value for m in at.markdown)
    assert any(t("broadcasts_live_note") in c.value for c in at.caption)
