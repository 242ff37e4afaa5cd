"""`python -m dashboard accounts add|list|remove`: manage DASHBOARD_ACCOUNTS_FILE.
Passwords come from a prompt (getpass, asked twice) or one line of stdin
(--password-stdin); they are hashed at once and never printed or logged."""
from __future__ import annotations

import argparse
import fcntl
import getpass
import logging
import sys
from contextlib import contextmanager
from pathlib import Path

from core.cli import plain_table
from dashboard import accounts

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
    sub.add_parser("list", help="every account: name, role, channels, cross-channel search")
    rm = sub.add_parser("remove", help="remove an account")
    rm.add_argument("name")


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
            draft = accounts.Account(args.name, args.role, channels, args.cross_channel_search, "scrypt$")
            accounts.check(draft)  # a bad name or channel fails before the password prompt
            hashed = accounts.hash_password(_password(args))
            with _locked(path):
                current = accounts.load(path)
                replaced = args.name in current
                current[args.name] = accounts.check(accounts.Account(
                    args.name, args.role, channels, args.cross_channel_search, hashed))
                accounts.save(current, path)
            log.info("%s account %s (%s) in %s", "replaced" if replaced else "added", args.name, args.role, path)
            return 0
        with _locked(path):
            current = accounts.load(path)
            if current.pop(args.name, None) is None:
                print(f"dashboard accounts: error: no account named {args.name!r}", file=sys.stderr)
                return 1
            accounts.save(current, path)
        log.info("removed account %s from %s (%d left)", args.name, path, len(current))
        return 0
    except accounts.AccountsError as exc:
        print(f"dashboard accounts: error: {exc}", file=sys.stderr)
        return 2
