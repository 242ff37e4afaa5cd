-- Scale-out: a channel is collected by one process at a time. A process owns a channel
-- while its lease is unexpired; it renews every LEASE_SECONDS/3, and a lease that expired
-- (its owner died) may be taken by any process. Owner id: hostname:pid:random.
CREATE TABLE IF NOT EXISTS channel_lease (
    channel_id  text PRIMARY KEY,
    owner       text NOT NULL,
    acquired_at timestamptz NOT NULL DEFAULT now(),
    renewed_at  timestamptz NOT NULL DEFAULT now(),
    expires_at  timestamptz NOT NULL
);
CREATE INDEX IF NOT EXISTS channel_lease_owner ON channel_lease (owner);

-- Live collector processes (renewed with their leases), so that a process that holds no
-- channel yet still counts when the others compute their fair share of the channel list.
CREATE TABLE IF NOT EXISTS lease_owner (
    owner        text PRIMARY KEY,
    max_channels integer,            -- NULL: no limit (MAX_CHANNELS_PER_PROCESS=0)
    started_at   timestamptz NOT NULL DEFAULT now(),
    seen_at      timestamptz NOT NULL DEFAULT now(),
    expires_at   timestamptz NOT NULL
);
