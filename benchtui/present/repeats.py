"""What a leaderboard's order cannot say on its own, in lines for the headless summary: a tie for first
place, the ties between ranks, the flaky tasks, and the pairs more repeats could separate.

The figures are the engine's (``metrics.aggregate``, ``metrics.paired_comparisons``, ``rankings.rank``);
this module only words them.
"""

from __future__ import annotations

from typing import Any

from rich.text import Text

from benchtui.engine import rankings


def repeat_notes(
    aggregates: dict[str, dict[str, Any]], ranked: dict[str, list[dict[str, Any]]], paired: list[dict[str, Any]]
) -> list[Text]:
    """What the order cannot say on its own: the ties, the flaky tasks, the pairs more repeats could separate."""
    notes: list[Text] = []
    board = ranked["leaderboard"]
    first = rankings.first_place_tie(board)
    if first:
        notes.append(
            Text(
                f"First place is a tie: {', '.join(first)} (all =1; listed by {rankings.LEADERBOARD_ORDER})",
                style="yellow",
            )
        )
    ties = []
    for entry in board:
        above = [e["model"] for e in board if e["rank"] < entry["rank"] and e["model"] in (entry["tied_with"] or ())]
        if above:
            # By name: tied entries share a place, so "#1" could be any of them.
            ties.append(f"{rankings.place_text(entry, board)} {entry['model']} tied with {', '.join(above)}")
    if ties:
        notes.append(
            Text("Tied (McNemar's exact test over the shared runs, p ≥ 0.05): " + " · ".join(ties), style="dim")
        )
    flaky = [f"{model}: {', '.join(agg['flaky_tasks'])}" for model, agg in aggregates.items() if agg["flaky_tasks"]]
    if flaky:
        notes.append(Text("Flaky tasks (verdict differs across repeats): " + " · ".join(flaky), style="dim"))
    separable = [
        f"{p['a']} vs {p['b']}: about {p['repeats_to_separate']} repeats" for p in rankings.separable_pairs(paired)
    ]
    if separable:
        notes.append(Text("More repeats could separate: " + " · ".join(separable), style="dim"))
    return notes
