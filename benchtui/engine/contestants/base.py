"""The contestant seam: what the runner calls for one (task, model, repeat) run, and how it steers it.

A contestant turns a task and a model into a run result and a transcript. benchtui's own edit loop
(``edit_loop.EditLoop``) is the first; whatever else competes later implements the same ``Contestant``
Protocol, so the runner, the store and every view stay as they are. A failing model is data, never an
exception: a contestant returns a result whose status says what happened.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from benchtui.engine.events import RunProgress
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.base import Provider
from benchtui.engine.results import RunResult
from benchtui.engine.tasks import Task

ProgressCallback = Callable[[RunProgress], None]
Transcript = list[dict[str, Any]]
"""Every prompt, reply, edit report, check, hint and error of a run, in order (stored in its run file)."""


@dataclass
class RunControl:
    """How the outside world steers a run: its cancel Event and the messages a person typed."""

    cancel: threading.Event = field(default_factory=threading.Event)
    human_messages: queue.SimpleQueue[str] = field(default_factory=queue.SimpleQueue)

    def drain_messages(self) -> list[str]:
        messages = []
        while True:
            try:
                messages.append(self.human_messages.get_nowait())
            except queue.Empty:
                return messages


class Contestant(Protocol):
    """One (task, model, repeat) run, start to end. Called from a runner's worker thread, one call per run
    and several at once: per-run state lives in the call, not on the contestant."""

    def run(
        self,
        task: Task,
        spec: ModelSpec,
        provider: Provider,
        *,
        repeat: int = 1,
        timeout_s: float = 1800.0,
        control: RunControl | None = None,
        on_progress: ProgressCallback | None = None,
        check_slots: threading.Semaphore | None = None,
        request_slots: threading.Semaphore | None = None,
    ) -> tuple[RunResult, Transcript]:
        """Run ``task`` on ``spec`` through ``provider``; returns (the result with every key, transcript).

        ``timeout_s`` caps the run (with the task's own limit); ``control`` cancels it and carries typed
        messages; ``on_progress`` is called with snapshots (throttled). ``check_slots`` caps the checks
        running at once, ``request_slots`` the requests in flight to the endpoint: time spent waiting for
        either is ``queue_time_s``, and the run's clock and deadline stop meanwhile."""
        ...
