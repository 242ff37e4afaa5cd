"""Chat records for the sink's tests (tests/collector/test_sink.py, test_chat_binary.py):
one record following collector/records.py, and texts that must round-trip exactly."""
from __future__ import annotations

from collector.records import CHAT_FIELDS

CHANNEL = "17f0cfcba4ff608de5eabb5110d134d0"


def chat(i: int = 0, **overrides) -> dict:
    """A chat record following collector/records.py."""
    rec = {f: None for f in CHAT_FIELDS}
    rec.update(kind="chat", channel_id=CHANNEL, chat_channel_id="N2mCH5", user_id=f"{i:032x}",
               nickname=f"viewer{i}", message=f"hello {i}", message_type="chat", msg_type_code=1,
               message_status="NORMAL", chat_time=f"2026-09-30T14:10:{i % 60:02d}.{i % 1000:03d}Z",
               os_type="PC", badges=[{"imageUrl": "https://x/b.png"}], raw={"msg": f"hello {i}"},
               dedupe_key=f"key-{i}")
    rec.update(overrides)
    return rec


NASTY = [
    "plain",
    "",
    "emoji 😀🇰🇷 and 한국어 {:d_63:}",
    'quotes " and "" and \'',
    "back\\slash \\N \\. \\u0000 literal",
    "new\nline\r\nand\ttab",
    "commas, ,, and ,",
    '"starts with quote',
    "\\.",
    "trailing space ",
    "None",
    "\\None",
    "\\x00ff",
]
