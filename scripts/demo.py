"""`make demo`: the whole system on the embedded default, in one terminal.

Starts the embedded PostgreSQL, the CHZZK simulator, loads a realistic synthetic history
(collector.sim.history, the bench's generator: channels of very different sizes, the
simulator's live channels among them, overlapping audiences, renames, subscribers,
donations; a few hundred thousand lines), runs the collector against the simulator, syncs
the warehouse (again every minute, so live chat shows up), and serves the dashboard.
Ctrl-C stops all of it."""
from __future__ import annotations

import argparse
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from core import db, settings  # noqa: E402
from core.cli import setup_logging  # noqa: E402

log = logging.getLogger("demo")
PY = sys.executable


def port_free(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) != 0


def start(name: str, args: list[str], env: dict, logs: Path, **kw) -> subprocess.Popen:
    """Start a child whose log goes to logs/<name>.log (the terminal keeps the banner)."""
    out = open(logs / f"{name}.log", "ab")  # the child writes it until it exits
    kw.setdefault("stdout", out)
    proc = subprocess.Popen([PY, *args], cwd=ROOT, env=env, stderr=out, **kw)
    log.info("started %s (pid %d, log %s)", name, proc.pid, out.name)
    return proc


def on_terminate(*_):
    raise KeyboardInterrupt


def read_sim_env(proc: subprocess.Popen, timeout: float = 30.0) -> dict[str, str]:
    """The simulator prints KEY=VALUE lines for the CHZZK_* settings; read them."""
    found: dict[str, str] = {}
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and "CHZZK_CHANNELS" not in found:
        line = proc.stdout.readline()
        if not line:
            if proc.poll() is not None:
                raise SystemExit(f"the simulator exited with code {proc.returncode} before it was ready")
            continue
        key, sep, value = line.strip().partition("=")
        if sep and key.startswith("CHZZK_"):
            found[key] = value
    if "CHZZK_CHANNELS" not in found:
        raise SystemExit("the simulator did not print its settings within 30 s")
    return found


def run_step(name: str, args: list[str], env: dict) -> None:
    t0 = time.monotonic()
    code = subprocess.call([PY, *args], cwd=ROOT, env=env)
    if code != 0:
        raise SystemExit(f"{name} failed with exit code {code}")
    log.info("%s done in %.1fs", name, time.monotonic() - t0)


def load_history(url: str, a: argparse.Namespace) -> None:
    """The realistic history of the days before today (KST), its first channels the
    simulator's; skipped when stream_chat already holds lines from before today (a rerun)."""
    from datetime import datetime

    from collector.sim.generator import make_channels
    from collector.sim.history import KST, Shape
    from collector.sim.history_load import load
    end = datetime.now(KST).replace(hour=0, minute=0, second=0, microsecond=0)
    conn = db.connect(url)
    try:
        with conn.cursor() as cur:
            cur.execute("SELECT EXISTS (SELECT 1 FROM stream_chat WHERE chat_time < %s)", (end,))
            if cur.fetchone()[0]:
                log.info("synthetic history already loaded: skipped")
                return
        conn.rollback()
        shape = Shape(rows=a.history_rows, channels=max(a.history_channels, a.channels), days=a.days,
                      seed=a.seed, top_share=0.35, end=end)
        live = [(c.channel_id, c.channel_name) for c in make_channels(a.channels, a.seed)]
        info = load(conn, shape, bulk=False, channels=live, sessions=True)  # viewers and categories too
        log.info("synthetic history: %d lines, %d channels, %d chatters in %.1fs", info["rows"], info["channels"],
                 info["chatters"], info["seconds"])
    finally:
        conn.close()


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--port", type=int, default=8501, help="dashboard port")
    ap.add_argument("--sim-port", type=int, default=18080)
    ap.add_argument("--channels", type=int, default=5)
    ap.add_argument("--days", type=int, default=14, help="days of synthetic history")
    ap.add_argument("--history-rows", type=int, default=300_000, help="lines of synthetic history")
    ap.add_argument("--history-channels", type=int, default=12,
                    help="channels of synthetic history (the simulator's among them)")
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--rate", type=float, default=4.0, help="live lines per second per channel")
    ap.add_argument("--sync-every", type=int, default=60, help="seconds between warehouse syncs")
    a = ap.parse_args()
    settings.load_dotenv_once(ROOT / ".env")
    setup_logging()
    # Ctrl-C and SIGTERM both stop everything, also when started in the background
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, on_terminate)
    logs = settings.data_dir() / "logs"
    logs.mkdir(parents=True, exist_ok=True)

    for port, what in ((a.port, "dashboard"), (a.sim_port, "simulator")):
        if not port_free(port):
            raise SystemExit(f"port {port} ({what}) is in use; stop what runs there or pass "
                             f"ARGS='--{'port' if what == 'dashboard' else 'sim-port'} N'")

    url = db.database_url()  # starts the embedded server unless DATABASE_URL is set
    db.connect(url).close()  # applies migrations
    env = dict(os.environ, DATABASE_URL=url, PYTHONUNBUFFERED="1")
    procs: list[tuple[str, subprocess.Popen]] = []

    def stop_all(*_):
        for _name, proc in reversed(procs):
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in reversed(procs):
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
            log.info("stopped %s", name)

    try:
        sim = start("simulator", ["-m", "collector", "sim", "--port", str(a.sim_port),
                                  "--channels", str(a.channels), "--seed", str(a.seed),
                                  "--rate", str(a.rate)], env, logs, stdout=subprocess.PIPE, text=True)
        procs.append(("simulator", sim))
        sim_env = read_sim_env(sim)
        env.update(sim_env)
        load_history(url, a)
        procs.append(("collector", start("collector", ["-m", "collector", "run"],
                                         dict(env, FLUSH_SECONDS="5"), logs)))
        log.info("letting live chat flow for 15 s before the first sync")
        time.sleep(15)
        run_step("warehouse sync", ["-m", "warehouse", "sync", "--all"], env)
        # loopback even when accounts exist: the demo is for this machine
        procs.append(("dashboard", start("dashboard", ["-m", "dashboard", "serve", "--port", str(a.port)],
                                         dict(env, DASHBOARD_ADDRESS="127.0.0.1"), logs)))
        print(f"""
  CHZZK chat analytics demo is running.
    dashboard   http://127.0.0.1:{a.port}
    simulator   http://127.0.0.1:{a.sim_port}  ({a.channels} channels: {sim_env['CHZZK_CHANNELS']})
    collector   writing live simulated chat into PostgreSQL ({url.split('?')[0]})
    warehouse   {settings.warehouse_dir()}  (synced every {a.sync_every} s)
    notebooks   make notebooks  (JupyterLab on this lake, in another terminal)
    logs        {logs}/
  Ctrl-C stops all of it.
""", flush=True)
        next_sync = time.monotonic() + a.sync_every
        while True:
            time.sleep(1)
            for name, proc in procs:
                if proc.poll() is not None:
                    raise SystemExit(f"{name} exited unexpectedly with code {proc.returncode}")
            if time.monotonic() >= next_sync:
                with open(logs / "sync.log", "ab") as out:
                    code = subprocess.call([PY, "-m", "warehouse", "sync"], cwd=ROOT, env=env,
                                           stdout=out, stderr=out)
                log.info("warehouse sync %s (log %s)", "done" if code == 0 else f"failed ({code})",
                         logs / "sync.log")
                next_sync = time.monotonic() + a.sync_every
    except KeyboardInterrupt:
        print("\nstopping…", flush=True)
        return 0
    finally:
        stop_all()


if __name__ == "__main__":
    sys.exit(main())
