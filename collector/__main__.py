"""python -m collector COMMAND — see README."""
import sys

from core.cli import main

COMMANDS = {
    "run": ("collector.run", "collect live chat of the configured channels into PostgreSQL"),
    "parse": ("collector.parse_cli", "parse frames (one JSON per line) into one JSON record per line"),
    "sim": ("collector.sim.cli", "serve a local CHZZK simulator (HTTP + chat websocket)"),
    "backfill-sim": ("collector.backfill", "write days of synthetic chat history into PostgreSQL"),
}

if __name__ == "__main__":
    sys.exit(main("collector", __doc__, COMMANDS))
