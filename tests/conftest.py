"""Shared fixtures. PostgreSQL is real: one throwaway embedded server per test session
(or TEST_DATABASE_URL's server), and a fresh database per test that asks for `pg_url`.
Under pytest-xdist (`make test`: -n 2) each worker is a session of its own: its own server
in its own temp folder, its own session lakes under its own basetemp, its own ports (0)."""
from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from pathlib import Path

import psycopg2
import pytest

from core import db

DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture(scope="session")
def pg_server_url():
    """URL of a PostgreSQL server's maintenance database, for creating test databases."""
    if os.environ.get("TEST_DATABASE_URL"):
        yield os.environ["TEST_DATABASE_URL"]
        return
    pgserver = db.import_pgserver()

    # short path: the unix socket lives in the data dir and socket paths are length-limited
    tmp = Path(tempfile.mkdtemp(prefix="pgt"))
    server = pgserver.get_server(tmp / "pg", cleanup_mode="delete")
    yield server.get_uri()
    server.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)


def _swap_db(url: str, name: str) -> str:
    # embedded-server URIs look like postgresql://postgres:@/postgres?host=/sock
    base, sep, query = url.partition("?")
    head = base.rsplit("/", 1)[0]
    return f"{head}/{name}{sep}{query}"


@pytest.fixture
def pg_url(pg_server_url, monkeypatch, tmp_path):
    """A fresh, migrated database for one test; DATABASE_URL points at it, and SPOOL_DIR
    at a directory of its own (a collector's leftover spool is replayed at its next start)."""
    monkeypatch.setenv("SPOOL_DIR", str(tmp_path / "spool"))
    name = "t_" + uuid.uuid4().hex[:12]
    admin = psycopg2.connect(pg_server_url)
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f'CREATE DATABASE "{name}"')
    url = _swap_db(pg_server_url, name)
    monkeypatch.setenv("DATABASE_URL", url)
    conn = db.connect(url)
    conn.close()
    yield url
    with admin.cursor() as cur:
        cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    admin.close()


@pytest.fixture
def pg(pg_url):
    """An open connection to the test database (autocommit off)."""
    conn = psycopg2.connect(pg_url)
    yield conn
    conn.close()


@pytest.fixture(scope="session")
def rich_lake(tmp_path_factory):
    """The rich fixture lake (tests/lakefixture_rich.py) opened once for the session:
    (Warehouse, facts). Read-only: tests that change a lake build their own."""
    import warehouse
    from tests.lakefixture_rich import build_rich_lake

    root = tmp_path_factory.mktemp("rich")
    facts = build_rich_lake(root)
    wh = warehouse.open(str(root))
    yield wh, facts
    wh.close()


@pytest.fixture(autouse=True)
def _dashboard_files(tmp_path_factory, monkeypatch):
    """Dashboard accounts and audit log of each test in a folder of its own: never the
    developer's .data (whose accounts would put a login in front of every page test)."""
    folder = tmp_path_factory.mktemp("dashboard")
    monkeypatch.setenv("DASHBOARD_ACCOUNTS_FILE", str(folder / "accounts.toml"))
    monkeypatch.setenv("DASHBOARD_AUDIT_FILE", str(folder / "audit.jsonl"))


def pytest_collection_finish(session):
    """The chzzkpy conformance run (tests/chzzkpy_driver.py) starts as soon as its tests are
    collected: its minute of ping/pong then overlaps the tests that run before them. Under
    pytest-xdist every worker collects every test and starts one: which worker gets the module
    is not known yet, and the other run (one simulator at 50 lines/s) is closed at its end."""
    if not session.config.option.collectonly and any(
            item.path.name == "test_sim_conformance.py" for item in session.items):
        from tests.chzzkpy_driver import start_early

        start_early(session.config)
