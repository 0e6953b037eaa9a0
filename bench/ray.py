"""Figure 8: what Ray costs. The same 100-run batch on the thread pool and on a local Ray cluster.

One scripted OpenAI-compatible endpoint (in a child process) holds 4 models; 25 repeats of one task is
100 runs, every request takes a known server time, every check is ``true`` (the sandbox in ``none`` mode,
by environment so that the Ray workers see it too: figure 6 prices the sandbox). Both batches run with
``parallel=8``, so the driver keeps 16 runs in progress and 8 requests in flight either way; the local Ray
is the one ``--executor ray`` starts for a batch (``ray.init`` on loopback), and each run asks it for
1/16 CPU so that Ray's CPU count is not what limits it. Two figures:

- the batch's wall time on Ray, from ``runner.run()`` to its end (Ray's start and stop included, and
  given in the note), against the thread pool's;
- the median time from a run's start to its end as the driver sees it (RunStarted to RunFinished) on
  Ray, against the same on the thread pool: the difference is what Ray adds to one run (submitting the
  task, a worker unpacking the task and building its provider, the request slot granted through the hub,
  the result coming back).
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

from bench.common import EDIT_REPLY, Figure, make_task, openai_model
from bench.servers import ServerProcess
from benchtui.engine.events import BatchStarted, EngineEvent, RunFinished, RunStarted
from benchtui.engine.executors import Executor, ray_installed
from benchtui.engine.executors.local import LocalExecutor
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import load_tasks

MODELS = 4
PARALLEL = 8


class RunClock:
    """An EventSink that notes when the batch and each run started and finished."""

    def __init__(self) -> None:
        self.batch_started: float | None = None
        self.last_finished: float | None = None
        self.started: dict[str, float] = {}
        self.spans: list[tuple[float, float]] = []  # (started, span), in order of finishing
        self._lock = threading.Lock()

    def emit(self, event: EngineEvent) -> None:
        now = time.perf_counter()
        with self._lock:
            if isinstance(event, BatchStarted):
                self.batch_started = now
            elif isinstance(event, RunStarted):
                self.started[event.run_id] = now
            elif isinstance(event, RunFinished) and event.run_id in self.started:
                self.last_finished = now
                self.spans.append((self.started[event.run_id], now - self.started[event.run_id]))

    def later_spans(self, skip: int) -> list[float]:
        """The spans of the runs that started after the first ``skip`` runs."""
        order = sorted(self.spans)
        return [span for _, span in order[skip:]] or [span for _, span in order]


def one_batch(
    root: Path, name: str, executor: Executor, repeats: int, url: str
) -> tuple[float, float, float, RunClock]:
    """(wall, seconds before the batch started, seconds after its last run, the clock) of one batch."""
    clock = RunClock()
    runner = BatchRunner(
        store=ResultsStore(root / name),
        tasks=load_tasks([make_task(root / name, check="true")]),
        models=[openai_model(f"m{n}", url) for n in range(MODELS)],
        options=BatchOptions(parallel=PARALLEL, repeats=repeats),
        sink=clock,
        executor=executor,
    )
    started = time.perf_counter()
    outcome = runner.run()
    wall = time.perf_counter() - started
    runs = MODELS * repeats
    if len(outcome.results) != runs or any(r["status"] != "passed" for r in outcome.results):
        raise RuntimeError(f"{name}: {len(outcome.results)} results, {sorted({r['status'] for r in outcome.results})}")
    ended = started + wall
    return wall, (clock.batch_started or started) - started, ended - (clock.last_finished or ended), clock


def measure(quick: bool) -> list[Figure]:
    if not ray_installed():
        print("bench ray: ray is not installed (pip install -e '.[ray]'): no figure", file=sys.stderr)
        return []
    # The checks' mode and the local cluster's token, by environment: the Ray workers inherit it (and no
    # token file is written to ~/.ray, which every Ray of this user would share). Set before Ray is
    # imported: it reads them once per process.
    os.environ["BENCHTUI_SANDBOX"] = "none"
    os.environ.setdefault("RAY_AUTH_MODE", "token")
    os.environ.setdefault("RAY_AUTH_TOKEN", secrets.token_hex(32))
    os.environ.pop("RAY_ADDRESS", None)
    from benchtui.engine.executors.ray import RayExecutor

    repeats = 10 if quick else 25
    server_s = 0.2
    spec = [
        {
            "dialect": "openai",
            "models": {f"m{n}": {"reply": EDIT_REPLY, "first_byte_delay_s": server_s} for n in range(MODELS)},
        }
    ]
    with tempfile.TemporaryDirectory(prefix="benchtui-bench-") as tmp, ServerProcess(spec) as servers:
        root = Path(tmp)
        (url,) = servers.urls
        pool_wall, _, pool_end, pool = one_batch(root, "pool", LocalExecutor(), repeats, url)
        ray_wall, ray_start, ray_end, on_ray = one_batch(
            root, "ray", RayExecutor(cpus_per_run=1 / (2 * PARALLEL)), repeats, url
        )
    runs = MODELS * repeats
    pool_span = statistics.median(span for _, span in pool.spans)
    ray_span = statistics.median(span for _, span in on_ray.spans)
    # The first 2 × parallel runs each wait for a Ray worker process of their own to start (Ray starts
    # one per task running at once, per batch); the later ones find one idle.
    first = 2 * PARALLEL
    pool_warm, ray_warm = statistics.median(pool.later_spans(first)), statistics.median(on_ray.later_spans(first))
    return [
        Figure(
            f"8 batch wall on a local Ray, {runs} runs",
            ray_wall,
            "s",
            pool_wall,
            "thread pool",
            note=f"{runs} runs, parallel={PARALLEL}, {server_s * 1000:.0f} ms of server time per request; "
            f"Ray's start (ray.init on loopback, the hub actor) took {ray_start:.2f} s of it, the end after the "
            f"last run (the reports; Ray's shutdown) {ray_end:.2f} s (thread pool: {pool_end:.2f} s); the slowest "
            f"run {max(span for _, span in on_ray.spans):.2f} s "
            f"(thread pool: {max(span for _, span in pool.spans):.2f} s)",
        ),
        Figure(
            "8b one run's start to end on Ray (median)",
            ray_span * 1000,
            "ms",
            pool_span * 1000,
            "thread pool",
            note=f"Ray adds {(ray_span - pool_span) * 1000:.0f} ms to the median run; the first runs wait for a "
            "Ray worker process of their own to start (the slowest run is in figure 8's note)",
        ),
        Figure(
            f"8c one run's start to end on Ray, after the first {first} (median)",
            ray_warm * 1000,
            "ms",
            pool_warm * 1000,
            "thread pool",
            note=f"Ray adds {(ray_warm - pool_warm) * 1000:.0f} ms to a run once its worker process is up "
            "(submission, the worker's unpacking and provider, the request slot through the hub, the result back)",
        ),
    ]
