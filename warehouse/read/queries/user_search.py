"""search_users over a few channels without SQL: the lines of those channels and days are
read from the chat's own day files — in each, only the row groups whose channel_id
statistics hold them (the files are sorted by channel) and only the five columns the
answer needs — and the scan's answer is computed from them in Python. A DuckDB query costs
2-12 ms to plan and the users side table is sorted by user (a channel's week lies in all
of its row groups); PostgreSQL answers a median channel's week in ~2 ms.

The answer equals the scan's (users.py's _SEARCH_USERS): the same users, nicknames in
order of first use, lines, channel names, first and last line, order, dtypes and NULLs;
DuckDB's arg_max is followed (the value of the first line with the greatest time among
those whose value is not NULL), lower() is DuckDB's (warehouse/read/text_match.py).
"""
from __future__ import annotations

from collections import OrderedDict
from datetime import date

import polars as pl
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from core import settings
from warehouse.lake import health
from warehouse.lake.layout import Lake
from warehouse.read import text_match, text_slices
from warehouse.read.queries.params import ANONYMOUS_USER, SYSTEM_USER
from warehouse.read.warehouse import Warehouse

_COLUMNS = ["channel_id", "user_id", "nickname", "channel_name", "chat_time"]
FLAT_ROWS = 20_000  # up to this many lines asked about are searched in one pass, more per distinct value
PYTHON_ROWS = 2_000  # up to this many lines of the users found are summed in Python, more with polars
# the lines of the channels last asked, per day file version: (path, file key, channels) ->
# lines, settings USER_SEARCH_LINES in all (strings as dictionaries: ~25 bytes a line, the
# biggest channel's week of a 10M-line lake 640,000 lines)
MAX_GROUPS = 256  # row groups (16,384 lines each) read for one question at most: beyond, SQL answers
_SLICES: OrderedDict[tuple, _Part] = OrderedDict()
_held = [0]


def search(wh: Warehouse, query: str, channels: list[str], start: date, end: date,
           limit: int) -> pl.DataFrame | None:
    """search_users' answer for `channels` (a non-empty list) and days [start, end] from
    the chat view's day files; None when a file cannot be read this way (the caller asks
    SQL, which reports damage)."""
    wanted = tuple(sorted(set(channels)))
    lake = wh.lake
    try:
        chosen = [(path, key, health.groups_holding(health.ranges(lake, path, key, "channel_id"), list(wanted)))
                  for _, path, key in text_slices.day_files(wh, start, end)]
        if sum(len(groups) for _, _, groups in chosen) > MAX_GROUPS:
            return None  # most of the lake: the users side table answers that with SQL
        parts = [_slice(lake, *c, wanted) for c in chosen]
    except (OSError, ValueError, KeyError, pa.ArrowException):
        return None
    parts = [p for p in parts if p.table.num_rows]
    if sum(p.table.num_rows for p in parts) <= PYTHON_ROWS and int(limit) > 0:
        return _in_python(parts, query, int(limit), wh.tz)
    return _answer([p.table for p in parts], query, int(limit), wh.tz)


class _Part:
    """One day file's kept lines (``lines``) and, made when first asked, the same as Python
    lists (user_id, nickname, lower, channel_name, chat_time): a few hundred lines are
    searched faster in Python than by a dozen Arrow calls."""
    __slots__ = ("table", "_py")

    def __init__(self, table: pa.Table) -> None:
        self.table, self._py = table, None

    def py(self) -> tuple[list, ...]:
        if self._py is None:
            plain = _plain(self.table)
            self._py = tuple(plain.column(c).to_pylist() for c in ("user_id", "nickname", "lower", "channel_name",
                                                                    "chat_time"))
        return self._py


def _in_python(parts: list[_Part], query: str, limit: int, tz: str) -> pl.DataFrame:
    """_answer's frame for a few lines (at most PYTHON_ROWS), in Python: the same users
    (a nickname's lower case holding the query's, or the id equal to it), lines and order."""
    needle = text_match.lower_text(query)
    hits = set()
    for part in parts:
        users, _, lower, _, _ = part.py()
        for u, low in zip(users, lower, strict=True):
            if u == query or (low is not None and needle in low):
                hits.add(u)
    hits -= {None, ANONYMOUS_USER, SYSTEM_USER}
    cols: tuple[list, ...] = ([], [], [], [])  # user_id, nickname, channel_name, chat_time of their lines
    for part in parts:
        users, nicks, _, names, times = part.py()
        for i, u in enumerate(users):
            if u in hits:
                cols[0].append(u)
                cols[1].append(nicks[i])
                cols[2].append(names[i])
                cols[3].append(times[i])
    rows = _rows_of(*cols)
    rows.sort(key=lambda r: (-r[3], r[0]))
    return _frame(rows[:limit], tz)


def _slice(lake: Lake, path: str, key: tuple, chosen: list[int], channels: tuple[str, ...]) -> _Part:
    """The lines of `channels` in one day file (row groups `chosen`), other than
    SYSTEM_MESSAGE's: users, nickname, its lower case, channel_name (dictionaries) and
    chat_time (µs); kept per file version (the last USER_SEARCH_LINES lines)."""
    got = _SLICES.get((path, key, channels))
    if got is not None:
        _SLICES.move_to_end((path, key, channels))
        return got
    if chosen:
        with lake.fs.open_input_file(path) as f:
            file = pq.ParquetFile(f, metadata=health.footer(lake, path, key), read_dictionary=_COLUMNS[:4])
            table = file.read_row_groups(chosen, columns=_COLUMNS, use_threads=False)
        keep = pc.is_in(table.column("channel_id").cast(pa.string()), pa.array(channels, pa.string()))
        user = table.column("user_id").cast(pa.string())
        keep = pc.and_kleene(keep, pc.fill_null(pc.not_equal(user, SYSTEM_USER), True))
        got = lines(table.filter(keep).select(_COLUMNS[1:]))
    else:
        got = _EMPTY
    got = _SLICES[(path, key, channels)] = _Part(got)
    _held[0] += got.table.num_rows
    most = settings.get_int("USER_SEARCH_LINES")
    while _held[0] > most and len(_SLICES) > 1:
        _held[0] -= _SLICES.popitem(last=False)[1].table.num_rows
    return got


def lines(table: pa.Table) -> pa.Table:
    """Lines (user_id, nickname, channel_name, chat_time) as the search keeps them: users,
    nickname, its lower case (DuckDB's, once per distinct name: a dictionary may then repeat
    a value) and channel_name as dictionaries, chat_time as µs since the epoch. Pure."""
    table = table.unify_dictionaries().combine_chunks()
    nick = _dictionary(table.column("nickname"))
    low = text_match.lower(pa.chunked_array([nick.dictionary], pa.string())).combine_chunks()
    return pa.table({"users": _dictionary(table.column("user_id")), "nickname": nick,
                     "lower": pa.DictionaryArray.from_arrays(nick.indices, low),
                     "channel_name": _dictionary(table.column("channel_name")),
                     "chat_time": table.column("chat_time").cast(pa.timestamp("us", "UTC")).cast(pa.int64())})


def answer(parts: list[pa.Table], query: str, limit: int, tz: str) -> pl.DataFrame:
    """search_users' frame from kept lines (``lines``), for `query` (not blank)."""
    return _answer([p for p in parts if p.num_rows], query, limit, tz)


def _dictionary(column: pa.ChunkedArray) -> pa.DictionaryArray:
    """A string column as one dictionary array (as read: a file's dictionary; else encoded)."""
    col = column.combine_chunks() if column.num_chunks != 1 else column.chunk(0)
    return col if pa.types.is_dictionary(col.type) else pc.dictionary_encode(col.cast(pa.string()))


_DICT = pa.dictionary(pa.int32(), pa.string())
_EMPTY = pa.table({c: pa.array([], _DICT) for c in ("users", "nickname", "lower", "channel_name")}
                  | {"chat_time": pa.array([], pa.int64())})


def _answer(parts: list[pa.Table], query: str, limit: int, tz: str) -> pl.DataFrame:
    """The scan's frame from the day files' lines of the channels asked (_slice), in file
    order: the users one of whose nicknames holds `query` (lower case) or whose id is it."""
    if not parts or limit <= 0:
        return _per_user(_plain(_EMPTY), tz)
    needle = text_match.lower_text(query)
    if sum(part.num_rows for part in parts) <= FLAT_ROWS:  # a few lines: one pass over them all
        lines = _plain(pa.concat_tables(parts))
        users = lines.column("user_id")
        rows = pc.or_(pc.fill_null(pc.match_substring(lines.column("lower"), needle), False),
                      pc.fill_null(pc.equal(users, query), False))
        hits = set(pc.unique(pc.filter(users, rows)).to_pylist()) - {None, ANONYMOUS_USER, SYSTEM_USER}
        mine = lines.filter(pc.is_in(users, pa.array(sorted(hits), pa.string())))
    else:  # many: each distinct nickname and user id is looked at once
        hits = set()
        for part in parts:
            users, lower = part.column("users").chunk(0), part.column("lower").chunk(0)
            rows = _by_value(lower, pc.match_substring(lower.dictionary, needle))
            rows = pc.or_(rows, _by_value(users, pc.equal(users.dictionary, query)))
            hits.update(pc.unique(pc.filter(users, rows).cast(pa.string())).to_pylist())
        hits -= {None, ANONYMOUS_USER, SYSTEM_USER}
        wanted = pa.array(sorted(hits), pa.string())
        mine = _plain(pa.concat_tables([
            part.filter(_by_value(part.column("users").chunk(0), pc.is_in(part.column("users").chunk(0).dictionary,
                                                                          wanted))) for part in parts]))
    # only the `limit` users with the most lines (then the smallest id) are answered
    counts = pc.value_counts(mine.column("user_id")).to_pylist()
    if len(counts) > limit:
        top = sorted((-c["counts"], c["values"]) for c in counts)[:limit]
        mine = mine.filter(pc.is_in(mine.column("user_id"), pa.array([u for _, u in top], pa.string())))
    return _per_user(mine, tz)


def _plain(lines: pa.Table) -> pa.Table:
    """The lines with plain strings: user_id, nickname, lower, channel_name, chat_time."""
    return pa.table({"user_id": lines.column("users").cast(pa.string()),
                     "nickname": lines.column("nickname").cast(pa.string()),
                     "lower": lines.column("lower").cast(pa.string()),
                     "channel_name": lines.column("channel_name").cast(pa.string()),
                     "chat_time": lines.column("chat_time")})


def _by_value(column: pa.DictionaryArray, per_value: pa.Array) -> pa.Array:
    """A per-row boolean from one per dictionary value (False for NULL rows)."""
    return pc.fill_null(pc.take(pc.fill_null(per_value, False), column.indices), False)


def _per_user(lines: pa.Table, tz: str) -> pl.DataFrame:
    """Per user of `lines` (in file order): [user_id, nickname (that of the latest line
    with one, the first such line on a tie), nicknames (in order of first use, then by
    name; NULL when none), messages, channels (the distinct channel names, sorted, NULL
    last), first_seen, last_seen], most lines first, then by user_id. A few lines in Python
    (polars' plans cost ~2 ms), many with polars."""
    when = pl.Datetime("us", tz)
    if lines.num_rows <= PYTHON_ROWS:
        rows = _rows(lines)
        rows.sort(key=lambda r: (-r[3], r[0]))
        return _frame(rows, tz)
    df = pl.from_arrow(lines.select(["user_id", "nickname", "channel_name", "chat_time"])).with_row_index("row")
    named = df.filter(pl.col("nickname").is_not_null())
    latest = (named.sort(["user_id", "chat_time", "row"], descending=[False, True, False])
              .group_by("user_id", maintain_order=True).agg(pl.col("nickname").first()))
    firsts = (named.group_by("user_id", "nickname").agg(pl.col("chat_time").min().alias("t"))
              .sort(["user_id", "t", "nickname"]).group_by("user_id", maintain_order=True)
              .agg(pl.col("nickname").alias("nicknames")))
    per = df.group_by("user_id").agg(
        pl.len().cast(pl.Int64).alias("messages"),
        pl.col("channel_name").unique().sort(nulls_last=True).alias("channels"),
        pl.col("chat_time").min().alias("first_seen"), pl.col("chat_time").max().alias("last_seen"))
    out = (per.join(latest, on="user_id", how="left").join(firsts, on="user_id", how="left")
           .sort(["messages", "user_id"], descending=[True, False])
           .select("user_id", "nickname", pl.col("nicknames").cast(pl.List(pl.Utf8)), "messages",
                   pl.col("channels").cast(pl.List(pl.Utf8)),
                   pl.col("first_seen").cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(tz).cast(when),
                   pl.col("last_seen").cast(pl.Datetime("us", "UTC")).dt.convert_time_zone(tz).cast(when)))
    return out


def _frame(rows: list[tuple], tz: str) -> pl.DataFrame:
    """_per_user's frame of rows in Python (_rows_of), in their order."""
    when = pl.Datetime("us", tz)
    schema = {"user_id": pl.Utf8, "nickname": pl.Utf8, "nicknames": pl.List(pl.Utf8), "messages": pl.Int64,
              "channels": pl.List(pl.Utf8), "first_seen": when, "last_seen": when}
    cols = list(zip(*rows, strict=True)) if rows else [[] for _ in schema]
    return pl.DataFrame({name: list(col) for name, col in zip(schema, cols, strict=True)}, schema=schema)


def _rows(lines: pa.Table) -> list[tuple]:
    """_per_user's rows in Python, times in µs since the epoch."""
    return _rows_of(lines.column("user_id").to_pylist(), lines.column("nickname").to_pylist(),
                    lines.column("channel_name").to_pylist(), lines.column("chat_time").to_pylist())


def _rows_of(users: list, nicks: list, names: list, us: list) -> list[tuple]:
    """_rows of the lines' columns as lists (in file order)."""
    acc: dict[str, list] = {}
    for i, u in enumerate(users):
        t = us[i]
        a = acc.get(u)
        if a is None:
            a = acc[u] = [None, None, {}, 0, set(), t, t]  # latest nickname, its time, firsts, lines, names, span
        n = nicks[i]
        if n is not None:
            if a[1] is None or t > a[1]:
                a[0], a[1] = n, t
            if n not in a[2] or t < a[2][n]:
                a[2][n] = t
        a[3] += 1
        a[4].add(names[i])
        a[5], a[6] = min(a[5], t), max(a[6], t)
    out = []
    for u, a in acc.items():
        order = sorted(a[2], key=lambda n: (a[2][n], n))
        listed = sorted(n for n in a[4] if n is not None) + ([None] if None in a[4] else [])
        out.append((u, a[0], order or None, a[3], listed, a[5], a[6]))
    return out
