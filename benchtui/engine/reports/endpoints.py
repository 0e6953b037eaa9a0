"""Per-endpoint figures of the models a pool of endpoints served: the one source for the HTML report's
endpoints table and the headless summary's, so a slow box in a pool is visible (docs/SCALE.md).

Only pooled models have rows: a model whose runs went to more than one endpoint, whose snapshot lists a
pool (``endpoints``, docs/SCALE.md) or that had an endpoint taken out of its pool during the batch (the
manifest's ``endpoints_out``). Every endpoint of such a pool has its row, one that served nothing too
(0 runs), so a dead box shows. With one endpoint per model, the leaderboard already says everything these
rows would.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from typing import Any, TypedDict

from benchtui.engine.models import endpoint_label_of


class EndpointRow(TypedDict):
    model: str
    endpoint: str
    runs: int
    passed: int
    median_time_s: float | None
    median_tokens_per_s: float | None
    # Why the endpoint was taken out of the model's pool during the batch ("unreachable: ..."); None if not.
    out: str | None


def endpoint_rows(
    runs: Iterable[Mapping[str, Any]],
    models: Mapping[str, Mapping[str, Any]] | None = None,
    endpoints_out: Mapping[str, Mapping[str, str]] | None = None,
) -> list[EndpointRow]:
    """One row per (model, endpoint) of every pooled model, in model order, then the pool's order (endpoints
    no snapshot lists after, sorted): its runs, how many passed, the median time per run, the median tokens
    per second (None when no run measured one) and why it was taken out of the pool (None when it was not).
    ``models``: the batch's model snapshots by key; ``endpoints_out``: the manifest's ``endpoints_out``
    (model key -> endpoint label -> reason). Runs that reached no endpoint (``endpoint`` null) are left out."""
    by_model: dict[str, dict[str, list[Mapping[str, Any]]]] = {}
    for run in runs:
        endpoint = run.get("endpoint")
        if isinstance(endpoint, str) and endpoint:
            by_model.setdefault(str(run.get("model")), {}).setdefault(endpoint, []).append(run)
    out = {str(k): dict(v) for k, v in (endpoints_out or {}).items() if isinstance(v, Mapping)}
    pools: dict[str, list[str]] = {}
    for key, snapshot in (models or {}).items():
        listed = snapshot.get("endpoints") if isinstance(snapshot, Mapping) else None
        if isinstance(listed, list):
            labels = [endpoint_label_of(str(e.get("base_url"))) for e in listed if isinstance(e, Mapping)]
            if len(labels) > 1:
                pools[str(key)] = list(dict.fromkeys(labels))
    rows: list[EndpointRow] = []
    for model in sorted(set(by_model) | set(pools) | set(out)):
        served = by_model.get(model, {})
        pool = pools.get(model, [])
        if len(served) < 2 and not pool and not out.get(model):
            continue
        order = pool + sorted((set(served) | set(out.get(model, {}))) - set(pool))
        for endpoint in order:
            mine = served.get(endpoint, [])
            times = [float(r["completion_time_s"]) for r in mine if _number(r.get("completion_time_s"))]
            rates = [float(r["tokens_per_s"]) for r in mine if _number(r.get("tokens_per_s"))]
            reason = out.get(model, {}).get(endpoint)
            rows.append(
                {
                    "model": model,
                    "endpoint": endpoint,
                    "runs": len(mine),
                    "passed": sum(1 for r in mine if r.get("status") == "passed"),
                    "median_time_s": statistics.median(times) if times else None,
                    "median_tokens_per_s": statistics.median(rates) if rates else None,
                    "out": str(reason) if reason is not None else None,
                }
            )
    return rows


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)
