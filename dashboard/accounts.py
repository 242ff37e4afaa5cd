"""Dashboard accounts: a TOML file (DASHBOARD_ACCOUNTS_FILE, default DATA_DIR/accounts.toml)
of named accounts with a role, their channels and an scrypt password hash. No accounts
file (or an empty one) means no login: the dashboard is then served on localhost only.

Roles:
- ``admin``: every channel, cross-channel user search, reads the audit log.
- ``streamer``: only the channels listed on the account; every channel list and query is
  restricted to them.
- ``analyst``: every channel, read-only; user search one channel at a time unless the
  account has ``cross_channel_search = true``.

A share link (dashboard/sessions.py) is seen as an account of the role ``shared``: its
channels only, like a streamer, but no moderation, no user search across channels, no
audit log and no lake-wide figures; it is never stored in the file.

An account may also name ``identities``: the e-mail addresses (or OIDC ``sub`` values) of
an identity provider's users it stands for when Streamlit's ``[auth]`` is configured
(st.login); ``password = "!"`` then means no password sign-in.

Passwords: ``scrypt$n$r$p$salt$hash`` (salt and hash base64), 16 random bytes of salt per
password, compared in constant time. The file holds only hashes; it is written atomically
(a temporary file renamed over it) with mode 0600.

    [[account]]
    name = "manager"
    role = "streamer"
    channels = ["a1b2..."]
    cross_channel_search = false
    password = "scrypt$16384$8$1$...$..."
    identities = ["manager@example.org"]
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from core import files, settings

ROLES = ("admin", "streamer", "analyst")
SHARED = "shared"  # the role of a share link's viewer (never in the file)
NO_PASSWORD = "!"  # an account that signs in through the identity provider only
NAME_RE = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")
CHANNEL_RE = re.compile(r"^[0-9a-f]{32}$")
IDENTITY_RE = re.compile(r"^[!-~]{1,254}$")
SCRYPT_N, SCRYPT_R, SCRYPT_P, KEY_LEN = 2**14, 8, 1, 32
MIN_PASSWORD = 8
_MAXMEM = 64 * 1024 * 1024


class AccountsError(ValueError):
    """A bad accounts file or a bad account: the message says what to fix."""


@dataclass(frozen=True)
class Account:
    name: str
    role: str
    channels: tuple[str, ...] = ()
    cross_channel_search: bool = False
    password: str = field(default="", repr=False)  # the scrypt hash, never the password
    identities: tuple[str, ...] = ()  # OIDC e-mail addresses or subs (st.login)

    @property
    def is_admin(self) -> bool:
        return self.role == "admin"


def accounts_file() -> Path:
    """DASHBOARD_ACCOUNTS_FILE, or DATA_DIR/accounts.toml."""
    p = Path(settings.get("DASHBOARD_ACCOUNTS_FILE") or settings.data_dir() / "accounts.toml")
    return p if p.is_absolute() else Path.cwd() / p


# ---- passwords ----------------------------------------------------------------------------

def hash_password(password: str, n: int = SCRYPT_N, r: int = SCRYPT_R, p: int = SCRYPT_P) -> str:
    """An scrypt hash of `password` with a fresh random salt, parameters stored beside it."""
    salt = secrets.token_bytes(16)
    key = hashlib.scrypt(password.encode("utf-8"), salt=salt, n=n, r=r, p=p, dklen=KEY_LEN, maxmem=_MAXMEM)
    b64 = base64.b64encode
    return f"scrypt${n}${r}${p}${b64(salt).decode()}${b64(key).decode()}"


def verify_password(password: str, stored: str) -> bool:
    """True when `password` matches the stored hash (constant-time compare); False for a
    malformed hash too, never an exception."""
    try:
        scheme, n, r, p, salt, key = stored.split("$")
        if scheme != "scrypt":
            return False
        want = base64.b64decode(key, validate=True)
        got = hashlib.scrypt(password.encode("utf-8"), salt=base64.b64decode(salt, validate=True),
                             n=int(n), r=int(r), p=int(p), dklen=len(want), maxmem=_MAXMEM)
    except (ValueError, TypeError, MemoryError):
        return False
    return hmac.compare_digest(got, want)


_DUMMY_HASH: str | None = None


def authenticate(accounts: dict[str, Account], name: str, password: str) -> Account | None:
    """The account when name and password match, else None. An unknown name costs one
    scrypt too, so timing does not tell whether a name exists."""
    global _DUMMY_HASH
    account = accounts.get(name)
    if account is None:
        _DUMMY_HASH = _DUMMY_HASH or hash_password(secrets.token_hex(8))
        verify_password(password, _DUMMY_HASH)
        return None
    return account if verify_password(password, account.password) else None


# ---- roles --------------------------------------------------------------------------------

def visible_channels(account: Account | None, all_ids: list[str]) -> list[str]:
    """The channels `account` may see, in the order of `all_ids` (None: no accounts, all)."""
    if account is None or account.role not in ("streamer", SHARED):
        return list(all_ids)
    own = set(account.channels)
    return [c for c in all_ids if c in own]


def sees_lake_wide(account: Account | None) -> bool:
    """Whether lake-wide figures (every channel's rows, days, files) may be shown: all but
    streamers, who see only their own channels."""
    return account is None or account.role not in ("streamer", SHARED)


def may_search_across(account: Account | None) -> bool:
    """Whether user search may span several channels at once: admins and the local user
    (no accounts) always; streamers and analysts only when granted."""
    return account is None or account.is_admin or account.cross_channel_search


def may_read_audit(account: Account | None) -> bool:
    """Admins; and the local user when no accounts exist (they own the files anyway)."""
    return account is None or account.is_admin


# What only those who may see moderation are shown of the lake as it is stored (the Data
# page): the table of restrictions and notices, and the chat's blind columns (raw repeats them)
MODERATION_TABLES = ("events",)
MODERATION_COLUMNS = ("message_status", "blind_type", "blinded_at", "raw")


def may_see_moderation(account: Account | None, channel_id: str | None = None) -> bool:
    """Whether blinded lines, restrictions and notices of `channel_id` (None: of any
    channel) may be shown: admins and the local user (no accounts) for every channel, a
    streamer for their own channels, analysts never."""
    if account is None or account.is_admin:
        return True
    return account.role == "streamer" and (channel_id is None or channel_id in account.channels)


# ---- the file -----------------------------------------------------------------------------

def check(account: Account) -> Account:
    """`account` if it is well-formed, else an AccountsError saying what is wrong."""
    if not NAME_RE.match(account.name or ""):
        raise AccountsError(f"account name {account.name!r}: use 1-64 letters, digits, _ . @ -")
    if account.role not in ROLES:
        raise AccountsError(f"account {account.name}: role {account.role!r} is not one of {', '.join(ROLES)}")
    bad = [c for c in account.channels if not CHANNEL_RE.match(c)]
    if bad:
        raise AccountsError(f"account {account.name}: channel ids must be 32 lowercase hex: {', '.join(bad)}")
    if account.role == "streamer" and not account.channels:
        raise AccountsError(f"account {account.name}: a streamer needs --channels (their channel ids)")
    if account.role != "streamer" and account.channels:
        raise AccountsError(f"account {account.name}: channels restrict streamers only; "
                            f"an {account.role} sees every channel (leave --channels out)")
    if not account.password.startswith("scrypt$") and not (account.password == NO_PASSWORD and account.identities):
        raise AccountsError(f"account {account.name}: password is not an scrypt hash")
    bad = [i for i in account.identities if not IDENTITY_RE.match(i)]
    if bad:
        raise AccountsError(f"account {account.name}: identities are e-mail addresses or OIDC subs "
                            f"(1-254 visible characters): {', '.join(map(repr, bad))}")
    return account


def by_identity(accounts: dict[str, Account], email: str | None, sub: str | None,
                email_verified: bool | None = None) -> Account | None:
    """The account an identity provider's user stands for: the one listing their e-mail
    (compared without case; not when the provider says it is unverified) or their sub."""
    mail = (email or "").strip().lower() if email_verified is not False else ""
    for account in accounts.values():
        for identity in account.identities:
            if (mail and identity.lower() == mail) or (sub and identity == sub):
                return account
    return None


def parse(text: str, source: str = "accounts file") -> dict[str, Account]:
    """name → Account from the TOML text of an accounts file."""
    try:
        doc = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise AccountsError(f"{source}: not valid TOML: {exc}") from None
    out: dict[str, Account] = {}
    for i, entry in enumerate(doc.get("account", [])):
        if not isinstance(entry, dict):
            raise AccountsError(f"{source}: [[account]] #{i + 1} is not a table")
        channels = entry.get("channels", [])
        if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
            raise AccountsError(f"{source}: account #{i + 1}: channels must be a list of strings")
        identities = entry.get("identities", [])
        if not isinstance(identities, list) or not all(isinstance(c, str) for c in identities):
            raise AccountsError(f"{source}: account #{i + 1}: identities must be a list of strings")
        account = check(Account(name=str(entry.get("name", "")), role=str(entry.get("role", "")),
                                channels=tuple(channels),
                                cross_channel_search=entry.get("cross_channel_search") is True,
                                password=str(entry.get("password", "")), identities=tuple(identities)))
        if account.name in out:
            raise AccountsError(f"{source}: account {account.name} is declared twice")
        taken = {i.lower() for a in out.values() for i in a.identities}
        if twice := [i for i in account.identities if i.lower() in taken]:
            raise AccountsError(f"{source}: account {account.name}: identity {twice[0]!r} is another account's too")
        out[account.name] = account
    return out


def dump(accounts: dict[str, Account]) -> str:
    """TOML text for `accounts` (json.dumps gives valid TOML basic strings)."""
    lines = ["# Dashboard accounts: managed by `python -m dashboard accounts`. Passwords are scrypt hashes.", ""]
    for a in sorted(accounts.values(), key=lambda a: a.name):
        lines += ["[[account]]", f"name = {json.dumps(a.name)}", f"role = {json.dumps(a.role)}",
                  f"channels = {json.dumps(list(a.channels))}",
                  f"cross_channel_search = {'true' if a.cross_channel_search else 'false'}",
                  f"password = {json.dumps(a.password)}"]
        lines += [f"identities = {json.dumps(list(a.identities))}"] if a.identities else []
        lines += [""]
    return "\n".join(lines)


def load(path: Path | None = None) -> dict[str, Account]:
    """The accounts in the file ({} when it does not exist). AccountsError when it is broken."""
    path = path or accounts_file()
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise AccountsError(f"cannot read accounts file {path}: {exc.strerror}") from None
    return parse(text, str(path))


def save(accounts: dict[str, Account], path: Path | None = None) -> None:
    """Write the accounts atomically (mode 0600)."""
    path = path or accounts_file()
    files.write_private(path, dump(accounts))
