"""Sign-ins that outlive a page (the cookie `python -m dashboard serve` sets) and read-only
share links, both signed with one key and both revocable on the server.

Where things live (beside the accounts file, so a test's or a second install's
DASHBOARD_ACCOUNTS_FILE brings its own):
- the signing key: ``dashboard_secret.key`` (32 random bytes, hex, mode 0600), made on
  first use; ``python -m dashboard accounts rotate-key`` replaces it, which ends every
  sign-in and every share link at once;
- the session and share tables: ``dashboard_sessions.sqlite`` (mode 0600).

A session cookie is ``<id>.<expiry>.<signature>``: 32 random bytes of id (only its SHA-256
is stored, so the table does not hold usable cookies), its expiry (Unix seconds) and an
HMAC-SHA256 of both. It is good while the signature holds, the expiry is ahead, its row
exists, the account still exists and its password hash is the one it signed in with: so
removing an account or changing its password ends its sessions even when the file is
edited by hand, and signing out deletes every row of the account (every browser, every
device). The accounts CLI deletes them too on remove and replace.

A share link's token is ``<payload>.<signature>`` (payload: base64url JSON of id, page,
channels, expiry, creator); it is good while the signature holds, the expiry is ahead,
its row exists and is not revoked, and its creator still exists and may see its channels.
Editing any part breaks the signature; the page and channels come from the token, never
from the rest of the URL. Revoke one with ``accounts share revoke ID``.

Nothing here logs or raises a key, a cookie or a token."""
from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import os
import re
import secrets
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from core import files, settings
from dashboard import accounts

COOKIE = "dash_session"
KEY_NAME = "dashboard_secret.key"
STORE_NAME = "dashboard_sessions.sqlite"
# Pages a share link may show: figures of channels, nothing that searches users or lines,
# shows moderation or the lake's own files
SHAREABLE = ("overview", "channel", "broadcasts", "highlights", "viewers", "categories", "subscribers",
             "donations", "emotes", "words")
MAX_SHARE_DAYS = 90
_TOKEN_RE = re.compile(r"^[A-Za-z0-9_-]{1,4000}\.[A-Za-z0-9_-]{43}$")
_COOKIE_RE = re.compile(r"^[A-Za-z0-9_-]{43}\.[0-9]{1,12}\.[A-Za-z0-9_-]{43}$")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS session (id_hash TEXT PRIMARY KEY, account TEXT NOT NULL, password_tag TEXT NOT NULL,
                                    created REAL NOT NULL, expires REAL NOT NULL);
CREATE INDEX IF NOT EXISTS session_account ON session (account);
CREATE TABLE IF NOT EXISTS share (id TEXT PRIMARY KEY, page TEXT NOT NULL, channels TEXT NOT NULL,
                                  created_by TEXT NOT NULL, created REAL NOT NULL, expires REAL NOT NULL,
                                  revoked REAL);
"""


def key_file() -> Path:
    return accounts.accounts_file().with_name(KEY_NAME)


def store_file() -> Path:
    return accounts.accounts_file().with_name(STORE_NAME)


def session_seconds() -> int:
    hours = settings.get_int("DASHBOARD_SESSION_HOURS")
    if not 0 < hours <= 24 * 90:
        raise SystemExit(f"DASHBOARD_SESSION_HOURS={hours}: use 1 to {24 * 90} hours")
    return hours * 3600


def secret_key() -> bytes:
    """The signing key (made on first use, mode 0600)."""
    path = key_file()
    try:
        text = path.read_text(encoding="ascii").strip()
    except FileNotFoundError:
        text = ""
    if not text:
        text = secrets.token_hex(32)
        path.parent.mkdir(parents=True, exist_ok=True)
        files.write_private(path, text + "\n")
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != 32:  # the key itself is never in the message
        raise accounts.AccountsError(f"{path}: not a 64-hex-digit key; run `python -m dashboard accounts rotate-key`")
    return key


def rotate_key() -> None:
    """A new signing key: every session and share link ends (their rows are deleted too)."""
    files.write_private(key_file(), secrets.token_hex(32) + "\n")
    with _db() as con:
        con.execute("DELETE FROM session")
        con.execute("UPDATE share SET revoked = ? WHERE revoked IS NULL", (time.time(),))


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def sign(message: str, key: bytes | None = None) -> str:
    return _b64(hmac.new(key or secret_key(), message.encode(), hashlib.sha256).digest())


def _good(message: str, signature: str, key: bytes | None = None) -> bool:
    return hmac.compare_digest(sign(message, key), signature)


def _db() -> sqlite3.Connection:
    path = store_file()
    path.parent.mkdir(parents=True, exist_ok=True)
    if not path.exists():
        os.close(os.open(path, os.O_CREAT | os.O_WRONLY, 0o600))
    con = sqlite3.connect(path, timeout=10, isolation_level=None)
    con.executescript(_SCHEMA)
    return con


class _Tx:
    """`with _tx() as con`: one connection, one transaction, closed after."""

    def __enter__(self) -> sqlite3.Connection:
        self.con = _db()
        self.con.execute("BEGIN IMMEDIATE")
        return self.con

    def __exit__(self, kind, *_):
        self.con.execute("ROLLBACK" if kind else "COMMIT")
        self.con.close()


def password_tag(account: accounts.Account) -> str:
    """A short digest of the account's password hash: a new password gives a new one."""
    return hashlib.sha256(account.password.encode()).hexdigest()[:32]


def _id_hash(sid: str) -> str:
    return hashlib.sha256(sid.encode()).hexdigest()


# ---- sessions -------------------------------------------------------------------------------

def issue(account: accounts.Account, now: float | None = None, seconds: int | None = None) -> tuple[str, int]:
    """(the cookie's value, its Max-Age) of a new session of `account`."""
    now = time.time() if now is None else now
    seconds = session_seconds() if seconds is None else seconds
    sid, expires = _b64(secrets.token_bytes(32)), int(now + seconds)
    value = f"{sid}.{expires}.{sign(f's1|{sid}|{expires}')}"
    with _Tx() as con:
        con.execute("DELETE FROM session WHERE expires <= ?", (now,))
        con.execute("INSERT INTO session VALUES (?, ?, ?, ?, ?)",
                    (_id_hash(sid), account.name, password_tag(account), now, expires))
    return value, seconds


def verify(value: str | None, known: dict[str, accounts.Account], now: float | None = None) -> accounts.Account | None:
    """The account a cookie value stands for, or None (bad form, bad signature, expired,
    revoked, account gone or its password changed)."""
    if not value or not _COOKIE_RE.match(value):
        return None
    sid, expires, signature = value.split(".")
    now = time.time() if now is None else now
    if not _good(f"s1|{sid}|{expires}", signature) or int(expires) <= now:
        return None
    with closing(_db()) as con:
        row = con.execute("SELECT account, password_tag, expires FROM session WHERE id_hash = ?",
                          (_id_hash(sid),)).fetchone()
    if row is None or row[2] <= now:
        return None
    account = known.get(row[0])
    if account is None or not hmac.compare_digest(password_tag(account), row[1]):
        return None
    return account


def revoke_account(name: str) -> int:
    """End every session of `name` (sign-out, removal, password change); how many ended."""
    if not store_file().exists():
        return 0
    with _Tx() as con:
        return con.execute("DELETE FROM session WHERE account = ?", (name,)).rowcount


def sessions_of(name: str, now: float | None = None) -> int:
    """How many unexpired sessions `name` has."""
    if not store_file().exists():
        return 0
    with closing(_db()) as con:
        return con.execute("SELECT count(*) FROM session WHERE account = ? AND expires > ?",
                           (name, time.time() if now is None else now)).fetchone()[0]


# ---- share links ----------------------------------------------------------------------------

@dataclass(frozen=True)
class Share:
    id: str
    page: str
    channels: tuple[str, ...]
    expires: int
    created_by: str

    def viewer(self) -> accounts.Account:
        """The account a share link's visitor is seen as: its channels, role ``shared``."""
        return accounts.Account(f"share-{self.id}", accounts.SHARED, self.channels)


def create_share(creator: accounts.Account, page: str, channels: list[str] | tuple[str, ...], days: float,
                 now: float | None = None) -> tuple[Share, str]:
    """(the share, its token) for `page` over `channels` (each one `creator` may see),
    good for `days`. ValueError saying what is wrong otherwise."""
    if page not in SHAREABLE:
        raise ValueError(f"page {page!r} cannot be shared; shareable: {', '.join(SHAREABLE)}")
    if not 0 < days <= MAX_SHARE_DAYS:
        raise ValueError(f"a share link lasts 0 to {MAX_SHARE_DAYS} days, not {days}")
    chans = tuple(dict.fromkeys(channels))
    if not chans or not all(accounts.CHANNEL_RE.match(c) for c in chans):
        raise ValueError("a share link needs its channels (32-hex channel ids)")
    if accounts.visible_channels(creator, list(chans)) != list(chans):
        raise ValueError(f"{creator.name} may not see every channel asked for")
    now = time.time() if now is None else now
    share = Share(_b64(secrets.token_bytes(9)), page, chans, int(now + days * 86400), creator.name)
    payload = _b64(json.dumps({"v": 1, "i": share.id, "p": page, "c": list(chans), "e": share.expires,
                               "b": creator.name}, separators=(",", ":")).encode())
    with _Tx() as con:
        con.execute("INSERT INTO share VALUES (?, ?, ?, ?, ?, ?, NULL)",
                    (share.id, page, json.dumps(list(chans)), creator.name, now, share.expires))
    return share, f"{payload}.{sign('share|' + payload)}"


def verify_share(token: str | None, known: dict[str, accounts.Account], now: float | None = None) -> Share | None:
    """The share a token stands for, or None (bad form or signature, expired, revoked, its
    creator gone or no longer seeing its channels)."""
    if not token or not _TOKEN_RE.match(token):
        return None
    payload, signature = token.split(".")
    if not _good("share|" + payload, signature):
        return None
    try:
        doc = json.loads(_unb64(payload))
        share = Share(str(doc["i"]), str(doc["p"]), tuple(map(str, doc["c"])), int(doc["e"]), str(doc["b"]))
    except (ValueError, KeyError, TypeError, binascii.Error):
        return None
    if share.expires <= (time.time() if now is None else now) or share.page not in SHAREABLE:
        return None
    with closing(_db()) as con:
        row = con.execute("SELECT page, channels, revoked FROM share WHERE id = ?", (share.id,)).fetchone()
    if row is None or row[2] is not None or row[0] != share.page or tuple(json.loads(row[1])) != share.channels:
        return None
    creator = known.get(share.created_by)
    if creator is None or accounts.visible_channels(creator, list(share.channels)) != list(share.channels):
        return None
    return share


def revoke_share(share_id: str) -> bool:
    with _Tx() as con:
        return con.execute("UPDATE share SET revoked = ? WHERE id = ? AND revoked IS NULL",
                           (time.time(), share_id)).rowcount == 1


def list_shares() -> list[dict]:
    if not store_file().exists():
        return []
    with closing(_db()) as con:
        rows = con.execute("SELECT id, page, channels, created_by, created, expires, revoked FROM share "
                           "ORDER BY created").fetchall()
    return [{"id": r[0], "page": r[1], "channels": json.loads(r[2]), "created_by": r[3], "created": r[4],
             "expires": r[5], "revoked": r[6]} for r in rows]
