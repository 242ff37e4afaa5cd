"""LOG_FORMAT=json: every line a command writes to stderr is one JSON object (time in ISO
8601 UTC, level, logger, message, exception), with secrets redacted and hidden characters
escaped as in the text format; text stays the default."""
import io
import json
import logging
import os
import subprocess
import sys
import unicodedata
from datetime import datetime
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PW, COOKIE = "Zq8-hunter2PW", "AUT-marker-7f3a9c"


@pytest.mark.e2e
def test_a_real_command_logs_only_json_lines_without_secrets():
    """`warehouse sync` at DEBUG on a DATABASE_URL libpq quotes back (its password inside
    the error): a DEBUG line with the traceback, then the error line — all JSON."""
    env = {**os.environ, "LOG_FORMAT": "json", "LOG_LEVEL": "DEBUG", "CHZZK_NID_AUT": COOKIE,
           "DATABASE_URL": f"postgresql://bob:{PW}%zz@127.0.0.1:1/x"}
    res = subprocess.run([sys.executable, "-m", "warehouse", "sync"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=60)
    assert res.returncode == 1
    lines = res.stderr.splitlines()
    entries = [json.loads(line) for line in lines]  # every line is one JSON object
    assert len(entries) >= 2 and all(isinstance(e, dict) for e in entries)
    for e in entries:
        assert {"time", "level", "logger", "message"} <= set(e)
        assert e["time"].endswith("Z") and datetime.fromisoformat(e["time"]).utcoffset().total_seconds() == 0
    traced = [e for e in entries if "exception" in e]
    assert traced and "Traceback (most recent call last)" in traced[0]["exception"]
    error = entries[-1]
    assert error["level"] == "ERROR" and error["message"].startswith("warehouse sync: error: PostgreSQL:")
    assert PW not in res.stderr + res.stdout and COOKIE not in res.stderr + res.stdout
    assert "***" in traced[0]["exception"]  # the quoted password is there, masked


@pytest.mark.e2e
def test_what_a_command_prints_itself_is_json_too():
    """A command's own stderr line (not a log record) and Python's warnings and uncaught
    exceptions (here: a thread's) arrive as JSON objects as well."""
    res = subprocess.run([sys.executable, "-m", "collector", "parse", "/nonexistent/frames.jsonl"], cwd=ROOT,
                         env={**os.environ, "LOG_FORMAT": "json"}, capture_output=True, text=True, timeout=60)
    assert res.returncode == 2
    (line,) = map(json.loads, res.stderr.splitlines())
    assert (line["logger"], line["level"]) == ("stderr", "WARNING") and "cannot open" in line["message"]
    code = ("import sys, threading, warnings\nfrom core.cli import setup_logging\nsetup_logging()\n"
            "warnings.warn('careful')\nprint('x: error: y', file=sys.stderr)\n"
            "t = threading.Thread(target=lambda: 1 / 0)\nt.start()\nt.join()\n"
            f"raise RuntimeError('postgresql://bob:{PW}@h/db')\n")
    res = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**os.environ, "LOG_FORMAT": "json"},
                         capture_output=True, text=True, timeout=60)
    entries = [json.loads(line) for line in res.stderr.splitlines()]
    assert [(e["logger"], e["level"]) for e in entries] == [
        ("py.warnings", "WARNING"), ("stderr", "ERROR"), ("uncaught", "CRITICAL"), ("uncaught", "CRITICAL")]
    assert "ZeroDivisionError" in entries[2]["exception"] and "RuntimeError" in entries[3]["exception"]
    assert PW not in res.stderr and res.returncode == 1


@pytest.mark.e2e
def test_a_bad_log_format_is_a_clear_error():
    res = subprocess.run([sys.executable, "-m", "collector", "status"], cwd=ROOT, capture_output=True, text=True,
                         env={**os.environ, "LOG_FORMAT": "xml"}, timeout=60)
    assert res.returncode == 1 and "LOG_FORMAT='xml' is not one of: text, json" in res.stderr


def _formatted(formatter: logging.Formatter, emit) -> str:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(formatter)
    log = logging.getLogger("test_log_format")
    log.addHandler(handler)
    log.propagate = False
    log.setLevel(logging.INFO)
    try:
        emit(log)
    finally:
        log.removeHandler(handler)
    return stream.getvalue()


@pytest.mark.unit
def test_json_lines_escape_hidden_characters_redact_and_keep_one_line(monkeypatch):
    from core.cli import LOG_FORMATS

    monkeypatch.setenv("CHZZK_NID_SES", "SES-marker-51be02")

    def emit(log):
        try:
            raise ValueError("postgresql://bob:pw-in-trace@h/db")
        except ValueError:
            log.warning('joined %s\nforged "line" SES-marker-51be02', "\u202eevil\x1b[2J", exc_info=True)
        log.info("plain 김뿡 😀")

    text = _formatted(LOG_FORMATS["json"](), emit)
    lines = text.splitlines()
    assert len(lines) == 2, "a message with a newline and a traceback stays one line"
    hidden = [ch for ch in text if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs") and ch != "\n"]
    assert hidden == [], "the line itself shows no hidden character"
    first, second = map(json.loads, lines)
    assert first["level"] == "WARNING" and first["logger"] == "test_log_format"
    assert first["message"] == 'joined \u202eevil\x1b[2J\nforged "line" ***', "decodes to what was logged, redacted"
    assert "pw-in-trace" not in text and "postgresql://bob:***@h/db" in first["exception"]
    assert second["message"] == "plain 김뿡 😀" and "plain 김뿡 😀" in lines[1] and "exception" not in second


@pytest.mark.unit
def test_text_stays_the_default(monkeypatch):
    from core import cli

    monkeypatch.delenv("LOG_FORMAT", raising=False)
    assert cli._log_format() == "text"
    line = _formatted(cli.LOG_FORMATS["text"](), lambda log: log.warning("x"))
    assert line.rstrip().endswith("WARNING test_log_format: x") and not line.startswith("{")
