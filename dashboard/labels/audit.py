"""Labels of the Audit log page (audit.py) and of audit failures on the search pages."""
LABELS = {
    "audit_page_title": ("감사 로그", "Audit log"),
    "audit_intro": ("사용자 검색과 키워드 검색이 모두 기록됩니다 (최신순).",
                    "Every user search and keyword search is recorded here, newest first."),
    "audit_kinds": ("종류", "Kinds"),
    "audit_records": ("기록 수", "Records"),
    "audit_bad_lines": ("읽을 수 없는 줄 {n}개를 건너뛰었습니다.", "{n} unreadable line(s) skipped."),
    "audit_empty": ("아직 기록이 없습니다.", "No records yet."),
    "audit_denied": ("관리자만 볼 수 있습니다.", "Only admins can read the audit log."),
    "audit_failed": ("감사 로그를 기록하지 못해 검색 결과를 보여 줄 수 없습니다. 관리자에게 문의하세요.",
                     "The search could not be written to the audit log, so its results are not shown. "
                     "Ask the administrator."),
    # column headers (col_a_<API column name>: summaries.headers)
    "col_a_account": ("계정", "Account"),
    "col_a_role": ("역할", "Role"),
    "col_a_kind": ("종류", "Kind"),
    "col_a_query": ("검색어", "Query"),
    "col_a_peer": ("접속 주소", "Peer address"),
}
