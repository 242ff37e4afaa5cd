"""How `python -m warehouse sync` shows its progress: a bar when stderr is a terminal (run
under a pseudo-terminal here), one log line per partition otherwise; and the Progress that
sync() tells, whatever shows it."""
from __future__ import annotations

import fcntl
import os
import pty
import re
import select
import struct
import subprocess
import sys
import termios
import time
from pathlib import Path

import pytest

from tests.compact_rows import make_compact
from tests.pghistory import D1, D2, D3, history, insert, lake_counts, pg_counts
from warehouse.read import accelerators
from warehouse.sync.export import DayResult, Progress, sync

ROOT = Path(__file__).resolve().parents[2]


ROWS = len(history())


def _env(pg_url, tmp_path) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": pg_url, "WAREHOUSE_DIR": str(tmp_path / "lake"), "LOG_LEVEL": "INFO"}


def _run_on_terminal(args: list[str], env: dict[str, str], timeout: float = 120) -> tuple[int, str]:
    """Run `args` with stderr on a pseudo-terminal (120 columns); (exit code, what it showed)."""
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 120, 0, 0))
    try:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                stderr=slave)
    finally:
        os.close(slave)
    out = bytearray()
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            if not select.select([master], [], [], 1)[0]:
                continue
            try:
                data = os.read(master, 65536)
            except OSError:  # EIO: the child has closed the terminal
                break
            if not data:
                break
            out += data
        return proc.wait(timeout=10), out.decode("utf-8", "replace")
    finally:
        os.close(master)
        if proc.poll() is None:
            proc.kill()


@pytest.mark.integration
def test_cli_shows_a_progress_bar_on_a_terminal(pg_url, pg, tmp_path):
    insert(pg, history())
    code, shown = _run_on_terminal([sys.executable, "-m", "warehouse", "sync", "--all"], _env(pg_url, tmp_path))
    assert code == 0, shown
    assert re.search(r"sync: 100%\|[^\r\n]*\| 3/3 ", shown), shown
    assert f"rows={ROWS}" in shown and "\r" in shown  # the bar redraws its line
    assert "chat day=" not in shown, "the bar replaces the per-day log lines"
    assert "synced 3 day(s)" in shown, "other log lines still show, above the bar"
    assert lake_counts(tmp_path / "lake") == pg_counts(pg)


@pytest.mark.integration
def test_cli_logs_one_line_per_day_without_a_terminal(pg_url, pg, tmp_path):
    insert(pg, history())
    proc = subprocess.run([sys.executable, "-m", "warehouse", "sync", "--all"], cwd=ROOT, env=_env(pg_url, tmp_path),
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    days = re.findall(r"warehouse\.sync\.export: chat day=(\S+) rows=(\d+) ", proc.stderr)
    # SYNC_WRITERS days are written at once: a line as each finishes, each day once
    assert sorted(days) == [(d.isoformat(), str(n)) for d, n in sorted(pg_counts(pg).items())]
    assert "\r" not in proc.stderr and "%|" not in proc.stderr, "no bar in a log"


class _Recorder(Progress):
    def __init__(self) -> None:
        self.calls: list = []

    def planned(self, days):
        self.calls.append(("planned", days))

    def written(self, result: DayResult):
        self.calls.append(("written", result.table, result.day, result.rows))


@pytest.mark.integration
def test_sync_tells_its_progress_the_plan_then_each_partition(pg, tmp_path):
    insert(pg, history())
    seen = _Recorder()
    report = sync(pg, str(tmp_path), progress=seen)
    assert seen.calls[0] == ("planned", {"chat": [D1, D2, D3], "events": []})
    assert sorted(seen.calls[1:]) == [("written", "chat", d.day, d.rows) for d in report.days]  # as each finishes
    assert sum(c[3] for c in seen.calls[1:]) == ROWS
    dry = _Recorder()
    sync(pg, str(tmp_path), dry_run=True, progress=dry)
    assert dry.calls == [], "a dry run writes nothing, so it tells nothing"


@pytest.mark.integration
def test_sync_times_and_logs_each_phase(pg, tmp_path, caplog):
    """The report splits the sync's time (issue 18: the export alone is what COPY and the
    DuckDB scanner compare with): each partition's reading (decoding the compact rows'
    frames among it) and writing, the export's wall time, each accelerator's build; one log
    line a phase."""
    insert(pg, history())
    make_compact(pg)
    caplog.set_level("INFO", logger="warehouse.sync.export")
    report = sync(pg, str(tmp_path))
    assert report.rows == ROWS
    for d in report.days:
        assert 0 < d.decode_seconds <= d.read_seconds <= d.seconds, d
        assert d.write_seconds > 0 and abs(d.read_seconds + d.write_seconds - d.seconds) < 1e-9
    assert report.decode_seconds == sum(d.decode_seconds for d in report.days) > 0
    assert list(report.accelerators) == [a.name for a in accelerators.ACCELERATORS], "every build, in order"
    assert all(s > 0 for s in report.accelerators.values())
    assert 0 < report.export_seconds and report.export_seconds + report.accelerator_seconds <= report.seconds
    for phase in (f"extract: 3 partition(s), {ROWS} rows", "parquet: 3 partition(s)", "small tables:",
                  "export:", *(f"accelerator {a.name}: built in" for a in accelerators.ACCELERATORS)):
        assert "sync phase " + phase in caplog.text, phase
