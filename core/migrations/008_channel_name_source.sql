-- Where stream_channel.channel_name came from (issue 15, item 5):
--   'chzzk'  the collector's channel-info refresh (collector/channels.py refresh_info)
--   'import' import-logs named a channel it created after its log folder
--   'api'    an ingest API client (POST /chat channel_name)
--   NULL     no name, or a name of unknown origin (written before this migration, or by
--            the simulator's backfill): trusted like an API name, i.e. not at all.
-- An API name only fills a missing name or replaces an API/unknown one; import-logs maps a
-- folder to a channel by name only when the name is 'chzzk' or 'import'.
ALTER TABLE stream_channel ADD COLUMN IF NOT EXISTS channel_name_source text;

-- Names already stored: a channel whose row nothing changed after the collector's last
-- refresh (refresh_info sets updated_at and info_refreshed_at in one transaction, so they
-- are equal) holds CHZZK's name; import-logs' synthetic channels hold their folder's name.
-- Everything else stays unknown until the collector refreshes it.
UPDATE stream_channel SET channel_name_source = 'chzzk'
 WHERE channel_name IS NOT NULL AND channel_name_source IS NULL
   AND info_refreshed_at IS NOT NULL AND updated_at <= info_refreshed_at;
UPDATE stream_channel SET channel_name_source = 'import'
 WHERE channel_name IS NOT NULL AND channel_name_source IS NULL AND channel_id LIKE 'import:%';
