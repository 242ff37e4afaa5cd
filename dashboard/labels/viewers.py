"""Labels of the Viewers page (app_pages/viewers.py) and the viewer columns and curve of the
Broadcasts page."""
LABELS = {
    "page_viewers": ("시청자", "Viewers"),
    "viewers_help": ("시청자 수는 수집기가 방송 상태를 폴링할 때 기록한 동시 시청자 수입니다 (변경 시와 최소 5분마다). "
                     "각 기록은 다음 기록까지, 최대 {gap}초까지만 유효합니다: 그보다 긴 공백은 보간하지 않고 공백으로 둡니다. "
                     "'시청자 커버리지'는 방송 시간 중 시청자 수가 기록된 비율입니다.",
                     "Viewer counts are the concurrent viewers the collector recorded while polling live status (on "
                     "every change and at least every 5 minutes). Each reading stands until the next one, for at most "
                     "{gap} s: longer silences are left as gaps, never interpolated. 'Viewer coverage' is the share of "
                     "the broadcast that has a viewer count."),
    "viewers_none": ("이 기간의 방송에 시청자 기록이 없습니다 (live_session_poll 없음).",
                     "No viewer counts for this period's broadcasts (no live_session_poll)."),
    "viewers_broadcasts": ("방송별", "Per broadcast"),
    "viewers_channels": ("채널별 · 주별 추이", "Per channel and week"),
    "viewers_followers": ("팔로워 추이", "Followers"),
    "viewers_weekly_title": ("주별 시청자", "Viewers by week"),
    "viewers_avg_title": ("평균 동시 시청자", "Average concurrent viewers"),
    "viewers_watched_title": ("시청 시간 (시간)", "Hours watched"),
    "viewers_week": ("주 (월요일 시작)", "Week (from Monday)"),
    "viewers_legend": ("채널", "channel"),
    "viewers_followers_title": ("일별 팔로워 수", "Followers per day"),
    "viewers_followers_axis": ("팔로워", "followers"),
    "viewers_day": ("날짜", "Day"),
    "viewers_no_followers": ("팔로워 기록이 없습니다: 수집기가 채널 정보를 갱신할 때 하루 한 행씩 기록합니다 "
                             "(channel_follower_day).",
                             "No follower counts yet: the collector records one row per channel and day when it "
                             "refreshes channel info (channel_follower_day)."),
    "viewers_curve_title": ("동시 시청자 (공백은 폴링 없음)", "Concurrent viewers (gaps: not polled)"),
    "viewers_axis": ("시청자", "viewers"),
    "viewers_curve_none": ("이 방송의 시청자 기록이 없습니다.", "No viewer counts for this broadcast."),
    "viewers_curve_badge": ("시청자 커버리지", "Viewer coverage"),
    # column headers (col_a_<API column name>: summaries.headers)
    "col_a_viewer_minutes": ("방송 시간 (분)", "Broadcast minutes"),
    "col_a_polled_minutes": ("시청자 기록 시간 (분)", "Minutes with a viewer count"),
    "col_a_viewer_coverage": ("시청자 커버리지", "Viewer coverage"),
    "col_a_polls": ("기록 수", "Readings"),
    "col_a_avg_viewers": ("평균 시청자", "Average viewers"),
    "col_a_peak_viewers": ("최고 시청자", "Peak viewers"),
    "col_a_hours_watched": ("시청 시간 (시간)", "Hours watched"),
    "col_a_engagement": ("참여율 (참여자÷평균 시청자)", "Engagement (chatters ÷ avg viewers)"),
    "col_a_messages_per_100_viewers": ("시청자 100명당 메시지", "Messages per 100 viewers"),
    "col_a_broadcasts_with_viewers": ("시청자 기록 있는 방송", "Broadcasts with viewers"),
    "col_a_followers": ("팔로워", "Followers"),
    "col_a_broadcasts": ("방송 수", "Broadcasts"),
    "col_a_week": ("주 (월요일 시작)", "Week (from Monday)"),
    "col_a_follower_change": ("증감", "Change"),
}
