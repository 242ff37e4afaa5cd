"""The sync's PostgreSQL advisory lock (export.LOCK_ID: one sync, forget-user or retention at
a time per database) found held: not a failure but "try again later", so the commands exit
with EX_TEMPFAIL (sysexits.h) and a cron wrapper or systemd can tell it from a real error."""
from __future__ import annotations

import sys

EX_TEMPFAIL = 75  # sysexits.h: a temporary failure; the same command later may succeed


class LockHeld(RuntimeError):
    """Another sync, forget-user or retention run of this database holds the lock; nothing
    was changed."""


def busy(prog: str, exc: LockHeld) -> int:
    """Say so on stderr as other errors are said (`PROG: error: …`); EX_TEMPFAIL."""
    print(f"{prog}: error: {exc} (exit {EX_TEMPFAIL}: temporary)", file=sys.stderr)
    return EX_TEMPFAIL
