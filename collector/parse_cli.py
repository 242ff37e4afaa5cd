"""``python -m collector parse [FILE]``: frames in, records out.

Reads one JSON frame per line (blank lines skipped) from FILE or stdin ("-"), or a file
that holds one pretty-printed JSON object or array of frames, and writes one JSON record
per line (``collector.records``) to stdout. Lines of tests/data/samples.jsonl work as
they are: keys starting with ``_`` are dropped and ``_raw`` (the exact wire text), when
present, is what gets parsed. Lines that do not parse are written as ``dead_letter``
records; the exit status is 0 for them too, and 2 only when FILE cannot be opened.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator

from collector.protocol import parse_frame
from collector.records import KINDS

log = logging.getLogger(__name__)
MAX_MULTILINE_BYTES = 64 * 1024 * 1024  # a pretty-printed document larger than this is read as lines


def configure(parser) -> None:
    parser.add_argument("file", nargs="?", default="-", metavar="FILE",
                        help="frames, one JSON per line, or one pretty-printed JSON document "
                             "(default: stdin; '-' is stdin)")


def sample_payload(value):
    """A decoded line -> what to parse: for annotated samples (keys starting with ``_``),
    ``_raw`` when present, else the object without the ``_`` keys; anything else as is."""
    if isinstance(value, dict) and any(isinstance(k, str) and k.startswith("_") for k in value):
        if isinstance(value.get("_raw"), str):
            return value["_raw"]
        return {k: v for k, v in value.items() if not (isinstance(k, str) and k.startswith("_"))}
    return value


def records_for_line(line: bytes) -> list[dict]:
    """One input line (bytes) -> its records. Annotated sample lines go through
    ``sample_payload``, a one-line array of frames is a document; every other line is
    parsed as it is (so a dead letter keeps the exact line)."""
    head = line.lstrip()[:1]
    if (head == b"{" and b'"_' in line) or head == b"[":
        try:
            value = json.loads(line)
        except (ValueError, RecursionError):
            value = None
        if isinstance(value, dict) and value is not (payload := sample_payload(value)):
            return parse_frame(payload)
        if isinstance(value, list) and value and all(isinstance(v, dict) for v in value):
            return records_for_document(value)
    return parse_frame(line)


def records_for_document(value) -> list[dict]:
    """A whole pretty-printed document: an object is one frame, an array a list of frames."""
    frames = value if isinstance(value, list) else [value]
    out: list[dict] = []
    for frame in frames:
        out.extend(parse_frame(sample_payload(frame) if isinstance(frame, dict) else
                               json.dumps(frame, ensure_ascii=False)))
    return out


def _try_json(buffer: list[bytes]):
    try:
        return json.loads(b"".join(buffer)), True
    except (ValueError, RecursionError):
        return None, False


def iter_records(lines: Iterable[bytes]) -> Iterator[dict]:
    """Records for a stream of lines. A line that starts a JSON object/array but does not
    end it starts a multi-line document, read until it parses; if it never does, its
    lines are parsed one by one (and become dead letters)."""
    buffer: list[bytes] = []
    size = 0
    for line in lines:
        if buffer:
            buffer.append(line)
            size += len(line)
            if line.rstrip().endswith((b"}", b"]")):
                value, ok = _try_json(buffer)
                if ok:
                    yield from records_for_document(value)
                    buffer, size = [], 0
                    continue
            if size > MAX_MULTILINE_BYTES:
                pending, buffer, size = buffer, [], 0
                for held in pending:
                    if held.strip():
                        yield from records_for_line(held)
            continue
        stripped = line.strip()
        if not stripped:
            continue
        if stripped[:1] in (b"{", b"["):
            _value, ok = _try_json([stripped])
            if not ok:
                buffer, size = [line], len(line)
                continue
        yield from records_for_line(stripped)
    for held in buffer:  # an unfinished document: every line on its own
        if held.strip():
            yield from records_for_line(held.strip())


def _open(path: str):
    if path == "-":
        return sys.stdin.buffer
    return open(path, "rb")  # closed in run()


def run(args) -> int:
    try:
        source = _open(args.file)
    except OSError as exc:
        print(f"collector parse: cannot open {args.file}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    counts: Counter[str] = Counter()
    t0 = time.monotonic()
    out = sys.stdout.buffer
    try:
        for record in iter_records(source):
            counts[record.get("kind", "?")] += 1
            out.write(json.dumps(record, ensure_ascii=False).encode("utf-8", "replace") + b"\n")
        out.flush()
    except BrokenPipeError:  # e.g. `| head`: the reader is gone, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    finally:
        if source is not sys.stdin.buffer:
            source.close()
    summary = " ".join(f"{kind}={counts.get(kind, 0)}" for kind in KINDS)
    log.info("parsed %s: %d records (%s) in %.2fs", "stdin" if args.file == "-" else args.file,
             sum(counts.values()), summary, time.monotonic() - t0)
    return 0
