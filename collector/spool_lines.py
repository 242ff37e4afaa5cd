"""The spool's line format (pure, no state): a record is one JSON object per line (orjson;
json for what orjson refuses, such as lone surrogates, so text round-trips); a chat push
kept as received (``collector.wire.Frame``) is ``F<items>``, channel id, chat channel id
and the frame bytes, tab-separated, or ``E`` + a JSON array ``[items, channel id, chat
channel id, frame text]`` when a field holds a tab or a newline. ``read_segment`` walks a
segment file, skipping torn and bad lines with a warning."""
from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator
from pathlib import Path

import orjson

from collector.wire import Frame

log = logging.getLogger("collector.spool")


def _encode_one(record: dict) -> bytes:
    try:
        return orjson.dumps(record, default=str, option=orjson.OPT_APPEND_NEWLINE)
    except TypeError:  # a lone surrogate (orjson refuses them): json keeps it, so text round-trips
        return json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str) \
            .encode("utf-8", "surrogatepass") + b"\n"


def encode(records: Iterable[dict]) -> bytes:
    """Newline-terminated JSON lines (UTF-8; lone surrogates kept, so text round-trips)."""
    return b"".join(_encode_one(r) for r in records)


def encode_frame(frame: Frame) -> bytes:
    """The spool line of a frame (see the module docstring)."""
    names = frame.channel_id + frame.chat_channel_id
    if b"\n" in frame.data or "\t" in names or "\n" in names:
        text = frame.data.decode("utf-8", "surrogateescape")
        return b"E" + json.dumps([frame.items, frame.channel_id, frame.chat_channel_id, text],
                                 ensure_ascii=False).encode("utf-8", "surrogateescape") + b"\n"
    head = f"F{frame.items}\t{frame.channel_id}\t{frame.chat_channel_id}\t".encode("utf-8", "surrogateescape")
    return head + frame.data + b"\n"


def decode(line: bytes) -> dict | Frame:
    """One spool line -> its record or frame; ValueError when it is neither."""
    first = line[:1]
    if first == b"F":
        try:
            items, channel_id, cid, data = line[1:].rstrip(b"\n").split(b"\t", 3)
            return Frame(channel_id.decode(), cid.decode(), data, int(items))
        except (ValueError, UnicodeDecodeError) as exc:
            raise ValueError(f"bad frame line ({exc})") from None
    if first == b"E":
        try:
            items, channel_id, cid, text = json.loads(line[1:].decode("utf-8", "surrogateescape"))
            return Frame(channel_id, cid, text.encode("utf-8", "surrogateescape"), int(items))
        except (ValueError, TypeError, UnicodeError) as exc:
            raise ValueError(f"bad frame line ({exc})") from None
    try:
        rec = orjson.loads(line)
    except orjson.JSONDecodeError:  # lone surrogates were written by json (see _encode_one)
        rec = json.loads(line.decode("utf-8", "surrogatepass"))
    if not isinstance(rec, dict):
        raise ValueError(f"not a JSON object but {type(rec).__name__}")
    return rec


def record_count(entry: dict | Frame) -> int:
    """Records a spool entry counts for (a frame: its lines)."""
    return entry.items if isinstance(entry, Frame) else 1


def line_count(line: bytes) -> int:
    """Records a spool line counts for, read from a frame line's head (``F<items>``) without
    decoding the rest; ValueError when the head is not a count."""
    if line[:1] == b"F":
        tab = line.find(b"\t", 1, 24)
        if tab < 2:
            raise ValueError("bad frame line (no item count)")
        return int(line[1:tab])
    if line[:1] == b"E":
        return record_count(decode(line))
    return 1


def _good_lines(path: Path, start: int, take) -> Iterator[tuple[object, int]]:
    """(``take(line)``, byte offset after it) for every complete line from byte ``start`` on; a
    torn last line, or a line ``take`` refuses with ValueError, is skipped with a warning naming
    the file and offset."""
    with open(path, "rb") as f:
        f.seek(start)
        offset = start
        for line in f:
            end = offset + len(line)
            if not line.endswith(b"\n"):
                log.warning("spool %s: torn last line at byte %d skipped (%d bytes without a newline: "
                            "the writer died mid-write)", path, offset, len(line))
            else:
                try:
                    taken = take(line)
                except ValueError as exc:
                    log.warning("spool %s: bad line at byte %d skipped (%s)", path, offset,
                                " ".join(str(exc).split())[:200])
                else:
                    yield taken, end
            offset = end


def _counted(line: bytes) -> tuple[bytes, int]:
    return line, line_count(line)


def read_lines(path: Path, start: int = 0) -> Iterator[tuple[bytes, int, int]]:
    """(line, byte offset after it, records it counts for) for every complete line from byte
    ``start`` on, undecoded (collector.drain_worker decodes them in its child process); a torn
    last line or a line without a readable count is skipped with a warning, as ``read_segment`` does."""
    for (line, count), end in _good_lines(path, start, _counted):
        yield line, end, count


def read_segment(path: Path, start: int = 0) -> Iterator[tuple[dict | Frame, int]]:
    """(record or frame, byte offset after it) for every good line from byte ``start`` on; a torn
    last line or a bad line is skipped with a warning naming the file and offset."""
    return _good_lines(path, start, decode)


def count_records(path: Path) -> int:
    """Records in a segment's complete lines (a frame counts its items)."""
    n = 0
    with open(path, "rb") as f:
        for line in f:
            if not line.endswith(b"\n"):
                continue  # torn: skipped when read
            if line[:1] in (b"F", b"E"):
                try:
                    n += record_count(decode(line))
                    continue
                except ValueError:
                    pass
            n += 1
    return n
