"""Dashboard page render times in a real browser, beside a hello-world Streamlit page.

Every page of the app, as its sidebar navigation lists them (read from the default page's
nav links), is loaded by URL in Debian's Chromium via Playwright and timed **in the
browser**: `performance.now()` (milliseconds since the navigation started) at the first
moment every element is drawn — the script run finished (`data-test-script-state` is
`notRunning` and no status widget is shown), no skeleton placeholder is left (the lazily
loaded chart and table components have arrived), every visible plotly chart has its SVG,
every visible vega-lite chart its canvas or SVG and every visible dataframe its canvas
(those in a closed expander or a hidden tab are not drawn until opened). Polled every 50 ms.

*Cold*: the first visit to a freshly started `python -m dashboard serve` (empty Streamlit
caches: no query has run; the server imported its modules and opened the lake before it
listened — its warm-up, off with --no-warm-up) in a fresh browser profile (empty HTTP
cache); *warm*: `reps`
later visits in new tabs of the same profile (new Streamlit sessions, shared caches). The
hello-world page (bench/hello_app.py) is measured the same way in the same run: cold at the
start and at the end (the mean is the reference), warm once before each warm page visit
(paired). Targets (the issue): page − hello ≤ 1 s warm (medians), ≤ 3 s cold, on a 10M-row
lake. The pages that wait for a query (users, keywords) are also timed from the Enter key
of a search to every result drawn: reported, without a target.

*Before → after in one run*: `--baseline DIR` serves each page from another checkout of the
app too (DIR holds a `dashboard/` package, e.g. the last commit's, beside links to this
tree's other folders), right before this tree's, paired with the same hello-world visits:
on a shared machine the two are compared within the run, page − hello each.

    python -m bench.dashboard_bench --lake PATH [--reps 3] [--pages channel,users] [--baseline DIR]"""
from __future__ import annotations

import argparse
import json
import logging
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
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parent.parent
APP = ROOT / "dashboard" / "streamlit_app.py"
HELLO = ROOT / "bench" / "hello_app.py"
CHROMIUM = "/usr/bin/chromium"
log = logging.getLogger("bench.dashboard")
WARM_TARGET, COLD_TARGET = 1.0, 3.0
KEYWORD = "ㅋㅋ"  # a common chat token (the simulator's corpus, collector/sim/corpus.py, has it)
# installed before any page script: count the script runs the browser saw, time their ends
# and the Enter key
_INIT = """
window.__bench = {runs: 0, enter: null, done: null};
new MutationObserver((ms) => {
  for (const m of ms) {
    if (m.target.getAttribute('data-test-script-state') !== 'notRunning') window.__bench.runs++;
    else window.__bench.done = performance.now();
  }
}).observe(document, {subtree: true, attributes: true, attributeFilter: ['data-test-script-state']});
document.addEventListener('keydown', (e) => { if (e.key === 'Enter') window.__bench.enter = performance.now(); }, true);
"""
_DRAWN = """(minRuns) => {
  const shown = (e) => e.getClientRects().length && !e.closest('details:not([open])');
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (window.__bench.runs < minRuns) return false;
  if (document.querySelector('[data-testid="stStatusWidget"], [data-testid="stSkeleton"]')) return false;
  const n = {charts: 0, tables: 0};
  for (const c of document.querySelectorAll('[data-testid="stPlotlyChart"]'))
    if (shown(c)) { if (!c.querySelector('.main-svg')) return false; n.charts++; }
  for (const v of document.querySelectorAll('[data-testid="stVegaLiteChart"]'))
    if (shown(v)) { if (!v.querySelector('canvas, svg')) return false; n.charts++; }
  for (const d of document.querySelectorAll('[data-testid="stDataFrame"]'))
    if (shown(d)) { if (!d.querySelector('canvas')) return false; n.tables++; }
  const main = document.querySelector('[data-testid="stMain"]');
  if (!main || !main.querySelector('[data-testid="stElementContainer"]')) return false;
  const ms = performance.now();
  return {ms, enter: window.__bench.enter, done: window.__bench.done ?? ms, ...n};
}"""


def page_paths(app: Path = APP) -> list[str]:
    """URL paths of the pages streamlit_app.py lists ("" for the default page); used only
    when the default page failed and its nav links could not be read."""
    text = app.read_text(encoding="utf-8")
    return ["" if "default=True" in m.group(2) else m.group(1)
            for m in re.finditer(r'st\.Page\(PAGES / "([a-z_]+)\.py"([^\n]*)', text)]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """The app as operators serve it, `python -m dashboard serve` (it warms up before it
    listens: dashboard/serve_cli.py; `warm_up=False` passes --no-warm-up), or another
    script (the hello-world page) with `streamlit run SCRIPT`; on a free loopback port (no
    accounts: the dashboard binds 127.0.0.1); stop() ends it. Ready when /_stcore/health
    answers."""

    def __init__(self, script: Path, env: dict, warm_up: bool = True, root: Path = ROOT):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = tempfile.TemporaryFile()
        if script == APP:  # the app of the checkout at `root`
            cmd = [sys.executable, "-m", "dashboard", "serve", "--port", str(self.port),
                   *([] if warm_up else ["--no-warm-up"])]
        else:
            cmd = [sys.executable, "-m", "streamlit", "run", str(script), "--server.headless", "true",
                   "--server.address", "127.0.0.1", "--server.port", str(self.port),
                   "--browser.gatherUsageStats", "false"]
        env = {**env, "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none"}
        self.proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=self.log, stderr=subprocess.STDOUT)
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
        self.stop()
        raise RuntimeError(f"streamlit did not start on {self.url}")

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _drawn(page, min_runs: int, timeout_ms: int) -> dict:
    got = page.wait_for_function(_DRAWN, arg=min_runs, timeout=timeout_ms, polling=50).json_value()
    if page.locator('[data-testid="stException"]').count():
        raise RuntimeError(f"{page.url}: the page shows an exception")
    return got


def visit(context, url: str, search: str | None = None, timeout_ms: int = 120_000) -> dict:
    """One visit in a new tab of `context`: seconds from navigation start to every element
    drawn (`s`) and to the end of the script run (`script_s`), browser clock; what was drawn;
    the app's nav links. With `search`, the same from pressing Enter in the page's first text
    box (`search`: `s`, `script_s`, ...)."""
    page = context.new_page()
    try:
        page.goto(url, wait_until="commit")
        got = _drawn(page, 0, timeout_ms)
        out = {"s": got["ms"] / 1000, "script_s": got["done"] / 1000, "charts": got["charts"],
               "tables": got["tables"], "nav": page.eval_on_selector_all(
                   '[data-testid="stSidebarNavLink"]', "els => els.map(e => e.getAttribute('href'))")}
        if search is not None:
            runs = page.evaluate("window.__bench.runs")
            box = page.locator('[data-testid="stMain"] [data-testid="stTextInput"] input').first
            box.fill(search)
            box.press("Enter")
            got = _drawn(page, runs + 1, timeout_ms)
            out["search"] = {"s": (got["ms"] - got["enter"]) / 1000, "script_s": (got["done"] - got["enter"]) / 1000,
                             "charts": got["charts"], "tables": got["tables"]}
        return out
    finally:
        page.close()


def _context(browser):
    context = browser.new_context(viewport={"width": 1400, "height": 1000})
    context.add_init_script(_INIT)
    return context


def _cold(browser, script: Path, env: dict, path: str, search: str | None, warm_up: bool = True,
          root: Path = ROOT):
    """A fresh server and a fresh browser profile; (server, context, first visit) — the
    caller makes the warm visits, then closes both."""
    server = Server(script, env, warm_up, root)
    try:
        context = _context(browser)
    except Exception:
        server.stop()
        raise
    try:
        return server, context, visit(context, f"{server.url}/{path}", search)
    except Exception:
        context.close()
        server.stop()
        raise


def _figures(cold: dict, warm: list[dict]) -> dict:
    return {"cold_s": round(cold["s"], 3), "warm_median_s": round(statistics.median(v["s"] for v in warm), 3),
            "warm_max_s": round(max(v["s"] for v in warm), 3), "cold_script_s": round(cold["script_s"], 3),
            "warm_script_median_s": round(statistics.median(v["script_s"] for v in warm), 3),
            "charts": cold["charts"], "tables": cold["tables"]}


def _page(browser, env: dict, path: str, reps: int, search: str | None, hello_ctx, hello_url: str,
          warm_up: bool = True, root: Path = ROOT) -> dict:
    """Cold visit, then `reps` warm visits each right after a warm hello-world visit; the
    app of the checkout at `root`."""
    server, context, cold = _cold(browser, APP, env, path, search, warm_up, root)
    warm, hello = [], []
    try:
        for _ in range(reps):
            hello.append(visit(hello_ctx, hello_url))
            warm.append(visit(context, f"{server.url}/{path}", search))
    finally:
        context.close()
        server.stop()
    r = _figures(cold, warm) | {"hello_warm_median_s": round(statistics.median(v["s"] for v in hello), 3),
                                "hello_warm_script_s": round(statistics.median(v["script_s"] for v in hello), 3),
                                "nav": cold["nav"]}
    if search is not None:
        r["search"] = {"query": search, **_figures(cold["search"], [v["search"] for v in warm])}
    return r


def _searches(lake: str) -> dict[str, str]:
    """What to type on the search pages: two letters of a busy user's nickname (as the query
    benchmark's search_users) and a keyword."""
    import warehouse
    from bench import query_bench
    try:
        wh = warehouse.open(lake)
        try:
            lake_scope = query_bench.scopes(wh, None, warehouse)[-1]  # the whole lake's busiest chatter
            return {"users": lake_scope.needle, "keywords": KEYWORD}
        finally:
            wh.close()
    except Exception as exc:  # no user to pick: the users page is timed without a search
        log.warning("no user to search for on %s: %s", lake, exc)
        return {"keywords": KEYWORD}


def run(lake: str, reps: int = 3, pages: list[str] | None = None, warm_up: bool = True,
        baseline: str | None = None) -> dict:
    """Hello-world and every page of the app (or `pages`, url paths, "" = the default one)
    served over `lake`. A page that fails is reported with its error; the others go on.
    `warm_up=False`: the app's server skips its warm-up (what that costs the cold visit).
    `baseline`: a checkout whose app is measured too, each page right before this tree's
    (out["baseline"], the same figures)."""
    if not Path(CHROMIUM).exists():
        return {"skipped": f"{CHROMIUM} not found (make system-deps)"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        return {"skipped": "playwright is not installed (make install-dev)"}
    t0 = time.monotonic()
    searches = _searches(lake)
    out: dict = {"lake": lake, "reps": reps, "warm_up": warm_up, "searches": searches, "pages": {}}
    if baseline is not None:
        out["baseline"] = {"root": baseline, "pages": {}}
    with tempfile.TemporaryDirectory(prefix="chzzk-dash-bench-") as own, sync_playwright() as p:
        env = {**os.environ, "WAREHOUSE_DIR": lake, "DATA_DIR": own, "LOG_LEVEL": "WARNING",
               "DASHBOARD_ACCOUNTS_FILE": f"{own}/accounts.toml",  # none: no login, like localhost
               "DASHBOARD_AUDIT_FILE": f"{own}/audit.jsonl", "STREAMLIT_BROWSER_GATHER_USAGE_STATS": "false"}
        browser = p.chromium.launch(executable_path=CHROMIUM,
                                    args=["--no-sandbox", "--disable-gpu", "--no-first-run"])
        hello_server, hello_ctx, first = _cold(browser, HELLO, env, "", None)
        try:
            hello_cold = [first]
            todo = list(pages) if pages is not None else [""]
            while todo:
                path = todo.pop(0)
                name = path or "(default)"
                if baseline is not None:
                    try:
                        out["baseline"]["pages"][name] = _page(browser, env, path, reps, searches.get(path), hello_ctx,
                                                               hello_server.url, warm_up, Path(baseline))
                    except Exception as exc:
                        log.warning("baseline page %s failed: %s", name, exc)
                        out["baseline"]["pages"][name] = {"error": str(exc)[:300]}
                try:
                    r = _page(browser, env, path, reps, searches.get(path), hello_ctx, hello_server.url, warm_up)
                except Exception as exc:  # one page must not cost the run its other figures
                    log.warning("dashboard page %s failed: %s", name, exc)
                    out["pages"][name] = {"error": str(exc)[:300]}
                    if pages is None and path == "":  # no nav links read: the pages the app lists
                        todo += [q for q in page_paths() if q]
                    continue
                log.info("dashboard %-12s cold %.2fs, warm p50 %.2fs (hello %.2fs); %d charts, %d tables", name,
                         r["cold_s"], r["warm_median_s"], r["hello_warm_median_s"], r["charts"], r["tables"])
                if pages is None and path == "":  # the rest as the app's navigation lists them
                    out["nav"] = [urlsplit(u).path.lstrip("/") for u in r["nav"]]
                    todo += [q for q in out["nav"] if q]
                out["pages"][name] = r
            server, context, second = _cold(browser, HELLO, env, "", None)
            context.close()
            server.stop()
            hello_cold.append(second)
        finally:
            hello_ctx.close()
            hello_server.stop()
            browser.close()
    done = [r for r in out["pages"].values() if "error" not in r]
    out["hello"] = {"cold_s": [round(v["s"], 3) for v in hello_cold],
                    "cold_mean_s": round(statistics.mean(v["s"] for v in hello_cold), 3),
                    "cold_script_s": [round(v["script_s"], 3) for v in hello_cold],
                    "warm_median_s": round(statistics.median(r["hello_warm_median_s"] for r in done), 3) if done else None,
                    "warm_script_s": round(statistics.median(r["hello_warm_script_s"] for r in done), 3) if done else None}
    for r in [*out["pages"].values(), *out.get("baseline", {}).get("pages", {}).values()]:
        if "error" in r:
            continue
        r.pop("nav")
        r["warm_over_hello_s"] = round(r["warm_median_s"] - r["hello_warm_median_s"], 3)
        r["cold_over_hello_s"] = round(r["cold_s"] - out["hello"]["cold_mean_s"], 3)
        r["result"] = ("PASS" if r["warm_over_hello_s"] <= WARM_TARGET and r["cold_over_hello_s"] <= COLD_TARGET
                       else "FAIL")
    out["seconds"] = round(time.monotonic() - t0, 1)
    return out


def print_report(res: dict, lake_rows: int | None = None) -> None:
    if "skipped" in res:
        print(f"\n== dashboard: skipped ({res['skipped']})")
        return
    h = res["hello"]
    on = f" on the {lake_rows:,}-row lake" if lake_rows else ""
    warm = "" if res.get("warm_up", True) else " (app served with --no-warm-up)"
    print(f"\n== dashboard pages in Chromium{on}{warm}: first full render, s from navigation start (browser clock);"
          f" {res['reps']} warm visits; {res['seconds']:.0f}s in all")
    print(f"   hello-world: cold {' / '.join(f'{s:.2f}' for s in h['cold_s'])} (start / end),"
          f" warm p50 {h['warm_median_s'] or 0:.2f} (script ends at {h['warm_script_s'] or 0:.2f});"
          f" targets: cold - hello <= {COLD_TARGET:.0f} s, warm - hello <= {WARM_TARGET:.0f} s")
    print("   'script' = when the script run ended, cold / warm p50: the rest is the browser loading and drawing")
    print(f"   {'page':<20}{'cold':>7}{'warm p50':>10}{'warm max':>10}{'cold-hello':>12}{'warm-hello':>12}"
          f"{'script':>13}{'charts':>8}{'tables':>8}  result")
    before = res.get("baseline", {}).get("pages", {})
    rows = [(f"{name} before", before[name]) if k == 0 else (name, r)
            for name, r in res["pages"].items() for k in ((0, 1) if name in before else (1,))]
    if before:
        print(f"   'before': the app of {res['baseline']['root']}, measured right before this tree's, same hello visits")
    for name, r in rows:
        if "error" in r:
            print(f"   {name:<20} error: {r['error'][:80]}")
            continue
        print(f"   {name:<20}{r['cold_s']:>7.2f}{r['warm_median_s']:>10.2f}{r['warm_max_s']:>10.2f}"
              f"{r['cold_over_hello_s']:>12.2f}{r['warm_over_hello_s']:>12.2f}"
              f"{r['cold_script_s']:>7.2f}/{r['warm_script_median_s']:<5.2f}{r['charts']:>8}{r['tables']:>8}"
              f"  {r['result']}")
    for name, r in res["pages"].items():
        if "search" in r:
            s = r["search"]
            print(f"   {name}: search {s['query']!r}, from Enter: cold {s['cold_s']:.2f}, warm p50"
                  f" {s['warm_median_s']:.2f}, max {s['warm_max_s']:.2f}; script {s['cold_script_s']:.2f}"
                  f" / {s['warm_script_median_s']:.2f}; {s['charts']} charts, {s['tables']} tables (no target)")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--lake", required=True, help="the lake to serve (WAREHOUSE_DIR)")
    ap.add_argument("--reps", type=int, default=3, help="warm visits per page (default 3)")
    ap.add_argument("--pages", default=None,
                    help="comma-separated url paths, '' for the default page (default: every page in the nav)")
    ap.add_argument("--no-warm-up", action="store_true",
                    help="serve the app with --no-warm-up (what the server's warm-up saves the cold visit)")
    ap.add_argument("--baseline", default=None,
                    help="another checkout (a dashboard/ package beside this tree's other folders) measured too,"
                         " each page right before this tree's: before -> after in one run")
    ap.add_argument("--json", type=Path, default=None, help="also write the results here")
    a = ap.parse_args(argv)
    res = run(a.lake, a.reps, a.pages.split(",") if a.pages is not None else None, not a.no_warm_up, a.baseline)
    print_report(res)
    if a.json:
        a.json.write_text(json.dumps(res, indent=1, ensure_ascii=False))
    return 0


if __name__ == "__main__":
    sys.exit(main())
