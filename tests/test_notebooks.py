"""Every notebook in notebooks/ executed top to bottom with nbclient against the fixture lake,
on a kernel that runs this interpreter (the project's virtualenv)."""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from tests.lakefixture import build_fixture_lake

REPO = Path(__file__).resolve().parent.parent
NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.fixture
def kernel_env(tmp_path, monkeypatch):
    """A `python3` kernelspec that starts sys.executable, found first on JUPYTER_PATH,
    and WAREHOUSE_DIR pointing at a fresh fixture lake."""
    spec_dir = tmp_path / "jupyter" / "kernels" / "python3"
    spec_dir.mkdir(parents=True)
    spec_dir.joinpath("kernel.json").write_text(json.dumps({
        "argv": [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "Python 3 (project venv)", "language": "python",
    }))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    lake = tmp_path / "lake"
    facts = build_fixture_lake(lake)
    monkeypatch.setenv("WAREHOUSE_DIR", str(lake))
    return facts


@pytest.mark.unit
def test_notebooks_are_committed_without_outputs():
    assert NOTEBOOKS, "no notebooks found"
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        dirty = [i for i, c in enumerate(nb.cells)
                 if c.cell_type == "code" and (c.outputs or c.execution_count)]
        assert not dirty, f"{path.name}: strip the outputs of cells {dirty}"


@pytest.mark.e2e
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.name for p in NOTEBOOKS])
def test_notebook_runs_against_fixture_lake(path, kernel_env):
    nb = nbformat.read(path, as_version=4)
    client = NotebookClient(nb, timeout=120, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}})
    client.execute(env={**os.environ})  # raises CellExecutionError on the first failing cell
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert all(c.execution_count for c in code)
    assert not [o for c in code for o in c.outputs if o.output_type == "error"]
    text = "\n".join(json.dumps(o, ensure_ascii=False) for c in code for o in c.outputs)
    # the channel list and the user search show the fixture's Korean names
    for name in kernel_env["channel_names"].values():
        assert name in text
    assert "김철수" in text
    assert "application/vnd.plotly.v1+json" in text  # the charts rendered
