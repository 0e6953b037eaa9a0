"""The default executor: the run is played in this process, on the runner's worker thread."""

from __future__ import annotations

from benchtui.engine.contestants.base import Transcript
from benchtui.engine.executors.base import LogFn, RunJob
from benchtui.engine.results import RunResult


class LocalExecutor:
    """Plays each run on the calling thread with the driver's provider and slots (today's behaviour)."""

    name = "local"

    def start(self, log: LogFn) -> None:
        return None

    def execute(self, job: RunJob) -> tuple[RunResult, Transcript]:
        return job.contestant.run(
            job.task,
            job.model,
            job.provider(),
            repeat=job.repeat,
            timeout_s=job.timeout_s,
            control=job.control,
            on_progress=job.on_progress,
            check_slots=job.check_slots,
            request_slots=job.request_slots,
        )

    def close(self) -> None:
        return None
