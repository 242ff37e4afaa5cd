"""The Parquet warehouse: `python -m warehouse sync` exports PostgreSQL chat into a
hive-partitioned lake (warehouse.lake: the layout; warehouse.sync: the export), and the
analyst API (warehouse.api: the read side's Warehouse and query functions) reads it with
DuckDB into polars DataFrames; the dashboard and notebooks use only these.

``import warehouse`` is cheap: the analyst API (polars, DuckDB, pyarrow) is imported on the
first ``warehouse.<name>``, so ``python -m warehouse --help`` does not pay for it, and
neither loads psycopg2 or the sync (tests/warehouse/test_import_graph.py)."""
import importlib
import importlib.util


def __getattr__(name: str):
    # a submodule (`from warehouse import lake`) is left to the import system
    if name.startswith("__") and name != "__all__" or importlib.util.find_spec(f"{__name__}.{name}"):
        raise AttributeError(name)
    api = importlib.import_module("warehouse.api")
    if name != "__all__" and name not in api.__all__:
        raise AttributeError(f"module 'warehouse' has no attribute {name!r}")
    value = getattr(api, name)
    globals()[name] = value  # later look-ups do not come here
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *importlib.import_module("warehouse.api").__all__})
