"""UI labels, Korean first with an English switch. Static strings only: nothing here is ever
formatted with user content (chat text, nicknames, channel names).

Every label is a (Korean, English) pair. The shared ones are declared below; each page keeps
its own in dashboard/labels/<page>.py as ``LABELS = {key: (ko, en)}``, merged here at import
(a key declared twice is an error, so two pages cannot silently disagree)."""
from __future__ import annotations

import importlib
import pkgutil

LANGS = ("ko", "en")
DEFAULT_LANG = "ko"
LANG_KEY = "lang"  # st.session_state key (and URL query parameter) of the chosen language

_SHARED: dict[str, tuple[str, str]] = {
    "app_title": ("치지직 채팅 분석", "CHZZK chat analytics"),
    "page_activity": ("채널 활동", "Channel activity"),
    "page_subscribers": ("구독자", "Subscribers"),
    "page_users": ("사용자 검색", "User search"),
    "filters": ("필터", "Filters"),
    "channels": ("채널", "Channels"),
    "date_range": ("기간", "Date range"),
    "granularity": ("단위", "Granularity"),
    "every_day": ("일", "day"),
    "every_hour": ("시간", "hour"),
    "every_minute": ("분", "minute"),
    "summary": ("요약", "Summary"),
    "tier_split": ("구독 티어 분포", "Tier split"),
    "share_over_time": ("구독자 비율 추이", "Subscriber share over time"),
    "search_prompt": ("닉네임 일부 또는 사용자 ID", "Nickname substring or user id"),
    "search_results": ("검색 결과", "Results"),
    "pick_user": ("사용자 선택", "Pick a user"),
    "user_messages": ("채팅 기록 (최신순)", "Messages, newest first"),
    "no_results": ("일치하는 사용자가 없습니다.", "No matching user."),
    "search_hint": ("검색어를 입력하세요.", "Type a nickname or user id to search."),
    "empty_lake": ("아직 데이터가 없습니다 — `make demo` 또는 `python -m warehouse sync`를 실행하거나, 수집 중이라면 "
                   "사이드바에서 '오늘 데이터 포함'을 켜세요.",
                   "No data yet — run `make demo` or `python -m warehouse sync`, or, while collecting, switch on "
                   "\"Include today's data\" in the sidebar."),
    "no_channel": ("채널을 하나 이상 선택하세요.", "Select at least one channel."),
    "no_rows": ("선택한 기간에 데이터가 없습니다.", "No data for the selected channels and dates."),
    "download_csv": ("CSV 다운로드", "Download CSV"),
    "download_parquet": ("Parquet 다운로드", "Download Parquet"),
    "localhost": ("계정이 설정되지 않아 이 대시보드는 localhost(127.0.0.1)에서만 제공됩니다.",
                  "No accounts are configured: this dashboard is served on localhost (127.0.0.1) only."),
    "times_in": ("시간대", "Times shown in"),
    "coverage_badge": ("수집률", "Captured"),
    "coverage_detail": ("방송 {n}개 중 {gaps}개에 수집 공백", "{gaps} of {n} broadcasts have capture gaps"),
    "coverage_none": ("이 기간의 방송 수집 정보가 없습니다", "No broadcast coverage known for this period"),
}


def _merge() -> dict[str, tuple[str, str]]:
    merged = dict(_SHARED)
    from dashboard import labels as package
    for info in sorted(pkgutil.iter_modules(package.__path__), key=lambda m: m.name):
        module = importlib.import_module(f"{package.__name__}.{info.name}")
        for key, pair in getattr(module, "LABELS", {}).items():
            if key in merged:
                raise KeyError(f"label {key!r} declared twice (dashboard/labels/{info.name}.py)")
            if not (isinstance(pair, tuple) and len(pair) == 2):
                raise TypeError(f"label {key!r} in dashboard/labels/{info.name}.py is not a (ko, en) pair")
            merged[key] = pair
    return merged


LABELS: dict[str, tuple[str, str]] = _merge()


def current_lang() -> str:
    """The language of this browser session ("ko" unless the user switched)."""
    try:
        import streamlit as st
        lang = st.session_state.get(LANG_KEY, DEFAULT_LANG)
    except Exception:  # outside a Streamlit run (unit tests, notebooks)
        lang = DEFAULT_LANG
    return lang if lang in LANGS else DEFAULT_LANG


def t(key: str, lang: str | None = None) -> str:
    """The label for `key` in `lang` (default: the session's). A KeyError is a bug: every
    label is declared above or in dashboard/labels/."""
    ko, en = LABELS[key]
    return en if (lang or current_lang()) == "en" else ko
