"""The read side stands alone: `import warehouse` (a notebook) and every read module load
neither psycopg2 nor the sync; the sync may import the read side's accelerators, never the
reverse. `python -m warehouse --help` loads no analyst API (polars, DuckDB)."""
from __future__ import annotations

import ast
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
READ = ROOT / "warehouse" / "read"
FORBIDDEN = ("psycopg2", "warehouse.sync")  # the PostgreSQL driver, the write side


def _modules_after(code: str) -> list[str]:
    """sys.modules of a fresh interpreter after `code` (printed as JSON on the last line)."""
    out = subprocess.run([sys.executable, "-c", code + "\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def _forbidden(modules: list[str], prefixes=FORBIDDEN) -> list[str]:
    return [m for m in modules if any(m == p or m.startswith(p + ".") for p in prefixes)]


def test_import_warehouse_and_every_read_module_loads_no_postgres_and_no_sync():
    loaded = _modules_after(
        "import pkgutil, importlib, warehouse\n"
        "assert callable(warehouse.donations) and len(warehouse.__all__) > 40\n"  # the analyst API, loaded
        "import warehouse.read\n"
        "for m in pkgutil.walk_packages(warehouse.read.__path__, 'warehouse.read.'):\n"
        "    importlib.import_module(m.name)\n")
    assert "warehouse.read.queries.money" in loaded and "warehouse.read.accelerators.rollups" in loaded
    assert "warehouse.read.live" in loaded
    assert _forbidden(loaded) == []


def _module_level_imports(tree: ast.Module) -> list[str]:
    """Modules imported when the file is imported: everything outside function bodies."""
    found, todo = [], list(tree.body)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda):
            continue
        if isinstance(node, ast.Import):
            found += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found += [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        todo += list(ast.iter_child_nodes(node))
    return found


def test_no_read_module_imports_the_sync_or_postgres_at_module_level():
    files = sorted(READ.rglob("*.py"))
    assert len(files) > 10
    bad = {str(f.relative_to(ROOT)): _forbidden(_module_level_imports(ast.parse(f.read_text())))
           for f in files}
    assert {f: b for f, b in bad.items() if b} == {}
    # the check sees an import inside an `if` or a class, not one inside a function
    sample = ast.parse("import os\nif True:\n    from warehouse.sync import export\n"
                       "def f():\n    import psycopg2\n")
    assert _forbidden(_module_level_imports(sample)) == ["warehouse.sync", "warehouse.sync.export"]


def test_warehouse_help_loads_no_analyst_api():
    loaded = _modules_after(
        "import runpy, sys\nsys.argv = ['warehouse', '--help']\n"
        "try:\n    runpy.run_module('warehouse', run_name='__main__')\nexcept SystemExit:\n    pass\n")
    assert "warehouse.__main__" in loaded or "core.cli" in loaded
    assert _forbidden(loaded, ("polars", "duckdb", "pyarrow", "warehouse.api", *FORBIDDEN)) == []
