"""Per-endpoint figures of the models a pool of endpoints served: the one source for the HTML report's
endpoints table and the headless summary's, so a slow box in a pool is visible (docs/SCALE.md).

Only models whose runs went to more than one endpoint have rows: with one endpoint per model, the
leaderboard already says everything these rows would.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict


class EndpointRow(TypedDict):
    model: str
    endpoint: str
    runs: int
    passed: int
    median_time_s: float | None
    median_tokens_per_s: float | None


def endpoint_rows(runs: Iterable[Mapping[str, Any]]) -> list[EndpointRow]:
    """One row per (model, endpoint) of every model served by several endpoints, in model then endpoint
    order: its runs, how many passed, the median time per run and the median tokens per second (None when
    no run measured one). Runs that reached no endpoint (``endpoint`` null) are left out."""
    by_model: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for run in runs:
        endpoint = run.get("endpoint")
        if isinstance(endpoint, str) and endpoint:
            by_model.setdefault(str(run.get("model")), {}).setdefault(endpoint, []).append(run)
    rows: list[EndpointRow] = []
    for model, endpoints in sorted(by_model.items()):
        if len(endpoints) < 2:
            continue
        for endpoint, served in sorted(endpoints.items()):
            times = [float(r["completion_time_s"]) for r in served if _number(r.get("completion_time_s"))]
            rates = [float(r["tokens_per_s"]) for r in served if _number(r.get("tokens_per_s"))]
            rows.append(
                {
                    "model": model,
                    "endpoint": endpoint,
                    "runs": len(served),
                    "passed": sum(1 for r in served if r.get("status") == "passed"),
                    "median_time_s": statistics.median(times) if times else None,
                    "median_tokens_per_s": statistics.median(rates) if rates else None,
                }
            )
    return rows


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
