"""`warehouse sync` and `warehouse forget-user` exit 75 (EX_TEMPFAIL), not 1, when another
run of the same database holds the sync's advisory lock, and change nothing; once it is
free the same command succeeds (exit 0). Real PostgreSQL, through the command line's own
entry point (core.cli.main, as `python -m warehouse` runs it)."""
from __future__ import annotations

import psycopg2
import pytest

from core.cli import main
from warehouse.__main__ import COMMANDS
from warehouse.sync.lock import EX_TEMPFAIL, LOCK_ID

pytestmark = pytest.mark.integration
USER = "u" * 32


@pytest.mark.parametrize("argv", [["sync"], ["forget-user", USER]], ids=["sync", "forget-user"])
def test_lock_held_exits_75_and_changes_nothing(argv, pg_url, pg, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "lake"))
    monkeypatch.setenv("DATA_DIR", str(tmp_path))
    holder = psycopg2.connect(pg_url)  # a sync running elsewhere
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        assert main("warehouse", "", COMMANDS, argv) == EX_TEMPFAIL == 75
    finally:
        holder.close()
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"warehouse {argv[0]}: error: ") and "is running" in err and "exit 75" in err
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM opt_out_user")
        assert cur.fetchone()[0] == 0
    pg.commit()
    assert not (tmp_path / "lake" / "_sync").exists()
    assert main("warehouse", "", COMMANDS, argv) == 0  # the lock free: the same command succeeds


def test_retention_finds_the_lock_held_as_lock_held(pg_url, pg, tmp_path):
    """Retention (after a sync, PG_RETENTION_DAYS) raises the same LockHeld, so the command
    exits 75 for it too, and drops nothing."""
    from warehouse.sync import retention
    from warehouse.sync.lock import LockHeld
    holder = psycopg2.connect(pg_url)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT pg_advisory_lock(%s)", (LOCK_ID,))
        with pytest.raises(LockHeld, match="retention waits"):
            retention.apply(pg, str(tmp_path / "lake"), keep_days=1, tz="UTC")
    finally:
        holder.close()
