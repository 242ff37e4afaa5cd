"""Would keeping each chat item's received bytes save the sink's JSON encoding of ``raw``?
(issue 17, docs/COLLECTOR_STORAGE.md). Three ways to get a chat line's ``raw`` JSON text,
each split into the collector CPU it adds to the parser and what it costs the sink, per
chat item, on realistic frames (bench/frames.py, both styles), in ONE run:

- ``encode`` (what the collector does): the parser decodes the frame (msgspec), the sink
  encodes each ``raw`` dict again (``collector.chat_copy.json_texts``, chunks of 100);
- ``lazy``: the parser's ``raw`` is a dict subclass that knows its frame and its index in
  ``bdy`` (a copy of the item dict, two attributes); the sink finds the item's bytes with
  one msgspec ``Raw`` scan of each frame (``bdy: list[Raw]``) and slices them;
- ``eager``: the parser decodes a chat frame as ``bdy: list[Raw]`` (the other keys typed
  ``Any``, unknown keys refused) and each item from its own bytes, and keeps those bytes
  on the dict subclass; the sink only reads them.

    .venv/bin/python -m bench.raw_bytes_bench [--lines 50000] [--reps 5]

CPU time (``time.process_time``), best of ``--reps`` (a shared machine: the best is the
least disturbed). The ways are prototypes written here; the collector is not changed.
"""
from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path
from typing import Any, Literal

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402

from bench.frames import STYLES, frame_lines  # noqa: E402
from collector import chat_copy  # noqa: E402

CHUNK = 100  # rows per COPY chunk, as chat_copy.CHUNK_ROWS


class _Item(dict):
    __slots__ = ("frame", "index", "json")


class _Body(msgspec.Struct):
    bdy: list[msgspec.Raw] = []


class _ChatFrame(msgspec.Struct, forbid_unknown_fields=True):
    cmd: Literal[93101, 93102]
    bdy: list[msgspec.Raw]
    ver: Any = None
    svcid: Any = None
    cid: Any = None
    tid: Any = None
    sid: Any = None


_decode = msgspec.json.Decoder().decode
_bodies = msgspec.json.Decoder(_Body).decode
_chat_frame = msgspec.json.Decoder(_ChatFrame).decode


class _Forget:
    """A list that keeps nothing (the timed loops)."""

    def append(self, _):
        pass

    def extend(self, items):
        for _ in items:
            pass


def _best(fn, reps: int) -> float:
    out = 9e9
    for _ in range(reps):
        t0 = time.process_time()
        fn()
        out = min(out, time.process_time() - t0)
    return out


def _plain_parse(frames, out: list) -> list:
    """The parser today (its decode): ``out`` collects the items (kept only to check them,
    timed with a list that forgets them: a growing list of dicts makes the GC's work part of
    the figure)."""
    for f in frames:
        out.extend(_decode(f)["bdy"])
    return out


def _lazy_parse(frames, out: list) -> list:
    for f in frames:
        for i, item in enumerate(_decode(f)["bdy"]):
            raw = _Item(item)
            raw.frame, raw.index = f, i
            out.append(raw)
    return out


def _lazy_sink(raws):
    for i in range(0, len(raws), CHUNK):
        spans = {}
        for raw in raws[i:i + CHUNK]:
            found = spans.get(id(raw.frame))
            if found is None:
                found = spans[id(raw.frame)] = _bodies(raw.frame).bdy
            bytes(found[raw.index])


def _eager_parse(frames, out: list) -> list:
    for f in frames:
        for span in _chat_frame(f).bdy:
            raw = _Item(_decode(span))
            raw.json = bytes(span)
            out.append(raw)
    return out


def _eager_sink(raws):
    for i in range(0, len(raws), CHUNK):
        [r.json for r in raws[i:i + CHUNK]]  # noqa: B018 - what the sink would do


def _encode_sink(raws):
    for i in range(0, len(raws), CHUNK):
        chat_copy.json_texts(raws[i:i + CHUNK])


def _style(style: str, lines: int, reps: int) -> dict:
    frames = [f for f in frame_lines(lines, style=style) if b'"cmd":93101' in f or b'"cmd":93102' in f]
    plain = _plain_parse(frames, [])
    n = len(plain)
    lazy, eager = _lazy_parse(frames, []), _eager_parse(frames, [])
    assert lazy == plain and eager == plain
    decode = _best(lambda: _plain_parse(frames, _Forget()), reps)
    us = {"encode": (0.0, _best(lambda: _encode_sink(plain), reps)),
          "lazy": (_best(lambda: _lazy_parse(frames, _Forget()), reps) - decode, _best(lambda: _lazy_sink(lazy), reps)),
          "eager": (_best(lambda: _eager_parse(frames, _Forget()), reps) - decode,
                    _best(lambda: _eager_sink(eager), reps))}
    same = sum(r.json == t for r, t in zip(eager, chat_copy.json_texts(plain), strict=True))
    return {"items": n, "frames": len(frames), "decode_us": round(decode * 1e6 / n, 2),
            "bytes_equal_encoded": same,
            "ways": {k: {"parser_us": round(p * 1e6 / n, 2), "sink_us": round(s * 1e6 / n, 2),
                         "total_us": round((p + s) * 1e6 / n, 2)} for k, (p, s) in us.items()}}


def run(lines: int = 50_000, reps: int = 5) -> dict:
    return {"lines": lines, "reps": reps, "styles": {style: _style(style, lines, reps) for style in STYLES}}


def print_report(res: dict) -> None:
    for style, r in res["styles"].items():
        print(f"\n== raw bytes kept or encoded again, style '{style}': {r['items']:,} chat items in "
              f"{r['frames']:,} frames; collector CPU µs per item, best of {res['reps']} (shared machine)")
        print(f"   msgspec decode of the frames (the parser today)  {r['decode_us']:.2f}")
        print(f"   {'way':<8} {'parser +':>9} {'sink':>7} {'total':>7}")
        for way, w in r["ways"].items():
            print(f"   {way:<8} {w['parser_us']:>9.2f} {w['sink_us']:>7.2f} {w['total_us']:>7.2f}")
        print(f"   received bytes equal to msgspec's encoding for {r['bytes_equal_encoded']:,} of {r['items']:,} items")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lines", type=int, default=50_000, help="chat lines per style (default 50,000)")
    ap.add_argument("--reps", type=int, default=5, help="runs of each, best (default 5)")
    a = ap.parse_args(argv)
    print_report(run(a.lines, a.reps))
    return 0


if __name__ == "__main__":
    sys.exit(main())
