"""Chat text shown as text wherever a notebook displays a chart or a table.

Channel names, nicknames, broadcast titles and messages are untrusted: anyone with an ingest
key, or CHZZK itself, sets them. Importing this module (dashboard.charts does, so every
notebook that draws a chart has it) installs, once per process:

- Altair: the renderer ``text_safe``, Altair's own HTML renderer (a <div> and an inline
  <script> that calls vegaEmbed) with the spec's JSON written script-safe: ``<``, ``>``,
  ``&``, U+2028 and U+2029 as ``\\uXXXX`` escapes, the same string to JavaScript. Altair's
  default writes them raw, so a name holding ``</script>`` ends the script and the rest of
  the name is live HTML in JupyterLab's origin. It is registered under the names of
  Altair's HTML renderers too (default, html, colab, kaggle, zeppelin), so enabling one of
  them later stays safe; the renderers that hand the spec to the frontend as JSON
  (jupyterlab, mimetype, json) are left alone: Vega draws text as text.
  ``Chart.to_html()`` and ``Chart.save()`` do not go through a renderer: pass them
  ``json_kwds={"cls": ScriptSafeJSONEncoder}``.
- In a Jupyter kernel, plotly: the renderer ``text_safe`` wraps the default renderers
  (plotly_mimetype in Jupyter) and gives them a copy of the figure whose strings have
  ``&``, ``<`` and ``>`` as entities. plotly.js renders a subset of HTML (``<b>``, ``<br>``,
  ``<a href>``) in titles, legends, tick labels, hover text and annotations and decodes the
  entities, so text shows as typed. Keys ending in ``template`` (hovertemplate,
  texttemplate, layout.template) are the figure's own markup and are kept.
- In a Jupyter kernel, pandas: ``styler.format.escape = "html"``, so a Styler escapes cell
  text as DataFrame.to_html does (a Styler does not by default).

polars' and pandas' DataFrame HTML escape cell text already (tests/dashboard/test_render_safety.py
checks each path). Streamlit does not use these renderers: st.altair_chart sends the spec as
data and vega-embed's tooltips escape it."""
from __future__ import annotations

import html
import json
import logging
import sys
from typing import Any

import altair as alt
from altair.utils.display import HTMLRenderer

log = logging.getLogger(__name__)

NAME = "text_safe"
ALTAIR_HTML_RENDERERS = frozenset({"default", "html", "colab", "kaggle", "zeppelin", NAME})
_SCRIPT_UNSAFE = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026",
                                "\u2028": "\\u2028", "\u2029": "\\u2029"})


def script_json(text: str) -> str:
    """JSON text made safe inside an HTML <script>: the characters that can end the script
    or start an HTML comment in it as \\u escapes (only strings hold them, so the value is
    unchanged)."""
    return text.translate(_SCRIPT_UNSAFE)


class ScriptSafeJSONEncoder(json.JSONEncoder):
    """json.dumps(..., cls=ScriptSafeJSONEncoder): JSON for an inline <script>."""

    def encode(self, o: Any) -> str:
        return script_json(super().encode(o))


altair_renderer = HTMLRenderer(
    mode="vega-lite", template="universal", vega_version=alt.VEGA_VERSION,
    vegaembed_version=alt.VEGAEMBED_VERSION, vegalite_version=alt.VEGALITE_VERSION,
    json_kwds={"cls": ScriptSafeJSONEncoder})


def text_only(node: Any, key: str = "") -> Any:
    """A copy of a plotly figure (dict) with `&`, `<` and `>` as entities in every string
    except under keys ending in "template" (the figure's own markup)."""
    if isinstance(node, str):
        return node if key.endswith("template") else html.escape(node, quote=False)
    if key.endswith("template"):
        return node
    if isinstance(node, dict):
        return {k: text_only(v, k) for k, v in node.items()}
    if isinstance(node, list | tuple):
        return [text_only(v, key) for v in node]
    if getattr(node, "dtype", None) is not None and node.dtype.kind in "OUS":  # a numpy array of text
        return [text_only(v, key) for v in node.tolist()]
    return node


def _plotly_renderer(inner: str):
    """A plotly renderer that draws with the renderers named in `inner` ("a+b") on text_only()."""
    import plotly.io as pio
    from plotly.io._base_renderers import MimetypeRenderer

    class TextSafe(MimetypeRenderer):
        def __init__(self, inner: str) -> None:
            self.inner = inner

        def activate(self) -> None:
            for name in self.inner.split("+"):
                pio.renderers[name].activate()

        def to_mimebundle(self, fig_dict: dict) -> dict:
            safe, bundle = text_only(fig_dict), {}
            for name in self.inner.split("+"):
                bundle.update(pio.renderers[name].to_mimebundle(dict(safe)))
            return bundle

    return TextSafe(inner)


def install_altair() -> None:
    """`text_safe` registered under its name and in place of Altair's HTML renderers, so
    enabling one of those later draws safely too; the active one re-enabled, options kept."""
    for name in ALTAIR_HTML_RENDERERS:
        alt.renderers.register(name, altair_renderer)
    if alt.renderers.active in ALTAIR_HTML_RENDERERS:
        alt.renderers.enable(alt.renderers.active, **alt.renderers.options)


def install_plotly() -> None:
    """Draw plotly figures through `text_safe` around the default renderers, when they all
    return a MIME bundle (an external renderer such as "browser" is left as it is)."""
    import plotly.io as pio
    from plotly.io._base_renderers import MimetypeRenderer

    inner = pio.renderers.default
    if not inner or inner == NAME:
        return
    if not all(isinstance(pio.renderers[name], MimetypeRenderer) for name in inner.split("+")):
        log.warning("plotly renderer %r left as it is: chat text in figures may render as HTML", inner)
        return
    pio.renderers[NAME] = _plotly_renderer(inner)
    pio.renderers.default = NAME


def install_pandas() -> None:
    """pandas Stylers escape cell text as HTML (DataFrame.to_html does already)."""
    try:
        import pandas as pd
    except ImportError:
        return
    pd.set_option("styler.format.escape", "html")


def install() -> None:
    """Everything above: Altair always (it is loaded already); plotly and pandas in a
    Jupyter kernel only, so the dashboard's server does not load them for nothing."""
    install_altair()
    if "ipykernel" in sys.modules:
        install_plotly()
        install_pandas()


install()
