"""The project's version, for ``--version``: the installed package's metadata, or, in a
checkout that was never installed, pyproject.toml's ``[project].version``. Computed when
asked (``importlib.metadata`` and ``tomllib`` cost an import each), never at import time."""
from __future__ import annotations

import sys

from core.settings import PROJECT_ROOT

DISTRIBUTION = "chzzk-analytics"


def version() -> str:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version as installed

    try:
        return installed(DISTRIBUTION)
    except PackageNotFoundError:
        return _checkout_version() or "unknown"


def _checkout_version() -> str | None:
    import tomllib

    try:
        with open(PROJECT_ROOT / "pyproject.toml", "rb") as f:
            project = tomllib.load(f).get("project", {})
    except (OSError, tomllib.TOMLDecodeError):
        return None
    return project.get("version") if project.get("name") == DISTRIBUTION else None


def version_line(prog: str) -> str:
    """What ``PROG --version`` prints, e.g. ``chzzk-collector 0.1.0 (chzzk-analytics, Python 3.13.0)``."""
    return f"{prog} {version()} ({DISTRIBUTION}, Python {sys.version.split()[0]})"
