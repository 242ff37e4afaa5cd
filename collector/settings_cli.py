"""``python -m collector settings`` (``chzzk-collector settings``): every setting of
core/settings.py with its current value, its default, where the value comes from and its
help — a text table, or ``--json``. A setting declared ``secret`` shows only whether it is
set (``***``); every other value goes through ``core.redact`` too, so a password inside
a URL (DATABASE_URL) is masked, its host left readable. Values come from the environment and ./.env, as every
command reads them."""
from __future__ import annotations

import argparse
import os
import sys
import textwrap

from core import settings
from core.cli import json_line, plain_table
from core.redact import MASK, redact, url_passwords


def configure(p: argparse.ArgumentParser) -> None:
    p.add_argument("--json", action="store_true", help="one JSON array of objects instead of the table")


def rows() -> list[dict]:
    """One dict per declared setting: name, value (masked), default, source, secret, help."""
    out = []
    for s in settings.SETTINGS:
        raw = os.environ.get(s.name)
        given = raw not in (None, "")
        value = settings.get(s.name)
        if value is not None:
            value = MASK if s.secret else _masked(value)
        out.append({"name": s.name, "value": value, "default": s.default,
                    "source": "environment" if given else "default", "secret": s.secret, "help": s.help})
    return out


def _masked(value: str) -> str:
    """A value with its secrets masked: a URL keeps its scheme, user and host but not its
    password; any other known secret (``core.redact``: a conninfo DATABASE_URL...) goes whole."""
    if "://" in value:
        for password in url_passwords(value):
            value = value.replace(password, MASK)
    return redact(value)


def text(found: list[dict], width: int = 100) -> str:
    """The table, each setting's help wrapped and indented under its row."""
    shown = lambda v: "-" if v is None else v  # noqa: E731 (unset, no default)
    table = plain_table(("NAME", "VALUE", "DEFAULT", "SOURCE"),
                        [(r["name"], shown(r["value"]), shown(r["default"]), r["source"]) for r in found])
    head, *lines = table.splitlines()
    out = [head]
    for line, r in zip(lines, found, strict=True):
        out.append(line)
        out += textwrap.wrap(r["help"], width, initial_indent="    ", subsequent_indent="    ")
    return "\n".join(out)


def run(args) -> int:
    found = rows()
    sys.stdout.write((json_line(found) if args.json else text(found)) + "\n")
    return 0
