"""Lake bytes (issue 18): the chat and every accelerator folder of a synced lake, beside
DuckDB's own Parquet of the same rows (``COPY (SELECT * FROM <the lake's chat>) TO
'x.parquet' (FORMAT parquet, COMPRESSION zstd)``). Target: chat + every accelerator <=
1.3x DuckDB's file."""
from __future__ import annotations

import tempfile
import time
from pathlib import Path

TARGET = 1.3
SMALL_TABLES = ("_sync", "channels", "events", "live_session", "capture_interval", "live_session_poll")


def _size(path: Path) -> int:
    return sum(f.stat().st_size for f in path.rglob("*") if f.is_file()) if path.is_dir() else (
        path.stat().st_size if path.exists() else 0)


def run(lake: str) -> dict:
    """{folders: {name: bytes}, chat, accelerators, lake, duckdb_parquet, ratio, result}."""
    import duckdb
    root = Path(lake)
    folders = {p.name: _size(p) for p in sorted(root.iterdir())}
    accelerators = {k: v for k, v in folders.items() if k != "chat" and k not in SMALL_TABLES}
    with tempfile.TemporaryDirectory(prefix="chzzk-bench-duck-") as tmp:
        out = Path(tmp) / "chat.parquet"
        con = duckdb.connect()
        con.execute("SET enable_progress_bar = false")
        t0 = time.perf_counter()
        files = str(root / "chat" / "**" / "*.parquet")
        con.read_parquet(files, hive_partitioning=False).write_parquet(str(out), compression="zstd")
        seconds = time.perf_counter() - t0
        duck = out.stat().st_size
        rows = con.execute("SELECT count(*) FROM read_parquet(?)", [str(out)]).fetchone()[0]
        con.close()
    served = folders.get("chat", 0) + sum(accelerators.values())
    ratio = served / duck if duck else None
    return {"folders": folders, "chat": folders.get("chat", 0), "accelerators": accelerators,
            "chat_plus_accelerators": served, "duckdb_parquet": duck, "duckdb_rows": rows,
            "duckdb_seconds": round(seconds, 1), "ratio": round(ratio, 2) if ratio else None,
            "result": "met" if ratio is not None and ratio <= TARGET else "NOT MET"}


def print_report(res: dict) -> None:
    mib = 2 ** 20
    print(f"\n== lake bytes (MiB) beside DuckDB's own Parquet of the same {res['duckdb_rows']:,} rows")
    for name, size in sorted(res["folders"].items(), key=lambda kv: -kv[1]):
        role = "chat" if name == "chat" else "accelerator" if name in res["accelerators"] else "small table"
        print(f"   {name:<22}{size / mib:>10.1f}  {role}")
    print(f"   {'chat + accelerators':<22}{res['chat_plus_accelerators'] / mib:>10.1f}")
    print(f"   {'DuckDB Parquet (zstd)':<22}{res['duckdb_parquet'] / mib:>10.1f}")
    print(f"   ratio {res['ratio']}x  (target <= {TARGET}x)  {res['result']}")
