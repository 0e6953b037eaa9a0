"""Executors: where one (task, model, repeat) run is played, for the runner's worker threads.

The runner plans, queues runs per endpoint, holds each endpoint's limits and alone writes the batch folder;
an executor only plays the run it is handed and returns its result and transcript. ``local`` plays it in
this process (the default); ``ray`` sends it to a Ray cluster as one task and waits for it, so the driver's
threads, limits, events and writes stay exactly as they are. Ray is imported only by ``ray.py``, and only
when that executor is chosen.
"""

from __future__ import annotations

import importlib.util
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from benchtui.engine.contestants.base import Contestant, ProgressCallback, RunControl, Transcript
from benchtui.engine.errors import InputError
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.base import Provider, RetryPolicy
from benchtui.engine.results import RunResult
from benchtui.engine.tasks import Task

EXECUTORS = ("local", "ray")
RAY_MISSING = "--executor ray needs Ray, which is not installed: pip install 'benchtui[ray]'"

_RAY_MODULE = "ray"  # tests name a module that does not exist, to see benchtui without Ray

LogFn = Callable[..., None]
"""The runner's log: ``log(text, level="info", run_id=None)``, to the logger and the batch's views."""


@dataclass(frozen=True)
class RunJob:
    """One run as the runner hands it over. ``provider`` builds (once per model) the driver's provider, for
    an executor that plays the run here; ``base_url`` says where a remote worker sends the model's requests
    (an embedded server's URL on the driver; None: the spec's own), with ``policy`` its retry policy."""

    run_id: str
    task: Task
    model: ModelSpec
    repeat: int
    timeout_s: float
    contestant: Contestant
    control: RunControl
    on_progress: ProgressCallback
    check_slots: threading.Semaphore | None
    request_slots: threading.Semaphore | None
    provider: Callable[[], Provider]
    base_url: Callable[[], str | None]
    policy: RetryPolicy | None = None


class Executor(Protocol):
    """Plays runs for a runner: ``start`` once before the first, ``execute`` from several threads at once,
    ``close`` once at the end. ``execute`` returns (the result with every key, the transcript) and raises
    only what the runner already turns into an error result (a ProviderError, a bug)."""

    name: str

    def start(self, log: LogFn) -> None: ...

    def execute(self, job: RunJob) -> tuple[RunResult, Transcript]: ...

    def close(self) -> None: ...


def ray_installed() -> bool:
    """Whether Ray can be imported, found without importing it (it takes seconds and starts threads)."""
    return importlib.util.find_spec(_RAY_MODULE) is not None


def make_executor(name: str, *, address: str | None = None, cpus_per_run: float = 1.0) -> Executor:
    """The executor ``--executor`` names; raises InputError for Ray when it is not installed."""
    if name == "local":
        from benchtui.engine.executors.local import LocalExecutor

        return LocalExecutor()
    if name != "ray":
        raise InputError(f"--executor takes one of {', '.join(EXECUTORS)}, got {name!r}")
    if not ray_installed():
        raise InputError(RAY_MISSING)
    from benchtui.engine.executors.ray import RayExecutor

    return RayExecutor(address=address, cpus_per_run=cpus_per_run)


__all__ = ["EXECUTORS", "RAY_MISSING", "Executor", "LogFn", "RunJob", "make_executor", "ray_installed"]
