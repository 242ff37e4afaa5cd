"""The report's HTML printed to PDF by the system's Chromium (headless --print-to-pdf), so
the PDF is what the HTML shows: the same Korean fonts (the host's: fonts-noto-cjk, which
`make system-deps` installs beside chromium), the same SVG charts, text that a PDF reader can
extract. Nothing is fetched: the page itself forbids it (its Content Security Policy), and
Chromium runs with a throwaway profile, no network services and every host name unresolvable.

Chromium is looked for as CHROMIUM_NAMES on PATH, then /usr/bin/chromium; a host without it
gets a ReportError saying so (the HTML report needs nothing)."""
from __future__ import annotations

import shutil
import subprocess
import tempfile
from pathlib import Path

CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
PRINT_SECONDS = 60
FLAGS = ("--headless", "--no-sandbox", "--disable-gpu", "--disable-extensions", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--no-first-run", "--no-default-browser-check",
         "--host-resolver-rules=MAP * ~NOTFOUND", "--no-pdf-header-footer", "--hide-scrollbars")


class ReportError(RuntimeError):
    """The report could not be made (a message the user can act on)."""


def chromium() -> str | None:
    """The Chromium executable, or None."""
    for name in CHROMIUM_NAMES:
        found = shutil.which(name)
        if found:
            return found
    return "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None


def render_pdf(html: str) -> bytes:
    """`html` (a complete, self-contained document) printed to A4 PDF bytes."""
    exe = chromium()
    if exe is None:
        raise ReportError("no Chromium found to print the PDF (looked for " + ", ".join(CHROMIUM_NAMES) +
                          "): install it (Debian: apt-get install chromium, or `make system-deps`), "
                          "or ask for --format html")
    with tempfile.TemporaryDirectory(prefix="chzzk-report-") as tmp:
        page, out = Path(tmp) / "report.html", Path(tmp) / "report.pdf"
        page.write_text(html, encoding="utf-8")
        cmd = [exe, *FLAGS, f"--user-data-dir={Path(tmp) / 'profile'}", f"--print-to-pdf={out}", page.as_uri()]
        try:
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=PRINT_SECONDS, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ReportError(f"Chromium ({exe}) did not print the PDF within {PRINT_SECONDS} s") from exc
        if done.returncode != 0 or not out.exists() or out.stat().st_size == 0:
            tail = " ".join((done.stderr or "").split()[-30:])
            raise ReportError(f"Chromium ({exe}) could not print the PDF (exit {done.returncode}): {tail}")
        return out.read_bytes()
