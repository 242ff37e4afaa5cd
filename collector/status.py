"""``python -m collector status [--json] [--all]``: one line per channel from PostgreSQL: state
(live / offline / unavailable:<reason> / disabled / unknown, or ``stale`` when no running
collector holds the channel's lease: the state is then the last one a collector reported,
and COLLECTOR says since when it is down), whether a socket is open,
the current (or last) broadcast's chat channel and start, the last stored message and the
lag behind now, reconnects today (DISPLAY_TZ day) and the broadcast's coverage (share of
its minutes inside capture intervals, from the ``broadcast_coverage`` view) and the
channel's restart gaps (``capture_gap``: open, filled from the replay with the lines added,
or 'no replay': lines lost for good). Read-only.

Below the table, one health line (``health``, also on the dashboard's Overview through
dashboard/collector_health.py): ``ok``; ``down`` (no collector runs: since its last lease
renewal, the last-seen time), ``never`` (none ever ran), or ``lagging``: a channel reported
live whose newest stored line (or, with none, its broadcast's start) is older than
LAG_SECONDS or 5 flushes (FLUSH_SECONDS), whichever is longer, or whose lease no running
collector holds. ``--json`` adds it as a line ``{"kind": "health", ...}`` before the spool's.

Below it, the local spool's backlog (``spool_backlog``): records and bytes not
stored yet and the age of the oldest, from the state file each running collector writes
(collector/metrics.py) or, with none running, from the segment files a stopped one left;
``--json`` adds it as a last line ``{"kind": "spool", ...}``."""
from __future__ import annotations

import argparse
import logging
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import psycopg2

from collector import channels, leases, metrics
from collector.spool import SUFFIX, count_records
from core import db, settings
from core.cli import json_line, one_line, plain_table, terminal_text

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
           gp.gaps_open, gp.gaps_filled, gp.gaps_no_replay, gp.gap_lines_filled,
           cl.owner AS lease_owner, cl.renewed_at AS lease_renewed_at, cl.expires_at > now() AS leased,
           (SELECT max(coalesce(ci.disconnected_at, ci.last_seen_at, ci.connected_at)) FROM capture_interval ci
             WHERE ci.channel_fk = c.id) AS last_capture_at
      FROM stream_channel c
      LEFT JOIN channel_lease cl ON cl.channel_id = c.channel_id
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
        _collector(r)
        last = r["last_message_at"]
        r["lag_seconds"] = round((now - last).total_seconds(), 1) if last else None
        for k in ("minutes", "captured_minutes", "coverage"):
            r[k] = None if r[k] is None else round(float(r[k]), 4)
    return rows


def _collector(r: dict) -> None:
    """Who collects the channel: ``collector``, the owner of its unexpired lease (not one of a
    process of this host known dead). With none, a state a collector reported (live,
    offline, unavailable) is out of date: ``state`` becomes ``stale`` (``reported_state``
    keeps what was reported) and ``collector_down_since`` is the collector's last sign:
    its lease's last renewal, or its socket's last moment after a clean stop released it."""
    owner = r.pop("lease_owner")
    alive = bool(r.pop("leased")) and not leases.dead_here(owner)
    r["collector"] = owner if alive else None
    renewed, captured = r.pop("lease_renewed_at"), r.pop("last_capture_at")
    r["reported_state"], r["collector_down_since"] = r["state"], None
    if not alive and r["state"] not in ("disabled", "unknown"):
        r["state"] = "stale"
        r["collector_down_since"] = max((t for t in (renewed, captured) if t), default=None)


def collectors(conn) -> dict:
    """The collectors running now and the newest lease renewal (collector.leases.presence)."""
    with conn, conn.cursor() as cur:
        return leases.presence(cur)


def format_collectors(c: dict, now: datetime | None = None) -> str:
    """One line: which collectors run, or since when none has renewed a lease."""
    if c["running"]:
        return f"collectors: {len(c['running'])} running ({', '.join(c['running'])})"
    if c["last_renewal"] is None:
        return "collectors: none running"
    ago = ((now or datetime.now(UTC)) - c["last_renewal"]).total_seconds()
    return (f"collectors: none running: collector down since {_when(c['last_renewal'])} ({_ago(ago)} ago, its last "
            "lease renewal); a 'stale' state is the last one it reported")


LAG_SECONDS = 600  # a live broadcast without one stored line for 10 minutes: something is wrong


def lag_limit() -> float:
    """How old a live channel's newest stored line may be before the collector counts as lagging."""
    return float(max(LAG_SECONDS, 5 * settings.get_int("FLUSH_SECONDS")))


def health(rows: list[dict], running: dict, now: datetime | None = None, limit: float | None = None) -> dict:
    """The collector's health from collect()'s rows and collectors(): ``state`` (ok, down,
    never, lagging), ``last_seen`` (the newest lease renewal, a datetime or None),
    ``limit_seconds`` and ``lagging`` (the live channels behind: id, name, newest line,
    seconds behind, and whether a running collector holds them)."""
    now = now or datetime.now(UTC)
    limit = lag_limit() if limit is None else limit
    out = {"kind": "health", "last_seen": running["last_renewal"], "limit_seconds": limit, "lagging": []}
    if not running["running"]:
        out["state"] = "down" if running["last_renewal"] else "never"
        return out
    for r in rows:
        reported = r.get("reported_state", r["state"])
        if reported != "live":
            continue
        since = r["last_message_at"] or r["opened_at"]
        behind = (now - since).total_seconds() if since else None
        held = r["state"] != "stale"
        if not held or behind is None or behind > limit:
            out["lagging"].append({"channel_id": r["channel_id"], "channel_name": r["channel_name"],
                                   "last_message_at": r["last_message_at"],
                                   "seconds_behind": None if behind is None else round(behind, 1), "held": held})
    out["state"] = "lagging" if out["lagging"] else "ok"
    return out


def format_health(h: dict, now: datetime | None = None) -> str:
    """One line: the health state, the last-seen time, the channels behind."""
    now = now or datetime.now(UTC)
    seen = h["last_seen"]
    ago = f"{_when(seen)} ({_ago((now - seen).total_seconds())} ago)" if seen else "never"
    if h["state"] == "never":
        return "health: DOWN: no collector has ever renewed a lease"
    if h["state"] == "down":
        return f"health: DOWN: no collector running; last seen {ago}"
    if h["state"] == "ok":
        return f"health: ok; last lease renewal {ago}"
    behind = ", ".join(f"{(x['channel_name'] or x['channel_id'])[:30]} "
                       + (f"{_ago(x['seconds_behind'])} behind" if x["seconds_behind"] is not None else "no line")
                       + ("" if x["held"] else " (no collector holds it)") for x in h["lagging"])
    return (f"health: LAGGING: {len(h['lagging'])} live channel(s) with no line stored for over "
            f"{_ago(h['limit_seconds'])}: {terminal_text(behind)}; last lease renewal {ago}")


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
            "RECONNECTS TODAY", "COVERAGE", "RESTART GAPS", "COLLECTOR")
    body = []
    for r in rows:
        cov = "-" if r["coverage"] is None else f"{100 * r['coverage']:.1f}%"
        socket = "open" if r["open_sockets"] and r["state"] != "stale" else "-"  # a dead collector's stay open
        body.append((r["channel_id"], (r["channel_name"] or "-")[:30], r["state"], socket, r["chat_channel_id"] or "-",
                     _when(r["opened_at"]), _when(r["last_message_at"]), _ago(r["lag_seconds"]),
                     str(r["reconnects_today"]), cov, _gaps(r), _who(r)))
    return plain_table(head, body)


def _who(r: dict) -> str:
    """The COLLECTOR cell: the lease holder (host:pid), 'down since …' for a stale state, or '-'."""
    if r["collector"]:
        return r["collector"].rsplit(":", 1)[0]
    if r["state"] == "stale":
        return f"down since {_when(r['collector_down_since'])}" if r["collector_down_since"] else "down"
    return "-"


def _gaps(r: dict) -> str:
    """Restart gaps of the channel (collector.gaps): '-', or e.g. '1 open, 2 filled (+341), 1 no replay'."""
    parts = ([f"{r['gaps_open']} open"] if r["gaps_open"] else []) + \
        ([f"{r['gaps_filled']} filled (+{r['gap_lines_filled']})"] if r["gaps_filled"] else []) + \
        ([f"{r['gaps_no_replay']} no replay"] if r["gaps_no_replay"] else [])
    return ", ".join(parts) or "-"


def spool_backlog(spool_dir, now: float | None = None) -> dict:
    """The backlog of the spool folder: per running collector (its state file) and in total;
    with no collector running, what the segment files hold (a stopped collector's records,
    replayed at the next start)."""
    now = now or time.time()
    running = metrics.read_states(spool_dir)
    files = sorted(Path(spool_dir).glob("*" + SUFFIX)) if Path(spool_dir).is_dir() else []
    out = {"kind": "spool", "spool_dir": str(spool_dir), "segment_files": len(files),
           "bytes_on_disk": sum(_size(p) for p in files), "collectors": []}
    for st in running:
        out["collectors"].append({k: st.get(k) for k in ("pid", "backlog_records", "backlog_bytes",
                                                         "backlog_age_seconds", "received", "stored",
                                                         "last_store_at", "last_error")}
                                 | {"updated_seconds_ago": round(now - st["at"], 1)})
    if running:
        out["backlog_records"] = sum(c["backlog_records"] for c in out["collectors"])
        out["backlog_bytes"] = sum(c["backlog_bytes"] for c in out["collectors"])
        ages = [c["backlog_age_seconds"] for c in out["collectors"] if c["backlog_age_seconds"] is not None]
    else:
        out["backlog_records"] = sum(count_records(p) for p in files if p.exists())
        out["backlog_bytes"] = out["bytes_on_disk"]
        ages = [now - int(p.name.split("-", 1)[0]) / 1e9 for p in files if p.name.split("-", 1)[0].isdigit()]
    out["backlog_age_seconds"] = round(max(ages), 1) if ages else None
    return out


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


def format_backlog(b: dict) -> str:
    """One line per running collector, or one for a stopped collector's spool."""
    head = f"spool {b['spool_dir']}: "
    if not b["collectors"]:
        if not b["backlog_records"]:
            return head + "empty, no collector running"
        return head + (f"{b['backlog_records']} records ({_bytes(b['backlog_bytes'])}) left by a stopped collector, "
                       f"oldest {_ago(b['backlog_age_seconds'])} old; stored at its next start")
    lines = []
    for c in b["collectors"]:
        last = "never" if not c["last_store_at"] else _ago(time.time() - c["last_store_at"]) + " ago"
        err = f"; last store failed: {c['last_error']}" if c["last_error"] else ""
        lines.append(head + f"collector pid {c['pid']}: backlog {c['backlog_records']} records "
                     f"({_bytes(c['backlog_bytes'])}), oldest {_ago(c['backlog_age_seconds'])} old; "
                     f"{c['received']} received, {c['stored']} stored, last store {last}{err}")
    return "\n".join(lines)


def _bytes(n: int) -> str:
    return f"{n} B" if n < 1024 else f"{n / 1024:.1f} KiB" if n < 1 << 20 else f"{n / (1 << 20):.1f} MiB"


def run(args: argparse.Namespace) -> int:
    """Exit 0; 1 when PostgreSQL is unreachable (the spool's backlog is shown all the same:
    it is what grows while the database is away)."""
    backlog = spool_backlog(settings.spool_dir())
    try:
        conn = db.connect()
    except psycopg2.Error as exc:  # said as every command says it (secrets redacted), then the spool
        logging.getLogger("collector").debug("failed", exc_info=True)
        print(f"collector status: error: {terminal_text(one_line(exc))}; channels not shown, the spool's"
              " backlog below", file=sys.stderr)
        print(json_line(backlog) if args.json else format_backlog(backlog))
        return 1
    try:
        rows = collect(conn, include_disabled=args.all)
        running = collectors(conn)
    finally:
        conn.close()
    state = health(rows, running)
    if args.json:  # one JSON object a line, each saying its kind: the channels, the health, the spool
        for r in rows:
            print(json_line({"kind": "channel", **r}))
        print(json_line(state))
        print(json_line(backlog))
    elif rows:
        print(format_table(rows))
        print(format_collectors(running))
        print(format_health(state))
        print(format_backlog(backlog))
    else:
        print("no channel yet: add one with `python -m collector channels add ID`", file=sys.stderr)
        print(format_backlog(backlog))
    return 0
