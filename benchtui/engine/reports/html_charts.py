"""Inline SVG bar charts for the HTML report, drawn in Python (no chart library, no script).

Each chart is a horizontal bar chart with one row per model: one or more series side by side
(grouped) or end to end (stacked). Geometry is plain attributes and colours are CSS classes, so the
charts follow the page's light or dark theme and need no ``style`` attribute (the report's CSP
allows only its own hashed stylesheet). Labels are escaped like every other piece of data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

from benchtui.engine.reports.html_format import esc, shorten

WIDTH = 760
LABEL_W = 210
VALUE_W = 120
ROW_H = 30
TOP = 34
AXIS_H = 24
PLOT_W = WIDTH - LABEL_W - VALUE_W
LABEL_CHARS = 28


@dataclass(frozen=True)
class Row:
    """One model's bar(s): the label, the values of each series (None: not measured), the value text."""

    label: str
    values: Sequence[float | None]
    text: str


def _nice_max(value: float) -> float:
    """The smallest 1, 2, 2.5 or 5 × 10^k at or above ``value`` (the axis end)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 2.5, 5.0, 10.0):
        candidate = step * 10**exponent
        if candidate >= value * (1 - 1e-9):
            return candidate
    return 10.0 ** (exponent + 1)


def _tick(value: float) -> str:
    if value == 0:
        return "0"
    if abs(value) >= 1000:
        return f"{value / 1000:g}k" if abs(value) < 1_000_000 else f"{value / 1_000_000:g}M"
    return f"{value:g}"


def _f(value: float) -> str:
    """SVG coordinates with at most one decimal, so output is short and stable."""
    return f"{value:.1f}".rstrip("0").rstrip(".")


def bar_chart(
    chart_id: str,
    title: str,
    rows: Sequence[Row],
    series: Sequence[str],
    *,
    stacked: bool = False,
    tick: Callable[[float], str] = _tick,
) -> str:
    """An ``<svg>`` element; ``series`` names the values of each row (legend and CSS class ``s0``, ``s1``...)."""
    count = max(len(rows), 1)
    height = TOP + count * ROW_H + AXIS_H
    totals = [
        sum(v for v in row.values if v is not None and v > 0) if stacked
        else max((v for v in row.values if v is not None), default=0.0)
        for row in rows
    ]
    top = _nice_max(max(totals, default=0.0))
    scale = PLOT_W / top
    parts = [
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {height}" role="img" '
        f'aria-labelledby="{chart_id}-t">',
        f'<title id="{chart_id}-t">{esc(title)}</title>',
    ]
    # Legend, top right.
    x = WIDTH - 4.0
    legend: list[str] = []
    for index, name in reversed(list(enumerate(series))):
        text_w = 7.0 * len(name) + 4
        x -= text_w
        legend.append(f'<text class="legend" x="{_f(x)}" y="16">{esc(name)}</text>')
        x -= 16
        legend.append(f'<rect class="s{index}" x="{_f(x)}" y="7" width="11" height="11" rx="2"/>')
        x -= 14
    if len(series) > 1:
        parts.extend(legend)
    # Grid and axis.
    plot_bottom = TOP + count * ROW_H
    for step in range(5):
        value = top * step / 4
        gx = LABEL_W + value * scale
        parts.append(f'<line class="grid" x1="{_f(gx)}" y1="{TOP - 6}" x2="{_f(gx)}" y2="{plot_bottom}"/>')
        parts.append(f'<text class="axis" x="{_f(gx)}" y="{plot_bottom + 16}" text-anchor="middle">'
                     f"{esc(tick(value))}</text>")
    if not rows:
        parts.append(f'<text class="empty" x="{LABEL_W + PLOT_W / 2:.0f}" y="{TOP + ROW_H / 2 + 4:.0f}" '
                     'text-anchor="middle">no data</text>')
    lanes = 1 if stacked else max(len(series), 1)
    bar_h = (ROW_H - 10) / lanes
    for index, row in enumerate(rows):
        y = TOP + index * ROW_H
        parts.append("<g>")
        parts.append(f"<title>{esc(row.label)}: {esc(row.text)}</title>")
        parts.append(f'<text class="label" x="{LABEL_W - 10}" y="{_f(y + ROW_H / 2 + 4)}" text-anchor="end">'
                     f"{esc(shorten(row.label, LABEL_CHARS))}</text>")
        offset = 0.0
        for lane, value in enumerate(row.values):
            if value is None or value <= 0:
                continue
            width = max(value * scale, 1.5)
            if stacked:
                bx, by = LABEL_W + offset, y + 5
                offset += width
            else:
                bx, by = float(LABEL_W), y + 5 + lane * bar_h
            parts.append(f'<rect class="bar s{lane}" x="{_f(bx)}" y="{_f(by)}" width="{_f(width)}" '
                         f'height="{_f(bar_h - (0 if stacked else 1))}" rx="2"/>')
        end = LABEL_W + max(totals[index], 0.0) * scale + 6
        parts.append(f'<text class="value" x="{_f(end)}" y="{_f(y + ROW_H / 2 + 4)}">{esc(row.text)}</text>')
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)
