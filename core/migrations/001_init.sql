-- Channels we collect. channel_id is CHZZK's 32-hex streamer id.
CREATE TABLE IF NOT EXISTS stream_channel (
    id                bigserial PRIMARY KEY,
    channel_id        text NOT NULL UNIQUE,
    channel_name      text,
    channel_image_url text,
    follower_count    integer,
    verified_mark     boolean,
    enabled           boolean NOT NULL DEFAULT true,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);

-- One row per chat item (chat, donation, subscription, gift, system, unknown codes).
CREATE TABLE IF NOT EXISTS stream_chat (
    id                   bigserial PRIMARY KEY,
    channel_fk           bigint NOT NULL REFERENCES stream_channel(id),
    chat_channel_id      text,
    user_id              text,
    nickname             text,
    message              text,
    message_type         text NOT NULL,
    msg_type_code        integer,
    message_status       text,
    chat_time            timestamptz NOT NULL,
    created_at           timestamptz NOT NULL DEFAULT now(),
    subscription_month   integer,
    subscription_tier    integer,
    os_type              text,
    user_role            text,
    pay_amount           integer,
    pay_type             text,
    donation_type        text,
    donation_id          text,
    is_anonymous         boolean,
    gift_receiver_id     text,
    gift_receiver_nickname text,
    gift_tier            integer,
    color_code           text,
    badges               jsonb,
    member_count         integer,
    blind_type           text,
    blinded_at           timestamptz,
    raw                  jsonb NOT NULL,
    dedupe_key           text NOT NULL,
    CONSTRAINT stream_chat_dedupe UNIQUE (dedupe_key)
);
CREATE INDEX IF NOT EXISTS stream_chat_channel_time ON stream_chat (channel_fk, chat_time);
CREATE INDEX IF NOT EXISTS stream_chat_time ON stream_chat (chat_time);
CREATE INDEX IF NOT EXISTS stream_chat_blind ON stream_chat (chat_channel_id, user_id, chat_time);

-- 93006 events, notices and other frames kept with their raw body.
CREATE TABLE IF NOT EXISTS events (
    id              bigserial PRIMARY KEY,
    channel_fk      bigint REFERENCES stream_channel(id),
    chat_channel_id text,
    cmd             integer,
    event_type      text,
    event_time      timestamptz,
    received_at     timestamptz NOT NULL DEFAULT now(),
    body            jsonb,
    dedupe_key      text NOT NULL UNIQUE
);

-- Whatever could not be parsed, with the raw text and the error.
CREATE TABLE IF NOT EXISTS dead_letter (
    id              bigserial PRIMARY KEY,
    received_at     timestamptz NOT NULL DEFAULT now(),
    source          text NOT NULL,
    channel_id      text,
    error           text NOT NULL,
    raw             text
);
