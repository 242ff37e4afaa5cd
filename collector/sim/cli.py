"""``python -m collector sim``: serve a local CHZZK (HTTP + chat websocket on one port).

On start it prints the settings that point the collector at it, one ``KEY=VALUE`` per line
on stdout (parse them, or ``eval`` them in a shell); logs go to stderr. SIGINT/SIGTERM stop
it cleanly (exit 0)."""
from __future__ import annotations

import argparse
import sys

from collector.sim.server import SimServer


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=18080, help="port (default 18080; 0 = pick a free one)")
    parser.add_argument("--channels", type=int, default=3, help="number of live channels (default 3)")
    parser.add_argument("--rate", type=float, default=5.0, help="chat lines per second per channel (default 5)")
    parser.add_argument("--seed", type=int, default=1, help="seed of channels, users and chat (default 1)")
    parser.add_argument("--truth", metavar="FILE",
                        help="write every chat item the first time it is sent to a client (JSON lines)")
    parser.add_argument("--ping-seconds", type=float, default=20.0,
                        help="seconds between server PINGs on each chat socket (default 20; 0 = never)")
    parser.add_argument("--drop-every", type=float, default=0.0, metavar="SECONDS",
                        help="close every chat socket this often to force reconnects (default 0 = never)")
    parser.add_argument("--restart-every", type=float, default=0.0, metavar="SECONDS",
                        help="each channel's broadcast ends this often (staggered) and reopens with a new "
                             "chatChannelId after --restart-pause (default 0 = never)")
    parser.add_argument("--restart-pause", type=float, default=2.0, metavar="SECONDS",
                        help="seconds between a broadcast's end and the next one (default 2)")
    parser.add_argument("--offline", type=int, default=0, metavar="N",
                        help="the last N channels are offline (live status CLOSE) (default 0)")
    parser.add_argument("--adult", type=int, default=0, metavar="N",
                        help="N channels (before the offline ones) are adult-only: live, chatChannelId null")
    parser.add_argument("--flood-rate", type=float, default=0.0, metavar="LINES_PER_S",
                        help="flood mode: --flood-channels channels at this many lines/s each come first, then "
                             "--channels quiet ones at --rate; pre-rendered lines, truth as counts and digests "
                             "(default 0 = off)")
    parser.add_argument("--flood-channels", type=int, default=1, help="flood channels in flood mode (default 1)")
    parser.add_argument("--stats-seconds", type=float, default=30.0,
                        help="seconds between stats lines on stderr (default 30)")


def run(args: argparse.Namespace) -> int:
    server = SimServer(channels=args.channels, seed=args.seed, rate=args.rate, truth_path=args.truth,
                       ping_seconds=args.ping_seconds, drop_every=args.drop_every, host=args.host,
                       stats_seconds=args.stats_seconds, restart_every=args.restart_every,
                       restart_pause=args.restart_pause, offline=args.offline, adult=args.adult,
                       flood_rate=args.flood_rate, flood_channels=args.flood_channels)

    def announce() -> None:
        for key, value in server.env().items():
            print(f"{key}={value}")
        sys.stdout.flush()

    server.run(args.port, on_ready=announce)
    return 0
