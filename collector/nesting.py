"""The parser's nesting limit: a frame (or a ``profile``/``extras`` JSON text inside one)
whose arrays and objects nest deeper than MAX_NESTING levels is refused before any JSON
library reads it, so the answer is the same on every supported CPython.

Without it the answer depended on the interpreter: 3.11's ``json`` and msgspec stop near
1,000 levels minus the caller's stack (~490 for the parser's own walks, two Python frames a
level), while 3.12+ parse thousands of levels. CHZZK's frames nest about 5 levels; 400 is
far above that, above every deep case the parse corpus keeps as parsed (300-level values),
and below what 3.11 reaches from a deep call stack.

Cheap for ordinary frames: fewer opening brackets than the limit, counted with two C-speed
``count`` calls, cannot nest deeper (``may_nest_deeper``, which also looks for a ``\\u``
escape that could spell a bracket inside a string); only past that does ``text_too_deep``
walk the brackets outside strings."""
from __future__ import annotations

import re

MAX_NESTING = 400

# a string (its escapes skipped; an unterminated one runs to the end) or one bracket
_TOKENS = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')
_TOKENS_BYTES = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"?|[\[\]{}]')
_OPEN = frozenset(("[", "{", ord("["), ord("{")))
_CLOSE = frozenset(("]", "}", ord("]"), ord("}")))


def may_nest_deeper(text: str | bytes, limit: int = MAX_NESTING) -> bool:
    """False when neither the JSON text nor any JSON text inside one of its strings (a
    frame's ``profile``/``extras``) can nest deeper than ``limit``: it holds at most ``limit``
    opening brackets and no ``\\u`` escape (which could spell more). Two counts and a search."""
    if len(text) <= limit:
        return False
    if type(text) is str:
        return text.count("[") + text.count("{") > limit or "\\u" in text
    return text.count(b"[") + text.count(b"{") > limit or b"\\u" in text


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
