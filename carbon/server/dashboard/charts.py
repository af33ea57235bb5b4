"""Server-side SVG charts: the page carries its figures, so it needs no script library and no CDN.

Every mark carries its figures as data attributes (`data-label`, `data-value`, ...) and a
`<title>` the browser shows on hover, so a test (or a curious reader) can read the chart back.
Pure functions from points to markup; the page decides what the points mean.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from html import escape

# Drawing area around the plot: room for the y-axis labels on the left and the x labels below.
LEFT_PX, RIGHT_PX, TOP_PX, BOTTOM_PX = 64, 40, 12, 36


@dataclass(frozen=True)
class Bar:
    """One bar: a label on the x axis, its value and (when known) the ends of its range."""

    label: str
    value: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True)
class LinePoint:
    """One point of a time series (an interval's middle and its value)."""

    at: datetime
    value: float


def nice_ceiling(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 times a power of ten that is at least `value` (axis top)."""
    if value <= 0 or not math.isfinite(value):
        return 1.0
    power = 10 ** math.floor(math.log10(value))
    for step in (1, 2, 2.5, 5, 10):
        if value <= step * power * (1 + 1e-12):
            return step * power
    return 10 * power


def _tick_text(value: float) -> str:
    return f"{value:.3g}"


def _frame(width: int, height: int, title: str, unit: str, top: float, kind: str, count: int) -> list[str]:
    """The svg element, the y axis with five ticks from 0 to `top`, and the unit."""
    plot_h = height - TOP_PX - BOTTOM_PX
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart chart-{kind}" viewBox="0 0 {width} {height}" '
        f'role="img" aria-label="{escape(title)}" data-points="{count}">',
        f"<title>{escape(title)}</title>",
    ]
    for i in range(5):
        value = top * i / 4
        y = TOP_PX + plot_h - plot_h * i / 4
        parts.append(f'<line class="grid" x1="{LEFT_PX}" x2="{width - RIGHT_PX}" y1="{y:.1f}" y2="{y:.1f}"/>')
        parts.append(
            f'<text class="tick" x="{LEFT_PX - 6}" y="{y + 4:.1f}" text-anchor="end">{_tick_text(value)}</text>'
        )
    parts.append(f'<text class="unit" x="{LEFT_PX - 6}" y="{height - 6}" text-anchor="end">{escape(unit)}</text>')
    return parts


def _x_labels(labels: Sequence[tuple[float, str]], width: int, height: int) -> list[str]:
    """At most one label per ~80 px, so long series stay readable."""
    if not labels:
        return []
    every = max(1, math.ceil(len(labels) / max(1, (width - LEFT_PX - RIGHT_PX) // 80)))
    shown = list(labels[::every])
    if labels[-1] != shown[-1] and len(labels) > 1:
        shown[-1] = labels[-1]
    return [
        f'<text class="xlabel" x="{x:.1f}" y="{height - BOTTOM_PX + 16}" text-anchor="middle">{escape(text)}</text>'
        for x, text in shown
    ]


def bar_chart(bars: Sequence[Bar], *, title: str, unit: str, width: int = 560, height: int = 240) -> str:
    """Bars from zero with the range of each as a whisker; empty input gives a chart that says so."""
    top = nice_ceiling(max((b.high if b.high is not None else b.value for b in bars), default=0.0))
    parts = _frame(width, height, title, unit, top, "bar", len(bars))
    plot_w, plot_h = width - LEFT_PX - RIGHT_PX, height - TOP_PX - BOTTOM_PX
    if not bars:
        parts.append(f'<text class="empty" x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text>')
        return "".join(parts) + "</svg>"
    slot = plot_w / len(bars)
    bar_w = max(1.0, slot * 0.7)
    base = TOP_PX + plot_h
    labels = []
    for i, bar in enumerate(bars):
        x = LEFT_PX + i * slot + (slot - bar_w) / 2
        h = plot_h * bar.value / top
        tip = f"{bar.label}: {bar.value:.4g} {unit}"
        if bar.low is not None and bar.high is not None:
            tip += f" (range {bar.low:.4g}–{bar.high:.4g})"
        parts.append(
            f'<rect class="bar" x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'data-label="{escape(bar.label)}" data-value="{bar.value!r}"><title>{escape(tip)}</title></rect>'
        )
        if bar.low is not None and bar.high is not None and bar.high > bar.low:
            cx = x + bar_w / 2
            y_low, y_high = base - plot_h * bar.low / top, base - plot_h * bar.high / top
            parts.append(
                f'<line class="whisker" x1="{cx:.1f}" x2="{cx:.1f}" y1="{y_low:.1f}" y2="{y_high:.1f}" '
                f'data-low="{bar.low!r}" data-high="{bar.high!r}"/>'
            )
        labels.append((x + bar_w / 2, bar.label))
    parts.extend(_x_labels(labels, width, height))
    return "".join(parts) + "</svg>"


def line_chart(
    points: Sequence[LinePoint], *, title: str, unit: str, width: int = 720, height: int = 220, max_marks: int = 400
) -> str:
    """A time series as a polyline through every point, with a mark per point up to `max_marks`
    (a long run keeps its whole line; only the hover marks are left out)."""
    top = nice_ceiling(max((p.value for p in points), default=0.0))
    parts = _frame(width, height, title, unit, top, "line", len(points))
    plot_w, plot_h = width - LEFT_PX - RIGHT_PX, height - TOP_PX - BOTTOM_PX
    if not points:
        parts.append(f'<text class="empty" x="{width / 2}" y="{height / 2}" text-anchor="middle">no data</text>')
        return "".join(parts) + "</svg>"
    first, last = points[0].at.timestamp(), points[-1].at.timestamp()
    span = (last - first) or 1.0

    def xy(point: LinePoint) -> tuple[float, float]:
        x = LEFT_PX + (plot_w * (point.at.timestamp() - first) / span if len(points) > 1 else plot_w / 2)
        return x, TOP_PX + plot_h - plot_h * point.value / top

    coords = [xy(p) for p in points]
    path = " ".join(f"{x:.1f},{y:.1f}" for x, y in coords)
    parts.append(f'<polyline class="series" points="{path}"/>')
    if len(points) <= max_marks:
        for point, (x, y) in zip(points, coords):
            tip = f"{point.at:%Y-%m-%d %H:%M:%S}: {point.value:.4g} {unit}"
            parts.append(
                f'<circle class="mark" cx="{x:.1f}" cy="{y:.1f}" r="3" data-at="{point.at.isoformat()}" '
                f'data-value="{point.value!r}"><title>{escape(tip)}</title></circle>'
            )
    span_s = last - first
    fmt = "%H:%M:%S" if span_s < 600 else "%H:%M" if span_s < 86400 else "%m-%d %H:%M"
    step = max(1, len(points) // 6)
    labels = [(coords[i][0], points[i].at.strftime(fmt)) for i in range(0, len(points), step)]
    parts.extend(_x_labels(labels, width, height))
    return "".join(parts) + "</svg>"
