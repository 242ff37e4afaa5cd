"""search_users over a few channels from the chat's day files without SQL
(warehouse/read/queries/user_search.py): the scan's answer (``accelerate=False``: SQL over
the chat) for every search term (nicknames, their first letters, user ids, %, _, quotes,
backslash, Hangul, case, blank), channel and day filter and limit, by each of its ways
(one pass or per distinct value; sums in Python or polars), after a day is rewritten
under an open warehouse, and for a user renamed. Its other variants (type filter, zone,
S3, live rows: the SQL answers) are in tests/warehouse/test_accelerators.py (USERS)."""
from __future__ import annotations

import shutil

import pytest

import warehouse
from tests.accelerated import filters, rewrite_day, search_terms
from tests.lakefixture_rich import build_rich_lake
from warehouse.read.queries import user_search
from warehouse.read.queries.params import FIRST_DAY, LAST_DAY

pytestmark = pytest.mark.unit


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("search")
    facts = build_rich_lake(root)
    yield root, facts


def _cases(facts):
    scoped = [f for f in filters(facts) if f.get("channels")]
    scoped.append({"channels": sorted(facts["channel_ids"])})
    return [(term, f, limit) for term in search_terms(facts) for f in scoped for limit in (100, 2, 0)]


@pytest.mark.parametrize("flat, python", [(10**9, 10**9), (0, 0)], ids=["one-pass-python", "per-value-polars"])
def test_channel_searches_equal_the_scan(lake, monkeypatch, flat, python):
    root, facts = lake
    monkeypatch.setattr(user_search, "FLAT_ROWS", flat)
    monkeypatch.setattr(user_search, "PYTHON_ROWS", python)
    fast, scan = warehouse.open(str(root)), warehouse.open(str(root), accelerate=False)
    found = 0
    for term, f, limit in _cases(facts):
        want = warehouse.search_users(scan, term, limit=limit, **f)
        mine = user_search.search(fast, term.strip() or "\x00no match\x00", f["channels"], f.get("start") or FIRST_DAY,
                                  f.get("end") or LAST_DAY, limit)  # the fast way itself, not the SQL behind it
        assert mine is not None and mine.schema == want.schema and mine.equals(want), (term, f, limit, mine, want)
        assert warehouse.search_users(fast, term, limit=limit, **f).equals(want)
        found += want.height
    assert found > 100


def test_a_rewritten_day_and_a_renamed_user(lake, tmp_path):
    root, facts = lake
    shutil.copytree(root, tmp_path / "lake")
    fast, scan = warehouse.open(str(tmp_path / "lake")), warehouse.open(str(tmp_path / "lake"), accelerate=False)
    names: dict[str, set] = {}
    for r in facts["rows"]:
        if r["user_id"] and r["nickname"]:
            names.setdefault(r["user_id"], set()).add(r["nickname"])
    user = max(names, key=lambda u: (len(names[u]), u))  # the user with the most nicknames
    channels = sorted({r["channel_id"] for r in facts["rows"] if r["user_id"] == user})
    for name in names[user]:
        got = warehouse.search_users(fast, name.upper(), channels=channels)
        assert got.equals(warehouse.search_users(scan, name.upper(), channels=channels))
        assert user in got["user_id"].to_list()
    got = warehouse.search_users(fast, user, channels=channels)
    assert got["nicknames"].to_list() == [sorted(names[user], key=lambda n: min(
        (r["chat_time"], r["nickname"]) for r in facts["rows"] if r["user_id"] == user and r["nickname"] == n))]
    assert len(names[user]) > 1
    row = next(r for r in facts["rows"] if r["nickname"] and r["user_id"] not in (None, "anonymous"))
    term, cid = row["nickname"], row["channel_id"]
    before = warehouse.search_users(fast, term, channels=[cid])
    assert row["user_id"] in before["user_id"].to_list()
    # its lines of that day gone (Lake.write): the lines kept for that day file are stale now
    rewrite_day(tmp_path / "lake", row["day"], lambda r: r["user_id"] != row["user_id"])
    after = warehouse.search_users(fast, term, channels=[cid])
    assert after.equals(warehouse.search_users(scan, term, channels=[cid])) and not after.equals(before)


def test_more_row_groups_than_allowed_are_left_to_sql(lake, monkeypatch):
    root, facts = lake
    monkeypatch.setattr(user_search, "MAX_GROUPS", 0)
    fast, scan = warehouse.open(str(root)), warehouse.open(str(root), accelerate=False)
    cids = sorted(facts["channel_ids"])
    assert user_search.search(fast, "김", cids, FIRST_DAY, LAST_DAY, 100) is None
    want = warehouse.search_users(scan, "김", channels=cids)
    assert want.height and warehouse.search_users(fast, "김", channels=cids).equals(want)
