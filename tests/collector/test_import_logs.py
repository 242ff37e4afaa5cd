"""`python -m collector import-logs`: ChzzkChat desktop viewer logs (BOM, CRLF, Korean and
emoji nicknames, ': ' in nicknames and messages, malformed lines, 후원 lines, midnight) into a
real PostgreSQL, idempotently, with a report of lines taken and refused."""
from __future__ import annotations

import io
import os
import shutil
import subprocess
import sys
import unicodedata
from datetime import date
from pathlib import Path

import pytest

from collector.import_logs import LogImportError, Report, file_records, import_path, parse_line, read_lines
from collector.log_folders import synthetic_channel_id
from tests.channel_names import api_line, api_post, chzzk_names
from tests.conftest import DATA
from tests.stored_chat import json_of

ROOT = DATA.parent.parent
LOGS = DATA / "desktop_logs" / "log"
NOKDU = "d4f287d26795dd48f2176c79d5bd074f"  # a known channel named 녹두로구
CAT = synthetic_channel_id("고양이집사")     # unknown: created from the folder name
# a channel as the collector's channel-info refresh leaves it (tests/channel_names.py does it for real)
NAMED_BY_CHZZK = "INSERT INTO stream_channel (channel_id, channel_name, channel_name_source) VALUES (%s, %s, 'chzzk')"


# ---------------------------------------------------------------- unit
@pytest.mark.unit
def test_lines_are_split_at_the_first_colon_space_and_refusals_say_why():
    line, why = parse_line("[20:00:05][채팅][abc] 시간: 10시: 곧 시작?")
    assert why is None and (line.seconds, line.kind, line.uid, line.nickname, line.message) == \
        (72005, "채팅", "abc", "시간", "10시: 곧 시작?")
    line, _ = parse_line("[00:00:00][후원][anonymous] 익명의 후원자: ]][[: x")
    assert (line.kind, line.nickname, line.message) == ("후원", "익명의 후원자", "]][[: x")
    assert parse_line("[01:02:03][채팅][u] 닉:")[0].message == ""
    assert parse_line("[01:02:03][채팅][u] 닉: 줄\u2028바꿈 \x85 문자")[0].message == "줄\u2028바꿈 \x85 문자"
    for text, reason in [("hello", "not a log line"), ("[24:00:00][채팅][u] a: b", "impossible time"),
                         ("[10:00:00][구독][u] a: b", "unknown kind"), ("[10:00:00][채팅][u] a b", "no ': '"),
                         ("[1:00:00][채팅][u] a: b", "not a log line")]:
        assert parse_line(text)[0] is None and reason in parse_line(text)[1], text


@pytest.mark.unit
def test_file_records_count_identical_lines_and_cross_midnight():
    data = ("\ufeff[23:59:59][채팅][u] a: same\r\n[23:59:59][채팅][u] a: same\r\n  \r\n"
            "[00:00:01][채팅][u] a: next day\r\n").encode()
    report = Report()
    rows = list(file_records(io.BytesIO(data), "chan", date(2026, 1, 31), "x/2026-01-31.log", report))
    assert (report.taken, report.refused, report.blank, report.lines) == (3, 0, 1, 3)
    assert [r["chat_time"] for r in rows] == ["2026-01-31T14:59:59.000Z", "2026-01-31T14:59:59.000Z",
                                              "2026-01-31T15:00:01.000Z"]
    assert len({r["dedupe_key"] for r in rows}) == 3  # the repeated line is kept twice
    assert rows[0]["raw"] == {"line": "[23:59:59][채팅][u] a: same", "file": "x/2026-01-31.log", "lineno": 1}
    again = list(file_records(io.BytesIO(data), "chan", date(2026, 1, 31), "elsewhere/2026-01-31.log", Report()))
    assert [r["dedupe_key"] for r in again] == [r["dedupe_key"] for r in rows]  # the key ignores the path
    other = list(file_records(io.BytesIO(data), "chan2", date(2026, 1, 31), "x/2026-01-31.log", Report()))
    assert not {r["dedupe_key"] for r in other} & {r["dedupe_key"] for r in rows}


@pytest.mark.unit
@pytest.mark.parametrize(("data", "lines"), [
    (b"abcd\nabcde\nab", [b"abcd", 5, b"ab"]),        # at the limit, one byte over, a last line without \n
    (b"abcdefghij\n\nx\n", [10, b"", b"x"]),           # an over-long line is counted, not kept
    (b"abcdefghij", [10]),                               # ... also at the end of the file
    (b"", []),
])
def test_read_lines_never_holds_a_line_over_the_limit(data, lines):
    assert [line for _, line in read_lines(io.BytesIO(data), limit=4)] == lines


# ---------------------------------------------------------------- integration
def rows(pg) -> list[tuple]:
    with pg.cursor() as cur:
        cur.execute("""SELECT c.channel_id, s.user_id, s.nickname, s.message, s.message_type, s.msg_type_code,
                              s.chat_time AT TIME ZONE 'UTC', s.is_anonymous
                         FROM stream_chat s JOIN stream_channel c ON c.id = s.channel_fk ORDER BY s.id""")
        found = cur.fetchall()
    raws = [raw for raw, _, _ in json_of(pg)]  # raw is kept compact (zstd): read it back
    pg.commit()
    return [row + (raw,) for row, raw in zip(found, raws, strict=True)]


@pytest.mark.integration
def test_the_fixture_logs_import_with_counts_and_a_reimport_adds_nothing(pg_url, pg):
    with pg.cursor() as cur:
        cur.execute(NAMED_BY_CHZZK, (NOKDU, "녹두로구"))
    pg.commit()
    report = import_path(pg, LOGS)
    assert (report.files, report.files_skipped) == (3, 1)
    assert (report.taken, report.refused, report.blank) == (12, 5, 1)
    assert (report.inserted, report.duplicates) == (12, 0)
    why = "\n".join(report.examples)
    for expected in ("녹두로구/2026-09-30.log:8: not a log line", "녹두로구/2026-10-01.log:2: unknown kind '구독'",
                     "녹두로구/2026-10-01.log:3: impossible time 25:10:01", "2026-10-01.log:4: no ': '",
                     "고양이집사/2026-10-02.log:3: not UTF-8", "고양이집사/notes.log: file name is not a date"):
        assert expected in why, why

    found = rows(pg)
    assert len(found) == 12
    by_msg = {r[3]: r for r in found}
    emoji = [r for r in found if r[2] == "달빛🌙고양이"]
    assert len(emoji) == 2 and emoji[0][3] == "오늘 방송 재밌네요 😂🔥"  # said twice in one second: kept twice
    colon = by_msg["10시: 곧 시작?"]  # trailing spaces gone, nickname cut at the first ': '
    assert colon[2] == "시간" and colon[8]["line"].endswith("곧 시작?   ")
    anon = by_msg["천원 후원합니다! [감사] <b>bold</b> {{x}}"]
    assert anon[4:6] == ("donation", 10) and anon[7] is True and anon[1] == "anonymous"
    big = by_msg["만원!! 화이팅 💸"]
    assert big[4:6] == ("donation", 10) and big[7] is False and big[0] == NOKDU
    assert by_msg[""][2] == "후추789"
    assert str(by_msg["안녕하세요 ㅋㅋㅋ"][6]) == "2026-09-30 11:00:01"  # KST -> UTC
    assert by_msg["안녕하세요 ㅋㅋㅋ"][8] == {
        "line": "[20:00:01][채팅][9978e9f435b20799d87860a07882f1ef] 후추789: 안녕하세요 ㅋㅋㅋ",
        "file": "녹두로구/2026-09-30.log", "lineno": 1}
    assert "DROP TABLE" in by_msg["'quote' \"dq\" \\ back; DROP TABLE stream_chat;--"][3]
    assert str(by_msg["넘었다 🎉"][6]) == "2026-10-02 15:00:03"  # after midnight: the next day
    assert by_msg["빈 uid 빈 닉"][1:3] == (None, None) and by_msg["빈 uid 빈 닉"][0] == CAT
    with pg.cursor() as cur:
        cur.execute("SELECT channel_name, enabled FROM stream_channel WHERE channel_id = %s", (CAT,))
        assert cur.fetchone() == ("고양이집사", False)
        cur.execute("SELECT count(*) FROM stream_channel")
        assert cur.fetchone()[0] == 2
    pg.commit()

    again = import_path(pg, LOGS)
    assert (again.taken, again.refused, again.inserted, again.duplicates) == (12, 5, 0, 12)
    one_file = import_path(pg, LOGS / "녹두로구" / "2026-09-30.log")
    assert (one_file.files, one_file.taken, one_file.inserted) == (1, 8, 0)
    assert len(rows(pg)) == 12


@pytest.mark.integration
def test_channel_names_are_matched_in_nfc_and_ambiguity_is_refused(pg_url, pg, tmp_path):
    folder = tmp_path / unicodedata.normalize("NFD", "녹두로구")  # as macOS writes Korean folder names
    folder.mkdir()
    shutil.copy(LOGS / "녹두로구" / "2026-10-01.log", folder / "2026-10-01.log")
    with pg.cursor() as cur:
        cur.execute(NAMED_BY_CHZZK, (NOKDU, "녹두로구"))
    pg.commit()
    report = import_path(pg, folder)
    assert report.inserted == 1 and rows(pg)[0][0] == NOKDU
    with pg.cursor() as cur:
        cur.execute(NAMED_BY_CHZZK, ("other", "녹두로구"))
    pg.commit()
    with pytest.raises(LogImportError, match="matches 2 channels.*--channel-id"):
        import_path(pg, folder)
    with pytest.raises(LogImportError, match="one channel's folder"):
        import_path(pg, LOGS, "abc")
    with pytest.raises(LogImportError, match="'abc' is neither a stored channel nor a CHZZK channel id"):
        import_path(pg, folder, "abc")
    with pytest.raises(LogImportError, match="does not exist"):
        import_path(pg, tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(LogImportError, match="no .log files"):
        import_path(pg, empty)


def cli(pg_url: str, *args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "DATABASE_URL": pg_url, "LOG_LEVEL": "INFO"}
    return subprocess.run([sys.executable, "-m", "collector", "import-logs", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=120)


@pytest.mark.integration
def test_cli_imports_once_reports_and_fails_in_one_line(pg_url, pg):
    folder = str(LOGS / "녹두로구")
    first = cli(pg_url, folder, "--channel-id", NOKDU)
    assert first.returncode == 0, first.stderr
    last = first.stderr.strip().splitlines()[-1]
    assert "import-logs done: 2 files read (0 skipped), 9 lines taken, 4 refused, 1 blank; 9 rows inserted, " \
           "0 duplicates" in last, first.stderr
    assert "refused 녹두로구/2026-10-01.log:3: impossible time" in first.stderr
    second = cli(pg_url, folder, "--channel-id", NOKDU)
    assert second.returncode == 0 and "0 rows inserted, 9 duplicates" in second.stderr.strip().splitlines()[-1]
    with pg.cursor() as cur:
        cur.execute("SELECT count(*) FROM stream_chat")
        assert cur.fetchone()[0] == 9
        cur.execute("SELECT channel_name, enabled FROM stream_channel WHERE channel_id = %s", (NOKDU,))
        assert cur.fetchone() == ("녹두로구", False)

    failed = cli(pg_url, str(LOGS / "없는폴더"))
    assert failed.returncode == 1
    assert failed.stderr.strip().splitlines()[-1].startswith("collector import-logs: error: ")
    assert "does not exist" in failed.stderr


# ---------------------------------------------------------------- hostile input
REAL = "d4f287d26795dd48f2176c79d5bd074f"
IMPOSTOR = "0123456789abcdef0123456789abcdef"
STRAY = "fedcba9876543210fedcba9876543210"


def chat_texts(pg) -> dict[str, str]:
    """message -> channel_id of every stored line."""
    return {r[3]: r[0] for r in rows(pg)}


@pytest.mark.integration
def test_a_name_set_through_the_ingest_api_never_takes_a_log_folder(pg_url, pg):
    chzzk_names(pg, {REAL: "녹두로구"})
    # API clients name their channels 녹두로구 and 고양이집사, and try to rename the real one away
    api_post(pg, [api_line(IMPOSTOR, "녹두로구", 1), api_line(REAL, "가짜", 2), api_line(STRAY, "고양이집사", 3)])
    done = cli(pg_url, str(LOGS))
    assert done.returncode == 1, done.stderr  # 녹두로구 imported, 고양이집사 refused with what to do
    assert {cid for msg, cid in chat_texts(pg).items() if msg != "안녕"} == {REAL}
    assert f"not imported: channel folder '고양이집사': only the ingest API (or an unknown source), not CHZZK, " \
           f"gave this name to {STRAY}" in done.stderr and "--channel-id" in done.stderr, done.stderr
    with pytest.raises(LogImportError, match=f"ingest API.*{STRAY}.*--channel-id"):
        import_path(pg, LOGS / "고양이집사")
    assert import_path(pg, LOGS / "고양이집사", STRAY).inserted == 3  # named explicitly: imported


def log_line(second: int, message: str) -> bytes:
    return f"[20:{second // 60:02d}:{second % 60:02d}][채팅][u{second}] 닉{second}: {message}\n".encode()


@pytest.mark.integration
def test_an_over_long_line_is_refused_and_its_neighbours_kept(pg_url, pg, tmp_path):
    folder = tmp_path / "녹두로구"
    folder.mkdir()
    with open(folder / "2026-10-01.log", "wb") as f:
        f.write(log_line(1, "before"))
        f.write(log_line(2, "")[:-1] + b"x" * (60 << 20) + b"\n")   # a 60 MiB line
        f.write(log_line(3, "between"))
        f.write(log_line(4, "가" * 5001))                            # one character over the API's limit
        f.write(log_line(5, "가" * 5000))
        f.write(log_line(6, "after").rstrip(b"\n") + b"x" * 70_000)  # an over-long last line, no line end
    report = import_path(pg, folder, REAL)
    assert (report.taken, report.refused, report.inserted) == (3, 3, 3)
    why = "\n".join(report.examples)
    assert "2026-10-01.log:2: line longer than" in why and "2026-10-01.log:6: line longer than" in why, why
    assert "2026-10-01.log:4: message of 5001 characters (at most 5000)" in why, why
    assert sorted(len(m) for m in chat_texts(pg)) == [6, 7, 5000]


MEASURE = """
import resource, sys
import collector.import_logs as m
from collector.__main__ import COMMANDS
from core.cli import main
m.BATCH_RECORDS = 500
code = main("collector", "", COMMANDS, ["import-logs", sys.argv[1]])
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
sys.exit(code)
"""


def _peak_rss_kib(pg_url: str, folder, lines: int) -> int:
    """Peak RSS of a real `import-logs` process importing a generated file of ``lines`` lines."""
    folder.mkdir()
    with open(folder / "2026-10-01.log", "w", encoding="utf-8") as f:
        for i in range(lines):
            s = i * 7
            f.write(f"[{s // 3600:02d}:{s % 3600 // 60:02d}:{s % 60:02d}][채팅][{i % 500:032x}] 시청자{i % 500}: "
                    f"메시지 {i} {'ㅋ' * (200 + i % 100)}\n")
    env = {**os.environ, "DATABASE_URL": pg_url, "LOG_LEVEL": "WARNING"}
    done = subprocess.run([sys.executable, "-c", MEASURE, str(folder)], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    return int(done.stdout.split()[-1])


@pytest.mark.integration
def test_memory_does_not_grow_with_the_file(pg_url, pg, tmp_path):
    small = _peak_rss_kib(pg_url, tmp_path / "작은채널", 1_000)
    big = _peak_rss_kib(pg_url, tmp_path / "큰채널", 6_000)
    assert len(rows(pg)) == 7_000
    # holding a file's records before storing them grew by ~35 MiB here
    assert big - small < 8 * 1024, f"peak RSS {small} KiB for 1,000 lines, {big} KiB for 6,000"


@pytest.mark.integration
def test_symlinks_that_leave_the_log_folder_are_skipped(pg_url, pg, tmp_path):
    logs, outside = tmp_path / "log", tmp_path / "elsewhere"
    (logs / "녹두로구").mkdir(parents=True)
    (logs / ".archive").mkdir()
    outside.mkdir()
    (logs / "녹두로구" / "2026-10-01.log").write_bytes(log_line(1, "inside"))
    (logs / ".archive" / "2026-10-03.log").write_bytes(log_line(3, "inside, linked"))
    (outside / "2026-10-02.log").write_bytes(log_line(2, "outside file"))
    (outside / "2026-10-04.log").write_bytes(log_line(4, "outside folder"))
    (logs / "녹두로구" / "2026-10-02.log").symlink_to(outside / "2026-10-02.log")
    (logs / "녹두로구" / "2026-10-03.log").symlink_to(Path("..") / ".archive" / "2026-10-03.log")
    (logs / "고양이집사").symlink_to(outside, target_is_directory=True)
    report = import_path(pg, logs)
    assert sorted(chat_texts(pg)) == ["inside", "inside, linked"]
    why = "\n".join(report.examples)
    assert "녹두로구/2026-10-02.log: a symlink to outside" in why, why
    assert "고양이집사: a symlink to outside" in why, why
    assert report.files_skipped == 2
