"""Shared command-line plumbing: each subcommand lives in its own module exposing
``configure(parser)`` and ``run(args) -> int``; ``main`` only wires them."""
from __future__ import annotations

import argparse
import importlib
import logging
import sys
import unicodedata

from core import settings


def setup_logging() -> None:
    level = (settings.get("LOG_LEVEL") or "INFO").upper()
    logging.basicConfig(level=level, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    for noisy in ("pgserver", "apscheduler", "websockets", "urllib3", "websocket"):
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
    except SystemExit:
        raise
    except Exception as exc:  # one line for the operator; the traceback at DEBUG
        logging.getLogger(prog).debug("failed", exc_info=True)
        print(f"{prog} {args.command}: error: {one_line(exc)}", file=sys.stderr)
        return 1


def plain_table(head: tuple[str, ...], body: list[tuple]) -> str:
    """A left-aligned text table for a terminal. Cells are untrusted text (channel names):
    control characters (ANSI escapes, newlines, tabs) are shown as U+FFFD, never sent raw."""
    def cell(x) -> str:
        return "".join("\ufffd" if unicodedata.category(ch) == "Cc" else ch for ch in str(x))
    rows = [tuple(cell(x) for x in line) for line in (head, *body)]
    widths = [max(len(x) for x in col) for col in zip(*rows, strict=True)]
    return "\n".join("  ".join(x.ljust(w) for x, w in zip(line, widths, strict=True)).rstrip()
                     for line in rows)


def one_line(exc: BaseException) -> str:
    """An exception as one line; database errors say which setting to check."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    if type(exc).__module__.startswith("psycopg2"):
        return f"PostgreSQL: {text} (check DATABASE_URL, or unset it for the embedded server)"
    if isinstance(exc, OSError) and ("AWS Error" in text or text.startswith("Bucket ")):  # pyarrow's S3
        return (f"S3: {text} (check the bucket in WAREHOUSE_DIR, S3_ENDPOINT_URL, and AWS_ACCESS_KEY_ID, "
                "AWS_SECRET_ACCESS_KEY and AWS_REGION)")
    return text
