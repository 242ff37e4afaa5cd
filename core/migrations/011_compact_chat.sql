-- Compact chat rows (issue 17; core/raw_codec.py). The bulky JSON of a line (raw, the item as
-- received, ~1 KB; badges, ~350 B) is written as zstd frames compressed with a dictionary
-- trained on this database's own lines: raw_z and badges_z, with zdict naming the
-- dictionary (NULL: compressed without one). Lines stored before keep raw/badges as jsonb
-- (raw_z NULL); every reader takes raw_z when it is set, raw otherwise.
CREATE TABLE IF NOT EXISTS raw_dictionary (
    id            smallint PRIMARY KEY,
    created_at    timestamptz NOT NULL DEFAULT now(),
    samples       integer NOT NULL,        -- lines it was trained on
    sample_bytes  bigint NOT NULL,         -- their raw JSON bytes
    trained_bytes bigint,                  -- the same lines compressed with it
    dict          bytea NOT NULL
);
ALTER TABLE stream_chat ALTER COLUMN raw DROP NOT NULL;
ALTER TABLE stream_chat ADD COLUMN IF NOT EXISTS raw_z bytea;
ALTER TABLE stream_chat ADD COLUMN IF NOT EXISTS badges_z bytea;
ALTER TABLE stream_chat ADD COLUMN IF NOT EXISTS zdict smallint;  -- raw_dictionary.id (no FK: a per-row check on every insert)
DO $$ BEGIN
    ALTER TABLE stream_chat ADD CONSTRAINT stream_chat_raw_kept
        CHECK (raw IS NOT NULL OR raw_z IS NOT NULL) NOT VALID;
EXCEPTION WHEN duplicate_object THEN NULL;
END $$;
