"""Command-line contract: exit codes and one-line reasons an operator can act on."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
pytestmark = pytest.mark.unit


def _run(*args, **env):
    return subprocess.run([sys.executable, "-m", *args], cwd=ROOT, capture_output=True, text=True,
                          env={**os.environ, **env}, timeout=60)


def test_unreachable_database_is_one_line_without_the_password():
    res = _run("warehouse", "sync", DATABASE_URL="postgresql://bob:s3cret-pw@127.0.0.1:1/x")
    assert res.returncode == 1
    lines = [line for line in res.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, res.stderr
    assert lines[0].startswith("warehouse sync: error: PostgreSQL:") and "DATABASE_URL" in lines[0]
    assert "s3cret-pw" not in res.stderr + res.stdout


def test_every_command_has_help():
    for module in ("collector", "warehouse"):
        res = _run(module, "--help")
        assert res.returncode == 0 and "COMMAND" in res.stdout


def test_unknown_command_is_a_usage_error():
    res = _run("collector", "frobnicate")
    assert res.returncode == 2 and "invalid choice" in res.stderr


def test_plain_table_neutralises_control_characters():
    from core.cli import plain_table

    out = plain_table(("ID", "NAME"), [("a", "evil\x1b[2J\nname\t"), ("bb", "김뿡")])
    assert "\x1b" not in out and "\t" not in out
    lines = out.splitlines()
    assert len(lines) == 3 and lines[2] == "bb  김뿡"
    assert lines[1].startswith("a   evil\ufffd[2J\ufffdname")
