"""What forget-user does to a value that names the forgotten user but belongs to a row that
stays (a gifter's line naming them as receiver, a system line naming them, someone's
message addressing them): pure functions, values in, values out.

- A value that *is* the user id or one of their nicknames (a column, a JSON string)
  becomes NULL / JSON null: ``gift_receiver_id``, ``receiverNickname``, ``userIdHash``.
- Inside longer text the id and the nicknames are replaced by ``REDACTED``. The id is
  replaced where it stands as a whole token (``u3`` does not match inside ``u33``); a
  nickname of at least MIN_SUBSTRING characters wherever it occurs (Korean particles
  attach without a space: ``감자님이``), a shorter one only as a whole word (so forgetting
  ``ㅋ`` does not rewrite every laugh).
- JSON is scrubbed as JSON, at any depth, including JSON kept as a string inside a string
  (CHZZK's ``profile`` and ``extras``, and ``params.targetChatProfileJson`` inside those):
  each such string is parsed, scrubbed and written back compactly.
- Another user's own name stays: in an object (a row, a JSON object) whose id key holds a
  different user, the nickname key paired with it (``user_id``/``nickname``,
  ``userIdHash``/``nickname``) is theirs, even when it equals a forgotten nickname.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field

REDACTED = "[forgotten]"
MIN_SUBSTRING = 3
_ID_EDGE = r"A-Za-z0-9_\-"  # what may not touch an id on either side for it to be that id


@dataclass(frozen=True)
class Target:
    """Who is forgotten: the user id and every nickname known for them."""
    user_id: str
    nicknames: tuple[str, ...] = ()
    _pattern: re.Pattern = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = sorted({n for n in self.nicknames if n and n.strip()}, key=len, reverse=True)
        object.__setattr__(self, "nicknames", tuple(names))
        parts = [rf"(?<![{_ID_EDGE}]){re.escape(self.user_id)}(?![{_ID_EDGE}])"]
        spelled = dict.fromkeys(x for n in names for x in (n, json.dumps(n)[1:-1]))  # as is, \u-escaped
        parts += [re.escape(n) if len(n) >= MIN_SUBSTRING else rf"(?<!\w){re.escape(n)}(?!\w)" for n in spelled]
        object.__setattr__(self, "_pattern", re.compile("|".join(parts)))

    def exact(self, text: str) -> bool:
        return text == self.user_id or text in self.nicknames

    def terms(self) -> list[str]:
        """Substrings at least one of which is in any text naming the user: for a cheap
        first filter (a strpos in PostgreSQL, match_substring in Arrow), before the scrub
        decides. Includes the nicknames as \\u-escaped JSON writes them."""
        out = [self.user_id, *self.nicknames]
        out += [json.dumps(n)[1:-1] for n in self.nicknames]
        return list(dict.fromkeys(t for t in out if t))


class Forgetting:
    """The target of one forget-user run as it grows: a row naming the id may name a nickname
    not known yet (a profile inside a system line); ``learn`` adds it before that row is
    scrubbed, and ``grew`` tells the caller that rows read earlier need another pass."""

    def __init__(self, target: Target) -> None:
        self.target = target
        self.grew = False

    def learn(self, row: dict | str) -> Target:
        """Add the nicknames `row` (a row as a dict of text values, or JSON text) gives next
        to the id; returns the target to scrub it with."""
        uid = self.target.user_id
        values = row.values() if isinstance(row, dict) else (row,)
        if not any(isinstance(v, str) and uid in v for v in values):
            return self.target  # most rows a nickname matched never name the id: nothing to learn
        new = nicknames_near(row, uid) - set(self.target.nicknames)
        if new:
            self.target = Target(self.target.user_id, (*self.target.nicknames, *sorted(new)))
            self.grew = True
        return self.target


def names_id(text: str, user_id: str) -> bool:
    """Whether `text` holds `user_id` as a whole token (at any JSON depth: escapes put only
    backslashes and quotes around it)."""
    return re.search(rf"(?<![{_ID_EDGE}]){re.escape(user_id)}(?![{_ID_EDGE}])", text) is not None


def scrub_text(text: str, target: Target) -> str:
    """Plain text with every mention of the user replaced."""
    return target._pattern.sub(REDACTED, text)


def scrub_json(value, target: Target):
    """A parsed JSON value with the user removed at any depth (see the module docstring)."""
    if isinstance(value, dict):
        keep = _others_names(value, target)
        return {scrub_text(k, target): v if k in keep else scrub_json(v, target) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_json(v, target) for v in value]
    if isinstance(value, str):
        if target.exact(value):
            return None
        inner = _as_json(value)
        if inner is _NOT_JSON:
            return scrub_text(value, target)
        clean = scrub_json(inner, target)
        return value if clean == inner else json.dumps(clean, ensure_ascii=False, separators=(",", ":"))
    return value


def scrub_value(text: str | None, target: Target, is_json: bool = False) -> str | None:
    """A column's value (JSON as text when `is_json`, or when it parses as an object or
    array) scrubbed; None when the whole value is the user's id or nickname. Unchanged
    values come back as the same string, so callers can skip them."""
    if text is None or target.exact(text):
        return None
    parsed = _as_json(text, allow_scalar=is_json)
    if parsed is _NOT_JSON:
        return scrub_text(text, target)
    clean = scrub_json(parsed, target)
    return text if clean == parsed else json.dumps(clean, ensure_ascii=False)


def scrub_row(row: dict[str, str | None], target: Target, json_columns=frozenset()) -> dict[str, str | None]:
    """The columns of one row (values as text) that change, with their new values. A row is
    an object like any other: another user's own name column (``nickname`` beside their
    ``user_id``) is theirs and stays, even when it equals a forgotten nickname."""
    keep = _others_names(row, target)
    out = {}
    for col, old in row.items():
        if col in keep or old is None:
            continue
        new = scrub_value(old, target, col in json_columns)
        if new != old:
            out[col] = new
    return out


def nicknames_near(value, user_id: str) -> set[str]:
    """Nicknames given next to the user id: in any object (a row as a dict, a parsed JSON
    object, at any depth and through JSON strings), the string held by the nickname key
    paired with a key whose value is `user_id`: ``user_id``/``nickname``,
    ``userIdHash``/``nickname`` or ``nickName``, ``receiverUserIdHash``/``receiverNickname``,
    ``gift_receiver_id``/``gift_receiver_nickname``."""
    found: set[str] = set()

    def walk(v) -> None:
        if isinstance(v, dict):
            for k, x in v.items():
                prefix = _id_prefix(k)
                if prefix is not None and x == user_id:
                    found.update(y for n, y in v.items() if _is_nick(n, prefix) and isinstance(y, str) and y)
                walk(x)
        elif isinstance(v, list):
            for x in v:
                walk(x)
        elif isinstance(v, str) and user_id in v:
            inner = _as_json(v)
            if inner is not _NOT_JSON:
                walk(inner)

    walk(value)
    return found


def _norm(key) -> str:
    return str(key).lower().replace("_", "")


@functools.lru_cache(maxsize=4096)  # a few dozen distinct keys, asked about millions of times
def _id_prefix(key) -> str | None:
    """"receiver" for receiverUserIdHash, "giftreceiver" for gift_receiver_id, "" for
    user_id / userIdHash; None for a key that names no id."""
    n = _norm(key)
    for suffix in ("useridhash", "userid", "id"):
        if n.endswith(suffix):
            return n[: -len(suffix)]
    return None


@functools.lru_cache(maxsize=4096)
def _is_nick(key, prefix: str) -> bool:
    return _norm(key) in (prefix + "nickname", prefix + "nick")


def _others_names(obj: dict, target: Target) -> set:
    """Keys of `obj` holding the name of an id other than the target's."""
    keep = set()
    for k, x in obj.items():
        prefix = _id_prefix(k)
        if prefix is not None and isinstance(x, str) and x and x != target.user_id:
            keep.update(n for n in obj if _is_nick(n, prefix))
    return keep


_NOT_JSON = object()


def _as_json(text: str, allow_scalar: bool = False):
    """`text` parsed when it is a JSON object or array (any JSON when `allow_scalar`),
    else _NOT_JSON."""
    if not allow_scalar and text.lstrip()[:1] not in ("{", "["):
        return _NOT_JSON
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError):
        return _NOT_JSON
    return parsed if allow_scalar or isinstance(parsed, (dict, list)) else _NOT_JSON


# UTF-8 bytes -> the same bytes with every byte that cannot be in a token made a space: C
# speed, where a regex findall of the tokens costs twice as much on a 1 KB frame
_TOKEN_BYTES = frozenset(b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_-")
_SPLIT_TOKENS = bytes(c if c in _TOKEN_BYTES else 32 for c in range(256))
_TOKEN_ID = re.compile(rf"[{_ID_EDGE}]+\Z")
_U_ESCAPE = re.compile(r"\\u([0-9a-fA-F]{4})")
_COMMON = frozenset('{}[]":,\\ ')  # JSON's own characters: in every raw frame


class Watchlist:
    """Many forgotten users at once, for new values as they arrive (the collector's sink):
    ``named_in`` says cheaply which of them a text may name; the per-user scrub above then
    decides. It may say yes too often (a nickname inside a longer word, a short nickname
    anywhere), never too rarely for the ids and nicknames it holds:

    - an id made of token characters (every userIdHash) is looked up in a set of the text's
      tokens, as ``names_id`` matches it; any other id by substring;
    - a nickname with a character beyond ASCII letters and digits (most CHZZK names) by
      substring (one shorter than MIN_SUBSTRING as a word, as the scrub matches it), tried
      only when the text holds its rarest character, also in text whose
      ``\\uXXXX`` escapes (JSON kept as a string, written ASCII-only) are decoded;
    - a nickname of ASCII letters, digits, ``_`` and ``-`` only as a token, like an id
      (``abc`` in ``@abc`` or ``abc님``, not inside ``xabcx``): those letters are in every
      raw frame, so a substring search for each such name would cost more than the store."""

    def __init__(self, ids, nicknames: dict[str, frozenset[str] | set[str]] | None = None) -> None:
        self.ids = frozenset(i for i in ids if i)
        self.nicknames = {u: frozenset(n for n in names if n and n.strip())
                          for u, names in (nicknames or {}).items() if u in self.ids}
        self._odd_ids = {i for i in self.ids if not _TOKEN_ID.match(i)}
        self._tokens = {i.encode(): i for i in self.ids if i not in self._odd_ids}  # token -> its id
        self._by_anchor: dict[str, list[tuple[str, str, re.Pattern | None]]] = {}
        for uid, names in self.nicknames.items():
            for name in names:
                if _TOKEN_ID.match(name) and name.isascii():
                    self._tokens.setdefault(name.encode(), uid)
                    continue
                # a short name is a match only as a word (as in Target), an escape (\\n) before it too
                word = re.compile(rf"(?:(?<!\w)|(?<=\\[nrtbf])){re.escape(name)}(?!\w)") \
                    if len(name) < MIN_SUBSTRING else None
                for term in dict.fromkeys((name, json.dumps(name, ensure_ascii=False)[1:-1])):
                    self._by_anchor.setdefault(min(term, key=_commonness), []).append((term, uid, word))
        # the anchors as one character class: the regex engine skips the rest of the text in C
        self._anchors = re.compile("[" + "".join(map(re.escape, self._by_anchor)) + "]") if self._by_anchor else None

    def named_in(self, text: str) -> set[str]:
        """The ids of the users `text` may name (empty for most texts)."""
        found = set()
        if self._tokens and (hit := self._tokens.keys() & text.encode("utf-8", "surrogatepass")
                             .translate(_SPLIT_TOKENS).split()):
            found.update(self._tokens[t] for t in hit)
        found.update(i for i in self._odd_ids if i in text)
        if self._anchors:
            if "\\u" in text:
                text = text + "\x00" + _U_ESCAPE.sub(lambda m: chr(int(m.group(1), 16)), text)
            for anchor in set(self._anchors.findall(text)):
                found.update(uid for term, uid, word in self._by_anchor[anchor]
                             if uid not in found and term in text and (word is None or word.search(text)))
        return found

    def learned(self, found: dict[str, set[str]]) -> Watchlist:
        """This list with the nicknames `found` for its ids added (itself when none is new)."""
        new = {u: names - self.nicknames.get(u, frozenset()) for u, names in found.items() if u in self.ids}
        if not any(new.values()):
            return self
        return Watchlist(self.ids, {u: self.nicknames.get(u, frozenset()) | new.get(u, set())
                                    for u in self.nicknames.keys() | new.keys()})

    def target(self, user_id: str) -> Target:
        return Target(user_id, tuple(sorted(self.nicknames.get(user_id, ()))))


def _commonness(ch: str) -> int:
    """How likely `ch` is in any raw frame: a nickname is looked for where its least common
    character is."""
    if ch in _COMMON:
        return 4
    if ch.isascii():
        return 3 if ch.islower() or ch.isdigit() else 2 if ch.isalpha() else 1
    return 0
