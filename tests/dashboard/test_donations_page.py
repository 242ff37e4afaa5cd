"""The Donations page in AppTest over the rich fixture lake, checked against plain Python
over its rows; its pure helpers (dashboard.charts.donations)."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime

import polars as pl
import pytest

from dashboard import charts
from dashboard.i18n import t
from tests import vega_checks as vega
from tests.lakefixture_rich import trunc, user_rows
from tests.page_checks import (
    ANON,
    FIRST,
    LAST,
    frame_of,
    kst_time,
    ok,
    open_page,
    specs_of,
    start_app,
)
from tests.section_tabs import open_fold
from tests.section_tabs import open_section as _tab


def _donations(facts, channels=None, start=None, end=None):
    return [r for r in user_rows(facts, channels, start, end) if r["message_type"] == "donation"]


def _anon(r) -> bool:
    return bool(r["is_anonymous"]) or r["user_id"] == ANON


def _expected_ranking(facts, start, end, limit=20) -> list[tuple]:
    groups: dict[tuple, list[dict]] = defaultdict(list)
    for r in _donations(facts, None, start, end):
        groups[(r["channel_id"], _anon(r), None if _anon(r) else r["user_id"])].append(r)
    per_channel: dict[str, list] = defaultdict(list)
    for (cid, anon, uid), rs in groups.items():
        latest = max(rs, key=lambda r: r["chat_time"])["nickname"]
        donor = "익명" if anon else (latest or uid)
        per_channel[cid].append((sum(r["pay_amount"] or 0 for r in rs), len(rs), anon, uid or "", donor, uid))
    out = []
    for cid, items in per_channel.items():
        items.sort(key=lambda x: (-x[0], -x[1], x[2], x[3]))
        out += [(cid, donor, uid, n, amount, i + 1)
                for i, (amount, n, _, _, donor, uid) in enumerate(items[:limit])]
    return sorted(out, key=lambda x: (x[0], x[5]))


@pytest.mark.e2e
def test_donations_page_matches_plain_python(rich_pages_lake, monkeypatch):
    root, facts = rich_pages_lake
    start, end = date(2026, 8, 28), date(2026, 9, 30)
    at = open_page(start_app(root, monkeypatch), "donations", start, end)
    rows = _donations(facts, None, start, end)

    totals = frame_of(at, "channel_id", "channel_name", "donations", "amount", "anonymous")
    want = defaultdict(lambda: [0, 0, 0])
    for r in rows:
        w = want[r["channel_id"]]
        w[0], w[1], w[2] = w[0] + 1, w[1] + (r["pay_amount"] or 0), w[2] + _anon(r)
    got = {c: [n, a, an] for c, _, n, a, an in totals.iloc[:, :5].itertuples(index=False)}
    assert got == {c: list(v) for c, v in want.items()}
    assert dict(zip(totals["channel_id"], totals["channel_name"], strict=True)) == {
        c: facts["channel_names"][c] for c in want}
    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("don_count")] == f"{len(rows):,}"
    assert metrics[t("don_amount")] == f"{sum(r['pay_amount'] or 0 for r in rows):,}"
    assert metrics[t("don_anon_share")] == f"{sum(map(_anon, rows)) / len(rows):.1%}"

    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    _tab(at, "don_section", t("don_ranking"))
    ranking = frame_of(at, "channel_id", "channel_name", "donor", "user_id", "donations", "amount", "rank")
    got = [(c, d, None if u is None or u != u else u, n, a, k)
           for c, _, d, u, n, a, k in ranking.itertuples(index=False)]
    assert got == _expected_ranking(facts, start, end)
    assert any(d == "익명" and u is None for _, d, u, *_ in got)  # anonymous donors as one, without an id
    # the chart draws the named donors; the anonymous donations are one line apart
    box = at.selectbox(key="don_channel") if any(s.key == "don_channel" for s in at.selectbox) else None
    shown = box.value if box is not None else next(c for c, *_ in got)
    bars = vega.rows(specs_of(at)[-1])
    named = [(f"{k}. {d}", a) for c, d, u, _, a, k in got if c == shown and u is not None]
    assert named and [(b["donor"], b["amount"]) for b in bars] == named  # no "익명" bar
    chart = specs_of(at)[-1]  # every donor labelled (no label dropped as overlapping), ~30 px a donor
    assert chart["encoding"]["y"]["axis"]["labelOverlap"] is False and chart["height"] >= 30 * len(bars)
    anon = [r for r in rows if r["channel_id"] == shown and _anon(r)]
    assert anon and any(c.value == t("don_anonymous_line").format(
        n=f"{len(anon):,}", amount=f"{sum(r['pay_amount'] or 0 for r in anon):,}") for c in at.caption)

    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    _tab(at, "don_section", t("don_distribution"))
    dist = frame_of(at, "amount_bucket", "donations", "amount")
    assert int(dist["donations"].sum()) == len(rows)
    assert int(dist["amount"].sum()) == sum(r["pay_amount"] or 0 for r in rows)
    assert dict(zip(dist["amount_bucket"], dist["donations"], strict=True))["100,000+"] == sum(
        1 for r in rows if (r["pay_amount"] or 0) >= 100_000)

    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    _tab(at, "don_section", t("don_broadcast"))
    slots = frame_of(at, "channel_id", "channel_name", "broadcast", "offset_minutes", "donations", "amount")
    per_broadcast = Counter(r["chat_channel_id"] for r in rows)
    assert dict(slots.groupby("broadcast")["donations"].sum()) == dict(per_broadcast)
    assert len(at.get("download_button")) == 2 * len(at.dataframe)


@pytest.mark.e2e
def test_donations_filters_change_the_output(rich_pages_lake, monkeypatch):
    root, facts = rich_pages_lake
    at = open_page(start_app(root, monkeypatch), "donations", FIRST, LAST)
    at.radio(key="don_every").set_value("month").run(timeout=60)
    ok(at)
    open_fold(at, "don_buckets_open")  # the buckets' expander, drawn closed
    buckets = frame_of(at, "channel_id", "channel_name", "bucket", "donations", "amount")
    want = Counter((r["channel_id"], trunc(r["chat_time"], "month")) for r in _donations(facts))
    assert {(c, kst_time(b)): n for c, _, b, n, *_ in buckets.itertuples(index=False)} == dict(want)

    _tab(at, "don_section", t("don_ranking"))
    at.number_input(key="don_limit").set_value(2).run(timeout=60)
    ok(at)
    ranking = frame_of(at, "channel_id", "channel_name", "donor", "user_id", "donations", "amount", "rank")
    assert Counter(ranking["channel_id"]) == {c: 2 for c in facts["channel_ids"]}
    assert [tuple(x) for x in ranking[["channel_id", "donor", "amount", "rank"]].itertuples(index=False)] == [
        (c, d, a, k) for c, d, _, _, a, k in _expected_ranking(facts, None, None, limit=2)]

    # the broadcast picker: each choice draws that broadcast's slots
    _tab(at, "don_section", t("don_broadcast"))
    pick = at.selectbox(key="don_broadcast_pick")
    assert len(pick.options) == len(facts["broadcasts"])
    newest = max(facts["broadcasts"], key=lambda b: b["start"])  # 2026-10-10 19:00: picked first
    assert pick.value == f"{newest['channel_id']}:{newest['broadcast']}"
    assert pick.options[0].startswith(facts["channel_names"][newest["channel_id"]] + " · 2026-10-10 19:00")
    other = min(facts["broadcasts"], key=lambda b: b["start"])
    pick.set_value(f"{other['channel_id']}:{other['broadcast']}").run(timeout=60)
    ok(at)
    bars = vega.rows(specs_of(at)[-1])
    mine = [r for r in _donations(facts) if r["chat_channel_id"] == other["broadcast"]]
    assert sum(b["amount"] for b in bars) == sum(r["pay_amount"] or 0 for r in mine)

    at.radio(key="don_slot").set_value(60).run(timeout=60)
    ok(at)
    offsets = [b["offset_minutes"] for b in vega.rows(specs_of(at)[-1])]
    assert max(offsets) < other["minutes"]
    assert all(x % 60 == 0 for x in offsets)

    cid = facts["channel_ids"][2]
    at.multiselect(key="f_channels").set_value([cid]).run(timeout=60)
    ok(at)
    totals = frame_of(at, "channel_id", "channel_name", "donations", "amount", "anonymous")
    assert list(totals["channel_id"]) == [cid]
    assert list(totals["donations"]) == [len(_donations(facts, [cid]))]


@pytest.mark.e2e
def test_donations_page_without_donations_says_so(rich_pages_lake, monkeypatch):
    root, facts = rich_pages_lake
    quiet = date(2026, 9, 1)  # a day without a broadcast
    assert not _donations(facts, None, quiet, quiet)
    at = open_page(start_app(root, monkeypatch), "donations", quiet, quiet)
    assert any(t("don_none") in i.value for i in at.info)
    assert len(at.dataframe) == 0


@pytest.mark.unit
def test_donation_totals_and_names():
    df = pl.DataFrame({"channel_id": ["a", "a", "b"], "bucket": [1, 2, 1], "donations": [2, 2, 1],
                       "amount": [100, 300, 50], "anonymous_share": [0.5, 0.0, 1.0]})
    totals = charts.donation_totals(df)
    assert totals.rows() == [("a", 4, 400, 1, 0.25, 100.0), ("b", 1, 50, 1, 1.0, 50.0)]
    assert charts.overall(totals) == {"donations": 5, "amount": 450, "anonymous_share": 0.4}
    assert charts.overall(totals.clear())["anonymous_share"] is None
    named = charts.with_names(totals, {"a": "<b>채널</b>"})
    assert named.columns[:2] == ["channel_id", "channel_name"]
    assert named["channel_name"].to_list() == ["<b>채널</b>", "b"]  # unknown: the id itself


@pytest.mark.unit
def test_bucket_text_is_local_wall_clock():
    df = pl.DataFrame({"bucket": [datetime(2026, 8, 31, 15, 0, tzinfo=UTC)]})  # 2026-09-01 00:00 KST
    assert charts.bucket_text(df, "bucket", "day", "Asia/Seoul")["bucket"].to_list() == ["2026-09-01"]
    assert charts.bucket_text(df, "bucket", "month", "Asia/Seoul")["bucket"].to_list() == ["2026-09"]


@pytest.mark.unit
@pytest.mark.parametrize("minutes", [36, 60, 240])
def test_donations_over_broadcast_takes_wide_slots(rich_lake, minutes):
    """Slots of 36 minutes and more overflowed a 32-bit product (60,000,000 µs × minutes)."""
    import warehouse
    wh, facts = rich_lake
    got = warehouse.donations_over_broadcast(wh, minutes=minutes)
    assert int(got["donations"].sum()) == len(_donations(facts))
    assert all(x % minutes == 0 for x in got["offset_minutes"].to_list())
