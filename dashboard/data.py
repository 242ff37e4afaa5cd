"""The dashboard's only door to the data: cached wrappers over the warehouse query functions
(`st.cache_resource` for the Warehouse, `st.cache_data(ttl=300)` for query results), and pure
helpers that shape results for display and download. Pages never write SQL.

Every cached wrapper takes the lake root as its first argument, so a different
WAREHOUSE_DIR (tests, a second lake) never shares cache entries with another; and the
lake's sync token (`sync_token`: the identity of its _sync/state.json, which the sync,
retention and forget-user rewrite last), read once per run by the sidebar, so what a sync
wrote shows at the next rerun instead of when a cached answer expires. Today's data
(PostgreSQL's rows since the sync) refreshes at its own interval, LIVE_TTL."""
from __future__ import annotations

import hashlib
import io
import json
import logging
import threading
import time
from dataclasses import dataclass
from datetime import date, timedelta

import polars as pl
import streamlit as st

import warehouse
from core import settings
from dashboard.i18n import t
from warehouse.lake.health import WHOLE_TABLES, LakeReadError, file_key
from warehouse.lake.layout import Lake
from warehouse.lake.state import STATE_PATH

log = logging.getLogger(__name__)

TTL = 300  # seconds a query result is reused at most (a sync shows sooner: sync_token is in the key)
LIVE_TTL = 60  # with today's data from PostgreSQL: at most a minute old
SLOW_QUERY_SECONDS = 1.0  # a query this slow is logged at INFO; the others at DEBUG (LOG_LEVEL=DEBUG)
DEFAULT_DAYS = 7
EVERY = ("day", "hour", "minute")


def root() -> str:
    """The lake root the app reads now (WAREHOUSE_DIR, or DATA_DIR/warehouse)."""
    return settings.warehouse_dir()


def display_tz() -> str:
    return settings.get("DISPLAY_TZ") or "Asia/Seoul"


@dataclass
class _Handle:
    wh: object
    lock: threading.Lock  # one DuckDB connection, many Streamlit sessions (threads)


def _open(root: str, tz: str | None, live: bool, types: tuple[str, ...] | None) -> _Handle:
    started = time.monotonic()
    options = {}
    if live:
        options["live"] = True
    if types:
        options["types"] = list(types)
    wh = warehouse.open(root, tz=tz, **options) if options else warehouse.Warehouse(root, tz)
    log.info("opened warehouse %s (tz=%s live=%s types=%s) in %.2fs", root, tz, live,
             ",".join(types or ()) or "all", time.monotonic() - started)
    return _Handle(wh, threading.Lock())


@st.cache_resource(ttl=3600, show_spinner=False)
def _handle(root: str, tz: str | None = None, live: bool = False,
            types: tuple[str, ...] | None = None) -> _Handle:
    return _open(root, tz, live, types)


@st.cache_resource(ttl=LIVE_TTL, show_spinner=False)
def _live_handle(root: str, tz: str | None, types: tuple[str, ...] | None) -> _Handle:
    return _open(root, tz, True, types)


def handle(root: str, tz: str | None = None, live: bool = False,
           types: tuple[str, ...] | None = None) -> _Handle:
    """The shared Warehouse for these options (one per root, zone, live flag and type set;
    no zone is the display zone, so the sidebar's default zone shares it)."""
    tz = tz or display_tz()
    return _live_handle(root, tz, types) if live else _handle(root, tz, False, types)


@st.cache_resource(show_spinner=False)
def _lake(root: str) -> Lake:
    return Lake(root)  # one filesystem handle per root (an S3 one is not free to make)


def sync_token(root: str) -> tuple | None:
    """What changes when the lake's content may have: the identity (size, mtime_ns, inode)
    of its _sync/state.json, which every sync, retention run and forget-user writes last
    (a rename, so a new inode too); None without one. One stat (a HEAD request on S3): the
    sidebar reads it once per run and every cached answer of that run is keyed by it."""
    try:
        lake = _lake(root)
        return file_key(lake, lake.base + "/" + STATE_PATH)
    except OSError as exc:  # unreadable: answers are keyed as for a lake without a state
        log.debug("sync state of %s not read: %s", root, exc)
        return None


def live_days(root: str, tz: str | None, types: tuple[str, ...] | None) -> list[date]:
    """The lake days that today's data reads from PostgreSQL (the live Warehouse's overlay,
    days the lake may not have yet); empty when PostgreSQL cannot be read."""
    return list(handle(root, tz, True, types).wh.live_info.get("days") or ())


def _call(root: str, fn, *args, **kwargs):
    return _call_on(handle(root), fn, *args, **kwargs)


def _call_on(h: _Handle, fn, *args, **kwargs):
    started = time.monotonic()
    with h.lock:
        out = fn(h.wh, *args, **kwargs)
    took = time.monotonic() - started
    slow = took >= SLOW_QUERY_SECONDS
    log.log(logging.INFO if slow else logging.DEBUG, "%s: %s rows in %.3fs%s",
            fn.__name__, getattr(out, "height", "-"), took, " (slow)" if slow else "")
    return out


def api_key(fn) -> str:
    """The cache key of an analyst function (``module.qualname``: Streamlit cannot hash a
    function). A function that is not one of warehouse's (warehouse.__all__) is a ValueError."""
    name = getattr(fn, "__name__", None)
    if name not in warehouse.__all__ or getattr(warehouse, name) is not fn:
        raise ValueError(f"{fn!r} is not one of warehouse's analyst functions (warehouse.__all__)")
    return f"{fn.__module__}.{fn.__qualname__}"


def _run(root, tz, live, types, fn, args, kwargs):
    return _call_on(handle(root, tz, live, types), fn, *args, **dict(kwargs))


def _digest(key: str, args: tuple, items: tuple) -> str:
    """One string for a call's function and arguments (plain values, whose repr is their
    value): Streamlit hashes it instead of walking every argument (the Overview's 300
    channel ids, five queries a run: ~50 ms of a warm run's 220)."""
    return hashlib.blake2b(repr((key, args, items)).encode("utf-8"), digest_size=16).hexdigest()


# the cache hashes root, tz, live, types, synced (sync_token) and `call` (_digest of the function and
# its arguments); the arguments and the function themselves (leading _) it leaves out
@st.cache_data(ttl=TTL, show_spinner=False)
def _cached(root, tz, live, types, synced, call, _args, _kwargs, _fn):
    return _run(root, tz, live, types, _fn, _args, _kwargs)


@st.cache_data(ttl=LIVE_TTL, show_spinner=False)
def _cached_live(root, tz, live, types, synced, call, _args, _kwargs, _fn):
    return _run(root, tz, live, types, _fn, _args, _kwargs)


def query(f, fn, *args, scoped: bool = True, **kwargs):
    """``fn(wh, *args, channels=…, start=…, end=…, **kwargs)`` for the filters `f` (any object
    with root, tz, live, types, channels, start, end — widgets.Filters), cached until the
    lake's sync token changes (f.synced, read once per run by the sidebar; read here when `f`
    has none) or TTL; `fn` is one of warehouse's analyst functions (``warehouse.donations``).
    scoped=False leaves channels/start/end out (functions that take none). Arguments must be
    hashable plain values (str, int, date, tuples)."""
    key = api_key(fn)
    if scoped:
        kwargs = {"channels": _ch(f.channels), "start": f.start, "end": f.end, **kwargs}
    items = tuple(sorted((k, tuple(v) if isinstance(v, list) else v) for k, v in kwargs.items()))
    live = bool(getattr(f, "live", False))
    types = tuple(getattr(f, "types", None) or ()) or None
    tz = getattr(f, "tz", None)
    synced = f.synced if hasattr(f, "synced") else sync_token(f.root)
    runner = _cached_live if live else _cached
    try:
        return runner(f.root, tz, live, types, synced, _digest(key, tuple(args), items), tuple(args), items, fn)
    except LakeReadError:  # no damaged file explains it: a short message here, the cause in the log
        log.error("%s failed reading the lake", fn.__name__, exc_info=True)
        st.error(t("lake_read_error"))
        st.stop()


def damaged(root: str) -> list[tuple[str, date | None]]:
    """The lake's damaged files that answers leave out now (warehouse.Warehouse.damaged):
    (table, day) of chat day partitions, (table, None) of the one-file tables the sync
    rewrites (channels, broadcasts); damaged side tables are not listed (answers are whole:
    the chat is scanned instead). Footers are checked once per file version."""
    h = handle(root)
    with h.lock:
        found = h.wh.damaged()
    return [(d.table, d.day) for d in found if d.day is not None or d.table in WHOLE_TABLES]


def _ch(channels: list[str] | tuple[str, ...] | None) -> list[str] | None:
    return list(channels) if channels else None


# The lake's catalog (its channels and days), which every page's sidebar reads: one shared
# copy (st.cache_resource: not copied per session, so callers must not modify it) per sync
# token, which `python -m dashboard serve` reads before it listens (serve_cli.warm_up)
def channels(root: str, synced: tuple | None = ...) -> pl.DataFrame:
    """warehouse.channel_directory (the sidebar's channel list): channel_id, channel_name,
    messages, as of the sync `synced` (sync_token(root) when not given). Re-reads the lake's
    file list first, so partitions a sync added since show up."""
    return _channels(root, sync_token(root) if synced is ... else synced)


@st.cache_resource(ttl=TTL, show_spinner=False)
def _channels(root: str, synced: tuple | None) -> pl.DataFrame:
    h = handle(root)
    with h.lock:
        h.wh.refresh()
    return _call_on(h, warehouse.channel_directory)


@st.cache_resource(ttl=LIVE_TTL, show_spinner=False)
def live_channels(root: str, tz: str) -> pl.DataFrame:
    """channels() with today's data: the channels PostgreSQL has (one collected since the
    last sync too), counted over the lake and PostgreSQL's rows since; the lake's list when
    PostgreSQL cannot be read (the live Warehouse then answers from the lake alone)."""
    return _call_on(handle(root, tz, True), warehouse.channel_directory)


def bounds(root: str, synced: tuple | None = ...) -> tuple[date | None, date | None]:
    """warehouse.date_bounds: the first and last day present in the lake (or Nones), as of
    the sync `synced` (sync_token(root) when not given)."""
    return _bounds(root, sync_token(root) if synced is ... else synced)


@st.cache_resource(ttl=TTL, show_spinner=False)
def _bounds(root: str, synced: tuple | None) -> tuple[date | None, date | None]:
    return _call(root, warehouse.date_bounds)


# What the default page (the Overview, every channel over the default range) asks, in its order
_DEFAULT_QUESTIONS = ((warehouse.channel_summary, {}), (warehouse.activity, {"every": "day"}),
                      (warehouse.coverage, {}))


def load_accelerators(root: str) -> float:
    """Ask the shared Warehouse the default page's questions once, answers discarded (the
    answer cache stays empty): the accelerators they read are then loaded in the process
    (the chatter days of 300 channels: ~2.5 s on their first read on the 10M lake, ~0.1 s
    after), so the first visit after a server start runs its queries on them. For a server's
    warm-up, before it listens; seconds taken. A lake without days does nothing."""
    started = time.monotonic()
    first, last = bounds(root)
    if first is None or last is None:
        return 0.0
    start, end = default_range(first, last)
    every = channels(root)["channel_id"].to_list()
    h = handle(root)
    for fn, kwargs in _DEFAULT_QUESTIONS:
        _call_on(h, fn, channels=every, start=start, end=end, **kwargs)
    took = time.monotonic() - started
    log.info("accelerators of the default page loaded in %.2fs", took)
    return took


def clear_caches() -> None:
    """Forget cached query results and the open Warehouse (tests; after a sync)."""
    st.cache_data.clear()
    st.cache_resource.clear()


# ---- pure helpers -------------------------------------------------------------------------

def default_range(first: date, last: date, days: int = DEFAULT_DAYS) -> tuple[date, date]:
    """The last `days` days present in the lake, clipped to its first day."""
    return max(first, last - timedelta(days=days - 1)), last


def extend_bounds(first: date, last: date, days: list[date]) -> tuple[date, date]:
    """(first, last) widened to take in `days`."""
    return min([first, *days]), max([last, *days])


def normalize_range(value, first: date, last: date) -> tuple[date, date]:
    """A st.date_input value (a date, or a 1- or 2-tuple while the user is picking) → (start, end)."""
    if isinstance(value, date):
        value = (value,)
    picked = [v for v in (value or ()) if v is not None]
    if not picked:
        return default_range(first, last)
    start, end = picked[0], picked[-1]
    if start > end:
        start, end = end, start
    return max(first, start), min(last, end)


def channel_names(df: pl.DataFrame) -> dict[str, str]:
    """channel_id → display name (the id itself when the name is unknown)."""
    return {cid: (name or cid) for cid, name in df.select("channel_id", "channel_name").iter_rows()}


def activity_summary(df: pl.DataFrame) -> pl.DataFrame:
    """One row per channel over an activity() result: total messages, number of buckets with
    chat, and the busiest bucket's messages and chatters."""
    cols = ["channel_name", "channel_id", "messages", "active_buckets", "peak_messages",
            "peak_chatters", "peak_bucket"]
    if df.is_empty():
        return pl.DataFrame(schema={c: pl.Utf8 for c in cols})
    return (
        df.sort("bucket")
        .group_by("channel_id", maintain_order=True)
        .agg(
            pl.col("channel_name").first(),
            pl.col("messages").sum().alias("messages"),
            pl.len().alias("active_buckets"),
            pl.col("messages").max().alias("peak_messages"),
            pl.col("chatters").max().alias("peak_chatters"),
            pl.col("bucket").sort_by("messages", descending=True).first().alias("peak_bucket"),
        )
        .select(cols)
        .sort("messages", descending=True)
    )


def coverage_figures(cov: pl.DataFrame) -> dict | None:
    """Totals of a warehouse.coverage result: broadcasts, minutes, captured minutes, their
    share (0..1) and how many broadcasts were captured less than whole. None when empty."""
    if cov.is_empty():
        return None
    minutes = float(cov["minutes"].fill_null(0).sum())
    captured = float(cov["captured_minutes"].fill_null(0).sum())
    gaps = int(cov.filter(pl.col("coverage").fill_null(0) < 0.999).height)
    share = captured / minutes if minutes > 0 else 1.0
    return {"broadcasts": cov.height, "minutes": minutes, "captured_minutes": captured,
            "share": min(1.0, share), "gaps": gaps}


def user_label(row: dict, messages: str) -> str:
    """Plain-text label of a search result for a select box (never rendered as markdown).
    `messages`: the label of its message count, with {n}: t("users_label_messages")."""
    count = messages.format(n=row.get("messages") or 0)
    return f"{row.get('nickname') or '?'} · {count} · {str(row.get('user_id'))[:12]}"


def _flat(df: pl.DataFrame) -> pl.DataFrame:
    """Nested columns (lists, structs) as text, since CSV has no nesting."""
    exprs = []
    for name, dtype in df.schema.items():
        if isinstance(dtype, pl.List) and dtype.inner == pl.Utf8:
            exprs.append(pl.col(name).list.join(", ").alias(name))
        elif isinstance(dtype, (pl.List, pl.Array, pl.Struct, pl.Object)):
            exprs.append(pl.col(name).map_elements(
                lambda v: json.dumps(v if not hasattr(v, "to_list") else v.to_list(),
                                     ensure_ascii=False, default=str),
                return_dtype=pl.Utf8).alias(name))
    return df.with_columns(exprs) if exprs else df


# A cell starting with one of these is a formula to a spreadsheet (OWASP "CSV injection")
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
# Inside a cell, a spreadsheet that splits on another separator (";" in semicolon locales,
# a tab) or that breaks the line starts a new cell after one of these, so a formula
# character there (spaces or quotes in between) is defused too: ' goes before it. OWASP:
# "take care of the field separator (e.g., ',', or ';') and quotes".
_INNER_FORMULA = r"""([,;\t\r\n][\s"]*)([=+\-@])"""


def _defused(df: pl.DataFrame) -> pl.DataFrame:
    """Text cells that a spreadsheet would run as a formula, prefixed with a single quote;
    and a quote before each formula character that follows a separator or line break."""
    exprs = []
    for name, dtype in df.schema.items():
        if dtype == pl.Utf8:
            inner = pl.col(name).str.replace_all(_INNER_FORMULA, "${1}'${2}")
            exprs.append(pl.when(inner.str.slice(0, 1).is_in(FORMULA_START)).then("'" + inner)
                         .otherwise(inner).alias(name))
    return df.with_columns(exprs) if exprs else df


def to_csv_bytes(df: pl.DataFrame) -> bytes:
    """CSV, UTF-8 with a BOM so that Excel shows Korean; nested columns as text; chat text
    that a spreadsheet would run as a formula is prefixed with ' (the Parquet keeps it)."""
    return b"\xef\xbb\xbf" + _defused(_flat(df)).write_csv().encode("utf-8")


def to_parquet_bytes(df: pl.DataFrame) -> bytes:
    """Parquet (zstd), types kept as they are."""
    buf = io.BytesIO()
    df.write_parquet(buf, compression="zstd")
    return buf.getvalue()
