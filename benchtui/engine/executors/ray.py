"""The Ray executor: each run is one Ray task, played on whichever node has a CPU for it.

The driver keeps everything but the playing: its per-endpoint threads each submit their run and wait for it,
its request slots stay the endpoints' limits (a worker asks for one through the hub before each request),
and it alone writes the batch folder, so crash-safety and ``--resume`` are as without Ray. What travels
with a run: the task's files as a tar (``taskpack``, put in Ray's object store once per task), the model's
spec (with its API key: docs/SCALE.md), the contestant, the retry policy, and an embedded model's URL on the
driver.

Lost workers: a run whose worker, node or object dies is submitted again, up to ``max_attempts`` in all,
each time saying so in the batch log; the lost attempt left nothing in the batch folder. Ray's own retries
are off (``max_retries=0``): Ray would resubmit behind the runner's back, with the same hub token, so the
driver could not tell the attempts apart nor say so; a run is only ever resubmitted here, after Ray has
reported its attempt dead.

Cancellation: the hub tells the worker (its RunControl's cancel, seen within ~0.1 s), which ends the run as
it would in-process; a run that has not started is withdrawn with ``ray.cancel``; one that does not end
within ``cancel_grace_s`` is killed with ``ray.cancel(force=True)``. The run's deadline is the worker's
own (the contestant's clock); a worker still busy ``deadline_grace_s`` past it is killed and the run
recorded as a timeout.
"""

from __future__ import annotations

import logging
import os
import shutil
import socket
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Any

import ray
from ray.util.scheduling_strategies import NodeAffinitySchedulingStrategy

from benchtui.engine.contestants.base import Transcript
from benchtui.engine.errors import InputError
from benchtui.engine.executors.base import LogFn, RunJob
from benchtui.engine.executors.ray_worker import HubActor, Outcome, WorkerJob, play_remote
from benchtui.engine.executors.taskpack import pack
from benchtui.engine.providers import ProviderError
from benchtui.engine.results import RunResult, empty_result

PUMP_INTERVAL_S = 0.05
_LOST = (
    ray.exceptions.WorkerCrashedError,
    ray.exceptions.NodeDiedError,
    ray.exceptions.ObjectLostError,  # OwnerDiedError among them
    ray.exceptions.ActorDiedError,
)


class RemoteRunError(Exception):
    """A bug met on the worker: its message is the worker's exception, already redacted."""


@dataclass
class _Flight:
    """One attempt of one run, as the driver tracks it."""

    token: str
    job: RunJob
    started_at: float | None = None  # when its worker first reported
    wants: int = 0
    granted: int = 0
    released: int = 0
    granted_sent: int = 0
    cancel_sent: bool = False
    waiting_since: float | None = None
    waited_s: float = 0.0  # for request slots: the worker's clock stopped meanwhile


class RayExecutor:
    name = "ray"

    def __init__(
        self,
        *,
        address: str | None = None,
        cpus_per_run: float = 1.0,
        max_attempts: int = 3,
        cancel_grace_s: float = 10.0,
        deadline_grace_s: float = 60.0,
    ) -> None:
        """``address``: the cluster (else ``RAY_ADDRESS``, else a local Ray started for the batch on loopback
        and shut down at its end). ``cpus_per_run``: the CPUs Ray reserves for one run, which bound the runs
        (and so the checks) a node plays at once."""
        self.address = address
        self.cpus_per_run = cpus_per_run
        self.max_attempts = max_attempts
        self.cancel_grace_s = cancel_grace_s
        self.deadline_grace_s = deadline_grace_s
        self._log: LogFn = lambda *args, **kwargs: None
        self._hub: Any = None
        self._packs: dict[tuple[str, str], Any] = {}
        self._packs_lock = threading.Lock()
        self._flights: dict[str, _Flight] = {}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._pump: threading.Thread | None = None
        self._temp_dir: str | None = None
        self._hub_failing = False
        self._attempts = 0

    # Lifetime

    def start(self, log: LogFn) -> None:
        self._log = log
        address = self.address or os.environ.get("RAY_ADDRESS") or None
        # Ray's start-up notes (token authentication, usage stats) would land in the middle of the live table.
        ray_logger = logging.getLogger("ray")
        level = ray_logger.level
        ray_logger.setLevel(logging.ERROR)
        try:
            if address:
                _probe(address)
                ray.init(address=address, logging_level=logging.ERROR, log_to_driver=False)
                where = f"the Ray cluster at {address}"
            else:
                os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
                # A short path: Ray's sockets live under it, and a Unix socket's path is at most 107 bytes.
                self._temp_dir = tempfile.mkdtemp(prefix="btray-", dir="/tmp")
                ray.init(
                    address="local",
                    _node_ip_address="127.0.0.1",
                    include_dashboard=False,
                    _temp_dir=self._temp_dir,
                    logging_level=logging.ERROR,
                    log_to_driver=False,
                )
                where = "a local Ray started for this batch"
        except Exception as exc:  # ConnectionError, a RuntimeError from the GCS, a timeout
            self._remove_temp_dir()
            raise InputError(f"could not connect to Ray ({address or 'local'}): {exc}") from None
        finally:
            ray_logger.setLevel(level)
        node = ray.get_runtime_context().get_node_id()
        # Pinned to the driver's node: it dies with the driver, never with a worker node.
        self._hub = HubActor.options(
            num_cpus=0, max_restarts=0, scheduling_strategy=NodeAffinitySchedulingStrategy(node, soft=False)
        ).remote()
        cpus = float(ray.cluster_resources().get("CPU", 0))
        nodes = len([n for n in ray.nodes() if n.get("Alive")])
        per_run = f"{self.cpus_per_run:g} CPU per run"
        self._log(f"Ray executor: {where}, {nodes} node(s), {cpus:g} CPU(s), {per_run}")
        if cpus < self.cpus_per_run:
            self._log("the Ray cluster has no CPU for a run yet: runs wait until a worker node joins", "warning")
        self._pump = threading.Thread(target=self._pump_loop, name="benchtui-ray-pump", daemon=True)
        self._pump.start()

    def close(self) -> None:
        self._stop.set()
        if self._pump is not None:
            self._pump.join()
            self._pump = None
        if ray.is_initialized():
            ray.shutdown()
        self._remove_temp_dir()

    def _remove_temp_dir(self) -> None:
        if self._temp_dir is not None:
            shutil.rmtree(self._temp_dir, ignore_errors=True)
            self._temp_dir = None

    # One run

    def execute(self, job: RunJob) -> tuple[RunResult, Transcript]:
        base_url = job.base_url()  # an embedded server starts here, on the driver (a ProviderError if not)
        worker_job = WorkerJob(
            job.run_id,
            job.task,
            job.model,
            job.repeat,
            job.timeout_s,
            job.contestant,
            base_url,
            job.policy,
            limited=job.request_slots is not None,
        )
        packed = self._pack(job)
        for attempt in range(1, self.max_attempts + 1):
            with self._lock:
                self._attempts += 1
                flight = _Flight(f"{job.run_id}#{self._attempts}", job)
                self._flights[flight.token] = flight
            ref = play_remote.options(num_cpus=self.cpus_per_run, max_retries=0, retry_exceptions=False).remote(
                flight.token, self._hub, worker_job, packed
            )
            try:
                outcome = self._await(ref, flight)
            except _LOST as exc:
                if job.control.cancel.is_set():  # cancelled meanwhile: not played again
                    return self._failed(job, "cancelled", None, None), []
                if attempt == self.max_attempts:
                    self._log(
                        f"{job.run_id}: lost with its Ray worker {attempt} times ({type(exc).__name__}): "
                        "recorded as an error",
                        "error",
                        job.run_id,
                    )
                    return self._failed(job, "error", "worker_lost", f"lost with its Ray worker {attempt} times"), []
                self._log(
                    f"{job.run_id}: lost with its Ray worker ({type(exc).__name__}): running it again, "
                    f"attempt {attempt + 1} of {self.max_attempts}",
                    "warning",
                    job.run_id,
                )
                continue
            finally:
                self._land(flight)
            return self._unpacked(outcome, job)
        raise AssertionError("unreachable")  # the loop returns on its last attempt

    def _pack(self, job: RunJob) -> Any:
        """The task's files in Ray's object store, put once per task and shared by its runs."""
        key = (job.task.id, str(job.task.workspace))
        with self._packs_lock:
            ref = self._packs.get(key)
            if ref is None:
                ref = self._packs[key] = ray.put(pack(job.task))
            return ref

    def _await(self, ref: Any, flight: _Flight) -> Outcome:
        job = flight.job
        limit = min(job.timeout_s, job.task.timeout_s)
        cancel_seen: float | None = None
        forced: str | None = None
        while True:
            ready, _ = ray.wait([ref], timeout=0.1)
            if ready:
                try:
                    outcome: Outcome = ray.get(ref)
                    return outcome
                except ray.exceptions.TaskCancelledError:
                    return Outcome(forced or "cancelled")
                except _LOST:
                    if forced is not None:  # killed by us, not lost: a force-cancelled worker dies
                        return Outcome(forced)
                    raise
            now = time.monotonic()
            if job.control.cancel.is_set():
                if cancel_seen is None:
                    cancel_seen = now
                    if flight.started_at is None:  # not started (waiting for a CPU): withdrawn
                        _cancel(ref, force=False)
                elif forced is None and now - cancel_seen > self.cancel_grace_s:
                    self._log(f"{job.run_id}: its Ray worker did not stop when cancelled: killed", "warning")
                    forced = "cancelled"
                    _cancel(ref, force=True)
            elif (
                forced is None
                and flight.started_at is not None
                and now > flight.started_at + limit + flight.waited_s + self.deadline_grace_s
            ):
                self._log(f"{job.run_id}: its Ray worker is still busy past the run's deadline: killed", "warning")
                forced = "timeout"
                _cancel(ref, force=True)

    def _land(self, flight: _Flight) -> None:
        """The attempt is over: the request slots its worker still held are freed, the messages it never
        picked up go back to the run's control (the runner says they were not delivered)."""
        with self._lock:
            self._flights.pop(flight.token, None)
            slots = flight.job.request_slots
            if slots is not None:
                for _ in range(flight.granted - flight.released):
                    slots.release()
            flight.released = flight.granted
        try:
            left: list[str] = ray.get(self._hub.forget.remote(flight.token), timeout=10)
        except Exception:
            left = []
        for message in left:
            flight.job.control.human_messages.put(message)

    def _unpacked(self, outcome: Outcome, job: RunJob) -> tuple[RunResult, Transcript]:
        if outcome.kind == "ok" and outcome.result is not None:
            for message in outcome.undelivered:
                job.control.human_messages.put(message)
            return outcome.result, outcome.transcript
        if outcome.kind == "provider_error":
            raise ProviderError(outcome.error_kind or "internal", outcome.message or "")
        if outcome.kind == "cancelled":
            return self._failed(job, "cancelled", None, None), []
        if outcome.kind == "timeout":
            message = (
                f"the Ray worker was still busy {self.deadline_grace_s:g} s past the run's deadline and was killed"
            )
            return self._failed(job, "timeout", "timeout", message), []
        raise RemoteRunError(outcome.message or "the Ray worker returned nothing")

    @staticmethod
    def _failed(job: RunJob, status: str, error: str | None, message: str | None) -> RunResult:
        result = empty_result(job.task, job.model, job.repeat)
        result.update({"status": status, "error": error, "error_message": message})  # type: ignore[typeddict-item]
        return result

    # The driver's side of the hub

    def _pump_loop(self) -> None:
        while not self._stop.wait(PUMP_INTERVAL_S):
            with self._lock:
                if not self._flights:
                    continue
            try:
                reports = ray.get(self._hub.collect.remote(), timeout=30)
            except Exception as exc:
                if not self._hub_failing:
                    self._hub_failing = True
                    self._log(f"the Ray executor lost its hub ({type(exc).__name__}): runs are not steered", "error")
                continue
            self._hub_failing = False
            now = time.monotonic()
            updates: dict[str, tuple[bool, list[str], int]] = {}
            with self._lock:
                for token, flight in self._flights.items():
                    report = reports.get(token)
                    if report is not None:
                        self._take_report(flight, report, now)
                    self._grant(flight, now)
                    control = flight.job.control
                    cancel = control.cancel.is_set()
                    messages = control.drain_messages()
                    if messages or cancel != flight.cancel_sent or flight.granted != flight.granted_sent:
                        updates[token] = (cancel, messages, flight.granted)
                        flight.cancel_sent, flight.granted_sent = cancel, flight.granted
            if updates:
                self._hub.steer.remote(updates)

    def _take_report(self, flight: _Flight, report: tuple[Any, int, int], now: float) -> None:
        progress, wants, releases = report
        if flight.started_at is None:
            flight.started_at = now
        if progress is not None:
            flight.job.on_progress(progress)
        flight.wants = max(flight.wants, wants)
        slots = flight.job.request_slots
        while flight.released < min(releases, flight.granted):
            if slots is not None:
                slots.release()
            flight.released += 1

    @staticmethod
    def _grant(flight: _Flight, now: float) -> None:
        slots = flight.job.request_slots
        while flight.granted < flight.wants:
            if slots is not None and not slots.acquire(blocking=False):
                if flight.waiting_since is None:
                    flight.waiting_since = now
                return
            flight.granted += 1
        if flight.waiting_since is not None:
            flight.waited_s += now - flight.waiting_since
            flight.waiting_since = None


def _probe(address: str, timeout_s: float = 5.0) -> None:
    """Refuse a ``host:port`` nothing answers on, at once: ``ray.init`` would retry it for minutes."""
    host, sep, port = address.rpartition(":")
    if not sep or not port.isdigit() or "://" in address:
        return  # "auto", "ray://...": Ray's to resolve
    try:
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s).close()
    except OSError as exc:
        raise ConnectionError(f"nothing answers at {address} ({exc.strerror or exc})") from None


def _cancel(ref: Any, *, force: bool) -> None:
    """``ray.cancel``, for a task that may have ended meanwhile (then there is nothing to cancel)."""
    try:
        ray.cancel(ref, force=force)
    except Exception as exc:
        logging.getLogger(__name__).debug("ray.cancel: %s", exc)
