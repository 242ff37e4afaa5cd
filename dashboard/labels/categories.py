"""Labels of the Categories page (app_pages/categories.py)."""
LABELS = {
    "page_categories": ("카테고리", "Categories"),
    "cat_help": ("카테고리별 방송 시간은 방송 상태 폴링 기록으로 셉니다 (기록 사이 최대 {gap}초; 더 긴 공백은 어느 "
                 "카테고리에도 넣지 않습니다). 채팅은 그 시각에 유효한 카테고리로 나눕니다.",
                 "Time per category comes from the live-status polls (each stands for at most {gap} s; longer gaps "
                 "count for no category). Chat lines count for the category in effect when they were sent."),
    "cat_per_channel": ("채널별로 나누기", "Split by channel"),
    "cat_chart_title": ("카테고리별 방송 시간 (상위 15)", "Hours streamed per category (top 15)"),
    "cat_unknown": ("(알 수 없음)", "(unknown)"),
    "cat_none": ("이 기간에 방송이 없습니다.", "No broadcasts in this period."),
    "cat_no_timeline": ("방송 상태 기록(live_session_poll)이 없어 카테고리를 알 수 없습니다.",
                        "No live-status timeline (live_session_poll): categories are unknown."),
    "col_a_category": ("카테고리", "Category"),
    "col_a_hours": ("방송 시간 (시간)", "Hours streamed"),
}
