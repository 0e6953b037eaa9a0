"""Building a BatchRunner for a new or a resumed batch: shared by the CLI and the TUI."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from benchtui.engine import presets, secrets
from benchtui.engine.assistants import pairs
from benchtui.engine.config import ModelsConfig
from benchtui.engine.discovery import Catalog, select_models
from benchtui.engine.errors import InputError
from benchtui.engine.models import ModelSpec
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import Task, load_tasks, require_runnable


def _manifest_extra(config: ModelsConfig, catalog: Catalog) -> dict[str, Any]:
    return {
        "ollama_version": catalog.ollama_version,
        # The config as written: ${ENV} references stay references; a literal key is redacted.
        "config": {"path": str(config.path) if config.path else None, "text": secrets.redact(config.source_text)},
    }


def new_batch(
    store: ResultsStore,
    config: ModelsConfig,
    catalog: Catalog,
    tasks: Sequence[Task],
    models: Sequence[ModelSpec],
    options: BatchOptions,
) -> BatchRunner:
    """A runner for a new batch; raises InputError for a task this machine cannot run (see runnable_tasks)."""
    require_runnable(tasks)
    tasks = presets.apply(tasks, options.preset)
    return BatchRunner(
        store=store,
        tasks=tasks,
        models=models,
        options=options,
        policy=config.retry,
        manifest_extra=_manifest_extra(config, catalog),
    )


def resume_batch(
    store: ResultsStore, config: ModelsConfig, catalog: Catalog, batch_id: str, parallel: int | None = None
) -> tuple[BatchRunner, list[str]]:
    """A runner that continues ``batch_id``: same tasks, models and options; only unfinished runs run.

    Raises InputError when the batch, one of its task files or one of its models is gone."""
    batch = store.open_batch(batch_id)
    manifest = batch.manifest()
    if batch.running_elsewhere(manifest):
        owner = manifest.get("runner") or {}
        raise InputError(
            f"batch {batch.batch_id} is still running (process {owner.get('pid')}); "
            "stop it first or wait for it to finish"
        )
    saved = manifest.get("options", {})
    tasks = presets.apply(load_tasks([t["path"] for t in manifest.get("tasks", [])]), saved.get("preset"))
    require_runnable(tasks, where=f"batch {batch.batch_id}: ")
    snapshots = manifest.get("models", [])
    notes: list[str] = []

    def find(keys: str) -> list[ModelSpec]:
        found, said = select_models(catalog, keys)
        notes.extend(said)
        return found

    # Assistant pairs (``aider · model``) are found by their model and paired again (assistants/pairs.py).
    models = pairs.resumed(snapshots, find, config.assistants)
    options = BatchOptions(
        parallel=saved.get("parallel") if parallel is None else parallel,
        timeout_s=float(saved.get("timeout_s", 1800.0)),
        repeats=int(saved.get("repeats", 1)),
        embedded_threads=config.embedded_threads,
        preset=saved.get("preset"),
    )
    runner = BatchRunner(
        store=store,
        tasks=tasks,
        models=models,
        options=options,
        batch=batch,
        policy=config.retry,
        manifest_extra=_manifest_extra(config, catalog),
    )
    return runner, notes
