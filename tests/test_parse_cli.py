"""`python -m collector parse` as a user runs it: a real subprocess, real files and pipes."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from collector.records import KINDS

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parent.parent
SAMPLES = ROOT / "tests" / "data" / "samples.jsonl"


def run_parse(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "collector", "parse", *args], cwd=ROOT, input=stdin,
                          capture_output=True, timeout=60, env=_env())


def _env() -> dict:
    env = {k: v for k, v in os.environ.items() if k != "LOG_LEVEL"}
    env["PYTHONPATH"] = str(ROOT)
    return env


def records(proc: subprocess.CompletedProcess) -> list[dict]:
    return [json.loads(line) for line in proc.stdout.decode("utf-8").splitlines()]


def test_parse_samples_file():
    proc = run_parse(str(SAMPLES.relative_to(ROOT)))
    assert proc.returncode == 0, proc.stderr
    out = records(proc)
    counts = Counter(r["kind"] for r in out)
    assert set(counts) == set(KINDS)
    # 38 sample lines; the two-item chat frame gives one record more
    assert sum(counts.values()) == 39
    assert counts == {"chat": 14, "blind": 2, "event": 4, "control": 17, "dead_letter": 2}
    chat = next(r for r in out if r["kind"] == "chat")
    assert chat["message"] == "어어 샌다" and isinstance(chat["raw"], dict)
    assert "어어 샌다" in proc.stdout.decode("utf-8")  # ensure_ascii=False
    summary = proc.stderr.decode("utf-8").strip().splitlines()[-1]
    assert "39 records" in summary and "chat=14" in summary and "dead_letter=2" in summary


def test_parse_stdin_with_blank_and_bad_lines():
    data = b'{"ver":"3","cmd":0}\n\n   \nnot json\n{"cmd":10000}\n\xff\xfe\n'
    proc = run_parse(stdin=data)
    assert proc.returncode == 0, proc.stderr
    out = records(proc)
    assert [r["kind"] for r in out] == ["control", "dead_letter", "control", "dead_letter"]
    assert "not JSON" in out[1]["error"] and out[1]["raw"] == "not json"
    assert "UTF-8" in out[3]["error"]


def test_dash_is_stdin():
    proc = run_parse("-", stdin=b'{"cmd":93101,"cid":"c","bdy":[{"uid":"u","msg":"x","msgTime":1000}]}\n')
    assert proc.returncode == 0
    (rec,) = records(proc)
    assert rec["kind"] == "chat" and rec["chat_time"] == "1970-01-01T00:00:01.000Z"


def test_pretty_printed_document(tmp_path):
    frames = [{"cmd": 0, "ver": "3"}, {"cmd": 94008, "cid": "c", "bdy": {"messageTime": 5, "userId": "u",
                                                                        "blindType": "BLIND"}}]
    one = tmp_path / "one.json"
    one.write_text(json.dumps(frames[1], indent=2), encoding="utf-8")
    arr = tmp_path / "arr.json"
    arr.write_text(json.dumps(frames, indent=2), encoding="utf-8")
    assert [r["kind"] for r in records(run_parse(str(one)))] == ["blind"]
    assert [r["kind"] for r in records(run_parse(str(arr)))] == ["control", "blind"]


def test_missing_file_exits_2_with_one_line():
    proc = run_parse("does/not/exist.jsonl")
    assert proc.returncode == 2
    err = proc.stderr.decode("utf-8").strip()
    assert len(err.splitlines()) == 1
    assert "does/not/exist.jsonl" in err and "cannot open" in err
    assert proc.stdout == b""
