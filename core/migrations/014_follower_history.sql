-- Follower counts by day (issue 20 §1): the collector's last reading of stream_channel's
-- follower_count on each day (in DISPLAY_TZ), written where it refreshes channel info
-- (collector/followers.py); the sync exports it whole as the small table channel_follower_day.
CREATE TABLE IF NOT EXISTS channel_follower_day (
    channel_fk      bigint NOT NULL REFERENCES stream_channel(id) ON DELETE CASCADE,
    day             date NOT NULL,
    follower_count  integer NOT NULL,
    recorded_at     timestamptz NOT NULL DEFAULT now(),   -- the reading kept (the day's last)
    PRIMARY KEY (channel_fk, day)
);
