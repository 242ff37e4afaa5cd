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
    with pg, pg.cursor() as cur:
        cur.execute("INSERT INTO stream_channel (channel_id) VALUES (%s) RETURNING id", ("a" * 32,))
        fk = cur.fetchone()[0]
        for _ in range(2):
            cur.execute("""INSERT INTO stream_chat (channel_fk, message_type, chat_time, raw, dedupe_key)
                           VALUES (%s, 'chat', now(), '{}', 'k1') ON CONFLICT (dedupe_key) DO NOTHING""", (fk,))
        cur.execute("SELECT count(*) FROM stream_chat")
        assert cur.fetchone()[0] == 1
