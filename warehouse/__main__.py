"""python -m warehouse COMMAND — see README."""
import sys

from core.cli import main

COMMANDS = {
    "sync": ("warehouse.sync.cli", "export PostgreSQL chat to the Parquet lake, one partition per day"),
    "schedule": ("warehouse.sync.schedule", "run the sync nightly at the configured hour"),
    "forget-user": ("warehouse.sync.privacy", "delete a user everywhere: PostgreSQL and every Parquet partition"),
    "report": ("warehouse.report.cli", "one channel's report for a week or a period, as HTML or PDF, Korean or English"),
}


def cli() -> int:
    """The `chzzk-warehouse` console script (pyproject.toml): the same commands as `python -m warehouse`."""
    return main("chzzk-warehouse", __doc__, COMMANDS)


if __name__ == "__main__":
    sys.exit(main("warehouse", __doc__, COMMANDS))
