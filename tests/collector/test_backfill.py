"""`python -m collector backfill-sim` into a real PostgreSQL: rows for every simulated
channel over several days, channel names, and an idempotent rerun."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from collector.sim.generator import make_channels
from tests.conftest import DATA

pytestmark = pytest.mark.integration

ROOT = DATA.parent.parent
ARGS = ["--days", "2", "--channels", "2", "--seed", "7", "--rate", "15", "--end", "2026-10-01T00:00:00+00:00"]


def backfill(pg_url: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": pg_url, "LOG_LEVEL": "INFO"}
    return subprocess.run([sys.executable, "-m", "collector", "backfill-sim", *ARGS], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


def test_backfill_fills_every_channel_and_reruns_add_nothing(pg_url, pg):
    first = backfill(pg_url)
    assert first.returncode == 0, first.stderr
    assert "backfill batch 1:" in first.stderr
    with pg.cursor() as cur:
        cur.execute("""SELECT c.channel_id, c.channel_name, count(s.id),
                              count(DISTINCT (s.chat_time AT TIME ZONE 'Asia/Seoul')::date)
                         FROM stream_channel c LEFT JOIN stream_chat s ON s.channel_fk = c.id
                        GROUP BY 1, 2""")
        per_channel = {r[0]: r[1:] for r in cur.fetchall()}
        cur.execute("SELECT count(DISTINCT (chat_time AT TIME ZONE 'Asia/Seoul')::date), count(*) FROM stream_chat")
        days, total = cur.fetchone()
        cur.execute("SELECT count(*) FROM dead_letter")
        dead = cur.fetchone()[0]
    expected = {c.channel_id: c.channel_name for c in make_channels(2, 7)}
    assert set(per_channel) == set(expected)
    for channel_id, (name, rows, _days) in per_channel.items():
        assert name == expected[channel_id]
        assert rows > 0, f"no history for {channel_id}"
    assert days >= 2
    assert dead == 0
    pg.commit()

    second = backfill(pg_url)
    assert second.returncode == 0, second.stderr
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM stream_chat")
        assert cur.fetchone()[0] == total
    assert "0 new rows" in second.stderr.splitlines()[-1]
