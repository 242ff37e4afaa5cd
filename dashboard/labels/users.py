"""Labels of the User search page (users.py)."""
LABELS = {
    "users_scope": ("검색할 채널", "Channel to search"),
    "users_one_channel": ("이 계정은 사용자 검색을 한 번에 한 채널에서만 할 수 있습니다.",
                          "This account searches users in one channel at a time."),
    "users_name_history": ("닉네임 기록", "Name history"),
    "users_channels": ("참여 채널", "Channels this user chats in"),
    "users_page": ("페이지", "Page"),
    "users_label_messages": ("메시지 {n:,}개", "{n:,} msgs"),
    "users_page_of": ("전체 {total:,}개 중 {first:,}–{last:,}번째 (페이지당 {size}개)",
                      "{first:,}–{last:,} of {total:,} ({size} per page)"),
    # column headers (col_a_<API column name>: summaries.headers)
    "col_a_nicknames": ("사용한 닉네임", "Nicknames"),
    "col_a_channels": ("채널", "Channels"),
    "col_a_first_seen": ("처음 본 시각", "First seen"),
    "col_a_last_seen": ("마지막 본 시각", "Last seen"),
    "col_a_chat_time": ("채팅 시각", "Chat time"),
    "col_a_message_type": ("메시지 종류", "Message type"),
    "col_a_message": ("채팅 내용", "Message"),
    "col_a_message_status": ("메시지 상태", "Message status"),
    "col_a_pay_amount": ("결제 금액", "Paid amount"),
    "col_a_subscription_tier": ("구독 티어", "Subscription tier"),
    "col_a_subscription_month": ("구독 개월", "Subscription months"),
}
