"""Reading the dashboard's Vega-Lite charts in tests: the spec of an Altair chart (a builder's
output) or of an st.altair_chart element of an AppTest run, with its data back in place
(Streamlit moves datasets and inline values out of the spec into Arrow buffers)."""
from __future__ import annotations

import json

import altair as alt
import pyarrow as pa
from streamlit.testing.v1 import AppTest


def _arrow_rows(buffer: bytes) -> list[dict]:
    return pa.ipc.open_stream(buffer).read_all().to_pylist()


def spec(chart) -> dict:
    """The Vega-Lite spec of an Altair chart or of an AppTest vega_lite_chart element, with
    named datasets under "datasets" and inline data under "data"."""
    if isinstance(chart, alt.TopLevelMixin):
        return chart.to_dict()
    out = json.loads(chart.proto.spec)
    if chart.proto.datasets:
        out["datasets"] = {d.name: _arrow_rows(d.data.data) for d in chart.proto.datasets}
    if chart.proto.data.data:
        out["data"] = {"values": _arrow_rows(chart.proto.data.data)}
    return out


def specs(at: AppTest) -> list[dict]:
    """The specs of an AppTest run's charts, in page order."""
    return [spec(c) for c in at.get("vega_lite_chart")]


def title(s: dict) -> str | None:
    got = s.get("title")
    return got.get("text") if isinstance(got, dict) else got


def views(s: dict) -> list[dict]:
    """The single views of a spec (its layers and concatenated panels, depth first)."""
    for key in ("layer", "vconcat", "hconcat", "concat"):
        if key in s:
            return [v for part in s[key] for v in views(part)]
    return [s]


def rows(s: dict) -> list[dict]:
    """Every data row the spec holds: its named datasets, then inline values anywhere in it."""
    out = [r for data in s.get("datasets", {}).values() for r in data]
    for v in [s, *views(s)]:
        out += (v.get("data") or {}).get("values", [])
    return out


def axis_title(s: dict, channel: str = "x") -> list:
    """The titles the views give `channel` ("x", "y", "color"), in view order."""
    return [v["encoding"][channel].get("title") for v in views(s) if channel in v.get("encoding", {})]


def no_data_note(s: dict) -> str | None:
    """The note of an empty chart (charts.empty): its text mark's one value."""
    if s.get("mark", {}).get("type") != "text":
        return None
    return rows(s)[0]["note"]


def _data_rows(s: dict, data: dict | None) -> list[dict]:
    if not data:
        return []
    return data["values"] if "values" in data else s.get("datasets", {}).get(data.get("name"), [])


def view_rows(s: dict) -> list[list[dict]]:
    """Each view's data rows (its own data, else the nearest enclosing one's), in view order."""
    def walk(node: dict, inherited: dict | None) -> list[list[dict]]:
        data = node.get("data", inherited)
        for key in ("layer", "vconcat", "hconcat", "concat"):
            if key in node:
                return [r for part in node[key] for r in walk(part, data)]
        return [_data_rows(s, data)]
    return walk(s, None)


def marks(s: dict) -> list[str]:
    """The mark type of each view."""
    return [v["mark"]["type"] if isinstance(v["mark"], dict) else v["mark"] for v in views(s)]


def assert_no_html(s: dict) -> None:
    """Text in a Vega-Lite chart is drawn as text; the ways it could turn into markup or a
    link are an href or url encoding, an image mark, or a tooltip handler other than
    Streamlit's (vega-tooltip, which escapes values): none is used."""
    for v in views(s):
        mark = v["mark"]["type"] if isinstance(v["mark"], dict) else v["mark"]
        assert mark != "image" and not {"href", "url"} & set(v.get("encoding", {})), v
    assert "usermeta" not in s, s["usermeta"]
