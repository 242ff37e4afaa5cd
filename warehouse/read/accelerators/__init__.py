"""Accelerators: small files built from the chat partitions that answer some questions
without scanning every day of chat. The sync and forget-user keep every one of them up to
date through ``rebuild_all``; ``folders`` names what they hold in the lake."""
from __future__ import annotations

from warehouse.lake.layout import Lake
from warehouse.read.accelerators import rollups, user_tail, users_index


def folders() -> frozenset[str]:
    """The lake folders the accelerators live in (not chat: derived, rebuilt, never exported)."""
    return frozenset({users_index.SPEC.name, rollups.SPEC.name, rollups.SPANS.name, rollups.CHATTER.name,
                      user_tail.USER_TAIL.name})


def rebuild_all(lake: Lake, tz: str | None = None, *, forgetting: bool = False) -> None:
    """Bring every accelerator up to date with the chat partitions (each redoes only the
    days whose partition changed). `tz`: the zone the partitions are cut in (None: the
    last sync's). `forgetting` (forget-user): an accelerator holding the text of lines that
    fails to rebuild is removed rather than left holding a forgotten user's lines."""
    users_index.build_users_index(lake)
    rollups.build_rollups(lake, tz)
    try:
        user_tail.build_user_tail(lake)
    except Exception:
        if forgetting:
            user_tail.remove(lake)
        raise
