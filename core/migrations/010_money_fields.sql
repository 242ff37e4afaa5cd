-- Money as CHZZK counts it (README, "How donations are counted"; collector/items.py).
-- Mission donations: the mission a line belongs to and the mission's status, moved forward
-- by later copies and DONATION_MISSION_IN_PROGRESS events (collector/sink.py). Gifts: the
-- gift a type-12 line belongs to and how many subscriptions the gift gave (the same on every
-- line of the gift: from its sender's line or its SUBSCRIPTION_GIFT event).
ALTER TABLE stream_chat ADD COLUMN IF NOT EXISTS mission_id text;
ALTER TABLE stream_chat ADD COLUMN IF NOT EXISTS donation_status text;
ALTER TABLE stream_chat ADD COLUMN IF NOT EXISTS gift_id text;
ALTER TABLE stream_chat ADD COLUMN IF NOT EXISTS gift_quantity integer;

CREATE INDEX IF NOT EXISTS stream_chat_mission ON stream_chat (mission_id) WHERE mission_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS stream_chat_gift ON stream_chat (gift_id) WHERE gift_id IS NOT NULL;
CREATE INDEX IF NOT EXISTS events_mission ON events ((body ->> 'missionDonationId'))
    WHERE event_type = 'DONATION_MISSION_IN_PROGRESS';
CREATE INDEX IF NOT EXISTS events_gift ON events ((body ->> 'giftId')) WHERE event_type = 'SUBSCRIPTION_GIFT';

-- The order of a mission's life (collector.items.MISSION_STATUS_RANK): a status never moves
-- back to a lower rank; unknown statuses rank 0.
CREATE OR REPLACE FUNCTION mission_status_rank(status text) RETURNS integer
    LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $$
    SELECT CASE status WHEN 'PENDING' THEN 1 WHEN 'APPROVED' THEN 2 WHEN 'EXPIRED' THEN 3
                       WHEN 'REJECTED' THEN 3 WHEN 'COMPLETED' THEN 4 ELSE 0 END
$$;
