"""BatchRunner: every (task, model, repeat) run of a batch, on threads, with per-endpoint limits.

Runs are queued per model and each endpoint (an Ollama host, a cloud base URL, one embedded server) gets
its own worker threads up to its concurrency limit, taking the runs of the models it serves, so a slow or
rate-limited server never holds up the others and every endpoint stays busy; a model served by a pool of
endpoints has its runs go to whichever has a free worker, and a failing endpoint taken out of the pool
(``pools.py``: the queues and the pool's memory). An endpoint is never sent more requests at once than it
serves (an embedded server's slots, Ollama's configured parallelism): a request queued inside the server
would count as the model's time. The batch says at its start what each endpoint gets and why.
Cancellation is one threading.Event: dispatch stops, the runs in flight are cancelled (and redone on
resume), the writes in flight finish.

Over ~400 lines: planning, resume by fingerprint, the workers and cancellation share the batch's locks
and dead-model memory; endpoint limits already live in ``endpoints.py``, the queues in ``pools.py``.
"""

from __future__ import annotations

import functools
import hashlib
import logging
import os
import threading
import time
import traceback
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from benchtui import __version__
from benchtui.engine import embedded, pools, prompts, secrets, seeds
from benchtui.engine.contestants import Contestant, EditLoop, RunControl
from benchtui.engine.endpoints import lane_concurrency
from benchtui.engine.events import (
    BatchFinished,
    BatchStarted,
    EventSink,
    LogMessage,
    NullSink,
    PlannedRun,
    RunFinished,
    RunStarted,
    RunUpdate,
)
from benchtui.engine.executors import Executor, RunJob
from benchtui.engine.executors.local import LocalExecutor
from benchtui.engine.models import Endpoint, ModelSpec
from benchtui.engine.pools import Dispatcher
from benchtui.engine.providers import Provider, ProviderError, RetryPolicy, make_provider
from benchtui.engine.results import RunResult, empty_result
from benchtui.engine.results import run_id as make_run_id
from benchtui.engine.store import Batch, ResultsStore, owner_stamp
from benchtui.engine.tasks import Task
from benchtui.engine.workspace import clean_stale_workspaces

log = logging.getLogger(__name__)
# The attribute of a log record whose text the runner also emitted as a LogMessage.
SENT_TO_SINK = "benchtui_sent_to_sink"
# A model that fails like this will fail every run the same way: its later runs are not sent.
_FATAL_FOR_MODEL = ("auth", "model_not_found", "unreachable", "assistant_not_installed")


@dataclass(frozen=True)
class BatchOptions:
    """How a batch runs. ``parallel``: None = one run at a time; 0 = in parallel with each endpoint's
    own limit (embedded: its slots; Ollama: its ``concurrency``, else 1; cloud: its ``concurrency``, else 4);
    N = N at a time per endpoint, never more than a local server serves at once."""

    parallel: int | None = None
    timeout_s: float = 1800.0
    repeats: int = 1
    embedded_threads: int | None = None
    preset: str | None = None  # engine/presets.py: how the batch's tasks are run (``--preset polyglot``)


@dataclass
class BatchOutcome:
    batch: Batch
    status: str
    results: list[RunResult] = field(default_factory=list)
    reports: tuple[Path, ...] = ()


@dataclass(frozen=True)
class _Run:
    run_id: str
    task: Task
    model: ModelSpec
    repeat: int
    fingerprint: str
    # The endpoint of the model's pool the dispatcher sent the run to (engine/pools.py); the provider is
    # built for ``model.at(endpoint)``. None until it is dispatched.
    endpoint: Endpoint | None = None


def run_fingerprint(task: Task, model: ModelSpec, seed: int | None = None) -> str:
    """What decides a run's outcome: the task, the model spec and settings, the prompts' version and their
    texts themselves (prompts.digest), benchtui, and the run's sampling seed (engine/seeds.py) where its
    provider takes one (a provider that takes none keeps the fingerprint it had before seeds existed)."""
    parts: tuple[str, ...] = (
        task.fingerprint(),
        model.fingerprint(),
        prompts.PROMPT_VERSION,
        prompts.digest(),
        __version__,
    )
    if seed is not None:
        parts += (f"seed={seed}",)
    return hashlib.sha256("|".join(parts).encode()).hexdigest()[:16]


class BatchRunner:
    """Runs one batch (new or resumed) and reports through an EventSink."""

    def __init__(
        self,
        *,
        store: ResultsStore,
        tasks: Sequence[Task],
        models: Sequence[ModelSpec],
        options: BatchOptions | None = None,
        sink: EventSink | None = None,
        cancel: threading.Event | None = None,
        batch: Batch | None = None,
        manifest_extra: dict[str, Any] | None = None,
        policy: RetryPolicy | None = None,
        check_slots: int | None = None,
        contestant: Contestant | None = None,
        assistant_contestant: Contestant | None = None,
        executor: Executor | None = None,
    ) -> None:
        """``check_slots``: checks running at once (they need CPU); None: one per CPU. ``contestant``: what
        plays each run (benchtui's own edit loop unless told); ``assistant_contestant``: what plays an
        assistant pair's runs; ``executor``: where each run is played (engine/executors/: in this process
        unless told; settable until ``run``, like ``sink``)."""
        self.store = store
        self.tasks = list(tasks)
        self.models = list(models)
        self.options = options or BatchOptions()
        self.sink: EventSink = sink or NullSink()
        self.cancel = cancel or threading.Event()
        self.batch = batch
        self.manifest_extra = manifest_extra or {}
        self.policy = policy
        self.contestant: Contestant = contestant or EditLoop()
        # An assistant pair's runs (spec.assistant set: engine/assistants/pairs.py) are played by the
        # real assistant; the built-in loop's by ``contestant``.
        self._assistant_contestant = assistant_contestant
        self.executor: Executor = executor or LocalExecutor()
        self._controls: dict[str, RunControl] = {}
        self._controls_lock = threading.Lock()
        self._providers: dict[str, Provider] = {}
        self._providers_lock = threading.Lock()
        self._building: dict[str, threading.Lock] = {}
        self._embedded_lock = threading.Lock()
        # Requests at once per endpoint, decided when the batch starts: an embedded server gets that many slots.
        self._endpoint_limits: dict[str, int] = {}
        self._dead_models: dict[str, ProviderError] = {}
        self._dispatch: Dispatcher[_Run] = Dispatcher([], stop=self.cancel.is_set)
        self._failed_over: set[str] = set()  # runs handed back to their pool whose control must survive
        self._cost_unknown_said: set[str] = set()  # the models whose unknown cost the log explained
        self._embedded: Any = None
        self._check_slots = threading.Semaphore(max(check_slots or os.cpu_count() or 1, 1))
        self._write_error: str | None = None

    # Steering from outside (TUI, headless)

    def cancel_run(self, run_id: str) -> None:
        control = self._control(run_id)
        control.cancel.set()

    def send_message(self, run_id: str, text: str) -> None:
        """A message a person typed for a running model: sent with its next prompt, counted as an intervention."""
        self._control(run_id).human_messages.put(text)

    def _control(self, run_id: str) -> RunControl:
        with self._controls_lock:
            return self._controls.setdefault(run_id, RunControl())

    # The batch

    def plan(self) -> list[_Run]:
        runs = []
        for task in self.tasks:
            for model in self.models:
                for repeat in range(1, self.options.repeats + 1):
                    fingerprint = run_fingerprint(task, model, seeds.run_seed(model, repeat))
                    runs.append(_Run(make_run_id(task.id, model.key, repeat), task, model, repeat, fingerprint))
        return runs

    def assistant_contestant(self) -> Contestant:
        """What plays an assistant pair's runs, made on first use: a batch of benchtui's own loop never
        loads the assistants' runtime (the gateway, the adapters, the confinement)."""
        if self._assistant_contestant is None:
            from benchtui.engine.contestants.assistant import AssistantContestant

            self._assistant_contestant = AssistantContestant()
        return self._assistant_contestant

    def run(self) -> BatchOutcome:
        """Raises InputError, before any batch folder exists, when the executor cannot start (no Ray cluster)."""
        self.executor.start(self._log)
        resumed = self.batch is not None
        batch = self.batch or self.store.create_batch(self._manifest())
        self.batch = batch
        batch.clean_stale()
        removed = clean_stale_workspaces()
        if removed:
            self._log(f"removed {removed} run folder(s) left in the temp folder by an interrupted benchtui")
        if resumed:
            batch.update_manifest(status="running", resumed_at=time.strftime("%Y-%m-%dT%H:%M:%S"), runner=owner_stamp())
        planned = self.plan()
        done_before = self._adopt_finished(batch, planned)
        pending = [run for run in planned if run.run_id not in done_before]
        self.sink.emit(
            BatchStarted(
                batch_id=batch.batch_id,
                batch_dir=batch.path,
                runs=tuple(
                    PlannedRun(
                        r.run_id, r.task.id, r.model.key, r.repeat, r.run_id in done_before, done_before.get(r.run_id)
                    )
                    for r in planned
                ),
                resumed=resumed,
            )
        )
        results: dict[str, RunResult] = dict(done_before)
        results_lock = threading.Lock()
        watcher_done = threading.Event()
        watcher = threading.Thread(target=self._propagate_cancel, args=(watcher_done,), daemon=True)
        watcher.start()
        try:
            self._run_all(pending, results, results_lock)
        finally:
            watcher_done.set()
            watcher.join()
            self._close()
        status = "interrupted" if self.cancel.is_set() else "finished"
        if self._write_error:
            status = "error"
        ordered = [results[r.run_id] for r in planned if r.run_id in results]
        reports: tuple[Path, ...] = ()
        try:
            batch.flush()
            batch.update_manifest(
                status=status,
                error=self._write_error,
                progress={
                    "planned": len(planned),
                    "finished": len(ordered),
                    "passed": sum(1 for r in ordered if r.get("status") == "passed"),
                },
            )
            from benchtui.engine.reports import write_reports

            reports = write_reports(batch)
        except OSError as exc:
            status = "error"
            self._log(f"could not write the results or reports: {_os_error(exc)}", "error")
        self.sink.emit(BatchFinished(batch.batch_id, batch.path, status, reports))
        return BatchOutcome(batch, status, ordered, reports)

    def _manifest(self) -> dict[str, Any]:
        from benchtui.engine import environment

        return {
            "benchtui_version": __version__,
            "prompt_version": prompts.PROMPT_VERSION,
            "tasks": [
                {
                    "id": t.id,
                    "title": t.title,
                    "difficulty": t.difficulty,
                    "path": str(t.path),
                    "fingerprint": t.fingerprint(),
                    "max_turns": t.max_turns,
                    "timeout_s": t.timeout_s,
                }
                for t in self.tasks
            ],
            "models": [m.snapshot() for m in self.models],
            "options": asdict(self.options),
            "runs_planned": len(self.tasks) * len(self.models) * self.options.repeats,
            "environment": environment.describe(self.manifest_extra.get("ollama_version")),
            "runner": owner_stamp(),
            **{k: v for k, v in self.manifest_extra.items() if k != "ollama_version"},
        }

    def _adopt_finished(self, batch: Batch, planned: list[_Run]) -> dict[str, RunResult]:
        found = batch.load_run_files()
        done: dict[str, RunResult] = {}
        for run in planned:
            entry = found.get(run.run_id)
            if entry is None:
                continue
            snapshot, result = entry
            if result.get("fingerprint") != run.fingerprint:
                self._log(
                    f"{run.run_id}: the task, model settings or benchtui changed since this run "
                    "(fingerprint differs): running it again",
                    "warning",
                )
                continue
            batch.adopt(run.model.file_stem, snapshot, result)
            done[run.run_id] = result
        return done

    def _run_all(self, pending: list[_Run], results: dict[str, RunResult], lock: threading.Lock) -> None:
        if not pending:
            return
        one_at_a_time = self.options.parallel is None
        self._dispatch = Dispatcher(pending, stop=lambda: self.cancel.is_set() or self._write_error is not None)
        threads = []
        for lane in pools.lanes(pending, one_at_a_time=one_at_a_time):
            served = {run.model.key: run.model for run in pending if run.model.key in lane.models}
            limit, said, local = lane_concurrency(served.values(), lane.endpoint, self.options.parallel)
            self._log(said)
            self._endpoint_limits[lane.key] = limit
            # Twice as many runs as request slots, so while one run applies edits, checks and saves,
            # another uses the slot; the slots still cap the requests in flight. Except one run at a
            # time (no --parallel), and a local server that serves one request at a time: there each
            # run holds the slot from start to end, so the server keeps one model loaded between turns
            # instead of swapping models whenever two runs' turns alternate.
            overlap = not one_at_a_time and (limit > 1 or not local)
            slots = threading.Semaphore(limit) if overlap else None
            workers = limit if slots is None else 2 * limit
            for n in range(min(workers, self._dispatch.runs_for(lane))):
                thread = threading.Thread(
                    target=self._worker, args=(lane, results, lock, slots), name=f"benchtui-{lane.key}-{n}", daemon=True
                )
                thread.start()
                threads.append(thread)
        for thread in threads:
            thread.join()

    def _worker(
        self,
        lane: pools.Lane,
        results: dict[str, RunResult],
        lock: threading.Lock,
        slots: threading.Semaphore | None = None,
    ) -> None:
        while True:
            taken = self._dispatch.take(lane)
            if taken is None:
                return
            run, endpoint = taken
            try:
                result = self._execute(replace(run, endpoint=endpoint), slots)
            finally:
                self._dispatch.done(run)
            with self._controls_lock:  # a finished run is steered no more (10,000 runs, 10,000 Events)
                if result is not None or run.run_id not in self._failed_over:
                    self._controls.pop(run.run_id, None)
                self._failed_over.discard(run.run_id)
            if result is None:
                continue
            with lock:
                results[run.run_id] = result

    def _settle_endpoint(self, run: _Run, result: RunResult) -> bool:
        """Stamp the endpoint the run's requests went to (None when it sent none) and, when that endpoint
        failed it and another endpoint of the pool is left, take the endpoint out of the pool and hand the
        run back for another: True (the run is then not recorded)."""
        sent = bool(result.get("request_attempts") or result.get("model_requests"))
        result["endpoint"] = run.endpoint.label if sent and run.endpoint is not None else None
        if run.endpoint is None or result.get("status") != "error" or self.cancel.is_set():
            return False
        again, removal = self._dispatch.give_back(
            run, run.endpoint, str(result.get("error")), str(result.get("error_message") or "")
        )
        if removal is not None:
            if self.batch is not None:
                try:  # for the report: the log is gone when the batch ends
                    self.batch.record_endpoint_out(removal.model, removal.endpoint.label, removal.reason)
                except OSError as exc:
                    self._log(f"could not note the endpoint's removal in batch.json: {_os_error(exc)}", "warning")
            left = ", ".join(e.label for e in removal.left)
            self._log(
                f"{removal.endpoint.label} is out of {removal.model}'s pool ({removal.reason}); "
                + (f"its runs go to {left}" if left else "no endpoint of the pool is left"),
                "warning",
            )
        if again:
            with self._controls_lock:
                self._failed_over.add(run.run_id)
            self._log(
                f"{_run_name(run, self.options.repeats)}: run again on another endpoint "
                f"({run.endpoint.label} failed it)",
                "info",
                run.run_id,
            )
        return again

    def _execute(self, run: _Run, slots: threading.Semaphore | None = None) -> RunResult | None:
        control = self._control(run.run_id)
        if self.cancel.is_set():
            return None
        if control.cancel.is_set():  # cancelled while it waited in the queue: it never starts
            self.sink.emit(RunFinished(run.run_id, self._cancelled_before_start(run)))
            return None
        self.sink.emit(RunStarted(run.run_id))
        dead = self._dead_models.get(run.model.key)
        transcript: list[dict[str, Any]] = []
        try:
            if dead is not None:
                result = self._skipped_result(run, dead)
            else:
                contestant = self.contestant if run.model.assistant is None else self.assistant_contestant()
                result, transcript = self.executor.execute(
                    RunJob(
                        run.run_id,
                        run.task,
                        run.model.at(run.endpoint),  # a pooled model's spec for the endpoint it was given
                        run.repeat,
                        timeout_s=self.options.timeout_s,
                        contestant=contestant,
                        control=control,
                        on_progress=lambda p: self.sink.emit(RunUpdate.of(run.run_id, p)),
                        check_slots=self._check_slots,
                        request_slots=slots,
                        provider=lambda: self._provider(run.model, run.endpoint),
                        base_url=lambda: self._base_url(run.model.at(run.endpoint)),
                        policy=self.policy,
                    )
                )
        except ProviderError as error:  # the embedded server could not start, for instance
            result = self._skipped_result(run, error)
        except Exception as exc:  # a bug must cost one run, never the batch
            log.exception("internal error in %s", run.run_id)
            detail = secrets.redact("".join(traceback.format_exception_only(type(exc), exc)).strip())
            result = self._skipped_result(run, ProviderError("internal", detail))
        if dead is None and self._settle_endpoint(run, result):
            return None  # its endpoint is out of the pool: another endpoint of the pool runs it again
        if result.get("error") in _FATAL_FOR_MODEL and dead is None:
            self._dead_models.setdefault(
                run.model.key, ProviderError(str(result["error"]), str(result.get("error_message")))
            )
        result["fingerprint"] = run.fingerprint
        self._say_cost_unknown(run.model, result)
        undelivered = control.drain_messages()
        if undelivered:
            self._log(
                f"{run.run_id}: {len(undelivered)} message(s) not delivered: the run ended before its next prompt",
                "warning",
                run.run_id,
            )
        if result["status"] == "cancelled":
            self.sink.emit(RunFinished(run.run_id, result))
            return None
        try:
            stored = self.batch.record_run(run.model.snapshot(), run.model.file_stem, result, transcript)  # type: ignore[union-attr]
        except OSError as exc:
            self._write_error = f"could not save results: {_os_error(exc)}"
            self._log(self._write_error, "error")
            self.cancel.set()
            return None
        self.sink.emit(RunFinished(run.run_id, stored))
        return stored

    def _cancelled_before_start(self, run: _Run) -> RunResult:
        result = empty_result(run.task, run.model, run.repeat)
        result.update({"status": "cancelled", "turns": 0, "fingerprint": run.fingerprint})
        return result

    def _skipped_result(self, run: _Run, error: ProviderError) -> RunResult:
        result = empty_result(run.task, run.model, run.repeat)
        result.update({"status": "error", "error": error.kind, "error_message": error.message})
        return result

    def _provider(self, pooled: ModelSpec, endpoint: Endpoint | None = None) -> Provider:
        """The model's provider for ``endpoint`` (one per endpoint of its pool), built on first use. Building
        one takes a while (an httpx client, an embedded server start), so it happens under that model's own
        lock: other models' runs go on."""
        model = pooled.at(endpoint)
        key = f"{model.key}@{model.endpoint}"
        with self._providers_lock:
            provider = self._providers.get(key)
            if provider is not None:
                return provider
            building = self._building.setdefault(key, threading.Lock())
        with building:
            with self._providers_lock:
                provider = self._providers.get(key)
            if provider is None:
                provider = make_provider(model, base_url=self._base_url(model), policy=self.policy)
                if endpoint is not None and len(pooled.endpoints) > 1:
                    # Once the endpoint is out of the pool, its runs still in flight stop retrying it
                    # (they go to another endpoint) instead of each waiting out the whole backoff.
                    provider.give_up = functools.partial(self._dispatch.is_out, pooled.key, endpoint)
                with self._providers_lock:
                    self._providers[key] = provider
            return provider

    def _base_url(self, model: ModelSpec) -> str | None:
        """Where the model's requests go when not to its spec's own URL: an embedded server's, started here."""
        if model.provider != "embedded":
            return None
        with self._embedded_lock:
            return self._embedded_url(model)

    def _embedded_url(self, model: ModelSpec) -> str:

        if self._embedded is None:
            self._embedded = embedded.EmbeddedServers(
                threads=self.options.embedded_threads,
                log_dir=self.batch.path / "logs" if self.batch else None,
            )
        if model.name not in self._embedded.running():  # contestants of one model share its server
            self._log(f"starting the embedded model {model.name}")
        try:
            root: str = self._embedded.ensure_started(
                model.name,
                n_ctx=model.context,
                threads=model.threads,
                slots=self._endpoint_limits.get(model.endpoint, 1),
                gguf=Path(model.gguf) if model.gguf else None,
            )
        except embedded.EmbeddedModelError as exc:
            raise ProviderError("unreachable", str(exc)) from None
        return root.rstrip("/") + "/v1"

    def _propagate_cancel(self, done: threading.Event) -> None:
        while not done.wait(0.05):
            if self.cancel.is_set():
                with self._controls_lock:
                    controls = list(self._controls.values())
                for control in controls:
                    control.cancel.set()
                # Runs that start after this point see self.cancel first.
                while not done.wait(0.05):
                    with self._controls_lock:
                        for control in self._controls.values():
                            control.cancel.set()
                return

    def _close(self) -> None:
        self.executor.close()
        with self._providers_lock:
            for provider in self._providers.values():
                provider.close()
            self._providers.clear()
        if self._embedded is not None:
            self._embedded.close()
            self._embedded = None

    def _say_cost_unknown(self, model: ModelSpec, result: RunResult) -> None:
        """Once per model: why its cost is null although it is priced (a cache rate its pricing lacks)."""
        if result.get("cost_usd") is not None:
            return
        why = model.cost_unknown(result.get("cached_prompt_tokens"), result.get("cache_write_tokens"))
        with self._controls_lock:
            if why is None or model.key in self._cost_unknown_said:
                return
            self._cost_unknown_said.add(model.key)
        self._log(why, "warning")

    def _log(self, text: str, level: str = "info", run_id: str | None = None) -> None:
        # Marked as sent to the sink too, so a display that shows the sink's messages can keep Python's
        # last-resort handler from printing the same warning a second time (cli/headless.py).
        getattr(log, level)(text, extra={SENT_TO_SINK: True})
        self.sink.emit(LogMessage(text, level, run_id))


def _run_name(run: _Run, repeats: int) -> str:
    """A run as the log's other lines name it: ``model · task``, and its repeat when there are several."""
    return f"{run.model.key} · {run.task.id}" + (f" (repeat {run.repeat})" if repeats > 1 else "")


def _os_error(exc: OSError) -> str:
    import errno

    if exc.errno == errno.ENOSPC:
        return "disk full"
    return exc.strerror or str(exc)
