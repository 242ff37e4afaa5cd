"""The Subscribers, Donations and Data pages run headless with streamlit's AppTest over
fixture lakes, checked against answers computed in plain Python from the rows the
fixtures wrote; adversarial names and messages show as typed; the pages' pure helpers."""
from __future__ import annotations

from collections import Counter, defaultdict
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest
from streamlit.testing.v1 import AppTest

from dashboard import charts_data, charts_money, charts_subs, data
from dashboard.i18n import t
from tests import vega_checks as vega
from tests.lakefixture import build_fixture_lake, write_rows
from tests.lakefixture_rich import KST, build_rich_lake, is_chatter, is_sub, trunc, user_rows
from tests.lang_checks import (
    assert_headers_follow,
    assert_time_labels_numeric,
    chart_titles,
    headers,
    time_label_formats,
)
from tests.section_tabs import open_section as _tab
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT_SCHEMA, TABLES
from warehouse.read.accelerators import users_index
from warehouse.read.queries.catalog import PREVIEW_LIMIT

APP = str(Path(__file__).resolve().parents[2] / "dashboard" / "streamlit_app.py")
SYSTEM, ANON = "SYSTEM_MESSAGE", "anonymous"
FIRST, LAST = date(2026, 8, 20), date(2026, 10, 10)  # the rich lake's days


@pytest.fixture(scope="module")
def rich(tmp_path_factory):
    """A rich fixture lake of this module's own (the Data page test adds files to it)."""
    root = tmp_path_factory.mktemp("rich_b")
    return root, build_rich_lake(root)


def _app(root, monkeypatch) -> AppTest:
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    return AppTest.from_file(APP, default_timeout=60)


def _ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def _open(at: AppTest, page: str, start: date | None = None, end: date | None = None,
          channels: list[str] | None = None) -> AppTest:
    at.run(timeout=60)
    if channels is not None:
        at.multiselect(key="f_channels").set_value(channels).run(timeout=60)
    if start is not None:
        at.date_input(key="f_dates").set_value((start, end)).run(timeout=60)
    at.switch_page(f"app_pages/{page}.py").run(timeout=60)
    _ok(at)
    return at


def _frame(at: AppTest, *columns: str):
    """The (pandas) data of the one table on the page whose columns start with `columns`."""
    hits = [d.value for d in at.dataframe if tuple(d.value.columns[:len(columns)]) == columns]
    assert len(hits) == 1, [tuple(d.value.columns) for d in at.dataframe]
    return hits[0]


def _specs(at: AppTest) -> list[dict]:
    return vega.specs(at)


def _kst(ts):
    return ts.to_pydatetime().astimezone(KST)


def _day(value) -> date:
    """A date cell as st.dataframe hands it back (a date, or a pandas Timestamp)."""
    return value if type(value) is date else value.date()


# ---- subscribers ----------------------------------------------------------------------------

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
        out[(cid, "none" if tier == 0 else f"tier {tier}")] += 1
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
        out[(cid, bucket, f"tier {t_}", _tenure_bucket(m))] += 1
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
def test_subscribers_page_matches_plain_python(rich, monkeypatch):
    root, facts = rich
    at = _open(_app(root, monkeypatch), "subscribers", FIRST, LAST)
    charts, tables = len(at.get("vega_lite_chart")), len(at.dataframe)  # the share tab, open by default
    assert (charts, tables) == (1, 1)
    assert len(at.get("download_button")) == 2 * len(at.dataframe)

    _tab(at, "subs_section", t("tier_split"))
    tiers = _frame(at, "channel_id", "channel_name", "tier", "chatters")
    got = {(c, t_): n for c, t_, n in zip(tiers["channel_id"], tiers["tier"], tiers["chatters"], strict=True)}
    assert got == _expected_tiers(user_rows(facts))
    charts, tables = charts + len(at.get("vega_lite_chart")), tables + len(at.dataframe)
    assert len(at.get("download_button")) == 2 * len(at.dataframe)

    _tab(at, "subs_section", t("subs_mix"))
    assert at.radio(key="subs_every").value == "week"  # 52 days: weekly buckets by default
    tenure = _frame(at, "channel_id", "bucket", "tier", "tenure_bucket", "subscribers")
    got = {(c, _kst(b), t_, tb): n for c, b, t_, tb, n in tenure.itertuples(index=False)}
    assert got == _expected_tenure(facts, "week")

    # the share tables: per channel and bucket the groups add up to every subscriber seen
    for cols in (("channel_id", "bucket", "group", "subscribers", "share"),):
        hits = [d.value for d in at.dataframe if tuple(d.value.columns) == cols]
        assert len(hits) == 2  # by tier and by tenure
        for share in hits:
            sums = share.groupby(["channel_id", "bucket"])["share"].sum()
            assert all(abs(s - 1) < 1e-9 for s in sums)
            assert int(share["subscribers"].sum()) == sum(_expected_tenure(facts, "week").values())
    charts, tables = charts + len(at.get("vega_lite_chart")), tables + len(at.dataframe)
    assert len(at.get("download_button")) == 2 * len(at.dataframe)

    _tab(at, "subs_section", t("subs_change"))
    m0, m1 = charts_subs.month_span(FIRST, LAST)
    assert (m0, m1) == (date(2026, 7, 1), date(2026, 10, 31))
    change = _frame(at, "channel_id", "month", "subscribers", "gained", "lost")
    got = {(c, _month(_kst(m))): (s, None if g != g else int(g), None if lo != lo else int(lo))
           for c, m, s, g, lo in change.itertuples(index=False)}
    assert got == _expected_change(facts, m0, m1)
    assert any(v[1] for v in got.values()) and any(v[2] for v in got.values())  # gains and losses happen
    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    # charts: share, tier split, tier mix, tenure mix, gain/loss; tables: ratio, tiers, mix (3), change
    charts, tables = charts + len(at.get("vega_lite_chart")), tables + len(at.dataframe)
    assert (charts, tables) == (5, 6)


@pytest.mark.e2e
def test_subscribers_bucket_and_channel_change_the_output(rich, monkeypatch):
    root, facts = rich
    at = _open(_app(root, monkeypatch), "subscribers", FIRST, LAST)
    _tab(at, "subs_section", t("subs_mix"))
    at.radio(key="subs_every").set_value("month").run(timeout=60)
    _ok(at)
    tenure = _frame(at, "channel_id", "bucket", "tier", "tenure_bucket", "subscribers")
    got = {(c, _kst(b), t_, tb): n for c, b, t_, tb, n in tenure.itertuples(index=False)}
    assert got == _expected_tenure(facts, "month")
    assert {_kst(b).day for b in tenure["bucket"]} == {1}

    cid = facts["channel_ids"][1]
    before = _specs(at)[0]
    at.selectbox(key="subs_channel").set_value(cid).run(timeout=60)
    _ok(at)
    ours = _expected_tenure(facts, "month", [cid])
    bars = vega.rows(_specs(at)[1])  # the tenure mix of the picked channel
    assert len(bars) == len({(b, tb) for _, b, _, tb in ours})
    assert _specs(at)[0] != before

    # a narrower range: one day of one channel (the share tab)
    _tab(at, "subs_section", t("share_over_time"))
    day = facts["broadcasts"][6]["start"].date()
    at.multiselect(key="f_channels").set_value([cid]).run(timeout=60)
    at.date_input(key="f_dates").set_value((day, day)).run(timeout=60)
    _ok(at)
    ratio = _frame(at, "channel_id", "channel_name", "bucket", "messages", "subscriber_messages")
    want = [r for r in user_rows(facts, [cid], day, day)]
    assert list(ratio["messages"]) == [len(want)]
    assert list(ratio["subscriber_messages"]) == [sum(1 for r in want if is_sub(r))]


@pytest.mark.e2e
def test_subscribers_page_on_the_small_lake(tmp_path, monkeypatch):
    """The original subscriber test (moved from dashboard/test_apptest.py): the default
    week of the 3-day fixture lake."""
    facts = build_fixture_lake(tmp_path / "lake")
    at = _open(_app(tmp_path / "lake", monkeypatch), "subscribers")
    ratio = _frame(at, "channel_id", "channel_name", "bucket", "messages", "subscriber_messages")
    assert len(ratio) == len(facts["channel_ids"]) * len(facts["days"])
    assert ratio["message_share"].between(0, 1).all()
    _tab(at, "subs_section", t("tier_split"))
    tiers = _frame(at, "channel_id", "channel_name", "tier", "chatters")
    got = {(c, t_): n for c, t_, n in zip(tiers["channel_id"], tiers["tier"], tiers["chatters"], strict=True)}
    assert got == _expected_tiers(facts["rows"])
    assert set(vega.marks(_specs(at)[0])) == {"bar"}
    _tab(at, "subs_section", t("subs_mix"))
    assert at.radio(key="subs_every").value == "day"


# ---- donations ------------------------------------------------------------------------------

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
def test_donations_page_matches_plain_python(rich, monkeypatch):
    root, facts = rich
    start, end = date(2026, 8, 28), date(2026, 9, 30)
    at = _open(_app(root, monkeypatch), "donations", start, end)
    rows = _donations(facts, None, start, end)

    totals = _frame(at, "channel_id", "channel_name", "donations", "amount", "anonymous")
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
    ranking = _frame(at, "channel_id", "channel_name", "donor", "user_id", "donations", "amount", "rank")
    got = [(c, d, None if u is None or u != u else u, n, a, k)
           for c, _, d, u, n, a, k in ranking.itertuples(index=False)]
    assert got == _expected_ranking(facts, start, end)
    assert any(d == "익명" and u is None for _, d, u, *_ in got)  # anonymous donors as one, without an id

    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    _tab(at, "don_section", t("don_distribution"))
    dist = _frame(at, "amount_bucket", "donations", "amount")
    assert int(dist["donations"].sum()) == len(rows)
    assert int(dist["amount"].sum()) == sum(r["pay_amount"] or 0 for r in rows)
    assert dict(zip(dist["amount_bucket"], dist["donations"], strict=True))["100,000+"] == sum(
        1 for r in rows if (r["pay_amount"] or 0) >= 100_000)

    assert len(at.get("download_button")) == 2 * len(at.dataframe)
    _tab(at, "don_section", t("don_broadcast"))
    slots = _frame(at, "channel_id", "channel_name", "broadcast", "offset_minutes", "donations", "amount")
    per_broadcast = Counter(r["chat_channel_id"] for r in rows)
    assert dict(slots.groupby("broadcast")["donations"].sum()) == dict(per_broadcast)
    assert len(at.get("download_button")) == 2 * len(at.dataframe)


@pytest.mark.e2e
def test_donations_filters_change_the_output(rich, monkeypatch):
    root, facts = rich
    at = _open(_app(root, monkeypatch), "donations", FIRST, LAST)
    at.radio(key="don_every").set_value("month").run(timeout=60)
    _ok(at)
    buckets = _frame(at, "channel_id", "channel_name", "bucket", "donations", "amount")
    want = Counter((r["channel_id"], trunc(r["chat_time"], "month")) for r in _donations(facts))
    assert {(c, _kst(b)): n for c, _, b, n, *_ in buckets.itertuples(index=False)} == dict(want)

    _tab(at, "don_section", t("don_ranking"))
    at.number_input(key="don_limit").set_value(2).run(timeout=60)
    _ok(at)
    ranking = _frame(at, "channel_id", "channel_name", "donor", "user_id", "donations", "amount", "rank")
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
    _ok(at)
    bars = vega.rows(_specs(at)[-1])
    mine = [r for r in _donations(facts) if r["chat_channel_id"] == other["broadcast"]]
    assert sum(b["amount"] for b in bars) == sum(r["pay_amount"] or 0 for r in mine)

    at.radio(key="don_slot").set_value(60).run(timeout=60)
    _ok(at)
    offsets = [b["offset_minutes"] for b in vega.rows(_specs(at)[-1])]
    assert max(offsets) < other["minutes"]
    assert all(x % 60 == 0 for x in offsets)

    cid = facts["channel_ids"][2]
    at.multiselect(key="f_channels").set_value([cid]).run(timeout=60)
    _ok(at)
    totals = _frame(at, "channel_id", "channel_name", "donations", "amount", "anonymous")
    assert list(totals["channel_id"]) == [cid]
    assert list(totals["donations"]) == [len(_donations(facts, [cid]))]


@pytest.mark.e2e
def test_donations_page_without_donations_says_so(rich, monkeypatch):
    root, facts = rich
    quiet = date(2026, 9, 1)  # a day without a broadcast
    assert not _donations(facts, None, quiet, quiet)
    at = _open(_app(root, monkeypatch), "donations", quiet, quiet)
    assert any(t("don_none") in i.value for i in at.info)
    assert len(at.dataframe) == 0


# ---- data -----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def synced(tmp_path_factory):
    """The rich lake plus what a sync leaves beside it: the users side table and a
    _sync/state.json (day counts from the rows; one day deliberately off by one)."""
    root = tmp_path_factory.mktemp("rich_synced")
    facts = build_rich_lake(root)
    lake = Lake(str(root))
    users_index.build_users_index(lake)
    days = Counter(r["day"].isoformat() for r in facts["rows"])
    off = sorted(days)[3]
    lake.write_state({"version": 2, "last_sync": "2026-10-11T03:00:00+00:00",
                      "sync_started_at": "2026-10-11T02:59:58+00:00", "max_id": len(facts["rows"]),
                      "timezone": "Asia/Seoul", "days": {**days, off: days[off] + 1},
                      "tables": {"events": {"max_id": 0, "days": {}}}, "archived_days": ["2026-08-20"]})
    return root, facts, off


@pytest.mark.e2e
def test_data_page_lists_tables_schema_partitions_and_state(synced, monkeypatch):
    root, facts, off = synced
    at = _open(_app(root, monkeypatch), "data_tables", FIRST, LAST)
    tables = _frame(at, "table", "description")
    by_name = {r.table: r for r in tables.itertuples(index=False)}
    assert list(by_name) == [t_.name for t_ in TABLES] + ["users", "rollups", "broadcast_spans", "chatter_days"]  # the registry, then the side tables
    assert not by_name["chatter_days"].present and "채팅 참여자" in by_name["chatter_days"].description  # not built here
    chat = by_name["chat"]
    assert chat.rows == len(facts["rows"]) and chat.partitions == len({r["day"] for r in facts["rows"]})
    assert chat.bytes == sum(p.stat().st_size for p in (Path(root) / "chat").glob("day=*/part-0.parquet"))
    assert not by_name["events"].present and by_name["events"].rows == 0
    assert by_name["channels"].rows == 3 and by_name["live_session"].rows == facts["live_session"].num_rows

    metrics = {m.label: m.value for m in at.metric}
    assert metrics[t("data_last_sync")] == "10-11 12:00"  # 03:00 UTC in Seoul
    assert metrics[t("data_rows")] == f"{len(facts['rows']) + 1:,}"  # the state's own count
    assert metrics[t("data_archived")] == "1"
    assert metrics[t("data_users_fresh")] == t("data_fresh")

    schema = _frame(at, "column", "type")
    assert list(schema["column"]) == CHAT_SCHEMA.names + ["day"]
    assert schema["in_registry"].all() and list(schema["partition"]).count(True) == 1
    assert len(at.get("download_button")) == 2 * len(at.dataframe)

    _tab(at, "data_section", t("data_partitions"))
    parts = _frame(at, "day", "rows", "bytes", "state_rows")
    assert {_day(d).isoformat(): n for d, n in zip(parts["day"], parts["rows"], strict=True)} == Counter(
        r["day"].isoformat() for r in facts["rows"])
    assert any(t("data_mismatch").format(n=1) in w.value for w in at.warning)  # the day off by one
    assert len(at.get("download_button")) == 2 * len(at.dataframe)

    _tab(at, "data_section", PREVIEW)
    preview = _frame(at, "id", "channel_id", "channel_name")
    want = sorted((r for r in facts["rows"]), key=lambda r: (r["day"], r["channel_id"], r["chat_time"], r["id"]))
    assert list(preview["id"]) == [r["id"] for r in want[:100]]
    assert len(at.get("download_button")) == 2 * len(at.dataframe)


@pytest.mark.e2e
def test_data_page_preview_follows_table_channels_and_days(synced, monkeypatch):
    root, facts, _ = synced
    cid, day = facts["channel_ids"][1], facts["broadcasts"][6]["start"].date()
    at = _open(_app(root, monkeypatch), "data_tables", day, day, channels=[cid])
    _tab(at, "data_section", PREVIEW)
    preview = _frame(at, "id", "channel_id", "channel_name")
    want = [r["id"] for r in facts["rows"] if r["channel_id"] == cid and r["day"] == day]
    assert sorted(preview["id"]) == sorted(want[:100]) and len(preview) == min(100, len(want))

    at.selectbox(key="data_table").set_value("users").run(timeout=60)
    _ok(at)
    users = _frame(at, "user_id", "channel_id", "channel_name", "day")
    assert set(users["channel_id"]) == {cid} and {_day(d) for d in users["day"]} == {day}
    assert int(users["messages"].sum()) == sum(1 for r in facts["rows"] if r["channel_id"] == cid
                                               and r["day"] == day and is_chatter(r) and r["user_id"])

    # capture_interval has no channel_id: rows come through the channel's broadcasts, so
    # channel 1 (no capture intervals in the fixture) sees none, channel 0 sees its own
    at.selectbox(key="data_table").set_value("capture_interval").run(timeout=60)
    _ok(at)
    assert any(t("no_rows") in i.value for i in at.info)
    c0 = facts["channel_ids"][0]
    at.multiselect(key="f_channels").set_value([c0]).run(timeout=60)
    at.date_input(key="f_dates").set_value((FIRST, LAST)).run(timeout=60)
    _ok(at)
    intervals = _frame(at, "id", "key")
    assert len(intervals) == facts["capture_interval"].num_rows

    at.selectbox(key="data_table").set_value("events").run(timeout=60)
    _ok(at)
    assert any(t("data_absent") in i.value for i in at.info)


PREVIEW = t("data_preview").format(n=PREVIEW_LIMIT)  # the Data page's preview tab


# ---- untrusted text -------------------------------------------------------------------------

EVIL_CHANNEL = "**굵게** <script>alert(1)</script>"
EVIL_NICK = "<script>alert(1)</script>"
EVIL_MESSAGE = "**bold** <img src=x onerror=alert(2)> [link](javascript:alert(3))"


@pytest.fixture(scope="module")
def evil(tmp_path_factory):
    """A one-channel lake whose channel name, donor nickname and messages are markup."""
    root = tmp_path_factory.mktemp("evil")
    cid = "e" * 32
    rows = []
    base = datetime(2026, 9, 5, 20, 0, tzinfo=KST)
    for i in range(6):
        row = {f.name: None for f in CHAT_SCHEMA}
        when = base + timedelta(minutes=3 * i)
        row.update(id=i + 1, channel_id=cid, channel_name=EVIL_CHANNEL, chat_channel_id="evilcc",
                   user_id=f"u{i % 2}", nickname=EVIL_NICK if i % 2 == 0 else "**nick**",
                   message=EVIL_MESSAGE, message_type="donation" if i < 4 else "chat",
                   msg_type_code=10 if i < 4 else 1, pay_amount=1000 * (i + 1) if i < 4 else None,
                   chat_time=when, created_at=when, subscription_tier=1 if i % 2 == 0 else None,
                   subscription_month=3 if i % 2 == 0 else None, raw="{}", dedupe_key=f"e{i}",
                   day=when.date())
        rows.append(row)
    write_rows(Lake(str(root)), rows, [cid], [EVIL_CHANNEL], [1])
    return root


def _no_markup_rendered(at: AppTest) -> None:
    rendered = [m.value for m in at.markdown] + [c.value for c in at.caption] + [s.value for s in at.subheader]
    rendered += [s.value for s in at.title] + [i.value for i in at.info] + [w.value for w in at.warning]
    for text in rendered:
        assert "<script" not in text and "굵게" not in text and "**bold**" not in text, text
    for spec in _specs(at):  # names are in the charts as typed, where nothing renders markup
        vega.assert_no_html(spec)


@pytest.mark.e2e
@pytest.mark.parametrize("page", ["subscribers", "donations", "data_tables"])
def test_markup_in_names_and_messages_shows_as_typed(evil, monkeypatch, page):
    at = _open(_app(evil, monkeypatch), page, date(2026, 9, 5), date(2026, 9, 5))
    key = {"subscribers": "subs_section", "donations": "don_section", "data_tables": "data_section"}[page]
    names, shown, picks = set(), set(), []
    for label in [tab.label for tab in at.tabs]:  # every section tab in turn
        _tab(at, key, label)
        _no_markup_rendered(at)
        for d in at.dataframe:
            for col in ("channel_name", "donor", "nickname", "message"):
                if col in d.value.columns:
                    names |= set(d.value[col].dropna())
        shown |= {v for s in _specs(at) for r in vega.rows(s) for v in r.values()}
        picks += [b.options for b in at.selectbox if b.key == "don_broadcast_pick"]
    if page == "donations":
        assert {EVIL_CHANNEL, EVIL_NICK, "**nick**"} <= names
        assert EVIL_CHANNEL in shown and "&lt;script&gt;alert(1)&lt;/script&gt;" not in shown  # drawn as typed
        assert picks and picks[0][0].startswith(EVIL_CHANNEL + " · ")
    elif page == "data_tables":
        assert {EVIL_CHANNEL, EVIL_NICK, EVIL_MESSAGE} <= names
    else:
        assert EVIL_CHANNEL in names


# ---- pure helpers ---------------------------------------------------------------------------

@pytest.mark.unit
@pytest.mark.parametrize(("start", "end", "want"), [
    (date(2026, 9, 15), date(2026, 9, 20), (date(2026, 8, 1), date(2026, 9, 30))),
    (date(2026, 1, 1), date(2026, 2, 3), (date(2025, 12, 1), date(2026, 2, 28))),
    (date(2024, 3, 31), date(2024, 12, 31), (date(2024, 2, 1), date(2024, 12, 31))),
])
def test_month_span(start, end, want):
    assert charts_subs.month_span(start, end) == want


@pytest.mark.unit
def test_group_shares_count_people_and_add_up_to_one():
    b = datetime(2026, 9, 1, tzinfo=KST)
    tenure = pl.DataFrame({"channel_id": ["c"] * 4, "bucket": [b] * 4,
                           "tier": ["tier 1", "tier 1", "tier 2", "tier 2"],
                           "tenure_bucket": ["25+", "1", "2-3", "1"], "subscribers": [1, 3, 2, 2]})
    by_tier = charts_subs.group_shares(tenure, "tier")
    assert by_tier.select("group", "subscribers", "share").rows() == [("tier 1", 4, 0.5), ("tier 2", 4, 0.5)]
    by_tenure = charts_subs.group_shares(tenure, "tenure_bucket")
    assert by_tenure["group"].to_list() == ["1", "2-3", "25+"]  # tenure order, not text order
    assert by_tenure["subscribers"].to_list() == [5, 2, 1]
    assert charts_subs.group_shares(tenure.clear(), "tier").is_empty()
    with pytest.raises(ValueError, match="tier or tenure_bucket"):
        charts_subs.group_shares(tenure, "month")


@pytest.mark.unit
def test_donation_totals_and_names():
    df = pl.DataFrame({"channel_id": ["a", "a", "b"], "bucket": [1, 2, 1], "donations": [2, 2, 1],
                       "amount": [100, 300, 50], "anonymous_share": [0.5, 0.0, 1.0]})
    totals = charts_money.donation_totals(df)
    assert totals.rows() == [("a", 4, 400, 1, 0.25, 100.0), ("b", 1, 50, 1, 1.0, 50.0)]
    assert charts_money.overall(totals) == {"donations": 5, "amount": 450, "anonymous_share": 0.4}
    assert charts_money.overall(totals.clear())["anonymous_share"] is None
    named = charts_money.with_names(totals, {"a": "<b>채널</b>"})
    assert named.columns[:2] == ["channel_id", "channel_name"]
    assert named["channel_name"].to_list() == ["<b>채널</b>", "b"]  # unknown: the id itself


@pytest.mark.unit
@pytest.mark.parametrize(("n", "text"), [(0, "0 B"), (1023, "1023 B"), (1536, "1.5 KB"),
                                         (5 * 1024 ** 3, "5.0 GB"), (None, "")])
def test_human_bytes(n, text):
    assert charts_data.human_bytes(n) == text


@pytest.mark.unit
def test_sync_age_and_local_time():
    now = datetime(2026, 10, 11, 6, 0, tzinfo=UTC)
    assert charts_data.hours_since("2026-10-11T03:00:00+00:00", now) == 3.0
    assert charts_data.hours_since(None, now) is None
    assert charts_data.local_iso("2026-10-11T15:30:00+00:00", "Asia/Seoul") == "2026-10-12 00:30:00"
    assert charts_data.local_iso(None, "Asia/Seoul") == "-"


@pytest.mark.unit
def test_bucket_text_is_local_wall_clock():
    df = pl.DataFrame({"bucket": [datetime(2026, 8, 31, 15, 0, tzinfo=UTC)]})  # 2026-09-01 00:00 KST
    assert charts_money.bucket_text(df, "bucket", "day", "Asia/Seoul")["bucket"].to_list() == ["2026-09-01"]
    assert charts_money.bucket_text(df, "bucket", "month", "Asia/Seoul")["bucket"].to_list() == ["2026-09"]


@pytest.mark.unit
@pytest.mark.parametrize("minutes", [36, 60, 240])
def test_donations_over_broadcast_takes_wide_slots(rich_lake, minutes):
    """Slots of 36 minutes and more overflowed a 32-bit product (60,000,000 µs × minutes)."""
    import warehouse
    wh, facts = rich_lake
    got = warehouse.donations_over_broadcast(wh, minutes=minutes)
    assert int(got["donations"].sum()) == len(_donations(facts))
    assert all(x % minutes == 0 for x in got["offset_minutes"].to_list())


@pytest.mark.e2e
@pytest.mark.parametrize("role", ["streamer", "analyst"])
def test_data_page_keeps_lake_wide_figures_from_streamers(synced, monkeypatch, role):
    """The page alone, with the filters a signed-in account would get (a streamer: only
    their channel): dashboard.accounts.Account where that module exists, else a plain value
    with the same role and channels."""
    from types import SimpleNamespace

    from dashboard.app_pages import widgets
    root, facts, _ = synced
    cid = facts["channel_ids"][2]
    try:
        from dashboard.accounts import Account
        account = Account(name="someone", role=role, channels=(cid,))
    except ImportError:
        account = SimpleNamespace(role=role, channels=(cid,))
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    at = AppTest.from_file(str(Path(APP).parent / "app_pages" / "data_tables.py"), default_timeout=60)
    at.session_state["_dashboard_filters"] = widgets.Filters(
        str(root), (cid,), FIRST, LAST, dict(facts["channel_names"]), "Asia/Seoul",
        account=account)
    at.run(timeout=60)
    _ok(at)
    tables = _frame(at, "table", "description")
    labels = {m.label for m in at.metric}
    _tab(at, "data_section", PREVIEW)
    preview = _frame(at, "id", "channel_id", "channel_name")
    assert set(preview["channel_id"]) == {cid}
    _tab(at, "data_section", t("data_partitions"))
    if role == "streamer":
        assert "rows" not in tables.columns and "bytes" not in tables.columns
        assert t("data_rows") not in labels and t("data_last_sync") in labels
        assert not [d for d in at.dataframe if tuple(d.value.columns[:2]) == ("day", "rows")]
        assert any(t("data_lake_wide") in c.value for c in at.caption)
    else:
        assert int(tables["rows"].iloc[0]) == len(facts["rows"]) and t("data_rows") in labels


@pytest.mark.e2e
@pytest.mark.parametrize(("page", "title_key"), [("subscribers", "page_subscribers"), ("donations", "don_title"),
                                                 ("data_tables", "data_title")])
def test_pages_switch_to_english(synced, monkeypatch, page, title_key):
    from dashboard.i18n import LANG_KEY
    root, _, _ = synced
    at = _app(root, monkeypatch)
    at.session_state[LANG_KEY] = "en"
    at.switch_page(f"app_pages/{page}.py").run(timeout=60)
    at.date_input(key="f_dates").set_value((FIRST, LAST)).run(timeout=60)
    _ok(at)
    assert [x.value for x in at.title] == [t(title_key, "en")]
    assert t(title_key, "en") != t(title_key, "ko")
    texts = [s.value for s in at.subheader] + [tab.label for tab in at.tabs]
    korean = [x for x in texts if any("\uac00" <= ch <= "\ud7a3" for ch in x)]
    assert not korean, korean
    assert len(at.tabs) >= 3  # the section tabs, labelled in English
    if page == "subscribers":
        _tab(at, "subs_section", t("subs_mix", "en"))
    radio = {"subscribers": "subs_every", "donations": "don_every"}.get(page)
    if radio:  # the English labels of a radio survive changing it
        assert at.radio(key=radio).options[-1] == "month"
        at.radio(key=radio).set_value("month").run(timeout=60)
        _ok(at)
        assert at.radio(key=radio).value == "month"


@pytest.mark.e2e
@pytest.mark.parametrize("lang", ["ko", "en"])
@pytest.mark.parametrize(("page", "chart", "raw"), [("subscribers", "chart_sub_share", 0),
                                                    ("donations", "don_over_time", 0),
                                                    ("data_tables", "data_partitions_title", 1)])
def test_table_headers_and_chart_titles_follow_the_language(synced, monkeypatch, page, chart, raw, lang):
    """Korean without a `lang` URL parameter, English with lang=en. The Data page's preview
    (its last table) keeps the stored column names its schema tab lists."""
    root, _, _ = synced
    at = _app(root, monkeypatch)
    at.switch_page(f"app_pages/{page}.py")
    if lang != "ko":
        at.query_params["lang"] = lang
    at.run(timeout=60)
    at.date_input(key="f_dates").set_value((FIRST, LAST)).run(timeout=60)
    _ok(at)
    if page == "data_tables":  # the chart is in the partitions tab
        _tab(at, "data_section", t("data_partitions", lang))
    assert_headers_follow(at, lang)
    assert chart_titles(at)[0] == t(chart, lang)
    if page == "subscribers":  # the other two label their days as ordinal text
        assert time_label_formats(at)
    assert_time_labels_numeric(at)
    if page == "subscribers":  # the tier names the chart owns
        _tab(at, "subs_section", t("tier_split", lang))
        assert_headers_follow(at, lang)
        names = _specs(at)[0]["encoding"]["color"]["scale"]["domain"]
        assert names[:2] == [t("chart_tier_none", lang), t("chart_tier_1", lang)]
    if raw:
        _tab(at, "data_section", t("data_preview", lang).format(n=PREVIEW_LIMIT))
        assert_headers_follow(at, lang, raw_tables=raw)
        preview = at.dataframe[-1]
        assert "channel_id" in preview.value.columns
        assert set(headers(at)[-1].values()) == {None}
