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


def test_unreachable_s3_lake_names_the_settings(monkeypatch):
    from core.cli import one_line
    from warehouse.lake import Lake
    from warehouse.tables import CHAT

    monkeypatch.setenv("S3_ENDPOINT_URL", "http://127.0.0.1:1")  # nothing listens there
    for name, value in (("AWS_ACCESS_KEY_ID", "x"), ("AWS_SECRET_ACCESS_KEY", "y"), ("AWS_REGION", "us-east-1"),
                        ("AWS_EC2_METADATA_DISABLED", "true")):
        monkeypatch.setenv(name, value)
    with pytest.raises(OSError) as caught:
        Lake("s3://lake/prefix").days(CHAT)
    line = one_line(caught.value)
    assert line.startswith("S3: ") and "AWS Error" in line and "S3_ENDPOINT_URL" in line


def test_embedded_postgres_that_cannot_start_names_its_log(tmp_path):
    from core import db

    pgdata = tmp_path / "pg"
    pgdata.mkdir()
    (pgdata / "PG_VERSION").write_text("16\n")  # looks initialised, but has no postgresql.conf
    with pytest.raises(RuntimeError, match="did not start") as caught:
        db.embedded_url(pgdata)
    assert str(pgdata / "log") in str(caught.value) and "DATABASE_URL" in str(caught.value)
