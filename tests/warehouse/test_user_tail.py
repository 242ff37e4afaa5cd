"""The user tail (warehouse/read/accelerators/user_tail.py): the file holds each chatter's newest lines as plain Python picks
them, in user order; an incremental build equals a full one after days are rewritten,
added and removed; a stale, type-filtered, live, unreadable or remote tail is never used;
an interrupted build leaves the old file; the sync and forget-user keep it fresh. That
user_messages gives the chat's answers with it, for every user, filter and page, on both
fixture lakes and every variant: tests/warehouse/test_accelerators.py."""
from __future__ import annotations

import json
import shutil
from datetime import date, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.ipc as ipc
import pytest

import warehouse
from tests.accelerated import filters, rewrite_day, users
from tests.lakefixture import build_fixture_lake
from tests.lakefixture_rich import build_rich_lake
from tests.pghistory import KST, delete_one_add_one_late, history, insert
from tests.s3lake import s3_lake, s3_server  # noqa: F401 - fixtures
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHAT
from warehouse.read.accelerators import MONEY, USER_TAIL, side_tables, user_tail, user_tail_build

pytestmark = pytest.mark.integration
PAGES = [(1000, 0), (2, 1), (3, 2), (0, 0), (1, 50)]
SHORT = 3  # lines per chatter in the short tail: most fixture users have more


def _pair(tmp_path, build, lines: int):
    """Two copies of one lake: `tail` with a user tail of `lines` lines, `scan` without."""
    facts = build(tmp_path / "scan")
    shutil.copytree(tmp_path / "scan", tmp_path / "tail")
    assert user_tail_build.build_user_tail(str(tmp_path / "tail"), lines=lines) > 0
    fast, scan = warehouse.open(str(tmp_path / "tail")), warehouse.open(str(tmp_path / "scan"))
    assert fast.accelerator(USER_TAIL) is not None and scan.accelerator(USER_TAIL) is None
    return facts, fast, scan


def _assert_same(fast, scan, facts, most: int = 16) -> tuple[int, int]:
    """Compare `most` users for every filter and page; return (rows compared, pages the tail
    answered)."""
    rows = answered = 0
    reader = fast.accelerator(USER_TAIL)
    for user in users(facts, most):
        for filt in filters(facts):
            every = warehouse.user_messages(scan, user, limit=10**6, **filt)  # the scan's order is total
            for limit, offset in PAGES:
                got = warehouse.user_messages(fast, user, limit=limit, offset=offset, **filt)
                want = every.slice(offset, limit)
                assert got.equals(want), (user, filt, limit, offset, got, want)
                rows += want.height
                if reader is not None and user not in ("anonymous", "SYSTEM_MESSAGE"):
                    answered += reader.page(user, filt.get("channels"), filt.get("start"), filt.get("end"),
                                            limit, offset, fast.tz) is not None
    return rows, answered


def _newest(rows: list[dict], k: int) -> dict[str, list[int]]:
    """{user_id: ids of their newest k lines, newest first} by plain Python."""
    by_user: dict[str, list[dict]] = {}
    for r in rows:
        if r["user_id"] not in (None, "anonymous", "SYSTEM_MESSAGE"):
            by_user.setdefault(r["user_id"], []).append(r)
    return {u: [r["id"] for r in sorted(rs, key=lambda r: (r["chat_time"], r["id"]), reverse=True)[:k]]
            for u, rs in by_user.items()}


def _read(root) -> pa.Table:
    with pa.memory_map(user_tail.path(Lake(str(root)))) as src:
        return ipc.open_file(src).read_all()


@pytest.mark.parametrize("k", [1, SHORT, 1000])
def test_file_holds_each_chatters_newest_lines(tmp_path, k):
    facts = build_rich_lake(tmp_path)
    assert user_tail_build.build_user_tail(str(tmp_path), lines=k) == sum(map(len, _newest(facts["rows"], k).values()))
    table = _read(tmp_path)
    assert table.schema.remove_metadata().equals(user_tail.SCHEMA)
    assert pa.types.is_string(table.schema.field("message").type)  # plain utf8: compresses better than views
    file = ipc.open_file(user_tail.path(Lake(str(tmp_path))))  # compressed, in WRITE_ROWS-row batches
    assert all(file.get_batch(i).num_rows == user_tail.WRITE_ROWS for i in range(file.num_record_batches - 1))
    doc = json.loads(table.schema.metadata[user_tail.META_KEY])
    assert doc["lines"] == k and doc["version"] == user_tail.VERSION and len(doc["parts"]) == len({r["day"] for r in facts["rows"]})
    got: dict[str, list[int]] = {}
    for u, i in zip(table.column("user_id").to_pylist(), table.column("id").to_pylist(), strict=True):
        got.setdefault(u, []).append(i)
    assert list(got) == sorted(got)  # users in order, each user's lines together
    assert got == _newest(facts["rows"], k)
    by_id = {r["id"]: r for r in facts["rows"]}
    for row in table.slice(0, 50).to_pylist():  # the columns are the chat's
        want = by_id[row["id"]]
        assert [row[c] for c in user_tail.COLUMNS] == [want[c] for c in user_tail.COLUMNS]
        assert row["day"] == want["day"] and row["user_id"] == want["user_id"]


def _move_day(root, src: date, dst: date) -> None:
    """Write day `src`'s lines again as day `dst` (a day later by chat_time)."""
    lake = Lake(str(root))
    rows = lake.read(CHAT, src)
    moved = pc.add(rows.column("chat_time"), pa.scalar(timedelta(days=(dst - src).days), pa.duration("us")))
    lake.write(CHAT, rows.set_column(rows.schema.get_field_index("chat_time"), "chat_time", moved), dst)


@pytest.mark.parametrize("batch", [None, 7], ids=["one-batch", "many-batches"])
def test_incremental_build_equals_a_full_one(tmp_path, caplog, monkeypatch, batch):
    if batch:  # files of many small record batches: the merge crosses batch edges everywhere
        monkeypatch.setattr(side_tables, "BATCH_ROWS", batch)
        monkeypatch.setattr(user_tail_build, "WRITE_ROWS", batch + 3)
    facts = build_rich_lake(tmp_path / "a")
    days = sorted({r["day"] for r in facts["rows"]})
    user_tail_build.build_user_tail(str(tmp_path / "a"), lines=SHORT)
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    for root in (tmp_path / "a", tmp_path / "b"):
        rewrite_day(root, days[-1], lambda r: r["id"] % 3 != 0)  # lines deleted from the newest day
        rewrite_day(root, days[1], lambda r: r["id"] % 2 == 0)  # ... and an old one
        _move_day(root, days[-1], days[-1] + timedelta(days=1))  # a new day
        Lake(str(root)).fs.delete_dir(Lake(str(root)).partition_dir(CHAT, days[0]))  # a day gone
    caplog.set_level("INFO", "warehouse.read.accelerators.user_tail_build")
    rows = user_tail_build.build_user_tail(str(tmp_path / "a"), lines=SHORT)
    assert "chatter(s) taken again" in caplog.text  # incremental, not every chatter
    assert user_tail_build.build_user_tail(str(tmp_path / "b"), lines=SHORT, full=True) == rows
    a, b = _read(tmp_path / "a"), _read(tmp_path / "b")
    if batch:
        assert ipc.open_file(user_tail.path(Lake(str(tmp_path / "a")))).num_record_batches > 5
    docs = [json.loads(t.schema.metadata[user_tail.META_KEY]) for t in (a, b)]
    assert a.equals(b) and docs[0]["parts"].keys() == docs[1]["parts"].keys() and docs[0]["lines"] == SHORT
    caplog.clear()
    assert user_tail_build.build_user_tail(str(tmp_path / "a"), lines=SHORT) == rows  # nothing changed: not written
    assert "up to date" in caplog.text
    assert user_tail_build.build_user_tail(str(tmp_path / "a"), lines=SHORT + 1) > rows  # another length: rebuilt
    assert json.loads(_read(tmp_path / "a").schema.metadata[user_tail.META_KEY])["lines"] == SHORT + 1
    Lake(str(tmp_path / "a")).fs.delete_dir(Lake(str(tmp_path / "a")).table_dir(CHAT))  # every day gone
    assert user_tail_build.build_user_tail(str(tmp_path / "a"), lines=SHORT + 1) == 0
    assert warehouse.open(str(tmp_path / "a")).accelerator(USER_TAIL) is not None


def test_stale_type_filtered_live_or_disabled_tails_are_not_used(tmp_path, monkeypatch):
    facts, fast, scan = _pair(tmp_path, build_fixture_lake, SHORT)
    day = facts["days"][1]
    for root in (tmp_path / "tail", tmp_path / "scan"):  # behind the tail's back
        rewrite_day(root, day, lambda r: r["id"] % 3 != 0)
    assert fast.accelerator(USER_TAIL) is None
    facts["rows"] = [r for r in facts["rows"] if r["day"] != day or r["id"] % 3 != 0]
    assert _assert_same(fast, scan, facts, most=6)[0] > 50
    user_tail_build.build_user_tail(str(tmp_path / "tail"), lines=SHORT)
    assert fast.accelerator(USER_TAIL) is not None
    assert warehouse.open(str(tmp_path / "tail"), types=["chat"]).accelerator(USER_TAIL) is None
    monkeypatch.setenv("USER_TAIL_LINES", "0")
    assert user_tail_build.build_user_tail(str(tmp_path / "tail")) is None
    assert not (tmp_path / "tail" / "user_tail" / "part-0.arrow").exists() and fast.accelerator(USER_TAIL) is None
    assert _assert_same(fast, scan, facts, most=6)[0] > 50


def test_unreadable_tail_is_reported_once(tmp_path, caplog):
    facts, fast, scan = _pair(tmp_path, build_fixture_lake, SHORT)
    file = user_tail.path(Lake(str(tmp_path / "tail")))
    schema = _read(tmp_path / "tail").schema
    bad = pa.schema([pa.field("user_id", pa.string())]).with_metadata(schema.metadata)  # right record, wrong rows
    with ipc.new_file(file, bad) as writer:
        writer.write_batch(pa.record_batch([pa.array(["x"])], schema=bad))
    fresh = warehouse.open(str(tmp_path / "tail"))
    assert _assert_same(fresh, scan, facts, most=6)[0] > 50
    assert caplog.text.count("user tail") == 1 and fresh.accelerator(USER_TAIL) is None
    with open(file, "wb") as f:  # not an Arrow file at all
        f.write(b"garbage")
    assert warehouse.open(str(tmp_path / "tail")).accelerator(USER_TAIL) is None
    assert user_tail_build.build_user_tail(str(tmp_path / "tail"), lines=SHORT) > 0  # rebuilt whole
    assert warehouse.open(str(tmp_path / "tail")).accelerator(USER_TAIL) is not None


def test_an_interrupted_build_leaves_the_old_file(tmp_path, monkeypatch):
    facts, fast, scan = _pair(tmp_path, build_fixture_lake, SHORT)
    before = _read(tmp_path / "tail")
    rewrite_day(tmp_path / "tail", facts["days"][-1], lambda r: r["id"] % 2 == 0)

    def boom(*args):
        raise OSError("disk full")
    monkeypatch.setattr(user_tail_build._Out, "add", boom)  # the new file half written
    with pytest.raises(OSError, match="disk full"):
        user_tail_build.build_user_tail(str(tmp_path / "tail"), lines=SHORT)
    assert _read(tmp_path / "tail").equals(before)  # intact, no temporary file left beside it
    assert [p.name for p in (tmp_path / "tail" / "user_tail").iterdir()] == ["part-0.arrow"]
    assert fast.accelerator(USER_TAIL) is None  # and stale: the partitions changed since
    monkeypatch.undo()
    (tmp_path / "tail" / "user_tail" / ".part-0.arrow.tmp-1").write_bytes(b"half")  # a killed build's
    assert user_tail_build.build_user_tail(str(tmp_path / "tail"), lines=SHORT) > 0
    assert fast.accelerator(USER_TAIL) is not None
    assert [p.name for p in (tmp_path / "tail" / "user_tail").iterdir()] == ["part-0.arrow"]


def test_no_tail_on_an_s3_lake(tmp_path, s3_lake):  # noqa: F811 - the imported fixture
    root = s3_lake[0]
    facts = build_fixture_lake(root)
    build_fixture_lake(tmp_path)
    assert user_tail_build.build_user_tail(root, lines=SHORT) is None
    remote, local = warehouse.open(root), warehouse.open(str(tmp_path))
    assert remote.accelerator(USER_TAIL) is None
    user = facts["renamed_user"]
    assert warehouse.user_messages(remote, user).equals(warehouse.user_messages(local, user))


def test_sync_forget_user_and_live_rows(pg, tmp_path):
    """The sync and forget-user keep the tail fresh and equal to a full build; with live
    rows the chat is read (the overlay's lines are not in the tail) and the page has them."""
    from warehouse.sync import privacy
    from warehouse.sync.export import sync
    root = str(tmp_path / "lake")
    insert(pg, history())
    sync(pg, root)
    wh = warehouse.open(root)
    assert wh.accelerator(USER_TAIL) is not None
    delete_one_add_one_late(pg)
    sync(pg, root)
    assert wh.accelerator(USER_TAIL) is not None
    synced = _read(root)
    assert user_tail_build.build_user_tail(root, full=True) == synced.num_rows and _read(root).equals(synced)
    assert "u3" in synced.column("user_id").to_pylist()
    report = privacy.forget_user(pg, root, "u3")
    assert report.lake_rows_removed > 0 and wh.accelerator(USER_TAIL) is not None
    assert "u3" not in _read(root).column("user_id").to_pylist()
    assert warehouse.user_messages(wh, "u3").height == 0
    lines = warehouse.user_messages(wh, "u2").height
    assert lines > 0

    def boom(*args):
        raise OSError("disk full")
    with pytest.MonkeyPatch.context() as mp:  # the rebuild fails: the tail must not keep u2's lines
        mp.setattr(user_tail_build._Out, "add", boom)
        mp.setattr(user_tail_build, "_take", boom)
        with pytest.raises(OSError, match="disk full"):
            privacy.forget_user(pg, root, "u2")
    assert not Path(user_tail.path(Lake(root))).exists() and wh.accelerator(USER_TAIL) is None
    assert not Path(MONEY.path(Lake(root))).exists()  # built after the tail and holding mission texts: gone too
    assert warehouse.user_messages(wh, "u2").height == 0
    assert user_tail_build.build_user_tail(root) > 0 and wh.accelerator(USER_TAIL) is not None
    before = warehouse.user_messages(wh, "u1")
    now = datetime.now(KST).replace(microsecond=0)
    insert(pg, [{"chat_time": now - timedelta(minutes=m), "user_id": "u1"} for m in range(3)], old=False)
    with warehouse.open(root, live=True) as live:
        assert live.overlay_days() and live.accelerator(USER_TAIL) is None
        assert warehouse.user_messages(live, "u1").height == before.height + 3


def test_an_empty_lake_has_an_empty_tail(tmp_path):
    assert user_tail_build.build_user_tail(str(tmp_path), lines=SHORT) == 0
    wh = warehouse.open(str(tmp_path))
    assert wh.accelerator(USER_TAIL) is not None
    page = warehouse.user_messages(wh, "u1")
    assert page.height == 0 and page.columns == user_tail.COLUMNS


def test_an_old_version_tail_is_stale_and_rebuilt(tmp_path):
    """A VERSION 1 file (uncompressed, string_view) is not read: the next build rewrites it
    whole, compressed."""
    facts, fast, scan = _pair(tmp_path, build_fixture_lake, SHORT)
    file = user_tail.path(Lake(str(tmp_path / "tail")))
    new = _read(tmp_path / "tail")
    doc = json.loads(new.schema.metadata[user_tail.META_KEY]) | {"version": 1}
    old = pa.schema([f.with_type(pa.string_view()) if pa.types.is_string(f.type) else f for f in new.schema])
    with ipc.new_file(file, old.with_metadata({user_tail.META_KEY: json.dumps(doc).encode()})) as writer:
        writer.write_table(new.cast(old))
    assert warehouse.open(str(tmp_path / "tail")).accelerator(USER_TAIL) is None
    assert _assert_same(fast, scan, facts, most=3)[0] > 10
    assert user_tail_build.build_user_tail(str(tmp_path / "tail"), lines=SHORT) == new.num_rows
    assert _read(tmp_path / "tail").equals(new) and warehouse.open(str(tmp_path / "tail")).accelerator(USER_TAIL)
    again = warehouse.open(str(tmp_path / "tail"))
    assert _assert_same(again, scan, facts, most=3)[1] > 10  # the compressed tail answers pages itself


def test_a_full_tail_holding_every_line_that_passes_answers_the_page(tmp_path):
    """Told how many of a user's lines pass the filters (the users side table knows), a
    full tail that holds that many of them answers a page reaching past them, the scan's
    page; told one more, it leaves the page to the chat."""
    facts, fast, scan = _pair(tmp_path, build_fixture_lake, SHORT)
    reader = fast.accelerator(USER_TAIL)
    newly = 0
    for user in users(facts):
        if user in ("anonymous", "nobody", "SYSTEM_MESSAGE"):  # not chatters: not in the tail
            continue
        full = sum(r["user_id"] == user for r in facts["rows"]) > SHORT
        for filt in filters(facts):
            every = warehouse.user_messages(scan, user, limit=10**6, **filt)
            args = (user, filt.get("channels"), filt.get("start"), filt.get("end"), 1000, 0, fast.tz)
            page = reader.page(*args, passing=lambda n=every.height: n)
            if page is not None:
                assert page.equals(every), (user, filt)
                newly += reader.page(*args) is None
            if full:
                assert reader.page(*args, passing=lambda n=every.height + 1: n) is None, (user, filt)
    assert newly > 3


def test_the_users_side_table_is_built_once_a_rebuild(tmp_path, caplog):
    """rebuild_all builds the users side table, then the user tail, which places its cuts
    with it: the tail builds it again only when it does not match the partitions."""
    from warehouse.read import accelerators
    build_fixture_lake(tmp_path)
    caplog.set_level("INFO", "warehouse.read.accelerators.side_tables")
    accelerators.rebuild_all(Lake(str(tmp_path)))
    assert len([r for r in caplog.records if r.getMessage().startswith("users side table")]) == 1
    assert warehouse.open(str(tmp_path)).accelerator(USER_TAIL) is not None
    rewrite_day(tmp_path, sorted(Lake(str(tmp_path)).days(CHAT))[0], lambda r: r["id"] % 2 == 0)
    caplog.clear()
    assert user_tail_build.build_user_tail(str(tmp_path)) > 0  # alone, after a change: it builds the users table
    assert [r.getMessage() for r in caplog.records if r.getMessage().startswith("users side table")]
    assert warehouse.open(str(tmp_path)).accelerator(USER_TAIL) is not None
