"""The Overview, Channel and Broadcasts pages run headless with streamlit's AppTest over the
pages fixture lake (tests/lakefixture_pages.py: the rich lake plus a channel, nicknames
and titles made of markup, and a title/category timeline), checked against numbers
computed in plain Python from the fixture's rows."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from dashboard import data
from dashboard.i18n import t
from tests import vega_checks as vega
from tests.lakefixture_pages import ADV_NAME, ADV_NICKS, ADV_TITLES, POLLS_0, build_pages_lake
from tests.lakefixture_rich import KST, is_chatter, is_sub, user_rows
from tests.lang_checks import (
    assert_headers_follow,
    assert_time_labels_numeric,
    chart_titles,
    time_label_formats,
)
from tests.section_tabs import open_section

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py")
pytestmark = pytest.mark.e2e
DEFAULT = (date(2026, 10, 4), date(2026, 10, 10))  # the last 7 days of the lake


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("pages_a")
    return root, build_pages_lake(root)


@pytest.fixture
def app(lake, monkeypatch):
    root, facts = lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    at = AppTest.from_file(APP, default_timeout=60)
    at.run(timeout=60)
    _ok(at)
    yield at, facts
    data.clear_caches()


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _page(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"app_pages/{name}.py").run(timeout=60)
    _ok(at)
    return at


def _spec(at: AppTest, i: int = 0) -> dict:
    return vega.specs(at)[i]


def _no_markup_rendered(at: AppTest) -> None:
    """Untrusted text never reaches a markdown element (titles, captions, badges...)."""
    for el in list(at.markdown) + list(at.caption) + list(at.title) + list(at.subheader) + list(at.info):
        for text in (ADV_NAME, *ADV_NICKS, *ADV_TITLES, "**굵게**"):
            assert text not in el.value, (text, el.value)


def _minutes_coverage(rows: list[dict]) -> tuple[float, float]:
    """coverage()'s "chat" source in plain Python: (span in clock minutes, minutes with a line)."""
    minutes = {r["chat_time"].replace(second=0, microsecond=0) for r in rows}
    return (max(minutes) - min(minutes)) // timedelta(minutes=1) + 1, len(minutes)


# ---- overview -----------------------------------------------------------------------------

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


def test_overview_is_the_default_page_and_its_numbers_match_the_lake(app):
    at, facts = app
    assert at.title[0].value == t("page_overview")
    assert at.date_input(key="f_dates").value == DEFAULT
    table = at.dataframe[0].value
    expected = _expected_overview(facts, *DEFAULT)
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
        spans = [_minutes_coverage(rows) for rows in by_bc.values()
                 if DEFAULT[0] <= min(r["chat_time"] for r in rows).astimezone(KST).date() <= DEFAULT[1]]
        assert cov[cid] == pytest.approx(sum(c for _, c in spans) / sum(m for m, _ in spans))
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("overview_messages")] == f"{sum(e['messages'] for e in expected.values()):,}"
    assert metrics[t("overview_amount")] == f"{sum(e['donation_amount'] for e in expected.values()):,}"
    days = len({r["day"] for r in facts["rows"]})
    assert any(c.value == t("overview_never_synced").format(days=days, rows=len(facts["rows"])) for c in at.caption)
    assert any(t("coverage_badge") in m.value for m in at.markdown)  # the coverage badge
    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    # the markup channel name is a cell, as typed, and nowhere in markdown
    assert ADV_NAME in set(table["channel_name"])
    _no_markup_rendered(at)


def test_overview_follows_the_date_and_channel_filters(app):
    at, facts = app
    sept = (date(2026, 9, 1), date(2026, 9, 30))
    at.date_input(key="f_dates").set_value(sept).run(timeout=60)
    _ok(at)
    table = at.dataframe[0].value
    expected = _expected_overview(facts, *sept)
    assert dict(zip(table["channel_id"], table["messages"], strict=True)) == {
        c: e["messages"] for c, e in expected.items()}
    assert len(table["trend"].iloc[0]) == 30
    one = facts["channel_ids"][0]
    at.multiselect(key="f_channels").set_value([one]).run(timeout=60)
    _ok(at)
    table = at.dataframe[0].value
    assert list(table["channel_id"]) == [one]
    assert list(table["messages"]) == [expected[one]["messages"]]


def test_overview_says_so_when_the_period_is_empty(app):
    at, facts = app
    quiet = date(2026, 9, 10)  # no broadcast on that day
    assert not user_rows(facts, start=quiet, end=quiet)
    at.date_input(key="f_dates").set_value((quiet, quiet)).run(timeout=60)
    _ok(at)
    assert any(t("no_rows") in i.value for i in at.info)
    assert len(at.dataframe) == 0


# ---- channel ------------------------------------------------------------------------------

def _lines(facts, cid, start=DEFAULT[0], end=DEFAULT[1]):
    return user_rows(facts, [cid], start, end)


def _busiest(facts, start=DEFAULT[0], end=DEFAULT[1]):
    counts = Counter(r["channel_id"] for r in user_rows(facts, start=start, end=end))
    return sorted(counts, key=lambda c: (-counts[c], c))[0]


def test_channel_page_activity_shows_the_busiest_channel_first(app):
    at, facts = app
    _page(at, "channel")
    cid = _busiest(facts)
    assert at.selectbox(key="channel_pick").value == cid
    names = {r["channel_name"] for r in vega.rows(_spec(at, 0))}
    assert names == {facts["channel_names"][cid]}
    summary = at.dataframe[0].value
    assert list(summary["channel_id"]) == [cid]
    assert list(summary["messages"]) == [len(_lines(facts, cid))]
    assert len(at.get("download_button")) == 2 * len(at.dataframe)  # CSV + Parquet per table
    assert any(t("coverage_badge") in m.value for m in at.markdown)


def test_channel_page_picker_and_dates_narrow_everything(app):
    at, facts = app
    _page(at, "channel")
    cid = facts["channel_ids"][1]
    day = date(2026, 9, 5)
    at.date_input(key="f_dates").set_value((day, day)).run(timeout=60)
    at.selectbox(key="channel_pick").set_value(cid).run(timeout=60)
    _ok(at)
    assert list(at.dataframe[0].value["messages"]) == [len(_lines(facts, cid, day, day))]
    assert {r["channel_name"] for r in vega.rows(_spec(at, 0))} == {facts["channel_names"][cid]}


def test_channel_page_granularity_day_gives_one_bucket_per_day_with_chat(app):
    at, facts = app
    _page(at, "channel")
    sept = (date(2026, 9, 1), date(2026, 9, 30))
    at.date_input(key="f_dates").set_value(sept).run(timeout=60)
    cid = at.selectbox(key="channel_pick").value
    at.radio(key="every").set_value("day").run(timeout=60)
    _ok(at)
    buckets = at.dataframe[1].value  # the raw buckets, in the expander
    per_day = Counter(r["day"] for r in _lines(facts, cid, *sept))
    assert len(buckets) == len(per_day)
    assert int(buckets["messages"].sum()) == sum(per_day.values())


def test_channel_page_heatmap_top_chatters_new_returning_and_peaks(app):
    at, facts = app
    _page(at, "channel")
    period = (date(2026, 8, 20), date(2026, 10, 10))  # the whole lake
    cid = facts["channel_ids"][0]
    at.date_input(key="f_dates").set_value(period).run(timeout=60)
    at.selectbox(key="channel_pick").set_value(cid).run(timeout=60)
    _ok(at)
    rows = _lines(facts, cid, *period)
    # heatmap: weekday × hour in Asia/Seoul
    heat = open_section(at, "channel_section", t("channel_heatmap")).dataframe[0].value
    cells = Counter((r["chat_time"].astimezone(KST).weekday(), r["chat_time"].astimezone(KST).hour) for r in rows)
    assert {(w, h): n for w, h, n in zip(heat["weekday"], heat["hour"], heat["messages"], strict=True)} == cells
    z = [r["value"] for r in vega.rows(_spec(at, 0))]
    assert len(z) == 7 * 24 and sum(z) == len(rows)
    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    # top chatters and the top-10 share
    top = open_section(at, "channel_section", t("channel_top_chatters")).dataframe[0].value
    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    counts = Counter(r["user_id"] for r in rows if is_chatter(r))
    ranked = sorted(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    assert list(zip(top["user_id"], top["messages"], strict=True)) == ranked[:20]
    share = sum(n for _, n in ranked[:10]) / len(rows)
    assert {m.label: m.value for m in at.metric}[t("channel_top10_share")] == f"{share * 100:.1f}%"
    # new vs returning per day: new = the day of the chatter's first line in the channel
    nvr = open_section(at, "channel_section", t("channel_new_returning")).dataframe[0].value
    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    first = {}
    for r in sorted((r for r in user_rows(facts, [cid]) if is_chatter(r)), key=lambda r: r["chat_time"]):
        first.setdefault(r["user_id"], r["day"])
    per_day = defaultdict(set)
    for r in rows:
        if is_chatter(r):
            per_day[r["day"]].add(r["user_id"])
    expected = {d: (sum(first[u] == d for u in us), sum(first[u] < d for u in us)) for d, us in per_day.items()}
    got = {b.date(): (n, m) for b, n, m in zip(nvr["bucket"], nvr["new_chatters"], nvr["returning_chatters"],
                                                strict=True)}
    assert got == expected
    # peaks by volume, one-minute windows, with their offsets from the broadcast start
    peaks = open_section(at, "channel_section", t("channel_peaks")).dataframe[0].value
    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    per_minute = Counter((r["chat_channel_id"], r["chat_time"].replace(second=0, microsecond=0)) for r in rows)
    assert list(peaks["messages"]) == sorted(per_minute.values(), reverse=True)[:10]
    starts = {}
    for r in user_rows(facts, [cid]):
        m = r["chat_time"].replace(second=0, microsecond=0)
        starts[r["chat_channel_id"]] = min(starts.get(r["chat_channel_id"], m), m)
    for bc, minute, offset, text in zip(peaks["broadcast"], peaks["minute"], peaks["offset_from_start"],
                                        peaks["offset"], strict=True):
        assert offset == (minute.to_pydatetime() - starts[bc]) // timedelta(minutes=1)
        assert text == f"{offset // 60}:{offset % 60:02d}"


def test_channel_page_markup_channel_and_nicknames_show_as_typed(app):
    at, facts = app
    _page(at, "channel")
    at.selectbox(key="channel_pick").set_value(facts["adv_channel"]).run(timeout=60)
    _ok(at)
    assert at.dataframe[0].value["channel_name"].iloc[0] == ADV_NAME
    assert {r["channel_name"] for r in vega.rows(_spec(at, 0))} == {ADV_NAME}  # Vega draws text as text
    _no_markup_rendered(at)
    for label in [tab.label for tab in at.tabs][1:]:  # every other section, in turn
        open_section(at, "channel_section", label)
        _no_markup_rendered(at)
        if label == t("channel_top_chatters"):
            assert set(at.dataframe[0].value["nickname"]) == set(ADV_NICKS)


# ---- broadcasts ---------------------------------------------------------------------------

def _pick(at: AppTest, cid: str, bc: str) -> AppTest:
    at.selectbox(key="broadcast_pick").set_value(f"{cid}:{bc}").run(timeout=60)
    _ok(at)
    return at


def test_broadcasts_page_lists_the_periods_broadcasts_newest_first(app):
    at, facts = app
    _page(at, "broadcasts")
    options = at.selectbox(key="broadcast_pick").options
    expected = sorted((b for b in facts["broadcasts"] if DEFAULT[0] <= b["start"].date() <= DEFAULT[1]),
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
    spans = [_minutes_coverage(rows) for rows in by_bc.values()
             if DEFAULT[0] <= min(r["chat_time"] for r in rows).astimezone(KST).date() <= DEFAULT[1]]
    assert len(spans) == len(options)
    share = sum(c for _, c in spans) / sum(m for m, _ in spans)
    assert any(m.value.startswith(":") and f"{t('coverage_badge')}" in m.value and f"{share * 100:.1f}%" in m.value
               for m in at.markdown), [m.value for m in at.markdown]


def test_broadcast_report_numbers_and_title_timeline(app):
    at, facts = app
    _page(at, "broadcasts")
    b = facts["broadcasts"][0]
    at.date_input(key="f_dates").set_value((b["start"].date(), b["start"].date())).run(timeout=60)
    _ok(_pick(at, b["channel_id"], b["broadcast"]))
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
    chart = _spec(at, 0)
    assert vega.marks(chart)[:2] == ["bar", "line"]
    bars, polls = vega.view_rows(chart)[:2]
    assert sum(r["messages"] for r in bars) == len(rows)
    assert [p[3] for p in POLLS_0] == [r["viewers"] for r in polls]  # viewers
    assert any("capture_interval" in m.value and "%" in m.value for m in at.markdown)  # this broadcast's badge
    top = at.dataframe[4].value
    counts = Counter(r["user_id"] for r in rows if is_chatter(r))
    assert list(zip(top["user_id"], top["messages"], strict=True)) == sorted(
        counts.items(), key=lambda kv: (-kv[1], kv[0]))[:20]
    donors = at.dataframe[5].value
    assert int(donors["amount"].sum()) == sum(r["pay_amount"] or 0 for r in donations)


def test_broadcast_window_changes_the_timeline(app):
    at, facts = app
    _page(at, "broadcasts")
    one = len(vega.view_rows(_spec(at, 0))[0])
    at.selectbox(key="broadcast_window").set_value(10).run(timeout=60)
    _ok(at)
    ten = [r["messages"] for r in vega.view_rows(_spec(at, 0))[0]]
    assert len(ten) < one
    picked = at.selectbox(key="broadcast_pick").value.split(":")[1]
    assert sum(ten) == sum(1 for r in user_rows(facts) if r["chat_channel_id"] == picked)


def test_broadcast_markup_title_nicknames_show_as_typed(app):
    at, facts = app
    _page(at, "broadcasts")
    _pick(at, facts["adv_channel"], facts["adv_broadcast"])
    assert f"{t('broadcasts_title')}: {ADV_TITLES[1]}" in at.text[0].value
    changes = at.dataframe[1].value
    assert list(changes["live_title"])[1:3] == list(ADV_TITLES)
    assert set(at.dataframe[4].value["nickname"]) == set(ADV_NICKS)
    assert at.dataframe[5].value["donor"].iloc[0] == ADV_NICKS[0]
    chart = _spec(at, 0)
    hover = [r["change"] for rule, rows in zip(vega.marks(chart), vega.view_rows(chart), strict=True)
             if rule == "rule" for r in rows]
    assert hover and all("&lt;" not in h for h in hover)  # as typed: Vega's tooltips escape it themselves
    assert any("<script>alert(2)</script>" in h for h in hover)
    _no_markup_rendered(at)


def test_broadcasts_page_without_broadcasts_says_so(app):
    at, _ = app
    _page(at, "broadcasts")
    quiet = date(2026, 9, 10)
    at.date_input(key="f_dates").set_value((quiet, quiet)).run(timeout=60)
    _ok(at)
    assert any(t("broadcasts_none") in i.value for i in at.info)
    assert len(at.dataframe) == 0


# ---- the page's own picker in the URL -----------------------------------------------------

@pytest.mark.parametrize(("page", "param", "key"), [("channel", "channel", "channel_pick"),
                                                    ("broadcasts", "broadcast", "broadcast_pick")])
def test_the_pick_is_in_the_url_and_a_url_opens_it(lake, monkeypatch, page, param, key):
    root, facts = lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    # neither is what the page picks by default (the busiest channel, the newest broadcast)
    wanted = facts["adv_channel"] if page == "channel" else f"{facts['adv_channel']}:{facts['adv_broadcast']}"
    assert _busiest(facts) != facts["adv_channel"]
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(f"app_pages/{page}.py")
    at.query_params[param] = wanted
    at.run(timeout=60)
    _ok(at)
    assert at.selectbox(key=key).value == wanted
    b = facts["broadcasts"][10]  # channel 2's, on 2026-10-04
    other = facts["channel_ids"][2] if page == "channel" else f"{b['channel_id']}:{b['broadcast']}"
    at.selectbox(key=key).set_value(other).run(timeout=60)
    _ok(at)
    assert at.selectbox(key=key).value == other
    assert at.query_params[param] in (other, [other])
    data.clear_caches()


@pytest.mark.parametrize("bad", ["<script>alert(1)</script>", "f" * 32, ""])
def test_a_url_pick_outside_the_options_is_ignored(lake, monkeypatch, bad):
    root, facts = lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page("app_pages/channel.py")
    at.query_params["channel"] = bad
    at.run(timeout=60)
    _ok(at)
    assert at.selectbox(key="channel_pick").value == _busiest(facts)
    data.clear_caches()


@pytest.mark.parametrize("page", ["overview", "channel", "broadcasts"])
def test_pages_switch_to_english(app, page):
    at, _ = app
    at.session_state["lang"] = "en"
    _page(at, page)
    assert at.title[0].value == t(f"page_{page}", "en")
    headers = [s.value for s in at.subheader] + [tab.label for tab in at.tabs]
    assert headers and all(not any("\uac00" <= ch <= "\ud7a3" for ch in h) for h in headers)  # no Hangul left


@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize(("page", "chart"), [("overview", None), ("channel", "chart_activity"),
                                             ("broadcasts", "broadcasts_timeline")])
def test_table_headers_and_chart_titles_follow_the_language(lake, monkeypatch, page, chart, lang):
    """Opened from a URL: Korean without a `lang` parameter, English with lang=en."""
    root, _ = lake
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    at = AppTest.from_file(APP, default_timeout=60)
    at.switch_page(f"app_pages/{page}.py")
    if lang != "ko":
        at.query_params["lang"] = lang
    at.run(timeout=60)
    _ok(at)
    assert_headers_follow(at, lang, shared=page != "overview")  # the Overview words its own headers
    if chart:
        assert chart_titles(at)[0] == t(chart, lang)
        assert time_label_formats(at)  # both charts have time axes
        assert_time_labels_numeric(at)
    data.clear_caches()
