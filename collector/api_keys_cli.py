"""``python -m collector api-keys add NAME (--channels ID,ID | --all-channels) [--read] [--write]
| list | remove NAME``: the ingest API's keys (collector/api_keys.py). ``add`` prints the
secret once, on stdout; the file keeps only its hash. A running API picks changes up at
its next request."""
from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from collector import api_keys
from core.cli import plain_table


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="add|list|remove")
    add = sub.add_parser("add", help="make a key and print its secret (once)")
    add.add_argument("name", help="what the logs call the key (1-64 letters, digits, _ . @ -)")
    where = add.add_mutually_exclusive_group(required=True)
    where.add_argument("--channels", help="comma-separated 32-hex channel ids the key may write/read")
    where.add_argument("--all-channels", action="store_true", help="every channel (an operator's key)")
    add.add_argument("--read", action="store_true", help="may read chat back (GET /chat, GET /chat/channels)")
    add.add_argument("--write", action="store_true", help="may store chat (POST /chat, POST /chat/bulk)")
    sub.add_parser("list", help="names, scopes and creation times (never secrets)")
    rm = sub.add_parser("remove", help="revoke a key (a running API refuses it at the next request)")
    rm.add_argument("name")


def run(args: argparse.Namespace) -> int:
    path = api_keys.keys_file()
    prog = "collector api-keys"
    try:
        keys = api_keys.load(path)
        if args.action == "list":
            rows = [(k.name, "+".join(s for s, on in (("read", k.read), ("write", k.write)) if on),
                     "all" if k.channels is None else ",".join(sorted(k.channels)), k.created)
                    for k in sorted(keys.values(), key=lambda k: k.name)]
            print(plain_table(("NAME", "SCOPE", "CHANNELS", "CREATED"), rows) if rows else f"no keys in {path}")
            return 0
        if args.action == "remove":
            if args.name not in keys:
                print(f"{prog}: error: no key named {args.name!r} in {path}", file=sys.stderr)
                return 1
            del keys[args.name]
            api_keys.save(keys, path)
            print(f"removed key {args.name}", file=sys.stderr)
            return 0
        if args.name in keys or args.name.startswith(api_keys.LEGACY_NAME):
            print(f"{prog}: error: a key named {args.name!r} exists (remove it first, or choose another name)",
                  file=sys.stderr)
            return 1
        channels = None if args.all_channels else [c for c in args.channels.split(",") if c.strip()]
        key, secret = api_keys.make(args.name, channels, read=args.read, write=args.write,
                                    created=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"))
        keys[key.name] = key
        api_keys.save(keys, path)
    except api_keys.KeysError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    print(f"added key {key.name} ({key.scope()}) to {path}; its secret, shown only now:", file=sys.stderr)
    print(secret)
    return 0
