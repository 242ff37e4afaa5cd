"""Labels of the Audience page (app_pages/audience.py, issue 20 §7)."""
LABELS = {
    "page_audience": ("시청자층", "Audience"),
    "aud_help": ("채팅 참여자(익명·시스템 메시지 제외) 기준입니다: 채팅하지 않은 시청자는 세지 않습니다. "
                 "겹침은 선택한 기간에 두 채널 모두에서 채팅한 사람 수, 재방문은 직전 방송 참여자 중 다음 방송에서도 "
                 "채팅한 비율, 코호트는 채널에서 처음 채팅한 달(또는 주)별로 묶은 참여자가 이후에도 채팅한 비율입니다.",
                 "Counted over chatters (anonymous and system lines left out): viewers who never chat are not "
                 "counted. Overlap is the number of people who chat in both channels in the period; retention the "
                 "share of a broadcast's chatters who chat again in the next one; cohorts group chatters by the "
                 "month (or week) of their first line in the channel and show the share who chat in later ones."),
    "aud_channel": ("채널 (추이·재방문·코호트)", "Channel (trend, retention, cohorts)"),
    "aud_overlap": ("채널 간 겹침", "Overlap between channels"),
    "aud_retention": ("방송 간 재방문", "Broadcast to broadcast"),
    "aud_cohorts": ("코호트", "Cohorts"),
    "aud_own_only": ("겹침은 이 계정이 볼 수 있는 채널끼리만 보여 줍니다: 다른 채널과의 겹침은 이름도, 수도 보여 주지 "
                     "않습니다.",
                     "Overlap is shown only between the channels this account may see: nothing of other channels "
                     "(neither names nor counts)."),
    "aud_overlap_none": ("겹침을 보려면 이 기간에 참여자가 있는 채널이 두 개 이상 필요합니다.",
                         "Overlap needs two or more channels with chatters in the period."),
    "aud_matrix_title": ("채널 간 공통 참여자", "Chatters shared between channels"),
    "aud_matrix_note": ("참여자가 가장 많은 {n}개 채널만 그립니다 (전체 {total}개: 표에는 모든 쌍이 있습니다).",
                        "Drawn for the {n} channels with the most chatters (of {total}: the table lists every pair)."),
    "aud_metric": ("값", "Value"),
    "aud_metric_jaccard": ("자카드 지수 (공통 ÷ 합집합)", "Jaccard (shared ÷ either)"),
    "aud_metric_shared": ("공통 참여자 수", "Shared chatters"),
    "aud_metric_share": ("내 참여자 중 비율", "Share of the channel's chatters"),
    "aud_pairs_title": ("공통 참여자가 많은 채널 쌍", "Pairs of channels sharing the most chatters"),
    "aud_trend_title": ("주별 겹침 추이", "Overlap by week"),
    "aud_partners": ("비교할 채널 (기본: 가장 많이 겹치는 3개)", "Channels to compare (default: the 3 closest)"),
    "aud_trend_none": ("이 채널과 참여자가 겹치는 채널이 없습니다.", "No channel shares chatters with this channel."),
    "aud_legend": ("채널", "channel"),
    "aud_week": ("주 (월요일 시작)", "Week (from Monday)"),
    "aud_retention_title": ("방송별 참여자와 직전 방송에서 돌아온 비율", "Chatters per broadcast and the share back from "
                            "the previous broadcast"),
    "aud_retention_none": ("이 기간에 시작한 방송이 없습니다.", "No broadcast started in this period."),
    "aud_started": ("방송 시작", "Broadcast start"),
    "aud_cohort_title": ("코호트별 재참여율", "Cohort retention"),
    "aud_cohort_every": ("코호트 단위", "Cohorts by"),
    "aud_every_month": ("월", "month"),
    "aud_every_week": ("주", "week"),
    "aud_cohort_axis": ("첫 채팅 (인원)", "First line (members)"),
    "aud_after_month": ("몇 달 후", "Months after"),
    "aud_after_week": ("몇 주 후", "Weeks after"),
    "aud_cohort_help": ("기간 안에 이 채널에서 처음 채팅한 참여자만 셉니다 (레이크 전체에서 처음인 경우). 기간을 "
                        "넓히면 코호트가 늘어납니다.",
                        "Only chatters whose first line in the channel (in the whole lake) falls in the period are "
                        "counted: widen the period for more cohorts."),
    "aud_cohort_none": ("이 기간에 이 채널에서 처음 채팅한 참여자가 없습니다.",
                        "No chatter had their first line in this channel in the period."),
    # column headers (col_a_<API column name>: summaries.headers)
    "col_a_channel_a": ("채널 A ID", "Channel A id"),
    "col_a_channel_b": ("채널 B ID", "Channel B id"),
    "col_a_channel_name_a": ("채널 A", "Channel A"),
    "col_a_channel_name_b": ("채널 B", "Channel B"),
    "col_a_chatters_a": ("A 참여자", "A's chatters"),
    "col_a_chatters_b": ("B 참여자", "B's chatters"),
    "col_a_shared": ("공통 참여자", "Shared chatters"),
    "col_a_jaccard": ("자카드 지수", "Jaccard"),
    "col_a_share_of_a": ("A 참여자 중 비율", "Share of A's"),
    "col_a_share_of_b": ("B 참여자 중 비율", "Share of B's"),
    "col_a_other": ("상대 채널 ID", "Other channel id"),
    "col_a_other_name": ("상대 채널", "Other channel"),
    "col_a_other_chatters": ("상대 채널 참여자", "Other channel's chatters"),
    "col_a_returning_from_previous": ("직전 방송에서 돌아온 참여자", "Back from the previous broadcast"),
    "col_a_retention": ("재참여율", "Retention"),
    "col_a_cohort": ("코호트 (첫 채팅)", "Cohort (first line)"),
    "col_a_period": ("구간", "Period"),
    "col_a_periods_after": ("경과 구간", "Periods after"),
    "col_a_cohort_size": ("코호트 인원", "Cohort size"),
}
