"""The chat partitions' physical layout and the lake's bytes (issue 18, section 3).

Given a synced lake (bench/realistic.py makes one), this bench

1. measures each folder's share of the lake's bytes beside DuckDB's own Parquet of the same
   chat rows (``COPY … (FORMAT parquet, COMPRESSION zstd)``, DuckDB's defaults otherwise):
   the "lake bytes ≤ 1.3× DuckDB's Parquet" target;
2. rewrites the chat partitions in several layouts through the lake's own writer
   (warehouse.lake.layout.Lake.write with its constants set per variant: row-group size,
   page index, one file per day or one per day and channel bucket), and asks each the
   channel-scoped questions the dashboard asks most (a week's summary, heatmap, top
   chatters, keyword count) for the biggest, a median and a small channel, through DuckDB
   as warehouse.read.warehouse views the chat (read_parquet of the day files, hive
   partitioning), p50/p95 over `reps` warm calls; and counts the row groups whose
   channel_id statistics admit each channel (what DuckDB's min/max pruning reads);
3. with a PostgreSQL URL, asks PostgreSQL (with the collector's indexes) the same questions.

    .venv/bin/python -m bench.layout_bench --lake /tmp/real2m/lake --url postgresql://… [--reps 10]

The machine is shared: compare variants within one run, not across runs.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import statistics
import tempfile
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

log = logging.getLogger("bench.layout_bench")
MiB = 1 << 20


@dataclass(frozen=True)
class Variant:
    """One physical layout of the chat partitions."""
    name: str
    row_group_rows: int
    page_index: bool = False
    buckets: int = 0          # >0: a day's rows in this many files by channel (hash), else one file
    metadata_cache: bool = False  # DuckDB's parquet_metadata_cache on (a reader's setting, not the files')
    note: str = ""


VARIANTS = (
    Variant("rg128k", 131_072, note="before issue 18: 131,072-row groups"),
    Variant("rg32k", 32_768),
    Variant("rg16k", 16_384),
    Variant("rg16k+metacache", 16_384, metadata_cache=True, note="DuckDB SET parquet_metadata_cache = true"),
    Variant("rg8k", 8_192),
    Variant("rg16k+pageindex", 16_384, page_index=True),
    Variant("rg128k+8buckets", 131_072, buckets=8, note="one file per day and channel bucket"),
)

# The questions (DuckDB over the `chat` view; PostgreSQL over stream_chat with the channel
# joined): a channel's week. ? = channel_id, start, end.
QUESTIONS = {
    "summary": ("SELECT count(*), count(DISTINCT user_id), sum(pay_amount) FROM chat"
                " WHERE channel_id = ? AND chat_time >= ? AND chat_time < ?"),
    "heatmap": ("SELECT extract(isodow FROM chat_time), extract(hour FROM chat_time), count(*) FROM chat"
                " WHERE channel_id = ? AND chat_time >= ? AND chat_time < ? GROUP BY 1, 2"),
    "top_chatters": ("SELECT user_id, max(nickname), count(*) AS n FROM chat"
                     " WHERE channel_id = ? AND chat_time >= ? AND chat_time < ? AND user_id IS NOT NULL"
                     " GROUP BY 1 ORDER BY n DESC, user_id LIMIT 20"),
    "keyword": ("SELECT count(*) FROM chat WHERE channel_id = ? AND chat_time >= ? AND chat_time < ?"
                " AND strpos(message, 'ㅋㅋ') > 0"),
}
_PG_CHAT = ("(SELECT c.*, ch.channel_id AS channel_id FROM stream_chat c"
            " JOIN stream_channel ch ON ch.id = c.channel_fk) chat")


@dataclass
class Result:
    variant: str
    bytes: int
    files: int
    row_groups: int
    write_seconds: float
    groups_read: dict[str, int] = field(default_factory=dict)       # channel size -> row groups admitted
    times: dict[str, dict[str, dict]] = field(default_factory=dict)  # size -> question -> {p50, p95}


def folder_bytes(root: Path) -> dict[str, int]:
    """Bytes under each top-level folder of a lake (files only)."""
    out = {}
    for entry in sorted(root.iterdir()):
        if entry.is_dir():
            out[entry.name] = sum(f.stat().st_size for f in entry.rglob("*") if f.is_file())
    return out


def duckdb_parquet_bytes(chat_files: list[str], out: Path) -> int:
    """DuckDB's own Parquet of the chat rows (zstd, its default row groups)."""
    con = duckdb.connect()
    con.execute("SET threads = 2")
    con.read_parquet(chat_files, hive_partitioning=False, union_by_name=True).create_view("rows")
    target = str(out).replace("'", "''")  # COPY takes no bound file name
    con.execute(f"COPY (SELECT * FROM rows) TO '{target}' (FORMAT parquet, COMPRESSION zstd)")  # noqa: S608
    con.close()
    return out.stat().st_size


@contextmanager
def _layout(variant: Variant):
    """The lake writer's constants set for `variant` for the block."""
    from warehouse.lake import layout
    saved = layout.ROW_GROUP_ROWS, layout.PAGE_INDEX
    layout.ROW_GROUP_ROWS, layout.PAGE_INDEX = variant.row_group_rows, variant.page_index
    try:
        yield
    finally:
        layout.ROW_GROUP_ROWS, layout.PAGE_INDEX = saved


def write_variant(source: Path, target: Path, variant: Variant) -> tuple[float, list[str]]:
    """Rewrite `source`'s chat partitions into `target` in `variant`'s layout; returns
    (seconds, the chat files)."""
    import pyarrow.compute as pc

    from warehouse.lake.layout import Lake
    from warehouse.lake.tables import CHAT
    src, dst = Lake(str(source)), Lake(str(target))
    t0 = time.perf_counter()
    files: list[str] = []
    with _layout(variant):
        for day in src.days(CHAT):
            rows = src.read(CHAT, day)
            if not variant.buckets:
                dst.write(CHAT, rows, day)
                files.append(dst.part_path(CHAT, day))
                continue
            bucket = _bucket(rows, variant.buckets)
            for k in reversed(range(variant.buckets)):  # bucket 0 last: it keeps the name part-0
                part = rows.filter(pc.equal(bucket, k))
                if part.num_rows:
                    folder = Path(dst.partition_dir(CHAT, day))
                    dst.write(CHAT, part, day)  # written as part-0, then renamed to its bucket
                    if k:
                        os.replace(folder / "part-0.parquet", folder / f"part-{k}.parquet")
                    files.append(str(folder / f"part-{k}.parquet"))
    return time.perf_counter() - t0, files


def _bucket(rows, buckets: int):
    """A stable bucket per channel: its 32-hex id's first 8 digits modulo `buckets`."""
    import pyarrow as pa
    import pyarrow.compute as pc
    ids = rows.column("channel_id").combine_chunks()
    unique = pc.unique(ids).to_pylist()
    of = {c: int(c[:8], 16) % buckets if c else 0 for c in unique}
    return pc.take(pa.array([of[c] for c in unique], pa.int32()), pc.index_in(ids, value_set=pa.array(unique)))


def channels_by_size(files: list[str]) -> dict[str, tuple[str, int]]:
    """The biggest, median and a small channel (the 90th percentile from the top) by lines."""
    con = duckdb.connect()
    rows = con.execute("SELECT channel_id, count(*) AS n FROM read_parquet(?) GROUP BY 1 ORDER BY n DESC, 1",
                       [files]).fetchall()
    con.close()
    return {"biggest": rows[0], "median": rows[len(rows) // 2], "small": rows[int(len(rows) * 0.9)]}


def week(files: list[str]) -> tuple:
    """[start, end) of the lake's last 7 days of chat_time."""
    con = duckdb.connect()
    end_us = con.execute("SELECT epoch_us(max(chat_time)) FROM read_parquet(?)", [files]).fetchone()[0]
    con.close()
    end = datetime.fromtimestamp(end_us / 1e6, UTC) + timedelta(seconds=1)
    return end - timedelta(days=7), end


def groups_admitting(files: list[str], channel: str) -> int:
    """Row groups whose channel_id min/max admit `channel` (what min/max pruning reads)."""
    n = 0
    for path in files:
        meta = pq.ParquetFile(path).metadata
        col = meta.schema.names.index("channel_id")
        for i in range(meta.num_row_groups):
            stats = meta.row_group(i).column(col).statistics
            if stats is None or not stats.has_min_max or stats.min <= channel <= stats.max:
                n += 1
    return n


def timed(fn: Callable[[], object], reps: int) -> dict:
    """Wall p50/p95 and the process's CPU time p50 (every thread's: on a shared machine the
    CPU a query costs moves far less than its wall time)."""
    fn()  # warm: metadata and file handles, as a dashboard session is
    times, cpu = [], []
    for _ in range(reps):
        t0, c0 = time.perf_counter(), time.process_time()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
        cpu.append((time.process_time() - c0) * 1000)
    times.sort()
    return {"p50_ms": round(statistics.median(times), 2),
            "p95_ms": round(times[min(len(times) - 1, int(round(0.95 * (len(times) - 1))))], 2),
            "cpu_p50_ms": round(statistics.median(cpu), 2)}


def scanned(con, sql: str, params: list) -> dict:
    """What DuckDB's scans read for `sql` (its profiler: rows, row groups of those it
    could have read, bytes): what pruning left to read, the same on a busy machine."""
    with tempfile.NamedTemporaryFile(suffix=".json") as out:
        con.execute("PRAGMA enable_profiling = 'json'")
        con.execute(f"PRAGMA profiling_output = '{out.name}'")  # noqa: S608 - our temporary file
        try:
            con.execute(sql, params).fetchall()
        finally:
            con.execute("PRAGMA disable_profiling")
        doc = json.loads(Path(out.name).read_text() or "{}")
    query = doc.get("query", {})
    return {"rows_scanned": query.get("total_rows_scanned"),
            "row_groups_scanned": query.get("total_row_groups_scanned"),
            "row_groups_to_scan": query.get("total_row_groups_to_scan"),
            "bytes_read": doc.get("io", {}).get("total_bytes_read")}


def ask_duckdb(files: list[str], picks: dict, span: tuple, reps: int, metadata_cache: bool = False) -> dict:
    con = duckdb.connect()
    con.execute("SET threads = 2")
    if metadata_cache:
        con.execute("SET parquet_metadata_cache = true")
    con.read_parquet(files, hive_partitioning=True, union_by_name=False).create_view("chat")
    out = {}
    for size, (channel, _) in picks.items():
        out[size] = {q: timed(lambda sql=sql, c=channel: con.execute(sql, [c, *span]).fetchall(), reps)
                     for q, sql in QUESTIONS.items()}
        out[size]["scanned"] = scanned(con, QUESTIONS["top_chatters"], [channel, *span])
    con.close()
    return out


def ask_postgres(url: str, picks: dict, span: tuple, reps: int) -> dict:
    import psycopg2
    conn = psycopg2.connect(url)
    conn.autocommit = True
    out = {}
    with conn.cursor() as cur:
        for size, (channel, _) in picks.items():
            out[size] = {}
            for q, sql in QUESTIONS.items():
                text = sql.replace(" FROM chat WHERE", " FROM " + _PG_CHAT + " WHERE").replace("?", "%s")
                out[size][q] = timed(lambda t=text, c=channel: (cur.execute(t, [c, *span]), cur.fetchall()), reps)
    conn.close()
    return out


def run(lake: str, url: str | None = None, reps: int = 10, variants: tuple[Variant, ...] = VARIANTS,
        workdir: str | None = None) -> dict:
    """Every measurement above on `lake`; returns a dict (print_report prints it)."""
    root = Path(lake)
    work = Path(workdir or tempfile.mkdtemp(prefix="layout-bench-"))
    chat_files = sorted(str(p) for p in (root / "chat").glob("day=*/*.parquet"))
    shares = folder_bytes(root)
    duck = duckdb_parquet_bytes(chat_files, work / "duckdb.parquet")
    total = sum(shares.values())
    res: dict = {"lake": lake, "rows": pq.ParquetDataset(chat_files).read(columns=["id"]).num_rows,
                 "days": len(chat_files), "folders": shares, "duckdb_parquet_bytes": duck,
                 "lake_vs_duckdb": round(total / duck, 3), "chat_vs_duckdb": round(shares.get("chat", 0) / duck, 3),
                 "folder_vs_duckdb": {k: round(v / duck, 3) for k, v in shares.items()}}
    picks = channels_by_size(chat_files)
    span = week(chat_files)
    res["channels"] = {k: {"channel_id": c, "lines": n} for k, (c, n) in picks.items()}
    res["week"] = [span[0].isoformat(), span[1].isoformat()]
    res["variants"] = []
    written: tuple | None = None  # (physical layout, target, seconds, files) of the last variant
    for variant in variants:
        physical = (variant.row_group_rows, variant.page_index, variant.buckets)
        if written is None or written[0] != physical:  # a reader-only variant reuses the files
            if written is not None:
                shutil.rmtree(written[1], ignore_errors=True)
            target = work / variant.name
            shutil.rmtree(target, ignore_errors=True)
            written = (physical, target, *write_variant(root, target, variant))
        _, _, seconds, files = written
        r = Result(variant.name, sum(os.path.getsize(f) for f in files), len(files),
                   sum(pq.ParquetFile(f).metadata.num_row_groups for f in files), round(seconds, 2))
        r.groups_read = {size: groups_admitting(files, c) for size, (c, _) in picks.items()}
        r.times = ask_duckdb(files, picks, span, reps, variant.metadata_cache)
        res["variants"].append({**r.__dict__, "vs_duckdb": round(r.bytes / duck, 3), "note": variant.note})
        log.info("%s: %.1f MiB, %d row groups, %s", variant.name, r.bytes / MiB, r.row_groups,
                 json.dumps(r.times))
    if written is not None:
        shutil.rmtree(written[1], ignore_errors=True)
    if url:
        res["postgres"] = ask_postgres(url, picks, span, reps)
    return res


def print_report(res: dict) -> None:
    duck = res["duckdb_parquet_bytes"]
    print(f"\nLake bytes ({res['rows']:,} chat rows, {res['days']} days): DuckDB's own Parquet of the chat "
          f"{duck / MiB:.1f} MiB")
    for name, size in res["folders"].items():
        print(f"  {name:<20} {size / MiB:9.1f} MiB  {size / duck:6.3f}x")
    print(f"  {'whole lake':<20} {sum(res['folders'].values()) / MiB:9.1f} MiB  {res['lake_vs_duckdb']:6.3f}x"
          "  (target <= 1.3x)")
    sizes = list(res["channels"])
    print("\nChat layouts: a week of the " + ", ".join(f"{k} channel ({v['lines']:,} lines)"
                                                     for k, v in res["channels"].items()))
    print("  per channel: worst p95 ms of the questions / their CPU ms (p50, summed) / row groups and KiB"
          " DuckDB read for top_chatters")
    print(f"  {'variant':<18} {'MiB':>7} {'x duck':>6} {'groups':>6}  " + "  ".join(f"{s:>32}" for s in sizes))
    rows = [(v["variant"], v["times"], v) for v in res["variants"]]
    if "postgres" in res:
        rows.append(("postgres", res["postgres"], None))
    for name, times, v in rows:
        head = (f"{v['bytes'] / MiB:7.1f} {v['vs_duckdb']:6.3f} {v['row_groups']:6d}" if v else " " * 21)
        cells = []
        for size in sizes:
            worst = max(times[size][q]["p95_ms"] for q in QUESTIONS)
            cpu = sum(times[size][q]["cpu_p50_ms"] for q in QUESTIONS)
            got = times[size].get("scanned") or {}
            read = f"{got['row_groups_scanned']}rg {got['bytes_read'] >> 10}K" if got.get("bytes_read") else "-"
            cells.append(f"{worst:8.1f} /{cpu:7.1f} /{read:>12}")
        print(f"  {name:<18} {head}  " + "  ".join(f"{c:>32}" for c in cells))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", required=True)
    ap.add_argument("--url", help="PostgreSQL of the same rows (the questions asked there too)")
    ap.add_argument("--reps", type=int, default=10)
    ap.add_argument("--variants", help="comma-separated names (default: all)")
    ap.add_argument("--json", type=Path, help="write the results here too")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    chosen = VARIANTS if not a.variants else tuple(v for v in VARIANTS if v.name in a.variants.split(","))
    res = run(a.lake, a.url, a.reps, chosen)
    print_report(res)
    if a.json:
        a.json.write_text(json.dumps(res, indent=1, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
