"""The charts section of the HTML report (success, time, prompts and tokens per model) and the inline
SVG bar charts it is drawn with, in Python (no chart library, no script).

Each chart is a horizontal bar chart with one row per model: one or more series side by side
(grouped) or end to end (stacked); a grouped bar may carry an error bar (its 95 % interval: Wilson for
the success rate, the bootstrap interval for a median), drawn as a whisker with end caps. Geometry is
plain attributes and colours are CSS classes, so the charts follow the page's light or dark theme and
need no ``style`` attribute (the report's CSP allows only its own hashed stylesheet). Labels are escaped
like every other piece of data.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from benchtui.engine.reports.html import format as fmt
from benchtui.engine.reports.html.format import esc, model_name, model_order, shorten

WIDTH = 600
LABEL_W = 224
VALUE_W = 96
LANE_H = 13  # one bar's height; a row holds one lane per series (grouped) or one lane (stacked)
ROW_GAP = 12
TOP = 30
AXIS_H = 24
PLOT_W = WIDTH - LABEL_W - VALUE_W
# Room for a value and its interval ("85 % (64–95)", "0.10 s (0.09–0.11)") at the end of the longest bar.
INTERVAL_VALUE_W = 150
LABEL_CHARS = 29


@dataclass(frozen=True)
class Row:
    """One model's bar(s): the label, the values of each series (None: not measured), and the value texts:
    one per series for grouped bars (each at its bar's end), one for a stack (at its end)."""

    label: str
    values: Sequence[float | None]
    texts: Sequence[str]
    # Per series (grouped bars only): the (low, high) of the value's interval, or None for none.
    errors: Sequence[tuple[float, float] | None] = ()


def _nice_max(value: float) -> float:
    """The smallest 1, 2, 4, 6 or 8 × 10^k at or above ``value`` (the axis end; its quarters are round)."""
    if value <= 0:
        return 1.0
    exponent = math.floor(math.log10(value))
    for step in (1.0, 2.0, 4.0, 6.0, 8.0, 10.0):
        candidate = step * 10.0**exponent
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
    value_w: int = VALUE_W,
) -> str:
    """An ``<svg>`` element; ``series`` names the values of each row (legend and CSS class ``s0``, ``s1``...)."""
    count = max(len(rows), 1)
    lanes = 1 if stacked else max(len(series), 1)
    row_h = lanes * LANE_H + ROW_GAP
    height = TOP + count * row_h + AXIS_H
    top = _nice_max(
        max(
            (
                sum(v for v in row.values if v is not None and v > 0)
                if stacked
                else max(
                    [v for v in row.values if v is not None] + [e[1] for e in row.errors if e is not None],
                    default=0.0,
                )
            )
            for row in rows
        )
        if rows
        else 0.0
    )
    plot_w = WIDTH - LABEL_W - value_w
    scale = plot_w / top
    parts = [
        f'<svg class="chart" id="{chart_id}" viewBox="0 0 {WIDTH} {height}" role="img" aria-labelledby="{chart_id}-t">',
        f'<title id="{chart_id}-t">{esc(title)}</title>',
    ]
    if len(series) > 1:  # legend, top right
        x = WIDTH - 4.0
        for index, name in reversed(list(enumerate(series))):
            x -= 6.2 * len(name)
            parts.append(f'<text class="legend" x="{_f(x)}" y="14">{esc(name)}</text>')
            x -= 15
            parts.append(f'<rect class="s{index}" x="{_f(x)}" y="5" width="10" height="10" rx="2"/>')
            x -= 14
    plot_bottom = TOP + count * row_h
    for step in range(5):
        mark = top * step / 4
        gx = LABEL_W + mark * scale
        parts.append(f'<line class="grid" x1="{_f(gx)}" y1="{TOP - 6}" x2="{_f(gx)}" y2="{plot_bottom}"/>')
        parts.append(
            f'<text class="axis" x="{_f(gx)}" y="{plot_bottom + 16}" text-anchor="middle">{esc(tick(mark))}</text>'
        )
    if not rows:
        parts.append(
            f'<text class="empty" x="{LABEL_W + plot_w / 2:.0f}" y="{TOP + row_h / 2 + 4:.0f}" '
            'text-anchor="middle">no data</text>'
        )
    for index, row in enumerate(rows):
        y = float(TOP + index * row_h) + ROW_GAP / 2
        parts.append(f"<g><title>{esc(row.label)}: {esc(' / '.join(row.texts))}</title>")
        parts.append(
            f'<text class="label" x="{LABEL_W - 8}" y="{_f(y + lanes * LANE_H / 2 + 4)}" '
            f'text-anchor="end">{esc(shorten(row.label, LABEL_CHARS))}</text>'
        )
        offset = 0.0
        for lane, value in enumerate(row.values):
            width = max(value * scale, 1.5) if value is not None and value > 0 else 0.0
            by = y if stacked else y + lane * LANE_H
            if width:
                parts.append(
                    f'<rect class="bar s{lane}" x="{_f(LABEL_W + offset)}" y="{_f(by)}" '
                    f'width="{_f(width)}" height="{LANE_H - 2}" rx="2"/>'
                )
            if stacked:
                offset += width
            end = width
            error = row.errors[lane] if not stacked and lane < len(row.errors) else None
            if error is not None:
                low, high = LABEL_W + error[0] * scale, LABEL_W + error[1] * scale
                mid, cap = by + (LANE_H - 2) / 2, (LANE_H - 2) / 2 - 1
                top_y, bottom_y = _f(mid - cap), _f(mid + cap)
                parts.append(
                    f'<line class="err" x1="{_f(low)}" y1="{_f(mid)}" x2="{_f(high)}" y2="{_f(mid)}"/>'
                    f'<line class="err" x1="{_f(low)}" y1="{top_y}" x2="{_f(low)}" y2="{bottom_y}"/>'
                    f'<line class="err" x1="{_f(high)}" y1="{top_y}" x2="{_f(high)}" y2="{bottom_y}"/>'
                )
                end = max(end, high - LABEL_W)
            if not stacked and lane < len(row.texts):
                parts.append(
                    f'<text class="value" x="{_f(LABEL_W + end + 5)}" y="{_f(by + LANE_H - 3)}">'
                    f"{esc(row.texts[lane])}</text>"
                )
        if stacked and row.texts:
            parts.append(
                f'<text class="value" x="{_f(LABEL_W + offset + 5)}" y="{_f(y + LANE_H - 3)}">'
                f"{esc(row.texts[0])}</text>"
            )
        parts.append("</g>")
    parts.append("</svg>")
    return "".join(parts)


def charts_section(data: dict[str, Any]) -> str:
    models: dict[str, Any] = data.get("models") or {}
    aggregates: dict[str, Any] = data.get("aggregates") or {}
    with_runs = [k for k in model_order(data) if (aggregates.get(k) or {}).get("runs")]

    def agg(key: str, field_name: str) -> float | None:
        return fmt.number((aggregates.get(key) or {}).get(field_name))

    def interval(key: str, field_name: str) -> tuple[float, float] | None:
        ci = (aggregates.get(key) or {}).get(field_name)
        if not isinstance(ci, dict):
            return None
        low, high = fmt.number(ci.get("low")), fmt.number(ci.get("high"))
        return None if low is None or high is None else (low, high)

    def ci_text(key: str, field_name: str, show: Callable[[float], str]) -> str:
        ci = interval(key, field_name)
        return "" if ci is None else f" ({show(ci[0])}–{show(ci[1])})"

    def bare_percent(value: float) -> str:
        return f"{value * 100:.0f}"

    def bare_seconds(value: float) -> str:
        return fmt.seconds(value).removesuffix(" s")

    success_rows = [
        Row(
            model_name(models, k),
            (agg(k, "success_rate"),),
            (fmt.percent(agg(k, "success_rate")) + ci_text(k, "success_ci", bare_percent),),
            (interval(k, "success_ci"),),
        )
        for k in with_runs
    ]
    median_rows = [
        Row(
            model_name(models, k),
            (agg(k, "median_passed_time_s"),),
            (fmt.seconds(agg(k, "median_passed_time_s")) + ci_text(k, "median_passed_time_s_ci", bare_seconds),),
            (interval(k, "median_passed_time_s_ci"),),
        )
        for k in with_runs
    ]

    time_rows = [
        Row(
            model_name(models, k),
            (agg(k, "mean_time_s"), agg(k, "mean_passed_time_s")),
            (fmt.seconds(agg(k, "mean_time_s")), fmt.seconds(agg(k, "mean_passed_time_s"))),
        )
        for k in with_runs
    ]
    prompt_rows = [
        Row(model_name(models, k), (agg(k, "mean_prompts"),), (fmt.decimal(agg(k, "mean_prompts")),)) for k in with_runs
    ]
    token_rows = []
    for k in with_runs:
        tokens_in, tokens_out = agg(k, "prompt_tokens"), agg(k, "completion_tokens")
        token_rows.append(
            Row(
                model_name(models, k),
                (tokens_in, tokens_out),
                (f"{fmt.integer(tokens_in)} + {fmt.integer(tokens_out)}",),
            )
        )
    # What a chart whose every bar would be missing says instead of an empty axis.
    nothing = {"chart-median-time": "No run passed: no time of a passed run to show."}
    drawn = {
        "chart-success": success_rows,
        "chart-median-time": median_rows,
        "chart-time": time_rows,
        "chart-prompts": prompt_rows,
        "chart-tokens": token_rows,
    }
    charts = (
        (
            "chart-success",
            "Success rate",
            "with its 95 % interval (Wilson)",
            bar_chart(
                "chart-success",
                "Success rate per model, with 95 % intervals",
                success_rows,
                ("success rate",),
                tick=lambda v: f"{v * 100:g}%",
                value_w=INTERVAL_VALUE_W,
            ),
        ),
        (
            "chart-median-time",
            "Median time of passed runs",
            "with its 95 % interval (bootstrap)",
            bar_chart(
                "chart-median-time",
                "Median completion time of passed runs, with 95 % intervals",
                median_rows,
                ("median, passed runs",),
                tick=lambda v: f"{v:g} s",
                value_w=INTERVAL_VALUE_W,
            ),
        ),
        (
            "chart-time",
            "Completion time",
            "mean per run",
            bar_chart(
                "chart-time",
                "Mean completion time per model",
                time_rows,
                ("all runs", "passed runs"),
                tick=lambda v: f"{v:g} s",
            ),
        ),
        (
            "chart-prompts",
            "Prompts",
            "mean sent per run",
            bar_chart("chart-prompts", "Mean prompts per run", prompt_rows, ("prompts",)),
        ),
        (
            "chart-tokens",
            "Tokens",
            "prompt + completion, all runs",
            bar_chart("chart-tokens", "Total tokens per model", token_rows, ("prompt", "completion"), stacked=True),
        ),
    )
    out = ['<section id="charts"><h2>Charts <small>models in leaderboard order</small></h2><div class="charts">']
    for chart_id, title, note, svg in charts:
        if not any(v is not None for row in drawn[chart_id] for v in row.values):
            svg = f'<p class="empty-state" id="{chart_id}">{esc(nothing.get(chart_id, "Nothing measured."))}</p>'
        out.append(
            f'<figure class="card chart-card"><h3>{esc(title)} <small class="muted">{esc(note)}</small>'
            f"</h3>{svg}</figure>"
        )
    out.append("</div></section>")
    return "".join(out)
