"""Batch-to-batch comparison: what improved and what regressed between batch A and batch B.

Each batch is read as its reports read it (``reports.data.build_report_data``); the comparison is made
on what the two share: the contestants (model keys) and the tasks (task ids) present in both. What only
one batch has is listed, never silently dropped, and every figure of a contestant is over the shared
tasks only, so a rate is never compared across different task sets.

Per contestant and per task × contestant: the success rate (with its Wilson interval), pass@k, and the
medians of time, tokens and prompts of passed runs, on each side. A change is flagged ``regressed`` or
``improved`` only when its test says so at ``ALPHA`` after Holm's correction within its family (see
``twosample`` for the tests and why these); anything else is ``unchanged`` (no significant change) or
``untested`` (one side has no runs, or too few to test).

The result is one JSON-ready dict (``compare_batches``); ``reports.comparison`` writes it as
``compare_<A>_vs_<B>.json`` and ``.html`` into batch B's folder.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, cast

from benchtui.engine import metrics, stats
from benchtui.engine.errors import InputError
from benchtui.engine.reports.data import build_report_data
from benchtui.engine.results import FINISHED_STATUSES, RunResult
from benchtui.engine.store import Batch, ResultsStore
from benchtui.engine.textsafety import strip_control
from benchtui.engine.twosample import StratumCounts, bootstrap_median_difference, exact_rate_test, holm

__all__ = ["ALPHA", "MEDIANS", "SCHEMA", "compare_batches", "load_batch", "report_stem"]

SCHEMA = 1
ALPHA = stats.ALPHA
# The medians compared (the batch figures' keys, ``metrics.repeat_figures``) -> what is read off a passed
# run (``metrics.PASSED_MEDIANS``); for all of them less is better.
MEDIANS = {f"median_passed_{stem}": stem for stem in metrics.PASSED_MEDIANS}
# What a task × contestant cell shows of each side, read off the batch's task matrix.
CELL_FIGURES = ("success_ci", "pass_at_k", "pass_hat_k", "median_passed_time_s", "median_passed_tokens")
REGRESSED, IMPROVED, UNCHANGED, UNTESTED = "regressed", "improved", "unchanged", "untested"


def report_stem(a_id: str, b_id: str) -> str:
    return f"compare_{a_id}_vs_{b_id}"


def load_batch(store: ResultsStore, batch_ref: str) -> tuple[Batch, dict[str, Any]]:
    """The batch ``batch_ref`` names (an id in ``store`` or a folder) and its report data.

    Raises InputError naming the folder when there is no such batch or its files cannot be read."""
    batch = store.open_batch(batch_ref)
    try:
        return batch, build_report_data(batch)
    except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InputError(f"cannot read batch {batch.path}: {exc}") from exc


@dataclass(frozen=True)
class _Side:
    """One batch's finished runs by (model, task), and its report data."""

    data: dict[str, Any]
    cells: dict[tuple[str, str], list[dict[str, Any]]]

    @classmethod
    def of(cls, data: dict[str, Any]) -> _Side:
        cells: dict[tuple[str, str], list[dict[str, Any]]] = {}
        for run in data.get("runs") or []:
            if run.get("status") in FINISHED_STATUSES:
                cells.setdefault((str(run["model"]), str(run["task_id"])), []).append(run)
        return cls(data, cells)

    @property
    def batch_id(self) -> str:
        return str((self.data.get("batch") or {}).get("batch_id") or "")

    def tasks(self) -> list[str]:
        """Task ids in the manifest's order, then any that only runs name."""
        listed = [str(t.get("id")) for t in (self.data.get("batch") or {}).get("tasks") or []]
        return listed + sorted({task for _, task in self.cells} - set(listed))

    def models(self) -> list[str]:
        return sorted(set(self.data.get("models") or {}) | {model for model, _ in self.cells})

    def matrix_cell(self, model: str, task: str) -> dict[str, Any]:
        cell = ((self.data.get("task_matrix") or {}).get(task) or {}).get(model)
        return cell if isinstance(cell, dict) else {}

    def runs(self, model: str, tasks: Iterable[str]) -> list[dict[str, Any]]:
        return [run for task in tasks for run in self.cells.get((model, task), [])]


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _passed_values(runs: Sequence[dict[str, Any]], stem: str) -> list[float]:
    """The values the batch figures take a median of (``metrics``'s own reading of a run)."""
    passed = [r for r in runs if r.get("status") == "passed"]
    # metrics' own reading (tokens: prompt + completion, only where both were reported), so that the medians
    # compared are the batch figures' medians.
    return metrics._passed_values(cast(Sequence[RunResult], passed), stem)


def _side_figures(runs: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """One contestant's figures on one side: counts and rate, and the batch figures over these runs only
    (``metrics.repeat_figures``: Wilson interval, pass@k, pass^k, medians of passed runs and their intervals)."""
    passed = sum(1 for r in runs if r.get("status") == "passed")
    return {
        "runs": len(runs),
        "passed": passed,
        "success_rate": round(passed / len(runs), 4) if runs else None,
        # A model repaired on one side and not the other is not the same contestant's skill compared.
        "repaired_tool_calls": metrics.repaired_calls(cast(Sequence[RunResult], runs)),
        **metrics.repeat_figures(cast(Sequence[RunResult], runs)),
    }


def _rate_change(strata: list[StratumCounts]) -> dict[str, Any]:
    test = exact_rate_test(strata)
    return {
        "p_value": _significant(test.p_value),
        "direction": test.direction,
    }


def _significant(p_value: float | None) -> float | None:
    """A p-value to four significant digits: rounding to decimals would write a tiny one as 0."""
    return None if p_value is None else float(f"{p_value:.4g}")


def _delta(a: Any, b: Any) -> float | None:
    a_n, b_n = _number(a), _number(b)
    return None if a_n is None or b_n is None else round(b_n - a_n, 4)


def compare_batches(a_data: dict[str, Any], b_data: dict[str, Any]) -> dict[str, Any]:
    """The comparison of batch A (before) with batch B (after), from their report data."""
    a, b = _Side.of(a_data), _Side.of(b_data)
    a_tasks, b_tasks = a.tasks(), b.tasks()
    tasks = [t for t in a_tasks if t in set(b_tasks)]
    models = [m for m in a.models() if m in set(b.models())]

    contestants: list[dict[str, Any]] = []
    for model in models:
        a_per_task = {t: a.cells.get((model, t), []) for t in tasks}
        b_per_task = {t: b.cells.get((model, t), []) for t in tasks}
        a_runs, b_runs = a.runs(model, tasks), b.runs(model, tasks)
        entry: dict[str, Any] = {
            "model": model,
            "a": _side_figures(a_runs),
            "b": _side_figures(b_runs),
        }
        strata = [
            StratumCounts(
                a_passed=sum(1 for r in a_per_task[t] if r.get("status") == "passed"),
                a_runs=len(a_per_task[t]),
                b_passed=sum(1 for r in b_per_task[t] if r.get("status") == "passed"),
                b_runs=len(b_per_task[t]),
            )
            for t in tasks
        ]
        entry["success"] = {"delta": _delta(entry["a"]["success_rate"], entry["b"]["success_rate"])} | _rate_change(
            strata
        )
        for name in ("pass_at_k", "pass_hat_k"):  # described, not tested: pass@1 is the success rate above
            before, after = entry["a"][name] or {}, entry["b"][name] or {}
            entry[name] = {
                k: {"a": before[k], "b": after[k], "delta": _delta(before[k], after[k])} for k in before if k in after
            }
        entry["medians"] = {}
        for name, key in MEDIANS.items():
            p_value, interval = bootstrap_median_difference(
                _passed_values(a_runs, key), _passed_values(b_runs, key), seed=f"{model}\0{name}"
            )
            entry["medians"][name] = {
                "a": entry["a"][name],
                "b": entry["b"][name],
                "delta": _delta(entry["a"][name], entry["b"][name]),
                "difference_ci": None
                if interval is None
                else {"low": round(interval[0], 4), "high": round(interval[1], 4)},
                "p_value": _significant(p_value),
            }
        contestants.append(entry)

    cells: list[dict[str, Any]] = []
    for task in tasks:
        for model in models:
            a_runs, b_runs = a.cells.get((model, task), []), b.cells.get((model, task), [])
            a_passed = sum(1 for r in a_runs if r.get("status") == "passed")
            b_passed = sum(1 for r in b_runs if r.get("status") == "passed")
            cell: dict[str, Any] = {"task_id": task, "model": model}
            for name, side, runs, passed in (("a", a, a_runs, a_passed), ("b", b, b_runs, b_passed)):
                cell[name] = {
                    "runs": len(runs),
                    "passed": passed,
                    "success_rate": round(passed / len(runs), 4) if runs else None,
                }
                # The batch figures' own cell (report data's task matrix: one task, so nothing to restrict),
                # not computed again.
                figures = side.matrix_cell(model, task)
                cell[name].update({key: figures.get(key) for key in CELL_FIGURES})
            cell["success"] = {"delta": _delta(cell["a"]["success_rate"], cell["b"]["success_rate"])} | _rate_change(
                [StratumCounts(a_passed, len(a_runs), b_passed, len(b_runs))]
            )
            cells.append(cell)

    # Holm within each family: the contestants' success tests, each median's tests, the cells' tests.
    _adjust([c["success"] for c in contestants], lower_is_better=False)
    for name in MEDIANS:
        _adjust([c["medians"][name] for c in contestants], lower_is_better=True)
    _adjust([c["success"] for c in cells], lower_is_better=False)

    changes = _changes(contestants, cells)
    return {
        "schema": SCHEMA,
        "a": _about(a, a_data),
        "b": _about(b, b_data),
        "shared": {"tasks": tasks, "models": models},
        "only_in_a": {
            "tasks": [t for t in a_tasks if t not in tasks],
            "models": [m for m in a.models() if m not in models],
        },
        "only_in_b": {
            "tasks": [t for t in b_tasks if t not in tasks],
            "models": [m for m in b.models() if m not in models],
        },
        "changed_tasks": _changed_tasks(a_data, b_data, tasks),
        "method": {
            "alpha": ALPHA,
            "success": "exact conditional test stratified by task (Fisher's exact test for one task), two-sided",
            "medians": "bootstrap of the difference of medians of passed runs, each batch resampled on its own, "
            "two-sided",
            "correction": "Holm, within each family (contestants' success rates, each median, task cells)",
        },
        "contestants": contestants,
        "cells": cells,
        "regressions": [c for c in changes if c["verdict"] == REGRESSED],
        "improvements": [c for c in changes if c["verdict"] == IMPROVED],
    }


def _adjust(tests: list[dict[str, Any]], *, lower_is_better: bool) -> None:
    """Holm-adjusted p-values and verdicts, in place, for one family of tests.

    A success test carries its own ``direction`` (B passed more or less often than "no change" expects,
    task by task); a median's direction is the sign of its change, less being better."""
    for test, adjusted in zip(tests, holm([t["p_value"] for t in tests]), strict=True):
        test["p_adjusted"] = _significant(adjusted)
        direction = test.pop("direction", None)
        if direction is None:
            delta = test.get("delta") or 0.0
            direction = (delta > 0) - (delta < 0)
            direction = -direction if lower_is_better else direction
        if adjusted is None:
            test["verdict"] = UNTESTED
        elif adjusted >= ALPHA or direction == 0:
            test["verdict"] = UNCHANGED
        else:
            test["verdict"] = IMPROVED if direction > 0 else REGRESSED


def _changes(contestants: list[dict[str, Any]], cells: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every flagged change as one flat list: contestants (task_id None) first, then task cells."""
    found: list[dict[str, Any]] = []
    for c in contestants:
        found.append(
            _change(c["model"], None, "success_rate", c["success"], c["a"]["success_rate"], c["b"]["success_rate"])
        )
        for name in MEDIANS:
            median = c["medians"][name]
            found.append(_change(c["model"], None, name, median, median["a"], median["b"]))
    for cell in cells:
        found.append(
            _change(
                cell["model"],
                cell["task_id"],
                "success_rate",
                cell["success"],
                cell["a"]["success_rate"],
                cell["b"]["success_rate"],
            )
        )
    return [f for f in found if f["verdict"] in (REGRESSED, IMPROVED)]


def _change(model: str, task: str | None, metric: str, test: dict[str, Any], a: Any, b: Any) -> dict[str, Any]:
    return {
        "model": model,
        "task_id": task,
        "metric": metric,
        "a": a,
        "b": b,
        "p_adjusted": test.get("p_adjusted"),
        "verdict": test.get("verdict"),
    }


def _about(side: _Side, data: dict[str, Any]) -> dict[str, Any]:
    batch = data.get("batch") or {}
    return {
        "batch_id": side.batch_id,
        "created_at": batch.get("created_at"),
        "status": batch.get("status"),
        "options": batch.get("options") or {},
        "tasks": side.tasks(),
        "models": side.models(),
        "runs": sum(len(runs) for runs in side.cells.values()),
    }


def _changed_tasks(a_data: dict[str, Any], b_data: dict[str, Any], shared: Sequence[str]) -> list[str]:
    """Shared tasks whose fingerprint differs between the batches: the task itself was edited in between."""

    def prints(data: dict[str, Any]) -> dict[str, Any]:
        return {str(t.get("id")): t.get("fingerprint") for t in (data.get("batch") or {}).get("tasks") or []}

    a_prints, b_prints = prints(a_data), prints(b_data)
    return [t for t in shared if a_prints.get(t) and b_prints.get(t) and a_prints.get(t) != b_prints.get(t)]


def nothing_in_common(data: dict[str, Any]) -> str | None:
    """Why there is nothing to compare (no contestant, or no task, in both batches), naming what each batch
    has; None when they share at least one contestant and one task."""
    shared = data.get("shared") or {}
    for key, word in (("models", "contestants"), ("tasks", "tasks")):
        if shared.get(key):
            continue
        sides = []
        for side in ("a", "b"):
            about = data.get(side) or {}
            names = ", ".join(strip_control(str(n)) for n in about.get(key) or []) or "none"
            sides.append(f"{side.upper()} ({strip_control(str(about.get('batch_id')))}) has {word} {names}")
        return f"nothing to compare: the batches have no {word[:-1]} in common; " + "; ".join(sides)
    return None
