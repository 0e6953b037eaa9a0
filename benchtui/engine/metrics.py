"""The aggregation of run results: the one source the TUI, the headless summary and every report use.

The result itself (its keys, statuses, the run id) is ``results.py``'s. A metric that could not be measured
is ``None``, never 0.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Sequence
from typing import Any

from benchtui.engine.results import FINISHED_STATUSES, RunResult

__all__ = ["aggregate", "aggregate_by_model", "cache_hit_ratio", "cost_text", "rate_source", "task_matrix"]


def _numbers(runs: Iterable[RunResult], key: str) -> list[float]:
    values = [r.get(key) for r in runs]
    return [float(v) for v in values if isinstance(v, int | float) and not isinstance(v, bool)]


def _mean(values: Sequence[float]) -> float | None:
    return round(statistics.fmean(values), 4) if values else None


def _median(values: Sequence[float]) -> float | None:
    return round(statistics.median(values), 4) if values else None


def _total(values: Sequence[float]) -> float | None:
    return round(sum(values), 6) if values else None


def aggregate(runs: Sequence[RunResult]) -> dict[str, Any]:
    """Per-model figures over its finished runs."""
    finished = [r for r in runs if r.get("status") in FINISHED_STATUSES]
    passed = [r for r in finished if r.get("status") == "passed"]
    return {
        "runs": len(finished),
        "passed": len(passed),
        "failed": sum(1 for r in finished if r.get("status") == "failed"),
        "timeouts": sum(1 for r in finished if r.get("status") == "timeout"),
        "errors": sum(1 for r in finished if r.get("status") == "error"),
        "success_rate": round(len(passed) / len(finished), 4) if finished else None,
        "mean_time_s": _mean(_numbers(finished, "completion_time_s")),
        "median_time_s": _median(_numbers(finished, "completion_time_s")),
        "mean_passed_time_s": _mean(_numbers(passed, "completion_time_s")),
        "mean_prompts": _mean(_numbers(finished, "prompts_sent")),
        "mean_passed_prompts": _mean(_numbers(passed, "prompts_sent")),
        "mean_interventions": _mean(_numbers(finished, "human_interventions")),
        "mean_passed_interventions": _mean(_numbers(passed, "human_interventions")),
        "malformed_replies": int(sum(_numbers(finished, "malformed_replies"))),
        "prompt_tokens": _total(_numbers(finished, "prompt_tokens")),
        "completion_tokens": _total(_numbers(finished, "completion_tokens")),
        "mean_tokens_per_s": _mean(_numbers(finished, "tokens_per_s")),
        "cost_usd": _total(_numbers(finished, "cost_usd")),
        "truncated_replies": _count(finished, "truncated_replies"),
        "tokens_per_s_source": rate_source(finished),
        "cached_prompt_tokens": _total(_numbers(finished, "cached_prompt_tokens")),
        "cache_hit_ratio": cache_hit_ratio(finished),
        "prompt_eval_s": _total(_numbers(finished, "prompt_eval_s")),
        "runaway_replies": _count(finished, "runaway_replies"),
    }


def cache_hit_ratio(runs: Iterable[RunResult]) -> float | None:
    """Cached prompt tokens over all prompt tokens, over the runs whose server reported both; None when none did
    (Ollama, older results), so a server that says nothing never reads as a 0 % hit rate."""
    cached = total = 0.0
    for run in runs:
        hit, prompt = run.get("cached_prompt_tokens"), run.get("prompt_tokens")
        if isinstance(hit, int | float) and isinstance(prompt, int | float) and prompt > 0:
            cached, total = cached + hit, total + prompt
    return round(cached / total, 4) if total else None


def _count(runs: Sequence[RunResult], key: str) -> int | None:
    """A total over the runs; None when runs exist but none recorded the key (stored before it existed)."""
    values = _numbers(runs, key)
    return None if runs and not values else int(sum(values))


def rate_source(runs: Iterable[RunResult]) -> str | None:
    """Where a mean of the runs' ``tokens_per_s`` came from: ``server``, ``client``, ``mixed`` or None.

    Runs stored before the key existed count as unknown and leave it out, never guessed."""
    sources = {r.get("tokens_per_s_source") for r in runs if r.get("tokens_per_s") is not None}
    sources.discard(None)
    if not sources:
        return None
    return str(sources.pop()) if len(sources) == 1 else "mixed"


def aggregate_by_model(results: Iterable[RunResult]) -> dict[str, dict[str, Any]]:
    by_model: dict[str, list[RunResult]] = {}
    for result in results:
        by_model.setdefault(str(result["model"]), []).append(result)
    return {model: aggregate(runs) for model, runs in sorted(by_model.items())}


def task_matrix(results: Iterable[RunResult]) -> dict[str, dict[str, dict[str, Any]]]:
    """task id -> model key -> {passed, runs, status}: the task × model comparison."""
    matrix: dict[str, dict[str, dict[str, Any]]] = {}
    for result in results:
        if result.get("status") not in FINISHED_STATUSES:
            continue
        cell = matrix.setdefault(str(result["task_id"]), {}).setdefault(
            str(result["model"]), {"passed": 0, "runs": 0, "statuses": []}
        )
        cell["runs"] += 1
        cell["passed"] += result.get("status") == "passed"
        cell["statuses"].append(result.get("status"))
    return {task: dict(sorted(models.items())) for task, models in sorted(matrix.items())}


def cost_text(cost_usd: float | None) -> str:
    """A cost as every view shows it: ``—`` unpriced, ``$0`` free, four decimals under a dollar."""
    if cost_usd is None:
        return "—"
    if cost_usd == 0:
        return "$0"
    sign = "−" if cost_usd < 0 else ""
    return f"{sign}${abs(cost_usd):.4f}" if abs(cost_usd) < 1 else f"{sign}${abs(cost_usd):,.2f}"
