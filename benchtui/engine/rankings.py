"""Rankings: fastest, most efficient, most autonomous, and the leaderboard.

Computed from per-model aggregates (metrics.aggregate) over passed runs only: a model that never
passed cannot be the fastest. Equal values are ordered by the next criterion, then by model name, so the
order is stable and reports rebuild byte-identical.

An order is not a difference, though: each entry also says which others it cannot be told apart from
(``tied_with``). On the leaderboard, from the paired comparisons (``metrics.paired_comparisons``, McNemar's
exact test over the shared (task, repeat) cells); on a podium, from the 95 % bootstrap intervals of the
medians of that podium's figure: two entries whose intervals overlap, or either of which has no interval
(fewer than two passed runs), are tied.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from typing import Any

RANKINGS = {
    "fastest": ("🏆", "Fastest", "mean_passed_time_s", "s"),
    "most_efficient": ("💬", "Most efficient", "mean_passed_prompts", "prompts"),
    "most_autonomous": ("🤖", "Most autonomous", "mean_passed_interventions", "interventions"),
}


#: The aggregate key of each podium's interval (of the median of passed runs' figure).
PODIUM_INTERVALS = {
    "fastest": "median_passed_time_s_ci",
    "most_efficient": "median_passed_prompts_ci",
    "most_autonomous": "median_passed_interventions_ci",
}


def _value(aggregate: dict[str, Any], key: str) -> float:
    value = aggregate.get(key)
    return float(value) if isinstance(value, int | float) else math.inf


def _overlap(a: Any, b: Any) -> bool:
    if not isinstance(a, dict) or not isinstance(b, dict):
        return True  # no interval: nothing tells the two apart
    return bool(a["low"] <= b["high"] and b["low"] <= a["high"])


def rank(
    aggregates: dict[str, dict[str, Any]], paired: Sequence[dict[str, Any]] | None = None
) -> dict[str, list[dict[str, Any]]]:
    """Each ranking as an ordered list of {rank, model, value, tied_with}; models without a passed run are
    left out. ``paired``: ``metrics.paired_comparisons`` of the same runs, for the leaderboard's ties."""
    rankings: dict[str, list[dict[str, Any]]] = {}
    contenders = {model: agg for model, agg in aggregates.items() if agg.get("passed")}
    for name, (_icon, _title, key, _unit) in RANKINGS.items():
        order = sorted(
            contenders,
            key=lambda m: (
                _value(contenders[m], key),
                -(contenders[m].get("success_rate") or 0),
                _value(contenders[m], "mean_passed_time_s"),
                m,
            ),
        )
        ci = PODIUM_INTERVALS[name]
        rankings[name] = [
            {
                "rank": i + 1,
                "model": model,
                "value": contenders[model].get(key),
                "tied_with": [
                    other
                    for other in order
                    if other != model and _overlap(contenders[model].get(ci), contenders[other].get(ci))
                ],
            }
            for i, model in enumerate(order)
        ]
    rankings["leaderboard"] = leaderboard(aggregates, paired)
    return rankings


def leaderboard(
    aggregates: dict[str, dict[str, Any]], paired: Sequence[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """All models by success rate (highest first), then mean time of passed runs, then name.

    ``tied_with``: the models, in leaderboard order, whose paired difference from this one is not
    significant; None when no paired comparison was given (not judged)."""
    order = sorted(
        aggregates,
        key=lambda m: (
            -(aggregates[m].get("success_rate") or 0),
            _value(aggregates[m], "mean_passed_time_s"),
            _value(aggregates[m], "mean_time_s"),
            m,
        ),
    )
    apart: set[frozenset[str]] | None = None
    if paired is not None:
        apart = {frozenset((p["a"], p["b"])) for p in paired if p.get("significant")}
    return [
        {
            "rank": i + 1,
            "model": model,
            "success_rate": aggregates[model].get("success_rate"),
            "mean_passed_time_s": aggregates[model].get("mean_passed_time_s"),
            "tied_with": None
            if apart is None
            else [other for other in order if other != model and frozenset((model, other)) not in apart],
            # 1 + the models above it that it is told apart from (Chatbot Arena's rule): tied models share a
            # place, so a tie for first is shown as two firsts, never as a #1 and a #2.
            "place": i + 1 if apart is None else 1 + sum(frozenset((model, o)) in apart for o in order[:i]),
        }
        for i, model in enumerate(order)
    ]


#: What orders the leaderboard's rows, tied ones included (said wherever ties share a place).
LEADERBOARD_ORDER = "success rate, then mean time of passed runs, then of all runs"


def place_text(entry: dict[str, Any], entries: Iterable[dict[str, Any]]) -> str:
    """A leaderboard entry's place as every view shows it: ``1``, or ``=1`` when another entry shares it.
    Entries without a place (a podium's, a report written before places) show their rank."""
    place = entry.get("place", entry.get("rank"))
    shared = sum(1 for e in entries if e.get("place", e.get("rank")) == place) > 1
    return f"={place}" if shared else str(place)


def tie_text(entry: dict[str, Any], entries: Iterable[dict[str, Any]]) -> str:
    """``tied with #1, #3`` for an entry of a ranking: the places (as shown: ``place``, else ``rank``) of the
    entries it cannot be told apart from, each once; "" when it is told apart from all of them (or ties
    were not judged)."""
    tied = set(entry.get("tied_with") or ())
    places = [f"#{e.get('place', e['rank'])}" for e in entries if e.get("model") in tied]
    return f"tied with {', '.join(dict.fromkeys(places))}" if places else ""


def first_place_tie(entries: Sequence[dict[str, Any]]) -> list[str]:
    """The models sharing first place of a ranking; [] when the first is told apart from every other, or
    there is no first. On the leaderboard, the entries at place 1 (one tied with the first but told apart
    from another above it is not first); on a podium, the first and those it is tied with."""
    if not entries:
        return []
    if "place" in entries[0]:
        first = [str(e["model"]) for e in entries if e.get("place") == 1]
        return first if len(first) > 1 else []
    if not entries[0].get("tied_with"):
        return []
    return [str(entries[0]["model"]), *(str(m) for m in entries[0]["tied_with"])]


def separable_pairs(paired: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """The tied pairs that more repeats could still separate (the difference seen held), fewest repeats first."""
    open_pairs = [p for p in paired if not p.get("significant") and p.get("repeats_to_separate") is not None]
    return sorted(open_pairs, key=lambda p: (p["repeats_to_separate"], p["a"], p["b"]))
