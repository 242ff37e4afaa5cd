"""The analyst API's columns as the dashboard shows them, declared once: the headers of the
columns several pages show (a subject's own headers are declared with its page's labels),
each column's kind (how its cells read: dashboard/formats.py), and the coded values a cell
shows in the page's language (tiers, message types, audit kinds).

Header keys are ``col_a_<API column name>`` in every labels module (one namespace, so a
table finds a column's header whichever page shows it); the data keep their API names, so
the Parquet download matches the analyst API."""
LABELS = {
    "col_a_channel_id": ("채널 ID", "Channel id"),
    "col_a_channel_name": ("채널", "Channel"),
    "col_a_bucket": ("구간", "Bucket"),
    "col_a_minute": ("시각", "Minute"),
    "col_a_time": ("시각", "Time"),
    "col_a_messages": ("메시지", "Messages"),
    "col_a_chatters": ("참여자", "Chatters"),
    "col_a_messages_per_chatter": ("참여자당 메시지", "Messages per chatter"),
    "col_a_user_id": ("사용자 ID", "User id"),
    "col_a_nickname": ("닉네임", "Nickname"),
    "col_a_share": ("비중", "Share"),
    "col_a_rank": ("순위", "Rank"),
    "col_a_day": ("날짜", "Day"),
    # coded cell values (VALUES below)
    "val_type_chat": ("채팅", "Chat"),
    "val_type_image": ("이미지", "Image"),
    "val_type_sticker": ("스티커", "Sticker"),
    "val_type_video": ("영상", "Video"),
    "val_type_rich": ("리치 메시지", "Rich message"),
    "val_type_donation": ("후원", "Donation"),
    "val_type_subscription": ("구독", "Subscription"),
    "val_type_subscription_gift": ("구독권 선물", "Gifted subscription"),
    "val_type_party": ("파티 후원", "Party donation"),
    "val_type_shop": ("상점", "Shop"),
    "val_type_system": ("시스템", "System"),
    "val_type_unknown": ("알 수 없음", "Unknown"),
    "val_kind_user_search": ("사용자 검색", "User search"),
    "val_kind_user_view": ("사용자 조회", "User view"),
    "val_kind_keyword_search": ("키워드 검색", "Keyword search"),
    "val_kind_sign_in_failed": ("로그인 실패", "Failed sign-in"),
    "val_role_admin": ("관리자", "Admin"),
    "val_role_streamer": ("스트리머", "Streamer"),
    "val_role_analyst": ("분석가", "Analyst"),
    "val_event_open": ("시작", "Start"),
    "val_event_close": ("종료", "End"),
    "val_event_poll": ("변경", "Change"),
}

# -- kinds (names as in dashboard/formats.py) -----------------------------------------------
# A column not named here gets its kind from its type: a datetime is a time, a date a day,
# an integer a count, any other number a decimal, the rest text; and a name ending in _id
# is an id. Named: what the type cannot tell.
ID, TIME, DAY, FRACTION, MONEY, COUNT, DECIMAL, TEXT, LONG_TEXT = (
    "id", "time", "day", "fraction", "money", "count", "decimal", "text", "long_text")
ID_SUFFIX = "_id"
KINDS = {
    # ids: for machines, shown last and narrow
    **dict.fromkeys(("broadcast", "chat_channel_id", "dedupe_key"), ID),
    # fractions of one (0.8533 reads 85.3 %)
    **dict.fromkeys(("share", "chatter_share", "message_share", "anonymous_share", "blinded_share",
                     "top_share", "coverage", "viewer_coverage", "engagement", "retention",
                     "subscriber_share", "share_of_messages", "share_of_chatters", "chat_share",
                     "emote_share", "returning_share", "new_share", "sub_share"), FRACTION),
    # money (won): whole numbers
    **dict.fromkeys(("amount", "pay_amount", "donation_amount", "total_amount", "won", "donated",
                     "average", "avg_amount", "median_amount", "max_amount", "min_amount",
                     "top_amount"), MONEY),
    # long text: the widest column, wrapped by the reader's eye, not clipped
    **dict.fromkeys(("message", "title", "live_title", "query", "top_line", "first_line", "line",
                     "description", "reason", "reasons", "text", "why", "url", "replay_url"),
                    LONG_TEXT),
}

# -- coded values ---------------------------------------------------------------------------
# column -> {value as the API gives it: label key}; a value not listed shows as it is
_TIERS = {"none": "chart_tier_none", "tier 1": "chart_tier_1", "tier 2": "chart_tier_2"}
_TYPES = {v: f"val_type_{v}" for v in ("chat", "image", "sticker", "video", "rich", "donation", "subscription",
                                       "subscription_gift", "party", "shop", "system", "unknown")}
VALUES = {
    "tier": _TIERS,
    "message_type": _TYPES,
    "type": _TYPES,
    "kind": {v: f"val_kind_{v}" for v in ("user_search", "user_view", "keyword_search", "sign_in_failed")},
    "role": {v: f"val_role_{v}" for v in ("admin", "streamer", "analyst")},
    "event": {v: f"val_event_{v}" for v in ("open", "close", "poll")},
}
