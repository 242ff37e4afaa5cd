"""Today's data: the PostgreSQL rows the lake does not hold yet, laid over the lake's views,
and the message-type filter. Used by ``Warehouse(live=True, types=…)`` (warehouse/read/warehouse.py).

The overlay is exact: it asks the sync's own planner (``sync.plan``, from the lake's
state.json) which days PostgreSQL touched since the last sync — new rows, late rows,
blinds and edits (updated_at), deletions (tombstones) — and reads those days WHOLE through
the sync's own extraction (``sync.day_rows``: same SELECT, columns, types, order, and the
same exclusions of opted-out users and deleted rows, compact rows' raw and badges as text;
archived days merged with the lake as the sync merges them). The lake's partitions of those
days are left out of the ``chat`` view, so no row is counted twice; ``channels`` becomes
PostgreSQL's stream_channel, as the next sync would write it. One short read-only REPEATABLE READ transaction, so the days and
their rows are one snapshot. See docs/LIVE_DATA.md.
"""
from __future__ import annotations

import logging
import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime

import duckdb
import pyarrow as pa

from collector.records import MESSAGE_TYPES, UNKNOWN_TYPE
from core import settings
from core.redact import redact
from warehouse.lake import health
from warehouse.lake.layout import STATE_PATH, Lake, StateUnreadable
from warehouse.lake.tables import CHANNELS, CHANNELS_SCHEMA, CHAT, CHAT_SCHEMA

log = logging.getLogger(__name__)
TYPES = tuple(sorted(set(MESSAGE_TYPES.values()) | {UNKNOWN_TYPE}))
LIVE_CHAT_SCHEMA = CHAT_SCHEMA.append(pa.field("day", pa.date32()))

# The composed views (constant texts; the type list is a bound DuckDB variable).
_TYPES_FILTER = " WHERE list_contains(getvariable('chat_types'), message_type)"
_CHAT_VIEW = "CREATE OR REPLACE VIEW chat AS SELECT * FROM chat_lake{f}"
_CHAT_LIVE_VIEW = ("CREATE OR REPLACE VIEW chat AS SELECT * FROM chat_lake{f}"
                   " UNION ALL BY NAME SELECT * FROM chat_live{f}")


@dataclass
class Overlay:
    """PostgreSQL's rows of the days it touched since the lake's last sync."""
    days: list[date]              # taken whole from PostgreSQL, left out of the lake side
    chat: pa.Table                # their rows (LIVE_CHAT_SCHEMA), as the sync writes them
    channels: pa.Table | None     # stream_channel as the sync writes it (None: no such table)
    read_at: datetime
    seconds: float


def check_types(types: Iterable[str] | None) -> tuple[str, ...] | None:
    """`types` as a sorted tuple of known message types (None stays None: all types).
    A string, or a value that is no message type, is a ValueError naming the valid ones."""
    if types is None:
        return None
    if isinstance(types, str | bytes):
        raise ValueError(f"types={types!r}: give a list of message types, e.g. [{types!r}]")
    out = tuple(sorted(set(types)))
    bad = [t for t in out if t not in TYPES]
    if bad:
        raise ValueError(f"unknown message type(s) {', '.join(map(repr, bad))}: use any of {', '.join(TYPES)}")
    return out


class TooManyDays(Exception):
    """More days to read than LIVE_MAX_DAYS allows, or more rows than LIVE_MAX_ROWS."""


def read_overlay(lake: Lake, url: str | None = None) -> Overlay:
    """Read the overlay for `lake` from PostgreSQL (DATABASE_URL unless `url`). Days are
    the lake's partition days (the zone its syncs used, not the display zone). Raises the
    connection's error when PostgreSQL cannot be reached."""
    # the PostgreSQL side is imported here, when a live warehouse is opened: the read side
    # alone (a notebook's `import warehouse`) loads neither psycopg2 nor the sync
    import psycopg2.extensions

    from core import db
    from warehouse.sync import compact, extract
    from warehouse.sync import export as sync

    t0 = time.monotonic()
    read_at = datetime.now(UTC)
    state = lake.state()
    tz = state.timezone or settings.get("DISPLAY_TZ") or "Asia/Seoul"
    conn = db.connect(url, migrate_schema=False)
    try:
        conn.autocommit = False
        conn.isolation_level = psycopg2.extensions.ISOLATION_LEVEL_REPEATABLE_READ
        conn.readonly = True
        todo, _, missing = sync.plan(conn, lake, state, tz, None, False)
        archived = set(state.archived_days)
        # an archived day whose partition is damaged cannot be merged: left out, as the lake's views leave it
        days = [d for d in todo.get(CHAT.name, [])
                if d not in archived or not health.unreadable(lake, lake.part_path(CHAT, d))]
        cap = settings.get_int("LIVE_MAX_DAYS")
        if 0 < cap < len(days):  # each day is read whole into memory: a lake far behind is refused
            raise TooManyDays(f"PostgreSQL holds {len(days)} day(s) the lake has not synced ({days[0]} .. "
                              f"{days[-1]}), more than LIVE_MAX_DAYS={cap}; showing the lake's data only: "
                              "run `python -m warehouse sync`")
        opted_out = sync.opted_out_users(conn) if archived & set(days) else set()
        budget = settings.get_int("LIVE_MAX_ROWS")
        dictionaries = compact.load_dictionaries(conn) if days else {}
        parts, held = [], 0
        for day in days:  # read as streamed: past the budget the read stops, not after it
            parts.append(_with_day(sync.day_rows(conn, lake, CHAT, day, tz, archived, opted_out, dictionaries),
                                   day, budget - held if budget > 0 else None))
            held += parts[-1].num_rows
            if 0 < budget < held:
                raise TooManyDays(f"PostgreSQL holds more than LIVE_MAX_ROWS={budget} rows in the {len(days)} "
                                  f"day(s) the lake has not synced ({days[0]} .. {days[-1]}); showing the "
                                  "lake's data only: run `python -m warehouse sync`")
        channels = None
        if CHANNELS.name not in missing:
            channels = pa.Table.from_batches(list(extract.stream(conn, CHANNELS)), schema=CHANNELS_SCHEMA)
    finally:
        conn.rollback()
        conn.close()
    chat = pa.concat_tables(parts) if parts else LIVE_CHAT_SCHEMA.empty_table()
    overlay = Overlay(days, chat, channels, read_at, time.monotonic() - t0)
    log.info("live overlay: %d day(s) %s, %d rows from PostgreSQL in %.2fs", len(days),
             ",".join(d.isoformat() for d in days) or "-", chat.num_rows, overlay.seconds)
    return overlay


def _with_day(data: pa.Table | Iterable[pa.RecordBatch], day: date, budget: int | None = None) -> pa.Table:
    """The day's rows with a `day` column; batches are taken only until they pass `budget`
    rows (None: all), so the caller sees the overflow without the whole day in memory."""
    if isinstance(data, pa.Table):
        table = data
    else:
        batches, held = [], 0
        for batch in data:
            batches.append(batch)
            held += batch.num_rows
            if budget is not None and held > budget:
                close = getattr(data, "close", None)
                if close is not None:
                    close()  # the extraction drains its COPY, so the connection stays sound
                break
        table = pa.Table.from_batches(batches, schema=CHAT_SCHEMA)
    table = table.cast(CHAT_SCHEMA)
    return table.append_column("day", pa.repeat(pa.scalar(day, pa.date32()), table.num_rows))


def load(lake: Lake) -> tuple[Overlay | None, dict]:
    """(overlay or None, live_info) — never raises: an overlay that cannot be read gives None,
    the reason (one line without credentials) in live_info["error"] and what kind of reason
    in live_info["cause"]: "limit" (LIVE_MAX_DAYS/LIVE_MAX_ROWS: the text counts the lake's
    waiting days), "state" (the lake's state.json is unreadable) or "postgres"."""
    read_at = datetime.now(UTC)
    try:
        overlay = read_overlay(lake)
    except Exception as exc:  # noqa: BLE001 - any failure leaves the lake alone answering
        cause, error = ("limit", str(exc)) if isinstance(exc, TooManyDays) else (
            ("state", f"today's data not added: {exc}") if isinstance(exc, StateUnreadable) else
            ("postgres", describe_error(exc)))
        log.warning("live overlay unavailable, answering from the lake alone: %s", error)
        return None, {"enabled": True, "days": [], "rows": 0, "read_at": read_at, "error": error, "cause": cause}
    return overlay, {"enabled": True, "days": list(overlay.days), "rows": overlay.chat.num_rows,
                     "read_at": overlay.read_at, "error": None, "cause": None}


def off_info() -> dict:
    """live_info of a Warehouse opened without live."""
    return {"enabled": False, "days": [], "rows": 0, "read_at": None, "error": None, "cause": None}


def describe_error(exc: BaseException) -> str:
    """One line saying what failed, secrets masked (core.redact: URL passwords, password=...)."""
    lines = [ln.strip() for ln in str(exc).splitlines() if ln.strip()]
    text = redact(f"{type(exc).__name__}: {lines[0] if lines else 'no message'}")
    return "PostgreSQL not readable (" + text + "); showing the lake's data only"


def state_key(lake: Lake) -> tuple | None:
    """Identity of the lake's state.json (changes with every sync), or None without one."""
    info = lake.fs.get_file_info(lake.base + "/" + STATE_PATH)
    return (info.size, info.mtime_ns) if info.type.name == "File" else None


def compose(con: duckdb.DuckDBPyConnection, overlay: Overlay | None, types: tuple[str, ...] | None,
            keep: list) -> None:
    """Create the ``chat`` view over ``chat_lake`` (the lake side, overlay days left out by
    the caller) plus the overlay's rows, keeping only `types`; and ``channels`` over the
    overlay's channels, else ``channels_lake``. Arrow tables registered go into `keep`."""
    if types is not None:
        con.execute("SET VARIABLE chat_types = ?::VARCHAR[]", [list(types)])
    where = _TYPES_FILTER if types is not None else ""
    if overlay is not None and overlay.days:
        # copied into a DuckDB table: its scans are faster than the Arrow table's
        con.register("chat_live_arrow", overlay.chat)
        con.execute("CREATE OR REPLACE TABLE chat_live AS SELECT * FROM chat_live_arrow")
        con.unregister("chat_live_arrow")
        con.execute(_CHAT_LIVE_VIEW.format(f=where))  # constant fragments only
    else:
        con.execute("DROP TABLE IF EXISTS chat_live")  # an earlier overlay's rows, if any
        con.execute(_CHAT_VIEW.format(f=where))
    if overlay is not None and overlay.channels is not None:
        keep.append(overlay.channels)
        con.register("channels", overlay.channels)
    else:
        con.execute("CREATE OR REPLACE VIEW channels AS SELECT * FROM channels_lake")
