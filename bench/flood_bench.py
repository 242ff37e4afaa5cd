"""The collector at peak, end to end: `python -m collector run` against the simulator's flood
mode (one channel at thousands of lines/s beside hundreds of quiet ones), websocket → spool
→ PostgreSQL, checked against the simulator's truth.

    .venv/bin/python -m bench.flood_bench                                   # 600 s at 15,000 lines/s
    .venv/bin/python -m bench.flood_bench --seconds 30 --rate 5000 --quiet 50   # a short look
    .venv/bin/python -m bench.flood_bench --processes 2 --flood-channels 2     # two processes
    .venv/bin/python -m bench.flood_bench --processes 1,2 --flood-channels 2 --rate 7500   # scaling: 1 then 2
    .venv/bin/python -m bench.flood_bench --modes in,drain      # the drain in the process, then in a child

A throwaway embedded PostgreSQL (bench.datagen.start_server, migrated, every index), the
simulator as a process of its own (`collector sim --flood-rate`), and `processes` collector
processes (each its own SPOOL_DIR) sharing the channel set through their leases (each
takes its share by load, the channels' chat rate over the last 30 s, collector/lease_plan.py:
two flood channels end up on two processes once their rates are known; the report says how
the flood lines were spread). The flood runs `seconds`, then the
simulator pauses and the run waits until every line sent is stored (the spool drained);
then the collectors stop (SIGTERM) and PostgreSQL is compared with the truth (count and
identity digest per chat channel, collector/sim/flood.py).

Reported: lines/s stored end to end (lines sent / time from the first line sent to the
last stored), the stored rate during the flood, CPU seconds per 1,000 lines and cores used
of the collector processes (user+sys from /proc), the simulator's and PostgreSQL's cores,
peak RSS (VmHWM), the spool backlog when the flood stopped and at the end, the CPU share
of each stage (thread CPU from the collector's metrics file), 0 lost / 0 duplicated, and
the ratios to the 12,000 lines/s target and the public pipeline's 10,800 events/s.
"""
from __future__ import annotations

import argparse
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:  # run as a script: make the project importable
    sys.path.insert(0, str(ROOT))

import psycopg2  # noqa: E402
import requests  # noqa: E402

from bench import datagen  # noqa: E402
from collector.sim.flood import TRUTH_SQL, compare  # noqa: E402

TARGET = 12_000          # lines/s, one process (issue 17)
PUBLIC = 10_800          # events/s per process of a public CHZZK pipeline
TICK = os.sysconf("SC_CLK_TCK")


def _cpu(pid: int) -> float:
    """user+sys CPU seconds of a process (its threads included), from /proc."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (FileNotFoundError, ProcessLookupError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / TICK


def _children(pid: int) -> list[int]:
    """Processes whose parent is pid (a collector's drain process, multiprocessing's helper)."""
    out = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                if int((d / "stat").read_text().rsplit(")", 1)[1].split()[1]) == pid:
                    out.append(int(d.name))
            except (OSError, ValueError):
                continue
    return out


def _tree_cpu(pid: int) -> float:
    """user+sys CPU seconds of a collector and its child processes (--drain-process)."""
    return _cpu(pid) + sum(_cpu(c) for c in _children(pid))


def _tree_hwm_kb(pid: int) -> int:
    return _hwm_kb(pid) + sum(_hwm_kb(c) for c in _children(pid))


def _hwm_kb(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except FileNotFoundError:
        pass
    return 0


def _postgres_pids(datadir: str) -> list[int]:
    """The PostgreSQL server's processes (postmaster and backends) of this bench's data dir."""
    pids = []
    for d in Path("/proc").iterdir():
        if d.name.isdigit():
            try:
                cmd = (d / "cmdline").read_bytes()
            except OSError:
                continue
            if b"postgres" in cmd and (datadir.encode() in cmd or _parent_is_postmaster(d, datadir)):
                pids.append(int(d.name))
    return pids


def _parent_is_postmaster(d: Path, datadir: str) -> bool:
    try:
        ppid = int((d / "stat").read_text().rsplit(")", 1)[1].split()[1])
        return datadir.encode() in Path(f"/proc/{ppid}/cmdline").read_bytes()
    except (OSError, ValueError):
        return False


def _stop_server(srv) -> None:
    """Stop the bench's PostgreSQL now: pgserver's cleanup leaves it running when it counts
    another process as a user (seen after every run here), and a next run would share the
    machine with it."""
    getattr(srv.handle, "cleanup", lambda: None)()
    for pid in _postgres_pids(srv.tmpdir):
        if srv.tmpdir.encode() in Path(f"/proc/{pid}/cmdline").read_bytes():  # the postmaster
            os.kill(pid, signal.SIGINT)  # fast shutdown
            _wait(lambda p=pid: not Path(f"/proc/{p}").exists(), 20, 0.2)
    shutil.rmtree(srv.tmpdir, ignore_errors=True)


def _metrics(path: Path) -> dict[str, float]:
    """A Prometheus textfile -> {name{labels}: value}."""
    out = {}
    if path.exists():
        for line in path.read_text().splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
    return out


def _point(t: float, m: list[dict[str, float]]) -> dict[str, float]:
    """One sample of the collectors' metrics files summed over the processes: stage CPU,
    process CPU, lines received and stored."""
    out = {"t": t}
    for x in m:
        for key, v in x.items():
            name = key.removeprefix("chzzk_collector_")
            if name.startswith("stage_cpu_seconds_total"):
                name = re.search(r'stage="([^"]+)"', key).group(1)
            elif name.startswith(("lines_received_total", "records_stored_total")):
                name = name.split("{", 1)[0]
            elif name not in ("cpu_seconds_total", "spool_backlog_records"):
                continue
            out[name] = out.get(name, 0.0) + v
    return out


RECEIVE_STAGES = ("receive", "spool_append")  # per line received; the others per line stored


def _windows(timeline: list[dict[str, float]], parts: int = 3) -> list[dict]:
    """CPU µs per line in `parts` equal windows of the flood (the metrics files are written
    every METRICS_SECONDS, so a window needs a few of them): receive and spool_append per
    line received, the drain's stages per line stored, the process per line stored — to see
    whether a line costs more late in a long flood than early."""
    points = [p for p in timeline if "cpu_seconds_total" in p]
    if len(points) < parts + 1:
        return []
    out = []
    for k in range(parts):
        a, b = points[k * (len(points) - 1) // parts], points[(k + 1) * (len(points) - 1) // parts]
        received = max(b.get("lines_received_total", 0) - a.get("lines_received_total", 0), 1)
        stored = max(b.get("records_stored_total", 0) - a.get("records_stored_total", 0), 1)
        w = {"from_s": round(a["t"]), "to_s": round(b["t"]), "received_per_s": round(received / (b["t"] - a["t"])),
             "stored_per_s": round(stored / (b["t"] - a["t"])), "backlog": int(b.get("spool_backlog_records", 0)),
             "process_us_per_stored": round(1e6 * (b["cpu_seconds_total"] - a["cpu_seconds_total"]) / stored, 1)}
        for stage in sorted(set(a) & set(b) - {"t", "cpu_seconds_total", "lines_received_total",
                                                 "records_stored_total", "spool_backlog_records"}):
            w[stage] = round(1e6 * (b[stage] - a[stage]) / (received if stage in RECEIVE_STAGES else stored), 1)
        out.append(w)
    return out


def _start_sim(rate: float, flood_channels: int, quiet: int, quiet_per_min: float, seed: int, log: Path):
    args = [sys.executable, "-m", "collector", "sim", "--port", "0", "--flood-rate", str(rate),
            "--flood-channels", str(flood_channels), "--channels", str(quiet), "--rate", str(quiet_per_min / 60),
            "--seed", str(seed), "--stats-seconds", "30"]
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=open(log, "w"), text=True,
                            env={**os.environ, "PYTHONPATH": str(ROOT)})
    env = {}
    while len(env) < 4:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"simulator did not start: {log.read_text()[-2000:]}")
        key, _, value = line.strip().partition("=")
        env[key] = value
    return proc, env


def _sim(env: dict, what: str) -> object:
    return requests.get(f"{env['CHZZK_API_BASE']}/_sim/{what}", timeout=30).json()["content"]


def _wait(cond, timeout: float, step: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if cond():
            return True
        time.sleep(step)
    return cond()


def run(seconds: float = 600, rate: float = 15_000, quiet: int = 500, processes: int = 1,
        flood_channels: int = 1, quiet_per_min: float = 3.0, seed: int = 7, drain_timeout: float = 900,
        keep: bool = False, collector_root: str | None = None, poll_seconds: float = 10,
        drain_process: bool = False) -> dict:
    """``collector_root``: run the collector from another checkout (e.g. an older commit
    unpacked with ``git archive``), to compare it with this one under the same simulator."""
    croot = Path(collector_root) if collector_root else ROOT
    tmp = Path(tempfile.mkdtemp(prefix="chzzk-flood-bench-"))
    srv = datagen.start_server()
    sim = None
    procs: list[subprocess.Popen] = []
    try:
        sim, env = _start_sim(rate, flood_channels, quiet, quiet_per_min, seed, tmp / "sim.log")
        channels = env["CHZZK_CHANNELS"].split(",")
        t_launch = time.monotonic()
        for k in range(processes):
            penv = {**os.environ, **env, "DATABASE_URL": srv.url, "SPOOL_DIR": str(tmp / f"spool{k}"),
                    "COLLECTOR_METRICS_FILE": str(tmp / f"metrics{k}.prom"), "FLUSH_SECONDS": "1",
                    "FLUSH_MAX_EVENTS": "2000", "POLL_SECONDS": str(poll_seconds), "LOG_LEVEL": "INFO", "PYTHONPATH": str(croot),
                    "CHZZK_CHANNELS": ",".join(channels)}
            args = [sys.executable, "-m", "collector", "run"] + (["--drain-process"] if drain_process else [])
            procs.append(subprocess.Popen(args, cwd=croot, env=penv, stdout=subprocess.DEVNULL,
                                          stderr=open(tmp / f"collector{k}.log", "w")))
        # the flood starts counting when the first flood socket joined (lines before were never sent)
        if not _wait(lambda: _sim(env, "health")["floodLines"] > 0, 120):
            raise RuntimeError("no collector joined the flood channel within 120 s")
        t_start = time.monotonic()
        cpu0 = [_tree_cpu(p.pid) for p in procs]
        sim_cpu0, pg_cpu0 = _cpu(sim.pid), {p: _cpu(p) for p in _postgres_pids(srv.tmpdir)}
        peak_backlog = 0
        samples, timeline = [], []
        while time.monotonic() - t_start < seconds:
            time.sleep(min(2.0, seconds / 10))
            m = [_metrics(tmp / f"metrics{k}.prom") for k in range(processes)]
            backlog = sum(x.get("chzzk_collector_spool_backlog_records", 0) for x in m)
            peak_backlog = max(peak_backlog, backlog)
            samples.append((time.monotonic() - t_start, backlog,
                            sum(v for x in m for k, v in x.items() if k.startswith("chzzk_collector_records_stored"))))
            timeline.append(_point(time.monotonic() - t_start, m))
        _sim(env, "pause")
        t_pause = time.monotonic()
        flood_cpu = sum(_tree_cpu(p.pid) for p in procs) - sum(cpu0)
        sent_at_pause = _sim(env, "health")["floodLines"]
        m = [_metrics(tmp / f"metrics{k}.prom") for k in range(processes)]
        backlog_at_pause = sum(x.get("chzzk_collector_spool_backlog_records", 0) for x in m)
        _wait(lambda: _sim(env, "health")["unsentBytes"] == 0, 120)
        truth = _sim(env, "truth")
        sent = sum(t["lines"] for t in truth)

        def stored() -> int:
            with psycopg2.connect(srv.url) as conn, conn.cursor() as cur:
                cur.execute("SELECT count(*) FROM stream_chat")
                return cur.fetchone()[0]
        drained = _wait(lambda: stored() >= sent, drain_timeout, step=1.0)
        t_end = time.monotonic()
        cpu_each = [_tree_cpu(p.pid) - c0 for p, c0 in zip(procs, cpu0, strict=True)]
        cpu = sum(cpu_each)
        sim_cpu = _cpu(sim.pid) - sim_cpu0
        pg_cpu = sum(_cpu(p) - pg_cpu0.get(p, 0.0) for p in _postgres_pids(srv.tmpdir))
        hwm = max(_tree_hwm_kb(p.pid) for p in procs)  # a collector with its drain process: both
        for p in procs:
            p.send_signal(signal.SIGTERM)
        codes = [p.wait(drain_timeout) for p in procs]
        with psycopg2.connect(srv.url) as conn, conn.cursor() as cur:
            cur.execute(TRUTH_SQL)
            check = compare(_sim(env, "truth"), cur.fetchall())
            cur.execute("SELECT pg_total_relation_size('stream_chat')")
            pg_bytes = cur.fetchone()[0]
        left = sum(len(list((tmp / f"spool{k}").glob("*.jsonl"))) for k in range(processes))
        stages = {}
        for k in range(processes):
            for key, v in _metrics(tmp / f"metrics{k}.prom").items():
                if key.startswith("chzzk_collector_stage_cpu_seconds_total"):
                    stage = re.search(r'stage="([^"]+)"', key).group(1)
                    stages[stage] = stages.get(stage, 0.0) + v
        total_stage = sum(stages.values()) or 1.0
        per_process = [int(sum(v for key, v in _metrics(tmp / f"metrics{k}.prom").items()
                               if key.startswith("chzzk_collector_records_stored_total"))) for k in range(processes)]
        wall = t_end - t_start
        lines = check["sent"]
        return {
            "seconds": seconds, "rate": rate, "quiet": quiet, "processes": processes,
            "flood_channels": flood_channels, "lines": lines, "sent_at_pause": sent_at_pause,
            "lines_per_s": round(lines / wall), "during_flood_per_s": round(sent_at_pause / (t_pause - t_start)),
            "wall_s": round(wall, 1), "drain_s": round(t_end - t_pause, 1), "drained": drained,
            "launch_to_flood_s": round(t_start - t_launch, 1),
            "cpu_s": round(cpu, 2), "cpu_s_per_1000": round(1000 * cpu / max(lines, 1), 4),
            "cores": round(cpu / wall, 2), "cores_during_flood": round(flood_cpu / (t_pause - t_start), 2),
            "sim_cores": round(sim_cpu / wall, 2), "pg_cores": round(pg_cpu / wall, 2),
            "peak_rss_mb": round(hwm / 1024, 1), "peak_backlog": int(peak_backlog),
            "backlog_at_pause": int(backlog_at_pause), "segments_left": left, "exit_codes": codes,
            "lost": check["lost"], "extra": check["extra"], "exact": check["exact"], "stored": check["stored"],
            "pg_bytes_per_line": round(pg_bytes / max(check["stored"], 1)), "drain_process": drain_process,
            "stages": {k: round(v / total_stage, 3) for k, v in sorted(stages.items())},
            "stage_cpu_s": {k: round(v, 2) for k, v in sorted(stages.items())},
            "ratio_target": round(lines / wall / TARGET, 2), "ratio_public": round(lines / wall / PUBLIC, 2),
            "backlog_samples": samples[-5:], "stored_per_process": per_process,
            "cpu_s_per_process": [round(c, 2) for c in cpu_each],
            "cpu_s_per_1000_per_process": [round(1000 * c / max(k, 1), 4) for c, k in zip(cpu_each, per_process,
                                                                                       strict=True)],
            "windows": _windows(timeline),
        }
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
        if sim is not None:
            sim.send_signal(signal.SIGTERM)
            try:
                sim.wait(20)
            except subprocess.TimeoutExpired:
                sim.kill()
        _stop_server(srv)
        if keep:
            print(f"logs and metrics kept in {tmp}", file=sys.stderr)
        else:
            shutil.rmtree(tmp, ignore_errors=True)


def print_report(res: dict) -> None:
    if "skipped" in res:
        print(f"\n== flood: skipped ({res['skipped']})")
        return
    print(f"\n== collector flood: {res['flood_channels']} channel(s) at {res['rate']:,.0f} lines/s + {res['quiet']} quiet,"
          f" {res['seconds']:.0f} s, {res['processes']} process(es)"
          f"{' (each with its drain in a child process: --drain-process)' if res.get('drain_process') else ''}")
    print(f"   lines sent / stored          {res['lines']:>12,} / {res['stored']:,}   lost {res['lost']}  "
          f"duplicated {res['extra']}  digest {'equal' if res['exact'] else 'DIFFERS'}")
    print(f"   stored end to end            {res['lines_per_s']:>12,} lines/s  (flood {res['during_flood_per_s']:,}/s sent;"
          f" drain after the flood {res['drain_s']} s)")
    print(f"   vs target 12,000 lines/s     {res['ratio_target']:>12}x    vs public pipeline 10,800/s "
          f"{res['ratio_public']}x")
    print(f"   collector CPU                {res['cpu_s_per_1000']:>12} s per 1,000 lines, {res['cores']} cores "
          f"({res['cores_during_flood']} during the flood); simulator {res['sim_cores']}, PostgreSQL {res['pg_cores']}")
    print(f"   peak RSS                     {res['peak_rss_mb']:>12} MB (per process, max)")
    if "pg_bytes_per_line" in res:
        print(f"   PostgreSQL bytes a line      {res['pg_bytes_per_line']:>12,} (stream_chat with its TOAST and indexes)")
    print(f"   spool backlog                peak {res['peak_backlog']:,} records, {res['backlog_at_pause']:,} when the "
          f"flood stopped, {res['segments_left']} segment(s) left at the end")
    print("   CPU share per stage          " + ", ".join(f"{k} {100 * v:.0f}%" for k, v in res["stages"].items()))
    if res["processes"] > 1:
        print(f"   records stored per process   {res['stored_per_process']}")
        print(f"   CPU s per 1,000 lines stored {res['cpu_s_per_1000_per_process']} (each process: its CPU over the"
              f" lines it stored)")
    for w in res.get("windows", []):
        stages = ", ".join(f"{k} {v}" for k, v in w.items() if k not in (
            "from_s", "to_s", "received_per_s", "stored_per_s", "backlog", "process_us_per_stored"))
        print(f"   {w['from_s']:>4}-{w['to_s']:<4} s  received {w['received_per_s']:,}/s stored {w['stored_per_s']:,}/s "
              f"backlog {w['backlog']:,}: process {w['process_us_per_stored']} µs per line stored; "
              f"µs per line: {stages}")


def scaling(counts: tuple[int, ...], **kwargs) -> dict:
    """The same flood (``flood_channels`` channels sharing ``rate``, so the load is the same
    whatever the count) collected by each number of processes in `counts`, one run after the
    other, each against its own simulator and PostgreSQL."""
    return {"runs": [run(processes=k, **kwargs) for k in counts]}


def print_scaling(res: dict) -> None:
    for r in res["runs"]:
        print_report(r)
    base = res["runs"][0]
    print(f"\n== scaling: the same flood, {base['flood_channels']} flood channel(s) x {base['rate']:,.0f} lines/s +"
          f" {base['quiet']} quiet, {base['seconds']:.0f} s")
    print("   processes  lines/s end to end  CPU s per 1,000 lines (all; each)      lost  duplicated  digest")
    for r in res["runs"]:
        print(f"   {r['processes']:>9}  {r['lines_per_s']:>18,}  {r['cpu_s_per_1000']:<7} "
              f"{str(r['cpu_s_per_1000_per_process']):<28} {r['lost']:>5}  {r['extra']:>10}  "
              f"{'equal' if r['exact'] else 'DIFFERS'}")
    for r in res["runs"][1:]:
        ratio = r["cpu_s_per_1000"] / max(base["cpu_s_per_1000"], 1e-9)
        print(f"   {r['processes']} processes: CPU per line {ratio:.2f}x that of {base['processes']} (1.00 = each"
              f" process does the same work per line, so N processes on N free cores store N times the lines;"
              f" lines/s here is bounded by the machine's shared cores)")


MODES = {"in": False, "drain": True}  # --modes: where the drain (parse + store) runs


def modes(names: tuple[str, ...], **kwargs) -> dict:
    """The same flood collected with the drain in the collector's process (``in``) and in a
    child process (``drain``: ``collector run --drain-process``), one run after the other,
    each against its own simulator and PostgreSQL."""
    return {"runs": [run(drain_process=MODES[name], **kwargs) | {"mode": name} for name in names]}


def print_modes(res: dict) -> None:
    for r in res["runs"]:
        print_report(r)
    base = res["runs"][0]
    print(f"\n== where the drain runs: the same flood, {base['rate']:,.0f} lines/s + {base['quiet']} quiet,"
          f" {base['seconds']:.0f} s")
    print("   mode    lines/s end to end  vs 12,000  CPU s per 1,000 lines  cores  RSS MB  lost  duplicated  digest")
    for r in res["runs"]:
        print(f"   {r['mode']:<6}  {r['lines_per_s']:>18,}  {r['ratio_target']:>8}x  {r['cpu_s_per_1000']:>21}"
              f"  {r['cores']:>5}  {r['peak_rss_mb']:>6}  {r['lost']:>4}  {r['extra']:>10}  "
              f"{'equal' if r['exact'] else 'DIFFERS'}")
    for r in res["runs"][1:]:
        print(f"   {r['mode']} / {base['mode']}: lines/s {r['lines_per_s'] / max(base['lines_per_s'], 1):.2f}x, "
              f"CPU per line {r['cpu_s_per_1000'] / max(base['cpu_s_per_1000'], 1e-9):.2f}x (a shared machine's "
              f"lines/s says what the cores it gave allowed; the CPU per line compares the code)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--seconds", type=float, default=600, help="flood duration (default 600)")
    ap.add_argument("--rate", type=float, default=15_000, help="lines/s of each flood channel (default 15,000)")
    ap.add_argument("--quiet", type=int, default=500, help="quiet channels (default 500)")
    ap.add_argument("--quiet-per-min", type=float, default=3.0, help="lines/min of a quiet channel (default 3)")
    ap.add_argument("--flood-channels", type=int, default=1, help="flood channels (default 1)")
    ap.add_argument("--processes", default="1", help="collector processes (default 1); a list (1,2): the same "
                    "flood collected by each count in turn, compared (the scaling mode)")
    ap.add_argument("--poll-seconds", type=float, default=10,
                    help="live-status poll interval of the collectors (default 10; the setting's default is 30: "
                         "500 channels polled every 10 s cost ~0.08 cores, each poll a new TCP connection to "
                         "the simulator)")
    ap.add_argument("--drain-process", action="store_true", help="collector run --drain-process (parse and store "
                    "in a child process)")
    ap.add_argument("--modes", metavar="in,drain", help="run the flood once per mode, in turn, and compare: in = the"
                    " drain in the collector's process, drain = in a child process (--drain-process)")
    ap.add_argument("--keep", action="store_true", help="keep the logs and metrics files (their folder is printed)")
    ap.add_argument("--collector-root", metavar="DIR", help="run the collector from this checkout instead")
    a = ap.parse_args(argv)
    counts = tuple(int(k) for k in a.processes.split(","))
    common = {"seconds": a.seconds, "rate": a.rate, "quiet": a.quiet, "flood_channels": a.flood_channels,
              "quiet_per_min": a.quiet_per_min, "keep": a.keep, "collector_root": a.collector_root,
              "poll_seconds": a.poll_seconds, "drain_process": a.drain_process}
    if a.modes:
        if not a.modes or set(a.modes.split(",")) - MODES.keys():
            ap.error(f"--modes: a list of {', '.join(MODES)}")
        common.pop("drain_process")
        print_modes(modes(tuple(a.modes.split(",")), processes=counts[0], **common))
    elif len(counts) > 1:
        print_scaling(scaling(counts, **common))
    else:
        print_report(run(processes=counts[0], **common))
    return 0


if __name__ == "__main__":
    sys.exit(main())
