"""``python -m collector status [--json] [--all]``: one line per channel from PostgreSQL: state
(live / offline / unavailable:<reason> / disabled / unknown), whether a socket is open,
the current (or last) broadcast's chat channel and start, the last stored message and the
lag behind now, reconnects today (DISPLAY_TZ day) and the broadcast's coverage (share of
its minutes inside capture intervals, from the ``broadcast_coverage`` view) and the
channel's restart gaps (``capture_gap``: open, filled from the replay with the lines added,
or 'no replay': lines lost for good). Read-only."""
from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from collector import channels
from core import db, settings
from core.cli import json_line, plain_table

QUERY = """
    SELECT c.channel_id, c.channel_name, c.enabled, c.live_state, c.live_state_reason,
           s.chat_channel_id, s.opened_at, s.closed_at,
           (SELECT chat_time FROM stream_chat sc WHERE sc.channel_fk = c.id
             ORDER BY chat_time DESC LIMIT 1) AS last_message_at,
           (SELECT count(*) - count(DISTINCT ci.chat_channel_id) FROM capture_interval ci
             WHERE ci.channel_fk = c.id AND ci.connected_at >= %(day_start)s) AS reconnects_today,
           (SELECT count(*) FROM capture_interval ci
             WHERE ci.channel_fk = c.id AND ci.disconnected_at IS NULL) AS open_sockets,
           bc.minutes, bc.captured_minutes, bc.coverage,
           gp.gaps_open, gp.gaps_filled, gp.gaps_no_replay, gp.gap_lines_filled
      FROM stream_channel c
      LEFT JOIN LATERAL (SELECT id, chat_channel_id, opened_at, closed_at FROM live_session
                          WHERE channel_fk = c.id ORDER BY opened_at DESC, id DESC LIMIT 1) s ON true
      LEFT JOIN broadcast_coverage bc ON bc.session_id = s.id
      LEFT JOIN LATERAL (SELECT count(*) FILTER (WHERE g.status = 'open') AS gaps_open,
                                count(*) FILTER (WHERE g.status = 'filled') AS gaps_filled,
                                count(*) FILTER (WHERE g.status = 'no replay') AS gaps_no_replay,
                                coalesce(sum(g.lines_filled), 0)::bigint AS gap_lines_filled
                           FROM capture_gap g WHERE g.channel_fk = c.id) gp ON true
     WHERE c.enabled OR %(all)s
     ORDER BY c.channel_name NULLS LAST, c.channel_id"""


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="one JSON object per channel per line")
    parser.add_argument("--all", action="store_true", help="include disabled channels")


def collect(conn, include_disabled: bool = False, now: datetime | None = None) -> list[dict]:
    """The status rows (dicts with the QUERY columns plus ``state`` and ``lag_seconds``)."""
    now = now or datetime.now(UTC)
    tz = settings.get("DISPLAY_TZ") or "Asia/Seoul"
    with conn, conn.cursor() as cur:
        cur.execute("SELECT date_trunc('day', %s AT TIME ZONE %s) AT TIME ZONE %s", (now, tz, tz))
        day_start = cur.fetchone()[0]
        cur.execute(QUERY, {"day_start": day_start, "all": include_disabled})
        cols = [d[0] for d in cur.description]
        rows = [dict(zip(cols, r, strict=True)) for r in cur.fetchall()]
    for r in rows:
        r["state"] = channels.state_of(r)
        last = r["last_message_at"]
        r["lag_seconds"] = round((now - last).total_seconds(), 1) if last else None
        for k in ("minutes", "captured_minutes", "coverage"):
            r[k] = None if r[k] is None else round(float(r[k]), 4)
    return rows


def _ago(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    s = int(max(seconds, 0))
    return f"{s}s" if s < 120 else f"{s // 60}m" if s < 7200 else f"{s // 3600}h"


def _when(dt: datetime | None) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%SZ") if dt else "-"


def format_table(rows: list[dict]) -> str:
    """The plain-text table (names are untrusted text: controls, bidi and zero-width characters shown escaped)."""
    head = ("CHANNEL", "NAME", "STATE", "SOCKET", "CHAT CHANNEL", "SINCE", "LAST MESSAGE", "LAG",
            "RECONNECTS TODAY", "COVERAGE", "RESTART GAPS")
    body = []
    for r in rows:
        cov = "-" if r["coverage"] is None else f"{100 * r['coverage']:.1f}%"
        body.append((r["channel_id"], (r["channel_name"] or "-")[:30], r["state"],
                     "open" if r["open_sockets"] else "-", r["chat_channel_id"] or "-", _when(r["opened_at"]),
                     _when(r["last_message_at"]), _ago(r["lag_seconds"]), str(r["reconnects_today"]), cov,
                     _gaps(r)))
    return plain_table(head, body)


def _gaps(r: dict) -> str:
    """Restart gaps of the channel (collector.gaps): '-', or e.g. '1 open, 2 filled (+341), 1 no replay'."""
    parts = ([f"{r['gaps_open']} open"] if r["gaps_open"] else []) + \
        ([f"{r['gaps_filled']} filled (+{r['gap_lines_filled']})"] if r["gaps_filled"] else []) + \
        ([f"{r['gaps_no_replay']} no replay"] if r["gaps_no_replay"] else [])
    return ", ".join(parts) or "-"


def run(args: argparse.Namespace) -> int:
    conn = db.connect()
    try:
        rows = collect(conn, include_disabled=args.all)
    finally:
        conn.close()
    if args.json:
        for r in rows:
            print(json_line(r))
    elif rows:
        print(format_table(rows))
    else:
        print("no channel yet: add one with `python -m collector channels add ID`", file=sys.stderr)
    return 0
