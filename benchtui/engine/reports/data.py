"""The report data model: one dict every report format renders, built from the batch folder alone."""

from __future__ import annotations

from typing import Any

from benchtui.engine import metrics, rankings
from benchtui.engine.reports.endpoints import endpoint_rows
from benchtui.engine.store import Batch


def build_report_data(batch: Batch) -> dict[str, Any]:
    """Manifest, models, runs, per-model aggregates, rankings, paired comparisons, the task × model matrix,
    environment."""
    manifest = batch.manifest()
    models, runs = batch.load_results()
    for snapshot in manifest.get("models", []):
        models.setdefault(str(snapshot.get("key")), snapshot)
    aggregates = metrics.aggregate_by_model(runs)
    for key in models:
        aggregates.setdefault(key, metrics.aggregate([]))
    aggregates = dict(sorted(aggregates.items()))
    paired = metrics.paired_comparisons(runs, models)
    options = manifest.get("options", {})
    repeats = int(options.get("repeats") or 1)
    zero = metrics.zero_temperature({key: snap.get("settings") or {} for key, snap in models.items()})
    return {
        "schema": 1,
        "batch": {
            "batch_id": manifest.get("batch_id", batch.batch_id),
            "created_at": manifest.get("created_at"),
            "status": manifest.get("status"),
            "tasks": manifest.get("tasks", []),
            "options": manifest.get("options", {}),
            "runs_planned": manifest.get("runs_planned"),
            "benchtui_version": manifest.get("benchtui_version"),
            "prompt_version": manifest.get("prompt_version"),
            "planned_precision": metrics.planned_precision(len(manifest.get("tasks", [])), repeats),
            "determinism": metrics.determinism_text(zero, repeats, len(models)),
        },
        "environment": manifest.get("environment", {}),
        "models": dict(sorted(models.items())),
        "aggregates": aggregates,
        "rankings": rankings.rank(aggregates, paired),
        "paired": paired,
        "task_matrix": metrics.task_matrix(runs),
        "runs": runs,
        # Each endpoint of a pool (models served by several), those taken out or unused too: empty when
        # every model had one.
        "endpoints": endpoint_rows(runs, models, manifest.get("endpoints_out")),
    }
