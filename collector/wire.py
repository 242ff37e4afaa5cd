"""What a chat client hands to the spool, and how it becomes records again (pure, no I/O).

A chat push (93101 CHAT / 93102 SPECIAL) is spooled as a ``Frame``: the bytes exactly as
received, with the channel it was read for. It is parsed (``collector.protocol``) only when
the spool drains into PostgreSQL, so the receiving thread does no JSON work at all and the
spool keeps the wire text (measured: parsing in the client and spooling the records cost
~20 µs per line with orjson, ~45 µs with json, besides the parse itself; a frame line costs
one ``os.write``). Every other frame (PING, CONNECTED, 15101, events, blinds, 90102, ...)
is parsed in the client as before, because the client must act on it.

``is_chat_push`` looks for the ``"cmd":93101`` / ``"cmd":93102`` key in the text: inside a
JSON string (a message, the profile and extras strings) a quote is escaped, so the pattern
matches only a real key. A frame that only looks like a push is still parsed at drain time
and becomes a dead letter there, as it would have in the client."""
from __future__ import annotations

import re
from dataclasses import dataclass

from collector import protocol

DATA_KINDS = ("chat", "blind", "event", "dead_letter")
_PUSH = re.compile(rb'"cmd"\s*:\s*9310[12](?![0-9.eE])')
_ITEM_MARK = b'"msgTime":'


@dataclass(frozen=True, slots=True)
class Frame:
    """A data frame as received for ``channel_id`` on chat channel ``chat_channel_id``;
    ``items`` is the number of chat lines it holds (a count of its ``msgTime`` keys)."""
    channel_id: str
    chat_channel_id: str
    data: bytes
    items: int = 1


def is_chat_push(data: bytes) -> bool:
    """True for a 93101/93102 frame (chat lines only: nothing the client must answer)."""
    return _PUSH.search(data) is not None


def count_items(data: bytes) -> int:
    """Chat lines in a push (at least 1, so a spooled frame always counts)."""
    return max(1, data.count(_ITEM_MARK))


def data_records(records: list[dict], channel_id: str, source: str) -> list[dict]:
    """The records worth storing (``DATA_KINDS``) of one parsed frame, each with the
    collected channel filled in where the frame did not name it, and a dead letter's
    `source` (``chat:<chat channel id>`` live, ``vod:<video>`` from a replay)."""
    out = []
    for rec in records:
        kind = rec.get("kind")
        if kind not in DATA_KINDS:
            continue
        if not rec.get("channel_id"):
            rec["channel_id"] = channel_id
        if kind == "dead_letter":
            rec.setdefault("source", source)
        out.append(rec)
    return out


def records_of(frame: Frame) -> list[dict]:
    """Parse a spooled frame into its data records (never raises: see ``parse_frame``)."""
    return data_records(protocol.parse_frame(frame.data), frame.channel_id, f"chat:{frame.chat_channel_id}")
