-- Broadcasts, their polling timeline, channels without a chat channel, and the minutes we
-- were connected (capture intervals), written by collector/sessions.py.

-- What polling last said about a channel (on change only): live / offline / unavailable.
ALTER TABLE stream_channel ADD COLUMN IF NOT EXISTS live_state text;
ALTER TABLE stream_channel ADD COLUMN IF NOT EXISTS live_state_reason text;
ALTER TABLE stream_channel ADD COLUMN IF NOT EXISTS live_state_at timestamptz;
ALTER TABLE stream_channel ADD COLUMN IF NOT EXISTS info_refreshed_at timestamptz;

-- One row per broadcast (a chatChannelId is issued anew for every broadcast).
CREATE TABLE IF NOT EXISTS live_session (
    id                  bigserial PRIMARY KEY,
    channel_fk          bigint NOT NULL REFERENCES stream_channel(id),
    chat_channel_id     text NOT NULL,
    opened_at           timestamptz NOT NULL DEFAULT now(),  -- first poll that saw it OPEN
    closed_at           timestamptz,                         -- NULL while live
    live_title          text,
    category_type       text,
    live_category       text,
    live_category_value text,
    adult               boolean,
    open_date           timestamptz,                         -- the API's openDate (UTC)
    close_reason        text,                                -- 'broadcast closed', 'new chat channel'
    CONSTRAINT live_session_channel_chat UNIQUE (channel_fk, chat_channel_id)
);
CREATE INDEX IF NOT EXISTS live_session_open ON live_session (channel_fk) WHERE closed_at IS NULL;
CREATE INDEX IF NOT EXISTS live_session_opened ON live_session (channel_fk, opened_at);

-- The title / category / viewer timeline from polling (on change, and every few minutes).
CREATE TABLE IF NOT EXISTS live_session_poll (
    session_fk            bigint NOT NULL REFERENCES live_session(id) ON DELETE CASCADE,
    polled_at             timestamptz NOT NULL,
    status                text NOT NULL,
    live_title            text,
    live_category_value   text,
    concurrent_user_count integer
);
CREATE INDEX IF NOT EXISTS live_session_poll_session ON live_session_poll (session_fk, polled_at);

-- A live channel whose chatChannelId is null (adult, abroad:<type>, no chat channel):
-- one row per episode, first and last time seen.
CREATE TABLE IF NOT EXISTS channel_unavailable (
    id            bigserial PRIMARY KEY,
    channel_fk    bigint NOT NULL REFERENCES stream_channel(id),
    reason        text NOT NULL,
    live_title    text,
    first_seen_at timestamptz NOT NULL,
    last_seen_at  timestamptz NOT NULL,
    cleared_at    timestamptz                                 -- set when the episode ended
);
CREATE INDEX IF NOT EXISTS channel_unavailable_channel ON channel_unavailable (channel_fk, first_seen_at);

-- One row per chat socket that reached CONNECTED; disconnected_at NULL while open.
CREATE TABLE IF NOT EXISTS capture_interval (
    id              bigserial PRIMARY KEY,
    key             text NOT NULL UNIQUE,                     -- client-made, so writes are idempotent
    channel_fk      bigint NOT NULL REFERENCES stream_channel(id),
    session_fk      bigint REFERENCES live_session(id) ON DELETE SET NULL,
    chat_channel_id text NOT NULL,
    connected_at    timestamptz NOT NULL,
    disconnected_at timestamptz,
    reason          text,          -- 'socket closed', 'ping timeout', 'session ended 90102', 'broadcast closed',
                                   -- 'new chat channel', 'channel removed', 'stopped', 'process died'
    owner           text,          -- hostname:pid:random of the collector process
    server          integer,       -- the N of kr-ssN
    last_seen_at    timestamptz    -- heartbeat while open (for 'process died')
);
CREATE INDEX IF NOT EXISTS capture_interval_channel ON capture_interval (channel_fk, connected_at);
CREATE INDEX IF NOT EXISTS capture_interval_open ON capture_interval (channel_fk) WHERE disconnected_at IS NULL;
CREATE INDEX IF NOT EXISTS capture_interval_chat ON capture_interval (channel_fk, chat_channel_id);

-- Coverage of every broadcast: the share of its minutes covered by capture intervals
-- (overlapping intervals of several processes counted once). A broadcast starts at the
-- API's openDate when known (minutes before we first saw it count as missed) and ends at
-- closed_at, or now while live.
CREATE OR REPLACE VIEW broadcast_coverage AS
WITH s AS (
    SELECT ls.id AS session_id, ls.channel_fk, ls.chat_channel_id,
           tstzrange(least(coalesce(ls.open_date, ls.opened_at), ls.opened_at),
                     greatest(coalesce(ls.closed_at, now()), ls.opened_at)) AS span
      FROM live_session ls
), c AS (
    SELECT s.session_id,
           range_agg(tstzrange(ci.connected_at, greatest(coalesce(ci.disconnected_at, now()), ci.connected_at))
                     * s.span) AS covered
      FROM s JOIN capture_interval ci
        ON ci.channel_fk = s.channel_fk AND ci.chat_channel_id = s.chat_channel_id
     GROUP BY s.session_id
)
SELECT s.session_id, s.channel_fk, s.chat_channel_id,
       lower(s.span) AS started_at, upper(s.span) AS ended_at,
       extract(epoch FROM upper(s.span) - lower(s.span)) / 60.0 AS minutes,
       coalesce((SELECT sum(extract(epoch FROM upper(r) - lower(r))) FROM unnest(c.covered) AS r), 0) / 60.0
           AS captured_minutes,
       CASE WHEN upper(s.span) > lower(s.span) THEN
           coalesce((SELECT sum(extract(epoch FROM upper(r) - lower(r))) FROM unnest(c.covered) AS r), 0)
           / extract(epoch FROM upper(s.span) - lower(s.span))
       END AS coverage
  FROM s LEFT JOIN c ON c.session_id = s.session_id;
