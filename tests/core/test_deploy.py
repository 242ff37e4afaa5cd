"""The deployment examples in deploy/ (systemd units, crontab) are valid and are the ones the
README shows, and every command they run exists."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").iterdir())
CRON = DEPLOY / "cron" / "chzzk.cron"
README = (ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("path", UNITS + [CRON], ids=lambda p: p.name)
def test_readme_shows_the_file_verbatim(path):
    assert path.read_text(encoding="utf-8").strip() in README, f"README does not show {path.name} as it is"


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_systemd_units_verify(tmp_path):
    """systemd-analyze verify, with /srv/chzzk pointed at this checkout's interpreter."""
    srv = tmp_path / "srv"
    (srv / ".venv" / "bin").mkdir(parents=True)
    (srv / ".venv" / "bin" / "python").symlink_to(sys.executable)
    for unit in UNITS:
        (tmp_path / unit.name).write_text(unit.read_text().replace("/srv/chzzk", str(srv)))
    out = subprocess.run(["systemd-analyze", "verify", "--man=no", *[u.name for u in UNITS]],
                         cwd=tmp_path, capture_output=True, text=True, timeout=60)
    problems = [line for line in (out.stdout + out.stderr).splitlines() if line.strip()]
    assert not problems, problems


def _cron_jobs() -> list[str]:
    return [line for line in CRON.read_text().splitlines()
            if line.strip() and not line.startswith("#") and not re.match(r"^[A-Z_]+=", line)]


def test_cron_lines_have_five_fields_and_run_real_commands(tmp_path):
    jobs = _cron_jobs()
    assert len(jobs) == 2
    for job in jobs:
        fields = job.split()
        assert all(re.fullmatch(r"[0-9*/,-]+", f) for f in fields[:5]), job
        module_args = re.search(r"python -m (\S+) (.*?) >>", job).group(1, 2)
        args = module_args[1].split()
        # the same arguments with --help parse: the subcommand and its options exist
        env = {**os.environ, "DATA_DIR": str(tmp_path)}
        out = subprocess.run([sys.executable, "-m", module_args[0], args[0], "--help"], cwd=ROOT,
                             env=env, capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        for option in (a for a in args[1:] if a.startswith("--")):
            assert option in out.stdout, f"{option} not an option of {module_args[0]} {args[0]}"
