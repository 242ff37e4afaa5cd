"""The sidebar's state in the URL (``?channels=a,b&from=2026-09-01&to=2026-09-03&types=chat
&live=1&lang=en&tz=UTC``), so a copied URL reproduces the view. Pure functions: the URL
is untrusted input, so every value is checked against what the viewer may pick and
anything else is dropped (and reported), never passed on."""
from __future__ import annotations

from datetime import date

from collector.records import MESSAGE_TYPES, UNKNOWN_TYPE
from dashboard.i18n import LANGS

KEYS = ("channels", "from", "to", "types", "live", "lang", "tz")
# the channel picker's "every channel this viewer may see" (one chip instead of hundreds); in
# the URL as ``channels=*`` (a channel id is never "*")
ALL_CHANNELS = "*"
TYPES: tuple[str, ...] = tuple(dict.fromkeys([*MESSAGE_TYPES.values(), UNKNOWN_TYPE]))
ZONES = ("Asia/Seoul", "UTC", "Asia/Tokyo", "America/Los_Angeles", "America/New_York", "Europe/London")


def zones(default: str) -> list[str]:
    """The timezone choices: DISPLAY_TZ first, then a short list (UTC among them)."""
    return list(dict.fromkeys([default, *ZONES]))


def split(raw: str | None) -> list[str]:
    """A comma-separated URL value as a list of its non-blank parts, in order, once each."""
    return list(dict.fromkeys(p.strip() for p in (raw or "").split(",") if p.strip()))


def pick(raw: str | None, allowed: list[str] | tuple[str, ...]) -> tuple[list[str], list[str]]:
    """(the values of `raw` that are in `allowed`, the ones that are not)."""
    ok = set(allowed)
    parts = split(raw)
    return [p for p in parts if p in ok], [p for p in parts if p not in ok]


def day(raw: str | None) -> date | None:
    """An ISO date (YYYY-MM-DD), or None when missing or malformed."""
    try:
        return date.fromisoformat((raw or "").strip()) if raw else None
    except ValueError:
        return None


def dates(raw_from: str | None, raw_to: str | None, first: date, last: date,
          default: tuple[date, date]) -> tuple[tuple[date, date], bool]:
    """((start, end) clipped to the lake's days, whether the URL's dates were unusable)."""
    if raw_from is None and raw_to is None:
        return default, False
    start, end = day(raw_from), day(raw_to)
    if start is None or end is None:
        return default, True
    start, end = min(start, end), max(start, end)
    start, end = max(first, start), min(last, end)
    if start > end:  # wholly outside the lake
        return default, True
    return (start, end), False


def choice(raw: str | None, options: list[str] | tuple[str, ...], default: str) -> str:
    return raw if raw in options else default


def lang(raw: str | None, default: str) -> str:
    return choice(raw, LANGS, default)


def flag(raw: str | None) -> bool:
    return (raw or "").strip().lower() in ("1", "true", "yes", "on")


def encode(channels, start: date, end: date, types, live: bool, lang: str, tz: str) -> dict[str, str]:
    """The URL parameters of a view. Channels and dates always (a shared link must not move
    with the lake); types only when narrowed, live only when on."""
    out = {"channels": ",".join(channels), "from": start.isoformat(), "to": end.isoformat(),
           "lang": lang, "tz": tz}
    if types and set(types) != set(TYPES):
        out["types"] = ",".join(types)
    if live:
        out["live"] = "1"
    return out
