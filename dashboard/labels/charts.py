"""Texts the pure chart builders (dashboard/charts*.py) own: titles of the charts whose page
passes none, axis words, legend titles, tier names and the empty-chart note. The builders
take a `lang` and look these up; titles a page passes come from its own labels."""
LABELS = {
    "chart_no_data": ("데이터 없음", "No data"),
    "chart_partial": ("진행 중 (부분 집계)", "partial (still running)"),
    "chart_channel": ("채널", "Channel"),
    "chart_time": ("시간", "Time"),
    "chart_date": ("날짜", "Date"),
    "chart_activity": ("채팅 활동", "Chat activity"),
    "chart_messages": ("메시지 수", "Messages"),
    "chart_chatters": ("고유 채팅 참여자", "Unique chatters"),
    "chart_sub_share": ("구독자 비율", "Subscriber share"),
    "chart_sub_share_messages": ("메시지 중 구독자 비율", "Share of messages"),
    "chart_sub_share_chatters": ("채팅 참여자 중 구독자 비율", "Share of chatters"),
    "chart_tier_split": ("구독 티어별 채팅 참여자", "Chatters by tier"),
    "chart_tier_chatters": ("채팅 참여자", "Chatters"),
    "chart_tier": ("티어", "Tier"),
    "chart_tier_none": ("비구독", "Not subscribed"),
    "chart_tier_1": ("티어 1", "Tier 1"),
    "chart_tier_2": ("티어 2", "Tier 2"),
    "chart_busiest": ("차트에는 채널 {total}개 중 가장 활발한 {n}개만 그립니다 (표에는 모든 채널).",
                      "The chart draws the {n} busiest of {total} channels (the table lists them all)."),
}
