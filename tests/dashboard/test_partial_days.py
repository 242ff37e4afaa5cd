"""Daily series read right (issue 21 §2): the bucket still running (today, by day) is drawn
as partial — a dashed segment with a hollow point, a lighter bar, a "partial" tooltip — not
as a plunge; a day without chat (no broadcast) is a gap in the line, not a dip to zero.
Pure chart builders, checked on their Vega-Lite specs."""
from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import polars as pl
import pytest

from dashboard import charts
from dashboard.i18n import t
from tests import vega_checks as vega

pytestmark = pytest.mark.unit
KST = ZoneInfo("Asia/Seoul")
NOW = datetime(2026, 12, 8, 3, 0, tzinfo=UTC)  # 12:00 in Seoul: 12-08 is today, half over
DAYS = (date(2026, 12, 4), date(2026, 12, 5), date(2026, 12, 7), date(2026, 12, 8))  # no broadcast on 12-06


def _midnight(d: date) -> datetime:
    return datetime(d.year, d.month, d.day, tzinfo=KST)


def _activity(days=DAYS, counts=(900, 1100, 1000, 40)) -> pl.DataFrame:
    return pl.DataFrame({"channel_id": ["a"] * len(days), "channel_name": ["채널"] * len(days),
                         "bucket": [_midnight(d) for d in days], "messages": list(counts),
                         "chatters": [c // 10 for c in counts]}).with_columns(
        pl.col("bucket").dt.convert_time_zone("Asia/Seoul"))


def _line_views(spec: dict) -> list[tuple[dict, list[dict]]]:
    return [(v, rows) for v, rows in zip(vega.views(spec), vega.view_rows(spec), strict=True)
            if v["mark"]["type"] == "line"]


def test_a_day_without_a_broadcast_is_a_gap_and_today_is_partial():
    spec = vega.spec(charts.activity_figure(_activity(), "Asia/Seoul", "day", "ko", now=NOW))
    solid, dashed = [(v, r) for v, r in _line_views(spec) if "messages" in v["encoding"]["y"]["field"]]
    by_day = {r["bucket"][:10]: r["messages"] for r in solid[1]}
    assert by_day == {"2026-12-04": 900, "2026-12-05": 1100, "2026-12-06": None, "2026-12-07": 1000}
    assert "strokeDash" not in solid[0]["mark"] and solid[0]["mark"].get("invalid") is None  # nulls break it
    # today: drawn apart, dashed from yesterday, hollow point, told partial
    assert dashed[0]["mark"]["strokeDash"] and dashed[0]["mark"]["point"]["filled"] is False
    assert [(r["bucket"][:10], r["messages"], r["partial"]) for r in dashed[1]] == [
        ("2026-12-07", 1000, False), ("2026-12-08", 40, True)]
    assert dashed[1][1]["note"] == t("chart_partial", "ko")
    assert any(tip.get("field") == "note" for tip in dashed[0]["encoding"]["tooltip"])
    assert spec["config"]["legend"]["orient"] == "top"  # a layer is stretched to the page: a right legend is cut


def test_finished_days_only_no_partial_segment_and_quiet_hours_stay_zeros():
    spec = vega.spec(charts.activity_figure(_activity(DAYS[:3], (900, 1100, 1000)), "Asia/Seoul", "day", now=NOW))
    lines = _line_views(spec)
    assert len(lines) == 2 and all("strokeDash" not in v["mark"] for v, _ in lines)  # one line a panel
    assert not any(r["partial"] for _, rows in lines for r in rows)
    hourly = pl.DataFrame({"channel_id": ["a", "a"], "channel_name": ["채널"] * 2,  # by hour, quiet ones are zeros
                           "bucket": [datetime(2026, 12, 3, 20, tzinfo=KST), datetime(2026, 12, 3, 23, tzinfo=KST)],
                           "messages": [5, 7], "chatters": [1, 2]})
    spec = vega.spec(charts.activity_figure(hourly, "Asia/Seoul", "hour", now=NOW))
    counts = [r["messages"] for r in _line_views(spec)[0][1]]
    assert counts[0] == 5 and counts[-1] == 7 and set(counts[1:-1]) == {0}


@pytest.mark.parametrize("every, partial", [("day", {"2026-12-08"}), ("week", {"2026-12-07~"}),
                                             ("month", {"2026-12"})])
def test_donations_running_bucket_is_a_lighter_bar(every, partial):
    starts = {"day": [_midnight(date(2026, 12, 7)), _midnight(date(2026, 12, 8))],
              "week": [_midnight(date(2026, 11, 30)), _midnight(date(2026, 12, 7))],
              "month": [_midnight(date(2026, 11, 1)), _midnight(date(2026, 12, 1))]}[every]
    df = pl.DataFrame({"channel_id": ["a", "a"], "bucket": starts, "donations": [30, 2], "amount": [90_000, 1_000],
                       "anonymous_share": [0.5, 0.5]}).with_columns(pl.col("bucket").dt.convert_time_zone("UTC"))
    spec = vega.spec(charts.amount_figure(df, {"a": "채널"}, "t", "Asia/Seoul", every=every, lang="en", now=NOW))
    rows = vega.rows(spec)
    assert {r["bucket"] for r in rows if r["partial"]} == partial and len(rows) == 2
    assert {r["note"] for r in rows if r["partial"]} == {t("chart_partial", "en")}
    opacity = spec["encoding"]["opacity"]
    assert opacity["condition"]["test"] == "datum.partial" and opacity["condition"]["value"] < opacity["value"]
