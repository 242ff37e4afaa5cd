"""``python -m collector parse [FILE]``: frames in, records out.

Reads one JSON frame per line (blank lines skipped) from FILE or stdin ("-") and writes
one JSON record per line (``collector.records``; hidden characters such as C1 controls and
bidi overrides as ``\\u`` escapes, core.cli.json_line) to stdout, each input line's records
written and flushed as soon as that line is read, so piped input streams. A line that
does not parse is one ``dead_letter`` record and costs nothing more: it is never joined
to the lines after it. Lines of tests/data/samples.jsonl work as they are: keys starting
with ``_`` are dropped and ``_raw`` (the exact wire text), when present, is what gets
parsed. A pretty-printed JSON object or array of frames (``json.dumps(indent=...)``,
``jq``) may stand between the lines: a line that is only ``{`` or ``[`` opens it, its
lines are indented, and its closing ``}`` or ``]`` at column 0 ends it; it is decoded
once, then. A document cut off (a line at column 0 that does not close it, the end of
the input, or more than MAX_MULTILINE_BYTES) is one dead letter. The exit status is 0
for dead letters too, and 2 only when FILE cannot be opened.
"""
from __future__ import annotations

import json
import logging
import os
import sys
import time
from collections import Counter
from collections.abc import Iterable, Iterator

from collector.protocol import dead_letter, parse_frame
from collector.records import KINDS
from core.cli import json_line

log = logging.getLogger(__name__)
MAX_MULTILINE_BYTES = 64 * 1024 * 1024  # a pretty-printed document larger than this is a dead letter
_CLOSERS = {b"{": b"}", b"[": b"]"}


def configure(parser) -> None:
    parser.add_argument("file", nargs="?", default="-", metavar="FILE",
                        help="frames, one JSON per line (pretty-printed JSON documents may stand "
                             "between them) (default: stdin; '-' is stdin)")


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


def iter_batches(lines: Iterable[bytes]) -> Iterator[list[dict]]:
    """The records of a stream of lines, one non-empty list per input line as soon as that
    line is read (a pretty-printed document's records come with its closing line). Each
    line is decoded once, and once more as part of its document: linear in the input."""
    held: list[bytes] = []  # the lines of an open pretty-printed document
    closer, size = b"", 0
    for line in lines:
        batch: list[dict] = []
        if held:
            if line[:1].isspace():  # indented or blank: inside the document
                held.append(line)
                size += len(line)
                if size > MAX_MULTILINE_BYTES:
                    yield [_cut_off(held, f"is larger than {MAX_MULTILINE_BYTES >> 20} MiB; "
                                          "the lines after it are read one by one")]
                    held = []
                continue
            if line.strip() == closer:
                held.append(line)
                yield _document(held)
                held = []
                continue
            batch.append(_cut_off(held, f"is cut off: a line at column 0 comes before its closing "
                                        f"'{closer.decode()}'"))
            held = []
        stripped = line.strip()
        if stripped in _CLOSERS and line[:1] == stripped:
            held, closer, size = [line], _CLOSERS[stripped], len(line)
        elif stripped:
            batch.extend(records_for_line(stripped))
        if batch:
            yield batch
    if held:
        yield [_cut_off(held, f"ends before its closing '{closer.decode()}'")]


def _document(lines: list[bytes]) -> list[dict]:
    try:
        value = json.loads(b"".join(lines))
    except (ValueError, RecursionError) as exc:
        return [_cut_off(lines, f"is not valid JSON ({exc})")]
    return records_for_document(value)


def _cut_off(lines: list[bytes], why: str) -> dict:
    lines_n = f"{len(lines)} line{'s' * (len(lines) != 1)}"
    return dead_letter(f"the pretty-printed JSON document of {lines_n} starting with '{lines[0].strip().decode()}' "
                       f"{why}; write one frame per line, or the whole document indented between its "
                       "opening and closing lines", b"".join(lines).rstrip(b"\r\n"))


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
        for batch in iter_batches(source):
            for record in batch:
                counts[record.get("kind", "?")] += 1
                out.write(json_line(record).encode("utf-8", "replace") + b"\n")
            out.flush()  # each line's output as that line is read: piped input streams
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
