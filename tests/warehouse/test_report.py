"""The channel report (warehouse/report, issue 20 §9): each part equals the analyst API's
answer and the headline the fixture's rows counted in plain Python; the HTML escapes hostile
text (tests/hostile_text.py) and adds no element, script or fetch of its own; both
languages; the PDF read back by a third-party reader (pypdf) holds the Korean text; the
`report` command's files, exit codes and errors."""
from __future__ import annotations

import os
import re
import subprocess
import sys
from datetime import UTC, date, datetime, timedelta
from html.parser import HTMLParser
from pathlib import Path
from zoneinfo import ZoneInfo

import polars as pl
import pytest

import warehouse as w
from tests import viewer_answers
from tests.hostile_text import PAYLOADS
from tests.lakefixture_rich import user_rows
from tests.page_checks import FIRST, LAST
from warehouse.report import charts, figures, page, pdf, text
from warehouse.report.cli import period, target

REPO = Path(__file__).resolve().parents[2]
# every element the page writes; nothing from the data may add one
PAGE_TAGS = {"html", "head", "meta", "title", "style", "body", "header", "h1", "h2", "p", "section", "div", "b",
             "span", "svg", "line", "text", "rect", "circle", "polyline", "table", "thead", "tbody", "tr", "th",
             "td", "footer"}


@pytest.fixture(scope="module")
def lake(tmp_path_factory):
    root = tmp_path_factory.mktemp("report_lake")
    facts = viewer_answers.build_viewers_lake(root)
    wh = w.open(str(root))
    yield root, facts, wh
    wh.close()


@pytest.mark.parametrize("which", ["first", "adv"])
def test_gathered_parts_are_the_api_answers(lake, which):
    root, facts, wh = lake
    cid = facts["channel_ids"][0] if which == "first" else facts["adv_channel"]
    r = figures.channel_report(wh, cid, FIRST, LAST)
    one = [cid]
    assert r.chatters.equals(w.top_chatters(wh, one, FIRST, LAST, limit=figures.TOP))
    assert r.emotes.equals(w.emote_ranking(wh, one, FIRST, LAST, limit=figures.TOP))
    assert r.donors.equals(w.donation_ranking(wh, one, FIRST, LAST, limit=figures.TOP))
    assert r.broadcasts.equals(w.broadcast_viewers(wh, one, FIRST, LAST))
    assert r.activity.equals(w.activity(wh, one, FIRST, LAST, every="hour").select("bucket", "messages", "chatters"))
    curves = [w.viewer_curve(wh, cid, bc) for bc in r.broadcasts.sort("started")["broadcast"]]
    assert r.viewers.drop("broadcast").equals(pl.concat(curves))
    per_bc = [w.highlights(wh, cid, bc, limit=figures.MOMENTS_PER_BROADCAST) for bc in r.broadcasts["broadcast"]]
    best = sorted(((m["score"], m["messages"]) for h in per_bc for m in h.iter_rows(named=True)), reverse=True)
    assert list(r.moments.select("score", "messages").iter_rows()) == best[:figures.MOMENTS]
    assert r.channel_name == facts["channel_names"][cid]


def test_headline_counted_in_plain_python(lake):
    root, facts, wh = lake
    cid = facts["channel_ids"][0]
    r = figures.channel_report(wh, cid, FIRST, LAST)
    rows = user_rows(facts, [cid], FIRST, LAST)
    assert r.headline["messages"] == len(rows) > 0
    assert r.headline["chatters"] == len({x["user_id"] for x in rows if x["user_id"] != "anonymous"})
    started = {b["broadcast"] for b in facts["broadcasts"] if b["channel_id"] == cid
               and FIRST <= b["start"].astimezone(ZoneInfo(wh.tz)).date() <= LAST}
    assert r.headline["broadcasts"] == len(started)
    polled = viewer_answers.broadcast_viewers(facts, 360)
    mine = {bc: v for bc, v in polled.items() if bc in started}
    assert r.headline["hours_watched"] == pytest.approx(sum(v["hours_watched"] for v in mine.values()))
    assert r.headline["peak_viewers"] == max(v["peak_viewers"] for v in mine.values())


def test_unknown_channel_and_backwards_period(lake):
    _, facts, wh = lake
    with pytest.raises(figures.UnknownChannel, match="not in the lake"):
        figures.channel_report(wh, "f" * 32, FIRST, LAST)
    with pytest.raises(ValueError, match="before it starts"):
        figures.channel_report(wh, facts["channel_ids"][0], LAST, FIRST)


# -- rendering: pure ------------------------------------------------------------------------

KST = "Asia/Seoul"
T0 = datetime(2026, 10, 6, 20, 0, tzinfo=UTC)


def _report(name: str, texts: list[str]) -> figures.Report:
    """A report made by hand whose every text from the data is one of `texts`."""
    n = len(texts)
    hours = [T0 + timedelta(hours=k) for k in range(3)]
    return figures.Report(
        channel_id="c" * 32, channel_name=name, start=date(2026, 10, 5), end=date(2026, 10, 11), tz=KST,
        headline={"messages": 97361, "chatters": 1234, "broadcasts": 3, "hours_streamed": 12.25,
                  "avg_viewers": 7245.8678, "peak_viewers": 12000, "hours_watched": 800.5, "viewer_coverage": 0.8533,
                  "donations": 42, "donation_amount": 383000},
        activity=pl.DataFrame({"bucket": hours, "messages": [10, 30, 20], "chatters": [5, 9, 7]}).with_columns(
            pl.col("bucket").dt.convert_time_zone(KST)),
        viewers=pl.DataFrame({"time": hours + [T0 + timedelta(hours=4)], "offset_minutes": [0, 60, 120, 240],
                              "viewers": [100, None, 150, 160], "broadcast": ["b1"] * 4}).with_columns(
            pl.col("time").dt.convert_time_zone(KST)),
        broadcasts=pl.DataFrame(),
        chatters=pl.DataFrame({"channel_id": ["c" * 32] * n, "user_id": [f"u{k}" for k in range(n)],
                               "nickname": texts, "messages": list(range(n, 0, -1)),
                               "share": [0.1] * n, "rank": list(range(1, n + 1))}),
        emotes=pl.DataFrame({"emote": texts, "url": [None] * n, "uses": [3] * n, "lines": [3] * n,
                             "share": [0.1] * n, "chatters": [2] * n, "emote_only": [0] * n,
                             "rank": list(range(1, n + 1))}),
        donors=pl.DataFrame({"channel_id": ["c" * 32] * (n + 1), "donor": texts + ["익명"],
                             "user_id": [f"u{k}" for k in range(n)] + [None], "donations": [1] * (n + 1),
                             "amount": [1000] * (n + 1), "rank": list(range(1, n + 2))}),
        moments=pl.DataFrame({"broadcast": ["b1"] * n, "title": texts, "start": [T0] * n,
                              "offset_seconds": [3723] * n, "duration_seconds": [60] * n,
                              "reason": ["volume+surge"] * n, "score": [1.0] * n, "messages": [50] * n,
                              "top_nickname": texts, "dominated": [True] * n, "top_line": texts}))


class _Parsed(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.tags, self.attrs, self.data = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        self.attrs += [(tag, k, v) for k, v in attrs]

    def handle_data(self, data):
        self.data.append(data)


def _parsed(html: str) -> _Parsed:
    p = _Parsed()
    p.feed(html)
    p.close()
    return p


@pytest.mark.parametrize("lang", ["ko", "en"])
def test_hostile_text_stays_text(lang):
    hostile = page.render_html(_report(PAYLOADS[0], list(PAYLOADS)), lang)
    plain = page.render_html(_report("plain", [f"t{k}" for k in range(len(PAYLOADS))]), lang)
    got, calm = _parsed(hostile), _parsed(plain)
    assert set(got.tags) <= PAGE_TAGS
    assert got.tags == calm.tags  # the data added no element
    assert [(t, k) for t, k, _ in got.attrs] == [(t, k) for t, k, _ in calm.attrs]
    assert not [a for a in got.attrs if a[1].startswith("on") or a[1] in ("src", "href", "srcset", "action")]
    assert "<script" not in hostile.lower() and "javascript:" not in hostile.lower().replace("javascript:alert", "")
    shown = "".join(got.data)
    for payload in PAYLOADS:  # still there, as text (the table cells are cut nowhere; the moment's line at 60)
        assert payload.strip() in shown, payload
    csp = [v for t, k, v in got.attrs if t == "meta" and k == "content" and "default-src" in (v or "")]
    assert csp == [page.CSP] and "default-src 'none'" in page.CSP and "script-src" not in page.CSP


def test_both_languages_and_number_formats():
    r = _report("채널", ["하나", "둘"])
    ko, en = page.render_html(r, "ko"), page.render_html(r, "en")
    assert '<html lang="ko">' in ko and '<html lang="en">' in en
    for key in ("messages", "top_chatters", "moments", "donors"):
        assert text.t(key, "ko") in ko and text.t(key, "en") in en
    assert "97,361" in ko and "97,361" in en and "85.3%" in ko and "7,245.9" in en
    assert "383,000원" in ko and "₩383,000" in en
    assert "1:02:03" in ko  # the replay offset
    assert "익명" in ko and "anonymous" in en  # the anonymous donor in the page's language
    assert "채팅량+급증" in ko and "volume+surge" in en and "(one chatter)" in en
    assert "2026-10-07 05:00" in ko  # a moment's start in the report's zone (20:00 UTC = 05:00 KST)
    with pytest.raises(ValueError, match="lang"):
        page.render_html(r, "jp")


def test_charts_break_at_gaps_and_fill_quiet_hours():
    html = page.render_html(_report("x", ["a"]), "en")
    viewers = html.split(f"<h2>{text.t('viewer_curve', 'en')}</h2>")[1].split("</svg>")[0]  # its chart
    # 100 | gap | 150, 160: one lone point and one line
    assert viewers.count("<polyline") == 1 and viewers.count("<circle") == 1
    late = datetime(2026, 10, 11, 14, 0, tzinfo=UTC)  # 23:00 on the period's last day, then past its end
    svg = charts.line_chart([charts.Series("v", [late, late + timedelta(minutes=30), late + timedelta(hours=2)],
                                           [1, 2, 3])], date(2026, 10, 5), date(2026, 10, 11), KST, str, "x")
    (points,) = re.findall(r'<polyline points="([^"]*)"', svg)
    assert len(points.split()) == 2  # two points drawn, not three
    filled = page.hourly(_report("x", ["a"]))
    assert filled.height == 7 * 24 and filled["messages"].sum() == 60


def test_empty_report_renders():
    r = figures.Report(channel_id="c" * 32, channel_name=None, start=date(2026, 10, 5), end=date(2026, 10, 11),
                       tz=KST, headline=figures.headline(pl.DataFrame(), pl.DataFrame({"minutes": []})),
                       activity=pl.DataFrame(schema={"bucket": pl.Datetime("us", KST), "messages": pl.Int64,
                                                     "chatters": pl.Int64}),
                       viewers=pl.DataFrame(schema={"time": pl.Datetime("us", KST), "viewers": pl.Int64,
                                                    "broadcast": pl.Utf8}),
                       chatters=pl.DataFrame(), emotes=pl.DataFrame(), donors=pl.DataFrame(),
                       moments=pl.DataFrame())
    html = page.render_html(r, "ko")
    assert text.t("no_viewers", "ko") in html and html.count(text.t("no_rows", "ko")) == 5


def test_period_and_target():
    monday, sunday = date(2026, 10, 12), date(2026, 10, 18)

    class A:
        week, start, end, out, format, lang = None, None, None, None, None, "ko"
    assert period(A, monday) == (date(2026, 10, 5), date(2026, 10, 11))
    assert period(A, sunday) == (date(2026, 10, 5), date(2026, 10, 11))
    A.week = "2026-10-14"
    assert period(A, monday) == (monday, sunday)
    A.out = "x/r.pdf"
    assert target(A, "c" * 32, monday, sunday) == ("pdf", Path("x/r.pdf"))
    A.out = "-"
    assert target(A, "c" * 32, monday, sunday) == ("html", None)


# -- PDF and the command ----------------------------------------------------------------

def test_pdf_text_read_back_by_pypdf():
    pypdf = pytest.importorskip("pypdf")
    if pdf.chromium() is None:
        pytest.skip("no Chromium (make system-deps)")
    import io
    body = pdf.render_pdf(page.render_html(_report("도롱뇽 채널", ["귀여운 암살자", PAYLOADS[2]]), "ko"))
    assert body.startswith(b"%PDF-")
    reader = pypdf.PdfReader(io.BytesIO(body))
    got = "".join(p.extract_text() for p in reader.pages)
    for want in ("도롱뇽 채널", "채널 리포트", "채팅 상위 참여자", "귀여운 암살자", "383,000원", "하이라이트"):
        assert want in got, want
    assert len(reader.pages) == 1  # one page


def test_report_command(lake, tmp_path, monkeypatch, capsys):
    root, facts, wh = lake
    cid = facts["adv_channel"]
    done = subprocess.run([sys.executable, "-m", "warehouse", "report", "--channel", cid, "--week", "2026-10-09",
                           "--lang", "en", "--out", f"{tmp_path}/"], cwd=REPO, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "WAREHOUSE_DIR": str(root), "LOG_LEVEL": "WARNING"})
    assert done.returncode == 0, done.stderr
    written = Path(done.stdout.strip())
    assert written.parent == tmp_path and written.name.endswith("-2026-10-05-2026-10-11-en.html")
    html = written.read_text()
    want = page.render_html(figures.channel_report(wh, cid, date(2026, 10, 5), date(2026, 10, 11)), "en")
    assert html == want and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    # the errors, in process (as `python -m warehouse` runs them)
    from core.cli import main
    from warehouse.__main__ import COMMANDS
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    for argv, says in ((["--channel", "f" * 32, "--week"], "is not in the lake"),
                       (["--channel", cid, "--from", "2026-10-01"], "give both --from and --to"),
                       (["--channel", cid, "--from", "2026-10-02", "--to", "2026-10-01"], "is before --from")):
        with pytest.raises(SystemExit) as exc:
            main("warehouse", "", COMMANDS, ["report", *argv])
        assert says in str(exc.value.code), argv
    with pytest.raises(SystemExit) as exc:
        main("warehouse", "", COMMANDS, ["report", "--channel", cid, "--from", "10/01/2026", "--to", "2026-10-02"])
    assert exc.value.code == 2 and "YYYY-MM-DD" in capsys.readouterr().err
