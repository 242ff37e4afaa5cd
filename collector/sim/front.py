"""The simulator's single port speaks HTTP and the chat websocket through one ``websockets``
server, whose handshake parser rejects any request with a body — and then closes the
connection without an HTTP answer. Real clients send such requests: chzzkpy's access-token
GET carries ``{"chatType": "STREAMING"}`` (``Content-Length: 25``), and CHZZK answers it.

``BodyTolerantConnection`` reads a request's head and body before the parser sees them and
hands the parser the head without its ``Content-Length``/``Transfer-Encoding`` (the body is
kept as sent in ``request_body``; no simulated endpoint needs it). Websocket upgrades carry no body
and pass through unchanged."""
from __future__ import annotations

import re

from websockets.asyncio.server import ServerConnection

MAX_HEAD = 64 * 1024
MAX_BODY = 1024 * 1024
_LENGTH = re.compile(rb"^content-length:[ \t]*(\d{1,9})[ \t]*\r?$", re.I | re.M)
_FRAMING = re.compile(rb"^(?:content-length|transfer-encoding):[^\r\n]*\r\n", re.I | re.M)
_CHUNKED = re.compile(rb"^transfer-encoding:[^\r\n]*chunked", re.I | re.M)
_CHUNK = re.compile(rb"([0-9a-fA-F]{1,8})[^\r\n]*\r\n")


def _chunked_end(data: bytes) -> int | None:
    """Where a chunked body starting at ``data[0]`` ends (past its last chunk and trailer)."""
    pos = 0
    while True:
        m = _CHUNK.match(data, pos)
        if m is None:
            return None
        size = int(m.group(1), 16)
        pos = m.end()
        if size == 0:
            end = data.find(b"\r\n", pos)  # trailer fields end with an empty line
            while end != -1 and end != pos:
                pos = end + 2
                end = data.find(b"\r\n", pos)
            return None if end == -1 else end + 2
        if len(data) < pos + size + 2:
            return None
        pos += size + 2


class BodyTolerantConnection(ServerConnection):
    """A websockets ServerConnection that pre-reads (and strips) an HTTP request body."""

    request_body: bytes = b""
    _pending: bytearray | None = None
    _released = False

    def data_received(self, data: bytes) -> None:
        if self._released:  # the head went to the parser: from now on websocket frames
            super().data_received(data)
            return
        if self._pending is None:
            self._pending = bytearray()
        self._pending += data
        buf = bytes(self._pending)
        head_end = buf.find(b"\r\n\r\n")
        if head_end < 0:
            if len(buf) > MAX_HEAD:  # let the parser refuse it
                self._release(buf)
            return
        head, rest = buf[:head_end + 2], buf[head_end + 4:]
        if _CHUNKED.search(head):
            end = _chunked_end(rest)
        else:
            m = _LENGTH.search(head)
            size = int(m.group(1)) if m else 0
            end = size if len(rest) >= size else None
        if end is None:
            if len(rest) > MAX_BODY:
                self._release(buf)
            return
        self.request_body = rest[:end]
        self._release(_FRAMING.sub(b"", head) + b"\r\n" + rest[end:])

    def _release(self, data: bytes) -> None:
        self._pending, self._released = None, True
        super().data_received(data)
