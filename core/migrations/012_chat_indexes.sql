-- Narrower indexes on stream_chat (issue 17; docs/COLLECTOR_STORAGE.md has the measurements).
--
-- The dedupe key's unique index holds a 16-byte uuid made from the key (md5 of the text:
-- every key is an md5 hex already, or a test's / import's own text) instead of the 33-byte
-- text: ~40 instead of ~76 bytes a line. Inserts that meet a taken key fail the same way
-- (the sink's COPY), or skip it with ON CONFLICT ((md5(dedupe_key)::uuid)); a lookup by key
-- goes through the same expression (collector/ingest_db.py).
CREATE UNIQUE INDEX IF NOT EXISTS stream_chat_dedupe_md5 ON stream_chat ((md5(dedupe_key)::uuid));
ALTER TABLE stream_chat DROP CONSTRAINT IF EXISTS stream_chat_dedupe;

-- stream_chat_blind (chat_channel_id, user_id, chat_time) served only the sink's blinds
-- (~95 bytes a line, on every insert): a blind names the line's exact time, so the
-- stream_chat_time index finds the few lines of that millisecond and the rest is a filter.
DROP INDEX IF EXISTS stream_chat_blind;
