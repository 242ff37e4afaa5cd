"""Dashboard page render times in a real browser, beside a hello-world Streamlit page.

For each page of the app (read from dashboard/streamlit_app.py's st.navigation list) the time
from navigation to "all elements drawn" — the script run finished
(`data-test-script-state="notRunning"`), no running indicator or skeleton left, every visible
plotly chart has drawn its SVG and every visible dataframe its canvas (those in a closed
expander are not drawn until opened) — measured in Debian's Chromium via
Playwright. *Cold*: the first visit after the server started (empty Streamlit caches, fresh
DuckDB) in a fresh browser profile; *warm*: later visits in new tabs of the same profile
(median and max of `reps`). The hello-world page is
measured the same way in the same run; the targets (issue 5) are page − hello ≤ 1 s warm and
≤ 3 s cold, on a 10M-row lake.

    python -m bench.dashboard_bench --lake PATH [--reps 5] [--pages overview,channel]"""
from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "streamlit_app.py"
HELLO = ROOT / "bench" / "hello_app.py"
CHROMIUM = "/usr/bin/chromium"
WARM_TARGET, COLD_TARGET = 1.0, 3.0
_DRAWN = """() => {
  const shown = (e) => e.getClientRects().length && !e.closest('details:not([open])');
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]')) return false;
  for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"]'))
    if (shown(c) && !c.querySelector('.main-svg')) return false;
  for (const v of document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
    if (shown(v) && !v.querySelector('canvas, svg')) return false;
  for (const d of document.querySelectorAll('[data-testid="stDataFrame"]'))
    if (shown(d) && !d.querySelector('canvas')) return false;
  return document.querySelector('[data-testid="stMain"]') !== null;
}"""


def page_paths(app: Path = APP) -> list[str]:
    """URL paths of the app's pages in navigation order ("" for the default page)."""
    text = app.read_text(encoding="utf-8")
    out = []
    for m in re.finditer(r'st\.Page\(PAGES / "([a-z_]+)\.py"([^\n]*)', text):
        out.append("" if "default=True" in m.group(2) else m.group(1))
    return out


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """`streamlit run SCRIPT` on a free loopback port; stop() ends it."""

    def __init__(self, script: Path, env: dict):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
             "--server.address", "127.0.0.1", "--server.port", str(self.port),
             "--server.fileWatcherType", "none", "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=self.log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.log.seek(0)
                raise RuntimeError(f"streamlit exited: {self.log.read()[-2000:].decode(errors='replace')}")
            try:
                with urllib.request.urlopen(self.url + "/_stcore/health", timeout=2):
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"streamlit did not start on {self.url}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def render_seconds(context, url: str, timeout_ms: int = 120_000) -> float:
    """Seconds from navigation to every element drawn, in a new tab of `context`."""
    page = context.new_page()
    try:
        t0 = time.perf_counter()
        page.goto(url, wait_until="commit")
        page.wait_for_function(_DRAWN, timeout=timeout_ms, polling=50)
        seconds = time.perf_counter() - t0
        if page.locator('[data-testid="stException"]').count():
            raise RuntimeError(f"{url}: the page shows an exception")
        return seconds
    finally:
        page.close()


def _measure(browser, script: Path, env: dict, path: str, reps: int) -> dict:
    """Cold: a fresh server and a fresh browser profile (no HTTP cache); warm: more tabs in
    the same profile, as a user who comes back."""
    server = Server(script, env)
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    try:
        url = f"{server.url}/{path}"
        cold = render_seconds(context, url)
        warm = [render_seconds(context, url) for _ in range(reps)]
    finally:
        context.close()
        server.stop()
    return {"cold_s": round(cold, 3), "warm_median_s": round(statistics.median(warm), 3),
            "warm_max_s": round(max(warm), 3)}


def run(lake: str, reps: int = 5, pages: list[str] | None = None) -> dict:
    """Every page (cold: its own fresh server; warm: `reps` more visits) and hello-world."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        return {"skipped": f"{CHROMIUM} not found (make system-deps)"}
    data_dir = tempfile.mkdtemp(prefix="chzzk-dash-bench-")  # no accounts file: no login
    env = {**os.environ, "WAREHOUSE_DIR": lake, "DATA_DIR": data_dir, "LOG_LEVEL": "WARNING",
           "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
    paths = pages if pages is not None else page_paths()
    out: dict = {"lake": lake, "reps": reps, "pages": {}}
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        try:
            out["hello"] = _measure(browser, HELLO, env, "", reps)
            for path in paths:
                r = _measure(browser, APP, env, path, reps)
                r["warm_over_hello_s"] = round(r["warm_median_s"] - out["hello"]["warm_median_s"], 3)
                r["cold_over_hello_s"] = round(r["cold_s"] - out["hello"]["cold_s"], 3)
                r["result"] = ("PASS" if r["warm_over_hello_s"] <= WARM_TARGET
                               and r["cold_over_hello_s"] <= COLD_TARGET else "FAIL")
                out["pages"][path or "(default)"] = r
        finally:
            browser.close()
    return out


def print_report(res: dict) -> None:
    if "skipped" in res:
        print(f"\n== dashboard: skipped ({res['skipped']})")
        return
    h = res["hello"]
    print(f"\n== dashboard pages in Chromium (s; hello-world: cold {h['cold_s']:.2f}, warm {h['warm_median_s']:.2f};"
          f" targets: warm ≤ hello + {WARM_TARGET:.0f} s, cold ≤ hello + {COLD_TARGET:.0f} s)")
    print(f"   {'page':<16}{'cold':>8}{'warm p50':>10}{'warm max':>10}{'warm-hello':>12}{'cold-hello':>12}")
    for name, r in res["pages"].items():
        print(f"   {name:<16}{r['cold_s']:>8.2f}{r['warm_median_s']:>10.2f}{r['warm_max_s']:>10.2f}"
              f"{r['warm_over_hello_s']:>12.2f}{r['cold_over_hello_s']:>12.2f}  {r['result']}")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", required=True, help="the lake to serve (WAREHOUSE_DIR)")
    ap.add_argument("--reps", type=int, default=5, help="warm visits per page (default 5)")
    ap.add_argument("--pages", default=None, help="comma-separated url paths (default: every page)")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    a = ap.parse_args(argv)
    res = run(a.lake, a.reps, a.pages.split(",") if a.pages else None)
    print_report(res)
    if a.json:
        a.json.write_text(json.dumps(res, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
