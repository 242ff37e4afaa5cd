"""search_users over a few channels from the chat's day files without SQL
(warehouse/read/queries/user_search.py): the scan's answer (``accelerate=False``: SQL over
the chat) for every search term (nicknames, their first letters, user ids, %, _, quotes,
backslash, Hangul, case, blank), channel and day filter and limit, by each of its ways
(one pass or per distinct value; sums in Python or polars), after a day is rewritten
under an open warehouse, and for a user renamed. Its other variants (type filter, zone,
S3, live rows: the SQL answers) are in tests/warehouse/test_accelerators.py (USERS)."""
from __future__ import annotations

import shutil
from datetime import UTC

import pyarrow as pa
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


@pytest.fixture(scope="module")
def scanned(lake):
    """[(term, filter, limit, the scan's answer)] of every case: asked once for both ways."""
    root, facts = lake
    scan = warehouse.open(str(root), accelerate=False)
    return [(term, f, limit, warehouse.search_users(scan, term, limit=limit, **f)) for term, f, limit in _cases(facts)]


@pytest.mark.parametrize("flat, python", [pytest.param(10**9, 10**9, id="one-pass-python"),
                                          pytest.param(0, 0, id="per-value-polars", marks=pytest.mark.slow)])
def test_channel_searches_equal_the_scan(lake, scanned, monkeypatch, flat, python):
    root, _ = lake
    monkeypatch.setattr(user_search, "FLAT_ROWS", flat)
    monkeypatch.setattr(user_search, "PYTHON_ROWS", python)
    fast = warehouse.open(str(root))
    found = 0
    for term, f, limit, want in scanned:
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


def test_hostile_nicknames_match_as_duckdb_lowers_them():
    """Kept lines searched as the SQL searches the same lines (DuckDB's lower(), strpos,
    arg_max, list order): case, Hangul, emoji, %, _, quotes, backslash, a letter newer than
    DuckDB's Unicode tables (Arrow lowers it, DuckDB does not), NULL nicknames, renames."""
    from datetime import datetime

    import duckdb

    nicks = ["Mixed가Case", "mixed가case", "100%_done", "it's\\ok", "😀 smile", "\ua7cbX", "\ua7ccy", None, "ẞig"]
    rows = []
    for i in range(60):
        rows.append({"user_id": f"u{i % 7}", "nickname": nicks[(i * 5) % len(nicks)],
                     "channel_name": ["ch", None, "ch2"][i % 3],
                     "chat_time": datetime(2026, 1, 1, tzinfo=UTC).replace(minute=i % 50, second=i // 50)})
    table = pa.Table.from_pylist(rows, pa.schema([("user_id", pa.string()), ("nickname", pa.string()),
                                                  ("channel_name", pa.string()),
                                                  ("chat_time", pa.timestamp("us", "UTC"))]))
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.register("ur0", table)
    sql = """WITH hit AS (SELECT DISTINCT user_id FROM ur0 WHERE strpos(lower(nickname), lower(?)) > 0 OR user_id = ?),
             ur AS (SELECT ur0.* FROM ur0 JOIN hit USING (user_id)),
             names AS (SELECT user_id, list(nickname ORDER BY first_t, nickname) AS nicknames
                       FROM (SELECT user_id, nickname, min(chat_time) AS first_t FROM ur WHERE nickname IS NOT NULL
                             GROUP BY ALL) GROUP BY user_id)
             SELECT r.user_id, arg_max(r.nickname, r.chat_time) AS nickname, any_value(names.nicknames) AS nicknames,
                    count(*) AS messages, list_sort(list(DISTINCT r.channel_name)) AS channels,
                    min(r.chat_time) AS first_seen, max(r.chat_time) AS last_seen
             FROM ur r LEFT JOIN names USING (user_id) GROUP BY r.user_id ORDER BY messages DESC, r.user_id LIMIT ?"""
    kept = user_search.lines(table)
    for term in ["mixed가", "MIXED", "%", "_", "'", "\\", "😀", "\ua7cb", "\ua7cbx", "\ua7ccY", "\u0264", "\ua7cd", "ß", "u3",
                 "x"]:
        for limit, python in ((100, 10**9), (2, 10**9), (100, 0)):
            want = con.sql(sql, params=[term, term, limit]).pl()
            with pytest.MonkeyPatch.context() as mp:
                mp.setattr(user_search, "PYTHON_ROWS", python)
                got = user_search.answer([kept], term, limit, "UTC")
            assert got.equals(want) and got.schema == want.schema, (term, limit, got, want)
