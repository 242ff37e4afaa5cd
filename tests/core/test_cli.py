"""Command-line contract: exit codes and one-line reasons an operator can act on."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
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
    assert lines[1].startswith("a   evil\\u001b[2J\\u000aname\\u0009")


# Names a channel (or CHZZK) could carry: each must reach a terminal visibly escaped.
HOSTILE_NAMES = {
    "RLO override": ("\u202eevil.exe", "\\u202eevil.exe"),
    "LRE/RLE/PDF/LRO": ("\u202a\u202b\u202c\u202dx", "\\u202a\\u202b\\u202c\\u202dx"),
    "isolates": ("a\u2066b\u2067c\u2068d\u2069", "a\\u2066b\\u2067c\\u2068d\\u2069"),
    "marks": ("m\u200e\u200f\u061c", "m\\u200e\\u200f\\u061c"),
    "zero-width": ("z\u200b\u200c\u200d\u2060\ufeff", "z\\u200b\\u200c\\u200d\\u2060\\ufeff"),
    "C0 and DEL": ("e\x1b[31mred\x07\x7f", "e\\u001b[31mred\\u0007\\u007f"),
    "C1 CSI/NEL": ("c\x9b31m\x85", "c\\u009b31m\\u0085"),
    "line separators": ("l\u2028p\u2029", "l\\u2028p\\u2029"),
    "tag character": ("t\U000e0041", "t\\U000e0041"),
    "plain Korean and emoji": ("김뿡 😀", "김뿡 😀"),
}


@pytest.mark.parametrize("name,shown", list(HOSTILE_NAMES.values()), ids=list(HOSTILE_NAMES))
def test_hostile_names_are_escaped_in_tables_and_json(name, shown):
    import json
    import unicodedata

    from core.cli import json_line, plain_table

    table = plain_table(("ID", "NAME"), [("a", name)])
    assert table.splitlines()[1] == "a   " + shown
    line = json_line({"channel_name": name})
    assert json.loads(line) == {"channel_name": name}, "the JSON still decodes to the name"
    hidden = [ch for ch in table + line if unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp", "Cs")]
    assert hidden == [] or set(hidden) == {"\n"}, hidden


def test_unreachable_s3_lake_names_the_settings(monkeypatch):
    from core.cli import one_line
    from warehouse.lake.layout import Lake
    from warehouse.lake.tables import CHAT

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


def test_log_lines_escape_hidden_characters_and_redact_secrets():
    """The CLI's log format: a hostile name in a message is escaped, a URL password is
    masked, and a traceback keeps its line breaks."""
    import io
    import logging

    from core.cli import _Formatter

    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(_Formatter("%(levelname)s %(message)s"))
    log = logging.getLogger("test_cli_format")
    log.addHandler(handler)
    log.propagate = False
    try:
        try:
            raise ValueError("postgresql://bob:pw-in-trace@h/db")
        except ValueError:
            log.warning("joined %s\nforged line", "\u202eevil\x1b[2J", exc_info=True)
    finally:
        log.removeHandler(handler)
    text = stream.getvalue()
    assert text.startswith("WARNING joined \\u202eevil\\u001b[2J\\u000aforged line\nTraceback")
    assert "pw-in-trace" not in text and "postgresql://bob:***@h/db" in text


def test_sigterm_ends_any_command_as_ctrl_c_does(tmp_path):
    """A command with no handler of its own (a sync, an import) gets SIGTERM as Ctrl-C: its
    `finally` runs and it exits 130, not Python's default (killed at once, 143, no cleanup)."""
    import signal
    import textwrap
    import time
    (tmp_path / "slowcmd.py").write_text(textwrap.dedent("""
        import sys, time
        def configure(parser): pass
        def run(args):
            try:
                print("ready", flush=True)
                time.sleep(60)
            finally:
                open(sys.argv[-1] + ".cleaned", "w").close()
    """))
    code = ("import sys; from core.cli import main; "
            "sys.exit(main('t', '', {'slow': ('slowcmd', 'sleeps')}, ['slow']))")
    marker = tmp_path / "m"
    proc = subprocess.Popen([sys.executable, "-c", code, str(marker)], cwd=ROOT, stdout=subprocess.PIPE,
                            env={**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{tmp_path}"}, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        started = time.monotonic()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=30) == 130
        assert time.monotonic() - started < 10
    finally:
        proc.kill()
    assert (tmp_path / "m.cleaned").exists()
