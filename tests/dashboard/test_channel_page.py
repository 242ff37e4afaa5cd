"""The Channel page in AppTest over the pages fixture lake: activity, heatmap, top chatters,
new vs returning, peaks, checked against plain Python; markup names shown as typed."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, timedelta

import pytest

from dashboard.i18n import t
from tests import vega_checks as vega
from tests.lakefixture_pages import ADV_NAME, ADV_NICKS
from tests.lakefixture_rich import KST, is_chatter, user_rows
from tests.page_checks import (
    busiest,
    goto,
    lines_of,
    no_adversarial_markup,
    ok,
    spec_of,
)
from tests.section_tabs import open_fold, open_section

pytestmark = pytest.mark.e2e


def test_channel_page_activity_shows_the_busiest_channel_first(pages_app):
    at, facts = pages_app
    goto(at, "channel")
    cid = busiest(facts)
    assert at.selectbox(key="channel_pick").value == cid
    names = {r["channel_name"] for r in vega.rows(spec_of(at, 0))}
    assert names == {facts["channel_names"][cid]}
    summary = at.dataframe[0].value
    assert list(summary["channel_id"]) == [cid]
    assert list(summary["messages"]) == [len(lines_of(facts, cid))]
    assert len(at.get("download_button")) == 2 * len(at.dataframe)  # CSV + Parquet per table
    assert any(t("coverage_badge") in m.value for m in at.markdown)


def test_channel_page_picker_and_dates_narrow_everything(pages_app):
    at, facts = pages_app
    goto(at, "channel")
    cid = facts["channel_ids"][1]
    day = date(2026, 9, 5)
    at.date_input(key="f_dates").set_value((day, day)).run(timeout=60)
    at.selectbox(key="channel_pick").set_value(cid).run(timeout=60)
    ok(at)
    assert list(at.dataframe[0].value["messages"]) == [len(lines_of(facts, cid, day, day))]
    assert {r["channel_name"] for r in vega.rows(spec_of(at, 0))} == {facts["channel_names"][cid]}


def test_channel_page_granularity_day_gives_one_bucket_per_day_with_chat(pages_app):
    at, facts = pages_app
    goto(at, "channel")
    sept = (date(2026, 9, 1), date(2026, 9, 30))
    at.date_input(key="f_dates").set_value(sept).run(timeout=60)
    cid = at.selectbox(key="channel_pick").value
    at.radio(key="every").set_value("day").run(timeout=60)
    ok(at)
    assert len(at.dataframe) == 1  # the raw buckets' expander is drawn closed: its table is not sent
    buckets = open_fold(at, "buckets_open").dataframe[1].value  # the raw buckets, in the expander
    per_day = Counter(r["day"] for r in lines_of(facts, cid, *sept))
    assert len(buckets) == len(per_day)
    assert int(buckets["messages"].sum()) == sum(per_day.values())


def test_channel_page_heatmap_top_chatters_new_returning_and_peaks(pages_app):
    at, facts = pages_app
    goto(at, "channel")
    period = (date(2026, 8, 20), date(2026, 10, 10))  # the whole lake
    cid = facts["channel_ids"][0]
    at.date_input(key="f_dates").set_value(period).run(timeout=60)
    at.selectbox(key="channel_pick").set_value(cid).run(timeout=60)
    ok(at)
    rows = lines_of(facts, cid, *period)
    # heatmap: weekday × hour in Asia/Seoul
    heat = open_fold(open_section(at, "channel_section", t("channel_heatmap")), "heatmap_open").dataframe[0].value
    cells = Counter((r["chat_time"].astimezone(KST).weekday(), r["chat_time"].astimezone(KST).hour) for r in rows)
    assert {(w, h): n for w, h, n in zip(heat["weekday"], heat["hour"], heat["messages"], strict=True)} == cells
    z = [r["value"] for r in vega.rows(spec_of(at, 0))]
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


def test_channel_page_markup_channel_and_nicknames_show_as_typed(pages_app):
    at, facts = pages_app
    goto(at, "channel")
    at.selectbox(key="channel_pick").set_value(facts["adv_channel"]).run(timeout=60)
    ok(at)
    assert at.dataframe[0].value["channel_name"].iloc[0] == ADV_NAME
    assert {r["channel_name"] for r in vega.rows(spec_of(at, 0))} == {ADV_NAME}  # Vega draws text as text
    no_adversarial_markup(at)
    for label in [tab.label for tab in at.tabs][1:]:  # every other section, in turn
        open_section(at, "channel_section", label)
        no_adversarial_markup(at)
        if label == t("channel_top_chatters"):
            assert set(at.dataframe[0].value["nickname"]) == set(ADV_NICKS)


def test_channel_picker_orders_channels_as_channel_summary_does(pages_lake):
    """The picker's order comes from activity per day (busiest_first), the Overview's
    question, and must be channel_summary's: most messages in the period first, ties by id."""
    import polars as pl

    import warehouse
    from dashboard import summaries
    root, _ = pages_lake
    wh = warehouse.Warehouse(str(root))
    try:
        for start, end in ((None, None), (date(2026, 10, 4), date(2026, 10, 6))):
            want = warehouse.channel_summary(wh, start=start, end=end)["channel_id"].to_list()
            assert len(want) > (1 if start is None else 0)
            assert summaries.busiest_first(warehouse.activity(wh, start=start, end=end, every="day")) == want
    finally:
        wh.close()
    tie = pl.DataFrame({"channel_id": ["b", "a", "c", "b"], "messages": [2, 3, 1, 1]})
    assert summaries.busiest_first(tie) == ["a", "b", "c"] and summaries.busiest_first(tie.clear()) == []
