"""The schema: migrations apply once, re-running is harmless, the dedupe key holds."""
import psycopg2
import pytest

from core import db

pytestmark = pytest.mark.integration


def test_migrations_recorded_and_rerun_is_harmless(pg_url):
    conn = psycopg2.connect(pg_url)
    assert db.migrate(conn) == []  # already applied by the fixture
    assert db.migrate(conn) == []
    with conn.cursor() as cur:
        cur.execute("SELECT version FROM schema_migrations ORDER BY version")
        versions = [r[0] for r in cur.fetchall()]
    assert versions == [v for v, _ in db.migrations()]
    with conn.cursor() as cur:
        cur.execute("""SELECT table_name FROM information_schema.tables
                       WHERE table_schema = 'public' ORDER BY 1""")
        tables = {r[0] for r in cur.fetchall()}
    assert {"stream_channel", "stream_chat", "dead_letter", "events", "schema_migrations"} <= tables


def test_dedupe_key_is_unique(pg):
    """Through its 16-byte index (migration 012): ON CONFLICT names the expression; a plain
    insert of a taken key fails, as the sink's COPY does."""
    insert = "INSERT INTO stream_chat (channel_fk, message_type, chat_time, raw, dedupe_key) VALUES (%s, 'chat', now(), '{}', %s)"
    with pg, pg.cursor() as cur:
        cur.execute("INSERT INTO stream_channel (channel_id) VALUES (%s) RETURNING id", ("a" * 32,))
        fk = cur.fetchone()[0]
        for key in ("k1", "k1", "9e107d9d372bb6826bd81d3542a419d6", "K1"):
            cur.execute(insert + " ON CONFLICT ((md5(dedupe_key)::uuid)) DO NOTHING", (fk, key))
        cur.execute("SELECT dedupe_key FROM stream_chat ORDER BY id")
        assert [r[0] for r in cur.fetchall()] == ["k1", "9e107d9d372bb6826bd81d3542a419d6", "K1"]
    with pytest.raises(psycopg2.errors.UniqueViolation), pg.cursor() as cur:
        cur.execute(insert, (fk, "k1"))
    pg.rollback()


def test_narrow_indexes_serve_the_lookups(pg):
    """Migration 012: a key lookup uses the md5 index, a blind (cid, user, exact time) the time index."""
    with pg.cursor() as cur:
        cur.execute("SET enable_seqscan = off")
        cur.execute("EXPLAIN SELECT k FROM unnest(ARRAY['a','b']) AS k JOIN stream_chat c"
                    " ON md5(c.dedupe_key)::uuid = md5(k)::uuid AND c.dedupe_key = k")
        assert "stream_chat_dedupe_md5" in " ".join(r[0] for r in cur.fetchall())
        cur.execute("EXPLAIN UPDATE stream_chat c SET blind_type = 'BLIND' FROM unnest(ARRAY['c'], ARRAY['u'],"
                    " ARRAY[now()]) AS v(cid, uid, t) WHERE c.chat_channel_id = v.cid AND c.user_id = v.uid"
                    " AND c.chat_time = v.t")
        assert "stream_chat_time" in " ".join(r[0] for r in cur.fetchall())
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = 'stream_chat'")
        assert {"stream_chat_blind", "stream_chat_dedupe"}.isdisjoint(r[0] for r in cur.fetchall())
    pg.rollback()
