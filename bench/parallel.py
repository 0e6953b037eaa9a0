"""Figure 2: does the runner keep every endpoint busy? Batch wall time against the ideal schedule.

Four scripted OpenAI-compatible servers (four cloud endpoints, in a child process) hold 12, 8, 4 and 1
models; with 4 repeats of one task that is 48, 32, 16 and 4 runs, 100 in all. Every request takes a
known server time (``first_byte_delay_s``), every check is ``true``. With ``BatchOptions(parallel=N)``
each endpoint serves N requests at once, so no scheduler can beat, per endpoint, ⌈runs ÷ N⌉ waves of
one server time, and the batch ends with its slowest endpoint:

    ideal = max over endpoints of ⌈runs_e ÷ N⌉ × server_time

(Σ server time ÷ concurrency, rounded up to whole waves because a request cannot be split). Everything
else a run does (the HTTP client, the workspace, applying the edit, the check, saving the result) is
time the endpoint would sit idle unless the runner overlaps it with other runs' requests. The measured
wall runs from ``runner.run()`` to the last run finished; the reports written after it are figure 5's.
The checks run with the sandbox in ``none`` mode (its test hook): figure 1d prices the sandbox.

Row 2e is the same batch on Ollama (local) endpoints at ``parallel=4``. (A local endpoint limited to one
request at a time is the exception: there a run holds the slot from start to end, so the server keeps
one model loaded between turns; figure 1 measures that serial case.)
"""

from __future__ import annotations

import math
import tempfile
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.common import (
    EDIT_REPLY,
    Figure,
    make_task,
    median,
    ollama_model,
    openai_model,
    run_times,
    sandbox_mode,
)
from bench.servers import ServerProcess
from benchtui.engine.events import EngineEvent, RunFinished
from benchtui.engine.models import ModelSpec
from benchtui.engine.results import RunResult
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import Task, load_tasks

TARGET = 1.05
MODELS_PER_ENDPOINT = (12, 8, 4, 1)
REPEATS = 4


class FinishTimes:
    """An EventSink that notes when each run finished."""

    def __init__(self) -> None:
        self.finished: list[float] = []
        self._lock = threading.Lock()

    def emit(self, event: EngineEvent) -> None:
        if isinstance(event, RunFinished):
            with self._lock:
                self.finished.append(time.perf_counter())


def one_batch(
    root: Path, tasks: list[Task], models: list[ModelSpec], parallel: int, server_s: float, name: str
) -> tuple[float, float, float, list[RunResult]]:
    """(wall to the last run, ideal, wall with reports, results) of one 100-run batch."""
    sink = FinishTimes()
    runner = BatchRunner(
        store=ResultsStore(root / name),
        tasks=tasks,
        models=models,
        options=BatchOptions(parallel=parallel, repeats=REPEATS),
        sink=sink,
    )
    started = time.perf_counter()
    outcome = runner.run()
    total = time.perf_counter() - started
    results = outcome.results
    if len(results) != 100 or any(r["status"] != "passed" for r in results):
        raise RuntimeError(f"{name}: {len(results)} results, {sorted({r['status'] for r in results})}")
    ideal = max(math.ceil(count * REPEATS / parallel) * server_s for count in MODELS_PER_ENDPOINT)
    return max(sink.finished) - started, ideal, total, results


def measure(quick: bool) -> list[Figure]:
    server_s = 0.4
    levels = (1, 8) if quick else (1, 2, 4, 8)
    figures = []
    for dialect, make_model in (("openai", openai_model), ("ollama", ollama_model)):
        if dialect == "ollama" and quick:
            continue
        figures += _dialect(dialect, make_model, server_s, levels if dialect == "openai" else (4,))
    return figures


def _dialect(
    dialect: str, make_model: Callable[[str, str], ModelSpec], server_s: float, levels: tuple[int, ...]
) -> list[Figure]:
    spec: list[dict[str, Any]] = [
        {
            "dialect": dialect,
            "models": {f"e{e}m{m}": {"reply": EDIT_REPLY, "first_byte_delay_s": server_s} for m in range(count)},
        }
        for e, count in enumerate(MODELS_PER_ENDPOINT)
    ]
    figures = []
    with (
        tempfile.TemporaryDirectory(prefix="benchtui-bench-") as tmp,
        ServerProcess(spec) as servers,
        sandbox_mode("none"),
    ):
        root = Path(tmp)
        tasks = load_tasks([make_task(root, check="true")])
        models = [
            make_model(name, url) for entry, url in zip(spec, servers.urls, strict=True) for name in entry["models"]
        ]
        for parallel in levels:
            wall, ideal, total, results = one_batch(root, tasks, models, parallel, server_s, f"{dialect}{parallel}")
            times = [run_times(r) for r in results]
            check = median([c for _, _, c in times])
            model = median([m for _, m, _ in times])
            local = dialect == "ollama"
            figures.append(
                Figure(
                    f"2{'e' if local else ''} batch wall, parallel={parallel}{', Ollama' if local else ''}",
                    wall,
                    "s",
                    ideal,
                    "ideal",
                    f"≤ {TARGET:g}× ideal",
                    wall / ideal <= TARGET,
                    note=f"100 runs on 4 {'Ollama' if local else 'OpenAI-compatible'} endpoints (48/32/16/4 runs), "
                    f"{server_s * 1000:.0f} ms of server time per request; per run: model time "
                    f"{model * 1000:.0f} ms, check {check * 1000:.1f} ms; with reports {total:.2f} s",
                )
            )
    return figures
