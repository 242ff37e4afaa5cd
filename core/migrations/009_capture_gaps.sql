-- Restart gaps (collector/gaps.py): a rejoin whose recent-chat replay (15101, the last 50
-- lines) does not reach back to the last line collected before the disconnect. The lines
-- between were aired while no collector listened; they are filled from the broadcast's
-- replay (VOD) chat once the broadcast has ended, or the gap stays here, visible in
-- `collector status`, when no replay is published.
CREATE TABLE IF NOT EXISTS capture_gap (
    id              bigserial PRIMARY KEY,
    key             text NOT NULL UNIQUE,          -- the capture interval whose join found it
    channel_fk      bigint NOT NULL REFERENCES stream_channel(id),
    chat_channel_id text NOT NULL,
    gap_from        timestamptz,                   -- last line collected before; NULL: the newest
                                                   -- stored line older than gap_to, read when filling
    gap_to          timestamptz NOT NULL,          -- oldest line of the replay (the join when it was empty)
    found_at        timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'open',  -- open | filled | no replay
    video_no        bigint,                        -- the broadcast's replay, once found
    attempts        integer NOT NULL DEFAULT 0,
    next_attempt_at timestamptz NOT NULL,          -- retried with backoff until then
    resume_ms       bigint,                        -- playerMessageTime a bounded fill goes on from
    lines_filled    integer NOT NULL DEFAULT 0,    -- new stream_chat rows the fill stored
    last_error      text,
    done_at         timestamptz                    -- filled, or given up ('no replay')
);
CREATE INDEX IF NOT EXISTS capture_gap_due ON capture_gap (next_attempt_at) WHERE status = 'open';
CREATE INDEX IF NOT EXISTS capture_gap_channel ON capture_gap (channel_fk, chat_channel_id);
