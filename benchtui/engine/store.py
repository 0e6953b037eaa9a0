"""Batch folders: the manifest, one crash-safe file per finished run, per-model results, history.

Layout of ``<results>/batch_YYYYMMDD_HHMMSS/``:
``batch.json`` (manifest), ``runs/<model>/<task>__r<N>.json`` (one per finished run, the journal that
resume trusts), ``<model>_result.json`` (all of a model's runs, rewritten as runs finish), and the
comparison reports. Every file is written atomically; a torn, empty or foreign run file is treated as
not done (the run is redone), never as a crash.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from benchtui.engine import atomic
from benchtui.engine.errors import InputError
from benchtui.engine.procs import process_alive
from benchtui.engine.results import FINISHED_STATUSES, RunResult, result_run_id

SCHEMA_VERSION = 1
MANIFEST = "batch.json"
STAGING_PREFIX = ".new-batch-"
RUNS_DIR = "runs"
MODEL_FILE_SUFFIX = "_result.json"
_MODEL_FILE_INTERVAL_S = 2.0
# A model's file is rewritten whole, so each rewrite costs more as the batch grows: waiting at least this
# many times as long as the last rewrite took keeps rewrites under ~5 % of the time at any batch size.
_MODEL_FILE_BACKOFF = 20
log = logging.getLogger(__name__)


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass(frozen=True)
class BatchInfo:
    """A line of the history: one past or running batch."""

    batch_id: str
    path: Path
    created_at: str
    status: str
    tasks: tuple[str, ...]
    models: tuple[str, ...]
    planned: int
    finished: int
    passed: int
    alive: bool = False
    """True while the process running the batch is still alive (on this host): do not resume it."""


class ResultsStore:
    """The results folder that holds every batch."""

    def __init__(self, root: Path) -> None:
        self.root = root

    def create_batch(self, manifest: dict[str, Any]) -> Batch:
        """A new batch folder with a unique id (two batches in the same second get ``_2``, ``_3``...).

        The folder appears with its manifest already in it: it is built under a staging name and renamed
        into place, so a kill at any moment leaves either no batch or one that can be resumed."""
        self.root.mkdir(parents=True, exist_ok=True)
        self._remove_dead_staging()
        stamp = datetime.now().strftime("batch_%Y%m%d_%H%M%S")
        staging = self.root / f"{STAGING_PREFIX}{os.getpid()}-{threading.get_ident()}"
        staging.mkdir()
        try:
            for n in range(1, 1000):
                batch_id = stamp if n == 1 else f"{stamp}_{n}"
                if (self.root / batch_id).exists():
                    continue
                Batch(staging).write_manifest(
                    {
                        "schema": SCHEMA_VERSION,
                        "batch_id": batch_id,
                        "created_at": _now_iso(),
                        "status": "running",
                        **manifest,
                    }
                )
                try:
                    # Fails on a folder that is not empty: another process took this id meanwhile.
                    staging.rename(self.root / batch_id)
                except OSError:
                    continue
                atomic.fsync_dir(self.root)
                return Batch(self.root / batch_id)
            raise RuntimeError("could not find a free batch id")
        finally:
            if staging.exists():
                shutil.rmtree(staging, ignore_errors=True)

    def _remove_dead_staging(self) -> None:
        """Staging folders of processes killed while creating a batch."""
        for path in self.root.glob(f"{STAGING_PREFIX}*"):
            pid = path.name.removeprefix(STAGING_PREFIX).split("-")[0]
            if pid.isdigit() and not process_alive(int(pid)):
                shutil.rmtree(path, ignore_errors=True)

    def open_batch(self, batch_id: str) -> Batch:
        candidate = Path(batch_id)
        path = (
            candidate
            if candidate.is_absolute() or (candidate.exists() and (candidate / MANIFEST).exists())
            else self.root / batch_id
        )
        if not (path / MANIFEST).is_file():
            raise InputError(f"no batch {batch_id!r} in {self.root} (see the history: benchtui history)")
        return Batch(path)

    def list_batches(self) -> list[BatchInfo]:
        """Every batch in the folder, newest first; unreadable ones are skipped with a log line."""
        if not self.root.is_dir():
            return []
        infos = []
        for path in sorted(self.root.iterdir(), reverse=True):
            if not (path / MANIFEST).is_file():
                continue
            try:
                infos.append(Batch(path).info())
            except (OSError, ValueError, KeyError) as exc:
                log.warning("skipping unreadable batch %s: %s", path.name, exc)
        return infos


class Batch:
    """One batch folder."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.batch_id = path.name
        self._lock = threading.Lock()
        self._runs_by_model: dict[str, dict[str, RunResult]] = {}
        self._model_snapshots: dict[str, dict[str, Any]] = {}
        self._model_file_written: dict[str, float] = {}
        self._model_file_cost: dict[str, float] = {}
        self._model_file_locks: dict[str, threading.Lock] = {}
        self._dirty_models: set[str] = set()

    # The manifest

    @property
    def manifest_path(self) -> Path:
        return self.path / MANIFEST

    def manifest(self) -> dict[str, Any]:
        data = json.loads(self.manifest_path.read_text(encoding="utf-8"))
        if not isinstance(data, dict):
            raise ValueError("batch.json is not an object")
        return data

    def write_manifest(self, data: dict[str, Any]) -> None:
        data["updated_at"] = _now_iso()
        atomic.write_json(self.manifest_path, data)

    def update_manifest(self, **changes: Any) -> dict[str, Any]:
        with self._lock:
            data = self.manifest()
            data.update(changes)
            self.write_manifest(data)
            return data

    def record_endpoint_out(self, model: str, endpoint: str, reason: str) -> None:
        """Note in the manifest (``endpoints_out``: model key -> endpoint label -> reason) that ``endpoint``
        was taken out of ``model``'s pool, so the report shows it; written at once, not at the batch's end."""
        with self._lock:
            data = self.manifest()
            out = data.get("endpoints_out")
            out = out if isinstance(out, dict) else {}
            out.setdefault(model, {})[endpoint] = reason
            data["endpoints_out"] = out
            self.write_manifest(data)

    def info(self) -> BatchInfo:
        data = self.manifest()
        progress = data.get("progress") or {}
        return BatchInfo(
            batch_id=str(data.get("batch_id", self.batch_id)),
            path=self.path,
            created_at=str(data.get("created_at", "")),
            status=str(data.get("status", "unknown")),
            tasks=tuple(t.get("id", "?") for t in data.get("tasks", [])),
            models=tuple(m.get("key", "?") for m in data.get("models", [])),
            planned=int(progress.get("planned", data.get("runs_planned", 0)) or 0),
            finished=int(progress.get("finished", 0) or 0),
            passed=int(progress.get("passed", 0) or 0),
            alive=self.running_elsewhere(data),
        )

    def running_elsewhere(self, data: dict[str, Any] | None = None) -> bool:
        """Whether another live process on this host is running this batch right now."""
        data = data if data is not None else self.manifest()
        owner = data.get("runner") or {}
        if data.get("status") != "running" or owner.get("host") != socket.gethostname():
            return False
        pid = owner.get("pid")
        return isinstance(pid, int) and pid != os.getpid() and process_alive(pid)

    # Runs

    def clean_stale(self) -> None:
        removed = atomic.remove_stale_temps(self.path)
        if removed:
            log.info("removed %d temp file(s) left by an interrupted write in %s", removed, self.batch_id)

    def run_file(self, model_stem: str, task_id: str, repeat: int) -> Path:
        return self.path / RUNS_DIR / model_stem / f"{task_id}__r{repeat}.json"

    def model_file(self, model_stem: str) -> Path:
        return self.path / f"{model_stem}{MODEL_FILE_SUFFIX}"

    def record_run(
        self, model_snapshot: dict[str, Any], model_stem: str, result: RunResult, transcript: list[dict[str, Any]]
    ) -> RunResult:
        """Persist a finished run (its own file first, then its model's file); returns the stored result."""
        run_path = self.run_file(model_stem, str(result["task_id"]), int(result["repeat"]))
        stored = result.copy()
        stored["transcript_file"] = run_path.relative_to(self.path).as_posix()
        atomic.write_json(
            run_path, {"schema": SCHEMA_VERSION, "model": model_snapshot, "result": stored, "transcript": transcript}
        )
        with self._lock:
            self._model_snapshots[model_stem] = model_snapshot
            self._runs_by_model.setdefault(model_stem, {})[result_run_id(stored)] = stored
            self._dirty_models.add(model_stem)
            interval = max(_MODEL_FILE_INTERVAL_S, _MODEL_FILE_BACKOFF * self._model_file_cost.get(model_stem, 0.0))
            due = time.monotonic() - self._model_file_written.get(model_stem, 0.0) >= interval
        if due:
            self.flush_model_file(model_stem)
        return stored

    def flush_model_file(self, model_stem: str) -> None:
        """Rewrite the model's file from memory. The file's own lock keeps its writes in order; the
        batch's lock is held only to take the snapshot, so other runs are recorded meanwhile."""
        with self._lock:
            file_lock = self._model_file_locks.setdefault(model_stem, threading.Lock())
        with file_lock:
            with self._lock:
                if model_stem not in self._dirty_models:
                    return
                runs = sorted(
                    self._runs_by_model.get(model_stem, {}).values(),
                    key=lambda r: (str(r["task_id"]), int(r["repeat"])),
                )
                payload = {
                    "schema": SCHEMA_VERSION,
                    "batch_id": self.batch_id,
                    "model": self._model_snapshots[model_stem],
                    "runs": runs,
                }
                self._dirty_models.discard(model_stem)
                self._model_file_written[model_stem] = time.monotonic()
            started = time.monotonic()
            atomic.write_json(self.model_file(model_stem), payload)
            self._model_file_cost[model_stem] = time.monotonic() - started

    def flush(self) -> None:
        for stem in list(self._dirty_models):
            self.flush_model_file(stem)

    def load_run_files(self, covered: dict[str, int] | None = None) -> dict[str, tuple[dict[str, Any], RunResult]]:
        """run id -> (model snapshot, result) for every readable, finished run file.

        Torn, empty or foreign files are skipped (and so redone), with a log line. ``covered`` maps a run
        file's relative path to the mtime (ns) of a model file that holds its result: a run file older
        than that model file is not read (see ``load_results``)."""
        found: dict[str, tuple[dict[str, Any], RunResult]] = {}
        runs_dir = self.path / RUNS_DIR
        if not runs_dir.is_dir():
            return found
        for path in sorted(runs_dir.glob("*/*.json")):
            if covered:
                written = covered.get(path.relative_to(self.path).as_posix())
                try:
                    if written is not None and path.stat().st_mtime_ns < written:
                        continue
                except OSError:
                    pass
            try:
                data = json.loads(path.read_text(encoding="utf-8"))
                result, model = data["result"], data["model"]
                if data.get("schema") != SCHEMA_VERSION or result.get("status") not in FINISHED_STATUSES:
                    raise ValueError("not a finished benchtui run")
                found[result_run_id(result)] = (model, result)
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning(
                    "ignoring unreadable run file %s (%s); that run will be redone", path.relative_to(self.path), exc
                )
        return found

    def adopt(self, model_stem: str, model_snapshot: dict[str, Any], result: RunResult) -> None:
        """Keep an already finished run (on resume) so the model's file lists it again."""
        with self._lock:
            self._model_snapshots[model_stem] = model_snapshot
            self._runs_by_model.setdefault(model_stem, {})[result_run_id(result)] = result
            self._dirty_models.add(model_stem)

    def load_results(self) -> tuple[dict[str, dict[str, Any]], list[RunResult]]:
        """(model key -> snapshot, every finished run) from the per-model files, completed by the run files.

        A run file wins over its model file's copy, except that a run file older than a model file that
        holds its result is not even read: the model file was written later, from the same result
        (record_run writes the run file first, then the model file from memory). On a 10,000-run batch
        that skips parsing 10,000 transcripts."""
        models: dict[str, dict[str, Any]] = {}
        runs: dict[str, RunResult] = {}
        covered: dict[str, int] = {}
        for path in sorted(self.path.glob(f"*{MODEL_FILE_SUFFIX}")):
            try:
                written = path.stat().st_mtime_ns
                data = json.loads(path.read_text(encoding="utf-8"))
                model = data["model"]
                models[str(model["key"])] = model
                for result in data["runs"]:
                    if result.get("status") in FINISHED_STATUSES:
                        runs[result_run_id(result)] = result
                        if isinstance(result.get("transcript_file"), str):
                            covered[result["transcript_file"]] = written
            except (OSError, ValueError, KeyError, TypeError, AttributeError) as exc:
                log.warning("ignoring unreadable result file %s (%s)", path.name, exc)
        for rid, (model, result) in self.load_run_files(covered).items():
            models.setdefault(str(model["key"]), model)
            runs[rid] = result
        ordered = sorted(runs.values(), key=lambda r: (str(r["model"]), str(r["task_id"]), int(r["repeat"])))
        return models, ordered

    def load_transcript(self, result: Mapping[str, Any]) -> list[dict[str, Any]]:
        relative = result.get("transcript_file")
        if not relative:
            return []
        try:
            data = json.loads((self.path / str(relative)).read_text(encoding="utf-8"))
            transcript = data.get("transcript", [])
            return transcript if isinstance(transcript, list) else []
        except (OSError, ValueError, AttributeError):
            return []


def owner_stamp() -> dict[str, Any]:
    """Who runs a batch: recorded while it runs so nobody resumes it twice at once."""
    return {"pid": os.getpid(), "host": socket.gethostname()}
