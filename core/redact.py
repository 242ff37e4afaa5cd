"""Secrets out of error text and log lines: one function, ``redact``, used by the CLI's error
line, its log formatter and ``db.connect``'s errors.

Two layers, because libpq quotes whatever part of a malformed DATABASE_URL it choked on
(``invalid percent-encoded token: "<password>%zz"``, ``missing "=" after "<whole URL>"``):

1. Known secrets, replaced wherever they occur: the value of every setting declared
   ``secret``, DATABASE_URL whole and its password (as written and percent-decoded, from
   the URL's user info, a ``password=`` query parameter or a key/value conninfo), and the
   AWS credentials pyarrow reads from the environment.
2. Shapes, for secrets nobody declared: the password of any ``scheme://user:password@``
   and the value of ``password=``/``secret=``/``token=``/``api_key=``-like parameters.
"""
from __future__ import annotations

import os
import re
from urllib.parse import unquote

from core import settings

MASK = "***"
MIN_SECRET_LEN = 3  # shorter known values would blank out ordinary words; the shapes still apply
AWS_SECRETS = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_ACCESS_KEY_ID")

_URL_PASSWORD = re.compile(r"(://[^\s:/@\"'?#]*:)[^\s\"']*@")
_KEY_VALUE = re.compile(
    r"(?i)\b((?:ssl)?password|passwd|pwd|secret|[a-z_]*token|api[_-]?key|access[_-]?key|nid_(?:aut|ses))"
    r"(\s*[=:]\s*)('(?:[^'\\]|\\.)*'?|\"(?:[^\"\\]|\\.)*\"?|[^\s&;,\"']+)")


def url_passwords(url: str) -> list[str]:
    """Every spelling of the password in a PostgreSQL URL or conninfo string, even a
    malformed one: user info (up to the last '@'), ``password=`` parameters, a conninfo's
    words that are not ``key=value``; raw and percent-decoded."""
    found: list[str] = []
    if "://" in url:
        rest = url.split("://", 1)[1]
        userinfo = rest[:rest.rfind("@")] if "@" in rest else ""
        if ":" in userinfo:
            found.append(userinfo.split(":", 1)[1])
    else:  # a conninfo: a word without "=" is a typo'd key or a pasted password
        found += [word for word in url.split() if "=" not in word]
    for m in re.finditer(r"(?i)password\s*=\s*('(?:[^'\\]|\\.)*'?|[^\s&]*)", url):
        found.append(m.group(1).strip("'"))
    found += [unquote(p) for p in found]
    return [p for p in dict.fromkeys(found) if p]


def known_secrets(extra: tuple[str, ...] = ()) -> list[str]:
    """The secret values in play now, longest first (so a URL goes before its password)."""
    values: list[str] = []
    for s in settings.SETTINGS:
        if s.secret and (v := settings.get(s.name)):
            values += [v, *(part.strip() for part in v.split(","))]
    for url in (settings.get("DATABASE_URL"), *extra):
        if url:
            values += [url, *url_passwords(url)]
    values += [v for name in AWS_SECRETS if (v := os.environ.get(name))]
    return sorted({v for v in values if len(v) >= MIN_SECRET_LEN}, key=len, reverse=True)


def redact(text: str, *urls: str) -> str:
    """`text` without any known secret (plus the passwords of `urls`) and without anything
    shaped like a URL password or a ``password=`` value."""
    for secret in known_secrets(tuple(u for u in urls if u)):
        text = text.replace(secret, MASK)
    text = _URL_PASSWORD.sub(lambda m: m.group(1) + MASK + "@", text)
    return _KEY_VALUE.sub(lambda m: m.group(1) + m.group(2) + MASK, text)
