"""python -m collector COMMAND — see README."""
import sys

from core.cli import main

COMMANDS = {
    "run": ("collector.run", "collect live chat of the configured channels into PostgreSQL"),
    "parse": ("collector.parse_cli", "parse frames (one JSON per line) into one JSON record per line"),
    "sim": ("collector.sim.cli", "serve a local CHZZK simulator (HTTP + chat websocket)"),
    "backfill-sim": ("collector.backfill", "write days of synthetic chat history into PostgreSQL"),
    "backfill-vod": ("collector.vod", "merge a past broadcast's replay (VOD) chat into stream_chat"),
    "import-logs": ("collector.import_logs", "load ChzzkChat desktop viewer logs (log/{channel}/YYYY-MM-DD.log)"),
    "channels": ("collector.channels_cli", "add, remove or list the channels to collect"),
    "api": ("collector.ingest_cli", "serve the ChzzkChat-compatible ingest API (POST /chat/bulk, GET /chat)"),
    "api-keys": ("collector.api_keys_cli", "add, list or remove ingest API keys (channels, read/write; stored hashed)"),
    "status": ("collector.status", "per channel: state, session, last message, lag, reconnects, coverage"),
    "settings": ("collector.settings_cli", "list every setting: value, default, source and help (secrets masked)"),
}


def cli() -> int:
    """The `chzzk-collector` console script (pyproject.toml): the same commands as `python -m collector`."""
    return main("chzzk-collector", __doc__, COMMANDS)


if __name__ == "__main__":
    sys.exit(main("collector", __doc__, COMMANDS))
