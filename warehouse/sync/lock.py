"""The sync's PostgreSQL advisory lock (LOCK_ID: one sync, forget-user or retention at a
time per database), taken for a transaction (``take``, ``require``). Found held, it is not a
failure but "try again later": the commands exit with EX_TEMPFAIL (sysexits.h), so a cron
wrapper or systemd can tell it from a real error."""
from __future__ import annotations

import sys

LOCK_ID = 72316002  # pg advisory lock: one sync (or forget-user, retention) at a time per database
EX_TEMPFAIL = 75  # sysexits.h: a temporary failure; the same command later may succeed


def take(cur) -> bool:
    """Take the lock for the transaction `cur` is in (released when it ends); False when
    another run holds it."""
    cur.execute("SELECT pg_try_advisory_xact_lock(%s)", (LOCK_ID,))
    return bool(cur.fetchone()[0])


class LockHeld(RuntimeError):
    """Another sync, forget-user or retention run of this database holds the lock; nothing
    was changed."""


def require(cur, held: str) -> None:
    """``take``, or LockHeld(`held`: what the refused run says) when another run holds it."""
    if not take(cur):
        raise LockHeld(held)


def busy(prog: str, exc: LockHeld) -> int:
    """Say so on stderr as other errors are said (`PROG: error: …`); EX_TEMPFAIL."""
    print(f"{prog}: error: {exc} (exit {EX_TEMPFAIL}: temporary)", file=sys.stderr)
    return EX_TEMPFAIL
