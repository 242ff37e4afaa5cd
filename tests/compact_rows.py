"""Compact chat rows for tests, without the sink: turn stream_chat rows into rows as the sink
writes them since issue 17 (raw and badges NULL; raw_z, badges_z = zstd frames of their
compact JSON; zdict = the raw_dictionary row used), and read any row's raw and badges back
as parsed JSON whichever kind it is — the one way tests read those columns from PostgreSQL.

Uses core/raw_codec.py directly (the contract), never the warehouse's reader under test."""
from __future__ import annotations

import json

from core import raw_codec

# A raw-content dictionary (zstd takes any bytes as one): instant, unlike training one
TEST_DICTIONARY = raw_codec.Dictionary(
    7, (b'{"msg":"","msgTypeCode":1,"msgTime":0,"uid":"","profile":"{\\"userIdHash\\":\\"\\",'
        b'\\"nickname\\":\\"\\",\\"badge\\":null,\\"userRoleCode\\":\\"common_user\\"}",'
        b'"extras":"{\\"osType\\":\\"PC\\",\\"chatType\\":\\"STREAMING\\"}"}') * 4)


def add_dictionary(conn, dictionary: raw_codec.Dictionary = TEST_DICTIONARY) -> None:
    """Store `dictionary` in raw_dictionary (once), committed."""
    with conn.cursor() as cur:
        cur.execute("INSERT INTO raw_dictionary (id, samples, sample_bytes, dict) VALUES (%s, 0, 0, %s)"
                    " ON CONFLICT (id) DO NOTHING", (dictionary.id, dictionary.data))
    conn.commit()


def _compact_json(text: str | None) -> str | None:
    return None if text is None else json.dumps(json.loads(text), ensure_ascii=False, separators=(",", ":"))


def make_compact(conn, ids: list[int] | None = None,
                 dictionary: raw_codec.Dictionary | None = TEST_DICTIONARY) -> int:
    """Make the jsonb rows of `ids` (None: all) compact, compressed with `dictionary` (stored
    first; None: no dictionary); committed. Returns how many rows changed."""
    if dictionary is not None:
        add_dictionary(conn, dictionary)
    with conn.cursor() as cur:
        cur.execute("SELECT id, raw::text, badges::text FROM stream_chat WHERE raw_z IS NULL"
                    " AND (%(all)s OR id = ANY(%(ids)s)) ORDER BY id", {"all": ids is None, "ids": ids or []})
        rows = cur.fetchall()
        for row_id, raw, badges in rows:
            cur.execute("UPDATE stream_chat SET raw = NULL, badges = NULL, raw_z = %s, badges_z = %s, zdict = %s"
                        " WHERE id = %s", (raw_codec.compress(_compact_json(raw), dictionary),
                                           raw_codec.compress(_compact_json(badges), dictionary),
                                           dictionary.id if dictionary else None, row_id))
    conn.commit()
    return len(rows)


def make_jsonb(conn, ids: list[int] | None = None) -> int:
    """Make the compact rows of `ids` (None: all) jsonb rows again, as stored before issue 17;
    committed. Returns how many rows changed (so a test gets a mixed table whatever the sink writes)."""
    rows = [(i, v) for i, v in json_columns(conn, ids).items() if v["compact"]]
    with conn.cursor() as cur:
        for row_id, v in rows:
            cur.execute("UPDATE stream_chat SET raw = %s::jsonb, badges = %s::jsonb, raw_z = NULL, badges_z = NULL,"
                        " zdict = NULL WHERE id = %s", (json.dumps(v["raw"], ensure_ascii=False),
                                                        None if v["badges"] is None else
                                                        json.dumps(v["badges"], ensure_ascii=False), row_id))
    conn.commit()
    return len(rows)


def frame_text(blob: bytes, dictionaries: dict) -> str | None:
    """The text of a zstd frame read with whichever of `dictionaries` (or none) reads it; None
    when `blob` is no frame any of them reads (for scanners that know no table)."""
    if not blob.startswith(b"\x28\xb5\x2f\xfd"):
        return None
    for dictionary in (None, *dictionaries.values()):
        try:
            return raw_codec.decompress(blob, dictionary)
        except raw_codec.CodecError:
            continue
    return None


dictionaries = raw_codec.load_dictionaries  # raw_dictionary's rows (in the caller's transaction)


def row_json(raw, badges, raw_z, badges_z, zdict, known: dict) -> tuple:
    """(raw, badges) of one stored row as parsed JSON, from the jsonb columns (text or already
    parsed) or the frames, whichever the row has."""
    if raw_z is not None:
        d = raw_codec.lookup(known, zdict)
        raw, badges = raw_codec.decompress(raw_z, d), raw_codec.decompress(badges_z, d)
    return tuple(json.loads(v) if isinstance(v, str) else v for v in (raw, badges))


def json_columns(conn, ids: list[int] | None = None) -> dict[int, dict]:
    """{id: {"raw": parsed JSON, "badges": parsed JSON or None, "compact": bool}} of stream_chat's
    rows (of `ids`; None: all), from the jsonb columns or the frames, whichever the row has.
    The read is rolled back."""
    known = dictionaries(conn)
    with conn.cursor() as cur:
        cur.execute("SELECT id, raw::text, badges::text, raw_z, badges_z, zdict FROM stream_chat"
                    " WHERE %(all)s OR id = ANY(%(ids)s) ORDER BY id", {"all": ids is None, "ids": ids or []})
        rows = cur.fetchall()
    conn.rollback()
    out = {}
    for row_id, raw, badges, raw_z, badges_z, zdict in rows:
        raw, badges = row_json(raw, badges, raw_z, badges_z, zdict, known)
        out[row_id] = {"raw": raw, "badges": badges, "compact": raw_z is not None}
    return out


def cursor_rows(conn, table, params: dict):
    """The reference for the extract: `table`'s SELECT through a plain cursor, each row's
    frames read back with raw_codec into its text columns, as a pa.Table of ``table.schema``."""
    import pyarrow as pa

    from warehouse.sync.extract import to_batch

    known = dictionaries(conn)
    with conn.cursor() as cur:
        cur.execute(table.select, params)
        rows = cur.fetchall()
    names, spec, out = table.read_schema.names, table.compact, []
    for values in rows:
        row = dict(zip(names, values, strict=True))
        for text, frame in spec.frames if spec is not None else ():
            if row[frame] is not None:
                row[text] = raw_codec.decompress(row[frame], raw_codec.lookup(known, row[spec.dictionary]))
        out.append(tuple(row[n] for n in table.schema.names))
    return pa.Table.from_batches([to_batch(out, table.schema)], schema=table.schema)
