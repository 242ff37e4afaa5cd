"""Labels of the Subscribers page (app_pages/subscribers.py)."""
LABELS = {
    "subs_every": ("집계 단위", "Bucket"),
    "subs_every_day": ("일", "day"),
    "subs_every_week": ("주", "week"),
    "subs_every_month": ("월", "month"),
    "subs_channel": ("차트에 표시할 채널", "Channel shown in the charts"),
    "subs_mix": ("티어·구독 기간 구성 추이", "Tier and tenure mix over time"),
    "subs_mix_help": ("각 구간에 채팅한 구독자를 티어별, 누적 구독 개월 수별로 나눈 비율입니다.",
                      "Subscribers who chatted in each bucket, split by tier and by cumulative months subscribed."),
    "subs_tier_title": ("티어별 구독자 비율", "Subscribers by tier"),
    "subs_tenure_title": ("구독 기간별 구독자 비율 (개월)", "Subscribers by tenure (months)"),
    "subs_tier_legend": ("티어", "tier"),
    "subs_tenure_legend": ("구독 개월", "months"),
    "subs_mix_table": ("티어 × 구독 기간 (전체 채널)", "Tier × tenure (all selected channels)"),
    "subs_change": ("월별 구독자 증감", "Month-over-month gain and loss"),
    "subs_change_help": ("{m0} ~ {m1}의 달력 월 기준 (비교를 위해 기간 시작 전 달 포함). 채팅한 구독자만 셉니다: "
                         "그 달에 채팅하지 않은 구독자는 이탈로 보입니다.",
                         "Whole calendar months {m0} to {m1} (the month before the range is included to compare "
                         "with). Counts subscribers who chatted: one who did not chat in a month shows as lost."),
    "subs_change_title": ("월별 구독자 · 신규 · 이탈", "Subscribers, gained and lost per month"),
    "subs_subscribers": ("구독자", "subscribers"),
    "subs_gained": ("신규", "gained"),
    "subs_lost": ("이탈", "lost"),
    "subs_no_subscribers": ("이 기간에 채팅한 구독자가 없습니다.", "No subscriber chatted in this period."),
}
