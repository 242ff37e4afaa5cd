"""Chat text stays text in every renderer a notebook shows it through: Altair's HTML and
MIME renderers, plotly's Jupyter renderers, polars' and pandas' tables (Styler too). The
payloads (tests/hostile_text.py) are channel names, nicknames, titles and messages."""
from __future__ import annotations

import html
import json
from datetime import datetime

import altair as alt
import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import polars as pl
import pytest

from dashboard import charts, safe_display
from tests.hostile_text import PAYLOADS, html_problems, plotly_markup

pytestmark = pytest.mark.unit
NAMES = ["우왁굳" + p for p in PAYLOADS]


def _activity() -> pl.DataFrame:
    return pl.DataFrame({
        "channel_id": [f"c{i}" for i in range(len(NAMES))], "channel_name": NAMES,
        "bucket": [datetime(2026, 9, 1, 20)] * len(NAMES), "messages": range(1, len(NAMES) + 1),
        "chatters": [1] * len(NAMES)})


def _bundle(obj) -> dict:
    got = obj._repr_mimebundle_()
    return got[0] if isinstance(got, tuple) else got


@pytest.fixture
def altair_renderer():
    """Puts Altair's renderer back as it was after a test that enables another."""
    before, options = alt.renderers.active, alt.renderers.options
    yield
    alt.renderers.enable(before, **options)


@pytest.mark.parametrize("renderer", ["default", "html", "colab", "kaggle", "zeppelin", "mimetype",
                                      "jupyterlab", "json"])
def test_altair_outputs_keep_names_as_text(renderer, altair_renderer):
    """A dashboard chart with hostile channel names, through each Altair renderer Jupyter
    may use: no break-out, no handler, no URL in any text/html; the names all still there."""
    alt.renderers.enable(renderer)
    bundle = _bundle(charts.activity_figure(_activity(), tz="UTC"))
    assert bundle
    for mime, value in bundle.items():
        if mime == "text/html":
            assert html_problems(value) == [], value[-2000:]


def test_notebooks_get_the_safe_renderer():
    """Importing dashboard.charts (every notebook that draws a chart does) leaves the
    active Altair renderer safe, and the embedded spec decodes to the same names."""
    assert alt.renderers.active in safe_display.ALTAIR_HTML_RENDERERS
    page = _bundle(charts.tier_split_figure(pl.DataFrame({
        "channel_id": ["a", "b"], "channel_name": NAMES[:2], "tier": ["none", "tier 1"],
        "chatters": [3, 4], "messages": [5, 6]})))["text/html"]
    assert html_problems(page) == []
    spec = json.loads(page[page.index("})(") + 3: page.rindex(", {")])  # the spec argument
    assert {r["channel_name"] for rows in spec["datasets"].values() for r in rows} == set(NAMES[:2])


def test_checker_sees_altairs_stock_html_break_out():
    """Chart.to_html() is Altair's stock embedding (JSON written raw): the checker must flag
    it, or the tests above prove nothing."""
    page = charts.activity_figure(_activity(), tz="UTC").to_html(fullhtml=False)
    found = html_problems(page)
    assert any("broke out" in p for p in found) and any("onerror" in p for p in found), found
    assert html_problems(charts.activity_figure(_activity(), tz="UTC").to_html(
        fullhtml=False, json_kwds={"cls": safe_display.ScriptSafeJSONEncoder})) == []


@pytest.mark.parametrize("text", [*PAYLOADS, "plain 한글 & more"])
def test_script_json_is_the_same_value(text):
    raw = json.dumps({"name": text})
    safe = safe_display.script_json(raw)
    assert json.loads(safe) == {"name": text}
    assert not {"<", ">", "&", "\u2028", "\u2029"} & set(safe)


@pytest.fixture
def plotly_in_jupyter(monkeypatch):
    """plotly's renderer as in a Jupyter kernel, then made safe."""
    monkeypatch.setattr(pio.renderers, "default", "plotly_mimetype")
    safe_display.install_plotly()
    yield
    pio.renderers.default = ""


def test_plotly_outputs_keep_names_as_text(plotly_in_jupyter):
    """A plotly figure with hostile categories, trace names, title and axis title: the
    mimetype JSON (drawn by plotly.js, which renders <b>, <a href> …) holds no markup but
    its own templates, and the text reads back unchanged."""
    fig = go.Figure([go.Bar(x=NAMES, y=list(range(len(NAMES))), name=NAMES[0], text=NAMES,
                            hovertemplate="%{x}<br>%{y}<extra></extra>")])
    fig.update_layout(title=NAMES[1], xaxis_title=NAMES[2])
    bundle = _bundle(fig)
    figure = bundle["application/vnd.plotly.v1+json"]
    assert plotly_markup(figure) == []
    assert [html.unescape(x) for x in figure["data"][0]["x"]] == NAMES  # what plotly.js shows
    assert figure["data"][0]["hovertemplate"] == "%{x}<br>%{y}<extra></extra>"


def test_plotly_html_escapes_its_json():
    """plotly's HTML (fig.to_html, and the notebook renderers built on it) writes its JSON
    script-safe by itself."""
    fig = go.Figure(go.Bar(x=NAMES, y=list(range(len(NAMES))), name=NAMES[0]))
    assert html_problems(fig.to_html(include_plotlyjs=False, full_html=False)) == []


def test_polars_and_pandas_tables_escape_text():
    df = pl.DataFrame({"channel_name": NAMES, "message": list(reversed(NAMES))})
    assert html_problems(df._repr_html_()) == []
    assert html_problems(df.to_pandas()._repr_html_()) == []
    assert html_problems(df.to_pandas().to_html()) == []


def test_pandas_styler_escapes_text():
    """A Styler writes cell text raw unless styler.format.escape is "html"; the kernel's
    install sets it."""
    safe_display.install_pandas()
    try:
        assert html_problems(pl.DataFrame({"name": NAMES}).to_pandas().style.to_html()) == []
    finally:
        pd.reset_option("styler.format.escape")


@pytest.mark.parametrize(("page", "bad"), [
    ('<div id="a"></div><script>f({"a": "x\\u003c/script\\u003e alert(1)"});</script>', False),
    ('<script>f({"a": "x</script><img src=x onerror=alert(1)>"});</script>', True),
    ("<div><script>alert(4)</script></div>", True),
    ("<table><tr><td><script>x()</script></td></tr></table>", True),
    ('<div><a href=" jav&#x09;ascript:alert(1)">x</a></div>', True),
    ("<div>&lt;svg onload=alert(2)&gt; &lt;!--</div>", False),
    ("<div>a<!--<script></div>", True),
    ('<script>var s = "<!--<script>";</script>', True),
])
def test_checker_tells_text_from_markup(page, bad):
    assert bool(html_problems(page)) is bad, html_problems(page)
