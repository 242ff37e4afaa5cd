"""The Audience page (issue 20 §7) in AppTest over the rich fixture lake (three channels
sharing regulars, eleven broadcasts): the overlap pairs, matrix and weekly trend,
broadcast-to-broadcast retention and the cohort triangle counted in plain Python, both
languages, and what each role sees — admins and analysts every channel, a streamer the
overlap between their own channels only and nothing (no name, no count) of any other."""
from __future__ import annotations

from collections import defaultdict
from itertools import combinations

import pytest
from streamlit.testing.v1 import AppTest

from dashboard.i18n import t
from tests import vega_checks as vega
from tests.lakefixture_rich import is_chatter, trunc, user_rows
from tests.lang_checks import assert_headers_follow
from tests.page_checks import FIRST, LAST, app_env, frame_of, ok, signed_app
from tests.section_tabs import open_section

pytestmark = pytest.mark.e2e
RANGE = (FIRST, LAST)


@pytest.fixture
def new(rich_pages_lake, tmp_path, monkeypatch):
    """A factory of AppTests on the Audience page for the lake's whole range; new((name,
    role, channels)) writes an accounts file first and signs that account in."""
    root, facts = rich_pages_lake
    with app_env(root, tmp_path, monkeypatch):
        def make(who: tuple | None = None, url: dict | None = None) -> AppTest:
            at = signed_app(who)
            for k, v in (url or {}).items():
                at.query_params[k] = v
            at.switch_page("app_pages/audience.py").run(timeout=60)  # straight there, as a link opens it
            ok(at)
            at.date_input(key="f_dates").set_value(RANGE).run(timeout=60)
            ok(at)
            return at

        yield make, facts


def _chatters(facts, channels, bucket=None) -> dict:
    """{(bucket or None, channel): set of chatters} over the lake's range."""
    out = defaultdict(set)
    for r in user_rows(facts, channels, *RANGE):
        if is_chatter(r):
            out[(trunc(r["chat_time"], bucket) if bucket else None, r["channel_id"])].add(r["user_id"])
    return out


def _pairs(facts, channels) -> dict:
    users = _chatters(facts, channels)
    chans = sorted(c for _, c in users)
    return {(a, b): len(users[(None, a)] & users[(None, b)]) for a, b in combinations(chans, 2)}


def _shown_pairs(at) -> dict:
    table = frame_of(at, "channel_name_a", "channel_name_b", "shared")
    return {(r["channel_a"], r["channel_b"]): r["shared"] for r in table.to_dict("records")}


def _everything_said(at) -> str:
    """Every text the page shows: markdown, captions, widgets' options, tables and charts."""
    parts = [el.value for el in (*at.markdown, *at.caption, *at.title, *at.subheader, *at.info, *at.warning)]
    parts += [str(o) for w in (*at.selectbox, *at.multiselect) for o in w.options]
    parts += [d.value.to_csv() for d in at.dataframe]
    parts += [str(s) for s in vega.specs(at)]
    return "\n".join(parts)


def test_overlap_matrix_pairs_and_weekly_trend(new):
    make, facts = new
    at = make()
    cids = facts["channel_ids"]
    assert at.title[0].value == t("page_audience")
    want = _pairs(facts, cids)
    assert _shown_pairs(at) == want and all(want.values())
    table = frame_of(at, "channel_name_a", "channel_name_b", "shared")
    assert list(table["shared"]) == sorted(table["shared"], reverse=True)  # most shared first
    cells = vega.view_rows(vega.specs(at)[0])[0]
    assert len(cells) == 2 * len(want)  # every pair both ways round, no diagonal
    # the trend: the picked channel against its closest channels (here: both others), week by week
    cid = at.selectbox(key="aud_channel").value
    assert set(at.multiselect(key="aud_partners").value) == set(cids) - {cid}
    weekly = _chatters(facts, cids, "week")
    expected = sorted((o, w, len(weekly[(w, cid)] & weekly[(w, o)]))
                      for (w, o) in weekly if o != cid and (w, cid) in weekly)
    trend = frame_of(at, "week", "other_name", "shared")
    got = sorted((r["other"], r["week"].to_pydatetime(), r["shared"]) for r in trend.to_dict("records"))
    assert [(o, w.date(), n) for o, w, n in got] == [(o, w.date(), n) for o, w, n in expected]
    assert any(n for *_, n in expected)


def test_retention_and_cohorts_of_the_picked_channel(new):
    make, facts = new
    cid = facts["channel_ids"][1]
    at = make(url={"channel": cid})
    assert at.selectbox(key="aud_channel").value == cid  # a shared link opens the same channel
    open_section(at, "aud_section", t("aud_retention"))
    table = frame_of(at, "channel_id", "broadcast", "started")
    by = defaultdict(set)
    for r in user_rows(facts, [cid]):
        if is_chatter(r) and r["chat_channel_id"]:
            by[r["chat_channel_id"]].add(r["user_id"])
    order = [b["broadcast"] for b in facts["broadcasts"] if b["channel_id"] == cid]
    assert list(table["broadcast"]) == order and list(table["chatters"]) == [len(by[b]) for b in order]
    back = [len(by[b] & by[p]) for p, b in zip(order, order[1:], strict=False)]
    assert list(table["returning_from_previous"])[1:] == back
    assert vega.title(vega.specs(at)[0]).startswith(t("aud_retention_title"))

    open_section(at, "aud_section", t("aud_cohorts"))
    for every in ("month", "week"):
        if every == "week":
            at.radio(key="aud_cohort_every").set_value("week").run(timeout=60)
            ok(at)
        assert _cohort_cells(frame_of(at, "channel_id", "cohort", "period")) == _cohorts(facts, cid, every), every


def _cohorts(facts, cid, every) -> set:
    """{(cohort day, periods after, cohort size, chatters)} of chatter_cohorts, by hand."""
    rows = sorted((r for r in user_rows(facts, [cid]) if is_chatter(r)), key=lambda r: r["chat_time"])
    first, active = {}, defaultdict(set)
    for r in rows:
        first.setdefault(r["user_id"], trunc(r["chat_time"], every))
        active[r["user_id"]].add(trunc(r["chat_time"], every))
    members = defaultdict(set)
    for u, c in first.items():
        members[c].add(u)
    out = set()
    for c, who in members.items():
        periods = defaultdict(int)
        for u in who:
            for p in active[u]:
                periods[p] += 1
        for p, n in periods.items():
            after = (p.year - c.year) * 12 + p.month - c.month if every == "month" else (p - c).days // 7
            out.add((c.date(), after, len(who), n))
    return out


def _cohort_cells(table) -> set:
    return {(c.to_pydatetime().date(), a, s, n) for c, a, s, n in
            zip(table["cohort"], table["periods_after"], table["cohort_size"], table["chatters"], strict=True)}


@pytest.mark.parametrize("role, own", [("admin", None), ("analyst", None), ("streamer", 1), ("streamer", 2)])
def test_each_role_sees_the_overlap_it_may(new, role, own):
    """A streamer of one channel sees no overlap at all (not the other channels' names nor
    counts), of two channels only the pair of theirs; admins and analysts every pair."""
    make, facts = new
    cids = facts["channel_ids"]
    mine = cids[:own] if own else []
    other = cids[0] if own is None else cids[-1]  # a channel the streamer may not see
    at = make(("who", role, mine), url={"channel": other})
    visible = mine or cids
    assert len(at.selectbox(key="aud_channel").options) == len(visible)
    assert at.selectbox(key="aud_channel").value in visible  # the URL's channel only when it may be seen
    said = _everything_said(at)
    hidden = [c for c in cids if c not in visible]
    for c in hidden:
        assert c not in said and facts["channel_names"][c] not in said, c
    assert (t("aud_own_only") in said) == (role == "streamer")
    if own == 1:
        assert t("aud_overlap_none") in [i.value for i in at.info] and not at.dataframe
    else:
        assert _shown_pairs(at) == _pairs(facts, visible)
    for section in ("aud_retention", "aud_cohorts"):
        open_section(at, "aud_section", t(section))
        for c in hidden:
            assert c not in _everything_said(at)


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_the_page_follows_the_language(new, lang):
    make, _ = new
    at = make(url={"lang": lang} if lang != "ko" else None)
    assert at.title[0].value == t("page_audience", lang)
    for section in ("aud_overlap", "aud_retention", "aud_cohorts"):
        open_section(at, "aud_section", t(section, lang))
        assert_headers_follow(at, lang)
        if lang == "en":
            assert all(not any("\uac00" <= ch <= "\ud7a3" for ch in tab.label) for tab in at.tabs)
