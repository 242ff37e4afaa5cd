"""The sync state (``<root>/_sync/state.json``), typed: what the last sync, retention and
forget-user left for the next one. Parsed once (`SyncState.parse`: an unreadable file is a
StateUnreadable that says what to do), changed by pure methods that return a new state, and
written by one function, ``Lake.write_state`` (warehouse/lake/layout.py: temporary file, then
rename). The JSON keeps the shape of version 2, so readers of old and new files agree:

    version, last_sync (ISO UTC), timezone (the zone the day partitions were cut in),
    sync_started_at, max_id, max_created_at, max_blinded_at (chat's high-water marks),
    days ({"YYYY-MM-DD": chat rows}), tables ({name: {"max_id", "days"}} for the other day
    tables), archived_days (days whose PostgreSQL rows retention dropped: the lake is their
    only copy). Unknown keys (a newer writer's) are kept as they were.
A field that is not set is left out of the file."""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime
from types import MappingProxyType
from typing import Any

STATE_PATH = "_sync/state.json"
VERSION = 2
CHAT_TABLE = "chat"  # the chat's marks and day counts live at the top level (as in version 1)
_TIMES = ("last_sync", "sync_started_at", "max_created_at", "max_blinded_at")
_KNOWN = frozenset({"version", "timezone", "max_id", "days", "tables", "archived_days", *_TIMES})


class StateUnreadable(ValueError):
    """The lake's _sync/state.json exists but does not parse (the message says what to do)."""

    @classmethod
    def because(cls, why: str) -> StateUnreadable:
        return cls(f"the lake's {STATE_PATH} is unreadable ({' '.join(why.split())[:120]}): restore it from a"
                   " backup of the lake (it holds the sync's high-water marks and the days retention archived,"
                   " whose only copy is the lake); the sync does not run without it")


@dataclass(frozen=True)
class TableMarks:
    """A day table's high-water mark (max id at the last sync; None: never synced whole) and
    its partitions' row counts."""
    max_id: int | None = None
    days: Mapping[date, int] = field(default_factory=dict)


@dataclass(frozen=True)
class SyncState:
    """What state.json holds (see the module docstring); `SyncState()` is a lake never synced."""
    version: int | None = None
    last_sync: datetime | None = None
    timezone: str | None = None
    sync_started_at: datetime | None = None  # the cursor: the last full sync's snapshot start
    max_id: int | None = None
    max_created_at: datetime | None = None
    max_blinded_at: datetime | None = None
    days: Mapping[date, int] = field(default_factory=dict)              # chat rows per day
    tables: Mapping[str, TableMarks] = field(default_factory=dict)      # the other day tables
    archived_days: frozenset[date] = frozenset()
    extra: Mapping[str, Any] = field(default_factory=dict)              # keys this version does not know

    # -- reading -----------------------------------------------------------------------
    @classmethod
    def parse(cls, raw: bytes) -> SyncState:
        """The state in `raw` (state.json's bytes); StateUnreadable when it is not one."""
        try:
            doc = json.loads(raw.decode("utf-8"))
        except ValueError as exc:  # UnicodeDecodeError and JSONDecodeError too
            raise StateUnreadable.because(str(exc)) from exc
        return cls.from_dict(doc)

    @classmethod
    def from_dict(cls, doc: Any) -> SyncState:
        """The state a JSON object describes; StateUnreadable naming the first bad field."""
        if not isinstance(doc, Mapping):
            raise StateUnreadable.because(f"a JSON {type(doc).__name__}, not an object")
        try:
            return cls(
                version=_opt(doc, "version", int),
                last_sync=_time(doc, "last_sync"),
                timezone=_opt(doc, "timezone", str),
                sync_started_at=_time(doc, "sync_started_at"),
                max_id=_opt(doc, "max_id", int),
                max_created_at=_time(doc, "max_created_at"),
                max_blinded_at=_time(doc, "max_blinded_at"),
                days=_counts(doc.get("days"), "days"),
                tables=_tables(doc.get("tables")),
                archived_days=frozenset(_day(d, "archived_days") for d in _list(doc.get("archived_days"),
                                                                                "archived_days")),
                extra={k: v for k, v in doc.items() if k not in _KNOWN},
            )
        except (TypeError, ValueError) as exc:
            raise StateUnreadable.because(str(exc)) from exc

    @property
    def present(self) -> bool:
        """Whether the lake has a state at all (a sync, retention or forget-user wrote one)."""
        return bool(self.to_dict())

    def marks(self, table: str) -> TableMarks:
        """A day table's marks; chat's only once a full sync set the cursor."""
        if table == CHAT_TABLE:
            return TableMarks(self.max_id, self.days) if self.sync_started_at else TableMarks()
        return self.tables.get(table, TableMarks())

    def day_counts(self, table: str) -> Mapping[date, int]:
        """The row count the state records for each of `table`'s partitions."""
        return self.days if table == CHAT_TABLE else self.tables.get(table, TableMarks()).days

    # -- changing (each returns a new state) ---------------------------------------------
    def counted(self, table: str, rows: Mapping[date, int]) -> SyncState:
        """The day counts of `table` with `rows` written (0: the partition was removed)."""
        days = dict(self.day_counts(table))
        for day, n in rows.items():
            if n:
                days[day] = n
            else:
                days.pop(day, None)
        days = dict(sorted(days.items()))
        if table == CHAT_TABLE:
            return replace(self, days=days)
        return self.with_marks(table, TableMarks(self.tables.get(table, TableMarks()).max_id, days))

    def with_marks(self, table: str, marks: TableMarks) -> SyncState:
        """`table`'s marks replaced (chat: its max id and days at the top level)."""
        if table == CHAT_TABLE:
            return replace(self, max_id=marks.max_id, days=dict(marks.days))
        return replace(self, tables={**self.tables, table: marks})

    def archive(self, days: Iterable[date]) -> SyncState:
        """`days` marked archived (their PostgreSQL rows dropped: the lake is their only copy)."""
        return replace(self, archived_days=self.archived_days | frozenset(days))

    # -- writing -------------------------------------------------------------------------
    def to_dict(self) -> dict:
        """The JSON object of state.json (fields not set left out; unknown keys kept)."""
        doc: dict[str, Any] = dict(self.extra)
        for name in ("version", "timezone", "max_id"):
            if getattr(self, name) is not None:
                doc[name] = getattr(self, name)
        for name in _TIMES:
            if getattr(self, name) is not None:
                doc[name] = getattr(self, name).isoformat()
        if self.days:
            doc["days"] = _iso_counts(self.days)
        if self.tables:
            doc["tables"] = {name: {"max_id": m.max_id, "days": _iso_counts(m.days)}
                             for name, m in sorted(self.tables.items())}
        if self.archived_days:
            doc["archived_days"] = sorted(d.isoformat() for d in self.archived_days)
        return doc

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), indent=1, sort_keys=True, ensure_ascii=False).encode("utf-8")


EMPTY = SyncState()
_NO_MAPPING = MappingProxyType({})


def _iso_counts(days: Mapping[date, int]) -> dict[str, int]:
    return {d.isoformat(): n for d, n in sorted(days.items())}


def _opt(doc: Mapping, key: str, kind: type, where: str = ""):
    value = doc.get(key)
    if value is None:
        return None
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ValueError(f"{where}{key} is {value!r}, not a {kind.__name__}")
    return value


def _str(value, where: str) -> str:
    if not isinstance(value, str):
        raise ValueError(f"{where}: key {value!r} is not a string")
    return value


def _time(doc: Mapping, key: str) -> datetime | None:
    value = _opt(doc, key, str)
    if value is None:
        return None
    try:
        return datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(f"{key} is {value!r}, not an ISO time") from None


def _day(value, where: str) -> date:
    try:
        return date.fromisoformat(_str(value, where))
    except ValueError:
        raise ValueError(f"{where}: {value!r} is not a day (YYYY-MM-DD)") from None


def _mapping(value, where: str) -> Mapping:
    if value is None:
        return _NO_MAPPING
    if not isinstance(value, Mapping):
        raise ValueError(f"{where} is a {type(value).__name__}, not an object")
    return value


def _list(value, where: str) -> list:
    if value is None:
        return []
    if not isinstance(value, list):
        raise ValueError(f"{where} is a {type(value).__name__}, not a list")
    return value


def _tables(value) -> dict[str, TableMarks]:
    out = {}
    for name, marks in _mapping(value, "tables").items():
        marks = _mapping(marks, f"tables.{_str(name, 'tables')}")
        out[name] = TableMarks(_opt(marks, "max_id", int, f"tables.{name}."),
                               _counts(marks.get("days"), f"tables.{name}.days"))
    return out


def _counts(value, where: str) -> dict[date, int]:
    out = {}
    for day, n in _mapping(value, where).items():
        if not isinstance(n, int) or isinstance(n, bool):
            raise ValueError(f"{where}.{day} is {n!r}, not a row count")
        out[_day(day, where)] = n
    return dict(sorted(out.items()))
