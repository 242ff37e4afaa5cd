"""Named, scoped keys of the ingest API (``python -m collector api``), kept hashed in a TOML
file (INGEST_API_KEYS_FILE, default DATA_DIR/api_keys.toml) that ``python -m collector
api-keys`` manages (collector/api_keys_cli.py).

A key has a name (what the logs say), channels (the CHZZK channel ids it may write and read;
or every channel), and a scope: ``read`` (GET /chat, GET /chat/channels) and/or ``write``
(POST /chat, POST /chat/bulk). Its secret is shown once, when it is made, and stored only
as a SHA-256 hash:

- The secret is ``chzzk_`` + 32 random bytes (URL-safe base64; the desktop viewer's key
  form). With 256 random bits, a stolen hash cannot be reversed by guessing, so the
  deliberately slow hashes used for passwords (scrypt, as dashboard/accounts.py does for
  people's passwords) would add nothing but ~50 ms of CPU to every request, which any
  client could then trigger at will by sending wrong keys.
- A given key is hashed and compared with every stored hash in constant time.

INGEST_API_KEY (the setting that came first) still works: each of its comma-separated
values is an unscoped key (every channel, read and write) named ``INGEST_API_KEY`` (or
``INGEST_API_KEY#2``...), and the API warns at start that it is unscoped. It is kept so that
viewers already configured keep sending chat (a viewer whose key stops working re-buffers
and, after 2,000 lines, drops chat); replace it with named keys and unset it.

The file is re-read when it changes, so ``api-keys add`` and ``remove`` take effect at the
next request, without a restart.

    [[key]]
    name = "nokdu-viewer"
    channels = ["d4f287d26795dd48f2176c79d5bd074f"]
    all_channels = false
    read = false
    write = true
    sha256 = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08"
    created = "2026-12-07T03:00:00Z"
"""
from __future__ import annotations

import hashlib
import hmac
import json
import re
import secrets
import threading
import tomllib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from core import files, settings

NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
CHANNEL_RE = re.compile(r"^[0-9a-f]{32}$")
SHA256_RE = re.compile(r"^[0-9a-f]{64}$")
SECRET_PREFIX = "chzzk_"
LEGACY_NAME = "INGEST_API_KEY"


class KeysError(ValueError):
    """A bad keys file or a bad key: the message says what to fix."""


@dataclass(frozen=True)
class ApiKey:
    """One key: who it is (name), what it may touch (channels, None: all) and do."""
    name: str
    channels: frozenset[str] | None
    read: bool
    write: bool
    sha256: str = field(default="", repr=False)
    created: str = ""
    legacy: bool = False

    def may_touch(self, channel_id: str) -> bool:
        return self.channels is None or channel_id in self.channels

    def scope(self) -> str:
        """``read+write on 2 channels``, ``write on every channel``..."""
        what = "+".join(s for s, on in (("read", self.read), ("write", self.write)) if on) or "nothing"
        where = "every channel" if self.channels is None else f"{len(self.channels)} channel(s)"
        return f"{what} on {where}"


OPEN = ApiKey("(no key: loopback only)", None, True, True)  # no key configured at all


def keys_file() -> Path:
    """INGEST_API_KEYS_FILE, or DATA_DIR/api_keys.toml."""
    p = Path(settings.get("INGEST_API_KEYS_FILE") or settings.data_dir() / "api_keys.toml")
    return p if p.is_absolute() else Path.cwd() / p


def new_secret() -> str:
    return SECRET_PREFIX + secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8", "surrogatepass")).hexdigest()


def make(name: str, channels: Iterable[str] | None, *, read: bool, write: bool,
         created: str = "") -> tuple[ApiKey, str]:
    """A new key and its secret (shown once; only its hash is kept)."""
    secret = new_secret()
    key = ApiKey(name, None if channels is None else frozenset(c.strip().lower() for c in channels),
                 read, write, digest(secret), created)
    return check(key), secret


def check(key: ApiKey) -> ApiKey:
    """`key` if it is well-formed, else a KeysError saying what is wrong."""
    if not NAME_RE.match(key.name or ""):
        raise KeysError(f"key name {key.name[:80]!r}: use 1-64 letters, digits, _ . @ -")
    if not (key.read or key.write):
        raise KeysError(f"key {key.name}: give it --read, --write or both")
    if key.channels is not None:
        if not key.channels:
            raise KeysError(f"key {key.name}: name its channels (--channels ID,ID) or give it --all-channels")
        bad = sorted(c for c in key.channels if not CHANNEL_RE.match(c))
        if bad:
            raise KeysError(f"key {key.name}: channel ids are 32 hex characters: {', '.join(b[:40] for b in bad)}")
    if not SHA256_RE.match(key.sha256):
        raise KeysError(f"key {key.name}: sha256 is not a SHA-256 hex digest")
    return key


def parse(text: str, source: str = "API keys file") -> dict[str, ApiKey]:
    """name -> ApiKey from the TOML text of a keys file."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise KeysError(f"{source}: not valid TOML: {exc}") from None
    out: dict[str, ApiKey] = {}
    for i, entry in enumerate(doc.get("key", [])):
        if not isinstance(entry, dict):
            raise KeysError(f"{source}: [[key]] #{i + 1} is not a table")
        channels = entry.get("channels", [])
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise KeysError(f"{source}: key #{i + 1}: channels must be a list of strings")
        key = check(ApiKey(str(entry.get("name", "")), None if entry.get("all_channels") is True else
                           frozenset(channels), entry.get("read") is True, entry.get("write") is True,
                           str(entry.get("sha256", "")), str(entry.get("created", ""))))
        if key.name in out:
            raise KeysError(f"{source}: key {key.name} is declared twice")
        out[key.name] = key
    return out


def dump(keys: dict[str, ApiKey]) -> str:
    """TOML text for `keys` (json.dumps gives valid TOML basic strings)."""
    lines = ["# Ingest API keys: managed by `python -m collector api-keys`. Secrets are stored as SHA-256 hashes.",
             ""]
    for k in sorted(keys.values(), key=lambda k: k.name):
        lines += ["[[key]]", f"name = {json.dumps(k.name)}", f"channels = {json.dumps(sorted(k.channels or ()))}",
                  f"all_channels = {'true' if k.channels is None else 'false'}",
                  f"read = {'true' if k.read else 'false'}", f"write = {'true' if k.write else 'false'}",
                  f"sha256 = {json.dumps(k.sha256)}", f"created = {json.dumps(k.created)}", ""]
    return "\n".join(lines)


def load(path: Path | None = None) -> dict[str, ApiKey]:
    """The keys in the file ({} when it does not exist). KeysError when it is broken."""
    path = path or keys_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except (OSError, UnicodeDecodeError) as exc:
        raise KeysError(f"cannot read API keys file {path}: {getattr(exc, 'strerror', None) or exc}") from None
    return parse(text, str(path))


def save(keys: dict[str, ApiKey], path: Path | None = None) -> None:
    """Write the keys atomically (mode 0600)."""
    path = path or keys_file()
    files.write_private(path, dump(keys))


def legacy_keys(values: Sequence[str]) -> list[tuple[ApiKey, str]]:
    """INGEST_API_KEY's values as unscoped keys: (key, its secret)."""
    secrets_ = [v.strip() for v in values if v.strip()]
    return [(ApiKey(LEGACY_NAME if i == 0 else f"{LEGACY_NAME}#{i + 1}", None, True, True, digest(s), legacy=True), s)
            for i, s in enumerate(secrets_)]


class KeyRing:
    """The keys an API process accepts: the file's (re-read when it changes) and the legacy
    ones. ``keys`` is safe to call from several threads."""

    def __init__(self, path: Path | None, legacy: Sequence[str] = ()):
        self.path = path
        self.legacy = [k for k, _ in legacy_keys(legacy)]
        self._stamp: tuple | None = None
        self._file: dict[str, ApiKey] = {}
        self._lock = threading.Lock()

    def keys(self) -> list[ApiKey]:
        """Every accepted key; KeysError when the file is broken (then no key is accepted)."""
        if self.path is not None:
            with self._lock:
                try:
                    st = self.path.stat()
                    stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
                except FileNotFoundError:
                    stamp = None
                except OSError as exc:
                    raise KeysError(f"cannot read API keys file {self.path}: {exc.strerror}") from None
                if stamp != self._stamp:
                    self._file = load(self.path) if stamp is not None else {}
                    self._stamp = stamp
        return [*self._file.values(), *self.legacy]


def match(given: str, keys: Iterable[ApiKey]) -> ApiKey | None:
    """The key whose secret is `given`, else None. Every key's hash is compared, in constant time."""
    want = digest(given).encode("ascii")
    found = None
    for key in keys:
        if hmac.compare_digest(want, key.sha256.encode("ascii")) and found is None:
            found = key
    return found
