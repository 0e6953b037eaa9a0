"""Rankings: fastest, most efficient, most autonomous, and the leaderboard.

Computed from per-model aggregates (metrics.aggregate) over passed runs only: a model that never
passed cannot be the fastest. Ties are broken by the next criterion, then by model name, so the order
is stable and reports rebuild byte-identical.
"""

from __future__ import annotations

import math
from typing import Any

RANKINGS = {
    "fastest": ("🏆", "Fastest", "mean_passed_time_s", "s"),
    "most_efficient": ("💬", "Most efficient", "mean_passed_prompts", "prompts"),
    "most_autonomous": ("🤖", "Most autonomous", "mean_passed_interventions", "interventions"),
}


def _value(aggregate: dict[str, Any], key: str) -> float:
    value = aggregate.get(key)
    return float(value) if isinstance(value, int | float) else math.inf


def rank(aggregates: dict[str, dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    """Each ranking as an ordered list of {rank, model, value}; models without a passed run are left out."""
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
        rankings[name] = [
            {"rank": i + 1, "model": model, "value": contenders[model].get(key)} for i, model in enumerate(order)
        ]
    rankings["leaderboard"] = leaderboard(aggregates)
    return rankings


def leaderboard(aggregates: dict[str, dict[str, Any]]) -> list[dict[str, Any]]:
    """All models by success rate (highest first), then mean time of passed runs, then name."""
    order = sorted(
        aggregates,
        key=lambda m: (
            -(aggregates[m].get("success_rate") or 0),
            _value(aggregates[m], "mean_passed_time_s"),
            _value(aggregates[m], "mean_time_s"),
            m,
        ),
    )
    return [
        {
            "rank": i + 1,
            "model": model,
            "success_rate": aggregates[model].get("success_rate"),
            "mean_passed_time_s": aggregates[model].get("mean_passed_time_s"),
        }
        for i, model in enumerate(order)
    ]
