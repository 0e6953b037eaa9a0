"""Aggregates and rankings: the one source for the TUI, the headless summary and the reports."""

from __future__ import annotations

from benchtui.engine.metrics import aggregate, aggregate_by_model, task_matrix
from benchtui.engine.rankings import leaderboard, rank
from benchtui.engine.results import RunResult, RunStatus


# A result stored before the later keys existed (no truncated_replies, ...): RunResult is total=False for it.
def run(model: str, status: RunStatus, time_s: float, prompts: int, hints: int, task: str = "t") -> RunResult:
    return {
        "model": model,
        "task_id": task,
        "repeat": 1,
        "status": status,
        "completion_time_s": time_s,
        "prompts_sent": prompts,
        "human_interventions": hints,
        "tokens_per_s": None,
        "cost_usd": None,
    }


RESULTS = [
    run("quick", "passed", 5, 3, 2),
    run("quick", "failed", 9, 5, 3, "u"),
    run("careful", "passed", 20, 1, 0),
    run("careful", "passed", 22, 1, 0, "u"),
    run("never", "failed", 1, 5, 3),
    run("never", "error", 0.1, 1, 0, "u"),
]


def test_each_podium_ranks_passed_runs_only() -> None:
    ranked = rank(aggregate_by_model(RESULTS))
    assert [e["model"] for e in ranked["fastest"]] == ["quick", "careful"]
    assert [e["model"] for e in ranked["most_efficient"]] == ["careful", "quick"]
    assert [e["model"] for e in ranked["most_autonomous"]] == ["careful", "quick"]
    assert ranked["fastest"][0]["value"] == 5


def test_leaderboard_orders_by_success_rate_then_time() -> None:
    board = leaderboard(aggregate_by_model(RESULTS))
    assert [e["model"] for e in board] == ["careful", "quick", "never"]
    assert board[0]["success_rate"] == 1.0


def test_unmeasured_figures_stay_null_never_zero() -> None:
    agg = aggregate([run("m", "failed", 3, 2, 1)])
    assert agg["mean_tokens_per_s"] is None and agg["cost_usd"] is None and agg["mean_passed_time_s"] is None
    assert aggregate([])["success_rate"] is None


def test_task_matrix_is_task_by_model() -> None:
    matrix = task_matrix(RESULTS)
    assert matrix["u"]["careful"] == {"passed": 1, "runs": 1, "statuses": ["passed"]}
    assert matrix["t"]["never"]["passed"] == 0


def test_cut_off_replies_are_totalled_and_unknown_for_runs_stored_before_they_were_counted() -> None:
    counted: list[RunResult] = [
        {**run("m", "passed", 10, 1, 0), "truncated_replies": 2},
        {**run("m", "failed", 20, 3, 1), "truncated_replies": 1},
    ]
    assert aggregate(counted)["truncated_replies"] == 3
    assert aggregate([run("m", "passed", 10, 1, 0)])["truncated_replies"] is None  # an old run: not measured, not 0
    assert aggregate([])["truncated_replies"] == 0


def test_a_models_rate_says_who_timed_it() -> None:
    def timed(source: str | None, rate: float | None = 50.0) -> RunResult:
        return {**run("m", "passed", 10, 1, 0), "tokens_per_s": rate, "tokens_per_s_source": source}

    assert aggregate([timed("server"), timed("server")])["tokens_per_s_source"] == "server"
    assert aggregate([timed("client"), timed(None, None)])["tokens_per_s_source"] == "client"
    assert aggregate([timed("server"), timed("client")])["tokens_per_s_source"] == "mixed"
    assert aggregate([timed(None, None)])["tokens_per_s_source"] is None
