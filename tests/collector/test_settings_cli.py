"""`collector settings`: every declared setting with its value, default, source and help;
secrets masked (a URL keeps its host, not its password); a text table or --json."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from core.settings import SETTINGS

ROOT = Path(__file__).resolve().parents[2]
PW, COOKIE, KEY = "Zq8-hunter2PW", "AUT-marker-7f3a9c", "ingest-key-3c9d1e"
ENV = {"DATABASE_URL": f"postgresql://bob:{PW}@db.example:5432/chat", "CHZZK_NID_AUT": COOKIE,
       "INGEST_API_KEY": KEY, "FLUSH_SECONDS": "7"}


def _run(folder: Path, *args) -> subprocess.CompletedProcess:
    """In an empty folder (no ./.env), with only ENV's settings set."""
    env = {k: v for k, v in os.environ.items() if k not in {s.name for s in SETTINGS}}
    return subprocess.run([sys.executable, "-m", "collector", "settings", *args], cwd=folder, capture_output=True,
                          text=True, env={**env, **ENV, "PYTHONPATH": str(ROOT)}, timeout=60)


@pytest.mark.e2e
def test_settings_lists_every_setting_and_masks_secrets(tmp_path):
    res, as_json = _run(tmp_path), _run(tmp_path, "--json")
    assert res.returncode == 0 == as_json.returncode, res.stderr + as_json.stderr
    for out in (res.stdout, as_json.stdout):
        assert PW not in out and COOKIE not in out and KEY not in out
    found = {r["name"]: r for r in json.loads(as_json.stdout)}
    assert list(found) == [s.name for s in SETTINGS]
    for s in SETTINGS:
        assert (found[s.name]["default"], found[s.name]["help"], found[s.name]["secret"]) == (s.default, s.help, s.secret)
    assert found["DATABASE_URL"]["value"] == "postgresql://bob:***@db.example:5432/chat"
    assert found["CHZZK_NID_AUT"]["value"] == found["INGEST_API_KEY"]["value"] == "***"
    assert found["CHZZK_NID_SES"]["value"] is None, "an unset secret says so"
    assert (found["FLUSH_SECONDS"]["value"], found["FLUSH_SECONDS"]["source"]) == ("7", "environment")
    assert (found["POLL_SECONDS"]["value"], found["POLL_SECONDS"]["source"]) == ("30", "default")
    lines = res.stdout.splitlines()
    assert lines[0].split() == ["NAME", "VALUE", "DEFAULT", "SOURCE"]
    rows = {line.split()[0]: line.split() for line in lines[1:] if not line.startswith(" ")}
    assert list(rows) == [s.name for s in SETTINGS]
    assert rows["FLUSH_SECONDS"] == ["FLUSH_SECONDS", "7", "60", "environment"]
    assert rows["CHZZK_NID_AUT"][:2] == ["CHZZK_NID_AUT", "***"]
    assert "    Seconds between flushes of buffered chat into PostgreSQL." in lines  # the help, under its row
