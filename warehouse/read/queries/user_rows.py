"""A chatter's profile, name history and channels from their rows of the users side table
(warehouse/read/accelerators/users_index.py, ``Reader.user_rows``): Python over a few
dozen rows, no SQL — a DuckDB query costs 2-12 ms to plan, PostgreSQL answers these in
0.3-0.6 ms. Each gives the frame the chat scan gives (search.py's SQL): the same columns,
dtypes, order, NULLs and zone; DuckDB's arg_max is followed (the value of the first row
with the greatest time among those whose value is not NULL).

Each function takes (warehouse, user_id, the user's rows, the positions of those passing
the question's days and channels).
"""
from __future__ import annotations

import polars as pl

from warehouse.lake import health
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHANNELS
from warehouse.read.accelerators.users_index import UserRows
from warehouse.read.warehouse import Warehouse


def _arg_max(values: list, by: list, at: list[int]):
    """DuckDB's arg_max(value, by) over the rows `at`: the value of the first row with the
    greatest `by` among those whose value is not NULL (None when there is none)."""
    best, got = None, None
    for i in at:
        if values[i] is not None and (best is None or by[i] > best):
            best, got = by[i], values[i]
    return got


def profile(wh: Warehouse, user_id: str, r: UserRows, at: list[int]) -> pl.DataFrame:
    if not at:
        return _frame({"user_id": [], "nickname": [], "first_seen": [], "last_seen": [], "messages": [],
                       "channels": []}, wh.tz)
    return _frame({"user_id": [user_id], "nickname": [_arg_max(r.nickname, r.last_seen, at)],
                   "first_seen": [min(r.first_seen[i] for i in at)], "last_seen": [max(r.last_seen[i] for i in at)],
                   "messages": [sum(r.messages[i] for i in at)],
                   "channels": [len({r.channel_id[i] for i in at})]}, wh.tz)


def names(wh: Warehouse, user_id: str, r: UserRows, at: list[int]) -> pl.DataFrame:
    groups: dict[str, list] = {}
    for i in at:
        name = r.nickname[i]
        if name is None:
            continue
        g = groups.get(name)
        if g is None:
            groups[name] = [r.first_seen[i], r.last_seen[i], r.messages[i]]
        else:
            g[0], g[1], g[2] = min(g[0], r.first_seen[i]), max(g[1], r.last_seen[i]), g[2] + r.messages[i]
    names = sorted(groups, key=lambda n: (groups[n][0], n))
    return _frame({"nickname": names, "first_seen": [groups[n][0] for n in names],
                   "last_seen": [groups[n][1] for n in names], "messages": [groups[n][2] for n in names]}, wh.tz)


def channels(wh: Warehouse, user_id: str, r: UserRows, at: list[int]) -> pl.DataFrame:
    groups: dict[str, list[int]] = {}
    for i in at:
        groups.setdefault(r.channel_id[i], []).append(i)
    known = _channel_names(wh) if groups else {}
    rows = []
    for cid, mine in groups.items():
        name = known.get(cid)
        rows.append((cid, name if name is not None else _arg_max(r.channel_name, r.last_seen, mine),
                     sum(r.messages[i] for i in mine), min(r.first_seen[i] for i in mine),
                     max(r.last_seen[i] for i in mine)))
    rows.sort(key=lambda row: (-row[2], row[0]))
    cols = ("channel_id", "channel_name", "messages", "first_seen", "last_seen")
    return _frame({c: [row[k] for row in rows] for k, c in enumerate(cols)}, wh.tz)


_KINDS = {"user_id": pl.Utf8, "nickname": pl.Utf8, "channel_id": pl.Utf8, "channel_name": pl.Utf8,
          "messages": pl.Int64, "channels": pl.Int64}


def _frame(columns: dict[str, list], tz: str) -> pl.DataFrame:
    """The scan's frame of these columns: strings, BIGINT counts, and first/last_seen
    (microseconds since the epoch) as timestamps shown in `tz`."""
    when = pl.Datetime("us", tz)
    return pl.DataFrame(columns, schema={k: when if k in ("first_seen", "last_seen") else _KINDS[k] for k in columns})


_NAMES_CACHE: dict[tuple, tuple[list[tuple], dict[str, str | None]]] = {}
_LAKES: dict[str, Lake] = {}


def lake(root: str) -> Lake:
    """The Lake at `root`, made once (its filesystem is looked up on creation)."""
    lake = _LAKES.get(root)
    if lake is None:
        lake = _LAKES[root] = Lake(root)
    return lake


def channel_rows(wh: Warehouse) -> list[tuple[str | None, str | None]]:
    """The ``channels`` view's rows (channel_id, channel_name) in its order, read again when
    the lake's files, its channels file or the live overlay changed."""
    return _channels_view(wh)[0]


def _channel_names(wh: Warehouse) -> dict[str, str | None]:
    """{channel_id: channel_name} of the ``channels`` view (channel_rows)."""
    return _channels_view(wh)[1]


def _channels_view(wh: Warehouse) -> tuple[list[tuple], dict[str, str | None]]:
    where = lake(wh.root)
    key = (id(wh), wh.files_key, health.file_key(where, where.partition_dir(CHANNELS) + "/part-0.parquet"),
           wh.live_info.get("read_at"))
    got = _NAMES_CACHE.get(key)
    if got is None:
        rows = wh.sql("SELECT channel_id, channel_name FROM channels").rows()
        got = (rows, dict(rows))
        _NAMES_CACHE.clear()  # one warehouse's names at a time: the dashboard has one
        _NAMES_CACHE[key] = got
    return got
