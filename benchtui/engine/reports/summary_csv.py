"""comparison_summary.csv: the figures over repeats, one row per model and one per task × model, for
spreadsheets (comparison_report.csv has one row per run).

The rows are the engine's figures (``aggregates`` and ``task_matrix`` of the report data), never
recomputed: a model's row first (``task_id`` empty), then its task rows in task order. Columns: which
row, its runs and passes, the success rate and its 95 % Wilson interval, ``pass_at_1`` … ``pass_at_K`` and
``pass_hat_1`` … ``pass_hat_K`` for K the most runs any row has (empty where a row has fewer runs), the
medians of passed runs with their bootstrap intervals, ``flaky`` (a task row: its verdict differs across
repeats; a model row: its flaky tasks, space-separated), and for model rows the leaderboard ``rank``,
``tied_with`` (space-separated keys) and ``repaired_tool_calls`` (the gateway's repairs of tool calls the
model wrote as text; empty when the repair was off). Cells are made safe as comparison_report.csv's are
(``csv_report.cell``).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from benchtui.engine import atomic
from benchtui.engine.metrics import PASSED_MEDIANS
from benchtui.engine.reports.csv_report import cell
from benchtui.engine.store import Batch

LEADING = ("model", "task_id", "runs", "passed", "success_rate", "success_low", "success_high")


def _most_k(data: dict[str, Any]) -> int:
    curves = [a.get("pass_at_k") or {} for a in (data.get("aggregates") or {}).values()]
    for models in (data.get("task_matrix") or {}).values():
        curves.extend(c.get("pass_at_k") or {} for c in models.values())
    return max((len(c) for c in curves), default=0)


def columns(most_k: int) -> tuple[str, ...]:
    medians = [
        name
        for stem in PASSED_MEDIANS
        for name in (f"median_passed_{stem}", f"median_passed_{stem}_low", f"median_passed_{stem}_high")
    ]
    return (
        *LEADING,
        *(f"pass_at_{k}" for k in range(1, most_k + 1)),
        *(f"pass_hat_{k}" for k in range(1, most_k + 1)),
        *medians,
        "flaky",
        "rank",
        "tied_with",
        "repaired_tool_calls",
    )


def _figures(figures: dict[str, Any], most_k: int) -> dict[str, Any]:
    values: dict[str, Any] = {}
    ci = figures.get("success_ci") or {}
    values["success_low"], values["success_high"] = ci.get("low"), ci.get("high")
    for name, curve in (("pass_at", figures.get("pass_at_k")), ("pass_hat", figures.get("pass_hat_k"))):
        for k in range(1, most_k + 1):
            values[f"{name}_{k}"] = (curve or {}).get(str(k))
    for stem in PASSED_MEDIANS:
        name = f"median_passed_{stem}"
        values[name] = figures.get(name)
        interval = figures.get(f"{name}_ci") or {}
        values[f"{name}_low"], values[f"{name}_high"] = interval.get("low"), interval.get("high")
    return values


def rows(data: dict[str, Any]) -> Iterable[Sequence[str]]:
    """The header row, then each model's row followed by its task rows, models in leaderboard order."""
    most_k = _most_k(data)
    header = columns(most_k)
    yield header
    aggregates: dict[str, Any] = data.get("aggregates") or {}
    matrix: dict[str, Any] = data.get("task_matrix") or {}
    board = {row.get("model"): row for row in (data.get("rankings") or {}).get("leaderboard") or []}
    task_ids = [str(t.get("id")) for t in (data.get("batch") or {}).get("tasks") or []]
    task_ids += [t for t in matrix if t not in task_ids]
    order = [str(row.get("model")) for row in (data.get("rankings") or {}).get("leaderboard") or []]
    order += [m for m in aggregates if m not in order]
    for model in order:
        agg = aggregates.get(model) or {}
        entry = board.get(model) or {}
        tied = entry.get("tied_with")
        values = {
            "model": model,
            "task_id": None,
            "runs": agg.get("runs"),
            "passed": agg.get("passed"),
            "success_rate": agg.get("success_rate"),
            **_figures(agg, most_k),
            "flaky": " ".join(agg.get("flaky_tasks") or []),
            "rank": entry.get("rank"),
            "tied_with": None if tied is None else " ".join(tied),
            "repaired_tool_calls": agg.get("repaired_tool_calls"),
        }
        yield [cell(values.get(key)) for key in header]
        for task in task_ids:
            found = (matrix.get(task) or {}).get(model)
            if not found:
                continue
            runs = found.get("runs") or 0
            values = {
                "model": model,
                "task_id": task,
                "runs": runs,
                "passed": found.get("passed"),
                "success_rate": round(found["passed"] / runs, 4) if runs else None,
                **_figures(found, most_k),
                "flaky": found.get("flaky"),
            }
            yield [cell(values.get(key)) for key in header]


def render(data: dict[str, Any]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL).writerows(rows(data))
    return buffer.getvalue()


def write(data: dict[str, Any], path: Path, batch: Batch | None = None) -> None:
    atomic.write_text(path, render(data))
