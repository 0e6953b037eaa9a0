"""What runs on the Ray cluster: the hub actor that carries a run's live traffic, and the run itself.

A run's worker and the driver never call each other: both talk to one ``Hub`` actor, pinned to the
driver's node. The worker reports every ~0.1 s (its latest progress, the request slots it wants and gives
back) and is answered with what the driver has for it (cancel, typed messages, slots granted); the driver
collects every run's reports in one call per tick (``ray.RayExecutor``). Counters are cumulative, so a
report that is repeated or arrives late changes nothing.

Imported only by the Ray executor (it imports ray).
"""

from __future__ import annotations

import shutil
import tempfile
import threading
import traceback
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import ray

from benchtui import __version__
from benchtui.engine import secrets
from benchtui.engine.contestants.base import Contestant, RunControl, Transcript
from benchtui.engine.events import RunProgress
from benchtui.engine.executors.taskpack import unpack
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers import ProviderError, make_provider
from benchtui.engine.providers.base import RetryPolicy
from benchtui.engine.results import RunResult
from benchtui.engine.tasks import Task

REPORT_INTERVAL_S = 0.1  # progress and steering; a run waiting for a request slot asks every 10 ms
_WAITING_INTERVAL_S = 0.01
_HUB_FAILURES_TO_GIVE_UP = 5  # consecutive failed reports: the driver is gone, the run cancels itself


@dataclass
class _HubRun:
    progress: RunProgress | None = None
    reported: bool = False
    wants: int = 0
    releases: int = 0
    granted: int = 0
    cancel: bool = False
    messages: list[str] = field(default_factory=list)


class Hub:
    """The batch's mailbox (a Ray actor, one call at a time): keyed by a run attempt's token."""

    def __init__(self) -> None:
        self._runs: dict[str, _HubRun] = {}

    def report(
        self, token: str, progress: RunProgress | None, wants: int, releases: int
    ) -> tuple[bool, list[str], int]:
        """A worker's report; returns (cancel, the messages typed since, request slots granted so far)."""
        run = self._runs.setdefault(token, _HubRun())
        run.reported = True
        if progress is not None:
            run.progress = progress
        run.wants, run.releases = max(run.wants, wants), max(run.releases, releases)
        messages, run.messages = run.messages, []
        return run.cancel, messages, run.granted

    def collect(self) -> dict[str, tuple[RunProgress | None, int, int]]:
        """Every reporting run's latest progress (once), slots wanted and slots given back."""
        out = {}
        for token, run in self._runs.items():
            if run.reported:
                out[token] = (run.progress, run.wants, run.releases)
                run.progress = None
        return out

    def steer(self, updates: dict[str, tuple[bool, list[str], int]]) -> None:
        """The driver's news per run: (cancel, new typed messages, request slots granted so far)."""
        for token, (cancel, messages, granted) in updates.items():
            run = self._runs.setdefault(token, _HubRun())
            run.cancel = run.cancel or cancel
            run.messages.extend(messages)
            run.granted = max(run.granted, granted)

    def forget(self, token: str) -> list[str]:
        """Drop a finished attempt; returns the messages its worker never picked up."""
        run = self._runs.pop(token, None)
        return run.messages if run is not None else []


class HubLink:
    """The worker's side: a thread that reports to the hub and applies its answers to a local RunControl."""

    def __init__(self, hub: Any, token: str) -> None:
        self.hub, self.token = hub, token
        self.control = RunControl()
        self.cond = threading.Condition()
        self.wants = 0
        self.releases = 0
        self.granted = 0
        self._progress: RunProgress | None = None
        self._urgent = threading.Event()
        self._stop = threading.Event()
        self._failures = 0
        self._thread = threading.Thread(target=self._loop, name=f"benchtui-hub-{token}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._urgent.set()
        self._thread.join()

    def on_progress(self, progress: RunProgress) -> None:
        with self.cond:
            self._progress = progress

    def hurry(self) -> None:
        self._urgent.set()

    def _loop(self) -> None:
        while not self._stop.is_set():
            self._exchange()
            with self.cond:
                waiting = self.wants > self.granted
            self._urgent.wait(_WAITING_INTERVAL_S if waiting else REPORT_INTERVAL_S)
            self._urgent.clear()

    def _exchange(self) -> None:
        with self.cond:
            progress, self._progress = self._progress, None
            wants, releases = self.wants, self.releases
        try:
            cancel, messages, granted = ray.get(
                self.hub.report.remote(self.token, progress, wants, releases), timeout=30
            )
        except Exception:  # the hub's node, i.e. the driver's, is gone or unreachable
            self._failures += 1
            with self.cond:
                if progress is not None and self._progress is None:
                    self._progress = progress
            if self._failures >= _HUB_FAILURES_TO_GIVE_UP:
                self.control.cancel.set()
            return
        self._failures = 0
        if cancel:
            self.control.cancel.set()
        for message in messages:
            self.control.human_messages.put(message)
        with self.cond:
            if granted > self.granted:
                self.granted = granted
                self.cond.notify_all()


class RemoteSlots(threading.Semaphore):
    """The endpoint's request slots, held on the driver: a Semaphore to the contestant (tally.slot calls
    ``acquire(blocking=False)``, then ``acquire(timeout=...)`` until it gets one), granted through the hub."""

    def __init__(self, link: HubLink) -> None:
        super().__init__(0)
        self.link = link
        self.taken = 0

    def acquire(self, blocking: bool = True, timeout: float | None = None) -> bool:
        link = self.link
        with link.cond:
            if link.wants == self.taken:  # no slot asked for yet: ask for one
                link.wants += 1
                link.hurry()
            if blocking:
                link.cond.wait_for(lambda: link.granted > self.taken, timeout)
            if link.granted > self.taken:
                self.taken += 1
                return True
            return False

    def release(self, n: int = 1) -> None:
        with self.link.cond:
            self.link.releases += n
        self.link.hurry()


@dataclass(frozen=True)
class WorkerJob:
    """What travels with a run (pickled into the Ray task's arguments: the spec's API key included)."""

    run_id: str
    task: Task
    model: ModelSpec
    repeat: int
    timeout_s: float
    contestant: Contestant
    base_url: str | None
    policy: RetryPolicy | None
    limited: bool  # the endpoint's requests are capped: ask the driver for a slot before each
    driver_version: str = __version__


@dataclass(frozen=True)
class Outcome:
    """A run's end as the worker reports it: ``ok`` (result, transcript, messages never delivered),
    ``provider_error`` (error_kind, message) or ``internal`` (message: the exception, redacted)."""

    kind: str
    result: RunResult | None = None
    transcript: Transcript = field(default_factory=list)
    undelivered: tuple[str, ...] = ()
    error_kind: str | None = None
    message: str | None = None


def play(token: str, hub: Any, job: WorkerJob, packed: bytes) -> Outcome:
    """One run on a worker: the task unpacked into a folder of its own, a provider of its own, the contestant's
    loop and check in this node's sandbox, steered through the hub."""
    if job.driver_version != __version__:
        return Outcome(
            "internal",
            message=f"benchtui {__version__} on the Ray worker, {job.driver_version} on the driver: "
            "install the same version on every node",
        )
    root = Path(tempfile.mkdtemp(prefix="benchtui-ray-"))
    link = HubLink(hub, token)
    try:
        task = unpack(job.task, packed, root)
        provider = make_provider(job.model, base_url=job.base_url, policy=job.policy)
        link.start()
        try:
            result, transcript = job.contestant.run(
                task,
                job.model,
                provider,
                repeat=job.repeat,
                timeout_s=job.timeout_s,
                control=link.control,
                on_progress=link.on_progress,
                # This node's checks are bounded by the CPUs Ray gave the runs (``cpus_per_run``).
                check_slots=None,
                request_slots=RemoteSlots(link) if job.limited else None,
            )
        finally:
            link.stop()
            provider.close()
        return Outcome("ok", result, transcript, tuple(link.control.drain_messages()))
    except ProviderError as error:
        return Outcome("provider_error", error_kind=error.kind, message=error.message)
    except Exception as exc:  # a bug must cost one run, never the batch: the driver records it
        detail = secrets.redact("".join(traceback.format_exception_only(type(exc), exc)).strip())
        return Outcome("internal", message=f"{detail} (on the Ray worker)")
    finally:
        shutil.rmtree(root, ignore_errors=True)


HubActor = ray.remote(Hub)
play_remote = ray.remote(play)
