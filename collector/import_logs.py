"""``python -m collector import-logs PATH [--channel-id ID]``: load the chat logs written by
the ChzzkChat desktop viewer into ``stream_chat``, idempotently.

Layout: ``log/{channel_name}/YYYY-MM-DD.log``. PATH is the ``log`` folder (every channel
folder in it), one channel folder (a folder holding ``*.log`` files), or one ``.log`` file
(its folder names the channel). Other files are ignored; a ``.log`` file whose name is not
a valid ``YYYY-MM-DD`` is skipped and reported.

Lines: ``[HH:MM:SS][채팅|후원][uid] nickname: message``, the time in KST, the date from the
file name. Tolerated: a UTF-8 BOM, CRLF line ends, trailing spaces (removed), blank lines
(skipped). The nickname ends at the FIRST ``": "`` after ``"] "``; a nickname that itself
contains ``": "`` is therefore cut there and the rest goes to the message (the original
line is kept in ``raw``). ``nickname:`` with nothing after it is an empty message. When the
time goes back by more than 12 hours within a file, the viewer crossed midnight: the
following lines are on the next day. A line that is not UTF-8, does not match the
pattern, has an impossible time or another kind than 채팅/후원 is refused: counted, up to
``MAX_EXAMPLES`` examples reported (file:line and why), never fatal.

Rows: ``message_type`` chat (code 1) for 채팅, donation (code 10) for 후원 (the log has no
amount); ``chat_time`` at second precision, KST -> UTC; ``user_id`` the uid (None if empty;
``is_anonymous`` when it is ``anonymous``); ``chat_channel_id`` None (the log does not say);
``raw`` = ``{"line", "file", "lineno"}`` with ``file`` relative to the channel's parent
(``{channel_name}/YYYY-MM-DD.log``).

Dedupe key: md5 of ``import|channel_id|date+time|uid|kind|message|n``, ``n`` counting the
identical (time, uid, kind, message) lines before it in the same file (the ingest API gives
the viewer's posted lines the same key: ``collector.ingest_items.viewer_line_key``), so a line said twice
in one second is kept twice and a second import adds nothing. These keys differ from the
live ones (the log has no ms time): a log covering minutes the collector also captured gives
both rows.

The channel: ``--channel-id`` (only with one channel folder or file), else the
``stream_channel`` row whose ``channel_name`` is the folder name (NFC-normalised), else a
new row with the synthetic id ``import:`` + md5(name)[:26] (``enabled = false``, so the
collector never tries to join it). Several rows with that name: refused, pass
``--channel-id``. A ``--channel-id`` not yet known is created the same way (disabled,
named after the folder).
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import re
import time
import unicodedata
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from collector import sink
from collector.answers import KST
from collector.ingest_items import viewer_line_key
from collector.items import ms_to_iso
from collector.records import CHAT_FIELDS
from core import db

log = logging.getLogger(__name__)

KINDS = {"채팅": ("chat", 1), "후원": ("donation", 10)}
SYNTHETIC_PREFIX = "import:"
MAX_EXAMPLES = 10
BATCH_RECORDS = 5_000
MIDNIGHT_JUMP = 12 * 3600      # seconds back in time that mean "the next day"
_LINE = re.compile(r"\[(\d{2}):(\d{2}):(\d{2})\]\[([^\]]*)\]\[([^\]]*)\] (.*)", re.S)
_FILE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\.log")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class LogImportError(RuntimeError):
    """A definitive failure (nothing to import, ambiguous channel): a message for a human."""


@dataclass(frozen=True)
class LogLine:
    seconds: int               # since 00:00 of the file's day
    kind: str                  # 채팅 or 후원
    uid: str
    nickname: str
    message: str


@dataclass
class Report:
    files: int = 0
    files_skipped: int = 0
    lines: int = 0             # non-blank lines read
    taken: int = 0
    refused: int = 0
    blank: int = 0
    inserted: int = 0
    duplicates: int = 0
    examples: list[str] = field(default_factory=list)

    def refuse(self, where: str, why: str) -> None:
        self.refused += 1
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(f"{where}: {why}")


# ---------------------------------------------------------------- pure
def parse_line(text: str) -> tuple[LogLine | None, str | None]:
    """One line (no line end) -> (LogLine, None) or (None, why it is refused)."""
    m = _LINE.fullmatch(text)
    if not m:
        return None, "not a log line ([HH:MM:SS][채팅|후원][uid] nickname: message)"
    hh, mm, ss = int(m.group(1)), int(m.group(2)), int(m.group(3))
    if hh > 23 or mm > 59 or ss > 59:
        return None, f"impossible time {m.group(1)}:{m.group(2)}:{m.group(3)}"
    kind = m.group(4)
    if kind not in KINDS:
        return None, f"unknown kind {kind[:20]!r} (expected 채팅 or 후원)"
    rest = m.group(6)
    nickname, sep, message = rest.partition(": ")
    if not sep:
        if not rest.endswith(":"):
            return None, "no ': ' between nickname and message"
        nickname, message = rest[:-1], ""
    return LogLine(hh * 3600 + mm * 60 + ss, kind, m.group(5), nickname, message), None


def file_day(name: str) -> date | None:
    """The day a log file covers, from its name (``YYYY-MM-DD.log``), else None."""
    m = _FILE.fullmatch(name)
    if not m:
        return None
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        return None


def synthetic_channel_id(name: str) -> str:
    """The stream_channel id of a channel known only by its name."""
    return SYNTHETIC_PREFIX + hashlib.md5(name.encode("utf-8")).hexdigest()[:26]


def chat_row(channel_id: str, day: date, line: LogLine, occurrence: int, raw: dict) -> dict:
    """A chat record (collector/records.py) for one log line."""
    message_type, code = KINDS[line.kind]
    at = datetime(day.year, day.month, day.day, tzinfo=KST) + timedelta(seconds=line.seconds)
    record = dict.fromkeys(CHAT_FIELDS)
    record.update({
        "kind": "chat", "channel_id": channel_id, "user_id": line.uid or None,
        "nickname": line.nickname or None, "message": line.message, "message_type": message_type,
        "msg_type_code": code, "chat_time": ms_to_iso((at - _EPOCH) // timedelta(milliseconds=1)),
        "is_anonymous": line.uid == "anonymous", "raw": raw,
        "dedupe_key": viewer_line_key(channel_id, at, line.uid, line.kind, line.message, occurrence),
    })
    return record


def file_records(data: bytes, channel_id: str, day: date, rel: str, report: Report) -> list[dict]:
    """Every line of one file -> chat records; refused and blank lines are counted in
    ``report``."""
    records: list[dict] = []
    seen: Counter = Counter()
    shift, last = 0, None
    lines = data.split(b"\n")
    if lines and lines[-1] == b"":
        lines.pop()  # the end of the last line, not a line
    for lineno, raw_line in enumerate(lines, start=1):
        try:
            text = raw_line.decode("utf-8")
        except UnicodeDecodeError as exc:
            report.lines += 1
            report.refuse(f"{rel}:{lineno}", f"not UTF-8 ({exc.reason} at byte {exc.start})")
            continue
        text = text.rstrip("\r").lstrip("\ufeff")
        stripped = text.rstrip(" \t\r")
        if not stripped.strip():
            report.blank += 1
            continue
        report.lines += 1
        line, why = parse_line(stripped)
        if line is None:
            report.refuse(f"{rel}:{lineno}", why)
            continue
        if last is not None and line.seconds + MIDNIGHT_JUMP < last:
            shift += 1
        last = line.seconds
        line_day = day + timedelta(days=shift)
        ident = (line_day, line.seconds, line.uid, line.kind, line.message)
        records.append(chat_row(channel_id, line_day, line, seen[ident],
                                {"line": text, "file": rel, "lineno": lineno}))
        seen[ident] += 1
        report.taken += 1
    return records


# ---------------------------------------------------------------- files
def discover(path: Path) -> dict[str, list[Path]]:
    """PATH -> {channel folder name (NFC): its .log files, sorted}."""
    if not path.exists():
        raise LogImportError(f"{path} does not exist")
    if path.is_file():
        return {_name(path.parent): [path]}
    own = sorted(p for p in path.glob("*.log") if p.is_file())
    if own:
        return {_name(path): own}
    found: dict[str, list[Path]] = {}
    for sub in sorted(p for p in path.iterdir() if p.is_dir() and not p.name.startswith(".")):
        logs = sorted(p for p in sub.glob("*.log") if p.is_file())
        if logs:
            found.setdefault(_name(sub), []).extend(logs)
    if not found:
        raise LogImportError(f"no .log files in {path} or in its channel folders")
    return found


def _name(folder: Path) -> str:
    name = unicodedata.normalize("NFC", folder.resolve().name)
    if not name:
        raise LogImportError(f"{folder} has no folder name to take the channel name from")
    return name


def resolve_channel(conn, name: str, channel_id: str | None) -> str:
    """The channel_id to store a channel folder's lines under (see the module docstring)."""
    with conn, conn.cursor() as cur:
        if channel_id is None:
            cur.execute("SELECT channel_id FROM stream_channel WHERE channel_name = %s ORDER BY id", (name,))
            ids = [r[0] for r in cur.fetchall()]
            if len(ids) > 1:
                raise LogImportError(f"channel name {name!r} matches {len(ids)} channels ({', '.join(ids[:5])}); "
                                   "pass --channel-id")
            if ids:
                return ids[0]
            channel_id = synthetic_channel_id(name)
        cur.execute("INSERT INTO stream_channel (channel_id, channel_name, enabled) VALUES (%s, %s, false) "
                    "ON CONFLICT (channel_id) DO NOTHING", (channel_id, name))
        if cur.rowcount:
            log.info("new channel %s named %r (disabled: import only)", channel_id, name)
    return channel_id


def import_path(conn, path: Path, channel_id: str | None = None) -> Report:
    """Import every log under ``path``; returns the report. Raises LogImportError for a
    definitive failure, before anything is stored."""
    t0 = time.monotonic()
    channels = discover(path)
    if channel_id is not None and len(channels) > 1:
        raise LogImportError(f"--channel-id needs one channel's folder or file; {path} holds {len(channels)} "
                           f"channel folders")
    targets = {name: resolve_channel(conn, name, channel_id) for name in channels}
    report = Report()
    batch: list[dict] = []

    def store() -> None:
        result = sink.store(conn, batch, log_level=logging.DEBUG)
        report.inserted += result.chat_inserted
        report.duplicates += result.chat_duplicates
        batch.clear()

    for name, files in channels.items():
        for file in files:
            rel = f"{name}/{file.name}"
            day = file_day(file.name)
            if day is None:
                report.files_skipped += 1
                if len(report.examples) < MAX_EXAMPLES:
                    report.examples.append(f"{rel}: file name is not a date (YYYY-MM-DD.log); file skipped")
                continue
            taken, refused = report.taken, report.refused
            batch.extend(file_records(file.read_bytes(), targets[name], day, rel, report))
            report.files += 1
            log.info("%s: %d lines taken, %d refused (%.1fs)", rel, report.taken - taken,
                     report.refused - refused, time.monotonic() - t0)
            if len(batch) >= BATCH_RECORDS:
                store()
    if batch:
        store()
    return report


# ---------------------------------------------------------------- CLI
def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("path", metavar="PATH",
                        help="the log folder, one channel's folder (log/{channel_name}) or one YYYY-MM-DD.log file")
    parser.add_argument("--channel-id", default=None, metavar="ID",
                        help="store under this channel id instead of looking the folder name up")


def run(args: argparse.Namespace) -> int:
    t0 = time.monotonic()
    channel_id = args.channel_id.strip() if args.channel_id else None
    conn = db.connect()
    try:
        report = import_path(conn, Path(args.path), channel_id or None)
    finally:
        conn.close()
    for example in report.examples:
        log.info("refused %s", example)
    log.info("import-logs done: %d files read (%d skipped), %d lines taken, %d refused, %d blank; "
             "%d rows inserted, %d duplicates in %.1fs", report.files, report.files_skipped, report.taken,
             report.refused, report.blank, report.inserted, report.duplicates, time.monotonic() - t0)
    return 0
