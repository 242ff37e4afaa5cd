"""Labels of the Channel page's report section (app_pages/channel.py; warehouse/report)."""
LABELS = {
    "channel_report": ("리포트", "Report"),
    "channel_report_help": ("선택한 기간의 이 채널 리포트 (한 페이지): 주요 수치, 채팅·시청자 추이, 상위 참여자, 이모티콘, 후원자, "
                            "하이라이트. HTML 파일은 그 자체로 완결되며 (스크립트·외부 파일 없음) PDF는 서버의 Chromium이 만듭니다.",
                            "This channel's one-page report for the selected period: headline figures, chat and viewer "
                            "curves, top chatters, emotes, donors and best moments. The HTML file is self-contained (no "
                            "script, nothing fetched); the PDF is printed by the server's Chromium."),
    "channel_report_lang": ("리포트 언어", "Report language"),
    "channel_report_html": ("HTML 다운로드", "Download HTML"),
    "channel_report_pdf": ("PDF 다운로드", "Download PDF"),
    "channel_report_no_pdf": ("이 서버에는 Chromium이 없어 PDF를 만들 수 없습니다 (HTML은 가능).",
                              "No Chromium on this server: the PDF cannot be made (the HTML can)."),
    "lang_ko": ("한국어", "Korean"),
    "lang_en": ("영어", "English"),
}
