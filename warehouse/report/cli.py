"""`chzzk-warehouse report`: one channel's report for a week or a period, as an HTML file or
a PDF, in Korean or English — a weekly digest from cron (README "Channel report")."""
from __future__ import annotations

import argparse
import logging
import os
import sys
import time
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from core import settings

log = logging.getLogger(__name__)
FORMATS = ("html", "pdf")


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a day: write it as YYYY-MM-DD") from None


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--channel", required=True, metavar="ID", help="the channel's id (32 hex characters)")
    when = parser.add_mutually_exclusive_group()
    when.add_argument("--week", nargs="?", const="last", metavar="DAY",
                      help="the Monday-Sunday week holding DAY (YYYY-MM-DD); without DAY the last whole week "
                           "before today (DISPLAY_TZ). The default period")
    when.add_argument("--from", dest="start", type=_day, metavar="DAY", help="first day of the period (with --to)")
    parser.add_argument("--to", dest="end", type=_day, metavar="DAY", help="last day of the period (inclusive)")
    parser.add_argument("--lang", choices=("ko", "en"), default="ko", help="the report's language (default ko)")
    parser.add_argument("--format", choices=FORMATS, help="html (self-contained) or pdf (printed by Chromium); "
                                                          "default: from --out's suffix, else html")
    parser.add_argument("--out", metavar="PATH", help="the file to write, or a folder to write it in (default: the "
                                                      "current folder), or - for standard output")
    parser.epilog = ("Exit status: 0 written; 1 failed (an unknown channel, no Chromium for a PDF, an unreadable "
                     "lake); 2 wrong arguments.")


def period(args: argparse.Namespace, today: date) -> tuple[date, date]:
    """The report's days from the arguments (pure)."""
    from warehouse.report.figures import last_week, week_of

    if args.start is not None or args.end is not None:
        if args.start is None or args.end is None:
            raise SystemExit("report: give both --from and --to (or --week)")
        if args.end < args.start:
            raise SystemExit(f"report: --to {args.end} is before --from {args.start}")
        return args.start, args.end
    if args.week in (None, "last"):
        return last_week(today)
    try:
        return week_of(_day(args.week))
    except argparse.ArgumentTypeError as exc:
        raise SystemExit(f"report: --week {exc}") from None


def target(args: argparse.Namespace, channel: str, start: date, end: date) -> tuple[str, Path | None]:
    """(format, path) from --format and --out; path None for standard output (pure)."""
    out = args.out
    fmt = args.format or ("pdf" if out and out.lower().endswith(".pdf") else "html")
    name = f"chzzk-report-{channel[:12]}-{start.isoformat()}-{end.isoformat()}-{args.lang}.{fmt}"
    if out == "-":
        return fmt, None
    if not out:
        return fmt, Path.cwd() / name
    path = Path(out)
    return fmt, path / name if path.is_dir() or out.endswith(("/", os.sep)) else path


def run(args: argparse.Namespace) -> int:
    import warehouse
    from warehouse.report import figures, page, pdf

    tz = settings.get("DISPLAY_TZ") or "Asia/Seoul"
    start, end = period(args, datetime.now(ZoneInfo(tz)).date())
    fmt, path = target(args, args.channel, start, end)
    began = time.monotonic()
    wh = warehouse.open(settings.warehouse_dir())
    try:
        report = figures.channel_report(wh, args.channel, start, end)
    except figures.UnknownChannel as exc:
        raise SystemExit(f"report: {exc}") from None
    finally:
        wh.close()
    gathered = time.monotonic()
    html = page.render_html(report, args.lang)
    try:
        body = pdf.render_pdf(html) if fmt == "pdf" else html.encode("utf-8")
    except pdf.ReportError as exc:
        raise SystemExit(f"report: {exc}") from None
    if path is None:
        sys.stdout.buffer.write(body)
        sys.stdout.flush()
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        part = path.with_name(path.name + ".part")
        part.write_bytes(body)
        os.replace(part, path)  # a cron job's reader never sees half a file
        print(path)
    log.info("report of %s for %s..%s (%s, %s): %d bytes; figures %.2fs, %s %.2fs", args.channel, start, end,
             args.lang, fmt, len(body), gathered - began, fmt, time.monotonic() - gathered)
    return 0
