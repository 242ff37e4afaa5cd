"""`python -m collector parse` as a user runs it: a real subprocess, real files and pipes."""
from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
from collections import Counter
from pathlib import Path

import pytest

from collector.records import KINDS

pytestmark = pytest.mark.unit
ROOT = Path(__file__).resolve().parents[2]
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


def test_hidden_characters_are_json_escapes_not_raw_terminal_bytes():
    """C1 controls (U+009B is a terminal's CSI), bidi overrides and zero-width characters in a
    chat line come out as JSON \\u escapes (core.cli.json_line), decoding to the same text;
    Hangul stays readable."""
    message = "a\u009b31mb\u202ec\u200bd 한글"
    frame = {"cmd": 93101, "cid": "c", "bdy": [{"uid": "u", "msg": message, "msgTime": 1000}]}
    proc = run_parse(stdin=json.dumps(frame).encode() + b"\n")
    out = proc.stdout.decode("utf-8")
    assert not any(ch in out for ch in "\u009b\u202e\u200b"), out
    assert "\\u009b" in out and "\\u202e" in out and "한글" in out
    (rec,) = records(proc)
    assert rec["message"] == message


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


def chat_line(i: int) -> bytes:
    return b'{"cmd":93101,"cid":"c","bdy":[{"uid":"u%d","msg":"m%d","msgTime":%d}]}\n' % (i % 7, i, 1000 + i)


class LineReader:
    """A `collector parse` child fed through a pipe; its output lines are read by a thread
    so that `next()` can wait for one with a timeout (a held line fails, not hangs)."""

    def __init__(self):
        self.proc = subprocess.Popen([sys.executable, "-m", "collector", "parse"], cwd=ROOT, env=_env(),
                                     stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        self.lines: queue.Queue[bytes] = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()

    def _read(self):
        for line in self.proc.stdout:
            self.lines.put(line)
        self.lines.put(b"")

    def send(self, data: bytes) -> None:
        self.proc.stdin.write(data)
        self.proc.stdin.flush()

    def next(self) -> dict:
        try:
            line = self.lines.get(timeout=20)
        except queue.Empty:
            raise AssertionError("no output for the line sent: the parser holds it back") from None
        assert line, f"the parser exited: {self.proc.stderr.read().decode()[-2000:]}"
        return json.loads(line)

    def close(self) -> tuple[int, str]:
        """Close stdin; (exit status, stderr)."""
        self.proc.stdin.close()
        err = self.proc.stderr.read().decode("utf-8")
        return self.proc.wait(timeout=30), err


def test_cut_off_line_costs_one_dead_letter_and_every_later_line_streams():
    """A cut-off line, then 10,000 lines through a pipe: the output of line k is read before
    line k+1 is sent (the first 100 lines one at a time, then 500 at a time). Nothing is
    held back, so nothing is re-parsed (before the fix the cut-off line held every later
    line and re-decoded the growing document: 20 times the clean input's time)."""
    child = LineReader()
    try:
        cut = chat_line(0)[:40]
        child.send(cut + b"\n")
        first = child.next()
        assert first["kind"] == "dead_letter" and first["raw"] == cut.decode()
        sent = 0
        while sent < 10_000:
            step = 1 if sent < 100 else min(500, 10_000 - sent)
            child.send(b"".join(chat_line(i) for i in range(sent + 1, sent + step + 1)))
            for i in range(sent + 1, sent + step + 1):
                rec = child.next()
                assert rec["kind"] == "chat" and rec["message"] == f"m{i}", rec
            sent += step
        rc, err = child.close()
        assert rc == 0, err
        assert child.lines.get(timeout=5) == b""  # one record per line, nothing more
        assert "10001 records" in err and "dead_letter=1" in err
    finally:
        if child.proc.poll() is None:
            child.proc.kill()


def test_pretty_documents_between_lines(tmp_path):
    """Pretty-printed documents (json.dumps(indent=...), jq) may sit between frame lines."""
    blind = {"cmd": 94008, "cid": "c", "bdy": {"messageTime": 5, "userId": "u", "blindType": "BLIND"}}
    data = (chat_line(1) + json.dumps(blind, indent=2).encode() + b"\n" + chat_line(2)
            + json.dumps([{"cmd": 0}, blind], indent="\t").encode() + b"\n")
    out = records(run_parse(stdin=data))
    assert [r["kind"] for r in out] == ["chat", "blind", "chat", "control", "blind"]


@pytest.mark.parametrize("bad, held", [
    (b"{\n", 1),  # a line cut right after its first character
    (b"[\n", 1),
    (b'{\n  "cmd": 93101,\n  "bdy": [\n', 3),  # a pretty document cut off, then frame lines
    (b'{\n  "cmd": 93101,\n  "bdy": [\n}\n', 4),  # closed at column 0 but not valid JSON
])
def test_broken_document_is_one_dead_letter(bad, held):
    out = records(run_parse(stdin=bad + chat_line(1) + chat_line(2)))
    assert [r["kind"] for r in out] == ["dead_letter", "chat", "chat"], out
    assert out[0]["raw"].count("\n") == held - 1 and "pretty-printed" in out[0]["error"]


def test_broken_document_at_end_is_one_dead_letter():
    out = records(run_parse(stdin=chat_line(1) + b'[\n  {\n    "cmd": 0\n'))
    assert [r["kind"] for r in out] == ["chat", "dead_letter"]
    assert out[1]["raw"] == '[\n  {\n    "cmd": 0' and "ends before" in out[1]["error"]


def test_json_line_shortcut_writes_what_the_walk_writes():
    """json_line and terminal_text skip their walk over each character when str.isprintable
    passes (issue 17: the walk cost `collector parse` ~10x the parse); they write what the
    walk writes, hidden characters and all: every character they escape is unprintable."""
    import json
    import unicodedata

    from core.cli import HIDDEN_CATEGORIES, _escape, _json_escape, json_line, terminal_text

    def walk_json(obj) -> str:  # json_line without the shortcut
        return "".join(_json_escape(c) if unicodedata.category(c) in HIDDEN_CATEGORIES else c
                       for c in json.dumps(obj, default=str, ensure_ascii=False))

    assert not [c for c in map(chr, range(0x110000))
                if unicodedata.category(c) in HIDDEN_CATEGORIES and c.isprintable()]
    for text in ("안녕 ㅋㅋ 🔥", "a\u202eb", "\u200b", "\x7f", "\x85", "\u2028", "\u00a0", "\u3000", "\ufeff",
                 "\U000e0001", "\x00\x1f", "\U0010ffff"):
        record = {"kind": "chat", "message": text, "raw": {"msg": text, "n": [1, None, True]}}
        assert json_line(record) == walk_json(record), repr(text)
        assert terminal_text(text) == "".join(_escape(c) if unicodedata.category(c) in HIDDEN_CATEGORIES else c
                                              for c in text), repr(text)
