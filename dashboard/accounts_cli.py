"""`python -m dashboard accounts add|list|remove|rotate-key|share`: manage
DASHBOARD_ACCOUNTS_FILE, the served dashboard's sign-ins and its share links.
Passwords come from a prompt (getpass, asked twice) or one line of stdin
(--password-stdin); they are hashed at once and never printed or logged.

`remove` and `add` of an existing name (a password reset) end every sign-in of that
account (dashboard/sessions.py); `rotate-key` replaces the signing key, which ends every
sign-in and share link. `share create` prints a share link's path (the token in it is
printed once, never logged), `share list` the links, `share revoke ID` ends one."""
from __future__ import annotations

import argparse
import fcntl
import getpass
import logging
import sys
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path

from core.cli import plain_table
from dashboard import accounts, sessions

log = logging.getLogger(__name__)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="add|list|remove")
    add = sub.add_parser("add", help="add an account, or replace one of the same name")
    add.add_argument("name")
    add.add_argument("--role", required=True, choices=accounts.ROLES)
    add.add_argument("--channels", default="", help="comma-separated 32-hex channel ids (streamers: required)")
    add.add_argument("--cross-channel-search", action="store_true",
                     help="allow user search across several channels at once (streamers, analysts)")
    add.add_argument("--password-stdin", action="store_true", help="read the password from one line of stdin")
    add.add_argument("--identities", default="",
                     help="comma-separated e-mail addresses (or OIDC subs) of the identity provider's users "
                          "this account stands for (st.login, when [auth] is configured)")
    add.add_argument("--no-password", action="store_true",
                     help="no password sign-in: through the identity provider only (needs --identities)")
    sub.add_parser("list", help="every account: name, role, channels, cross-channel search")
    rm = sub.add_parser("remove", help="remove an account (its sign-ins end)")
    rm.add_argument("name")
    sub.add_parser("rotate-key", help="a new signing key: every sign-in and share link ends")
    share = sub.add_parser("share", help="read-only share links: create, list, revoke")
    share_sub = share.add_subparsers(dest="share_action", required=True, metavar="create|list|revoke")
    make = share_sub.add_parser("create", help="print a link to one page over some channels")
    make.add_argument("--by", required=True, help="the account the link is made for (it must see the channels)")
    make.add_argument("--page", required=True, choices=sessions.SHAREABLE)
    make.add_argument("--channels", required=True, help="comma-separated 32-hex channel ids")
    make.add_argument("--days", type=float, default=7, help=f"how long it works (default 7, at most "
                                                            f"{sessions.MAX_SHARE_DAYS})")
    share_sub.add_parser("list", help="every link: id, page, channels, creator, expiry, revoked")
    revoke = share_sub.add_parser("revoke", help="end a link")
    revoke.add_argument("id")


@contextmanager
def _locked(path: Path):
    """One writer at a time: an exclusive lock on a sidecar file next to the accounts file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_name(path.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        yield


def _password(args) -> str:
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = getpass.getpass(f"password for {args.name}: ")
        if getpass.getpass("again: ") != password:
            raise accounts.AccountsError("the two passwords differ; nothing changed")
    if len(password) < accounts.MIN_PASSWORD:
        raise accounts.AccountsError(f"password too short: use at least {accounts.MIN_PASSWORD} characters")
    return password


def run(args: argparse.Namespace) -> int:
    path = accounts.accounts_file()
    try:
        if args.action == "list":
            rows = [(a.name, a.role, ",".join(a.channels) or "(all)", "yes" if a.cross_channel_search else "no")
                    for a in sorted(accounts.load(path).values(), key=lambda a: a.name)]
            print(plain_table(("name", "role", "channels", "cross-channel search"), rows))
            return 0
        if args.action == "add":
            channels = tuple(dict.fromkeys(c.strip() for c in args.channels.split(",") if c.strip()))
            identities = tuple(dict.fromkeys(c.strip() for c in args.identities.split(",") if c.strip()))
            if args.no_password and not identities:
                raise accounts.AccountsError("--no-password needs --identities (how else would it sign in?)")
            draft = accounts.Account(args.name, args.role, channels, args.cross_channel_search, "scrypt$", identities)
            accounts.check(draft)  # a bad name or channel fails before the password prompt
            hashed = accounts.NO_PASSWORD if args.no_password else accounts.hash_password(_password(args))
            with _locked(path):
                current = accounts.load(path)
                replaced = args.name in current
                current[args.name] = accounts.check(accounts.Account(
                    args.name, args.role, channels, args.cross_channel_search, hashed, identities))
                accounts.parse(accounts.dump(current), str(path))  # an identity twice fails before saving
                accounts.save(current, path)
                ended = sessions.revoke_account(args.name) if replaced else 0
            log.info("%s account %s (%s) in %s%s", "replaced" if replaced else "added", args.name, args.role, path,
                     f"; {ended} sign-in(s) ended" if ended else "")
            return 0
        if args.action == "rotate-key":
            with _locked(path):
                sessions.rotate_key()
            log.info("new signing key in %s: every sign-in and share link ended", sessions.key_file())
            return 0
        if args.action == "share":
            return _share(args, path)
        with _locked(path):
            current = accounts.load(path)
            if current.pop(args.name, None) is None:
                print(f"dashboard accounts: error: no account named {args.name!r}", file=sys.stderr)
                return 1
            accounts.save(current, path)
            ended = sessions.revoke_account(args.name)
        log.info("removed account %s from %s (%d left; %d sign-in(s) ended)", args.name, path, len(current), ended)
        return 0
    except accounts.AccountsError as exc:
        print(f"dashboard accounts: error: {exc}", file=sys.stderr)
        return 2


def _share(args, path: Path) -> int:
    if args.share_action == "list":
        when = lambda ts: datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%MZ") if ts else "-"  # noqa: E731
        rows = [(s["id"], s["page"], ",".join(s["channels"]), s["created_by"], when(s["expires"]), when(s["revoked"]))
                for s in sessions.list_shares()]
        print(plain_table(("id", "page", "channels", "by", "expires", "revoked"), rows))
        return 0
    if args.share_action == "revoke":
        if not sessions.revoke_share(args.id):
            print(f"dashboard accounts: error: no open share link {args.id!r}", file=sys.stderr)
            return 1
        log.info("share link %s revoked", args.id)
        return 0
    creator = accounts.load(path).get(args.by)
    if creator is None:
        raise accounts.AccountsError(f"no account named {args.by!r}")
    channels = [c.strip() for c in args.channels.split(",") if c.strip()]
    try:
        share, token = sessions.create_share(creator, args.page, channels, args.days)
    except ValueError as exc:
        raise accounts.AccountsError(str(exc)) from None
    log.info("share link %s made for %s: page %s, %d channel(s), until %s", share.id, creator.name, share.page,
             len(share.channels), datetime.fromtimestamp(share.expires, UTC).isoformat())
    print(f"/{'' if share.page == 'overview' else share.page}?share={token}")
    return 0
