"""Figure 2: does the runner keep every endpoint busy? Batch wall time against the ideal schedule.

Four scripted Ollama servers (four endpoints, in a child process) hold 12, 8, 4 and 1 models; with 4
repeats of one task that is 48, 32, 16 and 4 runs, 100 in all. Every request takes a known server time
(``first_byte_delay_s``), every check is ``true``. For ``BatchOptions(parallel=N)`` each endpoint may
serve N runs at once, so the best any scheduler can do is, per endpoint, ⌈runs ÷ N⌉ waves of
(server time + check time), and the batch ends with its slowest endpoint:

    ideal = max over endpoints of ⌈runs_e ÷ N⌉ × (server_time_e + median check time)

(Σ server time ÷ concurrency, rounded up to whole waves because a run cannot be split; the check is
the task's own cost, measured in the same batch.) The measured wall runs from ``runner.run()`` to the
last run finished; the reports written after it are figure 5's business. The checks run with the
sandbox in ``none`` mode (its test hook): this figure is about scheduling, and figure 1d prices the
sandbox on its own.
"""

from __future__ import annotations

import math
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import EDIT_REPLY, Figure, make_task, median, ollama_model, sandbox_mode
from bench.servers import ServerProcess
from benchtui.engine.events import EngineEvent, RunFinished
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import load_tasks

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


def measure(quick: bool) -> list[Figure]:
    server_s = 0.1 if quick else 0.2
    levels = (1, 2, 4, 8)
    spec: list[dict[str, Any]] = [
        {"dialect": "ollama",
         "models": {f"e{e}m{m}": {"reply": EDIT_REPLY, "first_byte_delay_s": server_s} for m in range(count)}}
        for e, count in enumerate(MODELS_PER_ENDPOINT)
    ]
    figures = []
    with tempfile.TemporaryDirectory(prefix="benchtui-bench-") as tmp, ServerProcess(spec) as servers, \
            sandbox_mode("none"):
        root = Path(tmp)
        tasks = load_tasks([make_task(root, check="true")])
        models = [ollama_model(name, url) for entry, url in zip(spec, servers.urls, strict=True)
                  for name in entry["models"]]
        for parallel in levels:
            sink = FinishTimes()
            runner = BatchRunner(store=ResultsStore(root / f"p{parallel}"), tasks=tasks, models=models,
                                 options=BatchOptions(parallel=parallel, repeats=REPEATS), sink=sink)
            started = time.perf_counter()
            outcome = runner.run()
            total = time.perf_counter() - started
            wall = max(sink.finished) - started
            results = outcome.results
            if len(results) != 100 or any(r["status"] != "passed" for r in results):
                raise RuntimeError(f"parallel={parallel}: {len(results)} results, "
                                   f"{sorted({r['status'] for r in results})}")
            check = median([r["check_time_s"] for r in results])
            ideal = max(math.ceil(count * REPEATS / parallel) * (server_s + check) for count in MODELS_PER_ENDPOINT)
            pure = max(count * REPEATS * server_s / parallel for count in MODELS_PER_ENDPOINT)
            ratio = wall / ideal
            figures.append(Figure(
                f"2 batch wall, parallel={parallel}", wall, "s", ideal, "ideal", f"≤ {TARGET:g}× ideal",
                ratio <= TARGET,
                note=f"100 runs on 4 endpoints (48/32/16/4), {server_s * 1000:.0f} ms per request, median check "
                     f"{check * 1000:.1f} ms; Σ server time ÷ concurrency alone = {pure:.2f} s "
                     f"({wall / pure:.2f}×); with reports {total:.2f} s"))
    return figures
