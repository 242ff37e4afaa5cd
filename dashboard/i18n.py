"""UI labels, Korean first with the English in parentheses. Static strings only: nothing
here is ever formatted with user content (chat text, nicknames)."""
from __future__ import annotations

LABELS: dict[str, str] = {
    "app_title": "치지직 채팅 분석 (CHZZK chat analytics)",
    "page_activity": "채널 활동 (Channel activity)",
    "page_subscribers": "구독자 (Subscribers)",
    "page_users": "사용자 검색 (User search)",
    "filters": "필터 (Filters)",
    "channels": "채널 (Channels)",
    "date_range": "기간 (Date range)",
    "granularity": "단위 (Granularity)",
    "every_day": "일 (day)",
    "every_hour": "시간 (hour)",
    "every_minute": "분 (minute)",
    "summary": "요약 (Summary)",
    "tier_split": "구독 티어 분포 (Tier split)",
    "share_over_time": "구독자 비율 추이 (Subscriber share over time)",
    "search_prompt": "닉네임 일부 또는 사용자 ID (Nickname substring or user id)",
    "search_results": "검색 결과 (Results)",
    "pick_user": "사용자 선택 (Pick a user)",
    "user_messages": "채팅 기록, 최신순 (Messages, newest first)",
    "no_results": "일치하는 사용자가 없습니다 (No matching user).",
    "search_hint": "검색어를 입력하세요 (Type a nickname or user id to search).",
    "empty_lake": "아직 데이터가 없습니다 (no data yet) — run `make demo` or `python -m warehouse sync`.",
    "no_channel": "채널을 하나 이상 선택하세요 (Select at least one channel).",
    "no_rows": "선택한 기간에 데이터가 없습니다 (No data for the selected channels and dates).",
    "download_csv": "CSV 다운로드",
    "download_parquet": "Parquet 다운로드",
    "localhost": "이 대시보드는 localhost(127.0.0.1)에서만 제공됩니다 (bound to localhost). "
                 "시간대 (times shown in): {tz}",
}


def t(key: str) -> str:
    """The label for `key` (a KeyError is a bug: every label is declared above)."""
    return LABELS[key]
