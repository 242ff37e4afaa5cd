"""``python -m collector channels add ID [ID ...] | remove ID [ID ...] | list [--json]``:
change the set of channels a running collector collects (it re-reads the set every
CHANNEL_REFRESH_SECONDS). ``remove`` sets ``enabled = false`` and keeps the history;
``add`` enables (and names the channel from the channel endpoint when it answers)."""
from __future__ import annotations

import argparse
import sys

from collector import channels
from collector.api import Api
from core import db
from core.cli import json_line, plain_table

INFO_ATTEMPTS = 2  # the channel endpoint is only asked for names: do not wait long


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", required=True, metavar="add|remove|list")
    add = sub.add_parser("add", help="collect these channels (32-hex ids)")
    add.add_argument("ids", nargs="+", metavar="ID")
    add.add_argument("--no-info", action="store_true", help="do not ask the channel endpoint for names")
    rm = sub.add_parser("remove", help="stop collecting these channels (history kept)")
    rm.add_argument("ids", nargs="+", metavar="ID")
    ls = sub.add_parser("list", help="every known channel: id, name, enabled, state")
    ls.add_argument("--json", action="store_true", help="one JSON object per line")


def format_table(rows: list[dict]) -> str:
    """Plain-text table of ``channels.listing`` rows (names are untrusted text: hidden characters shown escaped)."""
    head = ("CHANNEL", "NAME", "ENABLED", "STATE", "CHAT CHANNEL")
    body = [(r["channel_id"], r.get("channel_name") or "-",
             "yes" if r["enabled"] else "no", r["state"], r.get("chat_channel_id") or "-") for r in rows]
    return plain_table(head, body)


def run(args: argparse.Namespace) -> int:
    conn = db.connect()
    try:
        if args.action in ("add", "remove"):
            bad = [i for i in args.ids if not channels.CHANNEL_ID.match(i)]
            if bad:
                print(f"collector channels: error: not a 32-hex channel id: {', '.join(bad)}", file=sys.stderr)
                return 2
            ids = list(dict.fromkeys(args.ids))
        if args.action == "add":
            new = channels.add(conn, ids)
            named = 0
            if not args.no_info:
                api = Api(max_attempts=INFO_ATTEMPTS)
                try:
                    named = channels.refresh_info(conn, api, ids)
                finally:
                    api.close()
            print(f"enabled {len(new)} channel(s) ({len(ids) - len(new)} already enabled), "
                  f"{named} named from the channel endpoint")
        elif args.action == "remove":
            known = channels.remove(conn, ids)
            unknown = [i for i in ids if i not in known]
            print(f"disabled {len(known)} channel(s)" + (f"; unknown: {', '.join(unknown)}" if unknown else ""))
        else:
            rows = channels.listing(conn)
            if args.json:
                for r in rows:
                    print(json_line(r))
            else:
                print(format_table(rows))
    finally:
        conn.close()
    return 0
