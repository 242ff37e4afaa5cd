"""The record contract between the parser (producer) and the sink, the `parse` command and
the warehouse (consumers). A record is a JSON-ready dict with a `kind`:

- ``chat``: one chat item (types 1, 10, 11, 12, 13, 15, 30 and unknown codes) with the
  ``CHAT_FIELDS`` below. ``chat_time`` is ISO 8601 UTC with milliseconds and a ``Z``
  (``2026-09-30T14:10:59.938Z``). ``raw`` is the item exactly as received (``profile`` and
  ``extras`` still JSON strings). ``channel_id`` is the streamer's 32-hex id when the item
  names it (``extras.streamingChannelId``), else None: the collector fills it in from the
  channel it is listening to before the record is stored.
- ``blind``: a 94008 frame: ``chat_channel_id``, ``user_id``, ``message_time`` (ISO UTC),
  ``blind_type``, ``raw``. It marks the stored line with the same
  (chat_channel_id, user_id, chat_time).
- ``event``: 93006 events, 94010 notices, the 15101 notice, 94005/94006/94015 and other
  server pushes worth keeping: ``chat_channel_id``, ``cmd``, ``event_type``, ``event_time``
  (ISO UTC or None), ``body`` (dict), ``dedupe_key``, ``raw``.
- ``control``: protocol traffic (PING, PONG, CONNECTED, RECENT_CHAT summary, session
  ended, client commands, HTTP answers): ``cmd``, ``name``, and what the collector needs
  (``ret_code``, ``ret_msg``, ``sid``, ``chat_channel_id``, ...).
- ``dead_letter``: anything that did not parse: ``error`` (what was wrong, for a human),
  ``raw`` (the input text, or its JSON).
"""

KINDS = ("chat", "blind", "event", "control", "dead_letter")

# msgTypeCode -> message_type
MESSAGE_TYPES = {
    1: "chat",
    2: "image",
    3: "sticker",
    4: "video",
    5: "rich",
    10: "donation",
    11: "subscription",
    12: "subscription_gift",
    13: "party",
    15: "shop",
    30: "system",
}
UNKNOWN_TYPE = "unknown"

# The stream_chat columns a chat record carries (besides kind), in COPY order.
CHAT_FIELDS = (
    "channel_id",            # streamer's 32-hex id, or None until the collector fills it
    "chat_channel_id",       # cid: the per-broadcast chat channel
    "user_id",               # userIdHash, "anonymous" or "SYSTEM_MESSAGE"
    "nickname",
    "message",
    "message_type",          # MESSAGE_TYPES value or "unknown"
    "msg_type_code",
    "message_status",        # NORMAL, BLIND, CBOTBLIND, HIDDEN
    "chat_time",             # ISO 8601 UTC, ms, "Z"
    "subscription_month",
    "subscription_tier",
    "os_type",               # PC, AOS, IOS, MOBILE or None
    "user_role",             # userRoleCode
    "pay_amount",
    "pay_type",
    "donation_type",         # CHAT, VIDEO, MISSION, MISSION_PARTICIPATION, PARTY
    "donation_id",
    "mission_id",            # MISSION: its missionDonationId; MISSION_PARTICIPATION: the mission joined
    "donation_status",       # a mission's status: PENDING, APPROVED, COMPLETED, REJECTED, EXPIRED
    "is_anonymous",
    "gift_receiver_id",
    "gift_receiver_nickname",
    "gift_tier",
    "gift_id",               # giftId: the sender's line and each receiver's line share it
    "gift_quantity",         # subscriptions the gift gave (quantity - partialRefundedQuantity): on the
                             # sender's line; the sink puts it on every line of the gift
    "color_code",            # nicknameColor.colorCode, e.g. CC000
    "badges",                # list of badge dicts (badge, activityBadges, viewerBadges) or None
    "member_count",
    "blind_type",            # set when the line arrived already blinded (CBOTBLIND), else None
    "raw",                   # the item as received
    "dedupe_key",            # same line live and in a 15101 replay -> same key
)
