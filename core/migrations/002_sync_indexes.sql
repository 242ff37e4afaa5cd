-- The warehouse sync finds the days touched since its last run by created_at and blinded_at.
CREATE INDEX IF NOT EXISTS stream_chat_created_at ON stream_chat (created_at);
CREATE INDEX IF NOT EXISTS stream_chat_blinded_at ON stream_chat (blinded_at) WHERE blinded_at IS NOT NULL;
