"""``python -m collector import-logs PATH [--channel-id ID]``: load the chat logs written by
the ChzzkChat desktop viewer into ``stream_chat``, idempotently.

Layout: ``log/{channel_name}/YYYY-MM-DD.log``. PATH is the ``log`` folder (every channel
folder in it), one channel folder (a folder holding ``*.log`` files), or one ``.log`` file
(its folder names the channel). Other files are ignored; a ``.log`` file whose name is not
a valid ``YYYY-MM-DD`` is skipped and reported, and so is a file or channel folder that is a
symlink resolving outside a folder PATH.

Lines: ``[HH:MM:SS][채팅|후원][uid] nickname: message``, the time in KST, the date from the
file name. Tolerated: a UTF-8 BOM, CRLF line ends, trailing spaces (removed), blank lines
(skipped). The nickname ends at the FIRST ``": "`` after ``"] "``; a nickname that itself
contains ``": "`` is therefore cut there and the rest goes to the message (the original
line is kept in ``raw``). ``nickname:`` with nothing after it is an empty message. When the
time goes back by more than 12 hours within a file, the viewer crossed midnight: the
following lines are on the next day. A line that is not UTF-8, does not match the
pattern, has an impossible time or another kind than 채팅/후원, or exceeds the ingest API's
limits (a message of more than 5,000 characters, a nickname or uid of more than 200) is
refused: counted, up to ``MAX_EXAMPLES`` examples reported (file:line and why), never fatal,
never cut. Lines are read with a bounded reader: a line longer than ``MAX_LINE_BYTES`` is
refused without being held in memory, and a file's records are stored in batches of at most
``BATCH_RECORDS`` lines / ``BATCH_CHARS`` characters, so memory does not grow with a file.

Rows: ``message_type`` chat (code 1) for 채팅, donation (code 10) for 후원 (the log has no
amount); ``chat_time`` at second precision, KST -> UTC; ``user_id`` the uid (None if empty;
``is_anonymous`` when it is ``anonymous``); ``chat_channel_id`` None (the log does not say);
``raw`` = ``{"line", "file", "lineno"}`` with ``file`` relative to the channel's parent
(``{channel_name}/YYYY-MM-DD.log``).

Dedupe key: md5 of ``import|channel_id|date+time|uid|kind|message|n``, ``n`` counting the
identical (time, uid, kind, message) lines before it in the same file, within the last
``SEEN_SECONDS`` of log time and ``SEEN_MAX`` distinct lines (the ingest API gives
the viewer's posted lines the same key: ``collector.ingest_items.viewer_line_key``), so a line said twice
in one second is kept twice and a second import adds nothing. These keys differ from the
live ones (the log has no ms time): a log covering minutes the collector also captured gives
both rows.

The channel (``collector/log_folders.py``): ``--channel-id`` (only with one channel folder or
file), else the channel CHZZK (or an earlier import) gave the folder's name -- never a name
set through the ingest API --, else a new disabled channel ``import:`` + md5(name)[:26]. A
folder that cannot be matched safely is refused with what to do: the whole import when it
is the only folder, else that folder alone (the others are imported; the command exits 1).
"""
from __future__ import annotations

import argparse
import hashlib
import logging
import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from collector import sink
from collector.answers import KST
from collector.channels import CHANNEL_ID
from collector.ingest_items import viewer_line_key
from collector.items import ms_to_iso
from collector.log_folders import LogImportError, discover, targets
from collector.records import CHAT_FIELDS
from core import db

log = logging.getLogger(__name__)

KINDS = {"채팅": ("chat", 1), "후원": ("donation", 10)}
MAX_EXAMPLES = 10
MAX_MESSAGE = 5_000            # characters: the ingest API's limit (ingest_items.ChatItem)
MAX_NAME = 200                 # characters of a nickname or uid: the ingest API's limit
MAX_LINE_BYTES = 32 * 1024     # longer than any line within the limits above (UTF-8: <= 4 bytes a character)
BATCH_RECORDS = 5_000          # lines per store
BATCH_CHARS = 4_000_000        # characters of raw lines per store (bounds memory with long lines)
SEEN_SECONDS = 600             # log time over which identical lines are counted (the key's n)
SEEN_MAX = 20_000              # distinct lines remembered for that count
MIDNIGHT_JUMP = 12 * 3600      # seconds back in time that mean "the next day"
_LINE = re.compile(r"\[(\d{2}):(\d{2}):(\d{2})\]\[([^\]]*)\]\[([^\]]*)\] (.*)", re.S)
_FILE = re.compile(r"(\d{4})-(\d{2})-(\d{2})\.log")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


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
    files_skipped: int = 0     # files (and symlinked channel folders) not read
    lines: int = 0             # non-blank lines read
    taken: int = 0
    refused: int = 0
    blank: int = 0
    inserted: int = 0
    duplicates: int = 0
    examples: list[str] = field(default_factory=list)
    folders_refused: list[str] = field(default_factory=list)  # why a channel folder was not imported

    def refuse(self, where: str, why: str) -> None:
        self.refused += 1
        self.note(f"{where}: {why}")

    def skip(self, where: str, why: str) -> None:
        self.files_skipped += 1
        self.note(f"{where}: {why}")
        log.warning("skipped %s: %s", where, why)

    def note(self, example: str) -> None:
        if len(self.examples) < MAX_EXAMPLES:
            self.examples.append(example)


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
    for what, value, limit in (("message", message, MAX_MESSAGE), ("nickname", nickname, MAX_NAME),
                               ("uid", m.group(5), MAX_NAME)):
        if len(value) > limit:
            return None, f"{what} of {len(value)} characters (at most {limit})"
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


def read_lines(stream: BinaryIO, limit: int = MAX_LINE_BYTES) -> Iterator[tuple[int, bytes | int]]:
    """(line number, the line without its ``\\n``) for each line of a binary stream; a line
    longer than ``limit`` bytes comes as its length (an int) and is never held whole."""
    lineno = 0
    while chunk := stream.readline(limit + 1):
        lineno += 1
        if chunk.endswith(b"\n"):
            yield lineno, chunk[:-1]
        elif len(chunk) <= limit:
            yield lineno, chunk  # the last line, without a line end
        else:
            size = len(chunk)
            while (more := stream.readline(1 << 20)) and not more.endswith(b"\n"):
                size += len(more)
            yield lineno, size + max(len(more) - 1, 0)


class _Occurrences:
    """How many identical lines (same second, uid, kind, message) came before this one in a
    file: the ``n`` of the dedupe key. Remembers SEEN_SECONDS of log time and at most
    SEEN_MAX distinct lines, as digests, so memory does not grow with the file."""

    def __init__(self) -> None:
        self._seen: dict[bytes, list[int]] = {}  # digest -> [second in the file, count], oldest first

    def next(self, second: int, line: LogLine) -> int:
        digest = hashlib.md5(f"{second}\0{line.uid}\0{line.kind}\0{line.message}".encode()).digest()
        entry = self._seen.setdefault(digest, [second, 0])
        entry[1] += 1
        while len(self._seen) > SEEN_MAX or next(iter(self._seen.values()))[0] < second - SEEN_SECONDS:
            del self._seen[next(iter(self._seen))]
        return entry[1] - 1


def file_records(stream: BinaryIO, channel_id: str, day: date, rel: str, report: Report) -> Iterator[dict]:
    """The chat records of one file's lines, one at a time; refused and blank lines are
    counted in ``report``."""
    occurrences = _Occurrences()
    shift, last = 0, None
    for lineno, raw_line in read_lines(stream):
        if isinstance(raw_line, int):
            report.lines += 1
            report.refuse(f"{rel}:{lineno}", f"line longer than {MAX_LINE_BYTES} bytes ({raw_line:,} bytes; "
                                             f"a message holds at most {MAX_MESSAGE} characters)")
            continue
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
        occurrence = occurrences.next(shift * 86_400 + line.seconds, line)
        report.taken += 1
        yield chat_row(channel_id, day + timedelta(days=shift), line, occurrence,
                       {"line": text, "file": rel, "lineno": lineno})


# ---------------------------------------------------------------- import
def import_path(conn, path: Path, channel_id: str | None = None) -> Report:
    """Import every log under ``path``, in batches; returns the report. Raises
    LogImportError for a definitive failure, before any line is stored."""
    t0 = time.monotonic()
    report = Report()
    channels, skipped = discover(path)
    for where, why in skipped:
        report.skip(where, why)
    if channel_id is not None and len(channels) > 1:
        raise LogImportError(f"--channel-id needs one channel's folder or file; {path} holds {len(channels)} "
                             f"channel folders")
    if channel_id is not None and CHANNEL_ID.match(channel_id):
        channel_id = channel_id.lower()  # as CHZZK and the ingest API write them
    folders, report.folders_refused = targets(conn, list(channels), channel_id)
    batch: list[dict] = []
    chars = 0

    def store() -> None:
        nonlocal chars
        result = sink.store(conn, batch, log_level=logging.DEBUG)
        report.inserted += result.chat_inserted
        report.duplicates += result.chat_duplicates
        batch.clear()
        chars = 0

    for name, files in channels.items():
        if name not in folders:
            continue
        for file in files:
            rel = f"{name}/{file.name}"
            day = file_day(file.name)
            if day is None:
                report.files_skipped += 1
                report.note(f"{rel}: file name is not a date (YYYY-MM-DD.log); file skipped")
                continue
            taken, refused = report.taken, report.refused
            with open(file, "rb") as stream:
                for record in file_records(stream, folders[name], day, rel, report):
                    batch.append(record)
                    chars += len(record["raw"]["line"])
                    if len(batch) >= BATCH_RECORDS or chars >= BATCH_CHARS:
                        store()
            report.files += 1
            log.info("%s: %d lines taken, %d refused (%.1fs)", rel, report.taken - taken,
                     report.refused - refused, time.monotonic() - t0)
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
    for why in report.folders_refused:
        log.error("not imported: %s", why)
    return 1 if report.folders_refused else 0
