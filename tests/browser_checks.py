"""What each dashboard page must show in the browser, computed in plain Python from the
fixture lake's rows (tests/lakefixture.py), never through the warehouse; and the DOM
helpers that read it back. Shared by dashboard/test_browser.py (no accounts) and
dashboard/test_browser_auth.py (each role).

Figures are read from st.metric and from text elements: tables are drawn on a canvas
(glide-data-grid), so their cells are checked through the downloads instead."""
from __future__ import annotations

import io
import os
import re
import subprocess
import sys
from collections import Counter
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import polars as pl
from playwright.sync_api import Page, expect

from dashboard import i18n

# page name (screenshot name) -> url path (st.Page derives it from the file name)
PATHS = {"overview": "", "channel": "channel", "broadcasts": "broadcasts", "subscribers": "subscribers",
         "donations": "donations", "users": "users", "keywords": "keywords", "data": "data_tables",
         "audit": "audit"}
TITLES = {"overview": "page_overview", "channel": "page_channel", "broadcasts": "page_broadcasts",
          "subscribers": "page_subscribers", "donations": "don_title", "users": "page_users",
          "keywords": "kw_page_title", "data": "data_title", "audit": "audit_page_title"}
# what the search pages are given: one user's exact nickname, a phrase of many messages
SEARCH = {"users": ("search_prompt", "김철수"), "keywords": ("kw_prompt", "메시지 1")}
TIMEOUT = 30_000

# the browser both test files launch, and where `make screenshots` writes
SHOTS = Path(__file__).resolve().parents[1] / "docs" / "screenshots"


def download(page: Page, label: str, nth: int = 0) -> tuple[bytes, str]:
    """Click the page's `nth` button named `label` (0: the first table's) and return the file it
    downloads and the file's name."""
    with page.expect_download(timeout=TIMEOUT) as got:
        page.get_by_role("button", name=label).nth(nth).click()
    return Path(got.value.path()).read_bytes(), got.value.suggested_filename


def parquet_download(page: Page, nth: int = 0) -> pl.DataFrame:
    """The page's `nth` table through its Parquet download (the API's column names and types)."""
    return pl.read_parquet(io.BytesIO(download(page, t("download_parquet"), nth)[0]))


def shot(page: Page, name: str, tmp_path: Path) -> None:
    """The whole page as `name`.png: into docs/screenshots/ with UPDATE_SCREENSHOTS=1 (`make
    screenshots`; the README shows them), else into the test's temporary folder (the
    screenshot is still taken, so a page that cannot be drawn fails either way)."""
    shots = SHOTS if os.environ.get("UPDATE_SCREENSHOTS") == "1" else tmp_path
    shots.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]
# url path -> screenshot name of the pages shot without accounts; the keyword and audit
# pages are shot signed in, by dashboard/test_browser_auth.py
PAGES = {path: name for name, path in PATHS.items() if name not in ("keywords", "audit")}



def t(key: str) -> str:
    """A Korean label (the default language), without asking for a Streamlit session."""
    return i18n.t(key, "ko")


# -- the fixture lake, counted in plain Python -------------------------------------------

def lines(facts: dict, channels, days=None) -> list[dict]:
    """The user lines (system lines excluded, as everywhere in the dashboard) of `channels`
    on `days` (default: every day of the lake)."""
    chans = set(channels)
    return [r for r in facts["rows"] if r["channel_id"] in chans and r["user_id"] != "SYSTEM_MESSAGE"
            and (days is None or r["day"] in days)]


def donations(facts: dict, channels, days=None) -> dict[str, dict]:
    """{channel id: {donations, amount, anonymous}} over the donation lines."""
    out: dict[str, dict] = {}
    for r in lines(facts, channels, days):
        if r["message_type"] == "donation":
            d = out.setdefault(r["channel_id"], {"donations": 0, "amount": 0, "anonymous": 0})
            d["donations"] += 1
            d["amount"] += r["pay_amount"] or 0
            d["anonymous"] += bool(r["is_anonymous"])
    return out


def busiest(facts: dict, channels) -> str:
    """The channel with the most lines (ties: the smaller id), which the Channel page opens on."""
    n = Counter(r["channel_id"] for r in lines(facts, channels))
    return min(channels, key=lambda c: (-n[c], c))


def top10_share(facts: dict, channel: str) -> float:
    rows = lines(facts, [channel])
    per_user = Counter(r["user_id"] for r in rows if r["user_id"] != "anonymous")
    top = sorted(per_user.items(), key=lambda kv: (-kv[1], kv[0]))[:10]
    return sum(n for _, n in top) / len(rows)


def broadcast_figures(facts: dict, channel: str) -> tuple[str, ...]:
    """(messages, chatters, donations, amount) of the channel's one broadcast, as displayed."""
    rows = lines(facts, [channel])
    chatters = {r["user_id"] for r in rows if r["user_id"] != "anonymous"}
    d = donations(facts, [channel])[channel]
    return tuple(f"{v:,}" for v in (len(rows), len(chatters), d["donations"], d["amount"]))


def donation_metrics(facts: dict, channels, days=None) -> dict[str, str]:
    per = donations(facts, channels, days).values()
    n, amount, anon = (sum(d[k] for d in per) for k in ("donations", "amount", "anonymous"))
    return {t("don_count"): f"{n:,}", t("don_amount"): f"{amount:,}", t("don_anon_share"): f"{anon / n:.1%}"}


def matching(facts: dict, channels, word: str) -> int:
    return sum(word in (r["message"] or "") for r in lines(facts, channels))


def user_lines(facts: dict, channels, nickname: str) -> int:
    return sum(r["nickname"] == nickname for r in lines(facts, channels))


# -- the browser ------------------------------------------------------------------------

def heading(page: Page, key: str):
    return page.locator('[data-testid="stMain"]').get_by_role("heading", name=t(key), exact=True).first


def section_tab(page: Page, key: str):
    """The tab of a page section (dashboard widgets.sections) labelled t(key)."""
    return page.locator('[data-testid="stMain"]').get_by_role("tab", name=t(key), exact=True)


def settle(page: Page, title_key: str) -> None:
    """This page's run is over: its title is drawn and its run has ended (rerun_done)."""
    heading(page, title_key).wait_for(timeout=TIMEOUT)
    rerun_done(page)


def watch(target) -> None:
    """Let rerun_done see runs: install WATCH in every document `target` (a Page or a
    BrowserContext) opens. Call it before the first goto."""
    target.add_init_script(WATCH)


def rerun_done(page: Page) -> None:
    """After an interaction: wait for the run it started to end and its elements to be
    drawn. A run has ended when the app is connected and not running and its script state
    changed after the last input (WATCH records both); an input that starts no run counts as
    done once nothing has changed for NO_RUN_MS. Then charts and tables, whose code loads
    lazily, must have replaced their skeletons, and two animation frames let vega and
    glide-data-grid paint."""
    if not page.evaluate("() => !!window.__stRuns"):
        raise AssertionError("rerun_done needs browser_checks.watch(page or context) before the page opens")
    page.wait_for_function(_RUN_OVER, arg=[QUIET_MS, NO_RUN_MS], timeout=TIMEOUT)
    page.wait_for_function(_DRAWN, timeout=TIMEOUT)
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


QUIET_MS = 200     # a run's end counts once the state has held this long (st.rerun starts another)
NO_RUN_MS = 2_000  # an input no run followed within this long started none
# Streamlit (1.67) writes its script state on the app element, as its own e2e tests read it:
# data-test-script-state = notRunning | running | rerunRequested | ..., and the connection in
# data-test-connection-state. WATCH timestamps the last input (the browser's, not an event
# the page dispatches itself while it draws) and the last state change.
WATCH = """(() => {
    if (window.__stRuns) return;
    const w = window.__stRuns = {state: null, changed: 0, input: 0};
    for (const type of ["pointerdown", "keydown", "input", "change"])
        addEventListener(type, e => { if (e.isTrusted) w.input = performance.now(); }, true);
    new MutationObserver(records => {
        const app = document.querySelector('[data-testid="stApp"]');
        const state = app ? app.dataset.testScriptState : null;
        if (state !== w.state || records.some(r => r.type === "attributes")) {
            w.state = state;
            w.changed = performance.now();
        }
    }).observe(document, {subtree: true, childList: true, attributes: true,
                          attributeFilter: ["data-test-script-state"]});
})()"""
_RUN_OVER = """([quiet, noRun]) => {
    const w = window.__stRuns, app = document.querySelector('[data-testid="stApp"]');
    if (!app || app.dataset.testScriptState !== "notRunning" || app.dataset.testConnectionState !== "CONNECTED")
        return false;
    const now = performance.now();
    return (w.changed > w.input && now - w.changed >= quiet) || now - Math.max(w.input, w.changed) >= noRun;
}"""

CHARTS = '[data-testid="stVegaLiteChart"]'  # a chart element, one per st.altair_chart
CHART = f"{CHARTS} .marks"  # a drawn Vega chart (its canvas or svg)
_DRAWN = """() => !document.querySelector('[data-testid="stSkeleton"]')
    && [...document.querySelectorAll('[data-testid="stVegaLiteChart"]')]
        .every(c => !c.checkVisibility() || c.querySelector('.marks'))"""  # Vega draws a hidden tab's chart when shown


def metric(page: Page, label: str):
    """The value element of the st.metric labelled exactly `label`."""
    exact = page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(rf"^\s*{re.escape(label)}\s*$"))
    return page.locator('[data-testid="stMetric"]').filter(has=exact).locator('[data-testid="stMetricValue"]')


def main_select(page: Page) -> str:
    """What the page's first select box (not the sidebar's) shows as picked."""
    return page.locator('[data-testid="stMain"] [data-testid="stSelectbox"] input').first.input_value()


def expect_metrics(page: Page, want: dict[str, str]) -> None:
    for label, value in want.items():
        expect(metric(page, label)).to_have_text(value, timeout=TIMEOUT)


def search(page: Page, name: str) -> None:
    label, text = SEARCH[name]
    box = page.get_by_label(t(label))
    box.fill(text)
    box.press("Enter")
    rerun_done(page)


def sidebar(page: Page):
    return page.locator('[data-testid="stSidebar"]')


def pick_channels(page: Page, names: list[str]) -> None:
    """Narrow the sidebar's channel picker (which opens on "All channels") to `names`, one
    pick at a time: the first drops "all"."""
    for name in names:
        # its text box, not the middle of the widget: a wide chip's remove button may sit there
        sidebar(page).locator('[data-testid="stMultiSelect"]').first.locator("input").click()
        page.get_by_role("option", name=name, exact=True).click()
        page.keyboard.press("Escape")
        rerun_done(page)


def pick_dates(page: Page, start: date, end: date) -> None:
    """Type a range into the sidebar's date field (same month as shown); the app takes it on blur."""
    for which, day in (("start", start), ("end", end)):
        for part, value in (("year", f"{day:%Y}"), ("month", f"{day:%m}"), ("day", f"{day:%d}")):
            sidebar(page).get_by_role("spinbutton", name=f"{part}, {t('date_range')} {which} date").click()
            page.keyboard.type(value)
    page.locator("h1").first.click()  # blur: the date input commits its value
    rerun_done(page)


def check_page(page: Page, name: str, facts: dict, channels: list[str], *, one_channel_search: bool = False,
               streamer: bool = False, audit_records: int | None = None) -> None:
    """Assert what `name` shows for `channels` (the channels the viewer may see, all selected).
    The page is open and settled; the search pages have been given SEARCH."""
    assert page.locator('[data-testid="stException"]').count() == 0
    assert "Traceback" not in page.inner_text("body")
    names = facts["channel_names"]
    if name == "overview":
        per = donations(facts, channels).values()
        expect_metrics(page, {
            t("overview_channels_n"): f"{len(channels):,}",
            t("overview_messages"): f"{len(lines(facts, channels)):,}",
            t("overview_donations"): f"{sum(d['donations'] for d in per):,}",
            t("overview_amount"): f"{sum(d['amount'] for d in per):,}"})
    elif name == "channel":
        cid = busiest(facts, channels)
        assert main_select(page) == names[cid], (main_select(page), names[cid])
        section_tab(page, "channel_top_chatters").click()
        rerun_done(page)
        expect_metrics(page, {t("channel_top10_share"): f"{top10_share(facts, cid) * 100:.1f}%"})
        assert "section=top" in page.url, page.url
    elif name == "broadcasts":
        labels = ("broadcasts_messages", "broadcasts_chatters", "broadcasts_donations", "broadcasts_amount")
        shown = tuple(metric(page, t(k)).inner_text().strip() for k in labels)
        assert shown in {broadcast_figures(facts, c) for c in channels}, shown
        picked = main_select(page)
        assert shown == broadcast_figures(facts, next(c for c in channels if names[c] in picked))
    elif name == "subscribers":
        for key in ("share_over_time", "tier_split", "subs_mix", "subs_change"):
            expect(section_tab(page, key)).to_be_visible(timeout=TIMEOUT)
        charts = page.locator(CHARTS)
        expect(charts).to_have_count(1, timeout=TIMEOUT)  # only the open section is drawn
        section_tab(page, "subs_mix").click()
        rerun_done(page)
        expect(charts).to_have_count(2, timeout=TIMEOUT)  # the tier mix and the tenure mix
        assert "section=mix" in page.url, page.url  # a copied link opens this section
    elif name == "donations":
        expect_metrics(page, donation_metrics(facts, channels))
    elif name == "users":
        expect(heading(page, "search_results")).to_be_visible(timeout=TIMEOUT)
        assert (t("users_one_channel") in page.inner_text('[data-testid="stMain"]')) == one_channel_search
        scope = channels
        if one_channel_search:
            picked = main_select(page)
            scope = [c for c in channels if names[c] in picked]
            assert len(scope) == 1, picked
        n = user_lines(facts, scope, SEARCH["users"][1])
        caption = t("users_page_of").format(total=n, first=1, last=min(n, 100), size=100)
        expect(page.get_by_text(caption, exact=True)).to_be_visible(timeout=TIMEOUT)
    elif name == "keywords":
        expect_metrics(page, {t("kw_total"): f"{matching(facts, channels, SEARCH['keywords'][1]):,}"})
    elif name == "data":
        expect(page.get_by_text(t("data_never"))).to_be_visible(timeout=TIMEOUT)  # the fixture lake has no state.json
        expect(heading(page, "data_tables")).to_be_visible(timeout=TIMEOUT)
        assert (t("data_lake_wide") in page.inner_text('[data-testid="stMain"]')) == streamer
    elif name == "audit":
        expect_metrics(page, {t("audit_records"): f"{audit_records:,}"})
    else:
        raise AssertionError(f"no check for page {name}")


# ---- a served dashboard with one account of each role ---------------------------------------

ROLE_PASSWORD = "browser roles 1"


@contextmanager
def served_with_roles(lake: Path, own: Path, streamer_channel: str, **env: str):
    """`python -m dashboard serve` over `lake` (its files under `own`) with an admin `boss`, a
    streamer `mgr` of `streamer_channel` and an analyst `ana`, each with ROLE_PASSWORD; `env`
    adds settings. Yields the base URL; stopped (SIGTERM) on leaving."""
    from dashboard import accounts
    from tests.served_process import free_port, stop, wait_healthy

    def make(name: str, role: str, channels=()) -> accounts.Account:
        return accounts.Account(name, role, tuple(channels), False, accounts.hash_password(ROLE_PASSWORD, n=2**12))

    acc = own / "accounts.toml"
    accounts.save({"boss": make("boss", "admin"), "mgr": make("mgr", "streamer", [streamer_channel]),
                   "ana": make("ana", "analyst")}, acc)
    port = free_port()
    settings = {**os.environ, "WAREHOUSE_DIR": str(lake), "DASHBOARD_ACCOUNTS_FILE": str(acc),
                "DASHBOARD_AUDIT_FILE": str(own / "audit.jsonl"), "DASHBOARD_ADDRESS": "127.0.0.1",
                "STREAMLIT_SERVER_FILE_WATCHER_TYPE": "none", **env}
    with (own / "streamlit.log").open("wb") as log:
        proc = subprocess.Popen([sys.executable, "-m", "dashboard", "serve", "--port", str(port)],
                                cwd=Path(__file__).resolve().parents[1], env=settings, stdout=log,
                                stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            wait_healthy(url, proc, timeout=40)
            yield url
        finally:
            stop(proc, timeout=10)


def sign_in(page: Page, url: str, name: str, password: str = ROLE_PASSWORD) -> None:
    """Open `url`, sign in as `name` through the form, and wait for the page to settle. A page
    whose browser context signed in before opens signed in (the sign-in cookie): then it must
    be signed in as `name`, and the form is not asked for."""
    page.goto(url, wait_until="domcontentloaded")
    field, signed = page.get_by_label("아이디"), sidebar(page).get_by_text(t("login_signed_in"))
    field.or_(signed).first.wait_for(timeout=TIMEOUT)
    if not signed.is_visible():
        field.fill(name)
        page.get_by_label("비밀번호").fill(password)
        page.get_by_role("button", name="로그인").click()
        signed.wait_for(timeout=TIMEOUT)
    sidebar(page).get_by_text(f"{name} · ").wait_for(timeout=TIMEOUT)  # and as `name`, not an earlier account
    rerun_done(page)
