"""The report's words and number formats, Korean and English. Labels are static strings,
never formatted with data; the formatters turn values into the text a reader expects
(`97,361`, `85.3%`, `383,000원` / `₩383,000`, `2026-10-05 21:00`; an empty value reads as
dashboard.formats.NO_VALUE, as in the dashboard's tables). Axis labels use the dashboard's
Korean rule (1.2만) from dashboard/formats.py."""
from __future__ import annotations

import math
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from dashboard.formats import NO_VALUE, korean_units

LANGS = ("ko", "en")
LABELS: dict[str, tuple[str, str]] = {
    "title": ("채널 리포트", "Channel report"),
    "period": ("기간", "Period"),
    "times_in": ("시간대", "Times in"),
    "messages": ("채팅", "Lines"),
    "chatters": ("채팅 참여자", "Chatters"),
    "broadcasts": ("방송", "Broadcasts"),
    "hours_streamed": ("방송 시간", "Hours streamed"),
    "avg_viewers": ("평균 시청자", "Average viewers"),
    "peak_viewers": ("최고 시청자", "Peak viewers"),
    "hours_watched": ("시청 시간", "Hours watched"),
    "viewer_coverage": ("시청자 수집률", "Viewers polled"),
    "donations": ("후원", "Donations"),
    "donation_amount": ("후원 금액", "Donated"),
    "activity": ("시간별 채팅", "Chat per hour"),
    "viewer_curve": ("동시 시청자", "Concurrent viewers"),
    "no_viewers": ("이 기간에는 시청자 수 기록이 없습니다.", "No viewer counts were recorded in this period."),
    "no_rows": ("이 기간에는 데이터가 없습니다.", "Nothing in this period."),
    "top_chatters": ("채팅 상위 참여자", "Top chatters"),
    "top_emotes": ("많이 쓴 이모티콘", "Top emotes"),
    "donors": ("후원자", "Donors"),
    "moments": ("하이라이트", "Best moments"),
    "broadcast_list": ("방송 목록", "Broadcasts"),
    "rank": ("순위", "#"),
    "nickname": ("닉네임", "Nickname"),
    "share": ("비중", "Share"),
    "emote": ("이모티콘", "Emote"),
    "uses": ("사용", "Uses"),
    "users": ("참여자", "Chatters"),
    "donor": ("후원자", "Donor"),
    "amount": ("금액", "Amount"),
    "count": ("건수", "Count"),
    "started": ("시작", "Started"),
    "title_col": ("제목", "Title"),
    "offset": ("다시보기 위치", "Replay at"),
    "reason": ("이유", "Why"),
    "top_line": ("많이 나온 채팅", "Most repeated line"),
    "dominated": ("한 사람이 주도", "one chatter"),
    "anonymous": ("익명", "anonymous"),
    "reason_volume": ("채팅량", "volume"),
    "reason_surge": ("급증", "surge"),
    "reason_donations": ("후원", "donations"),
    "reason_keyword": ("키워드", "keyword"),
    "legend_messages": ("채팅", "lines"),
    "legend_chatters": ("참여자", "chatters"),
    "legend_viewers": ("시청자", "viewers"),
    "footer": ("치지직 채팅 분석 · 이모티콘은 코드로 표시합니다 (외부 이미지를 불러오지 않습니다) · 시청자 수는 수집된 구간만",
               "CHZZK chat analytics · emotes shown as their codes (no remote images) · viewers only where polled"),
}


def t(key: str, lang: str) -> str:
    ko, en = LABELS[key]
    return en if lang == "en" else ko


def check_lang(lang: str) -> str:
    if lang not in LANGS:
        raise ValueError(f"lang={lang!r}: use one of {', '.join(LANGS)}")
    return lang


def _missing(value) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def count(value) -> str:
    return NO_VALUE if _missing(value) else f"{int(value):,}"


def decimal(value) -> str:
    return NO_VALUE if _missing(value) else f"{float(value):,.1f}"


def percent(value) -> str:
    return NO_VALUE if _missing(value) else f"{float(value) * 100:.1f}%"


def won(value, lang: str) -> str:
    if _missing(value):
        return NO_VALUE
    return f"₩{int(value):,}" if lang == "en" else f"{int(value):,}원"


def clock(value: datetime | None, tz: str) -> str:
    """A time as `2026-10-05 21:00` in `tz` (no offset, no seconds)."""
    if value is None:
        return NO_VALUE
    return value.astimezone(ZoneInfo(tz)).strftime("%Y-%m-%d %H:%M")


def offset(seconds) -> str:
    """A replay offset as `1:02:03`."""
    if _missing(seconds):
        return NO_VALUE
    return str(timedelta(seconds=int(seconds)))


def axis(value: float, lang: str) -> str:
    """An axis label: separators, and in Korean 만/억 from ten thousand on."""
    return korean_units(value) if lang == "ko" else f"{value:,.0f}" if float(value).is_integer() else f"{value:,.4g}"


FORMATS = {"messages": count, "chatters": count, "broadcasts": count, "hours_streamed": decimal,
           "avg_viewers": decimal, "peak_viewers": count, "hours_watched": decimal, "viewer_coverage": percent,
           "donations": count}


def figure(key: str, value, lang: str) -> str:
    """A headline figure as text."""
    return won(value, lang) if key == "donation_amount" else FORMATS[key](value)
