"""Labels of the notice every page shows while part of the lake cannot be read (a damaged
Parquet file: warehouse/lake/health.py), and of a read that failed for another reason."""
LABELS = {
    "damage_days": ("데이터 일부를 읽을 수 없어 모든 페이지가 그 날짜를 빼고 답합니다: 손상된 채팅 파티션 {days}. "
                    "운영자가 `{command}` 명령으로 복구할 수 있습니다 (PostgreSQL에 그날 데이터가 남아 있으면 다시 쓰고, "
                    "없으면 복구 방법을 알려 줍니다. README의 'Damaged partitions' 참고).",
                    "Part of the lake cannot be read, so every page answers without it: damaged chat "
                    "partition(s) {days}. An operator repairs them with `{command}` (rewritten from PostgreSQL "
                    "when PostgreSQL still holds the day; otherwise the command says what restores it — README, "
                    "\"Damaged partitions\")."),
    "damage_tables": ("손상된 테이블 {tables}을(를) 읽을 수 없어 이 테이블을 쓰는 답(채널 이름, 방송 제목, 수집률)이 "
                      "빠질 수 있습니다. 운영자가 `python -m warehouse sync`로 다시 씁니다.",
                      "The lake's {tables} table is damaged and cannot be read, so answers that use it (channel "
                      "names, broadcast titles, capture coverage) may be missing. An operator rewrites it with "
                      "`python -m warehouse sync`."),
    "lake_read_error": ("데이터를 읽는 중 오류가 발생했습니다. 잠시 뒤 다시 시도하고, 계속되면 운영자에게 문의하세요 "
                        "(서버 로그에 자세한 내용이 있습니다).",
                        "Reading the data failed. Try again in a moment; if it persists, tell an operator "
                        "(the server log has the details)."),
}
