"""The parser's nesting limit: a frame (or a ``profile``/``extras`` JSON text inside one)
whose arrays and objects nest deeper than MAX_NESTING levels is refused by this limit,
not by how deep the running interpreter's JSON library happens to go, so the answer is the
same on every supported CPython.

Without it the answer depended on the interpreter: 3.11's ``json`` and msgspec stop near
1,000 levels minus the caller's stack (~490 for the parser's own walks, two Python frames a
level), while 3.12+ parse thousands of levels. CHZZK's frames nest about 5 levels; 400 is
far above that, above every deep case the parse corpus keeps as parsed (300-level values),
and below what 3.11 reaches from a deep call stack.

Where it is checked: text the standard library decodes is scanned first (``text_too_deep``:
two C-speed ``count`` calls say no for a text with fewer opening brackets than the limit;
only past that are the brackets outside strings walked); a frame msgspec decoded that the
fast path does not take is walked (``value_too_deep``); collector/fast_items.py checks a
profile/extras text only when it is longer than SHALLOW_CHARS (a profile once, when first
seen). Not checked on the fast path: arrays/objects inside a 93101/93102 item's own values
(real items hold none; see the module docstring of collector/protocol.py)."""
from __future__ import annotations

import re

MAX_NESTING = 400
# valid JSON no longer than this cannot nest past MAX_NESTING (2 bracket characters a level):
# the fast path, whose msgspec accepts only valid JSON, checks only longer texts
SHALLOW_CHARS = 2 * MAX_NESTING + 1

# a string (its escapes skipped; an unterminated one runs to the end) or one bracket
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')
_TOKENS_BYTES = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')
_OPEN = frozenset(("[", "{", ord("["), ord("{")))
_CLOSE = frozenset(("]", "}", ord("]"), ord("}")))


def text_too_deep(text: str | bytes, limit: int = MAX_NESTING) -> bool:
    """True when JSON text (valid or not) opens more than ``limit`` arrays/objects inside
    each other; brackets inside strings do not count."""
    if len(text) <= limit:
        return False
    if type(text) is str:
        if text.count("[") + text.count("{") <= limit:
            return False
        tokens = _TOKENS
    else:
        if text.count(b"[") + text.count(b"{") <= limit:
            return False
        tokens = _TOKENS_BYTES
    depth = 0
    for m in tokens.finditer(text):
        ch = text[m.start()]
        if ch in _OPEN:
            depth += 1
            if depth > limit:
                return True
        elif ch in _CLOSE:
            depth = max(depth - 1, 0)
    return False


def value_too_deep(value, limit: int = MAX_NESTING) -> bool:
    """The same for an already decoded value (dicts, lists, tuples), without recursion."""
    stack = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict):
            children = item.values()
        elif isinstance(item, list | tuple):
            children = item
        else:
            continue
        if depth > limit:
            return True
        stack += [(child, depth + 1) for child in children if isinstance(child, dict | list | tuple)]
    return False


def too_deep_message(what: str = "JSON") -> str:
    return f"{what} nests deeper than {MAX_NESTING} levels (arrays/objects; the parser's limit)"
