"""The project as a package: the wheel `pip install .` builds holds every importable folder
and the migrations, and installed into a fresh virtualenv it works from any directory — the
console scripts run, `warehouse.open(path)` answers, a notebook runs with no sys.path edit.

To stay fast the throwaway venv gets the wheel alone (--no-deps); the dependencies come
from this test run's environment through a path file, appended after the venv's own
site-packages (a .pth line adds a path; it does not run the editable install's finder),
so the project's modules can only come from the wheel."""
from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import sysconfig
import tomllib
import venv
import zipfile
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from packaging.specifiers import SpecifierSet

from tests.lakefixture import build_fixture_lake

REPO = Path(__file__).resolve().parents[1]
PACKAGES = ("collector", "core", "dashboard", "warehouse")
SCRIPTS = ("chzzk-collector", "chzzk-warehouse", "chzzk-dashboard")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                    "--disable-pip-version-check", "-w", str(out), str(REPO)],
                   check=True, capture_output=True, text=True, timeout=240)
    (found,) = out.glob("chzzk_analytics-*.whl")
    return found


@pytest.fixture(scope="module")
def installed(wheel, tmp_path_factory) -> Path:
    """A fresh venv holding the wheel; returns its bin/ folder."""
    root = tmp_path_factory.mktemp("venv")
    venv.EnvBuilder(with_pip=False).create(root)
    python = root / "bin" / "python"
    site = Path(subprocess.run([str(python), "-c", "import sysconfig; print(sysconfig.get_path('purelib'))"],
                               check=True, capture_output=True, text=True).stdout.strip())
    (site / "zz_test_dependencies.pth").write_text(sysconfig.get_path("purelib") + "\n")
    subprocess.run([sys.executable, "-m", "pip", "--python", str(python), "install", "--no-deps", "-q",
                    "--disable-pip-version-check", str(wheel)],
                   check=True, capture_output=True, text=True, timeout=240)
    return root / "bin"


def run_in(bin_dir: Path, *args: str, cwd: Path, env: dict | None = None) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    return subprocess.run([*args], cwd=cwd, capture_output=True, text=True, timeout=120,
                          env={**clean, "PATH": f"{bin_dir}{os.pathsep}{clean.get('PATH', '')}", **(env or {})})


@pytest.mark.integration
def test_the_wheel_holds_every_package_and_the_migrations_and_nothing_else(wheel):
    names = zipfile.ZipFile(wheel).namelist()
    tops = {n.split("/", 1)[0] for n in names if not n.startswith("chzzk_analytics-")}
    assert tops == set(PACKAGES)
    migrations = sorted(p.name for p in (REPO / "core" / "migrations").glob("*.sql"))
    assert migrations and sorted(n.rsplit("/", 1)[1] for n in names if n.startswith("core/migrations/")) == migrations
    # every module of the repository's packages is in the wheel
    modules = {str(p.relative_to(REPO)) for pkg in PACKAGES for p in (REPO / pkg).rglob("*.py")}
    assert modules <= set(names), sorted(modules - set(names))[:5]
    entry_points = zipfile.ZipFile(wheel).read(next(n for n in names if n.endswith("entry_points.txt"))).decode()
    for script in SCRIPTS:
        assert f"{script} = " in entry_points


@pytest.mark.integration
@pytest.mark.parametrize("script", SCRIPTS)
def test_each_console_script_runs_from_any_directory(installed, script, tmp_path):
    out = run_in(installed, script, "--help", cwd=tmp_path)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith(f"usage: {script} ")


@pytest.mark.integration
def test_the_installed_package_opens_a_lake_from_another_directory(installed, tmp_path):
    facts = build_fixture_lake(tmp_path / "lake")
    code = ("import json, sys, warehouse, core.db\n"
            "wh = warehouse.open(sys.argv[1])\n"
            "ch = warehouse.list_channels(wh)\n"
            "print(json.dumps({'file': warehouse.__file__, 'channels': ch.height,"
            " 'messages': int(ch['messages'].sum()), 'migrations': len(core.db.migrations())}))")
    out = run_in(installed, "python", "-c", code, str(tmp_path / "lake"), cwd=Path("/"))
    assert out.returncode == 0, out.stderr
    got = json.loads(out.stdout.strip().splitlines()[-1])
    assert got["file"].startswith(str(installed.parent)), got["file"]  # the wheel's copy, not the repo's
    assert got["channels"] == len(facts["channel_ids"])
    assert got["messages"] == sum(facts["per_channel"].values())
    assert got["migrations"] == len(list((REPO / "core" / "migrations").glob("*.sql")))


@pytest.mark.integration
def test_the_python_m_forms_still_run(installed, tmp_path):
    for package in ("collector", "warehouse", "dashboard"):
        out = run_in(installed, "python", "-m", package, "--help", cwd=tmp_path)
        assert out.returncode == 0 and out.stdout.startswith(f"usage: {package} "), out.stderr


@pytest.mark.unit
def test_no_notebook_edits_sys_path():
    for path in sorted((REPO / "notebooks").glob("*.ipynb")):
        code = "\n".join(c.source for c in nbformat.read(path, as_version=4).cells if c.cell_type == "code")
        assert "sys.path" not in code, path.name


@pytest.mark.integration
def test_a_notebook_runs_on_the_installed_package_outside_the_repository(installed, tmp_path, monkeypatch):
    facts = build_fixture_lake(tmp_path / "lake")
    spec = tmp_path / "jupyter" / "kernels" / "python3"
    spec.mkdir(parents=True)
    spec.joinpath("kernel.json").write_text(json.dumps({
        "argv": [str(installed / "python"), "-m", "ipykernel_launcher", "-f", "{connection_file}"],
        "display_name": "the wheel's venv", "language": "python"}))
    work = tmp_path / "work"
    work.mkdir()
    nb = nbformat.read(REPO / "notebooks" / "01_tour.ipynb", as_version=4)
    nb.cells.append(nbformat.v4.new_code_cell("import warehouse as _w; print('FROM', _w.__file__)"))
    monkeypatch.setenv("JUPYTER_PATH", str(tmp_path / "jupyter"))
    monkeypatch.setenv("WAREHOUSE_DIR", str(tmp_path / "lake"))
    monkeypatch.delenv("PYTHONPATH", raising=False)
    NotebookClient(nb, timeout=120, kernel_name="python3",
                   resources={"metadata": {"path": str(work)}}).execute(env={**os.environ})
    text = "".join(o.get("text", "") for c in nb.cells if c.cell_type == "code" for o in c.outputs)
    assert f"FROM {installed.parent}" in text
    assert facts["channel_names"][facts["channel_ids"][0]] in json.dumps(
        [o for c in nb.cells if c.cell_type == "code" for o in c.outputs], ensure_ascii=False)


@pytest.mark.unit
def test_requires_python_is_exactly_the_versions_whose_wheels_are_checked():
    project = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    supported = SpecifierSet(project["requires-python"])
    checked = re.search(r"^WHEEL_PYTHONS \?= (.+)$", (REPO / "Makefile").read_text(), re.M).group(1).split()
    assert checked == ["3.11", "3.12", "3.13", "3.14"]
    assert [f"3.{m}" for m in range(8, 20) if f"3.{m}.0" in supported] == checked
    assert "plotly" not in " ".join(project["dependencies"]) and any(d.startswith("plotly") for d in
                                                                      project["optional-dependencies"]["notebooks"])
    assert any(d.startswith("numpy") for d in project["dependencies"])
