"""python -m dashboard COMMAND — see README."""
import sys

from core.cli import main

COMMANDS = {
    "serve": ("dashboard.serve_cli", "serve the dashboard (127.0.0.1 unless accounts are configured)"),
    "accounts": ("dashboard.accounts_cli", "add, remove or list dashboard accounts"),
}


def cli() -> int:
    """The `chzzk-dashboard` console script (pyproject.toml): the same commands as `python -m dashboard`."""
    return main("chzzk-dashboard", __doc__, COMMANDS)


if __name__ == "__main__":
    sys.exit(main("dashboard", __doc__, COMMANDS))
