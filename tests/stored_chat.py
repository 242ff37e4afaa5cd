"""How tests read a stored chat line's ``raw`` and ``badges`` back from PostgreSQL, whichever
way the row holds them: jsonb (rows stored before issue 17) or zstd frames with the
dictionary the row names (core/raw_codec.py; the sink's compact rows)."""
from __future__ import annotations

import json

from collector import raw_dictionaries
from core import raw_codec


def json_of(conn, where: str = "true", params: tuple = ()) -> list[tuple]:
    """(raw, badges, compact) of the rows matching `where` (constant SQL; values bound), by
    id, parsed; compact: the row holds frames."""
    dictionaries = raw_dictionaries.load(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT raw, badges, raw_z, badges_z, zdict FROM stream_chat WHERE " + where  # noqa: S608
                    + " ORDER BY id", params)
        rows = cur.fetchall()
    out = []
    for raw, badges, raw_z, badges_z, zdict in rows:
        if raw_z is None:
            out.append((raw, badges, False))
            continue
        d = raw_codec.lookup(dictionaries, zdict)
        text = raw_codec.decompress(raw_z, d)
        btext = raw_codec.decompress(badges_z, d)
        out.append((json.loads(text), None if btext is None else json.loads(btext), True))
    return out
