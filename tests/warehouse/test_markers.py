"""warehouse.read.markers: YouTube chapters, a CMX 3600 EDL and FCPXML from moments, as exact
text on a small case; YouTube's published rules (first chapter 0:00, at least 3, at least
10 s apart) on any input (hypothesis); hostile names stay one line of text (no control
characters, XML parsed back to the same name); and, where installed, a third-party reader
(OpenTimelineIO's CMX 3600 and FCP X XML adapters, pycmx) reads the markers back."""
from __future__ import annotations

import io
import re
import xml.etree.ElementTree as ET

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.hostile_text import PAYLOADS
from warehouse.read.markers import (
    ChapterError,
    Marker,
    clean_name,
    clock,
    edl,
    fcpxml,
    timecode,
    youtube_chapters,
)

pytestmark = pytest.mark.unit

MOMENTS = [Marker(690, 120, "채팅 폭주 · ㅋㅋ", "volume+surge"), Marker(1590, 60, "후원 30,000", "donations"),
           Marker(1290, 60, PAYLOADS[0] + "\n|도배|", "dominated")]
HOSTILE = [*PAYLOADS, "a\x00b\x1bc\x7fd\u202ee\u200bf", "줄\r\n바꿈\t탭", "x" * 500]
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u200b-\u200f\u202a-\u202e\u2066-\u2069]")


def test_youtube_chapters_exact():
    assert youtube_chapters(MOMENTS, "시작") == (
        "0:00 시작\n11:30 채팅 폭주 · ㅋㅋ\n21:30 </script><img src=x onerror=alert(1)> |도배|\n26:30 후원 30,000\n")
    long = [Marker(5, 60, "처음"), Marker(3700, 60, "한 시간 뒤"), Marker(3705, 60, "너무 가까움"), Marker(7300, 60, "끝")]
    assert youtube_chapters(long, "시작") == "0:00 처음\n1:01:40 한 시간 뒤\n2:01:40 끝\n"
    with pytest.raises(ChapterError, match="at least 3"):
        youtube_chapters([Marker(100, 60, "하나")], "시작")
    with pytest.raises(ChapterError):  # the last one is within 10 s of the replay's end
        youtube_chapters([Marker(100, 60, "a"), Marker(195, 60, "b")], "시작", length=200)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 20_000), st.text(max_size=30)), max_size=12),
       st.one_of(st.none(), st.integers(0, 25_000)))
def test_youtube_rules_hold_for_any_moments(items, length):
    markers = [Marker(o, 60, n) for o, n in items]
    try:
        text = youtube_chapters(markers, "Start", length)
    except ChapterError:
        return
    lines = text.splitlines()
    assert text.endswith("\n") and len(lines) >= 3
    seconds = []
    for line in lines:
        stamp, _, name = line.partition(" ")
        assert re.fullmatch(r"(\d+:)?\d{1,2}:\d\d", stamp), line
        parts = [int(p) for p in stamp.split(":")]
        seconds.append(sum(p * 60 ** i for i, p in enumerate(reversed(parts))))
        assert name and not _CONTROL.search(name)
    assert lines[0].startswith("0:00 ")
    assert all(b - a >= 10 for a, b in zip(seconds, seconds[1:], strict=False))
    if length is not None:
        assert seconds[-1] <= length - 10


@pytest.mark.parametrize("text", HOSTILE)
def test_clean_name_is_one_line_of_plain_text(text):
    got = clean_name(text, 80)
    assert not _CONTROL.search(got) and "\n" not in got and len(got) <= 80
    assert got == got.strip()


def test_edl_exact():
    assert edl(MOMENTS[:2], "방송 | 하이라이트") == "\n".join([
        "TITLE: 방송 / 하이라이트", "FCM: NON-DROP FRAME", "",
        "001  AX       V     C        00:11:30:00 00:13:30:00 00:11:30:00 00:13:30:00",
        "* LOC: 00:11:30:00 BLUE    채팅 폭주 · ㅋㅋ",
        " |C:ResolveColorBlue |M:채팅 폭주 · ㅋㅋ |D:3600", "",
        "002  AX       V     C        00:26:30:00 00:27:30:00 00:26:30:00 00:27:30:00",
        "* LOC: 00:26:30:00 BLUE    후원 30,000",
        " |C:ResolveColorBlue |M:후원 30,000 |D:1800", ""])
    assert (timecode(3725.5), clock(59), clock(3600)) == ("01:02:05:15", "0:59", "1:00:00")


def test_edl_keeps_hostile_names_on_their_line():
    text = edl([Marker(i * 30, 10, name) for i, name in enumerate(HOSTILE)], "\n".join(PAYLOADS))
    lines = text.split("\n")
    events = [i for i, line in enumerate(lines) if re.match(r"^\d{3}  ", line)]
    assert len(events) == len(HOSTILE)
    for i in events:  # each event is exactly: the event line, its locator, its Resolve marker, a blank
        assert re.fullmatch(r"\d{3}  AX {7}V {5}C {8}(\d\d:\d\d:\d\d:\d\d ){3}\d\d:\d\d:\d\d:\d\d", lines[i])
        assert lines[i + 1].startswith("* LOC: ") and lines[i + 2].startswith(" |C:ResolveColorBlue |M:")
        assert lines[i + 2].count("|") == 3 and lines[i + 3] == ""
    assert not _CONTROL.search(text.replace("\n", ""))
    assert len(lines) == 3 + 4 * len(HOSTILE)


def test_fcpxml_parses_back_to_the_clean_names():
    markers = [Marker(i * 30, 10, name, note=name) for i, name in enumerate(HOSTILE)]
    text = fcpxml(markers, PAYLOADS[2], length=100)
    assert text.startswith('<?xml version="1.0" encoding="UTF-8"?>\n<!DOCTYPE fcpxml>\n<fcpxml version="1.9">')
    root = ET.fromstring(text.split("\n", 2)[2])
    got = [(m.get("start"), m.get("value"), m.get("note")) for m in root.iter("marker")]
    assert got == [(f"{i * 30}s", clean_name(n) or "-", clean_name(n, 400) or None) for i, n in enumerate(HOSTILE)]
    clip = root.find("./library/event/project/sequence/spine/asset-clip")
    assert clip is not None and clip.get("duration") == f"{(len(HOSTILE) - 1) * 30 + 10}s"  # past the last marker
    assert root.find("./library/event").get("name") == clean_name(PAYLOADS[2])
    assert [el.tag for el in root.iter()] == [
        "fcpxml", "resources", "format", "asset", "library", "event", "project", "sequence", "spine",
        "asset-clip", *["marker"] * len(HOSTILE)]  # no element from the data


def test_third_party_readers_read_the_markers_back():
    otio = pytest.importorskip("opentimelineio")
    pycmx = pytest.importorskip("pycmx")
    names = [clean_name(m.name) for m in sorted(MOMENTS, key=lambda m: m.offset)]
    timeline = otio.adapters.read_from_string(edl(MOMENTS, "t"), "cmx_3600", rate=30)
    got = [(m.name, m.marked_range.start_time.to_seconds()) for c in timeline.find_clips() for m in c.markers]
    assert got == [(n.replace("|", "/"), o) for n, o in zip(names, (690.0, 1290.0, 1590.0), strict=True)]
    events = pycmx.parse_cmx3600(io.StringIO(edl(MOMENTS, "t"))).events
    assert [e.edits[0].record_in for e in events] == ["00:11:30:00", "00:21:30:00", "00:26:30:00"]
    project = otio.adapters.read_from_string(fcpxml(MOMENTS, "t", 2000), "fcpx_xml")
    clip = next(iter(project[0].find_clips()))
    assert [(m.name, m.marked_range.start_time.to_seconds()) for m in clip.markers] == \
        list(zip(names, (690.0, 1290.0, 1590.0), strict=True))
