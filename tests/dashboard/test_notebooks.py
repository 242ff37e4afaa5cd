"""Every notebook in notebooks/ executed top to bottom with nbclient against the rich fixture
lake, on a kernel that runs this interpreter (the project's virtualenv). Each run must print
the answers tests/notebook_answers.py computes in plain Python from the fixture's rows.

The lake is the hostile variant (tests/lakefixture_rich.py, hostile=True): channel names,
nicknames, messages and titles carry script break-outs, event handlers and javascript: links,
and the busiest channel's lines carry no broadcast id (as imported logs). Every text/html
output must hold no markup or script from them (tests/hostile_text.html_problems), every
plotly figure no markup plotly.js would render."""
from __future__ import annotations

import json
import os
import re
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests import compare_answers, highlight_answers, viewer_answers
from tests import notebook_answers as answers
from tests.hostile_text import html_problems, plotly_markup
from tests.lakefixture_rich import CHANNEL_NAMES, build_rich_lake

REPO = Path(__file__).resolve().parents[2]
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))
# what each notebook must print, given the fixture's facts and the notebook's parameters
VEGA_LITE = "vegaEmbed("  # an Altair chart's output (its default renderer: HTML that embeds the spec)
EXPECTED = {
    "01_tour.ipynb": lambda facts, p: answers.tour(facts),
    "02_channel_activity.ipynb": lambda facts, p: answers.channel_activity(facts),
    "03_subscribers_and_retention.ipynb": lambda facts, p: answers.subscribers_and_retention(facts),
    "04_users_and_keywords.ipynb": lambda facts, p: answers.users_and_keywords(facts, p["query"], p["keywords"]),
    "05_raw_sql.ipynb": lambda facts, p: answers.raw_sql(facts),
    "06_viewers_and_categories.ipynb": lambda facts, p: viewer_answers.notebook(facts),
    "07_emotes_and_words.ipynb": lambda facts, p: answers.emotes_and_words(facts),
    "08_highlights_and_moderation.ipynb": lambda facts, p: highlight_answers.notebook(facts, p["keywords"]),
    "09_compare.ipynb": lambda facts, p: compare_answers.notebook(facts),
}


@pytest.fixture(scope="module")
def jupyter_path(tmp_path_factory) -> str:
    """A folder with a `python3` kernelspec that starts sys.executable."""
    root = tmp_path_factory.mktemp("jupyter")
    spec_dir = root / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec_dir.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (project venv)", "language": "python",
    }))
    return str(root)


@pytest.fixture(scope="module")
def hostile_lake(tmp_path_factory) -> tuple[str, dict]:
    """The rich lake with hostile text, channel 0 (the busiest) without broadcasts."""
    root = tmp_path_factory.mktemp("hostile")
    return str(root), build_rich_lake(root, hostile=True, without_broadcasts=(0,))


@pytest.fixture
def facts(hostile_lake, jupyter_path, monkeypatch) -> dict:
    """The hostile lake's facts, with WAREHOUSE_DIR pointing at it for the kernel."""
    root, facts = hostile_lake
    monkeypatch.setenv("JUPYTER_PATH", jupyter_path)
    monkeypatch.setenv("WAREHOUSE_DIR", root)
    for name in ("DISPLAY_TZ", "DATA_DIR"):
        monkeypatch.delenv(name, raising=False)
    return facts


def parameters(nb: nbformat.NotebookNode) -> dict:
    """The values the notebook's `parameters` cell assigns (papermill's convention)."""
    values: dict = {}
    for cell in nb.cells:
        if "parameters" in cell.metadata.get("tags", []):
            exec(cell.source, {}, values)  # noqa: S102 - our own committed notebook
    return values


def run(path: Path, overrides: dict | None = None) -> tuple[nbformat.NotebookNode, dict]:
    """Execute the notebook (with `overrides` assigned right after its parameters cell, as
    papermill injects them); return it with its outputs, and the parameters in force."""
    nb = nbformat.read(path, as_version=4)
    params = parameters(nb)
    if overrides:
        at = next(i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", []))
        source = "\n".join(f"{k} = {v!r}" for k, v in overrides.items())
        nb.cells.insert(at + 1, nbformat.v4.new_code_cell(source))
        params.update(overrides)
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env={**os.environ})  # raises CellExecutionError on the first failing cell
    return nb, params


def printed(nb: nbformat.NotebookNode) -> str:
    return "".join(o.text for c in nb.cells if c.cell_type == "code"
                   for o in c.outputs if o.output_type == "stream" and o.name == "stdout")


def unsafe_outputs(nb: nbformat.NotebookNode) -> list[str]:
    """Each text/html output's markup or script from the data, each plotly figure's strings
    with markup, as "cell N: problem"."""
    found = []
    for i, cell in enumerate(nb.cells):
        for out in cell.get("outputs", []):
            data = out.get("data", {})
            found += [f"cell {i}: {p}" for p in html_problems(data.get("text/html", ""))]
            found += [f"cell {i}: plotly text {s!r}" for s in plotly_markup(data.get("application/vnd.plotly.v1+json"))]
    return found


def check(nb: nbformat.NotebookNode, facts: dict, expected: list[str]) -> None:
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    unsafe = unsafe_outputs(nb)
    assert not unsafe, "chat text rendered as markup or script:\n" + "\n".join(unsafe)
    outputs = "\n".join(json.dumps(o, ensure_ascii=False) for c in code for o in c.outputs)
    for name in CHANNEL_NAMES:  # Korean channel names come through (their hostile tails escaped)
        assert name in outputs
    assert "application/vnd.plotly.v1+json" in outputs or VEGA_LITE in outputs  # the charts rendered
    if any("charts." in c.source and "_figure(" in c.source for c in code):  # the dashboard's builders: Vega-Lite
        assert VEGA_LITE in outputs
    text = printed(nb)
    missing = [line for line in expected if line not in text]
    assert not missing, f"expected lines not printed: {missing}\n--- printed:\n{text}"


@pytest.mark.unit
def test_notebooks_are_committed_without_outputs():
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        dirty = [i for i, c in enumerate(nb.cells) if c.cell_type == "code"
                 and (c.outputs or c.execution_count or "execution" in c.metadata)]
        assert not dirty, f"{path.name}: strip the outputs of cells {dirty} (Clear All Outputs, then save)"
        assert "widgets" not in nb.metadata, f"{path.name}: strip the saved widget state"


@pytest.mark.unit
def test_every_notebook_loads_the_safe_renderers():
    """dashboard.charts (or dashboard.safe_display itself) imported in the first code cell:
    from then on Altair, plotly and pandas draw chat text as text (docs/NOTEBOOKS.md)."""
    for path in NOTEBOOKS:
        first = next(c for c in nbformat.read(path, as_version=4).cells
                     if c.cell_type == "code" and "parameters" not in c.metadata.get("tags", []))
        assert re.search(r"^from dashboard import (charts|safe_display)", first.source, re.M), path.name


@pytest.mark.unit
def test_every_notebook_has_its_expected_answers():
    assert sorted(EXPECTED) == [p.name for p in NOTEBOOKS]


@pytest.mark.e2e
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_against_fixture_lake(path, facts):
    nb, params = run(path)
    check(nb, facts, EXPECTED[path.name](facts, params))


@pytest.mark.e2e
def test_users_notebook_follows_a_renamed_user(facts):
    """04 with another query (as papermill would inject it): the renamed user's names in order."""
    path = REPO / "notebooks" / "04_users_and_keywords.ipynb"
    nb, params = run(path, {"query": "용왕", "keywords": ["100%_", "GG"]})
    expected = EXPECTED[path.name](facts, params)
    assert "names: 호랑이 → 사자왕 → 용왕" in expected  # the fixture's renames, as computed
    check(nb, facts, expected)
