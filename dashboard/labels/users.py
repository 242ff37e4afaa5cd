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
}
