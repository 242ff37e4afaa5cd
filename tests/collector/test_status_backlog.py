"""The spool's backlog in `collector status` (collector/status.py) and in the metrics
(collector/metrics.py): records, bytes and the age of the oldest unstored record, from a
running collector's state file or from the segments a stopped one left."""
from __future__ import annotations

import json
import os
import time

import pytest

from collector import metrics, status
from collector.buffer import Buffer
from collector.wire import Frame

CHANNEL = "c" * 32
PUSH = b'{"svcid":"game","ver":"1","bdy":[{"msgTime":1},{"msgTime":2}],"cmd":93101,"tid":null,"cid":"N2abcd"}'


@pytest.mark.unit
def test_a_running_collectors_backlog_and_its_age_in_status_and_the_textfile(tmp_path):
    buf = Buffer(max_events=1000, spool_dir=tmp_path / "spool")
    buf.open()
    for _ in range(3):
        buf.add_frame(Frame(CHANNEL, "N2abcd", PUSH, 2))
    buf.spool.seal()
    buf.spool._sealed[0].first_at -= 90  # the oldest unstored record arrived 90 s ago
    snap = metrics.snapshot(buf, metrics.Counts(), [])
    metrics.write(snap, str(tmp_path / "collector.prom"))

    shown = status.spool_backlog(tmp_path / "spool")
    (c,) = shown["collectors"]
    assert c["pid"] == os.getpid() and shown["backlog_records"] == 6 == c["backlog_records"]
    assert c["backlog_bytes"] == buf.spool.size > 3 * len(PUSH)
    assert 90 <= shown["backlog_age_seconds"] < 100
    line = status.format_backlog(shown)
    assert "backlog 6 records" in line and "oldest 90s old" in line and "last store never" in line

    prom = (tmp_path / "collector.prom").read_text()
    assert "chzzk_collector_spool_backlog_records 6.0\n" in prom
    assert "# TYPE chzzk_collector_spool_backlog_age_seconds gauge" in prom
    assert float(prom.split("\nchzzk_collector_spool_backlog_age_seconds ")[1].split()[0]) >= 90

    buf.flush(lambda batch: None)
    metrics.write(metrics.snapshot(buf, metrics.Counts(), []), None)
    after = status.spool_backlog(tmp_path / "spool")
    assert after["backlog_records"] == 0 and after["backlog_age_seconds"] is None
    assert "backlog 0 records" in status.format_backlog(after) and "last store 0s ago" in status.format_backlog(after)
    buf.close()


@pytest.mark.unit
def test_a_stopped_collectors_spool_is_counted_from_its_files(tmp_path):
    buf = Buffer(max_events=1000, spool_dir=tmp_path)
    buf.open()
    buf.add_frame(Frame(CHANNEL, "N2abcd", PUSH, 2))
    buf.add([{"kind": "event", "dedupe_key": "e"}])
    buf.close()  # no state file: nobody is running
    shown = status.spool_backlog(tmp_path, now=time.time() + 30)
    assert shown["collectors"] == [] and shown["backlog_records"] == 3 and shown["segment_files"] == 1
    assert shown["backlog_age_seconds"] >= 30
    assert "3 records" in status.format_backlog(shown) and "stopped collector" in status.format_backlog(shown)
    assert status.format_backlog(status.spool_backlog(tmp_path / "none")).endswith("empty, no collector running")


@pytest.mark.unit
def test_a_dead_collectors_state_file_is_ignored(tmp_path):
    snap = {"pid": 2 ** 22 + 12345, "at": time.time(), "spool_dir": str(tmp_path)}  # no such process
    metrics.write(snap, None)
    assert metrics.read_states(tmp_path) == []


@pytest.mark.integration
def test_health_is_503_while_the_spool_does_not_drain(pg_url):
    snap = {"backlog_age_seconds": 400.0, "backlog_records": 7, "last_store_at": None, "leases_held": 1}
    status, _, body = metrics.health(snap, pg_url, 300)
    assert status == 503 and json.loads(body)["reasons"] == [
        "spool not draining: its oldest unstored record is 400 s old (more than "
        "COLLECTOR_HEALTH_MAX_BACKLOG_SECONDS=300); 7 records wait"]
    status, _, body = metrics.health({**snap, "backlog_age_seconds": 12.0}, pg_url, 300)
    assert status == 200 and json.loads(body)["status"] == "ok"
    status, _, body = metrics.health(snap, "postgresql://postgres@127.0.0.1:1/x", 300)  # both reasons
    assert status == 503 and [r.split(":")[0] for r in json.loads(body)["reasons"]] == [
        "PostgreSQL unreachable", "spool not draining"]
