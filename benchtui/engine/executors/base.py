"""What the runner hands an executor (``RunJob``) and what an executor is (``Executor``): see the package."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from benchtui.engine.contestants.base import Contestant, ProgressCallback, RunControl, Transcript
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.base import Provider, RetryPolicy
from benchtui.engine.results import RunResult
from benchtui.engine.tasks import Task

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
