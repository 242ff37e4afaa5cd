"""`python -m collector run` as a real subprocess against the simulator over loopback, into
a real PostgreSQL: every chat line the simulator sent (its truth file) is stored exactly
once, across forced reconnects (15101 replays duplicates) and a SIGTERM mid-run."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import time

import psycopg2
import pytest
import requests

from collector.protocol import parse_frame
from collector.sim.server import SimServer
from tests.collector_process import start_collector, start_sim, terminate
from tests.conftest import DATA
from tests.metrics_helpers import curl, free_port, samples, value
from tests.waiting import wait_for

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]

ROOT = DATA.parent.parent
CHANNELS = 3
RATE = 20.0  # lines/s per channel: the 50-line replay covers 2.5 s, the second reconnect's backoff 1.5-2.5 s
MIN_LINES = RATE * CHANNELS * 6  # what the simulator must have sent for a run to be a test


@pytest.fixture
def sim(tmp_path):
    server = start_sim(tmp_path, channels=CHANNELS, seed=11, rate=RATE)
    yield server
    server.stop()


def scrape(base: str) -> dict:
    """/healthz and /metrics of a running collector as curl sees them (and a wrong Host, a
    POST refused); the metrics parsed."""
    status, body = curl(base + "/healthz")
    assert status == 200 and json.loads(body)["status"] == "ok", body
    assert curl(base + "/metrics", host="evil.example")[0] == 421  # DNS rebinding: refused on loopback too
    assert curl(base + "/metrics", method="POST")[0] == 405
    status, text = curl(base + "/metrics")
    assert status == 200, text
    return samples(text)


def truth_keys(sim: SimServer) -> list[str]:
    """The dedupe key of every chat item the simulator sent, by the real parser."""
    sim.stop()  # closes the truth file
    keys = []
    with open(sim.truth_path, encoding="utf-8") as f:
        for line in f:
            (rec,) = parse_frame(line)
            assert rec["kind"] == "chat", rec
            keys.append(rec["dedupe_key"])
    return keys


def stored(pg) -> tuple[list[str], set[str]]:
    with pg.cursor() as cur:
        cur.execute("SELECT dedupe_key FROM stream_chat")
        keys = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT c.channel_id FROM stream_chat s JOIN stream_channel c ON c.id = s.channel_fk")
        channels = {r[0] for r in cur.fetchall()}
    return keys, channels


def flushes(pg) -> int:
    """Transactions that stored chat rows so far (created_at is the transaction's start)."""
    with pg.cursor() as cur:
        cur.execute("SELECT count(DISTINCT created_at) FROM stream_chat")
        (n,) = cur.fetchone()
    pg.commit()
    return n


def drop_sockets(sim: SimServer) -> int:
    base = sim.env()["CHZZK_API_BASE"]
    return requests.get(f"{base}/_sim/drop", timeout=5).json()["content"]["dropped"]


def sent(sim: SimServer, more_than: float) -> bool:
    return sim.truth_count > more_than


def test_collector_stores_every_line_once_across_reconnects(pg_url, pg, sim):
    port = free_port()
    proc = start_collector(pg_url, sim, COLLECTOR_METRICS_PORT=str(port))
    dropped = []
    try:  # drop every socket once all channels are joined and chatting, twice; stop after the rejoins
        for round_ in (1, 2, 3):
            lines = sim.truth_count
            wait_for(lambda r=round_, n=lines: sim.joins >= CHANNELS * r and sent(sim, n + RATE * CHANNELS), 40,
                     f"join {round_} of every channel and a second of chat")
            if round_ < 3:
                dropped.append(drop_sockets(sim))
        wait_for(lambda: sent(sim, MIN_LINES), 40, "enough chat to be a test")
        scraped = scrape(f"http://127.0.0.1:{port}")
    finally:
        _, err = terminate(proc, 60)
    assert proc.returncode == 0, err[-3000:]
    assert sum(dropped) >= CHANNELS, f"drops closed {dropped} sockets"
    ids = [c.channel_id for c in sim.channels]
    assert all(value(scraped, "chzzk_collector_lines_received_total", channel=c) > 0 for c in ids)
    assert all(0 <= value(scraped, "chzzk_collector_channel_last_message_age_seconds", channel=c) < 10 for c in ids)
    assert all(-5 < value(scraped, "chzzk_collector_channel_lag_seconds", channel=c) < 10 for c in ids)
    assert sum(value(scraped, "chzzk_collector_reconnects_total", channel=c) for c in ids) >= CHANNELS
    assert value(scraped, "chzzk_collector_leases_held") == CHANNELS
    assert value(scraped, "chzzk_collector_rows_stored_total", kind="chat") > 0
    assert value(scraped, "chzzk_collector_dead_letters_total") == 0
    for name in ("duplicates_total", "spool_segments", "spool_backlog_bytes", "spool_backlog_records"):
        assert (f"chzzk_collector_{name}", frozenset()) in scraped, name  # a flush may have just emptied the spool

    truth = truth_keys(sim)
    keys, channels = stored(pg)
    assert len(truth) > MIN_LINES, "the simulator sent too little to be a test"
    assert len(set(truth)) == len(truth), "distinct truth lines share a dedupe key"
    assert set(truth) <= set(keys), f"{len(set(truth) - set(keys))} lines sent but not stored"
    assert len(keys) == len(truth), "rows stored that the simulator never sent"
    assert channels == {c.channel_id for c in sim.channels}

    summary = [line for line in err.splitlines() if "summary:" in line][-1]
    reconnects = int(re.search(r"(\d+) reconnects", summary).group(1))
    duplicates = int(re.search(r"(\d+) duplicates", summary).group(1))
    assert reconnects >= CHANNELS, summary
    assert duplicates > 0, "15101 replays after reconnect should have produced duplicates: " + summary
    with pg.cursor() as cur:
        cur.execute("SELECT channel_name FROM stream_channel ORDER BY channel_name")
        assert [r[0] for r in cur.fetchall()] == sorted(c.channel_name for c in sim.channels)


def test_sigterm_mid_run_flushes_the_buffer(pg_url, pg, sim):
    proc = start_collector(pg_url, sim, flush_seconds=300)  # no timed flush: only the final one
    wait_for(lambda: sent(sim, RATE * CHANNELS * 2), 40, "two seconds of chat")
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM stream_chat")
        assert cur.fetchone()[0] == 0, "nothing should be flushed before the stop"
    pg.commit()
    _, err = terminate(proc, 30)
    assert proc.returncode == 0, err[-3000:]
    assert "received SIGTERM" in err

    truth = truth_keys(sim)
    keys, _ = stored(pg)
    assert truth, "the simulator sent nothing"
    assert sorted(keys) == sorted(set(truth))


def test_no_channel_is_a_usage_error(pg_url):
    env = {k: v for k, v in os.environ.items() if k != "CHZZK_CHANNELS"}
    env["DATABASE_URL"] = pg_url
    done = subprocess.run([sys.executable, "-m", "collector", "run", "--duration", "1s"], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=60)
    assert done.returncode == 2
    assert "CHZZK_CHANNELS" in done.stderr.strip().splitlines()[-1]



def test_final_flush_failure_exits_1_and_says_what_was_lost(pg_url, pg_server_url, sim):
    port = free_port()
    proc = start_collector(pg_url, sim, flush_seconds=300, COLLECTOR_METRICS_PORT=str(port))
    wait_for(lambda: sent(sim, RATE * CHANNELS), 40, "a second of chat")
    assert curl(f"http://127.0.0.1:{port}/healthz")[0] == 200
    name = pg_url.split("?")[0].rsplit("/", 1)[1]
    admin = psycopg2.connect(pg_server_url)
    admin.autocommit = True
    with admin.cursor() as cur:  # the database goes away under the running collector
        cur.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
    admin.close()
    status, body = curl(f"http://127.0.0.1:{port}/healthz")  # not ready: PostgreSQL does not answer
    assert status == 503 and json.loads(body)["reasons"][0].startswith("PostgreSQL unreachable:"), body
    _, err = terminate(proc, 30)
    assert proc.returncode == 1, err[-3000:]
    last = err.strip().splitlines()[-1]
    assert re.search(r"final flush failed .*; \d+ records were not stored", last), last
    assert int(re.search(r"(\d+) records were not stored", last).group(1)) > 0


def test_full_buffer_flushes_early(pg_url, pg, sim):
    proc = start_collector(pg_url, sim, flush_seconds=300, flush_max=10)
    try:  # no timed flush: rows stored while it runs come from flushes of a full buffer
        wait_for(lambda: flushes(pg) >= 2, 40, "two flushes before the stop")
    finally:
        _, err = terminate(proc, 60)
    assert proc.returncode == 0, err[-3000:]
    before_stop = err.split("client stopped")[0]
    assert before_stop.count("collector.sink: stored") >= 2, "FLUSH_MAX_EVENTS=10 should flush early"


def test_api_gives_up_with_a_clear_error_when_nothing_listens():
    import socket

    from collector.api import Api, ApiError

    with socket.socket() as s:  # a port that was free a moment ago: connection refused
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    api = Api(api_base=f"http://127.0.0.1:{port}", comm_base=f"http://127.0.0.1:{port}",
              max_attempts=3, backoff_first=0.05)
    t0 = time.monotonic()
    with pytest.raises(ApiError, match=r"live-status of abc failed after 3 attempts: ConnectionError"):
        api.live_status("abc")
    assert time.monotonic() - t0 >= 0.15  # backed off 0.05 + 0.1 s
