"""Line charts as inline SVG, written here from numbers (no script, no remote font or image):
what the report's HTML embeds and Chromium prints. Every text placed in the SVG is escaped."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from html import escape
from zoneinfo import ZoneInfo

WIDTH, HEIGHT = 720, 150
LEFT, RIGHT, TOP, BOTTOM = 48, 8, 18, 20
COLORS = ("#2563eb", "#f59e0b", "#059669")


@dataclass(frozen=True)
class Series:
    name: str
    times: Sequence[datetime]
    values: Sequence[float | None]   # None: a gap (the line breaks there)


def _nice(top: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above `top` (> 0)."""
    k = 1.0
    while k * 10 <= top:
        k *= 10
    while k > top:
        k /= 10
    for m in (1, 2, 2.5, 5, 10):
        if m * k >= top:
            return m * k
    return 10 * k


def line_chart(series: Sequence[Series], first: date, last: date, tz: str, label: Callable[[float], str],
               title: str) -> str:
    """Lines over the days [first, last] (midnight to midnight in `tz`), a tick per day (per
    week beyond 14 days), y from 0 to a round top with `label`ed gridlines."""
    zone = ZoneInfo(tz)
    x0 = datetime.combine(first, time(), zone).timestamp()
    x1 = datetime.combine(last + timedelta(days=1), time(), zone).timestamp()
    top = max([v for s in series for v in s.values if v is not None] or [0])
    ymax = _nice(top) if top > 0 else 1.0
    w, h = WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM

    def xy(t: datetime, v: float) -> str:
        x = LEFT + (t.timestamp() - x0) / max(x1 - x0, 1) * w
        return f"{x:.1f},{TOP + h - v / ymax * h:.1f}"

    out = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
           f'aria-label="{escape(title)}" class="chart">']
    for i in range(5):
        v = ymax * i / 4
        y = TOP + h - h * i / 4
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                   f'<text x="{LEFT - 4}" y="{y + 3:.1f}" text-anchor="end">{escape(label(v))}</text>')
    days = (last - first).days + 1
    step = 1 if days <= 14 else 7
    for k in range(0, days, step):
        d = first + timedelta(days=k)
        x = LEFT + (datetime.combine(d, time(), zone).timestamp() - x0) / max(x1 - x0, 1) * w
        out.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{TOP}" y2="{TOP + h}" class="day"/>'
                   f'<text x="{x + 2:.1f}" y="{HEIGHT - 6}">{escape(d.strftime("%m-%d"))}</text>')
    for n, s in enumerate(series):
        runs, run = [], []
        for t, v in zip(s.times, s.values, strict=True):
            if v is None or not x0 <= t.timestamp() <= x1:  # a gap, or past the period (a broadcast's tail)
                if run:
                    runs.append(run)
                run = []
            else:
                run.append(xy(t, v))
        if run:
            runs.append(run)
        color = COLORS[n % len(COLORS)]
        for r in runs:
            if len(r) == 1:
                x, y = r[0].split(",")
                out.append(f'<circle cx="{x}" cy="{y}" r="1.5" fill="{color}"/>')
            else:
                out.append(f'<polyline points="{" ".join(r)}" fill="none" stroke="{color}" stroke-width="1.2"/>')
        lx = LEFT + 8 + n * 110
        out.append(f'<rect x="{lx}" y="4" width="10" height="3" fill="{color}"/>'
                   f'<text x="{lx + 14}" y="9">{escape(s.name)}</text>')
    out.append("</svg>")
    return "".join(out)
