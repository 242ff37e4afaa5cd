"""How tests read a stored chat line's ``raw`` and ``badges`` back from PostgreSQL, whichever
way the row holds them: jsonb (rows stored before issue 17) or zstd frames with the
dictionary the row names (core/raw_codec.py; the sink's compact rows)."""
from __future__ import annotations

from core import raw_codec
from tests.compact_rows import row_json


def json_of(conn, where: str = "true", params: tuple = ()) -> list[tuple]:
    """(raw, badges, compact) of the rows matching `where` (constant SQL; values bound), by
    id, parsed; compact: the row holds frames."""
    dictionaries = raw_codec.load_dictionaries(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT raw, badges, raw_z, badges_z, zdict FROM stream_chat WHERE " + where  # noqa: S608
                    + " ORDER BY id", params)
        rows = cur.fetchall()
    return [(*row_json(raw, badges, raw_z, badges_z, zdict, dictionaries), raw_z is not None)
            for raw, badges, raw_z, badges_z, zdict in rows]
