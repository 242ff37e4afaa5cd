"""A bigger lake from a synced one, for the 100M-row query figures when PostgreSQL cannot
hold the rows (100M rows are ~150 GiB in PostgreSQL; their lake ~10 GiB).

Every chat day partition of SRC is written `times` times, each copy shifted back in time by
the lake's span (so the lake covers `times` × its days), and each row appears under
`channels` channel ids (the original, then the id with a suffix: "<id>~1", …, names
"<name> ~1", …), so the new lake has `times` × `channels` × the rows, `channels` × the
channels, and the same users. Rows stay unique (`id` offset, `dedupe_key` suffixed) and
every partition is written by the lake's own writer (warehouse.lake.Lake.write: same row
groups, compression and order — channel, time, id). The small tables (channels) are
copied with the new channel ids; every accelerator is built afresh (rebuild_all, the list the
sync goes through); state.json is the source's, so the lake's days count as display-zone
days as they did.

    python -m bench.scale_lake --src LAKE --dst DIR [--times 5] [--channels 2] [--bench]

--bench then runs the query benchmark on DIR without PostgreSQL (bench/query_bench.py)."""
from __future__ import annotations

import argparse
import json
import logging
import shutil
import sys
import time
from datetime import timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.compute as pc

log = logging.getLogger("bench.scale_lake")
ID_STEP = 10_000_000_000  # added to `id` per copy: unique ids in the new lake


def _variant(day: pa.Table, copy: int, channel: int, channels: int, shift: timedelta) -> pa.Table:
    """One copy of a day's rows: times moved back by `shift`, under channel variant
    `channel` of `channels` (0: the original ids), ids and dedupe keys made unique for
    (copy, channel)."""
    k = copy * channels + channel
    cols = {name: day.column(name) for name in day.column_names}
    if channel:
        cols["channel_id"] = pc.binary_join_element_wise(cols["channel_id"], pa.scalar(f"~{channel}"), "")
        cols["channel_name"] = pc.binary_join_element_wise(cols["channel_name"], pa.scalar(f" ~{channel}"), "")
    for name in ("chat_time", "created_at", "blinded_at"):
        cols[name] = pc.subtract(cols[name], pa.scalar(shift, pa.duration("us")))
    cols["id"] = pc.add(cols["id"], pa.scalar(k * ID_STEP, pa.int64()))
    cols["dedupe_key"] = pc.binary_join_element_wise(cols["dedupe_key"], pa.scalar(f"#{k}"), "")
    return pa.table([cols[name] for name in day.column_names], schema=day.schema)


def _ordered(table: pa.Table) -> pa.Table:
    """`table` in partition order (channel_id, chat_time, id), column by column."""
    indices = pc.sort_indices(table, [("channel_id", "ascending"), ("chat_time", "ascending"), ("id", "ascending")])
    return pa.table([pc.take(c.combine_chunks(), indices) for c in table.columns], schema=table.schema)


def scale(src: str, dst: str, times: int, channels: int) -> dict:
    from warehouse.lake.layout import Lake
    from warehouse.lake.tables import CHANNELS, CHAT
    from warehouse.read import accelerators
    t0 = time.monotonic()
    source, target = Lake(src), Lake(dst)
    days = source.days(CHAT)
    if not days:
        raise SystemExit(f"{src} has no chat partitions")
    span = days[-1] - days[0] + timedelta(days=1)
    rows = 0
    for i, day in enumerate(days):
        base = source.read(CHAT, day)
        for copy in range(times):
            shift = span * copy
            parts = [_variant(base, copy, ch, channels, shift) for ch in range(channels)]
            n, _ = target.write(CHAT, _ordered(pa.concat_tables(parts)), day - shift)
            rows += n
        if i % 20 == 0:
            log.info("day %d/%d (%s): %d rows written so far, %.0fs", i + 1, len(days), day, rows,
                     time.monotonic() - t0)
    if source.exists(CHANNELS):
        ch = source.read(CHANNELS)
        copies = [ch] + [ch.set_column(0, "channel_id", pc.binary_join_element_wise(
            ch.column("channel_id"), pa.scalar(f"~{c}"), "")).set_column(1, "channel_name", pc.binary_join_element_wise(
                ch.column("channel_name"), pa.scalar(f" ~{c}"), "")) for c in range(1, channels)]
        target.write(CHANNELS, pa.concat_tables(copies))
    state_src = Path(src) / "_sync" / "state.json"
    if state_src.exists():
        (Path(dst) / "_sync").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(state_src, Path(dst) / "_sync" / "state.json")
    t1 = time.monotonic()
    accelerators.rebuild_all(target)  # every accelerator, through the one list the sync uses
    sizes = {name: sum(f.stat().st_size for f in (Path(dst) / name).rglob("*") if f.is_file())
             for name in sorted(accelerators.folders())}
    return {"rows": rows, "days": len(days) * times, "channels_factor": channels, "write_seconds": round(t1 - t0, 1),
            "accelerators_seconds": round(time.monotonic() - t1, 1), "accelerator_bytes": sizes}


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--src", required=True, help="a synced lake")
    ap.add_argument("--dst", required=True, help="where to write the bigger lake (must not exist)")
    ap.add_argument("--times", type=int, default=5, help="copies back in time (default 5)")
    ap.add_argument("--channels", type=int, default=2, help="channel ids per original channel (default 2)")
    ap.add_argument("--bench", action="store_true", help="then run the query benchmark on it (no PostgreSQL)")
    ap.add_argument("--reps", type=int, default=20, help="warm repetitions per query (default 20)")
    ap.add_argument("--json", type=Path, default=None, help="write the results here")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("warehouse").setLevel(logging.WARNING)
    if Path(a.dst).exists():
        raise SystemExit(f"{a.dst} exists: give a new folder")
    out = {"scale": scale(a.src, a.dst, a.times, a.channels)}
    log.info("lake written: %s", out["scale"])
    if a.bench:
        from bench import query_bench
        out["queries"] = query_bench.run(a.dst, None, reps=a.reps)
        query_bench.print_report(out["queries"])
    if a.json:
        a.json.write_text(json.dumps(out, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())
