"""The audit log of user and keyword searches and of failed sign-ins: an append-only JSONL
file (DASHBOARD_AUDIT_FILE, default DATA_DIR/audit.jsonl), one record a line:

    {"time": "2026-09-01T12:00:00.123+00:00", "account": "manager", "role": "streamer",
     "kind": "user_search", "query": "김", "channels": ["a1b2..."]}
    {"time": "...", "account": "<the name typed>", "role": "", "kind": "sign_in_failed",
     "query": "", "channels": [], "peer": "203.0.113.7"}

A file rather than a PostgreSQL table because the dashboard needs no database: it reads
the Parquet lake, possibly on a machine where PostgreSQL is not reachable, and an audit
that fails whenever the database does would either block searches or lose records.
Each record is appended under an exclusive flock and fsynced before the search result is
shown; when that fails, the caller must not show the result. Nothing here ever receives
a password.
"""
from __future__ import annotations

import fcntl
import json
import logging
import os
from datetime import UTC, datetime
from pathlib import Path

import polars as pl

from core import settings

log = logging.getLogger(__name__)

KINDS = ("user_search", "user_view", "keyword_search", "sign_in_failed")
COLUMNS = ("time", "account", "role", "kind", "query", "channels", "peer")
NAME_CHARS = 64  # of a name typed at a failed sign-in (an account name is at most 64)
LOCAL = "local"  # the account name recorded when no accounts are configured


def audit_file() -> Path:
    """DASHBOARD_AUDIT_FILE, or DATA_DIR/audit.jsonl."""
    p = Path(settings.get("DASHBOARD_AUDIT_FILE") or settings.data_dir() / "audit.jsonl")
    return p if p.is_absolute() else Path.cwd() / p


def record(account, kind: str, query: str, channels, now: datetime | None = None) -> dict:
    """The record for one search by `account` (an accounts.Account, or None: local)."""
    if kind not in KINDS:
        raise ValueError(f"audit kind {kind!r} is not one of {', '.join(KINDS)}")
    return {
        "time": (now or datetime.now(UTC)).isoformat(timespec="milliseconds"),
        "account": getattr(account, "name", None) or LOCAL,
        "role": getattr(account, "role", None) or "admin",
        "kind": kind,
        "query": str(query),
        "channels": sorted(channels or ()),
    }


def sign_in_failure(name: str, peer: str, now: datetime | None = None) -> dict:
    """The record of a failed sign-in: the name typed (cut to NAME_CHARS) and the peer
    address of the connection ("local" for loopback). Never the password."""
    return {"time": (now or datetime.now(UTC)).isoformat(timespec="milliseconds"), "account": str(name)[:NAME_CHARS],
            "role": "", "kind": "sign_in_failed", "query": "", "channels": [], "peer": str(peer)}


def append(rec: dict, path: Path | None = None) -> None:
    """Append one record: flock, write, fsync. OSError when it could not be stored."""
    path = path or audit_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(rec, ensure_ascii=False, separators=(",", ":")) + "\n").encode("utf-8")
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)  # also releases the lock
    who = "-" if rec["kind"] == "sign_in_failed" else rec["account"]  # a typed name may be a password
    log.info("audit: %s by %s over %d channel(s)", rec["kind"], who, len(rec["channels"]))


def read(path: Path | None = None) -> tuple[pl.DataFrame, int]:
    """(every record, newest first; number of unreadable lines skipped)."""
    path = path or audit_file()
    rows, bad = [], 0
    try:
        with path.open("r", encoding="utf-8", errors="replace") as src:
            fcntl.flock(src.fileno(), fcntl.LOCK_SH)
            lines = src.readlines()
    except FileNotFoundError:
        lines = []
    for line in lines:
        if not line.strip():
            continue
        try:
            rec = json.loads(line)
            rows.append({c: (", ".join(rec[c]) if c == "channels" else str(rec.get(c, "") if c == "peer" else rec[c]))
                         for c in COLUMNS})
        except (ValueError, KeyError, TypeError):
            bad += 1
    if bad:
        log.warning("audit: %d unreadable line(s) in %s skipped", bad, path)
    df = pl.DataFrame(rows, schema={c: pl.Utf8 for c in COLUMNS})
    return df.reverse(), bad
