"""Chapter and marker files that video editors and YouTube import, from a list of moments
(offset into the replay, duration, name): pure functions, text in, text out.

- YouTube chapters (``youtube_chapters``): one ``M:SS Name`` line per chapter, as YouTube
  reads them from a video description: the first at 0:00, at least 3 chapters, each at
  least 10 seconds long (YouTube Help, "Video chapters"). Moments closer than that to the
  previous kept chapter are left out; fewer than 3 chapters is a ChapterError.
- An EDL (``edl``): CMX 3600 text, one event per moment at its record timecode, each with
  a ``* LOC:`` locator comment (Avid's, read by OpenTimelineIO's CMX 3600 adapter) and a
  `` |C: |M: |D:`` marker line (DaVinci Resolve's "Timeline markers from EDL").
- FCPXML (``fcpxml``): Final Cut Pro XML 1.9 with one ``<marker>`` per moment on one clip
  standing for the replay (an asset without media: the editor relinks it to the file).

Marker names come from chat (nicknames, lines, keywords): untrusted. ``clean_name`` drops
control and format characters (C0/C1, bidi overrides, zero-width), turns line breaks and
tabs into spaces and shortens the name; the EDL also loses ``|`` (Resolve's field
separator) and the XML escapes ``& < > " '`` through xml.sax.saxutils.
"""
from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from xml.sax.saxutils import quoteattr

YOUTUBE_MIN_CHAPTERS = 3     # YouTube shows chapters only with at least three
YOUTUBE_MIN_SECONDS = 10     # and each at least ten seconds long
NAME_CHARS = 80              # a marker name's length at most (characters)
EDL_FPS = 30                 # timecode frames per second (non-drop frame)
_SPACE = re.compile(r"\s+")


class ChapterError(ValueError):
    """The moments do not make chapters YouTube accepts: the message says why."""


@dataclass(frozen=True)
class Marker:
    """One moment: `offset` whole seconds into the replay, `duration` seconds, `name` (may
    be untrusted text; cleaned by each writer), `note` (longer, also cleaned)."""
    offset: int
    duration: int
    name: str
    note: str = ""


def clean_name(text: object, limit: int = NAME_CHARS) -> str:
    """`text` on one line: control (Cc), format (Cf: bidi overrides, zero-width) and
    unassigned/private characters dropped, every run of whitespace (newlines, tabs) one
    space, at most `limit` characters (an ellipsis marks a cut)."""
    kept = "".join(" " if ch.isspace() else ch for ch in str(text or "")
                   if ch.isspace() or unicodedata.category(ch) not in ("Cc", "Cf", "Cs", "Co", "Cn"))
    one = _SPACE.sub(" ", kept).strip()
    return one if len(one) <= limit else one[:limit - 1].rstrip() + "…"


def clock(seconds: int, hours: bool = False) -> str:
    """``M:SS``, or ``H:MM:SS`` past an hour (or when `hours`)."""
    s = max(0, int(seconds))
    h, m, sec = s // 3600, s // 60 % 60, s % 60
    return f"{h}:{m:02d}:{sec:02d}" if h or hours else f"{m}:{sec:02d}"


def youtube_chapters(markers: Iterable[Marker], opening: str, length: int | None = None) -> str:
    """YouTube chapter lines for `markers` (any order): ``0:00 <opening>`` first unless a
    marker starts within the first 10 s (that one takes 0:00), then each marker starting
    at least 10 s after the previous chapter and, when the replay's `length` (seconds) is
    known, at least 10 s before its end. ChapterError when fewer than 3 chapters remain."""
    kept: list[tuple[int, str]] = [(0, clean_name(opening) or "-")]
    for m in sorted(markers, key=lambda m: (m.offset, m.name)):
        if length is not None and m.offset > length - YOUTUBE_MIN_SECONDS:
            continue
        name = clean_name(m.name) or "-"
        if m.offset < YOUTUBE_MIN_SECONDS and len(kept) == 1:
            kept[0] = (0, name)  # a moment at the very start opens the replay itself
        elif m.offset - kept[-1][0] >= YOUTUBE_MIN_SECONDS:
            kept.append((int(m.offset), name))
    if len(kept) < YOUTUBE_MIN_CHAPTERS:
        raise ChapterError(f"YouTube needs at least {YOUTUBE_MIN_CHAPTERS} chapters at least "
                           f"{YOUTUBE_MIN_SECONDS} s apart, the first at 0:00; these moments give {len(kept)}")
    hours = any(o >= 3600 for o, _ in kept)
    return "".join(f"{'0:00' if o == 0 else clock(o, hours)} {name}\n" for o, name in kept)


def timecode(seconds: float, fps: int = EDL_FPS) -> str:
    """SMPTE ``HH:MM:SS:FF`` (non-drop frame) of `seconds` from zero."""
    frames = int(round(seconds * fps))
    ff, s = frames % fps, frames // fps
    return f"{s // 3600:02d}:{s // 60 % 60:02d}:{s % 60:02d}:{ff:02d}"


def edl(markers: Iterable[Marker], title: str, fps: int = EDL_FPS, color: str = "ResolveColorBlue") -> str:
    """A CMX 3600 EDL with one auxiliary-source event per marker (in time order): record
    in = the marker's offset, out = offset + duration (at least one frame); a ``* LOC:``
    locator and Resolve's ``|C: |M: |D:`` line name it."""
    lines = [f"TITLE: {_edl_text(title, 60) or 'CHZZK highlights'}", "FCM: NON-DROP FRAME", ""]
    for i, m in enumerate(sorted(markers, key=lambda m: (m.offset, m.name)), start=1):
        start = timecode(m.offset, fps)
        end = timecode(m.offset + max(m.duration, 1 / fps), fps)
        name = _edl_text(m.name, 60) or "-"
        frames = max(1, int(round(m.duration * fps)))
        lines += [f"{i:03d}  AX       V     C        {start} {end} {start} {end}",
                  f"* LOC: {start} BLUE    {name}",
                  f" |C:{color} |M:{name} |D:{frames}", ""]
    return "\n".join(lines)


def _edl_text(text: object, limit: int) -> str:
    return clean_name(text, limit).replace("|", "/")


def fcpxml(markers: Iterable[Marker], title: str, length: int, fps: int = EDL_FPS) -> str:
    """Final Cut Pro XML 1.9: a project `title` whose spine is one clip of the replay,
    `length` seconds (at least past the last marker), holding a ``<marker>`` per moment (start = its offset,
    one frame long; value = its name, note = its note)."""
    ms = sorted(markers, key=lambda m: (m.offset, m.name))
    total = max([int(length), *(m.offset + max(m.duration, 1) for m in ms), 1])
    name = quoteattr(clean_name(title) or "CHZZK highlights")
    out = ['<?xml version="1.0" encoding="UTF-8"?>', "<!DOCTYPE fcpxml>", '<fcpxml version="1.9">',
           "  <resources>",
           f'    <format id="r1" name="FFVideoFormat1080p{fps}" frameDuration="1/{fps}s" width="1920" height="1080"/>',
           f'    <asset id="r2" name={name} start="0s" duration="{total}s" hasVideo="1" hasAudio="1" format="r1"/>',
           "  </resources>", "  <library>", f"    <event name={name}>", f"      <project name={name}>",
           f'        <sequence format="r1" duration="{total}s" tcStart="0s" tcFormat="NDF">',
           "          <spine>",
           f'            <asset-clip name={name} ref="r2" offset="0s" duration="{total}s" start="0s" format="r1">']
    for m in ms:
        note = clean_name(m.note, 400)
        out.append(f'              <marker start="{int(m.offset)}s" duration="1/{fps}s" '
                   f'value={quoteattr(clean_name(m.name) or "-")}' + (f" note={quoteattr(note)}" if note else "")
                   + "/>")
    out += ["            </asset-clip>", "          </spine>", "        </sequence>", "      </project>", "    </event>",
            "  </library>", "</fcpxml>", ""]
    return "\n".join(out)
