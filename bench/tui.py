"""Figure 3: the TUI with 50 runs streaming tokens at once: key-press latency and the CPU it burns.

One scripted Ollama model (in its own process) streams a long reply, 4 characters every 50 ms, to 50
runs at once (``parallel=50, repeats=50``). The real ``BenchApp`` is built from its collaborators and
driven headless with ``App.run_test()``; the batch starts as ``r`` starts it.

* Latency: with the grid focused, a ``down`` (or ``up``) key event goes to the app's driver; the clock
  stops at the first frame the compositor renders (``App._display``) that shows the moved cursor.
  Baseline: the same key on the same 50-row grid once the batch is stopped (nothing streaming).
* CPU: process CPU time (``time.process_time``: every thread, no children) per second of wall while
  the 50 runs stream. Baseline: the same 50 runs with no UI at all (the engine and a ``NullSink``),
  measured first in the same process. The UI's own share is the difference.
"""

from __future__ import annotations

import asyncio
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from bench.common import EDIT_REPLY, SCRIPTED_OLLAMA_CONCURRENCY, Figure, make_task, median, ollama_model, percentile
from bench.servers import ServerProcess
from benchtui.engine.events import EngineEvent, RunStarted, RunUpdate
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import load_tasks

RUNS = 50
CHUNK, CHUNK_DELAY_S = 4, 0.05
LATENCY_TARGET_MS = 100.0
SIZE = (120, 36)
# Long enough to outlast the measurement; the batch is cancelled when it is done.
REPLY = "Let me think about this carefully. " * 200 + "\n\n" + EDIT_REPLY


class Streaming:
    """An EventSink counting runs that started and runs that have streamed tokens."""

    def __init__(self) -> None:
        self.started: set[str] = set()
        self.streaming: set[str] = set()
        self._lock = threading.Lock()

    def emit(self, event: EngineEvent) -> None:
        with self._lock:
            if isinstance(event, RunStarted):
                self.started.add(event.run_id)
            elif isinstance(event, RunUpdate) and event.completion_tokens:
                self.streaming.add(event.run_id)


def wait_until(predicate: Any, timeout_s: float, what: str) -> None:
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        time.sleep(0.05)


def cpu_per_s(window_s: float) -> float:
    cpu, wall = time.process_time(), time.perf_counter()
    time.sleep(window_s)
    return (time.process_time() - cpu) / (time.perf_counter() - wall)


def engine_only(root: Path, tasks: list[Any], url: str, window_s: float) -> float:
    """CPU-s per s of the engine streaming 50 runs with no UI."""
    sink = Streaming()
    runner = BatchRunner(
        store=ResultsStore(root / "engine-only"),
        tasks=tasks,
        models=[ollama_model("stream", url)],
        options=BatchOptions(parallel=RUNS, repeats=RUNS, timeout_s=600),
        sink=sink,
    )
    thread = threading.Thread(target=runner.run, daemon=True)
    thread.start()
    try:
        wait_until(lambda: len(sink.streaming) >= RUNS, 60, "50 runs streaming (engine only)")
        time.sleep(0.5)
        return cpu_per_s(window_s)
    finally:
        runner.cancel.set()
        thread.join(60)


async def key_latencies(app: Any, pilot: Any, presses: int) -> list[float]:
    """Send ``presses`` alternate down/up keys to the focused grid; seconds from key to frame, each."""
    from textual import events

    from benchtui.widgets.progress_grid import ProgressGrid

    grid = app.screen.query_one(ProgressGrid)
    grid.focus()
    await pilot.pause(0.2)
    frames: dict[str, Any] = {"expect": None, "at": None}
    original = app._display

    def display(screen: Any, renderable: Any) -> None:
        original(screen, renderable)
        if (
            renderable is not None
            and frames["expect"] is not None
            and frames["at"] is None
            and grid.cursor_row == frames["expect"]
        ):
            frames["at"] = time.perf_counter()

    app._display = display
    latencies = []
    try:
        for n in range(presses):
            start_row = grid.cursor_row
            key = "down" if n % 2 == 0 else "up"
            frames["expect"], frames["at"] = start_row + (1 if key == "down" else -1), None
            sent = time.perf_counter()
            app._driver.send_message(events.Key(key, None))
            deadline = sent + 5
            while frames["at"] is None and time.perf_counter() < deadline:
                await asyncio.sleep(0.001)
            if frames["at"] is None:
                raise TimeoutError(f"no frame showed the cursor on row {frames['expect']} within 5 s")
            latencies.append(frames["at"] - sent)
            await asyncio.sleep(0.1 + 0.05 * (n % 3))  # off the 10 Hz tick's rhythm
    finally:
        app._display = original
    return latencies


async def with_tui(root: Path, task_path: Path, url: str, window_s: float, presses: int) -> dict[str, Any]:
    from benchtui.app import BenchApp
    from benchtui.engine.config import ModelsConfig
    from benchtui.engine.discovery import discover

    # The scripted server serves every run at once; without saying so the runner sends Ollama one at a time.
    config = ModelsConfig(
        path=None, ollama_host=url, embedded_enabled=False, ollama_concurrency=SCRIPTED_OLLAMA_CONCURRENCY
    )
    catalog = discover(config, embedded=False)
    app = BenchApp(
        config=config,
        catalog=catalog,
        store=ResultsStore(root / "tui"),
        task_paths=[task_path],
        options=BatchOptions(parallel=RUNS, repeats=RUNS, timeout_s=600),
        marked_tasks=["bench"],
        selected_models=["ollama/stream"],
    )
    figures: dict[str, Any] = {}
    async with app.run_test(size=SIZE) as pilot:
        app.action_start_batch()

        def streaming() -> int:
            board = app.board
            return 0 if board is None else sum(1 for r in board.rows.values() if r.running and r.tokens)

        deadline = time.monotonic() + 60
        while streaming() < RUNS:
            if time.monotonic() > deadline:
                raise TimeoutError(f"only {streaming()} of {RUNS} runs streaming in the TUI")
            await asyncio.sleep(0.1)
        await asyncio.sleep(0.5)
        cpu, wall = time.process_time(), time.perf_counter()
        await asyncio.sleep(window_s)
        figures["cpu"] = (time.process_time() - cpu) / (time.perf_counter() - wall)
        figures["streaming_at_end"] = streaming()
        figures["busy"] = await key_latencies(app, pilot, presses)
        figures["streaming_after_keys"] = streaming()
        assert app.runner is not None
        app.runner.cancel.set()
        await app.workers.wait_for_complete()
        await pilot.pause(0.5)
        figures["idle"] = await key_latencies(app, pilot, presses)
        await pilot.press("q")
    return figures


def measure(quick: bool) -> list[Figure]:
    window_s = 2.0 if quick else 4.0
    presses = 10 if quick else 24
    with (
        tempfile.TemporaryDirectory(prefix="benchtui-bench-") as tmp,
        ServerProcess(
            [
                {
                    "dialect": "ollama",
                    "models": {"stream": {"reply": REPLY, "chunk_size": CHUNK, "chunk_delay_s": CHUNK_DELAY_S}},
                }
            ]
        ) as servers,
    ):
        root = Path(tmp)
        task_path = make_task(root, check="true")
        tasks = load_tasks([task_path])
        url = servers.urls[0]
        engine_cpu = engine_only(root, tasks, url, window_s)
        tui = asyncio.run(with_tui(root, task_path, url, window_s, presses))
    busy, idle = [x * 1000 for x in tui["busy"]], [x * 1000 for x in tui["idle"]]
    ui_share = tui["cpu"] - engine_cpu
    rate = RUNS / CHUNK_DELAY_S
    return [
        Figure(
            "3a key → screen, 50 runs streaming",
            median(busy),
            "ms",
            median(idle),
            "same key, batch stopped",
            f"≤ {LATENCY_TARGET_MS:g} ms",
            median(busy) <= LATENCY_TARGET_MS,
            note=f"median of {presses} presses (p95 {percentile(busy, 95):.1f} ms, max {max(busy):.1f} ms); "
            f"{tui['streaming_at_end']} runs still streaming after the CPU window, "
            f"{tui['streaming_after_keys']} after the key presses",
        ),
        Figure(
            "3b process CPU, TUI + engine",
            tui["cpu"],
            "cpu",
            engine_cpu,
            "engine alone, no UI",
            "info",
            note=f"{RUNS} runs × {1 / CHUNK_DELAY_S:g} chunks/s = {rate:g} NDJSON lines/s; "
            f"the UI's own share: {ui_share:.2f} CPU-s/s over a {window_s:g} s window",
        ),
    ]
