"""Column headers of the analyst API's columns that several pages show (channel, time,
counts, user); a subject's own columns are declared with its page's labels. Keys are
``col_a_<API column name>`` in every labels module (one namespace, so summaries.headers
finds a column whichever page shows it); the data keep their API names, so downloads match
the analyst API."""
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
}
