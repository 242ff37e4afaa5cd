"""The report as one self-contained HTML page: a pure function of a Report and a language.

Channel names, nicknames, titles, emote codes and chat lines are untrusted: every one is
escaped (html.escape, quotes too) where it is placed, and the page carries a Content
Security Policy that forbids scripts and every fetch (default-src 'none'), so even a
mistake here could neither run code nor load anything. Charts are inline SVG
(warehouse/report/charts.py); fonts are the reader's own (Korean: Noto Sans CJK KR, Malgun
Gothic, Apple SD Gothic Neo); emotes show as their codes, never as remote images."""
from __future__ import annotations

from datetime import datetime, time
from html import escape

import polars as pl

from warehouse.report import charts, text
from warehouse.report.figures import HEADLINE, Report
from warehouse.report.text import t

CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src 'none'; form-action 'none'; base-uri 'none'"
STYLE = """
@page { size: A4; margin: 10mm; }
* { box-sizing: border-box; }
body { font-family: "Noto Sans CJK KR", "Noto Sans KR", "Malgun Gothic", "Apple SD Gothic Neo", sans-serif;
       color: #111827; margin: 0 auto; max-width: 760px; font-size: 10px; line-height: 1.35; }
h1 { font-size: 18px; margin: 0 0 2px; } h2 { font-size: 11.5px; margin: 8px 0 3px; }
.sub { color: #4b5563; margin: 0 0 6px; }
.figures { display: grid; grid-template-columns: repeat(5, 1fr); gap: 4px; }
.figure { border: 1px solid #e5e7eb; border-radius: 4px; padding: 3px 6px; }
.figure b { display: block; font-size: 14px; } .figure span { color: #4b5563; }
.chart { width: 100%; height: auto; display: block; }
.chart text { font-size: 9px; fill: #4b5563; } .chart .grid { stroke: #e5e7eb; } .chart .day { stroke: #f3f4f6; }
.grid2 { display: grid; grid-template-columns: 1fr 1fr 1fr; gap: 8px; }
table { border-collapse: collapse; width: 100%; table-layout: fixed; }
th, td { text-align: left; padding: 1px 3px; border-bottom: 1px solid #f3f4f6; overflow: hidden;
         text-overflow: ellipsis; white-space: nowrap; }
th { color: #4b5563; font-weight: 600; } td.n, th.n { text-align: right; width: 22%; } td.r, th.r { width: 11%; }
td.s, th.s { text-align: right; width: 8%; }
.note { color: #6b7280; } footer { color: #9ca3af; margin-top: 8px; font-size: 8.5px; }
"""
TOP_LINE_CHARS = 60  # a moment's most repeated line, cut for the page


def render_html(report: Report, lang: str) -> str:
    """The report in `lang` ("ko" or "en") as a complete HTML document (a str)."""
    lang = text.check_lang(lang)
    name = report.channel_name or report.channel_id
    period = f"{report.start.isoformat()} – {report.end.isoformat()}"
    parts = [
        f'<!doctype html><html lang="{lang}"><head><meta charset="utf-8">'
        f'<meta http-equiv="Content-Security-Policy" content="{CSP}">'
        f"<title>{escape(t('title', lang))} · {escape(name)} · {period}</title><style>{STYLE}</style></head><body>",
        f"<header><h1>{escape(name)}</h1><p class=\"sub\">{escape(t('title', lang))} · {escape(t('period', lang))} "
        f"{period} · {escape(t('times_in', lang))} {escape(report.tz)} · {escape(report.channel_id)}</p></header>",
        _figures(report, lang),
        _activity(report, lang),
        _viewers(report, lang),
        '<div class="grid2">', _chatters(report, lang), _emotes(report, lang), _donors(report, lang), "</div>",
        _moments(report, lang),
        f"<footer>{escape(t('footer', lang))}</footer></body></html>",
    ]
    return "".join(parts)


def _figures(report: Report, lang: str) -> str:
    cells = "".join(f'<div class="figure"><b>{escape(text.figure(k, report.headline.get(k), lang))}</b>'
                    f"<span>{escape(t(k, lang))}</span></div>" for k in HEADLINE)
    return f'<section class="figures">{cells}</section>'


def _activity(report: Report, lang: str) -> str:
    head = f"<h2>{escape(t('activity', lang))}</h2>"
    if report.activity.is_empty():
        return head + f"<p class=\"note\">{escape(t('no_rows', lang))}</p>"
    a = hourly(report)
    times = a["bucket"].to_list()
    return head + charts.line_chart(
        [charts.Series(t("legend_messages", lang), times, a["messages"].to_list()),
         charts.Series(t("legend_chatters", lang), times, a["chatters"].to_list())],
        report.start, report.end, report.tz, lambda v: text.axis(v, lang), t("activity", lang))


def hourly(report: Report) -> pl.DataFrame:
    """The activity with every hour of the period, an hour without lines at 0 (a line drawn
    across a quiet night would say there was chat)."""
    zone = report.activity["bucket"].dtype.time_zone or report.tz
    hours = pl.datetime_range(datetime.combine(report.start, time()), datetime.combine(report.end, time(23)),
                              "1h", time_zone=zone, eager=True).alias("bucket")
    return (pl.DataFrame(hours).join(report.activity, on="bucket", how="left")
            .with_columns(pl.col("messages", "chatters").fill_null(0)).sort("bucket"))


def _viewers(report: Report, lang: str) -> str:
    v = report.viewers
    head = f"<h2>{escape(t('viewer_curve', lang))}</h2>"
    if v.filter(pl.col("viewers").is_not_null()).is_empty():
        return head + f"<p class=\"note\">{escape(t('no_viewers', lang))}</p>"
    # one line over the period, broken at each curve's gaps and between broadcasts
    times, values = [], []
    for _, curve in v.sort("time").group_by("broadcast", maintain_order=True):
        times += curve["time"].to_list() + [curve["time"].max()]
        values += curve["viewers"].to_list() + [None]
    return head + charts.line_chart([charts.Series(t("legend_viewers", lang), times, values)],
                                    report.start, report.end, report.tz, lambda x: text.axis(x, lang),
                                    t("viewer_curve", lang))


def _table(title: str, head: list[tuple[str, str]], rows: list[list[str]], lang: str) -> str:
    """A table of already formatted cells (escaped here); head: (label, css class)."""
    out = [f"<section><h2>{escape(title)}</h2>"]
    if not rows:
        return out[0] + f"<p class=\"note\">{escape(t('no_rows', lang))}</p></section>"
    out.append("<table><thead><tr>" + "".join(f'<th class="{c}">{escape(h)}</th>' for h, c in head)
               + "</tr></thead><tbody>")
    for row in rows:
        out.append("<tr>" + "".join(f'<td class="{c}">{escape(v)}</td>'
                                    for v, (_, c) in zip(row, head, strict=True)) + "</tr>")
    return "".join(out) + "</tbody></table></section>"


def _chatters(report: Report, lang: str) -> str:
    rows = [[str(r["rank"]), r["nickname"] or r["user_id"], text.count(r["messages"]), text.percent(r["share"])]
            for r in report.chatters.iter_rows(named=True)]
    return _table(t("top_chatters", lang), [(t("rank", lang), "r"), (t("nickname", lang), ""),
                                            (t("messages", lang), "n"), (t("share", lang), "n")], rows, lang)


def _emotes(report: Report, lang: str) -> str:
    rows = [[str(r["rank"]), r["emote"], text.count(r["uses"]), text.count(r["chatters"])]
            for r in report.emotes.iter_rows(named=True)]
    return _table(t("top_emotes", lang), [(t("rank", lang), "r"), (t("emote", lang), ""),
                                          (t("uses", lang), "n"), (t("users", lang), "n")], rows, lang)


def _donors(report: Report, lang: str) -> str:
    rows = [[str(r["rank"]), r["donor"] if r["user_id"] is not None else t("anonymous", lang),
             text.count(r["donations"]), text.won(r["amount"], lang)] for r in report.donors.iter_rows(named=True)]
    return _table(t("donors", lang), [(t("rank", lang), "r"), (t("donor", lang), ""),
                                      (t("count", lang), "n"), (t("amount", lang), "n")], rows, lang)


def _reason(reason: str, dominated: bool, lang: str) -> str:
    said = "+".join(t(f"reason_{r}", lang) for r in reason.split("+") if f"reason_{r}" in text.LABELS)
    return f"{said} ({t('dominated', lang)})" if dominated else said


def _moments(report: Report, lang: str) -> str:
    rows = []
    for r in report.moments.iter_rows(named=True):
        line = r["top_line"] or ""
        rows.append([text.clock(r["start"], report.tz), r["title"] or r["broadcast"], text.offset(r["offset_seconds"]),
                     _reason(r["reason"], bool(r["dominated"]), lang), text.count(r["messages"]),
                     line if len(line) <= TOP_LINE_CHARS else line[:TOP_LINE_CHARS] + "…"])
    return _table(t("moments", lang), [(t("started", lang), ""), (t("title_col", lang), ""), (t("offset", lang), ""),
                                       (t("reason", lang), ""), (t("messages", lang), "s"),
                                       (t("top_line", lang), "")], rows, lang)
