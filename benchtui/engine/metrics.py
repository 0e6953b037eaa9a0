"""The aggregation of run results: the one source the TUI, the headless summary and every report use.

The result itself (its keys, statuses, the run id) is ``results.py``'s. A metric that could not be measured
is ``None``, never 0. The figures over repeats (intervals, pass@k, pass^k, paired tests) are computed here
with ``stats.py``'s estimators; docs/METRICS.md says what each key means and why each method.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from benchtui.engine import stats
from benchtui.engine.results import FINISHED_STATUSES, RunResult

__all__ = [
    "MEANS_PER_RUN",
    "REPAIRED_MARK",
    "TOTALS",
    "aggregate",
    "aggregate_by_model",
    "cache_hit_ratio",
    "cost_text",
    "cost_total",
    "cost_unknown",
    "determinism_text",
    "figure_kinds_text",
    "flaky_tasks",
    "paired_comparisons",
    "plan_notes",
    "planned_precision",
    "precision_text",
    "rate_source",
    "repaired_calls",
    "repaired_text",
    "repeat_figures",
    "task_matrix",
    "zero_temperature",
]

#: The figures of passed runs that get a median and a bootstrap interval: key stem -> what is read off a run.
PASSED_MEDIANS = ("time_s", "prompts", "interventions", "tokens")


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
        "malformed_replies": _count(finished, "malformed_replies"),
        "prompt_tokens": _total(_numbers(finished, "prompt_tokens")),
        "completion_tokens": _total(_numbers(finished, "completion_tokens")),
        "mean_tokens_per_s": _mean(_numbers(finished, "tokens_per_s")),
        "cost_usd": cost_total(finished),
        "truncated_replies": _count(finished, "truncated_replies"),
        "tokens_per_s_source": rate_source(finished),
        "cached_prompt_tokens": _total(_numbers(finished, "cached_prompt_tokens")),
        "cache_hit_ratio": cache_hit_ratio(finished),
        "prompt_eval_s": _total(_numbers(finished, "prompt_eval_s")),
        "runaway_replies": _count(finished, "runaway_replies"),
        "repaired_tool_calls": repaired_calls(finished),
        **repeat_figures(finished),
        "flaky_tasks": flaky_tasks(finished),
        "cost_unknown_runs": len(cost_unknown(finished)),
    }


def cost_unknown(runs: Iterable[RunResult]) -> list[RunResult]:
    """The runs that asked the model and whose cost is not known: an unpriced cloud model's, one whose server
    reported prompt-cache tokens its pricing has no rate for, one whose request failed before its usage came.
    A run that sent no prompt cost nothing, whatever its result says."""
    return [r for r in runs if r.get("cost_usd") is None and r.get("prompts_sent")]


def cost_total(runs: Sequence[RunResult]) -> float | None:
    """The runs' total cost; None as soon as one that asked the model has no known cost, so a sum over the
    others is never shown as the model's total (``cost_unknown_runs`` says how many; the batch log why)."""
    if cost_unknown(runs):
        return None
    costs = _numbers(runs, "cost_usd")
    return round(sum(costs), 9) if costs else None  # nano-dollars, as each run's (models.Pricing)


#: How the aggregate figures a leaderboard shows are made: a mean of the runs' figures (what compares
#: contestants run for run), or a total over the runs (counts of events and the bill, which the warnings
#: and the cost note quote as totals: "3 replies were cut off"). Keys are ``aggregate``'s.
MEANS_PER_RUN = ("mean_passed_time_s", "mean_time_s", "mean_prompts", "mean_interventions", "mean_tokens_per_s")
TOTALS = (
    "malformed_replies",
    "truncated_replies",
    "prompt_tokens",
    "completion_tokens",
    "cost_usd",
    "runaway_replies",
    "repaired_tool_calls",
)


def figure_kinds_text(labels: Mapping[str, str]) -> str:
    """The legend line every leaderboard carries, so a mean is never read as a total or the other way
    round: ``per run (mean): Prompts, Interv. · totals over the runs: Malformed, Cut off, Tokens``.
    ``labels``: aggregate key -> the column's label, for the columns the view shows, in its order."""
    means = [label for key, label in labels.items() if key in MEANS_PER_RUN]
    totals = [label for key, label in labels.items() if key in TOTALS]
    parts = []
    if means:
        parts.append(f"per run (mean): {', '.join(means)}")
    if totals:
        parts.append(f"totals over the runs: {', '.join(totals)}")
    return " · ".join(parts)


#: Beside a contestant whose model needed the gateway to turn tool calls it wrote as text into real ones.
REPAIRED_MARK = "⚒"


def repaired_calls(runs: Iterable[RunResult]) -> int | None:
    """Tool calls the gateway repaired over the runs; None when no run looked for any (benchtui's loop, a model
    with ``repair_tool_calls`` off, results stored before the key): 0 means looked for and never needed."""
    values = _numbers(runs, "repaired_tool_calls")
    return int(sum(values)) if values else None


def repaired_text(count: Any) -> str:
    """What every view puts beside a contestant whose calls were repaired (``⚒ 12 repaired``), so a model that
    needed the help is never mistaken for one that did not; "" when none were (or none were looked for)."""
    if not isinstance(count, int) or isinstance(count, bool) or count <= 0:
        return ""
    return f"{REPAIRED_MARK} {count} repaired"


def cache_hit_ratio(runs: Iterable[RunResult]) -> float | None:
    """Cached prompt tokens over all prompt tokens, over the runs whose server reported both; None when none did
    (Ollama, older results), so a server that says nothing never reads as a 0 % hit rate."""
    cached = total = 0.0
    for run in runs:
        hit, prompt = run.get("cached_prompt_tokens"), run.get("prompt_tokens")
        if isinstance(hit, int | float) and isinstance(prompt, int | float) and prompt > 0:
            cached, total = cached + hit, total + prompt
    return round(cached / total, 4) if total else None


def _verdict_counts(runs: Iterable[RunResult]) -> dict[str, tuple[int, int]]:
    """task id -> (finished runs, passed runs)."""
    counts: dict[str, list[int]] = {}
    for run in runs:
        if run.get("status") not in FINISHED_STATUSES:
            continue
        cell = counts.setdefault(str(run["task_id"]), [0, 0])
        cell[0] += 1
        cell[1] += run.get("status") == "passed"
    return {task: (n, c) for task, (n, c) in sorted(counts.items())}


def _rounded_curve(curve: dict[int, float]) -> dict[str, float]:
    # String keys: JSON has no other, and the TUI reads the same dict the JSON report writes.
    return {str(k): round(v, 4) for k, v in curve.items()}


def _passed_values(passed: Sequence[RunResult], stem: str) -> list[float]:
    if stem == "time_s":
        return _numbers(passed, "completion_time_s")
    if stem == "prompts":
        return _numbers(passed, "prompts_sent")
    if stem == "interventions":
        return _numbers(passed, "human_interventions")
    # Tokens: a run's prompt and completion tokens together, only where the server reported both.
    tokens = []
    for run in passed:
        prompt, completion = run.get("prompt_tokens"), run.get("completion_tokens")
        if isinstance(prompt, int) and isinstance(completion, int):
            tokens.append(float(prompt + completion))
    return tokens


def repeat_figures(runs: Sequence[RunResult]) -> dict[str, Any]:
    """The figures over repeats of some finished runs (one contestant's, or one task × contestant cell).

    ``success_ci`` (Wilson 95 %), ``pass_at_k`` and ``pass_hat_k`` (k -> value, the mean over the runs'
    tasks, for k up to the fewest runs a task has), and for passed runs the median and its seeded bootstrap
    interval of time, prompts, interventions and tokens. None where nothing can be computed."""
    finished = [r for r in runs if r.get("status") in FINISHED_STATUSES]
    passed = [r for r in finished if r.get("status") == "passed"]
    cells = list(_verdict_counts(finished).values())
    figures: dict[str, Any] = {
        "success_ci": stats.interval_dict(stats.wilson_interval(len(passed), len(finished))),
        # Null, not {}, without a finished run: a figure that cannot be computed is null.
        "pass_at_k": _rounded_curve(stats.pass_at_k_over_tasks(cells)) if finished else None,
        "pass_hat_k": _rounded_curve(stats.pass_hat_k_over_tasks(cells)) if finished else None,
    }
    for stem in PASSED_MEDIANS:
        values = _passed_values(passed, stem)
        median = stats.median(values)
        figures[f"median_passed_{stem}"] = None if median is None else round(median, 4)
        figures[f"median_passed_{stem}_ci"] = stats.interval_dict(stats.bootstrap_median_interval(values))
    return figures


def flaky_tasks(runs: Iterable[RunResult]) -> list[str]:
    """The tasks whose verdict (passed or not) differs across one contestant's finished repeats, sorted."""
    return [task for task, (n, c) in _verdict_counts(runs).items() if 0 < c < n]


def _count(runs: Sequence[RunResult], key: str) -> int | None:
    """A total over the runs; None as soon as one of them has no figure for the key (an assistant's run, which
    benchtui's loop did not count: ``malformed_replies``, ``runaway_replies``; one stored before the key
    existed), so a sum over the others is never shown as the total, as for ``cost_total``."""
    values = _numbers(runs, key)
    return None if len(values) < len(runs) else int(sum(values))


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
    """task id -> model key -> the cell: {passed, runs, statuses, flaky} and its ``repeat_figures``."""
    cells: dict[str, dict[str, list[RunResult]]] = {}
    for result in results:
        if result.get("status") not in FINISHED_STATUSES:
            continue
        cells.setdefault(str(result["task_id"]), {}).setdefault(str(result["model"]), []).append(result)
    matrix: dict[str, dict[str, dict[str, Any]]] = {}
    for task, models in sorted(cells.items()):
        row = matrix[task] = {}
        for model, runs in sorted(models.items()):
            passed = sum(1 for r in runs if r.get("status") == "passed")
            row[model] = {
                "passed": passed,
                "runs": len(runs),
                "statuses": [r.get("status") for r in runs],
                "flaky": 0 < passed < len(runs),
                **repeat_figures(runs),
            }
    return matrix


def _verdicts(results: Iterable[RunResult]) -> dict[str, dict[tuple[str, int], bool]]:
    """model key -> (task id, repeat) -> passed, over finished runs."""
    verdicts: dict[str, dict[tuple[str, int], bool]] = {}
    for result in results:
        if result.get("status") not in FINISHED_STATUSES:
            continue
        cell = (str(result["task_id"]), int(result.get("repeat") or 1))
        verdicts.setdefault(str(result["model"]), {})[cell] = result.get("status") == "passed"
    return verdicts


def paired_comparisons(results: Iterable[RunResult], models: Iterable[str] = ()) -> list[dict[str, Any]]:
    """Every two contestants over the (task, repeat) cells both finished: McNemar's exact test.

    One entry per pair, ``a`` before ``b`` by key: ``shared`` cells, ``a_only`` / ``b_only`` (cells only
    that one passed), ``p_value``, ``significant`` (p < stats.ALPHA) and ``repeats_to_separate`` (the
    repeats per task at which the difference seen would become significant if it held: the repeats run when
    it already is; None when no number would, or it would take more than 1000). ``models`` adds
    contestants without a finished run, so that every pair is there (with no shared cell: not told apart)."""
    verdicts = _verdicts(results)
    for model in models:
        verdicts.setdefault(model, {})
    keys = sorted(verdicts)
    pairs = []
    for i, a in enumerate(keys):
        for b in keys[i + 1 :]:
            paired = stats.paired_test(verdicts[a], verdicts[b])
            shared_tasks = {task for task, _repeat in verdicts[a].keys() & verdicts[b].keys()}
            repeats = round(paired.shared / len(shared_tasks)) if shared_tasks else 0
            pairs.append(
                {
                    "a": a,
                    "b": b,
                    "shared": paired.shared,
                    "a_only": paired.a_only,
                    "b_only": paired.b_only,
                    "p_value": round(paired.p_value, 6),
                    "significant": paired.significant,
                    "repeats_to_separate": stats.repeats_to_separate(paired.a_only, paired.b_only, repeats),
                }
            )
    return pairs


def planned_precision(tasks: int, repeats: int) -> dict[str, Any]:
    """What a planned batch can tell, before it runs: the widest 95 % half width a contestant's success rate
    can have over ``tasks × repeats`` runs, and one task's over ``repeats`` (``stats.wilson_half_width``)."""

    def half(n: int) -> float | None:
        width = stats.wilson_half_width(n)
        return None if width is None else round(width, 4)

    return {
        "tasks": tasks,
        "repeats": repeats,
        "contestant_half_width": half(tasks * repeats),
        "task_half_width": half(repeats),
    }


def precision_text(tasks: int, repeats: int) -> str:
    """The planned precision in words, as the headless notes and the TUI say it."""
    plan = planned_precision(tasks, repeats)
    contestant, task = plan["contestant_half_width"], plan["task_half_width"]
    if contestant is None:
        return "no run planned"
    runs = tasks * repeats
    text = (
        f"{repeats} {'repeat' if repeats == 1 else 'repeats'} × {tasks} {'task' if tasks == 1 else 'tasks'}: "
        f"each contestant's success rate to within ±{contestant * 100:.0f} points "
        f"({runs} {'run' if runs == 1 else 'runs'}, 95 %, at worst)"
    )
    if tasks > 1:
        text += f", one task's to within ±{task * 100:.0f}"
    return text


def plan_notes(tasks: int, repeats: int, settings: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """What a batch about to run can tell, said before it runs (headless notes, the TUI's run log): the
    interval width its repeats can reach, and whether they measure determinism. ``settings``: each
    contestant's generation settings, by key."""
    notes = [f"Planned: {precision_text(tasks, repeats)}"]
    determinism = determinism_text(zero_temperature(settings), repeats, len(settings))
    if determinism:
        notes.append(determinism[0].upper() + determinism[1:])
    return notes


def zero_temperature(settings: Mapping[str, Mapping[str, Any]]) -> list[str]:
    """The models (key -> generation settings) sampled at temperature 0: their repeats give the same reply
    to the same prompt (or nearly: batching and float order on the server), so they measure determinism."""
    return sorted(key for key, values in settings.items() if values.get("temperature") == 0)


def determinism_text(zero: Sequence[str], repeats: int, contestants: int) -> str | None:
    """What a batch's repeats measure when some contestants run at temperature 0; None when that is moot
    (one repeat, or no contestant at temperature 0)."""
    if repeats < 2 or not zero:
        return None
    who = "every contestant" if len(zero) >= contestants else ", ".join(zero)
    return (
        f"temperature 0 ({who}): the repeats measure determinism, not skill; "
        "set settings.temperature above 0 for repeats that are new samples"
    )


def cost_text(cost_usd: float | None) -> str:
    """A cost as every view shows it: ``—`` unpriced, ``$0`` free, four decimals under a dollar."""
    if cost_usd is None:
        return "—"
    if cost_usd == 0:
        return "$0"
    sign = "−" if cost_usd < 0 else ""
    return f"{sign}${abs(cost_usd):.4f}" if abs(cost_usd) < 1 else f"{sign}${abs(cost_usd):,.2f}"
