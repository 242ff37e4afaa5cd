"""`--version` on every command, from the installed package's metadata, or pyproject.toml's
version in a checkout that was never installed; it loads no analyst API."""
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
VERSION = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]["version"]


@pytest.mark.e2e
@pytest.mark.parametrize("module", ["collector", "warehouse", "dashboard"])
def test_every_command_prints_its_version(module):
    res = subprocess.run([sys.executable, "-c", "import runpy, sys\nsys.argv = [sys.argv[0], '--version']\n"
                          f"try:\n    runpy.run_module('{module}', run_name='__main__')\n"
                          "finally:\n    print(sorted(sys.modules), file=sys.stderr)"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60)
    assert res.returncode == 0, res.stderr
    assert res.stdout.startswith(f"{module} {VERSION} (chzzk-analytics, Python ")
    loaded = eval(res.stderr.strip().splitlines()[-1])  # noqa: S307 (our own print of a list of names)
    assert not [m for m in loaded if m.split(".")[0] in ("polars", "duckdb", "pyarrow", "psycopg2", "streamlit")]


@pytest.mark.e2e
def test_console_scripts_print_their_version():
    scripts = [Path(sys.executable).parent / f"chzzk-{name}" for name in ("collector", "warehouse", "dashboard")]
    if not all(p.exists() for p in scripts):
        pytest.skip("the package is not installed in this interpreter's environment (tests/test_package.py builds it)")
    for script in scripts:
        res = subprocess.run([str(script), "--version"], capture_output=True, text=True, timeout=60, cwd="/")
        assert res.returncode == 0 and res.stdout.startswith(f"{script.name} {VERSION} "), res.stderr


@pytest.mark.unit
def test_a_checkout_never_installed_reads_pyproject(monkeypatch):
    import importlib.metadata

    from core import version

    def not_installed(name):
        raise importlib.metadata.PackageNotFoundError(name)

    monkeypatch.setattr(importlib.metadata, "version", not_installed)
    assert version.version() == VERSION
    monkeypatch.setattr(version, "PROJECT_ROOT", ROOT / "tests")  # no pyproject.toml there
    assert version.version() == "unknown"
