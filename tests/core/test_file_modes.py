"""Who may read what the project writes: the lake (warehouse/lake/layout.py) and the spool
(collector/spool.py) are owner-only, as the accounts file is; a looser folder from before
is tightened at the first write, with a log line; WAREHOUSE_GROUP_READ=1 opens the lake to
the group. Real files, modes read back with stat."""
from __future__ import annotations

import os
import stat
from datetime import date
from pathlib import Path

import pyarrow as pa
import pytest

from collector.spool import Spool
from core import files
from warehouse.lake.layout import Lake
from warehouse.lake.tables import CHANNELS, CHAT

pytestmark = pytest.mark.unit
DAY = date(2026, 9, 1)


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def umask_022():
    """The usual umask (files 0644, folders 0755 unless the writer says otherwise)."""
    old = os.umask(0o022)
    yield
    os.umask(old)


def _write(root: Path) -> Lake:
    lake = Lake(root)
    lake.write(CHAT, pa.table({"id": [1], "channel_id": ["a" * 32], "message": ["안녕"]}), DAY)  # others null
    lake.write(CHANNELS, pa.table({"channel_id": ["a" * 32], "channel_name": ["채널"]}))
    lake.write_state({"last_sync": "2026-09-02T00:00:00+00:00"})
    return lake


def test_a_new_lake_is_owner_only(tmp_path, umask_022, monkeypatch):
    monkeypatch.delenv("WAREHOUSE_GROUP_READ", raising=False)
    root = tmp_path / "warehouse"
    _write(root)
    assert _mode(root) == 0o700
    files = [p for p in root.rglob("*") if p.is_file()]
    assert files and {_mode(p) for p in files} == {0o600}, {str(p.relative_to(root)): oct(_mode(p)) for p in files}


def test_an_existing_lake_is_tightened_at_the_first_write_and_says_so(tmp_path, umask_022, monkeypatch, caplog):
    monkeypatch.delenv("WAREHOUSE_GROUP_READ", raising=False)
    root = tmp_path / "warehouse"
    root.mkdir(mode=0o755)
    os.chmod(root, 0o755)
    Lake(root).read_state()  # reading changes nothing
    assert _mode(root) == 0o755
    with caplog.at_level("WARNING", logger="warehouse.lake.layout"):
        _write(root)
    assert _mode(root) == 0o700
    assert [r.getMessage() for r in caplog.records if "0755" in r.getMessage() and "0700" in r.getMessage()]


def test_group_read_when_asked(tmp_path, umask_022, monkeypatch):
    monkeypatch.setenv("WAREHOUSE_GROUP_READ", "1")
    root = tmp_path / "warehouse"
    _write(root)
    assert _mode(root) == 0o750
    assert {_mode(p) for p in root.rglob("*") if p.is_file()} == {0o640}


def test_the_spool_is_owner_only_and_an_old_one_is_tightened(tmp_path, umask_022, caplog):
    new = Spool(tmp_path / "spool")
    new.open()
    new.append([{"n": 1}])
    assert _mode(tmp_path / "spool") == 0o700
    assert {_mode(p) for p in (tmp_path / "spool").iterdir()} == {0o600}
    new.close()

    old = tmp_path / "old-spool"
    old.mkdir(mode=0o755)
    os.chmod(old, 0o755)
    with caplog.at_level("WARNING", logger="collector.spool"):
        reopened = Spool(old)
        reopened.open()
        reopened.close()
    assert _mode(old) == 0o700
    assert [r.getMessage() for r in caplog.records if "0755" in r.getMessage() and "0700" in r.getMessage()]


def test_whole_text_files_keep_their_mode_and_leave_nothing_behind(tmp_path, umask_022):
    secret = tmp_path / "keys" / "api_keys.toml"
    files.write_private(secret, "k = 1\n")
    files.write_private(secret, "k = 2\n")
    assert secret.read_text() == "k = 2\n" and _mode(secret) == 0o600
    shared = tmp_path / "lake.sql"
    files.replace_text(shared, "select 1;\n", mode=0o640)  # wider than 0600, narrower than the umask's 0644
    assert _mode(shared) == 0o640
    files.replace_text(shared, "select 2;\n")  # no mode: the umask's
    assert _mode(shared) == 0o644 and shared.read_text() == "select 2;\n"
    with pytest.raises(TypeError):
        files.replace_text(shared, None)  # fails mid-write: the old file stays, no temporary is left
    assert shared.read_text() == "select 2;\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["keys", "lake.sql"] == sorted(os.listdir(tmp_path))
    assert os.listdir(tmp_path / "keys") == ["api_keys.toml"]
