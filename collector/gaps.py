"""Restart gaps: the lines a broadcast aired while no collector listened, beyond what a
rejoin's recent-chat replay (15101: the last 50 lines) brings back. They are found when a
socket (re)joins and filled from the broadcast's replay (VOD) chat once it has ended.

Finding (``replay_gap``, pure; ``collector.client`` calls it once the join's replay is on
disk, and ``collector.sessions.op_capture_gap`` records the result in ``capture_gap``):

- a rejoin in the same process knows the newest line it spooled before: a gap when the
  replay's oldest line is newer (or the replay is empty); exact.
- the first join of a process (a restart after kill -9, a crash, a cron handover) does not
  know it: a gap when the replay is full (RECENT_COUNT lines), an earlier capture interval
  of the chat channel exists and none closed by its own client (``sessions.GRACEFUL_REASONS``)
  ended after the replay's oldest line. Its start is the newest line stored before the
  replay's oldest, read when filling (every spool has been drained by then). A restart
  after kill -9 quick enough for the replay to cover it is then a gap with no line in it:
  the fill stores nothing new.

Filling (``fill_due``: the ``gap-fill`` job of ``collector run`` every GAP_FILL_SECONDS,
on a scheduler thread with its own HTTP session and database connection, so live
collection never waits for it; any collector of the database fills any channel's gaps):
a gap is taken once its broadcast has ended (CHZZK publishes the replay afterwards), its
replay video found among the channel's newest videos (``collector.vod.find_video``), and
the video's chat paged from a little before the gap's start to its end through
``collector.vod.backfill`` (same dedupe keys as live, so only missing lines are added).
At most FILL_BATCH gaps per run and MAX_PAGES pages per gap (a longer gap goes on from
``resume_ms`` at the next run). A gap whose replay is not published yet, or whose fill
fails, is retried with backoff (RETRY_FIRST doubling to RETRY_MAX); without a replay
GIVE_UP_SECONDS after the broadcast ended (or with replay chat disabled) it becomes
'no replay' and stays visible in ``collector status``.
"""
from __future__ import annotations

import logging
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import psycopg2

from collector import vod
from collector.api import Api, ApiError
from core.cli import one_line

log = logging.getLogger(__name__)

FILL_BATCH = 10                # gaps taken per run
MAX_PAGES = 400                # replay pages (50 lines) per gap per run: 20,000 lines
RETRY_FIRST = 60.0             # seconds before the second attempt, doubled per attempt
RETRY_MAX = 6 * 3600.0
GIVE_UP_SECONDS = 3 * 86400.0  # no replay this long after the broadcast ended: 'no replay'
CLAIM_SECONDS = 900.0          # a taken gap is due again after this if its filler died
SLACK_MS = 2_000               # the replay is read from this much before the gap's start


def replay_gap(known: str | None, oldest: str | None, count: int, joined: str,
               full: int) -> tuple[str | None, str] | None:
    """(gap_from, gap_to) of the lines a join's replay may not cover, or None. ``known``:
    chat_time of the newest line spooled before the join (None: this process has none);
    ``oldest``/``count``: the replay's oldest chat_time and its number of lines; ``joined``:
    the join time; ``full``: the most lines a replay holds. Times are ``ms_to_iso`` text."""
    if known is None:
        return (None, oldest) if oldest is not None and count >= full else None
    if oldest is None:
        return known, max(known, joined)  # an empty replay says nothing about what came after
    if oldest > known or (oldest == known and count >= full):
        return known, oldest
    return None


@dataclass(frozen=True)
class Gap:
    id: int
    channel_id: str
    chat_channel_id: str
    gap_from: datetime | None
    gap_to: datetime
    resume_ms: int | None
    attempts: int
    ended_at: datetime
    opened: datetime


@dataclass
class FillReport:
    tried: int = 0
    filled: int = 0
    lines: int = 0
    partial: int = 0
    waiting: int = 0
    no_replay: int = 0
    failed: int = 0


CLAIM = """
    WITH due AS (
        SELECT g.id FROM capture_gap g
          JOIN live_session ls ON ls.channel_fk = g.channel_fk AND ls.chat_channel_id = g.chat_channel_id
         WHERE g.status = 'open' AND g.next_attempt_at <= %(now)s AND ls.closed_at IS NOT NULL
         ORDER BY g.next_attempt_at, g.id LIMIT %(limit)s
           FOR UPDATE OF g SKIP LOCKED
    ), taken AS (
        UPDATE capture_gap g SET attempts = g.attempts + 1, next_attempt_at = %(again)s
          FROM due WHERE g.id = due.id
        RETURNING g.*
    )
    SELECT t.id, c.channel_id, t.chat_channel_id, t.gap_from, t.gap_to, t.resume_ms, t.attempts,
           ls.closed_at, least(coalesce(ls.open_date, ls.opened_at), ls.opened_at)
      FROM taken t
      JOIN stream_channel c ON c.id = t.channel_fk
      JOIN live_session ls ON ls.channel_fk = t.channel_fk AND ls.chat_channel_id = t.chat_channel_id
     ORDER BY t.id"""


def claim(conn, now: datetime, limit: int = FILL_BATCH) -> list[Gap]:
    """Take up to ``limit`` open gaps of ended broadcasts that are due (SKIP LOCKED: several
    collectors never take the same gap; one that dies leaves it due again CLAIM_SECONDS later)."""
    with conn, conn.cursor() as cur:
        cur.execute(CLAIM, {"now": now, "limit": limit, "again": now + timedelta(seconds=CLAIM_SECONDS)})
        return [Gap(*row) for row in cur.fetchall()]


def fill_due(conn, api: Api, now: datetime | None = None, limit: int = FILL_BATCH,
             max_pages: int = MAX_PAGES, stop: threading.Event | None = None) -> FillReport:
    """Fill the due gaps (see the module docstring); one log line per gap and one per run.
    ``stop`` set: ends after the replay page being read (the gap goes on at the next run)."""
    now = now or datetime.now(UTC)
    report = FillReport()
    videos: dict[str, vod.Video | None] = {}  # chat channel id -> its replay, looked up once per run
    for gap in claim(conn, now, limit):
        if stop is not None and stop.is_set():
            break  # taken but not tried: due again after CLAIM_SECONDS
        report.tried += 1
        try:
            outcome, lines = _fill(conn, api, gap, now, videos, max_pages, stop)
        except (ApiError, vod.VodError, RuntimeError, psycopg2.Error) as exc:
            report.failed += 1
            try:
                conn.rollback()
                delay = _retry(conn, gap, now, one_line(exc))
            except psycopg2.Error as db_exc:  # the database went away: the rest waits for a later run
                log.warning("gap fill stopped: %s", one_line(db_exc))
                break
            log.warning("gap fill of %s (chat channel %s) up to %s failed (attempt %d), retrying in %.0fs: %s",
                        gap.channel_id, gap.chat_channel_id, _hms(gap.gap_to), gap.attempts, delay, one_line(exc))
            continue
        setattr(report, outcome, getattr(report, outcome) + 1)
        report.lines += lines
    if report.tried:
        log.info("gap fill: %d gaps tried: %d filled (%d new lines), %d to go on, %d waiting for a replay, "
                 "%d without a replay, %d failed", report.tried, report.filled, report.lines, report.partial,
                 report.waiting, report.no_replay, report.failed)
    return report


def _fill(conn, api: Api, gap: Gap, now: datetime, videos: dict, max_pages: int,
          stop: threading.Event | None) -> tuple[str, int]:
    if gap.chat_channel_id not in videos:
        videos[gap.chat_channel_id] = vod.find_video(api, gap.channel_id, gap.chat_channel_id, gap.opened)
    video = videos[gap.chat_channel_id]
    if video is None or not video.chat_enabled:
        why = (f"video {video.video_no} has its replay chat disabled" if video is not None
               else "no replay video of the broadcast is published")
        if video is not None or (now - gap.ended_at).total_seconds() > GIVE_UP_SECONDS:
            with conn, conn.cursor() as cur:
                cur.execute("UPDATE capture_gap SET status = 'no replay', last_error = %s, done_at = %s WHERE id = %s",
                            (why, now, gap.id))
            log.warning("gap of %s (chat channel %s) up to %s cannot be filled: %s; it stays recorded",
                        gap.channel_id, gap.chat_channel_id, _hms(gap.gap_to), why)
            return "no_replay", 0
        delay = _retry(conn, gap, now, why + " yet")
        log.info("gap of %s (chat channel %s): %s yet; next look in %.0fs", gap.channel_id,
                 gap.chat_channel_id, why, delay)
        return "waiting", 0
    gap_from = gap.gap_from or _line_before(conn, gap) or gap.opened
    start = gap.resume_ms if gap.resume_ms is not None else _offset(api, video, _ms(gap_from))
    summary = vod.backfill(api, conn, gap.channel_id, video.video_no, start, gap.chat_channel_id,
                           until_time_ms=_ms(gap.gap_to), max_pages=max_pages, stop=stop)
    done = summary.next_ms is None
    with conn, conn.cursor() as cur:
        cur.execute("""UPDATE capture_gap SET video_no = %s, lines_filled = lines_filled + %s, resume_ms = %s,
                              gap_from = coalesce(gap_from, %s), status = %s, done_at = %s, last_error = NULL,
                              next_attempt_at = %s
                        WHERE id = %s""",
                    (video.video_no, summary.inserted, summary.next_ms, gap_from, "filled" if done else "open",
                     now if done else None, now, gap.id))
    log.info("gap of %s (chat channel %s) %s..%s %s from video %d: %d new lines, %d already stored, %d pages",
             gap.channel_id, gap.chat_channel_id, _hms(gap_from), _hms(gap.gap_to),
             "filled" if done else f"partly filled (goes on at {summary.next_ms} ms)", video.video_no,
             summary.inserted, summary.duplicates, summary.pages)
    return ("filled" if done else "partial"), summary.inserted


def _line_before(conn, gap: Gap) -> datetime | None:
    """The newest stored line of the chat channel older than the gap's end."""
    with conn, conn.cursor() as cur:
        cur.execute("""SELECT max(sc.chat_time) FROM stream_chat sc JOIN stream_channel c ON c.id = sc.channel_fk
                        WHERE c.channel_id = %s AND sc.chat_channel_id = %s AND sc.chat_time < %s""",
                    (gap.channel_id, gap.chat_channel_id, gap.gap_to))
        return cur.fetchone()[0]


def _offset(api: Api, video: vod.Video, from_ms: int) -> int:
    """The video offset (playerMessageTime) SLACK_MS before ``from_ms``: the offset of a
    time is read off the lines around a first guess (liveOpenDate is whole seconds and the
    video may not start with the broadcast)."""
    guess = max(0, from_ms - _ms(video.live_open)) if video.live_open else 0
    page = vod.read_page(api.video_chats(video.video_no, guess, vod.PAGE_SIZE), video.video_no)
    base = vod.time_base(page.items) or vod.time_base(page.previous)
    return max(0, from_ms - (base if base is not None else from_ms) - SLACK_MS)


def _retry(conn, gap: Gap, now: datetime, error: str) -> float:
    """Due again after RETRY_FIRST doubled per attempt so far (at most RETRY_MAX); returns the delay."""
    delay = min(RETRY_MAX, RETRY_FIRST * 2 ** max(0, gap.attempts - 1))
    with conn, conn.cursor() as cur:
        cur.execute("UPDATE capture_gap SET last_error = %s, next_attempt_at = %s WHERE id = %s",
                    (error[:500], now + timedelta(seconds=delay), gap.id))
    return delay


def _ms(dt: datetime) -> int:
    return int(dt.timestamp() * 1000)


def _hms(dt: datetime | None) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S.%f")[:-3] + "Z" if dt else "-"
