"""The Subscribers page in AppTest over fixture lakes, checked against plain Python over the
rows the fixtures wrote; its pure helpers (dashboard.charts.subscribers)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import date, datetime

import polars as pl
import pytest

from dashboard import charts
from dashboard.i18n import t
from tests import vega_checks as vega
from tests.lakefixture import build_fixture_lake
from tests.lakefixture_rich import KST, is_chatter, is_sub, trunc, user_rows
from tests.page_checks import (
    ANON,
    FIRST,
    LAST,
    SYSTEM,
    frame_of,
    kst_time,
    ok,
    open_page,
    specs_of,
    start_app,
)
from tests.section_tabs import open_fold
from tests.section_tabs import open_section as _tab

SHOWN = charts.tier_labels("ko")  # a table shows a tier by its name in the page's language


def _expected_tiers(rows) -> dict[tuple[str, str], int]:
    best: dict[tuple[str, str], int] = defaultdict(int)
    for r in rows:
        if r["user_id"] in (SYSTEM, ANON):
            continue
        tier = r["subscription_tier"] or (1 if (r["subscription_month"] or 0) > 0 else 0)
        key = (r["channel_id"], r["user_id"])
        best[key] = max(best[key], tier)
    out: Counter = Counter()
    for (cid, _), tier in best.items():
        out[(cid, SHOWN["none" if tier == 0 else f"tier {tier}"])] += 1
    return dict(out)


def _tenure_bucket(m: int) -> str:
    for top, label in ((1, "1"), (3, "2-3"), (6, "4-6"), (12, "7-12"), (24, "13-24")):
        if m <= top:
            return label
    return "25+"


def _expected_tenure(facts, every, channels=None, start=None, end=None) -> dict:
    best: dict[tuple, list[int]] = {}
    for r in user_rows(facts, channels, start, end):
        if is_chatter(r) and is_sub(r):
            key = (r["channel_id"], trunc(r["chat_time"], every), r["user_id"])
            t_, m = max(r["subscription_tier"] or 0, 1), r["subscription_month"] or 0
            old = best.get(key, [0, 0])
            best[key] = [max(old[0], t_), max(old[1], m)]
    out: Counter = Counter()
    for (cid, bucket, _), (t_, m) in best.items():
        out[(cid, bucket, SHOWN[f"tier {t_}"], _tenure_bucket(m))] += 1
    return dict(out)


def _month(d):
    return d.year * 12 + d.month - 1


def _expected_change(facts, start, end) -> dict:
    rows = user_rows(facts, None, start, end)
    subs = {(r["channel_id"], _month(trunc(r["chat_time"], "month")), r["user_id"])
            for r in rows if is_chatter(r) and is_sub(r)}
    span: dict[str, list[int]] = {}
    for r in rows:
        m = _month(trunc(r["chat_time"], "month"))
        lo, hi = span.get(r["channel_id"], [m, m])
        span[r["channel_id"]] = [min(lo, m), max(hi, m)]
    out = {}
    for cid, (lo, hi) in span.items():
        for m in range(lo, hi + 1):
            now = {u for c, mm, u in subs if c == cid and mm == m}
            before = {u for c, mm, u in subs if c == cid and mm == m - 1}
            first = m == lo
            out[(cid, m)] = (len(now), None if first else len(now - before), None if first else len(before - now))
    return out


@pytest.mark.e2e
def test_subscribers_page_matches_plain_python(rich_pages_lake, monkeypatch):
    root, facts = rich_pages_lake
    at = open_page(start_app(root, monkeypatch), "subscribers", FIRST, LAST)
    n_charts, n_tables = len(at.get("vega_lite_chart")), len(at.dataframe)  # the share tab, open by default
    assert (n_charts, n_tables) == (1, 1)
    assert len(at.get("download_button")) == 2 * len(at.dataframe)

    _tab(at, "subs_section", t("tier_split"))
    tiers = frame_of(at, "channel_id", "channel_name", "tier", "chatters")
    got = {(c, t_): n for c, t_, n in zip(tiers["channel_id"], tiers["tier"], tiers["chatters"], strict=True)}
    assert got == _expected_tiers(user_rows(facts))
    n_charts, n_tables = n_charts + len(at.get("vega_lite_chart")), n_tables + len(at.dataframe)
    assert len(at.get("download_button")) == 2 * len(at.dataframe)

    _tab(at, "subs_section", t("subs_mix"))
    assert len(at.dataframe) == 1  # the share tables' expander is drawn closed: only the mix table is sent
    open_fold(at, "subs_shares_open")
    assert at.radio(key="subs_every").value == "week"  # 52 days: weekly buckets by default
    tenure = frame_of(at, "channel_id", "bucket", "tier", "tenure_bucket", "subscribers")
    got = {(c, kst_time(b), t_, tb): n for c, b, t_, tb, n in tenure.itertuples(index=False)}
    assert got == _expected_tenure(facts, "week")

    # the share tables: per channel and bucket the groups add up to every subscriber seen
    for cols in (("channel_id", "bucket", "group", "subscribers", "share"),):
        hits = [d.value for d in at.dataframe if tuple(d.value.columns) == cols]
        assert len(hits) == 2  # by tier and by tenure
        for share in hits:
            sums = share.groupby(["channel_id", "bucket"])["share"].sum()
            assert all(abs(s - 1) < 1e-9 for s in sums)
            assert int(share["subscribers"].sum()) == sum(_expected_tenure(facts, "week").values())
    n_charts, n_tables = n_charts + len(at.get("vega_lite_chart")), n_tables + len(at.dataframe)
    assert len(at.get("download_button")) == 2 * len(at.dataframe)

    _tab(at, "subs_section", t("subs_change"))
    m0, m1 = charts.month_span(FIRST, LAST)
    assert (m0, m1) == (date(2026, 7, 1), date(2026, 10, 31))
    change = frame_of(at, "channel_id", "month", "subscribers", "gained", "lost")
    got = {(c, _month(kst_time(m))): (s, None if g != g else int(g), None if lo != lo else int(lo))
           for c, m, s, g, lo in change.itertuples(index=False)}
    assert got == _expected_change(facts, m0, m1)
    assert any(v[1] for v in got.values()) and any(v[2] for v in got.values())  # gains and losses happen
    # one coverage badge on the tab (the page's); the months' coverage is said in the caption
    assert len([m for m in at.markdown if "-badge[" in m.value and "%" in m.value]) == 1
    assert any(t("subs_change_coverage").split("{pct}")[1] in c.value for c in at.caption)
    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    # charts: share, tier split, tier mix, tenure mix, gain/loss; tables: ratio, tiers, mix (3), change
    n_charts, n_tables = n_charts + len(at.get("vega_lite_chart")), n_tables + len(at.dataframe)
    assert (n_charts, n_tables) == (5, 6)


@pytest.mark.e2e
def test_subscribers_bucket_and_channel_change_the_output(rich_pages_lake, monkeypatch):
    root, facts = rich_pages_lake
    at = open_page(start_app(root, monkeypatch), "subscribers", FIRST, LAST)
    _tab(at, "subs_section", t("subs_mix"))
    at.radio(key="subs_every").set_value("month").run(timeout=60)
    ok(at)
    tenure = frame_of(at, "channel_id", "bucket", "tier", "tenure_bucket", "subscribers")
    got = {(c, kst_time(b), t_, tb): n for c, b, t_, tb, n in tenure.itertuples(index=False)}
    assert got == _expected_tenure(facts, "month")
    assert {kst_time(b).day for b in tenure["bucket"]} == {1}

    cid = facts["channel_ids"][1]
    before = specs_of(at)[0]
    at.selectbox(key="subs_channel").set_value(cid).run(timeout=60)
    ok(at)
    ours = _expected_tenure(facts, "month", [cid])
    bars = vega.rows(specs_of(at)[1])  # the tenure mix of the picked channel
    assert len(bars) == len({(b, tb) for _, b, _, tb in ours})
    assert specs_of(at)[0] != before

    # a narrower range: one day of one channel (the share tab)
    _tab(at, "subs_section", t("share_over_time"))
    day = facts["broadcasts"][6]["start"].date()
    at.multiselect(key="f_channels").set_value([cid]).run(timeout=60)
    at.date_input(key="f_dates").set_value((day, day)).run(timeout=60)
    ok(at)
    ratio = frame_of(at, "channel_id", "channel_name", "bucket", "messages", "subscriber_messages")
    want = [r for r in user_rows(facts, [cid], day, day)]
    assert list(ratio["messages"]) == [len(want)]
    assert list(ratio["subscriber_messages"]) == [sum(1 for r in want if is_sub(r))]


@pytest.mark.e2e
def test_subscribers_page_on_the_small_lake(tmp_path, monkeypatch):
    """The original subscriber test (moved from dashboard/test_apptest.py): the default
    week of the 3-day fixture lake."""
    facts = build_fixture_lake(tmp_path / "lake")
    at = open_page(start_app(tmp_path / "lake", monkeypatch), "subscribers")
    ratio = frame_of(at, "channel_id", "channel_name", "bucket", "messages", "subscriber_messages")
    assert len(ratio) == len(facts["channel_ids"]) * len(facts["days"])
    assert ratio["message_share"].between(0, 1).all()
    _tab(at, "subs_section", t("tier_split"))
    tiers = frame_of(at, "channel_id", "channel_name", "tier", "chatters")
    got = {(c, t_): n for c, t_, n in zip(tiers["channel_id"], tiers["tier"], tiers["chatters"], strict=True)}
    assert got == _expected_tiers(facts["rows"])
    assert set(vega.marks(specs_of(at)[0])) == {"bar"}
    _tab(at, "subs_section", t("subs_mix"))
    assert at.radio(key="subs_every").value == "day"


@pytest.mark.unit
@pytest.mark.parametrize(("start", "end", "want"), [
    (date(2026, 9, 15), date(2026, 9, 20), (date(2026, 8, 1), date(2026, 9, 30))),
    (date(2026, 1, 1), date(2026, 2, 3), (date(2025, 12, 1), date(2026, 2, 28))),
    (date(2024, 3, 31), date(2024, 12, 31), (date(2024, 2, 1), date(2024, 12, 31))),
])
def test_month_span(start, end, want):
    assert charts.month_span(start, end) == want


@pytest.mark.unit
def test_group_shares_count_people_and_add_up_to_one():
    b = datetime(2026, 9, 1, tzinfo=KST)
    tenure = pl.DataFrame({"channel_id": ["c"] * 4, "bucket": [b] * 4,
                           "tier": ["tier 1", "tier 1", "tier 2", "tier 2"],
                           "tenure_bucket": ["25+", "1", "2-3", "1"], "subscribers": [1, 3, 2, 2]})
    by_tier = charts.group_shares(tenure, "tier")
    assert by_tier.select("group", "subscribers", "share").rows() == [("tier 1", 4, 0.5), ("tier 2", 4, 0.5)]
    by_tenure = charts.group_shares(tenure, "tenure_bucket")
    assert by_tenure["group"].to_list() == ["1", "2-3", "25+"]  # tenure order, not text order
    assert by_tenure["subscribers"].to_list() == [5, 2, 1]
    assert charts.group_shares(tenure.clear(), "tier").is_empty()
    with pytest.raises(ValueError, match="tier or tenure_bucket"):
        charts.group_shares(tenure, "month")


@pytest.mark.unit
def test_busiest_keeps_the_channels_with_the_most_and_their_rows_in_order():
    df = pl.DataFrame({"channel_id": ["a", "b", "c", "a", "b", "c", "d"], "n": [1, 5, 2, 1, 0, 2, None]})
    assert charts.busiest(df, "n", 2)["channel_id"].to_list() == ["b", "c", "b", "c"]  # 5, 4 beat 2
    assert charts.busiest(df, "n", 3)["channel_id"].to_list() == ["a", "b", "c", "a", "b", "c"]  # d: null, 0
    tie = pl.DataFrame({"channel_id": ["z", "y", "x"], "n": [3, 3, 3]})
    assert charts.busiest(tie, "n", 2)["channel_id"].to_list() == ["y", "x"]  # ties by channel id, df's order
    assert charts.busiest(tie, "n", 1)["channel_id"].to_list() == ["x"]
    assert charts.busiest(df, "n", 4) is df and charts.busiest(df.clear(), "n", 1).is_empty()
    assert charts.busiest(df, "n")["channel_id"].n_unique() == 4 <= charts.MAX_CHANNELS


@pytest.mark.e2e
def test_share_chart_draws_the_busiest_channels_and_the_table_lists_all(rich_pages_lake, monkeypatch):
    """With more channels than a chart draws (MAX_CHANNELS, lowered to 1 here: the fixture
    has few), the chart has the busiest channel's rows only and says so; the table has all."""
    root, facts = rich_pages_lake
    monkeypatch.setattr("dashboard.charts.style.MAX_CHANNELS", 1)
    at = open_page(start_app(root, monkeypatch), "subscribers", FIRST, LAST)
    ratio = frame_of(at, "channel_id", "channel_name", "bucket", "messages")
    per = ratio.groupby("channel_id")["messages"].sum()
    assert len(per) > 1
    top = sorted(per.items(), key=lambda kv: (-kv[1], kv[0]))[0][0]
    drawn = vega.rows(specs_of(at)[0])
    assert drawn and {r["channel_id"] for r in drawn} == {top}
    assert any(c.value == t("chart_busiest").format(n=1, total=len(per)) for c in at.caption)
