"""A driver for the Ray executor's steering test: ``python -m tests.support.ray_steering URL ADDRESS ROOT``.

One batch on the cluster at ADDRESS of two runs on the scripted OpenAI server at URL: ``talker`` is sent a
typed message while its first request is in flight, ``sleeper`` (whose request hangs) is cancelled by its
run id. Prints the outcome as one JSON line. Its own process: Ray reads the cluster's token once per process.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path

from benchtui.engine.events import EngineEvent, RecordingSink, RunFinished, RunUpdate
from benchtui.engine.executors.ray import RayExecutor
from benchtui.engine.models import ModelSpec
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import load_tasks
from tests.support.scripted import tiny_task

MESSAGE = "A person says: the answer is done"


class Steer(RecordingSink):
    def __init__(self) -> None:
        super().__init__()
        self.runner: BatchRunner | None = None
        self.steered: set[str] = set()
        self.cancelled_at: float | None = None

    def emit(self, event: EngineEvent) -> None:
        super().emit(event)
        if not isinstance(event, RunUpdate) or event.run_id in self.steered or event.phase != "prompting":
            return
        assert self.runner is not None
        self.steered.add(event.run_id)
        if "talker" in event.run_id:
            self.runner.send_message(event.run_id, MESSAGE)
        else:
            self.cancelled_at = time.monotonic()
            # From another thread, as the TUI's cancel does.
            threading.Thread(target=self.runner.cancel_run, args=(event.run_id,)).start()


def main() -> None:
    url, address, root = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    models = [
        ModelSpec(key=name, name=name, provider="openai", display_name=name, base_url=f"{url}/v1", concurrency=2)
        for name in ("talker", "sleeper")
    ]
    sink = Steer()
    runner = BatchRunner(
        store=ResultsStore(root / "out"),
        tasks=load_tasks([tiny_task(root / "t")]),
        models=models,
        options=BatchOptions(parallel=0),
        sink=sink,
        executor=RayExecutor(address=address),
    )
    sink.runner = runner
    outcome = runner.run()
    finished = {r["model"]: r for r in outcome.results}
    cancelled = [e.result for e in sink.events if isinstance(e, RunFinished) and e.result["status"] == "cancelled"]
    print(
        json.dumps(
            {
                "status": outcome.status,
                "recorded": {k: (r["status"], r["typed_interventions"]) for k, r in finished.items()},
                "cancelled": [r["model"] for r in cancelled],
                "cancel_took_s": time.monotonic() - sink.cancelled_at if sink.cancelled_at else None,
            }
        )
    )


if __name__ == "__main__":
    main()
