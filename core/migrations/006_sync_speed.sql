-- The warehouse sync reads each day one channel at a time in (chat_time, id) order
-- (warehouse/tables.py CHAT_SELECT_CHANNEL): with this index that is an ordered index range,
-- no sort of the day's wide rows and no scan of other channels' rows (docs/BENCHMARKS.md).
-- It covers every query the old (channel_fk, chat_time) index served, which it replaces.
CREATE INDEX IF NOT EXISTS stream_chat_channel_time_id ON stream_chat (channel_fk, chat_time, id);
DROP INDEX IF EXISTS stream_chat_channel_time;
