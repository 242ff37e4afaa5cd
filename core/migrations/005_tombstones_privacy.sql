-- What the warehouse sync needs to find every day touched since its last run, and the
-- opt-out list that the collector and the sync honour (warehouse/privacy.py).

-- Edits (blinds, corrections): a trigger stamps updated_at; the sync looks at it.
ALTER TABLE stream_chat ADD COLUMN IF NOT EXISTS updated_at timestamptz;
CREATE INDEX IF NOT EXISTS stream_chat_updated_at ON stream_chat (updated_at) WHERE updated_at IS NOT NULL;

CREATE OR REPLACE FUNCTION stream_chat_touch() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.updated_at := now();
    RETURN NEW;
END $$;
DROP TRIGGER IF EXISTS stream_chat_touch ON stream_chat;
CREATE TRIGGER stream_chat_touch BEFORE UPDATE ON stream_chat
    FOR EACH ROW EXECUTE FUNCTION stream_chat_touch();

-- Deletions: one tombstone per deleted row (no user id, no text: nothing private is kept),
-- so the sync rewrites the day the row was on. The retention job deletes rows the lake
-- already holds and sets warehouse.retention = 'on' for its transaction: no tombstones then.
CREATE TABLE IF NOT EXISTS stream_chat_tombstone (
    chat_id    bigint NOT NULL,
    chat_time  timestamptz NOT NULL,
    deleted_at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX IF NOT EXISTS stream_chat_tombstone_deleted_at ON stream_chat_tombstone (deleted_at);
CREATE INDEX IF NOT EXISTS stream_chat_tombstone_chat_time ON stream_chat_tombstone (chat_time);

CREATE OR REPLACE FUNCTION stream_chat_tombstone_add() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF coalesce(current_setting('warehouse.retention', true), '') = 'on' THEN
        RETURN NULL;
    END IF;
    INSERT INTO stream_chat_tombstone (chat_id, chat_time)
        SELECT id, chat_time FROM deleted_rows;
    RETURN NULL;
END $$;
DROP TRIGGER IF EXISTS stream_chat_tombstone_add ON stream_chat;
CREATE TRIGGER stream_chat_tombstone_add AFTER DELETE ON stream_chat
    REFERENCING OLD TABLE AS deleted_rows
    FOR EACH STATEMENT EXECUTE FUNCTION stream_chat_tombstone_add();

-- Users who asked to be forgotten: the collector drops their new lines before COPY and
-- the sync never exports them.
CREATE TABLE IF NOT EXISTS opt_out_user (
    user_id  text PRIMARY KEY,
    added_at timestamptz NOT NULL DEFAULT now(),
    reason   text
);
