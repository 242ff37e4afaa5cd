"""Labels of the login form and the shared sidebar (language, timezone, types, today's data)."""
LABELS = {
    "login_title": ("로그인", "Sign in"),
    "login_name": ("아이디", "Account name"),
    "login_password": ("비밀번호", "Password"),
    "login_submit": ("로그인", "Sign in"),
    "login_failed": ("아이디 또는 비밀번호가 올바르지 않습니다.", "Wrong account name or password."),
    "login_locked": ("로그인 시도가 너무 많습니다. 몇 분 뒤에 다시 시도하세요.",
                     "Too many sign-in attempts. Try again in a few minutes."),
    "login_broken_file": ("계정 파일을 읽을 수 없어 대시보드를 열 수 없습니다. 관리자에게 문의하세요.",
                          "The accounts file cannot be read, so the dashboard is closed. Ask the administrator."),
    "login_public_no_accounts": ("계정이 없는데 서버가 localhost(127.0.0.1)에만 묶여 있지 않아(server.address가 비었거나 "
                                 "외부 주소) 데이터를 보여 주지 않습니다. `python -m dashboard serve`로 실행하거나 "
                                 "`streamlit run`에 `--server.address 127.0.0.1`을 주거나, 먼저 계정을 추가하세요: "
                                 "`python -m dashboard accounts add`.",
                                 "No accounts are configured and the server is not bound to localhost (server.address "
                                 "is unset or public), so no data is shown. Start it with `python -m dashboard serve`, "
                                 "or give `streamlit run` `--server.address 127.0.0.1`, or add an account first: "
                                 "`python -m dashboard accounts add`."),
    "login_wrong_host": ("이 주소(호스트 이름)로는 대시보드를 제공하지 않습니다. localhost로 접속하거나, 이 이름이 맞다면 "
                         "관리자에게 DASHBOARD_ALLOWED_HOSTS에 추가해 달라고 하세요.",
                         "This dashboard is not served under this host name. Open it via localhost, or, if the name "
                         "is right, ask the administrator to add it to DASHBOARD_ALLOWED_HOSTS."),
    "login_signed_in": ("로그인 계정", "Signed in as"),
    "login_logout": ("로그아웃", "Sign out"),
    "role_admin": ("관리자", "admin"),
    "role_streamer": ("스트리머", "streamer"),
    "role_analyst": ("분석가", "analyst"),
    "sidebar_language": ("언어", "Language"),
    "sidebar_timezone": ("시간대", "Timezone"),
    "sidebar_types": ("메시지 종류", "Message types"),
    "sidebar_types_all": ("모든 종류", "All types"),
    "sidebar_live": ("오늘 데이터 포함", "Include today's data"),
    "sidebar_live_help": ("마지막 동기화 이후 수집된 채팅을 PostgreSQL에서 읽어 함께 보여 줍니다.",
                          "Adds the chat collected since the last sync, read from PostgreSQL."),
    "sidebar_live_rows": ("오늘 데이터: {days}일치 {rows:,}행 추가 ({read_at} 기준)",
                          "Today's data: {rows:,} rows over {days} day(s) added (read {read_at})"),
    "sidebar_live_days": ("오늘 데이터: {days}일치 추가 ({read_at} 기준)",
                          "Today's data: {days} day(s) added (read {read_at})"),
    "sidebar_live_error": ("오늘 데이터를 읽지 못했습니다:", "Today's data could not be read:"),
    "sidebar_live_limit": ("동기화되지 않은 날이 한 번에 읽을 수 있는 것보다 많아 레이크 데이터만 보여 줍니다 "
                           "(관리자가 python -m warehouse sync를 실행하면 해결됩니다).",
                           "More days are waiting to be synced than today's data can read at once; showing "
                           "the lake's data only (an administrator runs python -m warehouse sync)."),
    "sidebar_live_state": ("레이크의 동기화 상태 파일(_sync/state.json)이 손상되어 오늘 데이터를 더할 수 없습니다. "
                           "레이크 데이터만 보여 줍니다 (관리자가 백업에서 복원해야 합니다).",
                           "The lake's sync state file (_sync/state.json) is damaged, so today's data cannot be "
                           "added; showing the lake's data only (an administrator restores it from a backup)."),
    "sidebar_url_dropped": ("주소(URL)의 채널 중 볼 수 없는 채널 {n}개를 제외했습니다.",
                            "{n} channel(s) in the URL are not available to you and were dropped."),
    "sidebar_url_bad_dates": ("주소(URL)의 기간이 올바르지 않아 기본 기간을 보여 줍니다.",
                              "The dates in the URL are not usable; showing the default range."),
    "sidebar_url_bad_types": ("주소(URL)의 알 수 없는 메시지 종류를 제외했습니다.",
                              "Unknown message types in the URL were dropped."),
    # one text in both languages: Streamlit keeps a multiselect's value by its option's label,
    # so a label that changed with the language would drop "all channels" on the next rerun
    "sidebar_all_channels": ("전체 채널 · All channels", "전체 채널 · All channels"),
    "sidebar_no_channels": ("이 계정에 연결된 채널의 데이터가 없습니다.", "No data for the channels of this account."),
}
