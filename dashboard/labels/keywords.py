"""Labels of the Keyword search page (keywords.py)."""
LABELS = {
    "kw_page_title": ("키워드 검색", "Keyword search"),
    "kw_prompt": ("메시지에 포함된 단어", "A word in the messages"),
    "kw_hint": ("검색할 단어를 입력하세요.", "Type a word to search the messages for."),
    "kw_every": ("추이 단위", "Trend by"),
    "kw_total": ("일치하는 메시지", "Matching messages"),
    "kw_trend_title": ("키워드 추이", "Keyword trend"),
    "kw_trend_y": ("일치 메시지 수", "matching messages"),
    "kw_trend_data": ("추이 데이터", "Trend data"),
    "kw_results": ("일치하는 메시지 (최신순)", "Matching messages, newest first"),
    "kw_none": ("일치하는 메시지가 없습니다.", "No message contains it."),
    # column headers (col_a_<API column name>: summaries.headers)
    "col_a_matches": ("일치 메시지", "Matching messages"),
}
