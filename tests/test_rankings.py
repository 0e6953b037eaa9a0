"""Aggregates and rankings: the one source for the TUI, the headless summary and the reports."""

from __future__ import annotations

from benchtui.engine.metrics import (
    aggregate,
    aggregate_by_model,
    determinism_text,
    paired_comparisons,
    planned_precision,
    precision_text,
    task_matrix,
    zero_temperature,
)
from benchtui.engine.rankings import first_place_tie, leaderboard, place_text, rank, separable_pairs, tie_text
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
    cell = matrix["u"]["careful"]
    assert {k: cell[k] for k in ("passed", "runs", "statuses", "flaky")} == {
        "passed": 1,
        "runs": 1,
        "statuses": ["passed"],
        "flaky": False,
    }
    assert matrix["t"]["never"]["passed"] == 0


def test_cut_off_replies_are_totalled_and_unknown_for_runs_stored_before_they_were_counted() -> None:
    counted: list[RunResult] = [
        {**run("m", "passed", 10, 1, 0), "truncated_replies": 2},
        {**run("m", "failed", 20, 3, 1), "truncated_replies": 1},
    ]
    assert aggregate(counted)["truncated_replies"] == 3
    assert aggregate([run("m", "passed", 10, 1, 0)])["truncated_replies"] is None  # an old run: not measured, not 0
    assert aggregate([])["truncated_replies"] == 0


def test_a_total_over_runs_some_of_which_did_not_count_the_figure_is_null_not_a_partial_sum() -> None:
    """An assistant's runs have no malformed or runaway count (benchtui never parsed or watched their replies):
    a contestant's total is null as soon as one finished run lacks the figure, as its cost is."""
    loop: RunResult = {**run("m", "failed", 10, 2, 0), "malformed_replies": 2, "runaway_replies": 1}
    assistant: RunResult = {**run("m", "failed", 10, 2, 0), "malformed_replies": None, "runaway_replies": None}
    assert aggregate([loop, loop])["malformed_replies"] == 4 and aggregate([loop])["runaway_replies"] == 1
    mixed = aggregate([loop, assistant])
    assert mixed["malformed_replies"] is None and mixed["runaway_replies"] is None
    assert aggregate([assistant])["malformed_replies"] is None
    # A run that did not finish (cancelled) is in no total: the finished ones' is whole.
    cancelled: RunResult = {**assistant, "status": "cancelled"}
    assert aggregate([loop, cancelled])["malformed_replies"] == 2


def test_a_models_rate_says_who_timed_it() -> None:
    def timed(source: str | None, rate: float | None = 50.0) -> RunResult:
        return {**run("m", "passed", 10, 1, 0), "tokens_per_s": rate, "tokens_per_s_source": source}

    assert aggregate([timed("server"), timed("server")])["tokens_per_s_source"] == "server"
    assert aggregate([timed("client"), timed(None, None)])["tokens_per_s_source"] == "client"
    assert aggregate([timed("server"), timed("client")])["tokens_per_s_source"] == "mixed"
    assert aggregate([timed(None, None)])["tokens_per_s_source"] is None


# Figures over repeats


def repeats(model: str, task: str, verdicts: str, time_s: float = 10.0) -> list[RunResult]:
    """One run per character of ``verdicts`` (P passed, F failed), repeats numbered from 1."""
    out = []
    for i, verdict in enumerate(verdicts, 1):
        result = run(model, "passed" if verdict == "P" else "failed", time_s + i, 2, 0, task)
        result["repeat"] = i
        result["prompt_tokens"], result["completion_tokens"] = 100 * i, 10
        out.append(result)
    return out


def test_a_contestant_gets_its_interval_pass_at_k_and_pass_hat_k() -> None:
    # Task t: 5 runs, 2 passed; task u: 3 runs, 3 passed (tests/test_stats.py works these by hand).
    agg = aggregate(repeats("m", "t", "PFPFF") + repeats("m", "u", "PPP"))
    assert agg["success_rate"] == 0.625
    # Wilson of 5/8: centre (0.625 + z²/16) / (1 + z²/8) = 0.865091 / 1.480182 = 0.584449,
    # half z·√(0.625·0.375/8 + z²/256) / 1.480182 = 1.95996 · √0.044303 / 1.480182 = 0.278709.
    assert agg["success_ci"] == {"low": 0.3057, "high": 0.8632}
    assert agg["pass_at_k"] == {"1": 0.7, "2": 0.85, "3": 0.95}
    assert agg["pass_hat_k"] == {"1": 0.7, "2": 0.55, "3": 0.5}
    assert agg["flaky_tasks"] == ["t"]
    # Passed runs' times: t repeats 1 and 3 (11, 13), u repeats 1-3 (11, 12, 13): median 12.
    assert agg["median_passed_time_s"] == 12.0
    low, high = agg["median_passed_time_s_ci"]["low"], agg["median_passed_time_s_ci"]["high"]
    assert 11 <= low <= 12 <= high <= 13
    assert agg["median_passed_prompts"] == 2.0 and agg["median_passed_prompts_ci"] == {"low": 2.0, "high": 2.0}
    # Tokens: 100·repeat + 10 per run: 110, 310 (t) and 110, 210, 310 (u): median 210.
    assert agg["median_passed_tokens"] == 210.0


def test_figures_of_nothing_are_null() -> None:
    agg = aggregate([])
    assert agg["success_ci"] is None and agg["pass_at_k"] is None and agg["pass_hat_k"] is None
    assert agg["median_passed_time_s"] is None and agg["median_passed_time_s_ci"] is None
    assert agg["flaky_tasks"] == []
    # One passed run: a median, but no interval (one value resampled is itself).
    one = aggregate(repeats("m", "t", "P"))
    assert one["median_passed_time_s"] == 11.0 and one["median_passed_time_s_ci"] is None


def test_matrix_cells_carry_their_figures_and_flakiness() -> None:
    matrix = task_matrix(repeats("m", "t", "PFP") + repeats("m", "u", "FFF"))
    assert matrix["t"]["m"]["flaky"] and not matrix["u"]["m"]["flaky"]
    assert matrix["t"]["m"]["pass_at_k"] == {"1": 0.6667, "2": 1.0, "3": 1.0}
    assert matrix["t"]["m"]["pass_hat_k"] == {"1": 0.6667, "2": 0.3333, "3": 0.0}
    assert matrix["u"]["m"]["success_ci"] == {"low": 0.0, "high": 0.5615}


def test_paired_comparisons_and_the_leaderboards_ties() -> None:
    results = (
        repeats("always", "t", "P" * 20)
        + repeats("never", "t", "F" * 20)
        + repeats("mostly", "t", "PPPPPPPPPFPPPPPPPPPF")
    )
    paired = paired_comparisons(results)
    by_pair = {(p["a"], p["b"]): p for p in paired}
    assert set(by_pair) == {("always", "mostly"), ("always", "never"), ("mostly", "never")}
    # always vs mostly: 2 cells only always passed: p = 2 · (½)² = 0.5, tied; 2:0 at 20 repeats scaled up
    # first reaches 0 vs 6 (p = 0.031) at 55 repeats (2·55/20 = 5.5, rounded to 6).
    assert by_pair[("always", "mostly")] == {
        "a": "always",
        "b": "mostly",
        "shared": 20,
        "a_only": 2,
        "b_only": 0,
        "p_value": 0.5,
        "significant": False,
        "repeats_to_separate": 55,
    }
    assert by_pair[("always", "never")]["significant"]
    assert by_pair[("always", "never")]["repeats_to_separate"] == 20
    ranked = rank(aggregate_by_model(results), paired)
    board = ranked["leaderboard"]
    assert [(e["model"], e["tied_with"]) for e in board] == [
        ("always", ["mostly"]),
        ("mostly", ["always"]),
        ("never", []),
    ]
    assert tie_text(board[1], board) == "tied with #1"
    assert tie_text(board[2], board) == ""
    assert first_place_tie(board) == ["always", "mostly"]
    assert [p["a"] + "/" + p["b"] for p in separable_pairs(paired)] == ["always/mostly"]
    # Without the paired comparisons the ties are not judged: null, never an empty "no tie".
    assert leaderboard(aggregate_by_model(results))[0]["tied_with"] is None


def test_cells_run_by_one_contestant_only_are_not_compared() -> None:
    paired = paired_comparisons(repeats("a", "t", "PP") + repeats("b", "u", "FF"), models=["c"])
    assert [(p["a"], p["b"], p["shared"], p["significant"]) for p in paired] == [
        ("a", "b", 0, False),
        ("a", "c", 0, False),
        ("b", "c", 0, False),
    ]


def test_a_podium_first_place_is_a_tie_when_the_median_intervals_overlap() -> None:
    fast = repeats("fast", "t", "PPPPPPPPPP", time_s=1.0)  # times 2..11
    slow = repeats("slow", "t", "PPPPPPPPPP", time_s=100.0)  # times 101..110
    close = repeats("close", "t", "PPPPPPPPPP", time_s=2.0)  # times 3..12
    ranked = rank(aggregate_by_model(fast + slow + close))
    fastest = ranked["fastest"]
    assert [e["model"] for e in fastest] == ["fast", "close", "slow"]
    assert fastest[0]["tied_with"] == ["close"]
    assert fastest[2]["tied_with"] == []
    assert first_place_tie(fastest) == ["fast", "close"]
    apart = rank(aggregate_by_model(fast + slow))["fastest"]
    assert first_place_tie(apart) == []


def test_planned_precision_and_the_temperature_zero_note() -> None:
    plan = planned_precision(tasks=3, repeats=20)
    # Wilson half width at p = ½, n = 60: z·√(0.25/60 + z²/14400) / (1 + z²/60) = 1.95996 · √0.0044334 /
    # 1.064024 = 1.95996 · 0.066584 / 1.064024 = 0.1226; n = 20: 0.2007 (tests/test_stats.py works it).
    assert plan == {"tasks": 3, "repeats": 20, "contestant_half_width": 0.1226, "task_half_width": 0.2007}
    assert precision_text(3, 20).startswith("20 repeats × 3 tasks: each contestant's success rate to within ±12")
    assert planned_precision(0, 5)["contestant_half_width"] is None
    # One run: "1 run", and the widest interval one run can give (0/1: 0–79 %), not the one at 50 %.
    assert (
        precision_text(1, 1)
        == "1 repeat × 1 task: each contestant's success rate to within ±40 points (1 run, 95 %, at worst)"
    )
    zero = zero_temperature({"a": {"temperature": 0.0}, "b": {"temperature": 0.7}, "c": {}})
    assert zero == ["a"]
    assert determinism_text(zero, 1, 3) is None
    assert determinism_text([], 5, 3) is None
    assert "a): the repeats measure determinism, not skill" in (determinism_text(zero, 5, 3) or "")
    assert "every contestant" in (determinism_text(["a", "b"], 5, 2) or "")


def test_tied_models_share_their_place_and_a_tie_for_first_is_two_firsts() -> None:
    """With no pass at all the rows are in the order of their failed runs' time, but nothing tells them apart:
    both are first (=1), never a #1 and a #2 "tied with #1"."""
    results = repeats("slow", "t", "FF", time_s=20.0) + repeats("quick", "t", "FF", time_s=1.0)
    board = rank(aggregate_by_model(results), paired_comparisons(results))["leaderboard"]
    assert [(e["model"], e["rank"], e["place"]) for e in board] == [("quick", 1, 1), ("slow", 2, 1)]
    assert [place_text(e, board) for e in board] == ["=1", "=1"]
    assert first_place_tie(board) == ["quick", "slow"] and tie_text(board[1], board) == "tied with #1"


def test_a_place_counts_the_models_above_that_are_told_apart_from_it() -> None:
    """a–b and b–c not told apart, a–c apart: a and b share first, c is second (only a is shown better), and
    c is no part of the tie for first although it is tied with b."""
    aggregates = {m: {"success_rate": r, "passed": 1} for m, r in (("a", 0.9), ("b", 0.6), ("c", 0.3))}
    paired = [
        {"a": "a", "b": "b", "significant": False},
        {"a": "a", "b": "c", "significant": True},
        {"a": "b", "b": "c", "significant": False},
    ]
    board = leaderboard(aggregates, paired)
    assert [(e["model"], e["place"], place_text(e, board)) for e in board] == [
        ("a", 1, "=1"),
        ("b", 1, "=1"),
        ("c", 2, "2"),
    ]
    assert first_place_tie(board) == ["a", "b"]
    assert tie_text(board[2], board) == "tied with #1"
    # Not judged (no paired comparisons): every place is its rank.
    assert [place_text(e, leaderboard(aggregates)) for e in leaderboard(aggregates)] == ["1", "2", "3"]
