"""The contestant seam: the runner plays every run through a Contestant, and the edit loop is one."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import Any

from benchtui.engine.contestants import Contestant, EditLoop, RunControl, Transcript
from benchtui.engine.contestants.base import ProgressCallback
from benchtui.engine.events import RecordingSink, RunFinished, RunUpdate
from benchtui.engine.models import ModelSpec
from benchtui.engine.providers.base import Provider
from benchtui.engine.results import RunResult
from benchtui.engine.runner import BatchOptions, BatchRunner
from benchtui.engine.store import ResultsStore
from benchtui.engine.tasks import Task, load_tasks
from tests.support.scripted import Script, ScriptedOpenAI, solution_reply, tiny_task


class Watched:
    """The edit loop, watched: which runs the runner handed it and with what."""

    def __init__(self) -> None:
        self.inner: Contestant = EditLoop()
        self.calls: list[tuple[str, str, int, dict[str, Any]]] = []
        self.lock = threading.Lock()

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
        with self.lock:
            self.calls.append(
                (task.id, spec.key, repeat, {"timeout_s": timeout_s, "control": control, "check_slots": check_slots})
            )
        return self.inner.run(
            task,
            spec,
            provider,
            repeat=repeat,
            timeout_s=timeout_s,
            control=control,
            on_progress=on_progress,
            check_slots=check_slots,
            request_slots=request_slots,
        )


def test_the_runner_plays_each_run_through_its_contestant(tmp_path: Path) -> None:
    task_md = tiny_task(tmp_path / "task")
    contestant = Watched()
    sink = RecordingSink()
    with ScriptedOpenAI({"m": Script(solution_reply(task_md))}) as server:
        spec = ModelSpec(key="m", name="m", provider="openai", display_name="m", base_url=f"{server.url}/v1")
        outcome = BatchRunner(
            store=ResultsStore(tmp_path / "out"),
            tasks=load_tasks([task_md]),
            models=[spec],
            options=BatchOptions(repeats=2, timeout_s=77.0),
            sink=sink,
            contestant=contestant,
        ).run()
    task_id = load_tasks([task_md])[0].id
    assert sorted(c[:3] for c in contestant.calls) == [(task_id, "m", 1), (task_id, "m", 2)]
    assert all(
        c[3]["timeout_s"] == 77.0 and isinstance(c[3]["control"], RunControl) and c[3]["check_slots"] is not None
        for c in contestant.calls
    )
    assert [r["status"] for r in outcome.results] == ["passed", "passed"]
    # What the contestant reported reached the views under the run's id, in the one progress shape.
    updates = [e for e in sink.events if isinstance(e, RunUpdate)]
    assert {u.run_id for u in updates} == {f"{task_id}::m::1", f"{task_id}::m::2"}
    assert {u.phase for u in updates} >= {"prompting", "checking", "passed"}
    assert len([e for e in sink.events if isinstance(e, RunFinished)]) == 2
