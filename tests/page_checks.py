"""Driving the dashboard's pages in streamlit's AppTest (the page tests in tests/dashboard/
share these): start the app on a lake, open a page with filters, read its tables and
charts, and the plain-Python answers several pages are checked against."""
from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from datetime import date, timedelta
from pathlib import Path

import polars as pl
from streamlit.testing.v1 import AppTest

from dashboard import accounts, data, login
from dashboard.i18n import LABELS, t
from tests import vega_checks as vega
from tests.lakefixture_pages import ADV_NAME, ADV_NICKS, ADV_TITLES
from tests.lakefixture_rich import KST, user_rows
from warehouse.read.queries.catalog import PREVIEW_LIMIT

APP = str(Path(__file__).resolve().parents[1] / "dashboard" / "streamlit_app.py")
PAGES_WEEK = (date(2026, 10, 4), date(2026, 10, 10))  # the last 7 days of the pages lake


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]


def goto(at: AppTest, name: str) -> AppTest:
    at.switch_page(f"app_pages/{name}.py").run(timeout=60)
    ok(at)
    return at


def spec_of(at: AppTest, i: int = 0) -> dict:
    return vega.specs(at)[i]


def no_adversarial_markup(at: AppTest) -> None:
    """Untrusted text never reaches a markdown element (titles, captions, badges...)."""
    for el in list(at.markdown) + list(at.caption) + list(at.title) + list(at.subheader) + list(at.info):
        for text in (ADV_NAME, *ADV_NICKS, *ADV_TITLES, "**굵게**"):
            assert text not in el.value, (text, el.value)


def minutes_coverage(rows: list[dict]) -> tuple[float, float]:
    """coverage()'s "chat" source in plain Python: (span in clock minutes, minutes with a line)."""
    minutes = {r["chat_time"].replace(second=0, microsecond=0) for r in rows}
    return (max(minutes) - min(minutes)) // timedelta(minutes=1) + 1, len(minutes)


def lines_of(facts, cid, start=PAGES_WEEK[0], end=PAGES_WEEK[1]):
    return user_rows(facts, [cid], start, end)


def busiest(facts, start=PAGES_WEEK[0], end=PAGES_WEEK[1]):
    counts = Counter(r["channel_id"] for r in user_rows(facts, start=start, end=end))
    return sorted(counts, key=lambda c: (-counts[c], c))[0]


SYSTEM, ANON = "SYSTEM_MESSAGE", "anonymous"


FIRST, LAST = date(2026, 8, 20), date(2026, 10, 10)  # the rich lake's days


APP_PASSWORD = "page pass 1"


@contextmanager
def app_env(root, tmp_path, monkeypatch) -> Iterator[None]:
    """The app over the lake at `root` with its accounts and audit files in `tmp_path`, no
    delay after a failed sign-in, fresh caches (and again after)."""
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    monkeypatch.setenv("DASHBOARD_ACCOUNTS_FILE", str(tmp_path / "accounts.toml"))
    monkeypatch.setenv("DASHBOARD_AUDIT_FILE", str(tmp_path / "audit.jsonl"))
    monkeypatch.setattr(login, "FAIL_DELAY", 0.0)
    login.reset_failures()
    data.clear_caches()
    try:
        yield
    finally:
        login.reset_failures()
        data.clear_caches()


def signed_app(who: tuple | None = None, lang: str | None = None) -> AppTest:
    """An AppTest (under app_env) in `lang`; with `who` = (name, role, channels) the accounts
    file holds that one account and its name and password are typed into the sign-in form
    and submitted: the caller's next run signs it in."""
    at = AppTest.from_file(APP, default_timeout=60)
    if lang is not None:
        at.session_state["lang"] = lang
    if who is not None:
        name, role, chans = who
        accounts.save({name: accounts.Account(name, role, tuple(chans), False,
                                              accounts.hash_password(APP_PASSWORD, n=2**10))})
        at.run(timeout=60)
        at.text_input(key="login_name").input(name)
        at.text_input(key="login_password").input(APP_PASSWORD)
        at.button[0].click()
    return at


def start_app(root, monkeypatch) -> AppTest:
    monkeypatch.setenv("WAREHOUSE_DIR", str(root))
    data.clear_caches()
    return AppTest.from_file(APP, default_timeout=60)


def open_page(at: AppTest, page: str, start: date | None = None, end: date | None = None,
              channels: list[str] | None = None) -> AppTest:
    at.run(timeout=60)
    if channels is not None:
        at.multiselect(key="f_channels").set_value(channels).run(timeout=60)
    if start is not None:
        at.date_input(key="f_dates").set_value((start, end)).run(timeout=60)
    at.switch_page(f"app_pages/{page}.py").run(timeout=60)
    ok(at)
    return at


def frame_of(at: AppTest, *columns: str):
    """The (pandas) data of the one table on the page whose columns start with `columns`."""
    hits = [d.value for d in at.dataframe if tuple(d.value.columns[:len(columns)]) == columns]
    assert len(hits) == 1, [tuple(d.value.columns) for d in at.dataframe]
    return hits[0]


def specs_of(at: AppTest) -> list[dict]:
    return vega.specs(at)


def kst_time(ts):
    return ts.to_pydatetime().astimezone(KST)


def day_of(value) -> date:
    """A date cell as st.dataframe hands it back (a date, or a pandas Timestamp)."""
    return value if type(value) is date else value.date()


PREVIEW = t("data_preview").format(n=PREVIEW_LIMIT)  # the Data page's preview tab


# -- what no page may show (issue 21 §1): raw values where a person reads formatted ones ----
RAW_VALUES = {
    "None": re.compile(r"(?<![\w])None(?![\w])"),
    "NaN": re.compile(r"(?<![\w])NaN(?![\w])"),
    "scientific notation": re.compile(r"(?<![\w.])\d+(?:\.\d+)?e[+-]\d+(?![\w])", re.I),
    "unformatted fraction": re.compile(r"(?<![\w.,])0\.\d{3,}(?![\d%])"),
    "unrounded decimal": re.compile(r"(?<![\w.,])\d+\.\d{4,}(?![\w.])"),
    "count without separators": re.compile(r"(?<![\w.,:/@#=-])\d{5,}(?![\w.,:/%-])"),
    "time with an offset": re.compile(r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?[+-]\d{2}:?\d{2}(?![\w])"),
    "microseconds": re.compile(r"\d{2}:\d{2}:\d{2}\.\d{3,}"),
}


def raw_values(text: str, untrusted: Iterable[str] = ()) -> list[str]:
    """The raw values in a page's visible `text` that a person should not have to read:
    `None`/`NaN` cells, `1e+4`, `0.8533`, `7245.8678`, `97361`, `21:00:00+09:00`,
    `21:00:00.123456` — each as "kind: the text around it". `untrusted`: the lake's own
    texts (channel names, nicknames, messages, titles), taken out first: a nickname may be
    "None"."""
    for known in sorted({u for u in untrusted if u}, key=len, reverse=True):
        text = text.replace(known, " ")
    found = []
    for what, pattern in RAW_VALUES.items():
        for m in pattern.finditer(text):
            found.append(f"{what}: {text[max(0, m.start() - 40):m.end() + 20]!r}")
    return found


def csv_download(raw: bytes, columns: tuple[str, ...], lang: str = "ko") -> pl.DataFrame:
    """A table's CSV download (BOM first) with `columns` (analyst API names) read back under
    those names: the CSV heads them in the page's language (docs/DASHBOARD_LANGUAGE.md), as
    their col_a_<name> label, or "label (name)" where the table has two alike."""
    assert raw.startswith(b"\xef\xbb\xbf"), raw[:20]  # the BOM: Excel reads it as UTF-8
    table = pl.read_csv(io.BytesIO(raw[3:]), infer_schema_length=None)
    back = {}
    for name in columns:
        label = t(f"col_a_{name}", lang) if f"col_a_{name}" in LABELS else name
        found = [h for h in (label, f"{label} ({name})") if h in table.columns]
        assert len(found) == 1, (name, label, table.columns)
        back[found[0]] = name
    return table.rename(back)
